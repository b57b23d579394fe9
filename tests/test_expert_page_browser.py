"""The expert's page and the staff's response board in a real browser (issue 16): an expert confirms,
another declines (refilled automatically; their link then says only 您已被替换), staff see it all on the
board. Screenshots in tests/artifacts/ (expert_confirm, expert_replaced, responses_board)."""
from __future__ import annotations

import os

import pytest

from reviewer.app import auth
from tests import browser_support as bs

PASSWORD = "browser-test-pass-1"
STAGE = "初审评估"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    data = tmp_path_factory.mktemp("expertapp")
    old = {k: os.environ.get(k) for k in ("REVIEWER_HOME", "REVIEWER_DB_URL")}
    os.environ["REVIEWER_HOME"] = str(data)
    os.environ.pop("REVIEWER_DB_URL", None)
    try:   # the demo round with 初审评估 published, made in this process on the server's home
        from reviewer.app import panels as svc_panels
        from reviewer.app import rounds as svc_rounds
        rid = svc_rounds.ensure_demo_round()
        plan = svc_panels.plan_stage(rid, STAGE, time_limit=20)
        svc_panels.publish(rid, STAGE)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    experts = sorted(set(plan.panels["expert_id"]))
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    tokens = {e: auth.issue_token(e, days=7, round_id=rid, folder=data)[0] for e in experts[:2]}
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data, "tokens": tokens, "experts": experts[:2]}


def test_expert_confirms_another_declines_staff_see_the_board(server):
    base, log = server["url"], server["data"] / "streamlit.log"
    a, b = server["experts"]
    with bs.browser(server["exe"]) as br:
        page = bs.new_page(br)
        page.goto(f"{base}/?token={server['tokens'][a]}")
        bs.visible(page, "答复截止", log=log)
        bs.idle(page)
        page.get_by_role("button", name="确认参加").click()
        bs.visible(page, "已确认参加", log=log)
        bs.idle(page)
        bs.shot(page, "expert_confirm")
        txt = bs.body_text(page)
        assert "已确认" in txt and b not in txt and "下载保密与回避承诺书" in txt

        page = bs.new_page(br)
        page.goto(f"{base}/?token={server['tokens'][b]}")
        bs.visible(page, "答复截止", log=log)
        bs.idle(page)
        page.get_by_role("button", name="请假").click()
        page.get_by_label("请假原因").fill("单位有紧急任务")
        page.get_by_role("button", name="提交请假").click()
        bs.visible(page, "已登记请假", log=log)
        bs.idle(page)
        page.goto(f"{base}/?token={server['tokens'][b]}")
        bs.visible(page, "您已被替换", log=log)
        bs.idle(page)
        bs.shot(page, "expert_replaced")
        txt = bs.body_text(page)
        assert "答复截止" not in txt and "下载评分表" not in txt

        page = bs.new_page(br)
        bs.sign_in(page, base, "staff1", PASSWORD)
        bs.visible(page, "轮次 Round", log=log)
        bs.go(page, "专家答复")
        bs.visible(page, "已替换", log=log)
        bs.idle(page)
        bs.shot(page, "responses_board")
        txt = bs.body_text(page)
        assert "已确认" in txt and "待答复" in txt
