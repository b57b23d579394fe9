"""The expert loop's staff pages in a real browser (issue 16, loop16): a recusal accepted on the response
board covers the pair in every stage, the board flags the seats of experts who cannot come on the moved
meeting day, and the 催交 page queues 答复提醒 / 催交 reminders through the outbox. Screenshots:
docs/screenshots/expert-loop-board.png, expert-loop-chase.png."""
from __future__ import annotations

import datetime as dt
import os
import shutil

import pandas as pd
import pytest

from reviewer.app import auth
from tests import browser_support as bs

PASSWORD = "browser-test-pass-1"
STAGE = "认定评审"
DAY = dt.date(2027, 1, 5)      # the demo pool's windows: ZJ0009 until 2026-12-31, ZJ0223 until 2026-11-30
DOCS = bs.ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    if dt.date.today() >= DAY - dt.timedelta(days=4):
        pytest.skip(f"the meeting day {DAY} of this test must lie ahead (answers close 72 h before it)")
    data = tmp_path_factory.mktemp("looppages")
    old = {k: os.environ.get(k) for k in ("REVIEWER_HOME", "REVIEWER_DB_URL")}
    os.environ["REVIEWER_HOME"] = str(data)
    os.environ.pop("REVIEWER_DB_URL", None)
    try:   # the demo round with 认定评审 published from the demo panels, its meeting on DAY, one recusal asked
        from reviewer.app import rounds as svc_rounds
        from reviewer.app import store as app_store
        from reviewer.resources import DEMO_DIR
        from reviewer.store import publishing, repo, seat_responses
        app_store._STORES.clear()
        from reviewer.app.imports import load_bundle
        rid = svc_rounds.ensure_demo_round()
        load_bundle(rid)                            # the demo files imported into the store
        panels = pd.read_csv(DEMO_DIR / "demo_panels.csv", dtype=str).rename(
            columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
        with app_store.store().write() as s:
            r = repo.get_round(s, rid)
            run = publishing.record_imported_run(s, r, panels, source="demo_panels.csv", sha256=None, user="张三")
            publishing.publish_run(s, r, STAGE, run.id, user="张三", reason="发布")
            repo.update_round_settings(s, r, {"meetings": {STAGE: {"date": DAY.isoformat(), "time": "09:00"}}},
                                       user="张三", reason="会议改期")
        seats = panels[panels["stage"] == STAGE]
        app_id = sorted(seats["application_id"])[0]
        member = sorted(seats.loc[(seats["application_id"] == app_id) & (seats["role"] == "成员"), "expert_id"])[0]
        with app_store.store().write() as s:
            seat_responses.answer(s, repo.get_round(s, rid), member, STAGE, "recuse", user=member, relation="C3",
                                  reason="与牵头单位负责人为师生关系", application_id=app_id)
        app_store._STORES.clear()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data, "pair": (member, app_id)}


def test_board_recusal_every_stage_moved_meeting_and_reminders_through_the_outbox(server):
    base, log = server["url"], server["data"] / "streamlit.log"
    member, app_id = server["pair"]
    DOCS.mkdir(parents=True, exist_ok=True)
    with bs.browser(server["exe"]) as br:
        page = bs.new_page(br)
        bs.sign_in(page, base, "staff1", PASSWORD)
        bs.visible(page, "轮次 Round", log=log)
        bs.go(page, "专家答复")
        bs.visible(page, "待审核的回避申请", log=log)
        txt = bs.body_text(page)
        assert "新日期不可参加" in txt and "同意后该专家与该申报在所有阶段回避" in txt
        page.get_by_role("button", name="同意回避", exact=True).click()
        bs.visible(page, "各阶段均回避", log=log)
        bs.idle(page)
        page.get_by_text("各阶段均回避", exact=False).first.scroll_into_view_if_needed()   # the outcome and the board
        shutil.copy(bs.shot(page, "expert_loop_board"), DOCS / "expert-loop-board.png")
        assert member in bs.body_text(page)

        bs.go(page, "催交")
        bs.visible(page, "通过发件箱发送提醒", log=log)
        bs.idle(page)
        page.get_by_role("button", name="加入发件箱").click()
        bs.visible(page, "已加入发件箱", log=log)
        bs.idle(page)
        shutil.copy(bs.shot(page, "expert_loop_chase"), DOCS / "expert-loop-chase.png")
    from reviewer.store import Store, pair_conflicts, repo
    from reviewer.store.models import OutboxMessage
    st = Store(f"sqlite:///{server['data'] / 'reviewer.sqlite'}")
    try:
        with st.read() as s:
            r = repo.get_round(s, repo.list_rounds(s)[0].code)
            pc = pair_conflicts.pairs(s, r)
            kinds = {m.kind for m in s.query(OutboxMessage).all()}
        assert set(zip(pc.expert_id, pc.application_id)) == {(member, app_id)} and len(pc.stages.iloc[0]) == 3
        assert "reply_reminder" in kinds
    finally:
        st.dispose()
