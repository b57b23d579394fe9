"""Who may see what in the staff app, in a real Chromium against `reviewer app` (issue 13 items 1-4,
issue 12 item 14): every page address opened with no session, with a pasted address of a signed-in
browser, after the session ended elsewhere, with an expert link, as an analyst; the wrong-password
lock-out; screenshots of the sign-in page, a page opened without a session and every staff page."""
from __future__ import annotations

import os

import io

import pandas as pd
import pytest

from reviewer.app import auth
from tests.browser_support import (
    SIGN_IN_TITLE,
    app_server,
    body_text,
    browser,
    go,
    idle,
    need_browser,
    new_page,
    shot,
    sign_in,
    visible,
)

# what the round's data looks like on a page: application and expert ids, the round's name, page titles
DATA_MARKERS = ("GX2026-", "ZJ0", "2026年度制造业创新中心试点", "王美华", "只读", "轮次 Round", "排名 Ranking",
                "评审轮次")
STAFF_PATHS = ("", "round", "import", "screening", "experts", "pool", "panels", "site", "packs", "responses", "notify", "scores",
               "reminders", "stages", "defence", "ranking", "registers", "documents", "analysis", "draws",
               "evaluation", "expert", "accounts",
               # the raw page files Streamlit listed before (automatic multipage navigation)
               "app", "common", "main", "import_data", "views", "pages", "signin")
STAFF_PAGES = [("round", "轮次"), ("import", "导入"), ("screening", "形式审查"), ("experts", "专家与回避"),
               ("pool", "专家库档案"), ("panels", "专家组"), ("site", "现场考察"), ("packs", "通知"), ("responses", "专家答复"), ("notify", "消息发送"),
               ("scores", "评分"), ("reminders", "催交"), ("stages", "阶段晋级"), ("defence", "答辩安排"),
               ("ranking", "排名"), ("registers", "登记册"), ("documents", "公文"), ("analysis", "分析"),
               ("draws", "抽取验证"), ("evaluation", "考核"), ("accounts", "账户")]
PASSWORD = "a-long-secret-1"


def test_every_page_of_the_navigation_is_in_these_lists():
    """A page added to the app's navigation is opened by these tests without a session and as staff
    (the lists are kept by hand; this keeps them whole)."""
    import re
    from pathlib import Path
    main = (Path(__file__).resolve().parent.parent / "reviewer/app/ui/main.py").read_text(encoding="utf-8")
    paths = set(re.findall(r'url_path="([^"]+)"', main)) - {"signin"}
    assert paths <= set(STAFF_PATHS), sorted(paths - set(STAFF_PATHS))
    assert paths - {"expert"} <= {k for k, _ in STAFF_PAGES}, sorted(paths - {"expert"} - {k for k, _ in STAFF_PAGES})


def no_round_data(page, where: str) -> None:
    """No marker of round data on the page (elements of this browser's previous run fade out when the new
    run ends: wait up to 15 s for them before failing)."""
    for _ in range(30):
        text = body_text(page)
        shown = [m for m in DATA_MARKERS if m in text]
        if not shown and page.locator("[data-testid='stSidebarNav']").count() == 0:
            return
        page.wait_for_timeout(500)
    assert not shown, f"{where}: round data shown without a session: {shown}\n{text[:1500]}"
    assert page.locator("[data-testid='stSidebarNav']").count() == 0, f"{where}: page list shown"


def _make_demo_round(home) -> None:
    from reviewer.app import rounds
    old = os.environ.get("REVIEWER_HOME")
    os.environ["REVIEWER_HOME"] = str(home)
    try:
        rounds.ensure_demo_round()
    finally:
        if old is None:
            os.environ.pop("REVIEWER_HOME", None)
        else:
            os.environ["REVIEWER_HOME"] = old


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    exe = need_browser()
    home = tmp_path_factory.mktemp("access")
    auth.add_user("admin1", PASSWORD, role="admin", folder=home)
    auth.add_user("li", PASSWORD, role="analyst", folder=home)
    auth.add_user("locktest", PASSWORD, role="staff", folder=home)
    tok, _ = auth.issue_token("ZJ0001", days=7, round_id="demo-2026", folder=home)
    _make_demo_round(home)   # the link's round exists, whichever test opens the app first
    with app_server(home) as url, browser(exe) as b:
        yield {"url": url, "browser": b, "home": home, "token": tok}


