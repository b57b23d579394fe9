"""Advancement between stages (issue 17 part 1; policy [stages.gates], reviewer.stage_gates).

From a stage's aggregated scores (one row per application: score, status, field) and its criterion
scores, :func:`advancement_proposal` proposes who advances to the next stage, each row with its reason
in Chinese and English, in this order:

1. ``vetoed`` (一票否决) — a veto item of the stage's instrument (e.g. 申报材料真实完整) scored 0 on more
   than ``veto_share`` of the application's returned sheets: out, whatever its total (:func:`vetoes`);
2. ``insufficient_scores`` (评分不足) / ``not_scored`` — below the quorum or no score: not advanced;
3. ``below_pass_line`` — aggregated total below ``pass_line``;
4. ``outside_top_k`` — passes the line but is not among the best ``top_k_per_field`` of its field
   (order: score descending, then application id);
5. ``advance``.

The proposal is what staff confirm (`reviewer stage advance`); the store records the confirmed list
(reviewer.store.stages) and planning the next stage takes only the applications that advanced.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from reviewer.policy import Policy
from reviewer.scoring.quorum import STATUS_INSUFFICIENT
from reviewer.scoring.scores import APP, EXPERT, SCORE

__all__ = ["OUTCOMES", "vetoes", "advancement_proposal"]

OUTCOMES = {
    "advance": ("晋级", "advances"),
    "vetoed": ("一票否决", "vetoed"),
    "insufficient_scores": ("评分不足，未晋级", "insufficient scores, not advanced"),
    "not_scored": ("无有效评分，未晋级", "no valid score, not advanced"),
    "below_pass_line": ("未达晋级分数线", "below the pass line"),
    "outside_top_k": ("未进入本领域前列", "not among the best of its field"),
}
PROPOSAL_COLUMNS = [APP, "field", SCORE, "rank_in_field", "outcome", "advance", "outcome_zh", "reason_zh",
                    "reason_en"]


def vetoes(scores: pd.DataFrame, policy: Policy, stage: str) -> dict[str, str]:
    """application_id -> the veto reason (zh / en), for the applications whose panel scored a veto item of
    `stage`'s instrument 0 on more than the gate's veto_share of their sheets. `scores`: long criterion
    scores of the stage (expert_id, application_id, criterion, score)."""
    inst, share = policy.instrument(stage), policy.gate(stage).veto_share
    veto_items = {c.id: c.name for c in inst.criteria if c.veto}
    if not veto_items or scores.empty or "criterion" not in scores.columns:
        return {}
    valid = scores.dropna(subset=[SCORE])
    sheets = valid.groupby(APP)[EXPERT].nunique()
    zero = valid[valid["criterion"].isin(veto_items) & (valid[SCORE] <= 0)]
    out: dict[str, str] = {}
    for (app, crit), g in zero.groupby([APP, "criterion"], sort=True):
        n, total = g[EXPERT].nunique(), int(sheets.get(app, 0))
        if total and n > share * total and app not in out:
            out[app] = (f"{stage}核查项“{veto_items[crit]}”（{crit}）不属实：{n}/{total} 位专家评 0 分，一票否决 / "
                        f"{stage} verification item {crit} found untrue by {n} of {total} experts: vetoed")
    return out


def advancement_proposal(agg: pd.DataFrame, policy: Policy, stage: str, *, vetoed: dict[str, str] | None = None,
                         applications: Iterable[str] = (), fields: dict[str, str] | None = None) -> pd.DataFrame:
    """Who advances from `stage` (see the module doc): one row per application of `agg` and of
    `applications` (the stage's applications; one without a row in `agg` is not scored), best first."""
    gate, vetoed, fields = policy.gate(stage), vetoed or {}, fields or {}
    d = agg.copy() if not agg.empty else pd.DataFrame(columns=[APP, SCORE])
    extra = [a for a in dict.fromkeys(applications) if a not in set(d[APP])]
    if extra:
        d = pd.concat([d, pd.DataFrame({APP: extra})], ignore_index=True)
    d[SCORE] = pd.to_numeric(d[SCORE], errors="coerce") if SCORE in d else np.nan
    if "field" not in d.columns:
        d["field"] = None
    d["field"] = [fields.get(a, f) for a, f in zip(d[APP], d["field"])]
    status = d["status"].astype(str) if "status" in d.columns else pd.Series([""] * len(d), index=d.index)
    d = d.sort_values([SCORE, APP], ascending=[False, True], na_position="last", kind="mergesort")
    outcome, rzh, ren, place = [], [], [], []
    kept: dict[str, int] = {}
    line = gate.pass_line
    for i, x in d.iterrows():
        a, s, f = x[APP], x[SCORE], x["field"]
        scored = np.isfinite(s) if s is not None else False
        rank = None
        if scored and a not in vetoed and status[i] != STATUS_INSUFFICIENT and (line is None or s >= line):
            kept[f] = kept.get(f, 0) + 1
            rank = kept[f]
        place.append(rank)
        if a in vetoed:
            o, zh, en = "vetoed", vetoed[a].split(" / ")[0], vetoed[a].split(" / ")[-1]
        elif status[i] == STATUS_INSUFFICIENT:
            o, zh, en = "insufficient_scores", "评分不足，不予晋级", "below the quorum: not advanced"
        elif not scored:
            o, zh, en = "not_scored", "无有效汇总得分", "no aggregated score"
        elif line is not None and s < line:
            o, zh, en = "below_pass_line", f"得分 {s:g} < 晋级线 {line:g}", f"score {s:g} below the pass line {line:g}"
        elif gate.top_k_per_field and rank > gate.top_k_per_field:
            o = "outside_top_k"
            zh = f"得分 {s:g}，本领域第 {rank} 名，每领域晋级 {gate.top_k_per_field} 名"
            en = f"score {s:g}, {rank} in its field; {gate.top_k_per_field} per field advance"
        else:
            o = "advance"
            zh = f"得分 {s:g}" + (f" ≥ 晋级线 {line:g}" if line is not None else "") + \
                (f"，本领域第 {rank} 名" if gate.top_k_per_field else "")
            en = f"score {s:g}" + (f" >= pass line {line:g}" if line is not None else "") + \
                (f", {rank} in its field" if gate.top_k_per_field else "")
        outcome.append(o)
        rzh.append(zh)
        ren.append(en)
    d["rank_in_field"] = pd.array(place, dtype="Int64")
    d["outcome"] = outcome
    d["advance"] = [o == "advance" for o in outcome]
    d["outcome_zh"] = [OUTCOMES[o][0] for o in outcome]
    d["reason_zh"] = rzh
    d["reason_en"] = ren
    return d[PROPOSAL_COLUMNS].reset_index(drop=True)


def families(policy: Policy, stages: pd.Series, criteria: pd.Series) -> list[str]:
    """The rubric family of each (stage, criterion) under the stage's own instrument ("" when unknown)."""
    fam = {(st, c.id): policy.instrument(st).family_of(c.id) for st in policy.stages.order
           for c in policy.instrument(st).criteria}
    base = {c.id: policy.rubric.family_of(c.id) for c in policy.rubric.criteria}
    return [fam.get((s, c), base.get(c, "") if s not in policy.stages.order else "") for s, c in zip(stages, criteria)]
