"""One test per hard-rule family (Timefold style): a tiny problem that breaks ONLY that family.

For every family of the registry (solver.families.FAMILIES):
(a) the independent checker reports a hand-made plan that breaks the family, and nothing else;
(b) the diagnostics of an infeasible version name the family;
(c) the solver refuses a lock that would break the family (the lock-free problem is feasible), and
    says which rule the lock breaks.
A family added to the registry without a case here fails `test_every_family_has_a_case`.
"""
from dataclasses import dataclass, replace

import numpy as np
import pytest

from solver import (FAMILIES, HARD_FAMILIES, PanelProblem, PanelRules, Plan, SolveOptions, StagePlan, StageSpec,
                    check_plan, pick_chairs, solve)

OPTS = SolveOptions(time_limit=10, num_workers=1)
METHODS = ("auto", "cp_sat")


def problem(E=4, A=1, size=2, cats=None, names=("a",), rules=None, n_stages=1, max_load=1, **kw):
    """E experts, A applications, every stage reviews every application with panels of `size`."""
    aff = np.tile(np.linspace(1.0, 0.5, E)[:, None], (1, A))
    stages = tuple(StageSpec(f"s{s}", size, np.arange(A), max_load) for s in range(n_stages))
    cats = np.zeros(E, dtype=np.int64) if cats is None else np.asarray(cats)
    return PanelProblem(cats, names, aff, stages, rules=rules or PanelRules(), **kw)


def plan(p: PanelProblem, *panels) -> Plan:
    """A hand-made plan: panels are (stage, application, [experts]); chairs picked as the solver does."""
    stages = []
    for s, st in enumerate(p.stages):
        seats = [(e, a) for (s2, a, ex) in panels if s2 == s for e in ex]
        ex = np.array([e for e, _ in seats], dtype=np.int64)
        ap = np.array([a for _, a in seats], dtype=np.int64)
        ca, ch = pick_chairs(p, s, ex, ap)
        stages.append(StagePlan(s, st.name, ex, ap, ca, ch))
    return Plan("FEASIBLE", "hand-made", tuple(stages))


def excluded(E, A, pairs):
    m = np.zeros((E, A), dtype=bool)
    for e, a in pairs:
        m[e, a] = True
    return m


@dataclass
class Case:
    good: PanelProblem       # feasible
    broken: Plan             # a plan of `good` that breaks the family only
    infeasible: PanelProblem  # no plan: the diagnostics must name the family
    bad_lock: tuple          # locks that would break the family on `good`


def case_excluded_pairs():
    good = problem(excluded=excluded(4, 1, [(0, 0)]))
    return Case(good, plan(good, (0, 0, [0, 1])), replace(good, locks=((0, 0, 0),)), ((0, 0, 0),))


def case_pool_standing():
    good = problem(barred=excluded(4, 1, [(0, 0)]))
    return Case(good, plan(good, (0, 0, [0, 1])), replace(good, locks=((0, 0, 0),)), ((0, 0, 0),))


def case_panel_size():
    good = problem()
    return Case(good, plan(good, (0, 0, [0, 1, 2])), problem(excluded=excluded(4, 1, [(1, 0), (2, 0), (3, 0)])),
                ((0, 0, 0), (0, 1, 0), (0, 2, 0)))


def case_category_coverage():
    kw = dict(cats=[0, 0, 1, 1], names=("a", "b"), rules=PanelRules(min_per_category=1))
    good = problem(**kw)
    return Case(good, plan(good, (0, 0, [0, 1])), problem(excluded=excluded(4, 1, [(2, 0), (3, 0)]), **kw),
                ((0, 0, 0), (0, 1, 0)))


def case_tech_industry_share():
    kw = dict(cats=[0, 0, 1, 1], names=("a", "t"),
              rules=PanelRules(tech_industry_categories=(1,), tech_industry_share=0.5))
    good = problem(**kw)
    return Case(good, plan(good, (0, 0, [0, 1])), problem(excluded=excluded(4, 1, [(2, 0), (3, 0)]), **kw),
                ((0, 0, 0), (0, 1, 0)))


