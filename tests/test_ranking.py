import numpy as np
import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.scoring.ranking import recognition_ranking

POL = load_policy()


def pol(fields=None, decision=None, funding=None):
    upd = {}
    if fields:
        upd["fields"] = POL.fields.model_copy(update=fields)
    if decision:
        upd["decision"] = POL.decision.model_copy(update=decision)
    if funding:
        upd["funding"] = POL.funding.model_copy(update=funding)
    return POL.model_copy(update=upd)


def app(id, score, field="汽车", B=20.0, E=10.0, **kw):
    fams = {"A": 15.0, "B": B, "C": 10.0, "D": 10.0, "E": E, "F": 8.0}
    return {"application_id": id, "score": score, "field": field, **fams, **kw}


def rank(rows, policy=POL, **kw):
    return recognition_ranking(pd.DataFrame(rows), policy, **kw).set_index("application_id")


def test_recommend_best_in_field_and_second_to_cultivation():
    r = rank([app("a1", 88), app("a2", 80), app("m1", 76, field="机械")])
    assert r.loc["a1", "decision"] == "recommend" and "best in its field" in r.loc["a1", "reason_en"]
    assert r.loc["a2", "decision"] == "cultivation" and "a1" in r.loc["a2", "reason_en"] and "一领域一中心" in r.loc["a2", "reason_zh"]
    assert r.loc["m1", "decision"] == "recommend"
    assert r.rank_overall.tolist() == [1, 2, 3] and r.loc["m1", "rank_in_field"] == 1 and r.loc["a2", "rank_in_field"] == 2
    assert (r.reason_zh != "").all() and (r.reason_en != "").all()


def test_one_per_field_off_recommends_all_qualifying():
    r = rank([app("a1", 88), app("a2", 80)], pol(decision={"one_per_field": False}))
    assert (r.decision == "recommend").all()


def test_thresholds_and_boundaries():
    r = rank([app("x75", 75.0, field="汽车"), app("x7499", 74.99, field="机械"), app("x70", 70.0, field="电子信息"),
              app("x6999", 69.99, field="生物医药")])
    assert r.loc["x75", "decision"] == "recommend"           # >= 75 inclusive
    assert r.loc["x7499", "decision"] == "cultivation" and "[70, 75)" in r.loc["x7499", "reason_en"]
    assert r.loc["x70", "decision"] == "cultivation"         # >= 70 inclusive
    assert r.loc["x6999", "decision"] == "not_recommended" and r.loc["x6999", "decision_zh"] == "不予推荐"


def test_family_b_minimum():
    r = rank([app("lowB", 90, B=14.5), app("okB", 80, B=15.0, field="机械")])
    assert r.loc["lowB", "decision"] == "cultivation" and "family B 14.5 < 15" in r.loc["lowB", "reason_en"]
    assert r.loc["okB", "decision"] == "recommend"
    # the lowB application does not take its field: a weaker qualifying one in the same field is recommended
    r2 = rank([app("lowB", 90, B=14.5), app("ok", 78, B=18)])
    assert r2.loc["ok", "decision"] == "recommend"


def test_field_with_recognised_centre_takes_no_new_one():
    r = rank([app("a1", 95), app("a2", 72), app("m1", 80, field="机械")], pol(fields={"has_recognised_centre": ["汽车"]}))
    assert r.loc["a1", "decision"] == "field_has_centre" and r.loc["a1", "field_has_centre"]
    assert "recommend for recognition" in r.loc["a1", "reason_en"] and "一领域一中心" in r.loc["a1", "reason_zh"] \
        and "has_recognised_centre" in r.loc["a1", "reason_zh"]
    assert r.loc["a2", "decision"] == "field_has_centre"
    assert r.loc["m1", "decision"] == "recommend"
    assert r.loc["a1", "subsidy"] == 0


def test_ineligible_unknown_field_and_unscored():
    r = rank([app("bad", 95, eligible="否", ineligible_reason="研发投入不足"), app("xx", 90, field="火星采矿"),
              app("ns", np.nan, field="机械"), app("ok", 80)])
    assert r.loc["bad", "decision"] == "ineligible" and "研发投入不足" in r.loc["bad", "reason_zh"]
    assert r.loc["xx", "decision"] == "ineligible" and "not one of the key fields" in r.loc["xx", "reason_en"]
    assert r.loc["ns", "decision"] == "not_scored"
    assert pd.isna(r.loc["bad", "rank_overall"]) and r.loc["ok", "rank_overall"] == 1
    assert r.loc["ok", "decision"] == "recommend"


