"""The one planning service: typed parameters validated when they are made, recorded and read back
unchanged; plan, repair and the check of a panels table build the same problem."""
from __future__ import annotations

import pytest

from reviewer.errors import UserError
from reviewer.panels.service import PlanParams, check_seats, plan, repair
from reviewer.store.runs import compute_plan
from solver.check import check_plan
from tests.factories import policy
from tests.test_planning import small_round

P = policy()
STAGES = tuple(P.stages.order)


@pytest.mark.parametrize("values, match", [
    ({"stages": ["初审"]}, "unknown stage '初审'"),
    ({"locks": [("复审", "X1", "A1")]}, r"locks: 未知阶段 unknown stage '复审'"),
    ({"forbids": [("初审评估", "X1")]}, "forbids"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 1.5}, "seed=1.5"),
    ({"time_limit": 0}, "time_limit=0"),
    ({"workers": 0}, "workers=0"),
    ({"randomize": "yes"}, "randomize='yes'"),
    ({"q": 1.5}, "q=1.5"),
    ({"review_decisions": [("A1", "E1", "maybe", "")]}, "review_decisions"),
])
def test_bad_parameters_are_refused_when_made(values, match):
    with pytest.raises(UserError, match=match):
        PlanParams.for_policy(P, **values)


def test_parameters_default_to_every_stage_and_round_trip_through_the_record():
    assert PlanParams.for_policy(P).stages == STAGES
    p = PlanParams.for_policy(P, ["认定评审"], seed=7, randomize=True, time_limit=20, workers=1,
                              locks=[["认定评审", "X001", "A1"]], review_decisions=[("A1", "E7", "pass", "核实")])
    assert p.q == P.random_draw.max_pair_probability   # the policy's cap, recorded with the run
    assert p.locks == (("认定评审", "X001", "A1"),) and isinstance(p.time_limit, float)
    rec = p.to_record()
    assert rec["review_decisions"] == [{"application_id": "A1", "rule": "E7", "decision": "pass", "reason": "核实"}]
    assert PlanParams.from_record(P, {**rec, "waivers": []}) == p
    # a run recorded before q and workers were recorded
    old = {k: v for k, v in rec.items() if k not in ("q", "workers")}
    assert PlanParams.from_record(P, old) == p


def test_store_records_and_the_file_mode_plan_the_same_seats():
    data = small_round()
    params = PlanParams.for_policy(P, seed=3, time_limit=20, workers=1)
    a = plan(data, P, params)
    b = compute_plan(data, P, params.to_record())
    assert a.plan.feasible and check_plan(a.inp.problem, a.plan) == []
    assert a.panels.equals(b.panels)


def test_staff_decisions_reach_screening_and_no_eligible_application_is_a_clear_error():
    data = small_round()
    # university-led applications: E1 (revenue) needs review, so the staff decide it
    data = data.model_copy(update={"applications": [a.model_copy(update={"lead_unit_type": "高校"})
                                                    for a in data.applications]})
    with pytest.raises(UserError, match="nothing to plan"):      # needs review is not eligible
        plan(data, P, PlanParams.for_policy(P, time_limit=5))
    failed = [(a.application_id, "E1", "fail", "复核不通过") for a in data.applications]
    with pytest.raises(UserError, match="nothing to plan"):
        plan(data, P, PlanParams.for_policy(P, time_limit=5, review_decisions=failed))
    passed = [(a.application_id, "E1", "pass", "高校牵头，营收条件不适用") for a in data.applications]
    res = plan(data, P, PlanParams.for_policy(P, time_limit=20, review_decisions=passed))
    assert res.plan.feasible and set(res.panels["application_id"]) == {a.application_id for a in data.applications}


def test_the_checker_accepts_a_plan_read_back_and_names_a_broken_rule():
    data = small_round()
    res = plan(data, P, PlanParams.for_policy(P, seed=1, time_limit=20, workers=1))
    seats = res.panels[["stage", "application_id", "expert_id", "role"]]
    ok = check_seats(data, P, seats)
    assert ok.ok and sorted(ok.result.stages) == sorted(STAGES)
    assert ok.result.panels[["stage", "application_id", "expert_id", "role"]].sort_values(
        ["stage", "application_id", "expert_id"], ignore_index=True).equals(
        seats.sort_values(["stage", "application_id", "expert_id"], ignore_index=True))
    bad = seats.copy()
    row = bad.index[(bad["application_id"] == "A0") & (bad["role"] == "member")][0]
    bad.loc[row, "expert_id"] = "X000"     # X000 works for A0's lead unit
    broken = check_seats(data, P, bad)
    assert not broken.ok and "excluded_pairs" in {v.rule for v in broken.violations}
    with pytest.raises(UserError, match="unknown stage"):
        check_seats(data, P, bad.assign(stage="复审"))


def test_repair_goes_through_the_same_problem():
    data = small_round()
    res = plan(data, P, PlanParams.for_policy(P, ["认定评审"], time_limit=20, workers=1))
    seat = res.panels[res.panels["role"] == "member"].iloc[0]
    fixed, rep = repair(data, P, res.panels, [("认定评审", seat["expert_id"], seat["application_id"])])
    assert rep.changed_seats == 1 and fixed.stages == ["认定评审"]
    assert check_plan(fixed.inp.problem, fixed.plan, stages=[2]) == []
