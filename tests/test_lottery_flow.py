"""The flow lottery (issue 14 item 2): capped fractional assignment (LP(q)) by one scaled min-cost flow,
then dependent rounding on the network per draw."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog
import scipy.sparse as sp

from solver import PanelProblem, SolveOptions, check_plan, lottery_from_data, lottery_to_data
from solver.compile import compile_problem
from solver.lottery_flow import FlowLottery, dependent_rounding, flow_applies, q_fraction
from solver.randomized import build_lottery
from solver.synthetic import guangxi_round, guangxi_rules


@pytest.fixture(scope="module")
def plain():
    rng = np.random.default_rng(5)
    S = np.round(rng.random((30, 40)), 2)
    M = rng.random(S.shape) < 0.1
    return PanelProblem.plain(S, 3, 6, excluded=M), S, M


@pytest.fixture(scope="module")
def coverage_round():
    """Every panel rule that keeps a flow: five categories, technical + industry share, field-matched
    technical experts, a chair; one stage (no stage independence), no employer rule."""
    return guangxi_round(12, 200, (12,), (7,), seed=4, rules=replace(guangxi_rules(), one_per_employer=False))


def _capped_lp(S, M, q, demand=3, load=6):
    """LP(q) of the plain problem by HiGHS, independently of the flow."""
    E, A = S.shape
    r, c = np.nonzero(~M)
    w = S[r, c]
    n = len(r)
    A_ub = sp.csr_matrix((np.ones(n), (r, np.arange(n))), shape=(E, n))
    A_eq = sp.csr_matrix((np.ones(n), (c, np.arange(n))), shape=(A, n))
    res = linprog(-w, A_ub=A_ub, b_ub=np.full(E, load), A_eq=A_eq, b_eq=np.full(A, demand), bounds=(0, q),
                  method="highs")
    return -res.fun


@pytest.mark.parametrize("q", [0.5, 0.3, 0.75])
def test_upper_bound_is_the_capped_lp(plain, q):
    prob, S, M = plain
    lot = build_lottery(prob, q)
    assert isinstance(lot, FlowLottery)
    assert lot.upper_bound / lot.comp.scale == pytest.approx(_capped_lp(S, M, q), rel=1e-9, abs=1e-6)
    k, m = q_fraction(q)
    assert lot.marginals.max() <= q  # exact: integers k/m
    assert int(lot.flow[lot.nw.col_arc0:lot.nw.col_arc0 + lot.comp.n_cols].max()) <= k


def test_draws_meet_every_rule_and_marginals(coverage_round):
    comp = compile_problem(coverage_round, SolveOptions().scale, None)
    assert flow_applies(comp)
    lot = build_lottery(coverage_round, 0.5)
    assert isinstance(lot, FlowLottery) and lot.info["fractional_arcs"] > 0
    n = 400
    counts = np.zeros(comp.n_cols)
    values = []
    for seed in range(n):
        cols = lot.draw_columns(seed)
        counts[cols] += 1
        values.append(comp.int_objective(cols))
    for seed in range(0, n, 40):
        assert check_plan(coverage_round, lot.draw(seed)) == []
    p = lot.marginals
    assert p.max() <= 0.5
    sd = np.sqrt(np.maximum(p * (1 - p), 1e-12) / n)
    assert np.all(np.abs(counts / n - p) <= 5 * sd + 1e-9)  # every seat's frequency is its marginal
    assert counts[p == 0].sum() == 0
    assert np.mean(values) >= 0.995 * lot.upper_bound  # E[value] >= LP(q) up to sampling


def test_draw_is_a_function_of_the_seed(coverage_round):
    a = build_lottery(coverage_round, 0.5)
    b = build_lottery(coverage_round, 0.5)
    assert np.array_equal(a.flow, b.flow)
    for seed in (0, 1, 99, 2 ** 31 - 1):
        assert np.array_equal(a.draw_columns(seed), b.draw_columns(seed))
    assert any(not np.array_equal(a.draw_columns(0), a.draw_columns(s)) for s in range(1, 5))


def test_plain_data_round_trip_and_damage(coverage_round):
    lot = build_lottery(coverage_round, 0.5)
    data = lottery_to_data(lot)
    back = lottery_from_data(lot.comp, data)
    assert np.array_equal(back.draw_columns(7), lot.draw_columns(7))
    bad = dict(data, flow=data["flow"].copy())
    bad["flow"][lot.nw.col_arc0] += 1  # unbalanced
    with pytest.raises(ValueError):
        lottery_from_data(lot.comp, bad)


def test_rounding_keeps_balance_on_a_small_cycle():
    # two parallel paths s -> a -> t and s -> b -> t, one unit split 1/2 : 1/2 (m = 2)
    tails, heads = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3])
    y = np.array([1, 1, 1, 1])
    seen = set()
    for seed in range(50):
        z = dependent_rounding(tails, heads, y, 2, np.random.default_rng(seed))
        assert set(z.tolist()) <= {0, 2} and z[0] == z[1] and z[2] == z[3] and z[0] + z[2] == 2
        seen.add(tuple(z))
    assert len(seen) == 2


def test_where_the_flow_breaks_fast_is_still_the_column_generation_lottery():
    prob = guangxi_round(10, 150, (10, 4), (5, 7), seed=2)  # employer rule and stage independence
    assert not flow_applies(compile_problem(prob, SolveOptions().scale, None))
    lot = build_lottery(prob, 0.5, spread=0.0, n_decompositions=2, method="fast")
    assert not isinstance(lot, FlowLottery) and lot.marginals.max() <= 0.5 + 1e-6
    with pytest.raises(ValueError, match="network flow"):
        build_lottery(prob, 0.5, method="flow")


def test_q_must_be_a_small_fraction():
    assert q_fraction(0.5) == (1, 2) and q_fraction(0.35) == (7, 20)
    with pytest.raises(ValueError):
        q_fraction(1 / 3 + 1e-9)
