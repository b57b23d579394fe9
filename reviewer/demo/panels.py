"""Demo panels (demo_panels.csv): planned by the real planner on the generated round, as
`reviewer demo` plans them.

The generated input tables are read back through the importer (`reviewer.intake.io`), screened
(`reviewer.screening`), their conflicts found by the conflict detector (`reviewer.conflicts`), and
the panels of every stage planned for the applications that pass screening
(`reviewer.panels`, exact solver, one worker, seed 0). The simulated scores are given on
the panels of `DEMO_STAGES`, so the score sheets `reviewer demo` writes for its plan name the
experts whose scores the demo round returns.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reviewer.conflicts.detector import detect_conflicts
from reviewer.intake.io import load_round_from
from reviewer.panels.problem import build_problem
from reviewer.panels.service import solve_round
from reviewer.panels.tables import panels_table
from reviewer.policy import Policy
from reviewer.screening.eligibility import screen
from solver.model import OPTIMAL

DEMO_STAGES = ("现场考察", "认定评审")
PANEL_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"), ("role", "角色"))
# The planner's settings of `reviewer demo` (seed 0), on one worker so the plan does not depend on timing.
_SOLVER_SEED = 0
_TIME_LIMIT = 300.0


def plan_demo_panels(round_dir: Path, policy: Policy, stages: tuple[str, ...] = DEMO_STAGES) -> pd.DataFrame:
    """Panels (stage, application_id, expert_id, role 组长/成员) of `stages` for the round whose input
    tables are in `round_dir` (one file per table, as the importer reads them). `policy` must be
    dated (meta.as_of), or conflict windows would depend on today's date.

    The plan is the solver's proven optimum: the same round and policy give the same panels.
    The affinity cache, if any, is kept in `round_dir`."""
    if not policy.meta.as_of:
        raise ValueError("the demo policy must be dated (meta.as_of)")
    data, report = load_round_from(round_dir, policy)
    issues = list(report.all_issues)
    if issues:
        raise RuntimeError("the generated demo round does not import cleanly: " + "; ".join(map(str, issues[:5])))
    eligible = screen(data, policy).eligible_ids()
    conflicts = detect_conflicts(data, policy)
    inp = build_problem(data, conflicts, policy, stage_applications={s: eligible for s in policy.stages.order},
                        cache_dir=round_dir)
    plan = solve_round(inp, seed=_SOLVER_SEED, time_limit=_TIME_LIMIT, workers=1)
    if plan.status != OPTIMAL:
        why = "; ".join(d.message_en for d in plan.diagnostics)
        raise RuntimeError(f"no optimal demo plan ({plan.status} via {plan.path}){': ' + why if why else ''}")
    seats = panels_table(inp, plan)
    seats = seats[seats["stage"].isin(stages)].assign(role=seats["role_zh"])
    stage_rank = {s: i for i, s in enumerate(policy.stages.order)}
    order = pd.DataFrame({"s": seats["stage"].map(stage_rank), "a": seats["application_id"],
                          "r": (seats["role"] != "组长").astype(int), "e": seats["expert_id"]})
    keep = order.sort_values(["s", "a", "r", "e"]).index
    return seats.loc[keep, [k for k, _ in PANEL_COLUMNS]].reset_index(drop=True)
