"""A stage's meeting date changed in the round settings after planning or publication (issue 16): the
plan made for the old date is stale (publishing it is refused until re-planned or confirmed), and the
published seats of experts not available on the new date are flagged on the response board (store,
CLI, app)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from reviewer.app import responses as svc_responses
from reviewer.app import store as app_store
from reviewer.store import publishing, repo, seat_responses
from reviewer.store.runs import run_planning
from tests.test_store_support import DEMO, demo_store, run_cli

FINAL, SITE, FIRST = "认定评审", "现场考察", "初审评估"
# the demo pool's availability windows (experts.xlsx): ZJ0047 2026-11-10..2026-11-28, ZJ0318 from 2026-12-01;
# both sit on demo 认定评审 panels (demo_panels.csv)
UNTIL_NOV, FROM_DEC = ("GX2026-021", "ZJ0047"), ("GX2026-009", "ZJ0318")


def unavailable_on(day: str) -> set[str]:
    """The demo 认定评审 panel members whose availability window (experts.xlsx) excludes `day`: the
    expectation computed from the data files, independently of the board's code."""
    experts = pd.read_excel(DEMO / "experts.xlsx", dtype=str)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str)
    seated = set(panels.loc[panels["阶段"] == FINAL, "专家编号"])
    out = set()
    for x in experts[experts["专家编号"].isin(seated)].itertuples(index=False):
        start, end = str(x.可用起始日期)[:10], str(x.可用截止日期)[:10]
        if (start not in ("nan", "") and day < start) or (end not in ("nan", "") and day > end):
            out.add(x.专家编号)
    return out


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The demo panels recorded as one run (both stages, no meeting date yet) and 认定评审 published from it."""
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    app_store._STORES.clear()
    st = demo_store(url)
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


def set_date(st, stage, day):
    with st.write() as s:
        repo.update_round_settings(s, repo.get_round(s, "2026"), {"meetings": {stage: {"date": day}}}, user="张三",
                                   reason="会议改期")


def flagged(st, stage=FINAL):
    with st.read() as s:
        b = seat_responses.board(s, repo.get_round(s, "2026"), stage)
    return b, {(x.application_id, x.expert_id) for x in b[b["unavailable"]].itertuples(index=False)}


def test_a_new_meeting_date_flags_exactly_the_seats_of_experts_unavailable_that_day(db):
    st, _, _ = db
    b, bad = flagged(st)
    assert bad == set() and not b["unavailable"].any()          # no date yet: nothing to flag
    set_date(st, FINAL, "2026-12-15")
    b, bad = flagged(st)
    assert bad == {UNTIL_NOV}
    row = b[(b.application_id == UNTIL_NOV[0]) & (b.expert_id == UNTIL_NOV[1])].iloc[0]
    assert "2026-12-15" in row.schedule_note and "2026-11-28" in row.schedule_note
    assert seat_responses.summary(b)["unavailable"] == 1
    set_date(st, FINAL, "2026-11-25")                           # moved again: the other expert's window
    assert flagged(st)[1] == {FROM_DEC}


def test_the_board_in_the_cli_and_the_app_shows_the_flag(db, capsys):
    st, url, _ = db
    set_date(st, FINAL, "2026-12-15")
    code, out = run_cli(["responses", "--round", "2026", "--stage", FINAL, "--db", url], capsys)
    assert code == 0 and "新日期不可参加 unavailable on the day 1" in out
    line = next(x for x in out.splitlines() if UNTIL_NOV[1] in x and UNTIL_NOV[0] in x)
    assert "UNAVAILABLE" in line and "2026-12-15" in line
    b = svc_responses.board("2026", FINAL)
    assert "新日期不可参加" in b.loc[b.expert_id == UNTIL_NOV[1], "flags"].iloc[0]
    assert b.iloc[0]["expert_id"] == UNTIL_NOV[1]                # what needs staff comes first


def test_a_date_changed_after_planning_makes_the_plan_stale(db):
    st, _, run_id = db
    set_date(st, SITE, "2026-12-10")            # the run held 现场考察 without a date
    with st.write() as s, pytest.raises(publishing.StalePlan, match="会议日期.*现场考察.*2026-12-10"):
        publishing.publish_run(s, repo.get_round(s, "2026"), SITE, run_id, user="张三", reason="发布")


def test_a_planned_date_moved_is_stale_and_moving_it_back_is_not(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'p.sqlite'}")
    try:
        set_date(st, FIRST, "2026-12-20")
        run, _ = run_planning(st, "2026", user="张三", stages=[FIRST], seed=3, time_limit=30, workers=1)
        assert run.status in ("OPTIMAL", "FEASIBLE")
        set_date(st, FIRST, "2026-12-22")
        with st.read() as s:
            r = repo.get_round(s, "2026")
            stale = publishing.stale_reasons(s, r, repo.get_run(s, run.id))
        assert any("2026-12-20" in x and "2026-12-22" in x and FIRST in x for x in stale), stale
        with st.write() as s, pytest.raises(publishing.StalePlan):
            publishing.publish_run(s, repo.get_round(s, "2026"), FIRST, run.id, user="张三", reason="发布")
        set_date(st, FIRST, "2026-12-20")
        with st.read() as s:
            assert publishing.stale_reasons(s, repo.get_round(s, "2026"), repo.get_run(s, run.id)) == []
    finally:
        st.dispose()


def test_stage_start_follows_the_new_date(db):
    st, _, _ = db
    set_date(st, FINAL, "2026-12-15")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        start = seat_responses.stage_start(r, repo.round_policy(r), FINAL)
    assert start == dt.datetime(2026, 12, 15, 1, 0)


def test_after_the_meeting_moved_another_seat_is_still_refilled_automatically(db):
    """The flagged seats break availability already; the minimal repair would move them too, but a
    decline elsewhere is one seat: it is refilled alone, checked like any change (the flagged seats
    stay for staff to handle)."""
    st, _, _ = db
    set_date(st, FINAL, "2027-01-05")          # outside some panel members' availability windows
    _, bad = flagged(st)
    assert {e for _, e in bad} == unavailable_on("2027-01-05") != set()
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), FINAL)
    app_id = "GX2026-003"
    leaving = sorted(seats.loc[(seats.application_id == app_id) & (seats.role == "member"), "expert_id"])[0]
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "2026"), leaving, FINAL, "decline", user=leaving, reason="出差",
                              application_id=app_id, now=dt.datetime(2026, 12, 1))
    from reviewer.store import seat_refill
    rep = seat_refill.refill_open(st, "2026", FINAL)
    assert [p.leaving for p in rep.done] == [leaving], rep.pending
    assert flagged(st)[1] == bad                # the flagged seats were not moved behind the staff's back
