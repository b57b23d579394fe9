"""Former home of panel planning, kept while callers move to the planning service.

Everything here is a name of `reviewer.panels.problem` (records -> solver arrays),
`reviewer.panels.tables` (plan -> tables) or `reviewer.panels.service` (the one planning path),
and two thin delegations with the old signatures:

    plan_round(data, policy, stages=..., ...)      -> service.plan(data, policy, PlanParams.for_policy(...))
    repair_published(data, policy, panels, ...)    -> service.repair(data, policy, panels, ...)

New code imports from those modules; this one goes when no caller uses it.
"""
from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from reviewer.conflicts.detector import ConflictSet
from reviewer.intake.model import RoundData
from reviewer.panels.problem import (PlanningInput, build_problem, objective_weights, panel_rules,
                                     plan_from_panels)
from reviewer.panels.service import (PlanParams, PlanResult, RepairResult, draw_round, echo_progress, outcome_lines,
                                     plan, repair, repair_round, solve_round)
from reviewer.panels.tables import (ROLE_ZH, coverage_table, diagnostics_table, loads_table, panels_table,
                                    summary_table)
from reviewer.policy import Policy

__all__ = ["PlanningInput", "build_problem", "objective_weights", "panel_rules", "plan_from_panels", "PlanResult",
           "RepairResult", "draw_round", "repair_round", "solve_round", "ROLE_ZH", "coverage_table",
           "diagnostics_table", "loads_table", "panels_table", "summary_table", "plan_round", "repair_published"]


def plan_round(data: RoundData, policy: Policy, stages: list[str] | None = None, seed: int = 0,
               randomize: bool = False, time_limit: float = 30.0, include_review: bool = False,
               locks=(), forbids=(), fixed=(), echo: Callable[[str], None] = lambda s: None,
               screening=None, conflicts: ConflictSet | None = None) -> PlanResult:
    """The CLI's file mode and the demo (two solver workers, progress and outcome echoed):
    `reviewer.panels.service.plan` with these parameters."""
    params = PlanParams.for_policy(policy, stages, seed=seed, randomize=randomize, time_limit=time_limit,
                                   workers=2, include_review=include_review, locks=tuple(locks),
                                   forbids=tuple(forbids), fixed=tuple(fixed))
    result = plan(data, policy, params, screening=screening, conflicts=conflicts, echo=echo,
                  progress=echo_progress(echo))
    for line in outcome_lines(result):
        echo(line)
    return result


def repair_published(data: RoundData, policy: Policy, panels: pd.DataFrame,
                     removed: Iterable[tuple[str, str, str | None]], time_limit: float = 30.0,
                     locks=(), forbids=(), conflicts: ConflictSet | None = None) -> tuple[PlanResult, RepairResult]:
    """`reviewer.panels.service.repair` with the old positional signature."""
    return repair(data, policy, panels, removed, time_limit=time_limit, locks=locks, forbids=forbids,
                  conflicts=conflicts)
