"""SolveOptions and PanelProblem are checked when built: a clear ValueError naming the field."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from solver import PanelProblem, PanelRules, SolveOptions, StageSpec, solve
from solver.compile import compile_problem


def test_options_unknown_method_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="SolveOptions.method: 'lp' is not one of 'auto', 'min_cost_flow', 'cp_sat'"):
        SolveOptions(method="lp")


@pytest.mark.parametrize("field, value", [
    ("time_limit", -1.0), ("time_limit", 0), ("time_limit", float("nan")), ("time_limit", "30"),
    ("num_workers", 0), ("num_workers", 1.5), ("seed", -1), ("scale", 0), ("lp_guide_min_columns", -1),
    ("stages", (0, -1)), ("stages", "01"), ("lp_guide", "yes"), ("progress", 3),
])
def test_options_bad_values(field, value):
    with pytest.raises(ValueError, match=f"SolveOptions.{field}"):
        SolveOptions(**{field: value})


def test_options_checked_again_on_replace_and_stages_normalised():
    o = SolveOptions(stages=[1, 0])
    assert o.stages == (1, 0)
    with pytest.raises(ValueError, match="num_workers"):
        replace(o, num_workers=0)


def _problem(**kw):
    E, A = 6, 3
    base = dict(expert_category=np.array([0, 0, 0, 1, 1, 1]), category_names=("a", "b"),
                affinity=np.ones((E, A)), stages=(StageSpec("s", 2, np.arange(A), 2),))
    base.update(kw)
    return PanelProblem(**base)


def test_problem_valid_one_builds_and_solves():
    p = _problem(rules=PanelRules(min_per_category=1), continuity=((-1, 0, 0),))
    assert solve(p).feasible


@pytest.mark.parametrize("kw, where", [
    (dict(affinity=np.ones(6)), "PanelProblem.affinity"),
    (dict(expert_category=np.array([0, 0, 1])), "PanelProblem.expert_category"),
    (dict(expert_category=np.array([0, 0, 0, 1, 1, 2])), "PanelProblem.expert_category"),
    (dict(expert_category=np.array([0.0, 0, 0, 1, 1, 1])), "PanelProblem.expert_category"),
    (dict(category_names=()), "PanelProblem.category_names"),
    (dict(excluded=np.zeros((3, 6), dtype=bool)), "PanelProblem.excluded"),
    (dict(soft_penalty=sp.csr_matrix((6, 4))), "PanelProblem.soft_penalty"),
    (dict(field_match=np.zeros((6, 2), dtype=bool)), "PanelProblem.field_match"),
    (dict(expert_employer=np.zeros(5, dtype=np.int64)), "PanelProblem.expert_employer"),
    (dict(expert_can_chair=np.zeros(7, dtype=bool)), "PanelProblem.expert_can_chair"),
    (dict(stages=()), "PanelProblem.stages"),
    (dict(stages=(StageSpec("s", 0, np.arange(3)),)), r"PanelProblem.stages\[0\].panel_size"),
    (dict(stages=(StageSpec("s", 2, np.array([0, 3])),)), r"PanelProblem.stages\[0\].applications"),
    (dict(stages=(StageSpec("s", 2, np.array([-1])),)), r"PanelProblem.stages\[0\].applications"),
    (dict(stages=(StageSpec("s", 2, np.arange(3), max_load=-1),)), r"PanelProblem.stages\[0\].max_load"),
    (dict(stages=(StageSpec("s", 2, np.arange(3), max_load=np.ones(5, dtype=int)),)),
     r"PanelProblem.stages\[0\].max_load"),
    (dict(stages=(StageSpec("s", 2, np.arange(3), min_load=np.full(6, -1)),)), r"PanelProblem.stages\[0\].min_load"),
    (dict(stages=(StageSpec("s", 2, np.arange(3), rules=PanelRules(min_per_category=(1, 1, 1))),)),
     r"PanelProblem.stages\[0\].rules.min_per_category"),
    (dict(rules=PanelRules(technical_category=2)), "PanelProblem.rules.technical_category"),
    (dict(rules=PanelRules(tech_industry_categories=(0, 5))), "PanelProblem.rules.tech_industry_categories"),
    (dict(rules=PanelRules(tech_industry_share=1.5)), "PanelProblem.rules.tech_industry_share"),
    (dict(rules=PanelRules(max_per_category=-1)), "PanelProblem.rules.max_per_category"),
    (dict(rules=PanelRules(chair_required=True)), "PanelProblem.rules"),
    (dict(rules=PanelRules(technical_category=-1),
          stages=(StageSpec("s", 2, np.arange(3), rules=PanelRules(min_field_matched_technical=1)),)),
     r"PanelProblem.stages\[0\].rules"),
    (dict(locks=((1, 0, 0),)), r"PanelProblem.locks\[0\]"),
    (dict(forbids=((0, 6, 0),)), r"PanelProblem.forbids\[0\]"),
    (dict(fixed=((0, 0, 3),)), r"PanelProblem.fixed\[0\]"),
    (dict(locks=((0, 0),)), r"PanelProblem.locks\[0\]"),
    (dict(continuity=((-2, 0, 0),)), r"PanelProblem.continuity\[0\]"),
])
def test_problem_bad_inputs_name_the_field(kw, where):
    with pytest.raises(ValueError, match=where):
        _problem(**kw)


def test_problem_checked_again_on_replace():
    p = _problem()
    with pytest.raises(ValueError, match="locks"):
        replace(p, locks=((0, 99, 0),))


def test_stages_to_solve_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        compile_problem(_problem(), stages=(1,))
    with pytest.raises(ValueError, match="out of range"):
        solve(_problem(), SolveOptions(stages=(3,)))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300])
def test_non_finite_or_huge_affinity_is_refused(value):
    aff = np.ones((6, 3))
    aff[2, 1] = value
    with pytest.raises(ValueError, match="finite"):
        solve(_problem(affinity=aff))
