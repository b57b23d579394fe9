"""Identical experts solved as one class (solver.symmetry, issue 14 item 0): on random small rounds with
many ties (experts copied), the aggregated model has the same LP optimum and the same integer optimum
as the plain model, and every split plan passes the independent checker."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import PanelProblem, SolveOptions, check_plan, solve
from solver.arrays import per_expert
from solver.compile import compile_problem
from solver.lpguide import column_generation
from solver.symmetry import aggregate, aggregated, edge_colouring, expert_classes, split_seats
from solver.synthetic import small_random

FAST = SolveOptions(time_limit=30, num_workers=1)


def with_copies(p: PanelProblem, copies: np.ndarray) -> PanelProblem:
    """`p` with expert e repeated copies[e] times (copies 0 drops it): identical experts, ties everywhere."""
    idx = np.repeat(np.arange(p.n_experts), copies)

    def rows(M):
        if M is None:
            return None
        return sp.csr_matrix(M)[idx] if sp.issparse(M) else np.asarray(M)[idx]

    E = p.n_experts
    stages = tuple(replace(s, max_load=per_expert(s.max_load, E, "max_load")[idx],
                           min_load=per_expert(s.min_load, E, "min_load")[idx]) for s in p.stages)
    return replace(p, expert_category=np.asarray(p.expert_category)[idx], affinity=rows(p.affinity),
                   excluded=rows(p.excluded), soft_penalty=rows(p.soft_penalty), field_match=rows(p.field_match),
                   expert_employer=None if p.expert_employer is None else np.asarray(p.expert_employer)[idx],
                   expert_can_chair=None if p.expert_can_chair is None else np.asarray(p.expert_can_chair)[idx],
                   stages=stages)


def tie_heavy(seed: int, rules_on: bool, n_stages: int | None = None) -> PanelProblem:
    rng = np.random.default_rng(seed)
    base = small_random(rng, E=int(rng.integers(26, 46)), n_stages=n_stages, rules_on=rules_on)
    copies = rng.integers(1, 5, size=base.n_experts)
    p = with_copies(base, copies)
    if rng.random() < 0.3:  # sometimes no employer groups at all: copies may then share a panel
        p = replace(p, expert_employer=None)
    if rng.random() < 0.3:  # sometimes a minimum load (the even split must keep it)
        p = replace(p, stages=tuple(replace(s, min_load=1) for s in p.stages))
    return p


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_aggregated_model_has_the_plain_models_optimum(seed, rules_on):
    p = tie_heavy(seed, rules_on)
    a = solve(p, FAST)
    b = solve(p, replace(FAST, symmetry=False))
    assert a.status == b.status
    if not a.feasible:
        assert a.diagnostics
        return
    assert check_plan(p, a) == []
    assert a.status == "OPTIMAL" and "symmetry" in a.info
    assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-6)
    assert a.objective == pytest.approx(a.breakdown["total"], abs=1e-6)
    # the breakdown's load term is that of the split plan (the even split of every class's load)
    sq = float((a.expert_load.astype(float) ** 2).sum())
    assert a.breakdown["load_sq_sum"] == pytest.approx(sq)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_aggregated_lp_bound_equals_the_plain_lp_bound(seed):
    p = tie_heavy(seed, True)
    agg = aggregated(p, FAST)
    assert agg is not None
    _classes, acomp = agg
    plain = column_generation(compile_problem(p), time_limit=60)
    aggr = column_generation(acomp, time_limit=60)
    assert plain.status == aggr.status
    if plain.status == "OPTIMAL":
        assert aggr.ub == pytest.approx(plain.ub, rel=1e-7, abs=1.0)  # units (1e-6 points)


def test_classes_and_aggregate():
    p = tie_heavy(7, True)
    classes = expert_classes(p)
    assert not classes.trivial
    for members in classes.members:
        e0 = members[0]
        assert np.all(classes.of_expert[members] == classes.of_expert[e0])
        for e in members[1:]:
            assert np.array_equal(np.asarray(p.affinity)[e], np.asarray(p.affinity)[e0])
    agg = aggregate(p, classes)
    assert agg.n_experts == len(classes.members)
    L = per_expert(p.stages[0].max_load, p.n_experts, "max_load")
    assert np.array_equal(np.asarray(agg.stages[0].max_load), L[classes.reps] * classes.mult)
    # an expert named by a lock is a class of its own; so is one whose candidate pairs differ (sparse)
    e = int(classes.members[int(np.argmax(classes.mult))][0])
    locked = replace(p, locks=((0, e, int(np.asarray(p.stages[0].applications)[0])),))
    assert len(expert_classes(locked).members) == len(classes.members) + 1
    M = sp.csr_matrix(np.asarray(p.affinity))
    M = M.tolil()
    M[e, 0] = 0.0 if M[e, 0] != 0 else 0.5  # store an explicit entry only for e
    assert len(expert_classes(replace(p, affinity=M.tocsr())).members) >= len(classes.members) + 1
    # all distinct: nothing to aggregate
    assert expert_classes(small_random(np.random.default_rng(1), E=30)).trivial


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_edge_colouring_is_proper(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    n_left, n_right = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    deg_l, deg_r = np.zeros(n_left, int), np.zeros(n_right, int)
    left, right = [], []
    for _ in range(int(rng.integers(0, k * min(n_left, n_right) + 1))):
        u, v = int(rng.integers(n_left)), int(rng.integers(n_right))
        if deg_l[u] < k and deg_r[v] < k:
            left.append(u)
            right.append(v)
            deg_l[u] += 1
            deg_r[v] += 1
    left, right = np.array(left, dtype=np.int64), np.array(right, dtype=np.int64)
    col = edge_colouring(left, right, k)
    assert len(col) == len(left) and (len(col) == 0 or (col.min() >= 0 and col.max() < k))
    for ends in (left, right):
        pairs = set()
        for v, c in zip(ends.tolist(), col.tolist()):
            assert (v, c) not in pairs
            pairs.add((v, c))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_split_is_equitable(seed, independent):
    """A class of m experts with seats (stage, application), each application taken at most m times in
    all (independent) or per stage: each member takes an application once (in one stage when
    independent) and the members' loads in a stage differ by at most one."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 8))
    n_apps, n_stages = int(rng.integers(1, 15)), int(rng.integers(1, 4))
    stages, apps = [], []
    for a in range(n_apps):
        if independent:
            left = int(rng.integers(0, m + 1))
            for _ in range(left):
                stages.append(int(rng.integers(n_stages)))
                apps.append(a)
        else:
            for s in range(n_stages):
                for _ in range(int(rng.integers(0, m + 1))):
                    stages.append(s)
                    apps.append(a)
    stages, apps = np.array(stages, dtype=np.int64), np.array(apps, dtype=np.int64)
    members = np.sort(rng.choice(100, size=m, replace=False))
    who = split_seats(members, stages, apps, independent)
    assert set(who.tolist()) <= set(members.tolist())
    key = list(zip(who.tolist(), apps.tolist())) if independent else list(zip(who.tolist(), stages.tolist(),
                                                                              apps.tolist()))
    assert len(key) == len(set(key))
    for s in range(n_stages):
        loads = np.array([np.sum((who == e) & (stages == s)) for e in members])
        assert loads.max() - loads.min() <= 1


