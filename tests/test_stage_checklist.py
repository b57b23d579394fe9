"""The bundled policy scores 现场考察 with the verification checklist (issue 17 part 1, stages17b), and a
stage scored with the checklist is ranked by its own total: the recognition rubric's family rules
(B >= 15, tie-breaks) do not apply to it, so its ranking no longer fails on "missing family columns"."""
from __future__ import annotations

import pandas as pd

from reviewer.analytics.whatif import Scenario, WhatIfInput, rank_scenario
from reviewer.demo.reference import demo_policy
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.scoretable import aggregate_scores, read_table, validate_scores

SITE = "现场考察"


def site_scores(pol):
    scores, errors = validate_scores(read_table(DEMO_DIR / "scores.csv"), DEMO_DIR / "scores.csv", pol)
    assert errors == []
    return scores[scores["panel"] == SITE].reset_index(drop=True)


def test_the_bundled_policy_scores_the_site_visit_with_the_checklist():
    pol = load_policy(None)
    assert pol.gate(SITE).instrument == "现场考察核查表"
    inst = pol.instrument(SITE)
    assert [f.id for f in inst.families] == ["V", "S"] and sum(c.veto for c in inst.criteria) == 4
    assert pol.instrument("初审评估") is pol.rubric and pol.instrument("认定评审") is pol.rubric


def test_for_stage_keeps_only_the_family_rules_its_instrument_has():
    pol = load_policy(None)
    assert pol.decision.recommend_min_family == {"B": 15.0}
    site = pol.for_stage(SITE)
    assert site.rubric is pol.instrument(SITE) and site.decision.recommend_min_family == {}
    assert all(f in {"V", "S"} for f in site.decision.tie_break_families)
    assert pol.for_stage("认定评审") is pol                         # the rubric stage is the policy itself


def test_a_checklist_stage_ranks_by_its_own_total():
    pol = demo_policy(load_policy(None))
    sp = pol.for_stage(SITE)
    scores = site_scores(pol)
    assert set(scores["criterion"]) == {"V1", "V2", "V3", "V4", "S1", "S2", "S3"}
    fields = pd.read_csv(DEMO_DIR / "csv" / "applications.csv", encoding="utf-8-sig", dtype=str)
    field_of = dict(zip(fields.iloc[:, 0], fields["领域"]))
    agg, _ = aggregate_scores(scores.assign(field=scores["application_id"].map(field_of)), sp, "trimmed",
                              interval=False)
    agg["field"] = agg["application_id"].map(field_of)
    assert {"V", "S"} <= set(agg.columns) and "B" not in agg.columns
    out = recognition_ranking(agg, sp)
    ranked = out.dropna(subset=["score"]).sort_values("rank_overall")
    assert len(ranked) == 29 and ranked["score"].is_monotonic_decreasing
    assert set(out["decision"]) <= {"recommend", "cultivation", "not_recommended", "field_has_centre"}


def test_what_if_on_a_checklist_stage_uses_its_instrument():
    pol = demo_policy(load_policy(None))
    scores = site_scores(pol)
    fields = pd.read_csv(DEMO_DIR / "csv" / "applications.csv", encoding="utf-8-sig", dtype=str)
    inp = WhatIfInput(scores, dict(zip(fields.iloc[:, 0], fields["领域"])))
    out, used, _ = rank_scenario(inp, pol, Scenario(), resamples=20)
    assert used.rubric is pol.instrument(SITE) and out["score"].notna().sum() == 29


def test_the_rank_command_ranks_a_checklist_aggregate_by_its_stage(tmp_path, capsys):
    """`reviewer aggregate --panel 现场考察` then `reviewer rank`: the table names its stage (panel column), so the
    ranking uses the checklist (was: "missing column(s) ['B', 'E']"); naming the rubric stage instead is refused
    with the missing families named."""
    from tests.test_store_support import run_cli
    agg = tmp_path / "site.csv"
    code, out = run_cli(["aggregate", str(DEMO_DIR / "scores.csv"), "--panel", SITE, "--out", str(agg),
                         "--no-interval"], capsys)
    assert code == 0, out
    code, out = run_cli(["rank", str(agg), "--out", str(tmp_path / "rank.csv")], capsys)
    assert code == 0, out
    r = pd.read_csv(tmp_path / "rank.csv", encoding="utf-8-sig")
    assert len(r) == 29 and r["score"].notna().all() and "B" not in r.columns
    code, out = run_cli(["rank", str(agg), "--stage", "认定评审"], capsys)
    assert code != 0 and "缺少列 B、E" in out and "--stage" in out and "Traceback" not in out
    code, out = run_cli(["rank", str(agg), "--stage", "复审"], capsys)
    assert code != 0 and "复审" in out and "Traceback" not in out
