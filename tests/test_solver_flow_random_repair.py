"""Min-cost flow = LP optimum; randomized draws; repair."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from solver import PanelProblem, PanelRules, SolveOptions, StageSpec, check_plan, solve
from solver.randomized import build_lottery
from solver.repair import repair
from solver.synthetic import guangxi_round


def lp_optimum(S, mask, demand, load):
    E, A = S.shape
    ok = ~mask
    r, c = np.nonzero(ok)
    n = len(r)
    A_eq = sp.csr_matrix((np.ones(n), (c, np.arange(n))), shape=(A, n))
    A_ub = sp.csr_matrix((np.ones(n), (r, np.arange(n))), shape=(E, n))
    res = linprog(-S[r, c], A_ub=A_ub, b_ub=np.full(E, load), A_eq=A_eq, b_eq=np.full(A, demand),
                  bounds=(0, 1), method="highs")
    return -res.fun if res.status == 0 else None


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_min_cost_flow_equals_lp_optimum(seed):
    rng = np.random.default_rng(seed)
    E, A = int(rng.integers(5, 30)), int(rng.integers(3, 30))
    demand, load = int(rng.integers(1, 4)), int(rng.integers(1, 7))
    S = np.round(rng.random((E, A)) * (rng.random((E, A)) < 0.7), 3)
    mask = rng.random((E, A)) < 0.1
    plan = solve(PanelProblem.plain(S, demand, load, excluded=mask))
    lp = lp_optimum(S, mask, demand, load)
    if lp is None:
        assert plan.status == "INFEASIBLE"
        return
    assert plan.status == "OPTIMAL" and plan.path == "min_cost_flow"
    assert abs(plan.breakdown["affinity_sum"] - lp) <= 1e-6 * max(1, lp) + 1e-6


def test_category_slot_flow_is_exact():
    # panel of 5 with one of each of 5 categories: still a flow, equals the MILP optimum
    rng = np.random.default_rng(0)
    E, A = 60, 20
    S = rng.random((E, A))
    p = PanelProblem(rng.integers(5, size=E), tuple("abcde"), S,
                     (StageSpec("s", 5, np.arange(A), 5),), rules=PanelRules(min_per_category=1),
                     weights=replace(PanelProblem.plain(S, 1, 1).weights))
    a = solve(p)
    assert a.path == "min_cost_flow" and a.status == "OPTIMAL" and check_plan(p, a) == []
    from solver.compile import compile_problem
    from solver.lp import build_linear, solve_milp
    comp = compile_problem(p)
    st_, obj, x, bound = solve_milp(build_linear(comp), 30)
    assert abs(obj / comp.scale - a.objective) < 1e-6


@pytest.fixture(scope="module")
def small_round():
    return guangxi_round(6, 120, (6, 3), (5, 7), seed=11)


@pytest.fixture(scope="module")
def lottery(small_round):
    return build_lottery(small_round, q=0.5, options=SolveOptions(), time_limit=30, method="fast")


def test_randomized_marginals_capped_and_draws_feasible(small_round, lottery):
    assert lottery.marginals.max() <= 0.5 + 1e-6
    draws = [lottery.draw(seed) for seed in range(30)]
    for d in draws:
        assert check_plan(small_round, d) == []
        assert d.path == "lp_randomized"
    # every plan in the support is valid (so every possible draw is)
    from solver.plans import make_plan
    for cols in lottery.plans:
        assert check_plan(small_round, make_plan(lottery.comp, cols, "OPTIMAL", "x")) == []
    assert lottery.expected_value >= 0.9 * lottery.deterministic_value


def test_same_seed_same_draw(small_round, lottery):
    a, b = lottery.draw(123), lottery.draw(123)
    assert all(x.pairs() == y.pairs() for x, y in zip(a.stages, b.stages))
    lot2 = build_lottery(small_round, q=0.5, options=SolveOptions(), time_limit=30, method="fast")
    c = lot2.draw(123)
    assert all(x.pairs() == y.pairs() for x, y in zip(a.stages, c.stages))
    m = a.marginals[0]
    assert m.max() <= 0.5 + 1e-6


def test_repair_keeps_unaffected_seats():
    p = guangxi_round(12, 200, (12, 6), (5, 7), seed=1)
    plan = solve(p)
    s0 = plan.stages[0]
    e, a = int(s0.experts[3]), int(s0.applications[3])
    new, info = repair(p, plan, [(0, e, a)])
    assert new.feasible and check_plan(p, new) == []
    assert info["changed_seats"] == 1 and info["dropped"] == [(0, e, a)]
    assert plan.stages[1].pairs() == new.stages[1].pairs()
    kept = s0.pairs() - {(e, a)}
    assert kept <= new.stages[0].pairs()
    assert (e, a) not in new.stages[0].pairs()
    alts = [x for x in info["alternates"] if x["application"] == a][0]["alternates"]
    assert alts and all(x["expert"] not in new.stages[0].panel(a) for x in alts)
    affs = [x["affinity"] for x in alts]
    assert affs == sorted(affs, reverse=True)


def test_repair_whole_stage_decline():
    p = guangxi_round(12, 200, (12, 6), (5, 7), seed=2)
    plan = solve(p)
    e = int(plan.stages[0].experts[0])
    n_seats = int((plan.stages[0].experts == e).sum())
    new, info = repair(p, plan, [(0, e, -1)])
    assert new.feasible and check_plan(p, new) == []
    assert e not in new.stages[0].experts
    assert info["changed_seats"] == n_seats
