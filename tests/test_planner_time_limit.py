"""The planner out of time (issue 14 item 0): a plan found is returned with its bound and gap, never
"NO PLAN" (the restricted flow gives one when the LP and MIP found none); UNKNOWN says plainly that
no plan was found in the time and what to try. The clock is simulated (the LP "runs out of time" at
a chosen call) so the tests do not depend on the machine."""
from pathlib import Path

import numpy as np
import pytest

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.pipeline import demo_policy
from reviewer.intake.io import load_round_from
from reviewer.panels.problem import build_problem
from reviewer.panels.service import outcome_lines, result_of, solve_round
from reviewer.policy import load_policy
from reviewer.screening.eligibility import screen
from solver import SolveOptions, check_plan, lpguide, solve
from solver.compile import compile_problem
from solver.flow import FlowResult, non_flow_parts, restricted_flow, solve_flow
from solver.plans import make_plan
from solver.synthetic import guangxi_round
from tests.test_planning import P, small_round

ROOT = Path(__file__).resolve().parents[1]
TIMED_OUT = ("TIME_LIMIT", float("nan"), None, None)


@pytest.fixture(scope="module")
def three_stages():
    return guangxi_round(20, 300, (20, 8, 4), (5, 5, 7), seed=3)


def _lp_times_out_at(monkeypatch, call: int):
    """solve_lp runs out of time from its `call`-th call on."""
    real = lpguide.solve_lp
    calls = []

    def fake(lm, time_limit=None):
        calls.append(1)
        return TIMED_OUT if len(calls) >= call else real(lm, time_limit=time_limit)
    monkeypatch.setattr(lpguide, "solve_lp", fake)
    return calls


def _no_restricted_flow(monkeypatch):
    monkeypatch.setattr(lpguide, "restricted_flow",
                        lambda comp, first, parts, cost=None: FlowResult("INFEASIBLE", np.zeros(0, int), (), 0, 0))


@pytest.fixture(scope="module")
def exact(three_stages):
    p = solve(three_stages, SolveOptions(time_limit=60))
    assert p.status == "OPTIMAL"
    return p


def test_no_lp_in_time_still_gives_a_plan_from_the_restricted_flow(three_stages, exact, monkeypatch):
    _lp_times_out_at(monkeypatch, 1)
    p = solve(three_stages, SolveOptions(time_limit=30))
    assert p.status == "FEASIBLE" and p.path == "restricted_flow" and p.info["last_resort"] == "restricted_flow"
    assert check_plan(three_stages, p) == []
    # its bound is the flow relaxation's value: above the optimum; the plan is below it
    assert p.objective <= exact.objective + 1e-6 <= p.bound + 2e-6 and 0 <= p.gap < 0.05


def test_no_plan_in_time_says_so_and_what_to_try(three_stages, monkeypatch):
    _lp_times_out_at(monkeypatch, 1)
    _no_restricted_flow(monkeypatch)
    p = solve(three_stages, SolveOptions(time_limit=30))
    assert p.status == "UNKNOWN" and not p.feasible
    [d] = p.diagnostics
    assert d.rule == "time_limit"
    assert "30 秒内未找到方案" in d.message_zh and "并未证明无解" in d.message_zh
    assert "No plan was found within the time limit of 30 s" in d.message_en
    assert "--time-limit 300" in d.message_en and "--stage" in d.message_en
    names = [s.name for s in three_stages.stages]
    assert all(n in d.message_en for n in names)  # the stages by name, not by index


def test_lp_stopped_by_the_clock_still_gives_its_plan_with_a_valid_bound(three_stages, exact, monkeypatch):
    # a thin first restricted LP (top 4 candidates per group) so that column generation needs more
    # rounds; the second LP "runs out of time"
    real_rank = lpguide._rank_in_group
    monkeypatch.setattr(lpguide, "_rank_in_group", lambda comp, cost: real_rank(comp, cost) * 10)
    calls = _lp_times_out_at(monkeypatch, 2)
    p = solve(three_stages, SolveOptions(time_limit=60))
    assert len(calls) >= 2 and p.info["lp_status"] == "TIME_LIMIT"
    assert p.feasible and p.status in ("OPTIMAL", "FEASIBLE")
    assert check_plan(three_stages, p) == []
    # the Lagrangian bound of the last LP is a true bound: above the optimum, the plan below it
    assert p.objective <= exact.objective + 1e-6
    assert p.bound >= exact.objective - 1e-6 and np.isfinite(p.gap) and p.gap >= 0


def test_unknown_outcome_lines_carry_the_reason(monkeypatch):
    data = small_round()
    inp = build_problem(data, detect_conflicts(data, P), P, cache_dir=None)
    _lp_times_out_at(monkeypatch, 1)
    _no_restricted_flow(monkeypatch)
    plan = solve_round(inp, time_limit=5)
    lines = outcome_lines(result_of(inp, plan, P, list(P.stages.order)))
    assert lines[0].strip().startswith("时限内未找到方案 NO PLAN FOUND in the time limit (UNKNOWN")
    assert len(lines) == 2 and "未找到方案" in lines[1] and "--time-limit" in lines[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_restricted_flow_plans_meet_every_rule(seed):
    problem = guangxi_round(15, 250, (15, 6, 3), (5, 5, 7), seed=seed)
    comp = compile_problem(problem)
    parts = non_flow_parts(comp)
    assert parts.dropped  # the rules that break the flow are active
    relaxed = solve_flow(comp, parts=parts)
    res = restricted_flow(comp, relaxed, parts)
    assert res.status == "OPTIMAL"
    assert check_plan(problem, make_plan(comp, res.cols, "FEASIBLE", "restricted_flow")) == []
    assert res.objective_units <= relaxed.objective_units


def test_out_of_time_with_a_poor_plan_prefers_the_restricted_flow(monkeypatch):
    """The integer solve stopped by the clock with a poor incumbent: the restricted flow's plan (a few
    flows) is returned instead when it is better, still FEASIBLE with the LP's bound."""
    policy = demo_policy(load_policy())
    data, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    eligible = screen(data, policy).eligible_ids()
    problem = build_problem(data, detect_conflicts(data, policy), policy, cache_dir=None,
                            stage_applications={s: eligible for s in policy.stages.order}).problem
    exact = solve(problem, SolveOptions(time_limit=60))
    assert exact.status == "OPTIMAL" and exact.info["lp_fractional"] > 0  # the integer path runs
    comp = compile_problem(problem)
    parts = non_flow_parts(comp)
    poor = restricted_flow(comp, solve_flow(comp, parts=parts), parts,
                           cost=np.random.default_rng(0).integers(0, 10**6, comp.n_cols))
    assert poor.status == "OPTIMAL"
    poor_value = comp.int_objective(poor.cols)
    monkeypatch.setattr(lpguide, "_first_plan",
                        lambda comp, cost, cols, x, rc, tol, tl, t0, info:
                        (poor.cols, poor_value, False, np.ones(comp.n_cols, bool)))
    monkeypatch.setattr(lpguide, "_left", lambda tl, t0: 0.0)  # the clock has run out
    p = solve(problem, SolveOptions(time_limit=30))
    assert p.status == "FEASIBLE" and p.path == "restricted_flow" and p.info["restricted_flow_better"]
    assert check_plan(problem, p) == []
    assert poor_value / comp.scale < p.objective <= exact.objective + 1e-4 <= p.bound + 2e-4  # LP tolerance
