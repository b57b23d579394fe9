"""What-if re-ranking on the demo files (issue 18 part 2): the scenario works on a copy of the
policy, changed decisions come with their reasons, rank intervals come with every method."""
from __future__ import annotations

import pandas as pd
import pytest

from reviewer.analytics.whatif import Scenario, WhatIfInput, compare, comparison_sheets, rank_scenario
from reviewer.demo.reference import demo_policy
from reviewer.errors import UserError
from reviewer.intake.io import load_round_from
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.scoretable import read_table, validate_scores
from reviewer.screening.eligibility import screen


@pytest.fixture(scope="module")
def demo_input():
    pol = demo_policy(load_policy(None))
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", pol)
    scores, _ = validate_scores(read_table(DEMO_DIR / "scores.csv"), DEMO_DIR / "scores.csv", pol)
    panels_all = pd.read_csv(DEMO_DIR / "demo_panels.csv", dtype=str)
    summary = screen(data, pol).summary
    eligible = {x.application_id: (x.outcome == "pass", str(x.reasons)) for x in summary.itertuples()}

    def stage(name: str) -> WhatIfInput:
        p = panels_all[panels_all["阶段"] == name]
        return WhatIfInput(scores[scores["panel"] == name].reset_index(drop=True),
                           {a.application_id: a.field for a in data.applications},
                           p.groupby("申报编号")["专家编号"].apply(list).to_dict(), eligible,
                           {a.application_id: a.name for a in data.applications})
    return pol, stage


def test_trimmed_to_calibrated_changes_a_decision_with_its_reason(demo_input):
    pol, stage = demo_input
    # the recognition stage (现场考察 is scored with the verification checklist since stages17b)
    inp = stage("认定评审")
    base, _, _ = rank_scenario(inp, pol, Scenario(), resamples=100)
    alt, alt_pol, _ = rank_scenario(inp, pol, Scenario(method="calibrated"), resamples=100)
    assert pol.aggregation.method == "trimmed" and alt_pol.aggregation.method == "calibrated"
    cmp_ = compare(base, alt)
    changed = cmp_[cmp_["changed"]]
    assert changed["application_id"].tolist() == ["GX2026-012", "GX2026-015"]
    why = changed["why_zh"].iloc[0]
    assert why.startswith("不予推荐→列入培育名单；汇总得分 69.92→70.10；排名 ")
    assert "现：得分 70.1 在培育区间 [70, 75)" in why
    # the bootstrap gives trimmed ranks an interval; calibrated (comparable across panels here) its own
    assert base["rank_low"].notna().sum() > 20 and (base["rank_low"] <= base["rank_overall"]).all()


def test_calibrated_on_disjoint_panels_says_so_and_gives_no_fake_interval(demo_input):
    pol, stage = demo_input
    alt, _, notes = rank_scenario(stage("认定评审"), pol, Scenario(method="calibrated"), resamples=50)
    assert any("separate components" in n for n in notes)
    assert alt["rank_low"].isna().all()      # no standard error -> no rank interval, never a made-up one


def test_the_policy_is_never_changed(demo_input):
    pol, stage = demo_input
    before = pol.model_dump()
    sc = Scenario(method="median", recommend_min=80, cultivation_min=65, family_min={"B": 18}, one_per_field=False,
                  budget=5_000_000, min_scores=4, quorum_share=0.8)
    p = sc.apply(pol)
    assert pol.model_dump() == before
    assert (p.decision.recommend_min_score, p.decision.cultivation_min_score, p.decision.recommend_min_family,
            p.decision.one_per_field, p.funding.total_budget, p.aggregation.min_scores,
            p.aggregation.quorum_share) == (80, 65, {"B": 18.0}, False, 5_000_000, 4, 0.8)
    label = sc.label(pol)
    assert "推荐线 75→80" in label and "培育线" in label and "一领域一中心 开→关" in label
    assert Scenario().label(pol).startswith("与现行规则相同")


def test_a_raised_family_minimum_and_budget_show_up_as_reasons(demo_input):
    pol, stage = demo_input
    inp = stage("认定评审")
    base, _, _ = rank_scenario(inp, pol, Scenario(), resamples=50)
    alt, _, _ = rank_scenario(inp, pol, Scenario(family_min={"B": 20.5}), resamples=50)
    cmp_ = compare(base, alt)
    ch = cmp_[cmp_["changed"]]
    assert ch["why_zh"].str.contains("B 类").any()                     # the family rule named
    money, _, _ = rank_scenario(inp, pol, Scenario(budget=4_000_000), resamples=50)
    cut = money[(money["decision"] == "recommend") & (money["subsidy"] == 0)]
    assert len(cut) > 0 and cut["funding_note_zh"].str.contains("总预算已用完").all()
    by_money = compare(base, money)
    assert set(by_money.loc[by_money["changed"], "application_id"]) == set(cut["application_id"])
    sheets = comparison_sheets(cmp_, "测试方案", {"run": 1})
    assert sheets["方案对比"]["结论变化"].iloc[0] == "是" and sheets["参数"]["内容"].iloc[0] == "测试方案"


@pytest.mark.parametrize("sc,msg", [(Scenario(method="best"), "--method 'best'"),
                                    (Scenario(trim=-1), "--trim -1"),
                                    (Scenario(family_min={"Z": 3}), "family 'Z'"),
                                    (Scenario(budget=-5), "--budget -5"),
                                    (Scenario(quorum_share=1.5), "--quorum-share 1.5"),
                                    (Scenario(min_scores=0), "--min-scores 0")])
def test_bad_scenarios_are_clear_errors(demo_input, sc, msg):
    pol, _ = demo_input
    with pytest.raises(UserError, match=msg.replace("(", r"\(")):
        sc.apply(pol)
