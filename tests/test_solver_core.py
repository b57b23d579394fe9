"""Property tests of the panel optimiser: hard rules hold, infeasibility is explained."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import PanelProblem, SolveOptions, check_plan, solve
from solver.synthetic import CATEGORIES, guangxi_round, small_random

FAST = SolveOptions(time_limit=20, num_workers=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_every_plan_satisfies_every_hard_rule(seed, rules_on):
    rng = np.random.default_rng(seed)
    p = small_random(rng, rules_on=rules_on)
    plan = solve(p, FAST)
    assert plan.status in ("OPTIMAL", "INFEASIBLE")
    if plan.feasible:
        assert check_plan(p, plan) == []
        assert plan.path in ("min_cost_flow", "lp_integral", "milp_highs+lp_guide")
        assert abs(plan.objective - plan.breakdown["total"]) < 1e-6
    else:
        assert plan.diagnostics, "an infeasible plan must say why"
        for d in plan.diagnostics:
            assert d.message_zh and d.message_en


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_cp_sat_path_agrees_with_lp_path(seed):
    rng = np.random.default_rng(seed)
    p = small_random(rng, E=45, A=2, n_stages=2)
    a = solve(p, FAST)
    b = solve(p, replace(FAST, method="cp_sat", time_limit=4))
    assert a.status == b.status or "UNKNOWN" in (a.status, b.status) or b.status == "FEASIBLE"
    if b.feasible:
        assert check_plan(p, b) == []
        assert b.objective <= a.objective + 1e-6
    if a.status == b.status == "OPTIMAL":
        assert abs(a.objective - b.objective) < 1e-4 * max(1, abs(a.objective))
        assert check_plan(p, b) == []


def test_checker_catches_broken_plans():
    p = guangxi_round(12, 160, (12, 6), (5, 7), seed=3)
    plan = solve(p, FAST)
    assert plan.status == "OPTIMAL" and check_plan(p, plan) == []
    sp0 = plan.stages[0]
    # drop a seat -> panel size; duplicate the stage-0 pair in stage 1 -> independence
    broken = replace(sp0, experts=sp0.experts[1:], applications=sp0.applications[1:])
    bad = replace(plan, stages=(broken,) + plan.stages[1:])
    rules = {v.rule for v in check_plan(p, bad)}
    assert "panel_size" in rules
    s1 = plan.stages[1]
    a = int(s1.applications[0])
    e0 = int(sp0.experts[sp0.applications == a][0])
    ex = s1.experts.copy()
    ex[0] = e0
    bad2 = replace(plan, stages=(sp0, replace(s1, experts=ex)))
    assert "stage_independence" in {v.rule for v in check_plan(p, bad2)}
    # a conflicted pair
    exc = np.zeros((p.n_experts, p.n_applications), dtype=bool)
    exc[int(sp0.experts[0]), int(sp0.applications[0])] = True
    assert "excluded_pairs" in {v.rule for v in check_plan(replace(p, excluded=exc), plan)}


@pytest.mark.parametrize("seed", range(4))
def test_missing_category_is_named(seed):
    p = guangxi_round(8, 120, (8, 4), (5, 7), seed=seed)
    fin = CATEGORIES.index("金融")
    target = 5
    exc = np.asarray(p.excluded).copy()
    exc[np.asarray(p.expert_category) == fin, target] = True
    p = replace(p, excluded=exc)
    plan = solve(p, FAST)
    assert plan.status == "INFEASIBLE"
    hits = [d for d in plan.diagnostics
            if d.rule == "category_coverage" and d.application == target and d.category == fin]
    assert hits, plan.diagnostics
    assert "金融" in hits[0].message_zh and hits[0].counts["category_eligible"] == 0


def test_contradictory_rules_reported():
    p = guangxi_round(6, 100, (6,), (5,), seed=1, relax_small_panels=False)
    plan = solve(p, FAST)
    assert plan.status == "INFEASIBLE"
    assert any(d.rule == "panel_size" and d.counts.get("required", 0) > 5 for d in plan.diagnostics)


def test_capacity_shortfall_reported():
    rng = np.random.default_rng(0)
    S = rng.random((10, 12))
    p = PanelProblem.plain(S, demand=3, max_load=3)  # 30 < 36 seats
    plan = solve(p, FAST)
    assert plan.status == "INFEASIBLE"
    assert any(d.rule == "expert_load" and d.counts["capacity"] == 30 for d in plan.diagnostics)


def test_locks_and_forbids_respected():
    p = guangxi_round(10, 150, (10, 5), (5, 7), seed=2)
    base = solve(p, FAST)
    s0 = base.stages[0]
    a = int(s0.applications[0])
    forbid = (0, int(s0.experts[0]), a)
    # lock someone not chosen but eligible and of the same category as a chosen non-chair member
    plan = solve(replace(p, forbids=(forbid,)), FAST)
    assert plan.feasible and check_plan(replace(p, forbids=(forbid,)), plan) == []
    assert forbid[1] not in plan.stages[0].panel(a)
    lockp = replace(p, locks=((0, int(s0.experts[0]), int(s0.applications[-1])),))
    plan2 = solve(lockp, FAST)
    if plan2.feasible:
        assert check_plan(lockp, plan2) == []


def test_fixed_earlier_stage_blocks_pairs():
    p = guangxi_round(10, 150, (10, 5), (5, 7), seed=4)
    full = solve(p, FAST)
    s0 = full.stages[0]
    fixed = tuple((0, int(e), int(a)) for e, a in zip(s0.experts, s0.applications))
    p2 = replace(p, fixed=fixed)
    plan = solve(p2, FAST)  # solves stage 1 only
    assert plan.feasible and check_plan(p2, plan) == []
    assert plan.stages[0].pairs() == s0.pairs()


def test_sparse_affinity_candidates_only():
    S = sp.random(30, 20, density=0.5, random_state=1, format="csr")
    p = PanelProblem.plain(S, demand=2, max_load=3)
    plan = solve(p, FAST)
    assert plan.path == "min_cost_flow"
    if plan.feasible:
        assert check_plan(p, plan) == []
