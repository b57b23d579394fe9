"""Independent checker: every hard rule of the registry, recomputed from the PanelProblem and the
plan's seats (the rules themselves: solver.check_rules, written with no code shared with the model)."""
from __future__ import annotations

from .check_rules import plan_view
from .families import FAMILIES
from .model import PanelProblem, Plan, Violation


def check_plan(problem: PanelProblem, plan: Plan, stages=None) -> list:
    """List of Violation for every hard rule the plan breaks (empty list = valid), family by family
    in registry order.

    `stages`: stage indices to check (default: every stage of the problem with at least one seat
    in the plan).
    """
    view = plan_view(problem, plan, stages)
    return [Violation(f.name, *breach) for f in FAMILIES for breach in f.check(view)]
