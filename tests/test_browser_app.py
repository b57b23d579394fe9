"""The staff app in a real browser: `reviewer app --port N` (Streamlit on the packaged app) on a free
port, headless Chromium (Debian's `chromium`, driven by Playwright) through round -> import ->
screening -> experts -> panels (solve) -> scores -> ranking, a screenshot of each page in
tests/artifacts/, assertions on visible text. The server runs without --demo: the test signs in as staff. In CI (CI=true) a missing Chromium is a failure, not a skip."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reviewer.app import auth
from tests import browser_support as bs
from tests.browser_support import ROOT, idle

PASSWORD = "browser-test-pass-1"
_LOG: dict = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    data = tmp_path_factory.mktemp("appdata")
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    _LOG["path"] = data / "streamlit.log"
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data}


@pytest.fixture(scope="module")
def page(server):
    with bs.browser(server["exe"]) as b:
        yield bs.new_page(b, 1440, 1800)


def visible(page, text: str, timeout: int = bs.WAIT):
    bs.visible(page, text, timeout, log=_LOG.get("path"))


def shot(page, name: str) -> Path:
    return bs.shot(page, name)


def sign_in(page, base: str) -> None:
    bs.sign_in(page, base, "staff1", PASSWORD)
    visible(page, "轮次 Round")


def main_text(page) -> str:
    return page.locator("section[data-testid='stMain'], .main, body").first.inner_text()


def test_round_import_screening_panels_ranking_in_chromium(server, page):
    base = server["url"]
    # 1 轮次 Round: opens on the bundled demo round with no setup
    sign_in(page, base)
    visible(page, "2026年度制造业创新中心试点（演示）")
    visible(page, "各阶段状态")
    idle(page)
    shot(page, "01_round")
    assert "400 (392)" in main_text(page)

    # 2 导入 Import: a file with two bad rows shows the row errors, the good rows load
    bs.go(page, "导入")
    visible(page, "导入 Import")
    apps = pd.read_excel(ROOT / "reviewer" / "data" / "demo" / "round2026.xlsx", sheet_name="申报书", dtype=str)
    apps.loc[2, "牵头单位统一社会信用代码"] = "NOT-A-CODE"
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": "申报书.csv", "mimeType": "text/csv", "buffer": apps.to_csv(index=False).encode("utf-8")}])
    visible(page, "申报书.csv")
    idle(page)  # the upload's rerun is over before the click
    page.get_by_role("button", name="导入", exact=True).click()
    visible(page, "本次上传文件中的错误")
    idle(page)
    shot(page, "02_import_errors")
    txt = main_text(page)
    assert "处错误" in txt and "本次导入" in txt
    # put the demo workbook back so the round is whole again
    page.locator("input[type='file']").first.set_input_files(str(ROOT / "reviewer" / "data" / "demo" / "round2026.xlsx"))
    visible(page, "round2026.xlsx")
    idle(page)
    page.get_by_role("button", name="导入", exact=True).click()
    visible(page, "导入成功")
    idle(page)

    # 3 形式审查 Screening
    bs.go(page, "形式审查")
    visible(page, "形式审查 Screening")
    visible(page, "形式审查结果")      # the chart's title
    visible(page, "需复核事项")
    idle(page)
    shot(page, "03_screening")

    # 4 专家与回避 Experts & conflicts
    bs.go(page, "专家与回避")
    visible(page, "专家与回避 Experts & conflicts")
    visible(page, "专家库：按类别")
    idle(page)
    shot(page, "04_experts")

    # 5 专家组 Panels: solve with a seed, progress, then the plan, its coverage heatmap
    bs.go(page, "专家组")
    visible(page, "专家组 Panels")
    visible(page, "本阶段尚无方案")
    seed = page.get_by_label("随机种子")
    seed.fill("11")
    seed.press("Enter")
    idle(page)
    page.get_by_role("button", name="求解", exact=True).click()
    visible(page, "完成：最优")
    visible(page, "个专家组")
    idle(page)
    shot(page, "05_panels")
    assert "随机种子 11" in main_text(page)
    page.get_by_role("tab", name="类别覆盖").click()
    visible(page, "各专家组的类别覆盖")
    idle(page)
    shot(page, "06_panels_coverage")
    page.get_by_role("tab", name="负载").click()
    idle(page)
    shot(page, "07_panels_load")
    # a refresh signs in again (no session in the URL) and keeps the plan (it is in the store)
    page.reload()
    sign_in(page, base)
    bs.go(page, "专家组")
    visible(page, "专家组 Panels")
    visible(page, "随机种子 11")

    # publish the plan (the expert link below shows published seats only)
    page.get_by_role("tab", name="发布").click()
    page.get_by_text("我已核对专家组").first.click()
    idle(page)
    page.get_by_role("button", name="发布", exact=True).click()
    visible(page, "专家组已发布")
    idle(page)

    # 6 评分 Scores
    bs.go(page, "评分")
    visible(page, "评分 Scores")
    visible(page, "评分一致性")
    idle(page)
    shot(page, "08_scores")

    # 7 排名 Ranking: lists with reasons, methods side by side, intervals per field
    bs.go(page, "排名")
    visible(page, "排名 Ranking")
    visible(page, "推荐认定名单")
    idle(page)
    shot(page, "09_ranking")
    page.get_by_role("tab", name="方法对比").click()
    idle(page)
    shot(page, "10_ranking_methods")
    page.get_by_role("tab", name="各领域得分区间").click()
    idle(page)
    shot(page, "11_ranking_intervals")

    # an expert's personal link, made with the CLI; expert_id=<another expert> in the URL changes nothing
    from reviewer.app import store as app_store
    old_home = os.environ.get("REVIEWER_HOME")
    os.environ["REVIEWER_HOME"] = str(server["data"])
    try:
        seats = app_store.published_seats("demo-2026", "初审评估")
    finally:
        if old_home is None:
            os.environ.pop("REVIEWER_HOME", None)
        else:
            os.environ["REVIEWER_HOME"] = old_home
        app_store._STORES.clear()
    mine_e = seats["expert_id"].iloc[0]
    other_e = next(e for e in seats["expert_id"] if e != mine_e)
    out = subprocess.run([sys.executable, "-m", "reviewer.cli.main", "token", mine_e, "--round", "demo-2026", "--url", base],
                         env={**os.environ, "REVIEWER_HOME": str(server["data"])}, capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip().splitlines()[-1]
    page.goto(link + f"&expert_id={other_e}")
    visible(page, "我的评审任务 My assignments")
    visible(page, f"（{mine_e}）")
    page.locator("[data-testid='stDataFrame']").first.wait_for(state="visible", timeout=bs.WAIT)
    idle(page)
    shot(page, "13_expert_link")
    body = page.locator("body").inner_text()
    assert mine_e in body and other_e not in body
    assert "轮次 Round" not in body                       # no staff pages

    # English switch
    sign_in(page, base)
    page.locator("[data-testid='stSidebar'] label").filter(has_text="English").first.click()
    visible(page, "Stages")
    idle(page)
    shot(page, "12_round_english")