def test_no_page_shows_anything_without_a_session(site):
    page = new_page(site["browser"])
    for i, path in enumerate(STAFF_PATHS):
        page.goto(f"{site['url']}/{path}")
        visible(page, SIGN_IN_TITLE)
        idle(page)
        no_round_data(page, "/" + path)
        if i == 0:
            shot(page, "access_01_sign_in", full_page=False)
        if path == "ranking":
            shot(page, "access_02_ranking_without_session", full_page=False)


def test_a_pasted_address_does_not_sign_another_browser_in(site):
    a = new_page(site["browser"])
    sign_in(a, site["url"], "admin1", PASSWORD)
    visible(a, "轮次 Round")
    go(a, "排名")
    visible(a, "排名 Ranking")
    assert "sid" not in a.url and "token" not in a.url
    b = new_page(site["browser"])
    for url in (a.url, site["url"] + "/ranking?sid=anything"):
        b.goto(url)
        visible(b, SIGN_IN_TITLE)
        idle(b)
        no_round_data(b, url)
    # a refresh of the signed-in browser signs in again too (the session is not in the URL)
    a.reload()
    visible(a, SIGN_IN_TITLE)
    idle(a)
    no_round_data(a, "refresh")


def test_a_session_ended_elsewhere_shows_nothing_more(site):
    page = new_page(site["browser"])
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    auth.end_all_sessions("admin1", folder=site["home"])     # 全部退出 in another browser
    go(page, "评分")
    visible(page, "登录已过期或已退出")
    idle(page)
    no_round_data(page, "stale session")


def test_an_expert_link_opens_the_expert_page_only(site):
    page = new_page(site["browser"])
    for path in ("ranking", "panels", "", "experts"):
        page.goto(f"{site['url']}/{path}?token={site['token']}")
        visible(page, "我的评审任务")
        idle(page)
        text = body_text(page)
        assert "排名 Ranking" not in text and "评审轮次" not in text and "GX2026-" not in text
        assert page.locator("[data-testid='stSidebarNav']").count() == 0
    page.goto(f"{site['url']}/ranking?token=forged-token-123")
    visible(page, "链接无效或已过期")
    no_round_data(page, "forged token")


def test_the_analyst_cannot_change_anything(site):
    page = new_page(site["browser"])
    sign_in(page, site["url"], "li", PASSWORD)
    visible(page, "分析人员")
    go(page, "专家组")
    visible(page, "专家组 Panels")
    assert page.get_by_role("button", name="求解", exact=True).is_disabled()
    go(page, "导入")
    visible(page, "导入 Import")
    assert page.locator("input[type='file']").first.is_disabled()


def test_wrong_passwords_lock_the_account(site):
    page = new_page(site["browser"])
    for _ in range(5):
        sign_in(page, site["url"], "locktest", "not-the-password")
        visible(page, "用户名或密码不正确")
    sign_in(page, site["url"], "locktest", PASSWORD)
    visible(page, "已暂时锁定")
    no_round_data(page, "locked")
    events = [e["event"] for e in auth.sign_in_log(folder=site["home"]) if e["username"] == "locktest"]
    assert events[0] == "locked" and events.count("fail") == 5


def test_every_staff_page_after_sign_in_and_a_bad_upload_shows_no_server_path(site):
    page = new_page(site["browser"])
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    for key, zh in STAFF_PAGES:
        go(page, zh)
        visible(page, zh)
        idle(page)
        shot(page, f"access_staff_{key}", full_page=False)
    # a score table with wrong columns: the message names the file as uploaded, no path, no class name
    go(page, "评分")
    bad = pd.DataFrame({"foo": ["1"], "bar": ["2"]})
    buf = io.BytesIO()
    bad.to_excel(buf, index=False)
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": "我的评分表.xlsx", "mimeType": "application/octet-stream", "buffer": buf.getvalue()}])
    idle(page)
    page.get_by_role("button", name="导入评分", exact=True).click()
    visible(page, "我的评分表.xlsx")
    idle(page)
    shot(page, "access_bad_upload", full_page=False)
    text = body_text(page)
    assert str(site["home"]) not in text and "/rounds/" not in text and "/tmp/" not in text
    assert "KeyError" not in text and "Error:" not in text and "Traceback" not in text
