"""Relation-bias audit (issue 18 part 1): the planted same-city effect of the demo round is found,
an unplanted relation is not, and on synthetic panels the false-flag rate is near nominal and
the power at a stated bias is met."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from reviewer.analytics.bias import audit_bias, benjamini_hochberg, relation_test, report_section
from reviewer.analytics.relations import round_relations
from reviewer.analytics.simulate import synthetic_panels
from reviewer.analytics.tables import long_scores, read_long, seat_totals
from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.reference import demo_policy
from reviewer.demo.scores import SAME_CITY_BIAS_POINTS
from reviewer.errors import UserError
from reviewer.intake.io import load_round_from
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.scoretable import read_table


@pytest.fixture(scope="module")
def demo_audit():
    pol = demo_policy(load_policy(None))
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", pol)
    rel = round_relations(data, pol, detect_conflicts(data, pol))
    totals = seat_totals(long_scores(read_table(DEMO_DIR / "scores.csv"), "scores.csv"))
    return audit_bias(totals, rel), rel


def test_demo_round_finds_the_planted_same_city_effect(demo_audit):
    audit, _ = demo_audit
    planted = json.loads((DEMO_DIR / "planted.json").read_text(encoding="utf-8"))["scores"]["relation_bias"]
    assert planted["points"] == SAME_CITY_BIAS_POINTS == 5.0
    c9 = audit.relations.set_index("relation").loc["C9"]
    assert c9["n_seats"] == len(planted["seats"]) == 16   # three stages scored (初审评估 too) since stages17b
    assert c9["ci_low"] <= planted["points"] <= c9["ci_high"]          # the true value inside its interval
    assert c9["ci_low"] > 0 and c9["p_perm"] < 0.05 and c9["flagged"]  # and found


def test_demo_round_unplanted_relation_covers_zero(demo_audit):
    audit, rel = demo_audit
    assert {"C9", "member_city", "expired_C1"} <= set(rel["relation"])   # soft, derived and expired relations
    mc = audit.relations.set_index("relation").loc["member_city"]
    assert mc["n_seats"] > 50
    assert mc["ci_low"] <= 0 <= mc["ci_high"] and not mc["flagged"]


def test_per_expert_effects_are_shrunk_and_carry_evidence(demo_audit):
    audit, _ = demo_audit
    ex = audit.experts
    assert {"shrunk_effect", "post_low", "post_high", "q_value", "flagged", "evidence"} <= set(ex.columns)
    # shrinkage never moves an estimate away from 0 or past it
    assert (ex["shrunk_effect"].abs() <= ex["raw_effect"].abs() + 1e-12).all()
    assert (np.sign(ex["shrunk_effect"]) * np.sign(ex["raw_effect"]) >= 0).all()
    assert ex["evidence"].str.contains("同组其他专家").all()


def _rates(bias: float, seeds: range) -> tuple[float, float]:
    flags, cover = [], []
    for seed in seeds:
        s = synthetic_panels(np.random.default_rng(seed), bias=bias)
        r = relation_test(s["total"], s["panel"], s["expert"], s["related"], n_permutations=499,
                          rng=np.random.default_rng([seed, 1]))
        flags.append(r["p_perm"] < 0.05)
        cover.append(r["ci_low"] <= bias <= r["ci_high"])
    return float(np.mean(flags)), float(np.mean(cover))


def test_no_bias_false_flag_rate_near_nominal():
    # 300 seeds: the binomial sd of the rate at 0.05 is 0.0126
    rate, cover = _rates(0.0, range(300))
    assert 0.02 <= rate <= 0.09
    assert cover >= 0.88        # clustered-t interval: measured 0.92 at nominal 0.95


def test_planted_bias_detected_at_stated_power():
    # 60 panels of 6, 10% related seats (about 36), leniency sd 2.5, noise sd 2: a 2.5-point bias
    # is found with power >= 0.9 (measured 0.96 over 300 seeds)
    rate, cover = _rates(2.5, range(1000, 1200))
    assert rate >= 0.9
    assert cover >= 0.85


def test_within_panel_effect_is_exact_with_several_related_members():
    # two related members of a panel both +4: the estimate is 4, not diluted by each other
    x = np.array([70, 74, 74, 70, 80, 84, 80, 80.0])
    panel = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    expert = np.array([0, 1, 2, 3, 4, 1, 5, 6])
    related = np.array([0, 1, 1, 0, 0, 1, 0, 0], dtype=bool)
    r = relation_test(x, panel, expert, related, n_permutations=0)
    assert r["effect"] == pytest.approx(4.0)
    assert r["n_seats"] == 3 and r["n_panels"] == 2 and r["n_experts"] == 2


def test_benjamini_hochberg():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    assert q[0] == pytest.approx(0.04) and q[1] == pytest.approx(0.04 * 4 / 3)
    assert q[2] == pytest.approx(0.04 * 4 / 3) and np.isnan(q[3]) and q[4] == pytest.approx(0.5)


def test_any_long_table_with_a_relation_column(tmp_path):
    rng = np.random.default_rng(3)
    s = synthetic_panels(rng, bias=6.0, share_related=0.15)
    df = pd.DataFrame({"专家编号": [f"E{e}" for e in s["expert"]], "申报编号": [f"A{p}" for p in s["panel"]],
                       "得分": s["total"].round(1), "关系": np.where(s["related"], "校友;同城", "")})
    path = tmp_path / "long.csv"
    df.to_csv(path, index=False, encoding="utf-8-sig")
    totals, rel = read_long(path)
    audit = audit_bias(totals, rel, n_permutations=999)
    t = audit.relations.set_index("relation")
    assert set(t.index) == {"校友", "同城"}
    assert t.loc["同城", "ci_low"] <= 6.0 <= t.loc["同城", "ci_high"] and t.loc["同城", "flagged"]


def test_bad_long_tables_give_clear_errors(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"专家编号": ["E1", "E2"], "申报编号": ["A1", "A1"], "得分": ["80", "八十"], "关系": ["", "同城"]}
                 ).to_csv(p, index=False)
    with pytest.raises(UserError, match=r"bad.csv: row 3, column score/得分: value '八十'; expected a number"):
        read_long(p)
    pd.DataFrame({"专家编号": ["E1"], "得分": [80]}).to_csv(p, index=False)
    with pytest.raises(UserError, match="missing column.*申报编号/application_id"):
        read_long(p)
    pd.DataFrame({"专家编号": ["E1"], "申报编号": ["A1"], "得分": [80]}).to_csv(p, index=False)
    with pytest.raises(UserError, match="no relation column"):
        read_long(p)
    with pytest.raises(UserError, match="no panel has two"):
        audit_bias(pd.DataFrame({"panel": [""], "application_id": ["A1"], "expert_id": ["E1"], "total": [80.0]}),
                   pd.DataFrame({"expert_id": ["E1"], "application_id": ["A1"], "relation": ["同城"]}))


def test_report_section_for_the_review_report(demo_audit):
    title, paras, table = report_section(demo_audit[0])
    assert title == "关系偏差审计" and paras[0].startswith("方法：")
    assert any(p.startswith("同城回避：16 份评分平均比同组其他专家高 +4.55") for p in paras)   # planted +5
    assert list(table.columns)[:3] == ["关系", "评分份数", "效应(分)"] and "显著" in set(table["结论"])
