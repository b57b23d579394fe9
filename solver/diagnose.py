"""Plain-language reasons for infeasibility (Chinese and English), family by family of the registry.

1. `precheck`: each family's conditions that every plan needs (solver.precheck_rules): first the
   rules and locks alone (contradictory minima, locked seats that are no candidate), then counts
   (per panel: eligible experts after exclusions, per category, tech+industry, field-matched
   technical, chair-eligible, distinct employers; per stage: load capacity vs seats, per category
   capacity, locks vs caps). Any failure is a proof of infeasibility.
2. `core_diagnostics`: when the counts pass but no plan exists, CP-SAT with one assumption literal
   per (family, panel), (family, stage) or (family, application) returns a sufficient set of
   clashing groups.
3. `infeasible_plan`: the INFEASIBLE Plan of a solver path, with those reasons.
"""
from __future__ import annotations

import time

from .compile import Compiled
from .cpsat import build_model, solve_model
from .families import FAMILIES, family
from .model import INFEASIBLE, Diagnostic, Plan, SolveOptions
from .plans import make_plan
from .precheck_rules import counts_by_node, locks_that_cannot_sit


def precheck(comp: Compiled) -> list:
    """Diagnostics of the conditions that fail (empty list = the counts allow a plan)."""
    out = []
    for f in FAMILIES:
        if f.rules_check is not None:
            out += [Diagnostic(f.name, *x) for x in f.rules_check(comp)]
        if f.lock_reasons:
            out += [Diagnostic(f.name, *x) for x in locks_that_cannot_sit(comp, f.lock_reasons)]
    if out:
        return out
    cnt = counts_by_node(comp)
    for f in FAMILIES:
        if f.precheck is not None:
            out += [Diagnostic(f.name, *x) for x in f.precheck(comp, cnt)]
    return out


def core_diagnostics(comp: Compiled, time_limit=20.0) -> list:
    """CP-SAT assumption core over (family, key) literals, as Diagnostics."""
    ctx = build_model(comp, diagnose=True)
    res = solve_model(ctx, time_limit=time_limit, assumptions=True)
    p = comp.problem
    lab = p.application_label
    out = []
    if res.status != "INFEASIBLE":   # no proof within the time limit: say so rather than nothing
        return [Diagnostic("unknown", -1, -1, -1,
                           f"未能在 {time_limit:g} 秒内找到无解的具体原因（求解状态 {res.status}）；请检查锁定、禁止和专家数量，或延长时限。",
                           f"No cause of the infeasibility was found within {time_limit:g} s (status {res.status}); "
                           "check the locks, forbids and the number of experts, or allow more time.", {})]
    for name, key in res.core:
        f = family(name)
        zh, en = f.label_zh, f.label_en
        if f.core_scope == "stage":
            s = int(key)
            out.append(Diagnostic(f.name, s, -1, -1, f"{p.stages[s].name}：{zh}约束与其他规则冲突。",
                                  f"{p.stages[s].name}: the {en} rule clashes with the other rules.", {}))
        elif f.core_scope == "application":
            a = int(key)
            out.append(Diagnostic(f.name, -1, a, -1, f"申请 {lab(a)}：{zh}约束与其他规则冲突。",
                                  f"Application {lab(a)}: the {en} rule clashes with the other rules.", {}))
        else:
            i = int(key)
            s, a = int(comp.panel_stage[i]), int(comp.panel_app[i])
            n_el = int((comp.col_panel == i).sum())
            out.append(Diagnostic(f.name, s, a, -1,
                                  f"{p.stages[s].name}：申请 {lab(a)} 的“{zh}”规则无法与其他规则同时满足（可选专家 {n_el} 名）。",
                                  f"{p.stages[s].name}: application {lab(a)}: the {en} rule cannot hold together with "
                                  f"the others ({n_el} eligible experts).", {"eligible": n_el}))
    if not out:
        out.append(Diagnostic("unknown", -1, -1, -1, "规则组合无解，但未能定位具体原因。",
                              "The rules have no solution together; no smaller cause was found.", {}))
    return out


def infeasible_plan(comp: Compiled, path: str, t0: float, options: SolveOptions, extra=()) -> Plan:
    """The INFEASIBLE Plan of `path`, with the pre-check's reasons or else the CP-SAT core's
    (when options.diagnose)."""
    diags = list(extra)
    if options.diagnose:
        diags = precheck(comp) or diags
        if not diags:
            diags = core_diagnostics(comp, time_limit=min(20.0, options.time_limit))
    return make_plan(comp, [], INFEASIBLE, path, wall=time.perf_counter() - t0, seed=options.seed,
                     diagnostics=diags)
