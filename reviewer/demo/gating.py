"""The demo round stage by stage (issue 17 part 1): 初审评估 → 现场考察 → 认定评审.

Each stage is planned for the applications that reached it, the earlier stages' seats held fixed (as the
store plans a gated stage: reviewer.store.stages), then scored with its own instrument (the policy's
[stages.gates]: 初审 and 认定评审 the 100-point rubric, 现场考察 the verification checklist 现场考察核查表),
and its gate decides who goes on (reviewer.scoring.gating). The last stage ranks only what advanced; the
others carry the stage and reason they left with into the ranking.

One loop for both users, so they cannot drift apart: the generator (reviewer.demo.generate) simulates each
stage's scores on the panels just planned (with the planted veto: the best application of 初审 is found
材料不实 by a majority of its site panel), and `reviewer demo` reads the same scores back from the bundled
scores.csv. The planner is the exact solver on one worker (deterministic), so the demo plans exactly the
panels the bundled scores were given on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from reviewer.conflicts.detector import ConflictSet
from reviewer.exports import write_table
from reviewer.intake.model import RoundData
from reviewer.panels import service
from reviewer.panels.service import PlanParams, PlanResult, quiet
from reviewer.policy import Policy
from reviewer.scoring.gating import advancement_proposal, vetoes
from reviewer.scoring.scoretable import aggregate_scores
from reviewer.screening.eligibility import ScreeningResult

Echo = Callable[[str], None]
# stage, every seat planned so far (stage, application_id, expert_id), the application to plant a veto
# on (or None) -> the stage's long criterion scores (expert_id, application_id, criterion, score)
ScoresOf = Callable[[str, pd.DataFrame, "str | None"], pd.DataFrame]
# The planner of the demo: the exact solver, seed 0, one worker (a plan that does not depend on timing).
SOLVER_SEED = 0
WORKERS = 1



@dataclass
class Stages:
    """What the stage-by-stage round gave: each stage's plan and advancement proposal."""
    plans: dict[str, PlanResult] = field(default_factory=dict)
    proposals: dict[str, pd.DataFrame] = field(default_factory=dict)
    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    left: dict[str, str] = field(default_factory=dict)       # application -> why it left (zh / en)
    summary: list[dict] = field(default_factory=list)        # per stage: in, advanced, vetoed, planted
    reached: list[str] = field(default_factory=list)         # the applications of the last stage

    @property
    def panels(self) -> pd.DataFrame:
        """Every stage's seats, in the policy's stage order."""
        # a stage's plan lists the earlier stages' fixed seats too: take each stage's own
        frames = [p.panels[p.panels["stage"] == st] for st, p in self.plans.items() if not p.panels.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plan_stage(data: RoundData, policy: Policy, stage: str, applications: list[str] | None, fixed: pd.DataFrame,
               *, screening: ScreeningResult, conflicts: ConflictSet, time_limit: float = 300.0,
               echo: Echo = quiet, progress: Callable[[dict], None] | None = None) -> PlanResult:
    """Plan `stage` alone for `applications` (None: every eligible one), the seats in `fixed` (earlier
    stages) held as they are."""
    seats = tuple(zip(fixed["stage"], fixed["expert_id"], fixed["application_id"])) if not fixed.empty else ()
    params = PlanParams.for_policy(policy, (stage,), seed=SOLVER_SEED, time_limit=time_limit, workers=WORKERS,
                                   fixed=seats, advanced=((stage, tuple(applications)),) if applications is not None else ())
    return service.plan(data, policy, params, screening=screening, conflicts=conflicts, echo=echo, progress=progress)


def gate(stage: str, seats: pd.DataFrame, scores: pd.DataFrame, data: RoundData, policy: Policy,
         applications: list[str]) -> pd.DataFrame:
    """The advancement proposal of `stage` from its long criterion `scores` (aggregated with the stage's
    instrument, quorum against its `seats`)."""
    fields = {a.application_id: a.field for a in data.applications}
    pol = policy.for_stage(stage)
    agg, _ = aggregate_scores(scores.assign(field=scores["application_id"].map(fields)), pol, pol.aggregation.method,
                              interval=False, panels=seats.groupby("application_id")["expert_id"].apply(list).to_dict())
    return advancement_proposal(agg, policy, stage, vetoed=vetoes(scores, policy, stage), applications=applications,
                                fields=fields)


def veto_target(policy: Policy, stage: str, previous: pd.DataFrame | None) -> str | None:
    """The application the generator plants a veto on in `stage`: the best of the stage before it, when
    `stage` is the site stage and its instrument has veto items."""
    if previous is None or stage != policy.stages.site or not any(c.veto for c in policy.instrument(stage).criteria):
        return None
    went = previous[previous["advance"]]
    return str(went["application_id"].iloc[0]) if not went.empty else None


def run_stages(data: RoundData, policy: Policy, scores_of: ScoresOf, *, screening: ScreeningResult,
               conflicts: ConflictSet, out: Path | None = None, echo: Echo = quiet, time_limit: float = 300.0,
               plan_echo: Echo = quiet) -> Stages:
    """Plan, score and gate every stage in the policy's order (see the module doc)."""
    res = Stages()
    order = policy.stages.order
    current: list[str] | None = None          # None: the first stage takes every eligible application
    previous = None
    for k, st in enumerate(order):
        planned = plan_stage(data, policy, st, current, res.panels, screening=screening, conflicts=conflicts,
                             time_limit=time_limit, echo=plan_echo)
        if not planned.plan.feasible:
            raise RuntimeError(f"{st}: no feasible plan ({planned.plan.status}); see plan_diagnostics")
        res.plans[st] = planned
        seats = planned.panels[planned.panels["stage"] == st]
        apps = sorted(seats["application_id"].unique())
        inst = policy.instrument(st)
        what = "核查表 checklist" if inst is not policy.rubric else "评分细则 rubric"
        echo(f"  {st}: 专家组 planned for {len(apps)} applications ({len(seats)} seats, {planned.plan.status}, "
             f"earlier stages held fixed); 评分 scored with {what}")
        res.scores[st] = scores = scores_of(st, res.panels, veto_target(policy, st, previous))
        if k == len(order) - 1:
            res.summary.append({"stage": st, "in": len(apps)})
            res.reached = apps
            break
        prop = gate(st, seats, scores, data, policy, apps)
        res.proposals[st] = previous = prop
        if out is not None:
            write_table(prop, out, f"advancement_{k + 1}", f"{st}晋级")
        went = prop.loc[prop["advance"], "application_id"].tolist()
        for x in prop[~prop["advance"]].itertuples(index=False):
            res.left[x.application_id] = f"{st}未晋级：{x.reason_zh} / out at {st}: {x.reason_en}"
        n_veto = int((prop["outcome"] == "vetoed").sum())
        echo(f"  {st} 晋级 gate ({policy.gate(st).rule_text()}): {len(apps)} → {len(went)} advance"
             + (f", {n_veto} vetoed 一票否决" if n_veto else ""))
        for x in prop[prop["outcome"] == "vetoed"].itertuples(index=False):
            echo(f"    一票否决 vetoed: {x.application_id}: {x.reason_zh}")
        res.summary.append({"stage": st, "in": len(apps), "advanced": len(went), "vetoed": n_veto})
        current = went
    return res
