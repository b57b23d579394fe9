"""The demo's stages that gate (issue 17 part 1): 初审评估 → 现场考察 → 认定评审.

Each stage before the last is aggregated with its own instrument and its gate decides who goes on
(reviewer.scoring.gating): a stage scored with the [rubric] uses the demo round's returned scores
(reviewer/data/demo/scores.csv) when it has them, else sheets the demo simulates on its panels (初审评估);
现场考察 by the verification checklist of the policy's [instruments] (现场考察核查表, scored 0 = 不属实 on a
veto item), whose sheets the demo simulates on its planned 现场考察 panels, with one planted veto: the best
application of 初审 is found 材料不实 by a majority of its site panel and leaves the round. The last stage
ranks only what advanced; the others carry the stage and reason they left with into the ranking.

The demo's panels are planned for all stages at once before any score exists (the bundled scores were
simulated on that plan); the store plans each stage from the recorded advancement (reviewer.store.stages).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from reviewer.demo.scores import simulate_scores
from reviewer.exports import write_table
from reviewer.intake.model import RoundData
from reviewer.policy import Policy
from reviewer.scoring.gating import advancement_proposal, vetoes
from reviewer.scoring.scoretable import aggregate_scores

SITE_CHECKLIST = "现场考察核查表"
Echo = Callable[[str], None]


def site_checklist_policy(policy: Policy) -> Policy:
    """`policy` with its site stage scored by the verification checklist when the policy defines it."""
    site = policy.stages.site
    gate = policy.gate(site) if site else None
    if gate is None or gate.instrument or SITE_CHECKLIST not in policy.instruments:
        return policy
    gates = {**policy.stages.gates, site: gate.model_copy(update={"instrument": SITE_CHECKLIST})}
    return policy.model_copy(update={"stages": policy.stages.model_copy(update={"gates": gates})})


def _stage_scores(stage: str, seats: pd.DataFrame, returned: pd.DataFrame, data: RoundData, policy: Policy,
                  plant_veto: str | None, seed: int) -> tuple[pd.DataFrame, dict]:
    """Long criterion scores of `stage` on `seats`: the returned ones when the stage is scored with the
    [rubric], else simulated with the stage's instrument (and the planted veto on `plant_veto`)."""
    mine = returned[(returned["panel"] == stage) & returned["application_id"].isin(set(seats["application_id"]))]
    if policy.instrument(stage) is policy.rubric and not mine.empty:
        return mine[["expert_id", "application_id", "criterion", "score"]], {}
    apps = pd.DataFrame([a.model_dump(exclude={"members", "platforms"}) for a in data.applications])
    experts = pd.DataFrame([e.model_dump() for e in data.experts])
    sim = simulate_scores(seats[["stage", "application_id", "expert_id"]], apps, experts, policy.for_stage(stage), seed)
    planted: dict = {}
    if plant_veto is not None:
        panel = sorted(seats.loc[seats["application_id"] == plant_veto, "expert_id"])
        liars = panel[: len(panel) // 2 + 1]                   # a majority finds the materials untrue
        veto = next(c.id for c in policy.instrument(stage).criteria if c.veto)
        m = (sim["application_id"] == plant_veto) & sim["expert_id"].isin(liars) & (sim["criterion"] == veto)
        sim.loc[m, "score"] = 0.0
        planted = {"application_id": plant_veto, "criterion": veto, "experts": liars}
    return sim.dropna(subset=["score"])[["expert_id", "application_id", "criterion", "score"]], planted


def gate_stages(panels: pd.DataFrame, returned: pd.DataFrame, data: RoundData, policy: Policy, out: Path,
                echo: Echo, seed: int = 0) -> tuple[list[str], dict[str, str], list[dict]]:
    """Run the gates of every stage but the last on the planned `panels` (stage, application_id, expert_id)
    with the `returned` scores (validated, column panel). Returns (the applications that reach the last
    stage, application -> why it left, one summary per stage)."""
    pol = site_checklist_policy(policy)
    order = pol.stages.order
    fields = {a.application_id: a.field for a in data.applications}
    current = sorted(panels.loc[panels["stage"] == order[0], "application_id"].unique())
    left: dict[str, str] = {}
    summary: list[dict] = []
    best = None
    for st in order[:-1]:
        seats = panels[(panels["stage"] == st) & panels["application_id"].isin(set(current))]
        plant = best if st == pol.stages.site and pol.instrument(st) is not pol.rubric else None
        scores, planted = _stage_scores(st, seats, returned, data, pol, plant, seed)
        stage_pol = pol.for_stage(st)
        agg, _ = aggregate_scores(scores.assign(field=scores["application_id"].map(fields)), stage_pol,
                                  stage_pol.aggregation.method, interval=False,
                                  panels=seats.groupby("application_id")["expert_id"].apply(list).to_dict())
        prop = advancement_proposal(agg, pol, st, vetoed=vetoes(scores, pol, st), applications=current, fields=fields)
        write_table(prop, out, f"advancement_{order.index(st) + 1}", f"{st}晋级")
        went = prop.loc[prop["advance"], "application_id"].tolist()
        for x in prop[~prop["advance"]].itertuples(index=False):
            left[x.application_id] = f"{st}未晋级：{x.reason_zh} / out at {st}: {x.reason_en}"
        n_veto = int((prop["outcome"] == "vetoed").sum())
        inst = "验证核查表 checklist" if stage_pol.rubric is not pol.rubric else "评分细则 rubric"
        echo(f"  {st}（{inst}，{pol.gate(st).rule_text()}）: {len(current)} → {len(went)} advance"
             + (f", {n_veto} vetoed" if n_veto else ""))
        for x in prop[prop["outcome"] == "vetoed"].itertuples(index=False):
            echo(f"    一票否决 vetoed: {x.application_id}: {x.reason_zh}")
        summary.append({"stage": st, "in": len(current), "advanced": len(went), "vetoed": n_veto, "planted": planted})
        ranked = prop[prop["advance"]]
        best = ranked["application_id"].iloc[0] if not ranked.empty else None
        current = went
    summary.append({"stage": order[-1], "in": len(current)})
    return current, left, summary
