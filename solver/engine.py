"""`solve(problem, options) -> Plan`: picks the solver path and builds the Plan."""
from __future__ import annotations

import time
from dataclasses import replace

from .compile import Compiled, compile_problem
from .cpsat import build_model, solve_model
from .diagnose import infeasible_plan, precheck
from .families import family
from .flow import non_flow_parts, solve_flow, violates
from .lpguide import solve_lp_guided
from .model import FEASIBLE, INFEASIBLE, OPTIMAL, UNKNOWN, PanelProblem, Plan, SolveOptions
from .plans import make_plan, pick_chairs
from .symmetry import AGGREGATED_TIME_SHARE, aggregated, split_plan

__all__ = ["solve", "solve_compiled", "make_plan", "pick_chairs"]


def solve_compiled(comp: Compiled, options: SolveOptions, t0=None, hint_cols=None, cost=None,
                   restricted: bool = True) -> Plan:
    """The plan of a compiled problem. `restricted`: out of time without a plan, the LP-guided path may
    fall back to the restricted flow (solver.flow.restricted_flow; not for an aggregated problem,
    solver.symmetry, whose caller falls back to the plain problem instead)."""
    t0 = time.perf_counter() if t0 is None else t0
    info = {"columns": comp.n_cols, "panels": comp.P}
    if comp.bad_locks:
        return infeasible_plan(comp, "precheck", t0, options)
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
            return infeasible_plan(comp, "min_cost_flow", t0, options)
        ok = not any(violates(comp, flow_res.cols, groups, family(name).per_expert)
                     for name, groups in parts.dropped.items())
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
        return solve_lp_guided(comp, options, t0, info, flow_res, cost=cost, parts=parts if restricted else None)
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
        return infeasible_plan(comp, "cp_sat", t0, options)
    return make_plan(comp, [], UNKNOWN, "cp_sat", wall=time.perf_counter() - t0, seed=options.seed, info=info)


def solve(problem: PanelProblem, options: SolveOptions | None = None) -> Plan:
    """Deterministic optimal plan. Uses the exact min-cost flow when the active rules keep the
    problem a network flow (or when the flow relaxation's answer already satisfies the rest),
    the LP-guided exact path otherwise (CP-SAT with method="cp_sat"). With options.symmetry (default)
    and two or more identical experts, the problem with one expert per class of identical experts
    is solved and split back (solver.symmetry: same optimum, far fewer columns and ties)."""
    options = options or SolveOptions()
    t0 = time.perf_counter()
    agg = (aggregated(problem, options) if options.symmetry and options.method == "auto"
           and options.lp_guide is not False else None)
    if agg is not None:
        classes, acomp = agg
        aopts = replace(options, time_limit=AGGREGATED_TIME_SHARE * options.time_limit, diagnose=False)
        plan = split_plan(problem, classes, acomp, solve_compiled(acomp, aopts, t0, restricted=False), t0)
        if plan is not None:
            return plan
        # the aggregated model found no plan (or, against its proof, the split failed the checker):
        # the plain model, with the time left
        left = options.time_limit - (time.perf_counter() - t0)
        if left < (1 - AGGREGATED_TIME_SHARE) * options.time_limit:
            options = replace(options, time_limit=(1 - AGGREGATED_TIME_SHARE) * options.time_limit)
            t0 = time.perf_counter()
    comp = compile_problem(problem, options.scale, options.stages)
    return solve_compiled(comp, options, t0)