def test_infeasible_round_is_explained_by_the_plain_model():
    p = tie_heavy(11, True)
    # no expert may sit on more than one panel: far too few seats
    tight = replace(p, stages=tuple(replace(s, max_load=0) for s in p.stages[:1]) + p.stages[1:])
    plan = solve(tight, FAST)
    assert plan.status == "INFEASIBLE" and plan.diagnostics
    assert "symmetry" not in plan.info


def test_chosen_columns_repeat_a_class_column():
    from solver.lp import chosen_columns
    cols = np.array([4, 7, 9, 12])
    assert chosen_columns(cols, np.array([1.0, 0.0, 1.0, 1e-9])).tolist() == [4, 9]
    assert chosen_columns(cols, np.array([2.0, 0.0, 1.0, 3.0 - 1e-9])).tolist() == [4, 4, 9, 12, 12, 12]


def test_symmetry_off_is_the_plain_model():
    p = tie_heavy(3, False)
    plan = solve(p, replace(FAST, symmetry=False))
    assert plan.feasible and "symmetry" not in plan.info
    with pytest.raises(ValueError, match="SolveOptions.symmetry"):
        SolveOptions(symmetry="yes")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_locks_and_fixed_stages_with_classes(seed):
    """Seats named by locks and a fixed (published) stage: their experts are never merged, the
    rest still are, and the optimum is the plain model's."""
    p = tie_heavy(seed, True, n_stages=2 + seed % 2)
    first = solve(p, FAST)
    if not first.feasible:
        return
    s0 = first.stages[0]
    fixed = tuple((0, int(e), int(a)) for e, a in zip(s0.experts, s0.applications))
    s1 = first.stages[1]
    lock = ((1, int(s1.experts[0]), int(s1.applications[0])),)
    q = replace(p, fixed=fixed, locks=lock)
    a = solve(q, FAST)
    b = solve(q, replace(FAST, symmetry=False))
    assert a.status == b.status
    if a.feasible:
        assert check_plan(q, a) == []
        assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-6)
        assert a.stages[0].pairs() == s0.pairs()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_aggregated_mip_has_the_plain_optimum(seed):
    """The integer model of the aggregated problem (a class's seats, loads and independence rows scaled
    by its size) solved directly by the MIP: its optimum, as `int_objective` of its columns, is the plain
    model's optimum (the path a fractional aggregated LP takes)."""
    from solver.lp import build_linear, chosen_columns, solve_milp

    p = tie_heavy(seed, True)
    agg = aggregated(p, FAST)
    plain = solve(p, replace(FAST, symmetry=False))
    lm = build_linear(agg[1])
    st_, obj, x, _ = solve_milp(lm, 60)
    assert (st_ == "OPTIMAL") == plain.feasible
    if plain.feasible:
        cols = chosen_columns(lm.cols, x[:lm.n_x])
        assert agg[1].int_objective(cols) == pytest.approx(obj, abs=2)
        assert obj / agg[1].scale == pytest.approx(plain.objective, rel=1e-9, abs=1e-5)


def test_rows_sharing_a_key_are_compared_exactly(monkeypatch):
    """Row keys only sort experts into candidates: with every key equal (as if all collided), the
    exact comparison still finds the same classes."""
    import solver.symmetry as sym

    p = tie_heavy(5, True)
    honest = expert_classes(p)
    monkeypatch.setattr(sym, "_row_keys", lambda M, E: np.zeros(E, dtype=np.int64))
    collided = expert_classes(p)
    assert np.array_equal(collided.of_expert, honest.of_expert)
    assert [m.tolist() for m in collided.members] == [m.tolist() for m in honest.members]
    # sparse rows: the same values at other positions are other experts
    M = sp.csr_matrix((np.ones(3), ([0, 1, 2], [0, 1, 0])), shape=(3, 2))
    q = PanelProblem.plain(M, 1, 2)
    assert expert_classes(q).of_expert.tolist() == [0, 1, 0]
