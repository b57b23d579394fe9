"""Life cycle of a centre: every transition, both revocation causes at their boundaries, replay."""
import datetime as dt
import json

import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.centres.evaluation import EvaluationResult, Scheme, build_deadline
from reviewer.centres.ledger import Ledger
from reviewer.centres.lifecycle import (ALLOWED, CentreLife, Event, IllegalTransition, State, build_period_overrun,
                                consecutive_fails, parse_event, parse_state, replay, replay_centre)
from reviewer.policy import load_policy

POL = load_policy()
SCHEME = Scheme.from_policy(POL)
D = dt.date


def ev(year, failed=False, met=False, cid="C1", date=None, score=None):
    score = score if score is not None else (40.0 if failed else 75.0)
    return EvaluationResult(cid, year, date or D(year, 12, 31), score, score, "不合格" if failed else "合格", failed,
                            True, 1.0 if met else 0.5, 0.5, met)


CENTRE = {"centre_id": "C1", "name": "广西测试制造业创新中心", "field": "机械", "build_start": D(2023, 3, 1), "state": "试点"}


def run(evals, as_of, events=(), centre=CENTRE, auto=True, policy=POL):
    ledger = Ledger(policy)
    refused = []
    life = replay_centre(centre, evals, SCHEME, ledger, as_of, events, auto, refused)
    return life, ledger, refused


# ----------------------------------------------------------------------------- the state machine

LEGAL = [(State.APPLIED, State.PILOT), (State.PILOT, State.RECOGNISED), (State.PILOT, State.REVOKED),
         (State.RECOGNISED, State.NATIONAL), (State.RECOGNISED, State.REVOKED)]


def life_in(state: State) -> CentreLife:
    c = CentreLife("C1", "机械")
    path = {State.APPLIED: [], State.PILOT: [State.PILOT], State.RECOGNISED: [State.PILOT, State.RECOGNISED],
            State.REVOKED: [State.PILOT, State.REVOKED], State.NATIONAL: [State.PILOT, State.RECOGNISED, State.NATIONAL]}
    for i, s in enumerate(path[state]):
        c.transition(s, D(2023 + i, 1, 1), f"step {i}")
    assert c.state == state
    return c


@pytest.mark.parametrize("src,dst", LEGAL)
def test_every_legal_transition_is_recorded_with_reason_and_date(src, dst):
    c = life_in(src)
    t = c.transition(dst, D(2030, 5, 6), "依据 某某批复", "manual", {"doc": "桂工信〔2030〕1号"})
    assert c.state == dst
    assert (t.from_state, t.to_state, t.date, t.reason) == (src.value, dst.value, D(2030, 5, 6), "依据 某某批复")
    assert c.history[-1] is t
    assert t.as_dict()["evidence"] == {"doc": "桂工信〔2030〕1号"}


ILLEGAL = [(a, b) for a in State for b in State if (a, b) not in LEGAL]


@pytest.mark.parametrize("src,dst", ILLEGAL)
def test_every_illegal_transition_is_refused_with_a_message(src, dst):
    c = life_in(src)
    before = list(c.history)
    with pytest.raises(IllegalTransition) as e:
        c.transition(dst, D(2030, 1, 1), "try")
    msg = str(e.value)
    assert f"{src.value} {src.en} -> {dst.value} {dst.en}" in msg and "not allowed" in msg
    assert ("final" in msg) == (not ALLOWED[src])
    assert c.state == src and c.history == before
    assert isinstance(e.value, UserError)


def test_transition_needs_a_reason_and_chronological_dates():
    c = life_in(State.PILOT)
    with pytest.raises(IllegalTransition, match="needs a reason"):
        c.transition(State.RECOGNISED, D(2025, 1, 1), "  ")
    with pytest.raises(IllegalTransition, match="before the previous transition"):
        c.transition(State.RECOGNISED, D(2022, 1, 1), "late entry")
    assert c.state == State.PILOT


def test_parse_state_aliases_and_error():
    assert parse_state("recognized") == State.RECOGNISED
    assert parse_state("取消试点资格") == State.REVOKED
    assert parse_state(" 国家级 ") == State.NATIONAL
    with pytest.raises(UserError, match="expected one of"):
        parse_state("毕业")