def case_field_matched_technical():
    rules = PanelRules(technical_category=0, min_field_matched_technical=1)
    good = problem(rules=rules, field_match=excluded(4, 1, [(2, 0), (3, 0)]))
    return Case(good, plan(good, (0, 0, [0, 1])), problem(rules=rules, field_match=np.zeros((4, 1), dtype=bool)),
                ((0, 0, 0), (0, 1, 0)))


def case_chair():
    kw = dict(rules=PanelRules(technical_category=0, chair_required=True), field_match=np.ones((4, 1), dtype=bool))
    good = problem(expert_can_chair=np.array([False, False, True, True]), **kw)
    return Case(good, plan(good, (0, 0, [0, 1])), problem(expert_can_chair=np.zeros(4, dtype=bool), **kw),
                ((0, 0, 0), (0, 1, 0)))


def case_one_per_employer():
    rules = PanelRules(one_per_employer=True)
    good = problem(rules=rules, expert_employer=np.array([0, 0, 1, 2]))
    return Case(good, plan(good, (0, 0, [0, 1])), problem(rules=rules, expert_employer=np.zeros(4, dtype=np.int64)),
                ((0, 0, 0), (0, 1, 0)))


def case_expert_load():
    good = problem(E=4, A=2)  # 4 seats, 4 experts with one panel each
    return Case(good, plan(good, (0, 0, [0, 1]), (0, 1, [0, 2])), problem(E=3, A=2), ((0, 0, 0), (0, 0, 1)))


def case_locks_and_forbids():
    good = problem(locks=((0, 3, 0),), forbids=((0, 0, 0),))
    return Case(good, plan(good, (0, 0, [0, 1])), problem(locks=((0, 0, 0),), forbids=((0, 0, 0),)),
                ((0, 3, 0), (0, 0, 0)))


def case_stage_independence():
    good = problem(n_stages=2)  # the same application in two stages: 4 distinct experts needed
    return Case(good, plan(good, (0, 0, [0, 1]), (1, 0, [1, 2])), problem(E=3, n_stages=2),
                ((0, 1, 0), (1, 1, 0)))


CASES = {
    "excluded_pairs": case_excluded_pairs, "pool_standing": case_pool_standing, "panel_size": case_panel_size,
    "category_coverage": case_category_coverage, "tech_industry_share": case_tech_industry_share,
    "field_matched_technical": case_field_matched_technical, "chair": case_chair,
    "one_per_employer": case_one_per_employer, "expert_load": case_expert_load,
    "locks_and_forbids": case_locks_and_forbids, "stage_independence": case_stage_independence,
}
NAMES = [f.name for f in FAMILIES]


def test_every_family_has_a_case():
    assert set(CASES) == set(HARD_FAMILIES), "every family of the registry needs a case here (and no stale one)"


def test_registry_records_are_complete():
    assert len(set(NAMES)) == len(NAMES) == len(HARD_FAMILIES)
    for f in FAMILIES:
        assert f.label_zh and f.label_en and f.justification, f.name
        assert callable(f.cpsat) and callable(f.check), f.name
        assert f.core_scope in ("panel", "stage", "application")


@pytest.mark.parametrize("name", NAMES)
def test_checker_names_only_the_broken_family(name):
    c = CASES[name]()
    ok = solve(c.good, OPTS)
    assert ok.feasible and check_plan(c.good, ok) == []
    found = check_plan(c.good, c.broken)
    assert found and {v.rule for v in found} == {name}, found


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_diagnostics_name_the_family(name, method):
    c = CASES[name]()
    res = solve(c.infeasible, replace(OPTS, method=method))
    assert res.status == "INFEASIBLE"
    assert name in {d.rule for d in res.diagnostics}, res.diagnostics
    assert all(d.message_zh and d.message_en for d in res.diagnostics)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_solver_refuses_a_lock_that_breaks_the_family(name, method):
    c = CASES[name]()
    opts = replace(OPTS, method=method)
    assert solve(c.good, opts).feasible
    locked = replace(c.good, locks=tuple(c.bad_lock))
    res = solve(locked, opts)
    assert res.status == "INFEASIBLE"
    assert name in {d.rule for d in res.diagnostics}, res.diagnostics
