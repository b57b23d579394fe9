"""The expert's page (issue 16 item 2, issue 13 item 18): answer the invitation through the personal
link — confirm, decline (then 补抽, and the link says only 您已被替换), ask to recuse; the deadline and
meeting; notice, pledge and score sheet to download; 已提交 after an upload. And the staff's board."""
from __future__ import annotations

import io

from reviewer.app import auth
from reviewer.app import expert_view as svc_expert_view
from reviewer.app import responses as svc_responses
from reviewer.app import rounds as svc_rounds
from reviewer.store import audit
from tests.test_app_pages import _published_two_experts, appdata, button, frames, start, texts  # noqa: F401

STAGE = "初审评估"


def board_row(rid, expert_id):
    b = svc_responses.board(rid, STAGE)
    return b[b["expert_id"] == expert_id]


def verify_ok():
    from reviewer.app import store as app_store
    with app_store.store().read() as s:
        v = audit.verify(s)
    assert v.ok, [str(p) for p in v.problems]


def test_expert_confirms_and_sees_only_their_own_answer(appdata):
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    t = texts(at)
    assert "答复截止" in t and "评审开始" in t
    assert set(frames(at)[0]["status_zh"]) == {"已邀请"}
    button(at, "确认参加").click().run()
    assert not at.exception
    assert "已确认参加" in texts(at)
    assert set(frames(at)[0]["status_zh"]) == {"已确认"}
    assert set(board_row(rid, a)["status"]) == {"confirmed"}
    assert b not in texts(at) and len(at.dataframe) == 1
    labels = [d.label for d in at.get("download_button")]
    assert {"下载评审通知", "下载保密与回避承诺书", "下载评分表"} <= set(labels)
    verify_ok()


def test_expert_declines_is_replaced_and_the_link_then_says_only_that(appdata):
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    button(at, "提交请假").click().run()                 # no reason: refused, nothing recorded
    assert "请假需要填写原因" in texts(at)
    assert set(board_row(rid, a)["status"]) == {"invited"}
    at.text_input(key=f"why_decline_{STAGE}").input("单位有紧急任务").run()
    button(at, "提交请假").click().run()
    assert not at.exception
    rows = board_row(rid, a)
    assert set(rows["status"]) == {"replaced"} and (rows["replaced_by"] != "").all()   # refilled automatically
    again = start(token=tok)
    t = texts(again)
    assert "您已被替换" in t and "you were replaced" in t.lower()
    assert len(again.dataframe) == 0 and not again.button and not again.get("download_button")
    newcomer = rows["replaced_by"].iloc[0]
    assert newcomer not in t
    verify_ok()


def test_expert_asks_to_recuse_and_staff_decide_on_the_board(appdata):
    rid, panels, a, b, load = _published_two_experts()
    app_id = sorted(load[a])[0]
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    at.selectbox(key=f"rec_app_{STAGE}").set_value(app_id)
    at.selectbox(key=f"rec_rel_{STAGE}").set_value("C3")
    at.text_input(key=f"rec_why_{STAGE}").input("与牵头单位负责人为师生关系").run()
    button(at, "提交回避申请").click().run()
    assert "回避申请已提交" in texts(at)
    row = board_row(rid, a)
    row = row[row["application_id"] == app_id].iloc[0]
    assert row["status"] == "recusal" and row["relation"] == "C3"
    # staff: the board lists the request; accepting refills the seat
    board = start("views/responses.py")
    assert "待审核的回避申请" in texts(board)
    button(board, "同意回避").click().run()
    assert not board.exception
    row = board_row(rid, a)
    assert row[row["application_id"] == app_id]["status"].iloc[0] == "replaced"
    verify_ok()


def test_submitted_status_after_an_upload(appdata):
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    assert "已提交 submitted" not in texts(at)
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(svc_expert_view.expert_score_sheet(rid, a, STAGE)))
    ws = wb["评分表"]
    crit = svc_rounds.policy_for(rid).rubric.criteria
    for r in range(3, 3 + len(load[a])):
        for k, c in enumerate(crit):
            ws.cell(r, 4 + k, c.max * 0.8)
    buf = io.BytesIO()
    wb.save(buf)
    at.file_uploader[0].set_value(("mine.xlsx", buf.getvalue(), "application/octet-stream")).run()
    button(at, "提交评分").click().run()
    assert not at.exception
    assert "已提交 submitted" in texts(at)
    assert "已提交 submitted" in texts(start(token=tok))      # still there on the next visit


def test_notice_and_pledge_name_only_this_expert(appdata):
    rid, panels, a, b, load = _published_two_experts()
    si = svc_expert_view.my_stages(rid, a)[0]
    notice = svc_expert_view.notice_text(rid, a, si)
    pledge = svc_expert_view.pledge_text(rid, a, STAGE)
    names = dict(zip(panels.expert_id, panels.expert_name))
    assert names[a] in notice and names[a] in pledge and a in pledge
    assert names[b] not in notice + pledge
    assert all(x in notice for x in load[a])


def test_staff_board_shows_every_seat_and_marks_no_replies(appdata):
    rid, panels, a, b, load = _published_two_experts()
    at = start("views/responses.py")
    t = texts(at)
    assert "专家答复" in t and "未排期" in t          # no meeting date set: nothing can be late
    shown = [f for f in frames(at) if "status_zh" in f.columns][0]
    assert len(shown) == len(panels) and set(shown["status_zh"]) == {"已邀请"}
    assert [m.value for m in at.metric][:3] == [str(len(panels)), "0", str(len(panels))]
    button(at, "标记未答复（当前逾期 0 个）").click().run()
    assert not at.exception
    assert "未答复 no reply: 0" in texts(at)


def test_the_expert_page_reads_like_the_staff_tables(appdata):
    """Issue 13 items 16 and 18: the expert's page goes through the same formatting as the staff tables —
    Chinese headers, missing values as "—" (never <NA> or None), the link's expiry in Beijing time; a sheet
    with a wrong value lists its problems under Chinese headers (行号, 列, 应为)."""
    import json
    import re
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    assert re.search(r"链接有效期至 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 北京时间", texts(at)), texts(at)
    seats = at.dataframe[0]
    assert seats.proto.placeholder == "—"
    cfg = json.loads(seats.proto.columns)
    labels = [(cfg.get(c) or {}).get("label") for c in seats.value.columns]
    assert all(lab and re.search(r"[\u4e00-\u9fff]", lab) for lab in labels), labels
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(svc_expert_view.expert_score_sheet(rid, a, STAGE)))
    ws = wb["评分表"]
    crit = svc_rounds.policy_for(rid).rubric.criteria
    for r in range(3, 3 + len(load[a])):
        for k, c in enumerate(crit):
            ws.cell(r, 4 + k, c.max * 0.8)
    ws.cell(3, 4, 999)                        # over the criterion's maximum
    buf = io.BytesIO()
    wb.save(buf)
    at.file_uploader[0].set_value(("mine.xlsx", buf.getvalue(), "application/octet-stream")).run()
    button(at, "提交评分").click().run()
    assert not at.exception
    problems = at.dataframe[-1]
    cfg = json.loads(problems.proto.columns)
    labels = [(cfg.get(c) or {}).get("label") for c in problems.value.columns]
    assert {"行号", "列", "应为"} <= set(labels), labels
    assert not problems.value.astype(str).isin(["<NA>", "None", "nan"]).any().any()
