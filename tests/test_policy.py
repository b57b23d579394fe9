"""The policy owns the vocabulary (technical category, 技术+产业 categories, soft-rule codes), checks
stage names in one place and is never loaded behind the caller's back."""
from __future__ import annotations

import inspect

import pandas as pd
import pytest

from reviewer.centres.tables import INDICATORS
from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.evaluation_scheme import SCORABLE_COLUMNS
from reviewer.policy import DEFAULT_POLICY_PATH, load_policy
from reviewer.scoring.aggregation import make_aggregator
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.reliability import flag_outliers
from tests.factories import application, declaration, expert, policy, round_data

POL = load_policy()
DEFAULT_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def write(tmp_path, text: str):
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_stage_is_the_one_check_with_the_clear_error():
    s = POL.stage("认定评审")
    assert (s.name, s.index, s.panel_size, s.date) == ("认定评审", 2, 7, None)
    expected = "未知阶段 unknown stage 'XYZ': expected one of 初审评估, 现场考察, 认定评审"
    with pytest.raises(UserError) as e:
        POL.stage("XYZ")
    assert str(e.value) == expected
    for method in (POL.panel_size, POL.stage_rules, POL.min_tech_industry, POL.min_panel_seats):
        with pytest.raises(UserError, match="未知阶段 unknown stage 'XYZ'"):
            method("XYZ")


def test_min_tech_industry_per_stage():
    # 5-person stages: share 0.4 -> 2 of 5; 认定评审: share 0.5 -> 4 of 7
    assert [POL.min_tech_industry(s) for s in POL.stages.order] == [2, 2, 4]
    assert not hasattr(POL.panel_rules, "min_tech_industry")   # one place computes it: Policy


def test_vocabulary_defaults_and_indices():
    pr = POL.panel_rules
    assert pr.technical_category == "技术" and pr.tech_industry_categories == ["技术", "产业"]
    assert pr.technical_index == pr.categories.index("技术") and pr.tech_industry_indices == (1, 2)
    assert (POL.conflicts.unsuitable_rule, POL.conflicts.same_city_rule) == ("C6", "C9")


def test_an_old_policy_file_without_the_new_keys_loads_with_the_same_defaults(tmp_path):
    old = "\n".join(line for line in DEFAULT_TEXT.splitlines()
                    if not line.startswith(("technical_category", "unsuitable_rule", "same_city_rule", "site_stage")))
    assert old != DEFAULT_TEXT
    p = load_policy(write(tmp_path, old))
    assert p.panel_rules.technical_category == "技术"
    assert (p.conflicts.unsuitable_rule, p.conflicts.same_city_rule) == ("C6", "C9")
    assert p.stages.site == "现场考察"
    assert p.model_dump(exclude={"source", "sha256", "stages"}) == POL.model_dump(exclude={"source", "sha256", "stages"})


def test_technical_category_must_be_a_category_or_none(tmp_path):
    bad = DEFAULT_TEXT.replace('technical_category = "技术"', 'technical_category = "工程"')
    with pytest.raises(UserError, match=r"\[panel_rules\] technical_category '工程' is not one of the categories"):
        load_policy(write(tmp_path, bad))
    none = POL.panel_rules.model_copy(update={"technical_category": ""})
    assert none.technical_index == -1


@pytest.mark.parametrize("line, message", [
    ('same_city_rule = "C10"', "a rule id C1..C9, got 'C10'"),
    ('same_city_rule = "C6"', "unsuitable_rule and same_city_rule must differ"),
])
def test_soft_rule_codes_are_checked(tmp_path, line, message):
    bad = DEFAULT_TEXT.replace('same_city_rule = "C9"', line)
    with pytest.raises(UserError, match=message):
        load_policy(write(tmp_path, bad))


def test_soft_penalties_follow_the_policy():
    assert POL.conflicts.soft_penalties() == {"C9": POL.conflicts.same_city_penalty}
    soft = POL.conflicts.model_copy(update={"applicant_declared_hard": False, "same_city_penalty": 2.5})
    assert soft.soft_penalties() == {"C9": 2.5, "C6": 1.0}


def test_the_detector_uses_the_policys_rule_codes():
    p = policy()
    swapped = p.model_copy(update={"conflicts": p.conflicts.model_copy(
        update={"unsuitable_rule": "C9", "same_city_rule": "C6", "applicant_declared_hard": False})})
    data = round_data([application()], [expert(city="柳州"), expert("X2")], [declaration(expert_id="X2")])
    hits = {(h.expert_id, h.rule) for h in detect_conflicts(data, swapped).hits}
    assert hits == {("X1", "C6"), ("X2", "C9")}
    assert swapped.conflicts.soft_penalties() == {"C6": swapped.conflicts.same_city_penalty, "C9": 1.0}


def test_a_bad_evaluation_scheme_fails_when_the_policy_loads(tmp_path):
    bad = DEFAULT_TEXT.replace('[evaluation.scoring.collaboration]\ninputs = [{ column = "collaboration_services", '
                               'target = "target_collaboration_services" }]\ncurve = "linear"',
                               '[evaluation.scoring.collaboration]\ninputs = [{ column = "collaboration_services", '
                               'target = "target_collaboration_services" }]\ncurve = "log"')
    assert bad != DEFAULT_TEXT
    with pytest.raises(UserError, match=r"curve 'log': expected linear, step or expert"):
        load_policy(write(tmp_path, bad))


def test_the_scheme_vocabulary_is_the_indicator_file():
    assert set(SCORABLE_COLUMNS) == {c.key for c in INDICATORS.columns} - {"evaluation_date"}


@pytest.mark.parametrize("fn", [make_aggregator, recognition_ranking, flag_outliers])
def test_scoring_needs_an_explicit_policy(fn):
    param = inspect.signature(fn).parameters["policy"]
    assert param.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        fn(pd.DataFrame({"expert_id": ["a"], "application_id": ["X"], "score": [80.0]}))


def test_the_site_inspection_stage_is_a_policy_field(tmp_path):
    assert POL.stages.site == "现场考察"
    unset = POL.stages.model_copy(update={"site_stage": None})
    assert unset.site == "现场考察"
    assert POL.stages.model_copy(update={"site_stage": ""}).site == ""
    bad = DEFAULT_TEXT.replace('site_stage = "现场考察"', 'site_stage = "现场"')
    with pytest.raises(UserError, match=r"\[stages\] site_stage '现场' is not one of the stages"):
        load_policy(write(tmp_path, bad))
