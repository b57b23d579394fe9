"""`solve(problem, options) -> Plan`: picks the solver path and builds the Plan."""
from __future__ import annotations

import time

import numpy as np

from .compile import Compiled, compile_problem, values_at
from .cpsat import build_model, solve_model
from .diagnose import core_diagnostics, precheck
from .flow import non_flow_parts, solve_flow, violates
from .model import FEASIBLE, INFEASIBLE, OPTIMAL, UNKNOWN, Plan, PanelProblem, SolveOptions, StagePlan


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


def _infeasible(comp, path, t0, options, extra=()):
    diags = list(extra)
    if options.diagnose:
        diags = precheck(comp) or diags
        if not diags:
            diags = core_diagnostics(comp, time_limit=min(20.0, options.time_limit))
    return make_plan(comp, [], INFEASIBLE, path, wall=time.perf_counter() - t0, seed=options.seed,
                     diagnostics=diags)


def solve_compiled(comp: Compiled, options: SolveOptions, t0=None, hint_cols=None, cost=None) -> Plan:
    t0 = time.perf_counter() if t0 is None else t0
    info = {"columns": comp.n_cols, "panels": comp.P}
    if comp.diagnostics:
        return _infeasible(comp, "precheck", t0, options)
    if options.diagnose:
        pre = precheck(comp)
        if pre:
            return make_plan(comp, [], INFEASIBLE, "precheck", wall=time.perf_counter() - t0,
                             seed=options.seed, diagnostics=pre, info=info)
    parts = non_flow_parts(comp)
    flow_res = None
    if options.method in ("auto", "min_cost_flow"):
        tf = time.perf_counter()
        flow_res = solve_flow(comp, cost=cost, parts=parts)
        info["flow_time"] = time.perf_counter() - tf
        info["flow_arcs"] = flow_res.n_arcs
        if flow_res.status == "INFEASIBLE":
            return _infeasible(comp, "min_cost_flow", t0, options)
        ok = not violates(comp, flow_res.cols, parts[0]) and not violates(comp, flow_res.cols, parts[1])
        if ok:
            if flow_res.dropped:
                info["flow_relaxation_verified"] = list(flow_res.dropped)
            return make_plan(comp, flow_res.cols, OPTIMAL, "min_cost_flow", flow_res.objective_units,
                             flow_res.objective_units, time.perf_counter() - t0, options.seed, info)
        if options.method == "min_cost_flow":
            raise ValueError(f"min_cost_flow cannot represent: {', '.join(flow_res.dropped)}")
        info["flow_relaxation_bound"] = flow_res.objective_units / comp.scale
    use_lp = options.lp_guide if options.lp_guide is not None else options.method != "cp_sat"
    if use_lp:
        from .lpguide import solve_lp_guided
        return solve_lp_guided(comp, options, t0, info, flow_res, cost=cost)
    ctx = build_model(comp, cost=cost)
    info["build_time"] = time.perf_counter() - t0
    hint = hint_cols if hint_cols is not None else (flow_res.cols if flow_res is not None else None)
    res = solve_model(ctx, options.time_limit, options.num_workers, options.seed, options.deterministic,
                      hint_cols=hint, progress=options.progress, log=options.log)
    info["cp_sat_time"] = res.wall
    if res.status in ("OPTIMAL", "FEASIBLE"):
        bound = res.bound_units
        if flow_res is not None:
            bound = min(bound, flow_res.objective_units)
        st = OPTIMAL if res.status == "OPTIMAL" else FEASIBLE
        return make_plan(comp, res.cols, st, "cp_sat", res.objective_units, bound,
                         time.perf_counter() - t0, options.seed, info)
    if res.status == "INFEASIBLE":
        return _infeasible(comp, "cp_sat", t0, options)
    return make_plan(comp, [], UNKNOWN, "cp_sat", wall=time.perf_counter() - t0, seed=options.seed, info=info)


def solve(problem: PanelProblem, options: SolveOptions | None = None) -> Plan:
    """Deterministic optimal plan. Uses the exact min-cost flow when the active rules keep the
    problem a network flow (or when the flow relaxation's answer already satisfies the rest),
    CP-SAT otherwise (LP-guided above `options.lp_guide_min_columns` columns)."""
    options = options or SolveOptions()
    t0 = time.perf_counter()
    comp = compile_problem(problem, options.scale, options.stages)
    return solve_compiled(comp, options, t0)