def test_life_serialises_to_plain_json_and_back():
    c = life_in(State.NATIONAL)
    c.build_start = D(2023, 1, 1)
    d = json.loads(json.dumps(c.as_dict(), ensure_ascii=False))
    back = CentreLife.from_dict(d)
    assert back.state == State.NATIONAL and back.history == c.history and back.deadline == D(2026, 1, 1)
    assert back.state_on(D(2024, 6, 1)) == State.RECOGNISED


# ----------------------------------------------------------------------------- cause 1: consecutive fails

def test_consecutive_fails_boundary_is_the_second_fail():
    assert consecutive_fails([ev(2023, True)], 2) is None                                   # one fail: no
    assert consecutive_fails([ev(2023, True), ev(2024, False), ev(2025, True)], 2) is None  # not consecutive
    hit = consecutive_fails([ev(2023, False), ev(2024, True), ev(2025, True)], 2)
    assert hit.year == 2025                                                                 # the second one
    # order of the input does not matter; a third fail still points at the second
    assert consecutive_fails([ev(2025, True), ev(2024, True), ev(2023, True)], 2).year == 2024
    assert consecutive_fails([{"year": 2023, "failed": True}, {"year": 2024, "failed": True}], 3) is None


def test_replay_revokes_on_the_second_consecutive_fail_not_the_first():
    evals = [ev(2023), ev(2024, True), ev(2025, True)]
    life, _, _ = run(evals, as_of=D(2025, 12, 30))          # only the first fail is known
    assert life.state == State.PILOT
    life, _, _ = run(evals, as_of=D(2025, 12, 31))          # the second fail: revoked that day
    assert life.state == State.REVOKED
    t = life.history[-1]
    assert (t.cause, t.date) == ("consecutive_fails", D(2025, 12, 31))
    assert "2024" in t.reason and "2025" in t.reason and "连续 2 次考核不合格" in t.reason


def test_fail_pass_fail_is_not_revoked():
    life, _, _ = run([ev(2023, True), ev(2024), ev(2025, True)], as_of=D(2025, 12, 31))
    assert life.state == State.PILOT


def test_recognised_centre_revoked_after_two_consecutive_fails():
    evals = [ev(2023), ev(2024, met=True), ev(2025, True), ev(2026, True)]
    life, _, _ = run(evals, as_of=D(2027, 1, 1))
    assert [t.to_state for t in life.history] == ["试点", "认定", "撤销"]
    assert life.history[-1].cause == "consecutive_fails"


# ----------------------------------------------------------------------------- cause 2: build period overrun

def test_build_deadline_is_the_same_calendar_day_three_years_on():
    assert build_deadline(D(2023, 3, 1)) == D(2026, 3, 1)
    assert build_deadline(D(2024, 2, 29)) == D(2027, 2, 28)


def test_build_period_overrun_exactly_three_years_vs_three_years_and_a_day():
    start = D(2023, 3, 1)
    assert build_period_overrun(start, D(2026, 3, 1), 3) is False            # exactly 3 years: still within
    assert build_period_overrun(start, D(2026, 3, 2), 3) is True             # 3 years and a day: overrun
    assert build_period_overrun(start, D(2026, 3, 2), 3, targets_met_on=D(2026, 3, 1)) is False  # met on the last day
    assert build_period_overrun(start, D(2026, 3, 2), 3, targets_met_on=D(2026, 3, 2)) is True   # met a day late


def test_replay_overrun_boundary():
    # evaluation of the deadline year dated before the deadline, targets not met
    evals = [ev(2023), ev(2024), ev(2026, date=D(2026, 2, 1))]
    life, _, _ = run(evals, as_of=D(2026, 3, 1))                            # exactly 3 years
    assert life.state == State.PILOT
    life, _, _ = run(evals, as_of=D(2026, 3, 2))                            # 3 years and a day
    assert life.state == State.REVOKED
    t = life.history[-1]
    assert (t.cause, t.date) == ("build_overrun", D(2026, 3, 2))
    assert "2023-03-01 至 2026-03-01" in t.reason and "未达到考核要求" in t.reason


def test_overrun_waits_for_the_evaluation_of_the_deadline_year():
    evals = [ev(2023), ev(2024), ev(2025)]
    life, _, _ = run(evals, as_of=D(2026, 6, 1))                 # deadline 2026-03-01 passed, 2026 evaluation not due
    assert life.state == State.PILOT and "decides" in life.notes[-1]
    life, _, _ = run(evals, as_of=D(2026, 12, 31))               # due and missing: not met -> revoked
    assert life.state == State.REVOKED and life.history[-1].date == D(2026, 3, 2)
    assert "latest evaluation 2025" in life.history[-1].reason


