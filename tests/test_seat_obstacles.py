"""Seats made impossible after publication go through the one 补抽 path (issue 16): a stage's meeting
moved to a day an expert is unavailable (日期冲突), a credit penalty recorded after publication that
covers a stage's day (rule P1 专家库资格). Automatic or staff-approved per the policy, checked by
`replacement.replace_seats`, the replacement notified through the outbox, everything audited; a stage
already scored is left alone and reported."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.app import responses as svc_responses
from reviewer.app import round_settings as svc_settings
from reviewer.app import store as app_store
from reviewer.store import audit, pool, publishing, repo, seat_responses
from reviewer.store.models import AuditEntry, OutboxMessage, SeatResponse
from tests.test_responses_redraw import copy_of, drawn  # noqa: F401 - the module-scoped draw fixture
from tests.test_seat_schedule import FROM_DEC, UNTIL_NOV, unavailable_on
from tests.test_store_support import DEMO, demo_store, run_cli

FINAL, FIRST = "认定评审", "初审评估"


def store_with(url, tmp_path, refill):
    """The demo round under the bundled policy with [responses] refill = `refill`."""
    if refill == "automatic":
        return demo_store(url)
    from reviewer.store import Store
    from tests.test_store_support import AS_OF, demo_loaded
    text = (Path(repo.__file__).resolve().parents[1] / "data" / "policy.toml").read_text(encoding="utf-8")
    assert 'refill = "automatic"' in text
    path = tmp_path / "policy_approve.toml"
    path.write_text(text.replace('refill = "automatic"', f'refill = "{refill}"'), encoding="utf-8")
    st = Store(url)
    data, report = demo_loaded()
    with st.write() as s:
        r = repo.create_round(s, "2026", user="张三", as_of=AS_OF, policy_path=path)
        repo.record_import(s, r, data, report, user="张三", source=str(DEMO / "round2026.xlsx"))
    return st


@pytest.fixture(params=["automatic"])
def db(request, tmp_path, monkeypatch):
    """The demo panels recorded as one run (both stages, no meeting date yet), 认定评审 published."""
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    app_store._STORES.clear()
    st = store_with(url, tmp_path, request.param)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    with st.write() as s:
        r = repo.get_round(s, "2026")
        run = publishing.record_imported_run(s, r, panels, source="demo_panels.csv", sha256=None, user="张三")
        publishing.publish_run(s, r, FINAL, run.id, user="张三", reason="发布")
        run_id = run.id
    yield st, url, run_id
    st.dispose()
    app_store._STORES.clear()


APPROVE = pytest.mark.parametrize("db", ["approve"], indirect=True)   # staff approve each proposal


def response(st, stage, app_id, expert):
    with st.read() as s:
        return s.execute(select(SeatResponse).where(SeatResponse.stage == stage, SeatResponse.application_id == app_id,
                                                    SeatResponse.expert_id == expert)).scalars().all()


def seated(st, stage, app_id):
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), stage)
    return set(seats.loc[seats["application_id"] == app_id, "expert_id"])


def entries(st, action):
    with st.read() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars())


def verify_ok(st):
    with st.read() as s:
        v = audit.verify(s)
    assert v.ok, [str(p) for p in v.problems]


def test_a_moved_meeting_refills_the_seats_it_made_impossible_automatically_cli(db, capsys):
    st, url, _ = db
    app_id, leaving = UNTIL_NOV
    before = seated(st, FINAL, app_id)
    code, out = run_cli(["round", "settings", "2026", "--stage", FINAL, "--date", "2026-12-15", "--db", url], capsys)
    assert code == 0, out
    assert "待补抽" in out and "日期冲突" in out and f"补抽 refilled: {FINAL} {app_id}: {leaving} →" in out
    # the seat: date conflict, then replaced by someone available on the new day
    (row,) = response(st, FINAL, app_id, leaving)
    assert row.status == seat_responses.REPLACED and row.last_answer == seat_responses.DATE_CONFLICT
    assert "2026-12-15" in row.reason and "2026-11-28" in row.reason
    now = seated(st, FINAL, app_id)
    assert leaving not in now and len(now) == len(before)
    newcomer = sorted(now - before)
    assert len(newcomer) == 1 and response(st, FINAL, app_id, newcomer[0])[0].status == seat_responses.INVITED and newcomer[0] not in unavailable_on("2026-12-15")
    # audited: the mark (with the rows) and the replacement naming the date conflict
    (mark,) = entries(st, "seat.date_conflict")
    assert "2026-12-15" in mark.reason and "2026-11-28" in mark.reason
    rep = [e for e in entries(st, "replacement") if leaving in e.entity]
    assert len(rep) == 1 and "日期冲突" in rep[0].reason and "2026-12-15" in rep[0].reason
    # the replacement is notified through the outbox, in the same transaction
    with st.read() as s:
        msgs = s.execute(select(OutboxMessage.kind, OutboxMessage.recipient_id)).all()
    assert any(rid == newcomer[0] for _k, rid in msgs) and any(rid == leaving for _k, rid in msgs)
    verify_ok(st)
    # the board (CLI) shows the replaced seat; nothing left to refill
    code, out = run_cli(["responses", "--round", "2026", "--stage", FINAL, "--db", url], capsys)
    assert code == 0 and "待补抽 to refill 0" in out


@APPROVE
def test_under_approve_the_board_shows_date_conflict_to_refill_and_a_moved_back_date_restores_it(db):
    st, _, _ = db
    settings, version, _ = svc_settings.current("2026")
    lines = svc_settings.save("2026", stage=FINAL, meeting={"date": "2026-12-15"}, site_start=None, site_end=None,
                              user="张三", version=version)
    assert any("日期冲突" in x and UNTIL_NOV[1] in x for x in lines)
    assert any("人工审核" in x for x in lines)
    b = svc_responses.board("2026", FINAL)
    row = b[(b.application_id == UNTIL_NOV[0]) & (b.expert_id == UNTIL_NOV[1])].iloc[0]
    assert row.status_zh == "日期冲突" and "待补抽" in row["flags"] and "2026-12-15" in row["note"]
    assert b.iloc[0]["expert_id"] == UNTIL_NOV[1]            # needs staff: listed first
    assert UNTIL_NOV[1] in seated(st, FINAL, UNTIL_NOV[0])    # nothing moved before staff approve
    # the meeting moves again: the first seat is restored, the other expert's seat is now in conflict
    _, version, _ = svc_settings.current("2026")
    lines = svc_settings.save("2026", stage=FINAL, meeting={"date": "2026-11-25"}, site_start=None, site_end=None,
                              user="张三", version=version)
    assert any("已恢复" in x and UNTIL_NOV[1] in x for x in lines)
    assert response(st, FINAL, *UNTIL_NOV)[0].status == seat_responses.INVITED
    assert response(st, FINAL, *FROM_DEC)[0].status == seat_responses.DATE_CONFLICT
    # staff approve the proposal shown on the board: the one checked path
    props = svc_responses.proposals("2026", FINAL)
    (p,) = props.itertuples(index=False)
    assert (p.application_id, p.expert_id) == FROM_DEC and p.candidate and p.status_zh == "日期冲突"
    out = svc_responses.approve("2026", FINAL, p.application_id, p.expert_id, p.candidate, user="张三")
    assert any(p.candidate in x for x in out.lines)
    assert p.candidate in seated(st, FINAL, FROM_DEC[0]) and FROM_DEC[1] not in seated(st, FINAL, FROM_DEC[0])
    assert p.candidate not in unavailable_on("2026-11-25")
    assert len(entries(st, "seat.restore")) == 1 and len(entries(st, "seat.date_conflict")) == 2
    verify_ok(st)


def both_stages_first_scored(st, run_id):
    """初审评估 published too, and scored on one panel (its meeting was held)."""
    with st.write() as s:
        r = repo.get_round(s, "2026")
        publishing.publish_run(s, r, FIRST, run_id, user="张三", reason="发布")
        seats = repo.published_seats(s, r, FIRST)
        app_id = sorted(seats["application_id"])[0]
        crit = repo.round_policy(r).instrument(FIRST).criteria
        scores = pd.DataFrame([{"stage": FIRST, "application_id": app_id, "expert_id": e, "criterion": c.id,
                                "score": c.max * 0.8} for e in seats.loc[seats.application_id == app_id, "expert_id"]
                               for c in crit])
        repo.submit_scores(s, r, scores, user="秘书", source="test")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        first, final = repo.published_seats(s, r, FIRST), repo.published_seats(s, r, FINAL)
    both = sorted((set(first["expert_id"]) & set(final["expert_id"])) - {FROM_DEC[1], UNTIL_NOV[1]})
    expert = both[0]
    return (expert, first.loc[first.expert_id == expert, "application_id"].tolist(),
            final.loc[final.expert_id == expert, "application_id"].tolist())


def test_a_penalty_over_the_stage_day_refills_the_seat_and_leaves_a_scored_stage_alone_cli(db, capsys):
    st, url, run_id = db
    with st.write() as s:     # the 认定评审 meeting on 2026-11-25; the round's reference date is 2026-11-01
        repo.update_round_settings(s, repo.get_round(s, "2026"), {"meetings": {FINAL: {"date": "2026-11-25"}}},
                                   user="张三")
    expert, first_apps, final_apps = both_stages_first_scored(st, run_id)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert not any(b[0] == expert for b in pool.bars_for_round(s, r, repo.round_policy(r)))
    code, out = run_cli(["pool", "penalty", "add", "--expert", expert, "--kind", "暂停抽取", "--start", "2026-11-20",
                         "--end", "2026-12-31", "--reason", "评审中泄露申报材料", "--db", url], capsys)
    assert code == 0, out
    with st.read() as s:
        pid = pool.penalties(s, expert)[0].id
        r = repo.get_round(s, "2026")
        still = pool.seated_but_barred(s, r, repo.round_policy(r))
    # the 认定评审 seat went through the checked path; P1 holds there now
    for app_id in final_apps:
        assert expert not in seated(st, FINAL, app_id) and len(seated(st, FINAL, app_id)) == 7
        (row,) = response(st, FINAL, app_id, expert)
        assert row.status == seat_responses.REPLACED and row.last_answer == seat_responses.BARRED
        assert f"补抽 refilled: {FINAL} {app_id}: {expert} →" in out
    assert [x for x in still if x[0] == FINAL] == []
    # the scored 初审评估 is left alone and reported
    assert all(expert in seated(st, FIRST, a) for a in first_apps)
    assert [x[:3] for x in still] == [(FIRST, a, expert) for a in sorted(first_apps)]
    assert "已有评分" in out and "未处理" in out
    rep = [e for e in entries(st, "replacement") if expert in e.entity]
    assert len(rep) == len(final_apps) and all(f"信用惩戒 #{pid}" in e.reason and "暂停抽取" in e.reason for e in rep)
    (mark,) = entries(st, "seat.barred")
    assert f'"penalty_id":{pid}' in mark.after
    verify_ok(st)


@APPROVE
def test_a_penalty_under_approve_waits_on_the_board_and_its_withdrawal_restores_the_seat(db):
    st, _, _ = db
    with st.write() as s:
        repo.update_round_settings(s, repo.get_round(s, "2026"), {"meetings": {FINAL: {"date": "2026-11-25"}}},
                                   user="张三")
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), FINAL)
    expert = sorted(set(seats.loc[seats.role == "member", "expert_id"]) - {FROM_DEC[1]})[0]
    from reviewer.app import pool as svc_pool
    import datetime as dt
    pid, lines = svc_pool.add_penalty("2026", expert_id=expert, kind="暂停抽取", start=dt.date(2026, 11, 20),
                                      end=dt.date(2026, 12, 31), reason="评审中泄露申报材料", evidence="", user="张三")
    assert any("专家库资格" in x and expert in x for x in lines)
    b = svc_responses.board("2026", FINAL)
    mine = b[b.expert_id == expert]
    assert set(mine["status_zh"]) == {"专家库资格受限"} and mine["needs_refill"].all()
    assert all(f"信用惩戒 #{pid}" in n for n in mine["note"])
    lines = svc_pool.withdraw(pid, "误录 recorded in error", "张三")
    assert any("已恢复" in x for x in lines)
    assert set(svc_responses.board("2026", FINAL).query("expert_id == @expert")["status"]) == {"invited"}
    verify_ok(st)


def test_under_a_random_draw_a_date_conflict_is_redrawn_keeping_the_cap_cli_recheck(drawn, tmp_path, capsys):
    """The meeting of a drawn stage moves (settings changed without the seats being checked, e.g. an
    older version): `reviewer responses recheck` marks the seats and 补抽 redraws them from the draw's
    seed, only when at least ceil(1/q) candidates pass the checker (seat_refill's cap), audited."""
    import datetime as dt
    import json
    import math
    st = copy_of(drawn, tmp_path)
    url = str(st.engine.url)
    try:
        with st.read() as s:
            r = repo.get_round(s, "2026")
            seats = repo.published_seats(s, r, FINAL)
            data = repo.load_data(s, repo.latest_import(s, r).id)
        ends = sorted((data.expert(e).available_until, e) for e in set(seats["expert_id"])
                      if data.expert(e).available_until is not None)
        assert ends, "the drawn panel has an expert with an availability window"
        day = ends[0][0] + dt.timedelta(days=1)
        gone = {e for u, e in ends if u < day}
        with st.write() as s:
            repo.update_round_settings(s, repo.get_round(s, "2026"), {"meetings": {FINAL: {"date": day.isoformat()}}},
                                       user="张三")
        code, out = run_cli(["responses", "recheck", "--round", "2026", "--db", url], capsys)
        assert code == 0, out
        assert f"待补抽 marked {len(seats[seats.expert_id.isin(gone)])}" in out
        redraws = [json.loads(e.after) for e in entries(st, "seat.redraw")]
        assert redraws and {x["leaving"] for x in redraws} <= gone
        for x in redraws:
            ok = [c for c, why in x["checked"] if why == "ok"]
            assert x["needed"] == math.ceil(1 / x["q"] - 1e-9) and len(ok) >= x["needed"] and x["pick"] == ok[0]
            assert data.expert(x["pick"]).available_until is None or data.expert(x["pick"]).available_until >= day
            assert f"{x['leaving']} → {x['pick']} (随机补抽" in out
        rep = [e for e in entries(st, "replacement")]
        assert len(rep) == len(redraws) and all("日期冲突" in e.reason for e in rep)
        with st.read() as s:
            now = repo.published_seats(s, repo.get_round(s, "2026"), FINAL)
        assert not (set(now["expert_id"]) & {x["leaving"] for x in redraws})
        verify_ok(st)
    finally:
        st.dispose()
