"""Repair a published plan with the fewest changes, and rank alternates (候补) per panel.

`repair` re-solves only the stages that lost a seat; the other stages are fixed. Each seat of
the old plan that is kept earns a bonus larger than any possible difference in the objective, so
the solver first maximises the number of kept seats (= minimises changed seats) and only then the
usual objective (lexicographic). The same exact paths run (flow / LP-guided).
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .arrays import values_at
from .check import check_plan
from .compile import compile_problem
from .engine import solve_compiled
from .model import PanelProblem, Plan, SolveOptions, StagePlan
from .plans import pick_chairs


def repair(problem: PanelProblem, plan: Plan, removed, options: SolveOptions | None = None,
           n_alternates: int = 5):
    """Replace vacated seats with minimal change.

    removed: iterable of (stage, expert, application); application -1 = the expert drops out of
        the whole stage (declined / unavailable). The removed seats become forbidden.
    Returns (new Plan with path "repair:<path>", info dict with changed seats, alternates).
    The new plan's info has "changed_seats" (number of old seats not kept, removed ones included),
    "added" and "dropped" lists of (stage, expert, application), and "alternates" (see alternates()).
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    removed = [tuple(int(v) for v in r) for r in removed]
    stages_hit = sorted({r[0] for r in removed})
    forbids = list(problem.forbids)
    for (s, e, a) in removed:
        if a >= 0:
            forbids.append((s, e, a))
        else:
            for a2 in np.asarray(problem.stages[s].applications).tolist():
                forbids.append((s, e, int(a2)))
    fixed = []
    for sp_ in plan.stages:
        if sp_.stage not in stages_hit:
            fixed += [(sp_.stage, int(e), int(a)) for e, a in zip(sp_.experts, sp_.applications)]
    p2 = replace(problem, forbids=tuple(forbids), fixed=tuple(fixed))
    old = {(sp_.stage, int(e), int(a)) for sp_ in plan.stages if sp_.stage in stages_hit
           for e, a in zip(sp_.experts, sp_.applications)}
    scale = min(options.scale, 1000)  # keeps the lexicographic bonus inside double precision
    comp0 = compile_problem(p2, scale, stages_hit)
    span = int(np.abs(comp0.col_cost).max(initial=0)) + int(comp0.seg_cost.max(initial=0))
    seats = int(comp0.panel_size.sum())
    bonus = 2 * span * seats + 1
    comp = compile_problem(p2, scale, stages_hit, extra_bonus={k: bonus for k in old})
    new = solve_compiled(comp, replace(options, scale=scale), t0)
    if not new.feasible:
        return replace(new, path="repair:" + new.path), {}
    now = {(sp_.stage, int(e), int(a)) for sp_ in new.stages if sp_.stage in stages_hit
           for e, a in zip(sp_.experts, sp_.applications)}
    # objective without the bonus
    br = new.breakdown
    info = dict(new.info)
    info.update(changed_seats=len(old - now), dropped=sorted(old - now), added=sorted(now - old),
                alternates=alternates(p2, new, n_alternates))
    return replace(new, path="repair:" + new.path, info=info, objective=br.get("total", new.objective),
                   bound=float("nan"), gap=float("nan")), info


def _panel_ok(problem: PanelProblem, s: int, a: int, members) -> bool:
    ex = np.asarray(members, dtype=np.int64)
    ap = np.full(len(ex), a, dtype=np.int64)
    ca, ch = pick_chairs(problem, s, ex, ap)
    st = replace(problem.stages[s], applications=np.array([a]), max_load=10**6, min_load=0)
    stages = list(problem.stages)
    stages[s] = st
    p1 = replace(problem, stages=tuple(stages), locks=(), forbids=(), fixed=())
    plan = Plan("OPTIMAL", "", (StagePlan(s, st.name, ex, ap, ca, ch),))
    return not check_plan(p1, plan, stages=[s])


def alternates(problem: PanelProblem, plan: Plan, n: int = 5) -> list:
    """Ranked alternates per panel: experts not on the panel, not excluded/forbidden, with spare
    load in the stage, who can replace at least one member keeping every panel rule. Ranked by
    affinity (highest first). One dict per panel: stage, application, alternates=[{expert,
    affinity, can_replace: [members]}]."""
    out = []
    E = problem.n_experts
    forb = {(int(s), int(e), int(a)) for (s, e, a) in problem.forbids}
    for sp_ in plan.stages:
        if len(sp_.experts) == 0:
            continue
        s = sp_.stage
        st = problem.stages[s]
        mx = np.broadcast_to(np.asarray(st.max_load), (E,))
        load = np.bincount(sp_.experts, minlength=E)
        for a in np.unique(sp_.applications).tolist():
            members = sp_.panel(a).tolist()
            cand = np.nonzero((load < mx))[0]
            cand = cand[~np.isin(cand, members)]
            if problem.excluded is not None:
                cand = cand[~values_at(problem.excluded, cand, np.full(len(cand), a), False).astype(bool)]
            if problem.barred is not None:
                cand = cand[~values_at(problem.barred, cand, np.full(len(cand), a), False).astype(bool)]
            aff = values_at(problem.affinity, cand, np.full(len(cand), a), 0.0).astype(float)
            order = np.argsort(-aff, kind="stable")
            alts = []
            for i in order.tolist():
                e = int(cand[i])
                if (s, e, a) in forb:
                    continue
                ok = [m for m in members if _panel_ok(problem, s, a, [x for x in members if x != m] + [e])]
                if ok:
                    alts.append({"expert": e, "affinity": float(aff[i]), "can_replace": ok})
                if len(alts) >= n:
                    break
            out.append({"stage": s, "application": a, "alternates": alts})
    return out
