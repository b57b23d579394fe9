"""Build a `Plan` from chosen columns of a compiled problem, and pick each panel's chair.

Shared by every solver path (flow, LP-guided, CP-SAT, lottery draws, repair)."""
from __future__ import annotations

import numpy as np

from .arrays import values_at
from .compile import Compiled
from .model import OPTIMAL, PanelProblem, Plan, StagePlan


def pick_chairs(problem: PanelProblem, stage: int, experts, apps):
    """Chair of each panel: the chair-eligible member (can_chair, technical, field-matched) with the
    highest affinity (ties: lowest expert index); -1 if none."""
    experts = np.asarray(experts, dtype=np.int64)
    apps = np.asarray(apps, dtype=np.int64)
    uapps = np.unique(apps)
    chairs = np.full(len(uapps), -1, dtype=np.int64)
    r = problem.rules
    if r.technical_category < 0 or problem.expert_can_chair is None or len(experts) == 0:
        return uapps, chairs
    cat = np.asarray(problem.expert_category)
    ok = (cat[experts] == r.technical_category) & np.asarray(problem.expert_can_chair, dtype=bool)[experts]
    ok &= values_at(problem.field_match, experts, apps, False).astype(bool)
    aff = values_at(problem.affinity, experts, apps, 0.0).astype(np.float64)
    for k, a in enumerate(uapps.tolist()):
        m = np.nonzero((apps == a) & ok)[0]
        if len(m):
            best = m[np.lexsort((experts[m], -aff[m]))[0]]
            chairs[k] = experts[best]
    return uapps, chairs


def make_plan(comp: Compiled, cols, status, path, objective_units=None, bound_units=None, wall=0.0, seed=0,
              info=None, diagnostics=(), marginals=None) -> Plan:
    """The Plan of the chosen columns `cols` (stages not solved keep their fixed seats)."""
    p = comp.problem
    S = len(p.stages)
    cols = np.asarray(cols, dtype=np.int64)
    stages = []
    load = np.zeros((S, p.n_experts), dtype=np.int64)
    for s in range(S):
        if s in comp.solve_stages:
            m = comp.col_stage[cols] == s
            ex, ap = comp.col_expert[cols[m]], comp.col_app[cols[m]]
        elif s in comp.fixed:
            ex, ap = comp.fixed[s]
        else:
            ex = ap = np.zeros(0, dtype=np.int64)
        o = np.lexsort((ex, ap))
        ex, ap = ex[o], ap[o]
        ca, ch = pick_chairs(p, s, ex, ap)
        stages.append(StagePlan(s, p.stages[s].name, ex, ap, ca, ch))
        np.add.at(load[s], ex, 1)
    br = comp.objective_points(cols) if len(cols) else {}
    obj = br.get("total", float("nan"))
    bound = float("nan")
    if bound_units is not None and np.isfinite(bound_units):
        bound = max(float(bound_units) / comp.scale, obj) if status == OPTIMAL else float(bound_units) / comp.scale
    if status == OPTIMAL:
        bound = obj if not np.isfinite(bound) else bound
    gap = float("nan")
    if np.isfinite(bound) and np.isfinite(obj):
        gap = max(0.0, (bound - obj) / max(1e-9, abs(bound)))
        if status == OPTIMAL:
            gap = 0.0
    return Plan(status, path, tuple(stages), obj, bound, gap, br, load, wall, seed, marginals, tuple(diagnostics),
                dict(info or {}))


def plan_columns(comp: Compiled, plan: Plan) -> np.ndarray:
    """Sorted column indices of `comp` that the plan's seats of the solved stages use."""
    E, A = comp.problem.n_experts, comp.problem.n_applications
    key = (comp.col_stage * E + comp.col_expert) * A + comp.col_app
    want = []
    for s in comp.solve_stages:
        st = plan.stages[s]
        want.append((s * E + st.experts) * A + st.applications)
    want = np.concatenate(want) if want else np.zeros(0, dtype=np.int64)
    return np.sort(np.nonzero(np.isin(key, want))[0])
