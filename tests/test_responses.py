"""The seat life cycle in the store (issue 16 items 1 and 3): invite → confirm / decline / recuse /
no reply → 补抽, every step audited and checked."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from reviewer.errors import UserError
from reviewer.store import audit, repo, replacement, seat_refill, seat_responses
from tests.test_store_support import planned_store, store_copy

STAGE = "初审评估"
# the meeting 30 days from today, 09:00 Beijing = 01:00 UTC; the deadline 72 hours before (policy default)
DAY = dt.date.today() + dt.timedelta(days=30)
MEETING = DAY.isoformat()
START = dt.datetime.combine(DAY, dt.time(1, 0))
DEADLINE = START - dt.timedelta(hours=72)
BEFORE = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=5)
AFTER_DEADLINE = START - dt.timedelta(hours=24)
STARTED = START + dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    # the meeting date is set before planning (as staff do): experts unavailable that day are not drawn
    return planned_store(tmp_path_factory.mktemp("resp"), STAGE, {"meetings": {STAGE: {"date": MEETING, "time": "09:00"}}})


@pytest.fixture
def st(base, tmp_path):
    store, _path, _run = store_copy(base, tmp_path)
    with store.write() as s:
        r = repo.get_round(s, "2026")
        repo.update_round_settings(s, r, {"meetings": {STAGE: {"date": MEETING, "time": "09:00"}}}, user="张三")
    yield store
    store.dispose()


def panel_of(store, app_id=None):
    with store.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    app_id = app_id or sorted(seats["application_id"])[0]
    return app_id, seats[seats["application_id"] == app_id].sort_values("role")["expert_id"].tolist()


def act(store, expert, what, now=BEFORE, **kw):
    with store.write() as s:
        return seat_responses.answer(s, repo.get_round(s, "2026"), expert, STAGE, what, user=f"专家 {expert}",
                                     now=now, **kw)


def board(store, now=BEFORE):
    with store.read() as s:
        return seat_responses.board(s, repo.get_round(s, "2026"), STAGE, now=now)


def test_publication_invites_every_seat_with_the_policy_deadline(st):
    b = board(st)
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    assert len(b) == len(seats) and set(b["status"]) == {"invited"}
    assert set(b["assignment_id"]) == set(seats["assignment_id"])
    assert set(b["deadline"]) == {DEADLINE}
    assert not b["late"].any() and b["open"].all()
    assert board(st, now=AFTER_DEADLINE)["late"].all()


def test_acceptance_three_confirm_one_declines_one_never_answers(st):
    """invite → 3 confirm, 1 declines, 1 never answers → both replaced, the checker holds, the board shows all."""
    app_id, panel = panel_of(st)
    chair, *members = panel                       # sorted by role: chair first
    confirmers, decliner, silent = [chair, *members[:2]], members[2], members[3]
    for e in confirmers:
        act(st, e, "confirm")
    act(st, decliner, "decline", reason="出差在外 travelling")
    with st.write() as s:
        late = seat_responses.expire(s, repo.get_round(s, "2026"), STAGE, user="张三", now=AFTER_DEADLINE)
    assert silent in {x.expert_id for x in late.changed} and not {decliner, *confirmers} & {
        x.expert_id for x in late.changed}
    for e in (decliner, silent):   # this panel's two (the rest of the stage is late too: not refilled here)
        with st.write() as s:
            seat_refill.refill(s, repo.get_round(s, "2026"), STAGE, app_id, e, user=seat_refill.AUTO_USER)
    b = board(st, now=AFTER_DEADLINE)
    mine = b[b["application_id"] == app_id].set_index("expert_id")
    assert set(mine.loc[confirmers, "status"]) == {"confirmed"}
    assert mine.loc[decliner, "status"] == "replaced" and mine.loc[decliner, "reason"] == "出差在外 travelling"
    assert mine.loc[silent, "status"] == "replaced"
    newcomers = {mine.loc[decliner, "replaced_by"], mine.loc[silent, "replaced_by"]}
    assert len(newcomers) == 2 and not newcomers & set(panel)
    assert set(mine.loc[list(newcomers), "status"]) == {"invited"}
    _, now_panel = panel_of(st, app_id)
    assert set(now_panel) == set(confirmers) | newcomers
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
        assert replacement.check_change(s, r, data, replacement.round_seats(s, r)) == []   # every hard rule holds
        v = audit.verify(s)
        assert v.ok, [str(p) for p in v.problems]
        actions = [a for (a,) in s.execute(text("SELECT action FROM audit_log WHERE action LIKE 'seat.%'"))]
    assert {"seat.invite", "seat.confirm", "seat.decline", "seat.expire", "seat.replaced"} <= set(actions)
    counts = seat_responses.summary(b)
    assert counts["replaced"] == 2 and counts["confirmed"] == 3


def test_hostile_double_decline_and_confirm_after_replacement(st):
    app_id, panel = panel_of(st)
    e = panel[-1]
    act(st, e, "decline", reason="生病 ill")
    with pytest.raises(UserError, match="已是“已请假”"):
        act(st, e, "decline", reason="again")
    seat_refill.refill_open(st, "2026", STAGE)
    for what, kw in (("confirm", {}), ("decline", {"reason": "x"}),
                     ("recuse", {"relation": "C3", "application_id": app_id, "reason": "x"})):
        with pytest.raises(UserError, match="您已被替换"):
            act(st, e, what, **kw)
    with st.read() as s:
        assert audit.verify(s).ok


def test_answer_after_the_stage_started_is_refused(st):
    _, panel = panel_of(st)
    with pytest.raises(UserError, match=f"已于 {MEETING} 09:00"):
        act(st, panel[0], "decline", now=STARTED, reason="太晚 too late")
    assert set(board(st)["status"]) == {"invited"}


def test_no_answer_for_a_seat_the_expert_does_not_hold(st):
    app_id, panel = panel_of(st)
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    other_app = next(a for a in seats["application_id"] if a != app_id)
    with pytest.raises(UserError, match="没有受邀席位"):
        act(st, panel[0], "recuse", application_id=other_app, relation="C1", reason="x")
    with pytest.raises(UserError, match="没有受邀席位"):
        act(st, "ZJ9999", "confirm")


def test_decline_and_recusal_need_their_details(st):
    app_id, panel = panel_of(st)
    with pytest.raises(UserError, match="需要填写原因"):
        act(st, panel[1], "decline", reason="  ")
    with pytest.raises(UserError, match="relation"):
        act(st, panel[1], "recuse", application_id=app_id, relation="C99", reason="x")
    with pytest.raises(UserError, match="指明申报项目"):
        act(st, panel[1], "recuse", relation="C1", reason="x")


def test_recusal_is_decided_by_staff(st):
    app_id, panel = panel_of(st)
    e, f = panel[1], panel[2]
    act(st, e, "recuse", application_id=app_id, relation="C3", reason="与牵头单位负责人为师生关系")
    act(st, f, "recuse", application_id=app_id, relation="other", reason="曾参与该项目论证")
    assert seat_refill.refill_open(st, "2026", STAGE).done == []       # nothing to refill before staff decide
    with st.write() as s:
        r = repo.get_round(s, "2026")
        seat_responses.decide_recusal(s, r, STAGE, app_id, e, accept=True, reason="关系属实", user="张三")
        with pytest.raises(UserError, match="需要填写原因"):
            seat_responses.decide_recusal(s, r, STAGE, app_id, f, accept=False, reason="", user="张三")
        seat_responses.decide_recusal(s, r, STAGE, app_id, f, accept=False, reason="不构成回避情形", user="张三")
    b = board(st).set_index("expert_id")
    assert b.loc[e, "status"] == "recused" and b.loc[e, "relation"] == "C3" and b.loc[e, "needs_refill"]
    assert b.loc[f, "status"] == "invited" and b.loc[f, "reason"] == "不构成回避情形"
    rep = seat_refill.refill_open(st, "2026", STAGE)
    assert [p.leaving for p in rep.done] == [e]


def test_a_status_changed_with_sql_is_named_by_audit_verify(st):
    _, panel = panel_of(st)
    act(st, panel[0], "confirm")
    with st.write() as s:
        s.execute(text("UPDATE seat_responses SET status = 'confirmed' WHERE expert_id = :e"), {"e": panel[1]})
    with st.read() as s:
        v = audit.verify(s)
    assert not v.ok
    assert any(panel[1] in p.what and "答复" in p.what for p in v.problems), [str(p) for p in v.problems]


def test_pending_notifications_name_the_invited_and_the_replaced(st):
    app_id, panel = panel_of(st)
    act(st, panel[-1], "decline", reason="家中有事")
    rep = seat_refill.refill_open(st, "2026", STAGE)
    with st.read() as s:
        notes = seat_responses.pending_notifications(s, repo.get_round(s, "2026"), STAGE)
    kinds = {(n.kind, n.expert_id) for n in notes}
    assert ("replaced", panel[-1]) in kinds and ("invitation", rep.done[0].candidate) in kinds
    assert all(n.stage_start == f"{MEETING} 09:00 (北京时间)" for n in notes)


def test_the_chair_declines_the_heir_keeps_their_answer(st):
    app_id, panel = panel_of(st)
    chair, *members = panel
    for e in members:
        act(st, e, "confirm")
    act(st, chair, "decline", reason="临时出国")
    rep = seat_refill.refill_open(st, "2026", STAGE)
    assert [p.leaving for p in rep.done] == [chair], rep.pending
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
        assert audit.verify(s).ok
    now = seats[seats["application_id"] == app_id]
    new_chair = now.loc[now["role"] == "chair", "expert_id"].iloc[0]
    b = board(st)
    live = b[(b["application_id"] == app_id) & (b["status"] != "replaced")].set_index("expert_id")
    assert set(live.index) == set(now["expert_id"])
    if new_chair in members:     # a member took the chair: their answer stays 已确认
        assert live.loc[new_chair, "status"] == "confirmed"
    newcomer = rep.done[0].candidate
    assert live.loc[newcomer, "status"] == "invited"


def expert_with_two_seats(store):
    """An expert holding two seats of the stage: a member moved onto a second panel through the checked
    replacement path (the first move the checker accepts)."""
    with store.read() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, STAGE)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    cat = {e.expert_id: e.category for e in data.experts}
    members = seats[seats["role"] != "chair"]
    for e, app_a in zip(members["expert_id"][:6], members["application_id"][:6]):
        for x in members[(members["application_id"] != app_a)].itertuples(index=False):
            if cat[x.expert_id] != cat[e]:
                continue
            try:
                with store.write() as s:
                    replacement.replace_expert(s, repo.get_round(s, "2026"), STAGE, x.application_id, x.expert_id, e,
                                               reason="测试：一人两席", user="张三", data=data)
            except UserError:
                continue
            return e, sorted([app_a, x.application_id])
    pytest.fail("no member could take a second seat")


def test_confirm_after_a_rejected_recusal_changes_only_the_open_seat(st):
    """An expert with two seats confirms, asks to recuse from one, is rejected, and confirms again."""
    e, apps = expert_with_two_seats(st)
    assert len(act(st, e, "confirm").changed) == 2
    act(st, e, "recuse", application_id=apps[0], relation="C3", reason="师生")
    with st.write() as s:
        seat_responses.decide_recusal(s, repo.get_round(s, "2026"), STAGE, apps[0], e, accept=False,
                                      reason="不构成", user="张三")
    again = act(st, e, "confirm")
    assert [x.application_id for x in again.changed] == [apps[0]]
    with pytest.raises(UserError, match="已是“已确认”"):
        act(st, e, "confirm")
    with st.read() as s:
        assert audit.verify(s).ok
