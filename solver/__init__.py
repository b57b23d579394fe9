"""Panel assignment optimiser. Takes plain arrays and small dataclasses; knows nothing of files or the app.

Entry points (see README in benchmarks/README_assignment.md for the measured performance):

    solve(problem, options) -> Plan          deterministic optimum (flow / LP-guided / CP-SAT)
    build_lottery(problem, q, options)       lottery over valid plans, seat probability <= q
    draw(problem, q, seed, options) -> Plan  randomized draw from that lottery
    repair(problem, plan, removed, options)  minimal-change replacement + alternates
    check_plan(problem, plan) -> [Violation] independent checker of every hard rule

The hard rules are one registry, solver.families.FAMILIES (HARD_FAMILIES: their names).
Identical experts are solved as one class and split back (solver.symmetry; SolveOptions.symmetry).
"""
from .check import check_plan
from .engine import solve
from .families import FAMILIES, HARD_FAMILIES, Family
from .lottery import Lottery, lottery_from_data, lottery_key, lottery_to_data
from .model import (OBJECTIVE_TERMS, Diagnostic, ObjectiveWeights, PanelProblem, PanelRules, Plan, SolveOptions,
                    StagePlan, StageSpec, Violation)
from .plans import pick_chairs
from .randomized import build_lottery, draw
from .repair import alternates, repair

__all__ = ["solve", "draw", "build_lottery", "Lottery", "lottery_key", "lottery_to_data", "lottery_from_data",
           "repair", "alternates", "check_plan", "pick_chairs", "PanelProblem", "PanelRules", "StageSpec",
           "ObjectiveWeights", "SolveOptions", "Plan", "StagePlan", "Diagnostic", "Violation", "Family", "FAMILIES",
           "HARD_FAMILIES", "OBJECTIVE_TERMS"]
