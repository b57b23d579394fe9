"""The planner on a tie-heavy round (issue 14 item 0): the demo round with its expert pool copied
(benchmarks/duplicated_round.py), three stages, every rule, through the planning service as the CLI
calls it. Identical experts are solved as one class (solver.symmetry) and split back: the plan is
proven optimal, passes the checker, and has the plain model's optimum."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.pipeline import demo_policy
from reviewer.intake.io import load_round_from
from reviewer.panels.problem import build_problem
from reviewer.panels.service import solve_round
from reviewer.policy import load_policy
from reviewer.screening.eligibility import screen
from solver import SolveOptions, check_plan, solve

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("duplicated_round", ROOT / "benchmarks" / "duplicated_round.py")
dup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dup)


@pytest.fixture(scope="module")
def doubled():
    policy = demo_policy(load_policy())
    base, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    data = dup.duplicated_round(base, 1, 2)  # every expert twice: 29 applications x 800 experts
    eligible = screen(data, policy).eligible_ids()
    return data, build_problem(data, detect_conflicts(data, policy), policy,
                               stage_applications={s: eligible for s in policy.stages.order}, cache_dir=None)


def test_doubled_pool_is_proven_optimal_and_split_per_expert(doubled):
    data, inp = doubled
    plan = solve_round(inp, time_limit=60)
    assert plan.status == "OPTIMAL" and plan.gap == 0.0
    assert check_plan(inp.problem, plan) == []
    sym = plan.info["symmetry"]
    assert sym["experts"] == 800 and sym["classes"] == 400 and sym["largest_class"] == 2
    # both copies of an expert are used, with loads that differ by at most one in a stage
    ids = [e.expert_id for e in data.experts]
    copy_of = {i: ids.index(i.split("~")[0]) for i in ids}
    for s in range(len(inp.problem.stages)):
        load = plan.expert_load[s]
        for e, i in enumerate(ids):
            if "~" in i:
                assert abs(int(load[e]) - int(load[copy_of[i]])) <= 1
    assert (plan.expert_load[:, 400:].sum() > 0)


def test_doubled_pool_has_the_plain_models_optimum(doubled):
    _data, inp = doubled
    a = solve(inp.problem, SolveOptions(time_limit=60))
    b = solve(inp.problem, SolveOptions(time_limit=60, symmetry=False))
    assert a.status == b.status == "OPTIMAL"
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


@pytest.mark.slow
def test_200x2800_duplicated_round_proven_optimal():
    """Issue 14's 200 x 2,800 round (applications x5, experts x7): proven optimal within the CLI's default
    time limit (the benchmark times it: benchmarks/results/duplicated.md), every rule checked."""
    policy = demo_policy(load_policy())
    base, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    data = dup.duplicated_round(base, *dup.SIZES["200x2800"])
    eligible = screen(data, policy).eligible_ids()
    inp = build_problem(data, detect_conflicts(data, policy), policy,
                        stage_applications={s: eligible for s in policy.stages.order}, cache_dir=None)
    plan = solve_round(inp, time_limit=30)
    assert plan.status == "OPTIMAL" and plan.gap == 0.0
    assert plan.info["symmetry"]["classes"] == 400 and plan.info["symmetry"]["largest_class"] == 7
    assert check_plan(inp.problem, plan) == []