def test_targets_met_in_the_deadline_year_recognises_not_revokes():
    evals = [ev(2023), ev(2024), ev(2025), ev(2026, met=True)]   # met in 2026, deadline 2026-03-01
    life, ledger, _ = run(evals, as_of=D(2027, 1, 31))
    assert life.state == State.RECOGNISED
    assert life.history[-1].cause == "final_assessment" and life.history[-1].date == D(2026, 12, 31)
    assert [e.status for e in ledger.entries] == ["granted"]
    # met only the year after the deadline year: too late
    late = [ev(2023), ev(2024), ev(2025), ev(2026), ev(2027, met=True)]
    life, ledger, _ = run(late, as_of=D(2028, 1, 31))
    assert life.state == State.REVOKED and life.history[-1].cause == "build_overrun"
    assert "after revocation" in " ".join(life.notes) and ledger.entries == []


def test_failed_evaluation_with_targets_met_is_not_recognised():
    life, _, _ = run([ev(2023), ev(2024, failed=True, met=True)], as_of=D(2025, 1, 1))
    assert life.state == State.PILOT


# ----------------------------------------------------------------------------- explicit events

def test_explicit_events_and_refusals():
    events = [Event("C1", D(2023, 3, 1), State.PILOT, "桂工信批复"),
              Event("C1", D(2025, 6, 1), State.RECOGNISED, "终期考核合格"),
              Event("C1", D(2025, 9, 1), State.NATIONAL, "工信部批复", 8_000_000),
              Event("C1", D(2025, 10, 1), State.RECOGNISED, "重复登记")]
    life, ledger, refused = run([], as_of=D(2026, 1, 1), events=events, auto=False)
    assert life.state == State.NATIONAL
    assert [t.to_state for t in life.history] == ["试点", "认定", "国家级"]
    assert len(refused) == 1 and "国家级 national -> 认定 recognised" in refused[0]
    assert [(e.kind, e.amount) for e in ledger.entries] == [("new_centre", 2_000_000), ("national", 8_000_000)]


def test_no_auto_recognise_leaves_a_note():
    life, _, _ = run([ev(2023), ev(2024), ev(2025, met=True)], as_of=D(2026, 6, 1), auto=False)
    assert life.state == State.PILOT and "awaiting the final assessment" in life.notes[-1]


def test_parse_event():
    e = parse_event("C1,2026-09-30,国家级,工信部批复,10000000")
    assert (e.centre_id, e.date, e.to_state, e.amount) == ("C1", D(2026, 9, 30), State.NATIONAL, 1e7)
    with pytest.raises(UserError, match="expected CENTRE_ID"):
        parse_event("C1,2026-09-30")
    with pytest.raises(UserError, match="YYYY-MM-DD"):
        parse_event("C1,30/9/2026,国家级,x")


def test_replay_all_centres_and_unknown_event_centre():
    centres = pd.DataFrame([CENTRE, {**CENTRE, "centre_id": "C2", "field": "汽车"}])
    out = replay(centres, [ev(2023, True), ev(2024, True), ev(2023, cid="C2")], POL, D(2025, 1, 1),
                 [Event("C9", D(2024, 1, 1), State.NATIONAL, "x")])
    assert out.lives["C1"].state == State.REVOKED and out.lives["C2"].state == State.PILOT
    assert any("unknown centre" in r for r in out.refused)
    assert set(out.states()["state"]) == {"撤销", "试点"}
    json.dumps(out.as_dict(), ensure_ascii=False)


def test_unknown_build_start_still_applies_consecutive_fails_and_explicit_pilot_sets_the_period():
    centre = {"centre_id": "C1", "name": "x", "field": "机械", "build_start": None}
    life, _, _ = run([ev(2023, True), ev(2024, True)], as_of=D(2025, 1, 1), centre=centre)
    assert [t.to_state for t in life.history] == ["试点", "撤销"] and life.history[0].date == D(2023, 1, 1)
    life, _, _ = run([], as_of=D(2026, 12, 31), centre=centre,
                     events=[Event("C1", D(2023, 5, 1), State.PILOT, "批复")])
    assert life.deadline == D(2026, 5, 1)
    assert life.state == State.REVOKED and life.history[-1].cause == "build_overrun"
