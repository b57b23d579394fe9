"""Panel assignment optimiser. Takes plain arrays and small dataclasses; knows nothing of files or the app.

Entry points (see README in benchmarks/README_assignment.md for the measured performance):

    solve(problem, options) -> Plan          deterministic optimum (flow / LP-guided / CP-SAT)
    draw(problem, q, seed, options) -> Plan  randomized draw with seat probability <= q
    repair(problem, plan, removed, options)  minimal-change replacement + alternates
    check_plan(problem, plan) -> [Violation] independent checker of every hard rule
"""
from .check import check_plan
from .engine import pick_chairs, solve
from .randomized import Lottery, build_lottery, draw
from .repair import alternates, repair
from .model import (HARD_FAMILIES, OBJECTIVE_TERMS, Diagnostic, ObjectiveWeights, PanelProblem, PanelRules, Plan,
                    SolveOptions, StagePlan, StageSpec, Violation)

__all__ = ["solve", "draw", "build_lottery", "Lottery", "repair", "alternates", "check_plan", "pick_chairs", "PanelProblem", "PanelRules", "StageSpec", "ObjectiveWeights",
           "SolveOptions", "Plan", "StagePlan", "Diagnostic", "Violation", "HARD_FAMILIES", "OBJECTIVE_TERMS"]