def test_ties_broken_by_b_then_e_then_id():
    r = rank([app("t1", 80, B=18, E=10), app("t2", 80, B=20, E=10)])
    assert r.loc["t2", "rank_overall"] == 1 and r.loc["t2", "decision"] == "recommend"
    assert r.loc["t2", "tie_broken_by"] == "B" and "decided by B" in r.loc["t1", "reason_en"]
    r = rank([app("t1", 80, B=18, E=9), app("t2", 80, B=18, E=12)])
    assert r.loc["t2", "rank_overall"] == 1 and r.loc["t1", "tie_broken_by"] == "E"
    r = rank([app("t9", 80, B=18, E=9), app("t2", 80, B=18, E=9)])
    assert r.loc["t2", "rank_overall"] == 1 and "application_id (fallback)" in r.loc["t9", "reason_en"]
    assert r.loc["t2", "decision"] == "recommend" and r.loc["t9", "decision"] == "cultivation"


def test_tie_break_order_from_policy():
    r = rank([app("t1", 80, B=18, E=12), app("t2", 80, B=20, E=10)], pol(decision={"tie_break_families": ["E", "B"]}))
    assert r.loc["t1", "rank_overall"] == 1


def test_funding_caps_tech_centre_and_national():
    r = rank([app("a", 90), app("m", 85, field="机械", national=True), app("e", 80, field="电子信息", requested_subsidy=1_200_000),
              app("s", 78, field="生物医药")], pol(fields={"has_tech_innovation_centre": ["生物医药"]}))
    assert r.loc["a", "subsidy"] == POL.funding.new_centre_subsidy_cap == 2_000_000
    assert r.loc["m", "subsidy"] == POL.funding.national_centre_subsidy_cap
    assert r.loc["e", "subsidy"] == 1_200_000
    assert r.loc["s", "decision"] == "recommend" and r.loc["s", "subsidy"] == 0 and "技术创新中心" in r.loc["s", "funding_note_zh"]
    r2 = rank([app("s", 78, field="生物医药")], pol(fields={"has_tech_innovation_centre": ["生物医药"]},
                                                funding={"no_subsidy_if_tech_innovation_centre": False}))
    assert r2.loc["s", "subsidy"] == 2_000_000


def test_budget_allocated_in_rank_order_and_cuts_stated():
    rows = [app("a", 95), app("m", 90, field="机械"), app("e", 85, field="电子信息", requested_subsidy=500_000),
            app("b", 80, field="生物医药")]
    r = rank(rows, total_budget=4_500_000)
    assert r.loc["a", "subsidy"] == 2e6 and r.loc["m", "subsidy"] == 2e6
    # e asks 0.5M and fits exactly; b is cut
    assert r.loc["e", "subsidy"] == 5e5 and r.loc["b", "subsidy"] == 0 and "cut" in r.loc["b", "funding_note_en"]
    r = rank(rows, total_budget=3_000_000)
    assert r.loc["m", "subsidy"] == 0 and "预算" in r.loc["m", "funding_note_zh"]
    assert r.loc["e", "subsidy"] == 0  # no leapfrogging by the cheaper lower-ranked one
    r = rank(rows, total_budget=3_000_000, partial_last=True)
    assert r.loc["m", "subsidy"] == 1e6 and r.loc["e", "subsidy"] == 0
    # budget from the policy
    r = rank(rows, pol(funding={"total_budget": 2_000_000}))
    assert r.subsidy.sum() == 2e6


def test_family_columns_by_name_and_errors():
    df = pd.DataFrame([app("a", 90)]).rename(columns={"B": "核心定位", "E": "产业化"})
    assert recognition_ranking(df, POL).decision.iloc[0] == "recommend"
    with pytest.raises(UserError, match="missing column"):
        recognition_ranking(pd.DataFrame([{"application_id": "a", "score": 80}]), POL)
    with pytest.raises(UserError, match="column score: value 'abc'"):
        recognition_ranking(pd.DataFrame([app("a", "abc")]), POL)
    with pytest.raises(UserError, match="eligible"):
        recognition_ranking(pd.DataFrame([app("a", 80, eligible="maybe")]), POL)
    with pytest.raises(UserError, match="more than once"):
        recognition_ranking(pd.DataFrame([app("a", 80), app("a", 70)]), POL)
