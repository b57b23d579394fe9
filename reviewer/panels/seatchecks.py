"""Questions about seats that the independent checker (and the solver's compiled rules) answer, for
the store's guards and replacements: one truth per rule, never re-derived outside solver/.

    finding_ids(check, v) / finding_line(check, v)       a checker finding as ids / as staff read it
    chair_candidates(data, policy, stage, app, members)  who of a panel the checker accepts as 组长
    check_data_change(old, new, policy, seats)           seats that stay, under changed records (re-import)
    lock_composition(data, policy, stage, app, locked)   can the locked experts sit on one panel together
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import numpy as np
import pandas as pd

from reviewer.conflicts.detector import ConflictSet
from reviewer.intake.model import RoundData
from reviewer.panels.problem import PlanningInput, plan_from_panels
from reviewer.panels.service import (
    Seat,
    SeatCheck,
    check_seats,
    planning_input,
    stage_applications,
)
from reviewer.policy import Policy
from solver import Violation, check_plan
from solver.compile import compile_problem, required_size
from solver.families import BY_NAME as FAMILIES_BY_NAME
from solver.families import node_families


def finding_ids(check: SeatCheck, v: Violation) -> tuple[str, str, str, str]:
    """A finding of the checker as ids: (rule, stage, application_id, expert_id), "" where it names none."""
    inp = check.result.inp
    return (v.rule, inp.stage_names[v.stage] if 0 <= v.stage < len(inp.stage_names) else "",
            inp.applications[v.application].application_id if v.application >= 0 else "",
            inp.experts[v.expert].expert_id if v.expert >= 0 else "")


def finding_line(check: SeatCheck, v: Violation) -> str:
    """A finding as staff read it: "rule (中文名): stage application expert: what"."""
    rule, *where = finding_ids(check, v)
    label = FAMILIES_BY_NAME[rule].label_zh if rule in FAMILIES_BY_NAME else rule
    return f"{rule} ({label}): {' '.join(x for x in where if x)}: {v.message}"


def check_data_change(old: RoundData, new: RoundData, policy: Policy, seats: pd.DataFrame, *,
                      locks: Iterable[Seat] = (), forbids: Iterable[Seat] = (), fixed: Iterable[Seat] = ()
                      ) -> tuple[SeatCheck, list[Violation]]:
    """Seats that stay (published panels) checked under changed records (a re-import): the
    independent checker's findings with `new` that it does not make with `old` (compared by ids), so
    a record change that breaks any hard rule of a seat (a chair no longer senior, a category that
    changed, an expert no longer available, a new conflict) is found by the same checker as a plan.
    Every id of `seats` must exist in both; `fixed` seats of an expert or application that `new` no
    longer has are left out (a plan not yet published cannot hold them)."""
    experts = {e.expert_id for e in new.experts} & {e.expert_id for e in old.experts}
    apps = {a.application_id for a in new.applications} & {a.application_id for a in old.applications}
    fixed = [x for x in fixed if x[1] in experts and x[2] in apps]
    before = check_seats(old, policy, seats, locks=locks, forbids=forbids, fixed=fixed)
    after = check_seats(new, policy, seats, locks=locks, forbids=forbids, fixed=fixed)
    known = {finding_ids(before, v) for v in before.violations}
    return after, [v for v in after.violations if finding_ids(after, v) not in known]


LEAF_ZH = {"matched_technical": "领域匹配的技术专家", "chair_eligible": "可任组长的技术专家（正高级、领域匹配）",
           "technical_unmatched": "领域不匹配的技术专家", "matched_not_chair": "领域匹配、不能任组长的技术专家"}
MONOTONE_FAMILIES = ("one_per_employer",)   # findings on locked experts alone that more experts never repair


def lock_composition(data: RoundData, policy: Policy, stage: str, application_id: str, locked: Iterable[str], *,
                     conflicts: ConflictSet | None = None) -> list[tuple[str, str]]:
    """Can the experts locked on one panel all sit on it? Asked of the solver's own truth, never
    re-derived: the counting rules (panel size, categories, 技术+产业 share, field-matched technical
    experts, chair: the tree families of solver.families) through the compiled panel template the
    model and the checker share: each locked expert raises the need of its template leaf, and a node
    whose need then exceeds its bound means no plan keeps the node's rule. Rules that more experts
    never repair (one per employer) through `solver.check_plan` on the locked experts alone.
    Returns (rule, text) per finding, Chinese then English; [] when the locks fit."""
    locked = list(dict.fromkeys(str(e) for e in locked))
    if not locked:
        return []
    inp = planning_input(data, policy, {s: [application_id] for s in policy.stages.order},
                         locks=[(stage, e, application_id) for e in locked], conflicts=conflicts)
    s = inp.stage_index(stage)
    comp = compile_problem(inp.problem, stages=[s])
    tpl = comp.tpl
    cols = np.nonzero(comp.col_lock & (comp.col_stage == s))[0]
    lb = tpl.lb.copy()
    for leaf, k in zip(*np.unique(comp.col_leaf[cols], return_counts=True)):
        lb[s, leaf] = max(int(lb[s, leaf]), int(k))
    need, plain = required_size(replace(tpl, lb=lb), s), required_size(tpl, s)
    fams = node_families(tpl)
    who = "、".join(f"{e} {data.expert(e).name}（{_node_zh(tpl, inp, int(leaf))}）"
                    for e, leaf in zip((inp.experts[x].expert_id for x in comp.col_expert[cols]), comp.col_leaf[cols]))
    out = []
    for node in range(tpl.T):
        if need[node] > tpl.ub[s, node]:
            raised = [_node_en(tpl, inp, x) for x in range(tpl.T) if need[x] > plain[x] and x != node]
            out.append((fams[node], f"{stage} 每组 {tpl.ub[s, node]} 个“{_node_zh(tpl, inp, node)}”席位，锁定 {who} 后"
                                    f"至少需要 {need[node]} 个（{FAMILIES_BY_NAME[fams[node]].label_zh}） / a {stage} panel "
                                    f"has {tpl.ub[s, node]} seats for {_node_en(tpl, inp, node)}; with the locked experts it needs "
                                    f"{need[node]} ({', '.join(raised) or _node_en(tpl, inp, node)} raised by the locks)"))
    alone = pd.DataFrame({"stage": stage, "application_id": application_id, "expert_id": locked, "role": "member"})
    plan = plan_from_panels(inp, alone)
    for v in check_plan(inp.problem, plan, stages=[s]):
        if v.rule in MONOTONE_FAMILIES:
            out.append((v.rule, f"锁定的专家 {who} 违反“{FAMILIES_BY_NAME[v.rule].label_zh}” / the locked experts break "
                                f"{v.rule}: {v.message}"))
    return out


def _node_zh(tpl, inp: PlanningInput, node: int) -> str:
    name = tpl.names[node]
    if name.startswith("category:"):
        return inp.problem.category_names[int(tpl.category[node])] + "专家"
    return {"panel": "专家", "tech_industry": "技术+产业专家"}.get(name, LEAF_ZH.get(name, name))


def _node_en(tpl, inp: PlanningInput, node: int) -> str:
    name = tpl.names[node]
    if name.startswith("category:"):
        return inp.problem.category_names[int(tpl.category[node])] + " experts"
    return {"panel": "experts", "tech_industry": "technical+industry experts"}.get(name, name.replace("_", " "))


CHAIR_RULE = "chair"


def chair_candidates(data: RoundData, policy: Policy, stage: str, application_id: str, members: Iterable[str], *,
                     conflicts: ConflictSet | None = None) -> list[str]:
    """The members of one panel (in the order given) whom the independent checker accepts as its
    组长: with that member as chair, `solver.check_plan` finds nothing under the `chair` family
    (solver.families). The one test of who may chair, used when a chair leaves a published panel."""
    members = [str(m) for m in members]
    if not members:
        return []
    panel = pd.DataFrame({"stage": stage, "application_id": application_id, "expert_id": members, "role": "member"})
    inp = planning_input(data, policy, stage_applications(policy, panel), conflicts=conflicts)
    idx = [inp.stage_index(stage)]
    out = []
    for m in members:
        trial = panel.assign(role=["chair" if x == m else "member" for x in members])
        if not any(v.rule == CHAIR_RULE for v in check_plan(inp.problem, plan_from_panels(inp, trial), stages=idx)):
            out.append(m)
    return out
