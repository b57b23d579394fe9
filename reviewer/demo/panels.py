"""Demo panels and scores (demo_panels.csv, scores.csv): the round planned and scored stage by stage, as
`reviewer demo` plans it (reviewer.demo.gating).

The generated input tables are read back through the importer (`reviewer.intake.io`), screened
(`reviewer.screening`) and their conflicts found by the conflict detector (`reviewer.conflicts`). Then
each stage in turn is planned by the real planner for the applications that reached it (exact solver, one
worker, seed 0, the earlier stages' seats held fixed), its scores are simulated on those panels (each
stage on its own instrument) and its gate decides who goes on. So the score sheets `reviewer demo` writes
for its plan name the experts whose scores the demo round returns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.gating import Stages, gate, run_stages
from reviewer.intake.io import load_round_from
from reviewer.policy import Policy
from reviewer.screening.eligibility import screen
from solver.model import OPTIMAL

PANEL_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"), ("role", "角色"))
# seats (stage, application_id, expert_id) of every stage so far, the (stage, application) to plant a veto
# on or None -> the simulated long scores of those seats (stage, application_id, expert_id, criterion, score)
Simulate = Callable[[pd.DataFrame, "tuple[str, str] | None"], pd.DataFrame]


def panels_frame(seats: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """demo_panels.csv's rows: stage, application_id, expert_id, role (组长/成员), sorted by stage, application,
    chair first, expert."""
    seats = seats.assign(role=seats["role_zh"])
    stage_rank = {s: i for i, s in enumerate(policy.stages.order)}
    order = pd.DataFrame({"s": seats["stage"].map(stage_rank), "a": seats["application_id"],
                          "r": (seats["role"] != "组长").astype(int), "e": seats["expert_id"]})
    keep = order.sort_values(["s", "a", "r", "e"]).index
    return seats.loc[keep, [k for k, _ in PANEL_COLUMNS]].reset_index(drop=True)


def plan_demo_round(round_dir: Path, policy: Policy, simulate: Simulate) -> tuple[pd.DataFrame, pd.DataFrame, Stages]:
    """(panels of every stage, their simulated scores, the stages' record) for the round whose input
    tables are in `round_dir` (one file per table, as the importer reads them). `policy` must be dated
    (meta.as_of), or conflict windows would depend on today's date. Each stage's plan is the solver's
    proven optimum: the same round and policy give the same panels."""
    if not policy.meta.as_of:
        raise ValueError("the demo policy must be dated (meta.as_of)")
    data, report = load_round_from(round_dir, policy)
    issues = list(report.all_issues)
    if issues:
        raise RuntimeError("the generated demo round does not import cleanly: " + "; ".join(map(str, issues[:5])))
    screening, conflicts = screen(data, policy), detect_conflicts(data, policy)
    veto: list[tuple[str, str]] = []

    def scores_of(stage: str, seats: pd.DataFrame, plant: str | None) -> pd.DataFrame:
        if plant is not None:
            veto[:] = [(stage, plant)]
        sim = simulate(seats[["stage", "application_id", "expert_id"]], veto[0] if veto else None)
        return sim[sim["stage"] == stage].dropna(subset=["score"])[["expert_id", "application_id", "criterion",
                                                                     "score"]]

    stages = run_stages(data, policy, scores_of, screening=screening, conflicts=conflicts)
    for st, p in stages.plans.items():
        if p.plan.status != OPTIMAL:
            raise RuntimeError(f"no optimal demo plan of {st} ({p.plan.status} via {p.plan.path})")
    seats = stages.panels
    scores = simulate(seats[["stage", "application_id", "expert_id"]], veto[0] if veto else None)
    # The final scores (all stages simulated together) must gate as the stage-by-stage ones did, or the
    # demo, gating on the final scores, would plan other panels than these.
    for st, prop in stages.proposals.items():
        mine = seats[seats["stage"] == st]
        final = scores[scores["stage"] == st].dropna(subset=["score"])
        again = gate(st, mine, final, data, policy, sorted(mine["application_id"].unique()))
        if set(again.loc[again["advance"], "application_id"]) != set(prop.loc[prop["advance"], "application_id"]):
            raise RuntimeError(f"{st}: the final simulated scores advance other applications than the stage's own: "
                               f"{again[['application_id', 'score', 'outcome']].to_string()} vs {prop[['application_id', 'score', 'outcome']].to_string()}")
    return panels_frame(seats, policy), scores, stages
