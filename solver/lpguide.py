"""LP-guided exact path for models that are not a network flow.

1. Column generation on the LP relaxation (HiGHS): start from the best few candidates of every
   (panel, leaf), price every other candidate with the duals (`lp.reduced_costs`), add those
   with positive reduced cost, repeat. At the end the restricted LP optimum is the LP optimum
   of the full model: an upper bound UB.
2. If that LP optimum is integral it is a proven optimal plan ("lp_integral").
3. Otherwise an integer solve (HiGHS MIP) on the restricted set gives a plan of value LB; every
   candidate with reduced cost rc < -(UB - LB) cannot appear in a better plan (reduced-cost
   fixing), so a final integer solve over the remaining candidates is globally optimal.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .compile import Compiled
from .diagnose import infeasible_plan
from .flow import restricted_flow
from .lp import build_linear, chosen_columns, reduced_costs, solve_lp, solve_milp
from .budget import SafetyNet
from .model import FEASIBLE, OPTIMAL, UNKNOWN, Diagnostic, SolveOptions
from .plans import make_plan


def _rank_in_group(comp: Compiled, cost):
    grp = comp.col_panel * comp.tpl.T + comp.col_leaf
    order = np.lexsort((-cost, grp))
    g = grp[order]
    starts = np.r_[0, np.nonzero(np.diff(g))[0] + 1]
    rank_sorted = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


@dataclass
class LPState:
    """The last restricted LP solved by column generation.

    status: "OPTIMAL" (the full LP's optimum: no candidate prices out), "TIME_LIMIT" (stopped by the
    clock; x/cols/rc/lm are those of the last LP solved, if any), "INFEASIBLE" or "ERROR".
    ub: an upper bound on the full LP, hence on every plan: the LP optimum, or after a time limit the
    Lagrangian bound of the last LP's duals, z_R + sum over candidates outside R of max(0, rc) x
    their upper bound (valid for any duals; NaN when no LP was solved)."""

    status: str
    ub: float
    x: np.ndarray | None
    cols: np.ndarray
    rc: np.ndarray | None
    lm: object
    iterations: int

    def __iter__(self):  # (status, UB, x, cols, rc, lm, iterations), the historical tuple
        return iter((self.status, self.ub, self.x, self.cols, self.rc, self.lm, self.iterations))


def column_generation(comp: Compiled, cost=None, k0=None, time_limit=60.0, extra=None, cap=None,
                      net: SafetyNet | None = None) -> LPState:
    """Column generation on the LP relaxation. Returns an LPState (it unpacks as (status, UB, x over
    `cols`, cols, rc of all columns, lm, iterations)). Without a `net`, `time_limit` stops it with
    status "TIME_LIMIT" and the last LP solved (its Lagrangian bound as UB); with a `net` (a build
    that must not depend on time) the LPs get the net's remaining time and running out raises."""
    cost = comp.col_cost if cost is None else np.asarray(cost)
    t0 = time.perf_counter()
    k0 = k0 or max(40, int(6 * comp.panel_size.max(initial=5)))
    rank = _rank_in_group(comp, cost)
    inR = (rank < k0) | comp.col_lock
    if extra is not None and len(extra):
        inR[np.asarray(extra, dtype=np.int64)] = True
    tol = 1e-7 * max(1.0, float(np.abs(cost).max(initial=1)))
    col_ub = (comp.col_ub.astype(float) if cap is None
              else np.broadcast_to(np.asarray(cap, dtype=float), (comp.n_cols,)))
    it = 0
    last = LPState("TIME_LIMIT", float("nan"), None, np.zeros(0, dtype=np.int64), None, None, 0)
    while True:
        left = net.remaining() if net is not None else time_limit - (time.perf_counter() - t0)
        if left <= 0:
            return last
        it += 1
        cols = np.nonzero(inR)[0]
        lm = build_linear(comp, cols, cost, cap=cap)
        st, ub, x, y = solve_lp(lm, time_limit=left)
        if st == "TIME_LIMIT":
            if net is not None:
                net.never_limited(1)
            return last
        if st != "OPTIMAL":
            if inR.all():
                return LPState(st, float("nan"), None, cols, None, lm, it)
            k0 *= 3
            inR |= rank < k0
            continue
        rc = reduced_costs(comp, lm, y, cost)
        add = (~inR) & (rc > tol)
        if not add.any():
            return LPState("OPTIMAL", ub, x[:lm.n_x], cols, rc, lm, it)
        lagrangian = ub + float(np.maximum(rc[~inR], 0.0) @ col_ub[~inR])
        last = LPState("TIME_LIMIT", lagrangian, x[:lm.n_x], cols, rc, lm, it)
        cand = np.nonzero(add)[0]
        if len(cand) > 20000:
            cand = cand[np.argsort(-rc[cand])[:20000]]
        inR[cand] = True


# Share of the time limit the LP may take before the integer solve starts on what it has
LP_TIME_SHARE = 0.6
MIP_MIN_SHARE = 0.2


def solve_lp_guided(comp: Compiled, options: SolveOptions, t0, info, flow_res=None, cost=None, parts=None):
    """The LP-guided exact path. Out of time it returns the best plan found with its bound (status
    FEASIBLE, gap from the LP or Lagrangian bound), never "no plan" while one was found: when neither
    the LP nor the integer solve gave a plan in the time, the restricted flow (solver.flow.restricted_flow,
    one more flow solve) gives one. UNKNOWN only when no plan was found at all, with a diagnostic
    saying so and what to try."""
    cost = comp.col_cost if cost is None else np.asarray(cost)
    tl = options.time_limit
    extra = flow_res.cols if flow_res is not None else None
    # the plan of last resort (one flow per stage) must fit in the limit too: its time is reserved
    reserve = len(comp.solve_stages) * info.get("flow_time", 0.0) if parts is not None and parts.dropped else 0.0
    lp_budget = min(LP_TIME_SHARE * tl, tl - reserve) - (time.perf_counter() - t0)
    lp = column_generation(comp, cost, time_limit=lp_budget, extra=extra)
    st, ub, x, cols, rc, lm, it = lp
    _progress(options, t0, phase="lp", bound=ub / comp.scale if np.isfinite(ub) else None)
    info.update(lp_iterations=it, lp_columns=len(cols), lp_bound=ub / comp.scale if np.isfinite(ub) else None,
                lp_time=time.perf_counter() - t0, lp_status=st, time_limited=st == "TIME_LIMIT")
    if st == "INFEASIBLE":
        return infeasible_plan(comp, "lp_guided", t0, options)
    if x is None:
        bound = flow_res.objective_units if flow_res is not None else float("nan")  # the relaxation's value
        return _last_resort(comp, options, t0, info, flow_res, parts, cost, bound, "lp_guided")
    frac = np.abs(x - np.rint(x)) > 1e-6  # an aggregated class's column may take several seats
    if st == "OPTIMAL" and not frac.any():
        chosen = chosen_columns(cols, x)
        return make_plan(comp, chosen, OPTIMAL, "lp_integral", ub, ub, time.perf_counter() - t0, options.seed, info)
    info["lp_fractional"] = int(frac.sum())
    # a first plan from the candidates the LP optimum (nearly) uses, then reduced-cost fixing
    tol = 1e-7 * max(1.0, float(np.abs(cost).max(initial=1)))
    first = _first_plan(comp, cost, cols, x, rc, tol, tl, t0, info)
    _progress(options, t0, phase="milp_restricted", objective=first[1] / comp.scale if first else None,
              bound=ub / comp.scale)
    if first is None:
        return _last_resort(comp, options, t0, info, flow_res, parts, cost, ub, "milp_highs")
    best, lb, proven, inK = first
    info.update(first_mip_columns=int(inK.sum()), first_mip_time=time.perf_counter() - t0)
    gap = ub - lb
    keep = rc >= -gap - tol  # no candidate with rc < -(UB - LB) is in a better plan
    info["rc_kept"] = int(keep.sum())
    if proven and not (keep & ~inK).any():
        return make_plan(comp, best, OPTIMAL, "milp_highs+lp_guide", lb, lb, time.perf_counter() - t0,
                         options.seed, info)
    left = _left(tl, t0)
    if left <= 0:  # out of time: the first plan, with the LP's bound
        return _feasible(comp, options, t0, info, flow_res, parts, cost, best, lb, ub)
    cols2 = np.nonzero(keep | inK)[0]
    lm2 = build_linear(comp, cols2, cost)
    mst2, lb2, x2, mb2 = _milp(lm2, left, info)
    if x2 is not None and lb2 >= lb:
        best, lb = chosen_columns(cols2, x2[:lm2.n_x]), lb2
    if mst2 != "OPTIMAL":  # the second integer solve covers every candidate of a better plan: global bound
        return _feasible(comp, options, t0, info, flow_res, parts, cost, best, lb,
                         min(ub, mb2 if np.isfinite(mb2) else ub))
    return make_plan(comp, best, OPTIMAL, "milp_highs+lp_guide", lb, lb, time.perf_counter() - t0,
                     options.seed, info)


# Out of time with a plan further than this (relative) from the bound: also try the restricted flow
RESTRICTED_FLOW_GAP = 0.005
RESTRICTED_FLOW_OVERRUN = 1.25


def _feasible(comp: Compiled, options, t0, info, flow_res, parts, cost, best, lb, bound):
    """The FEASIBLE plan of a solve stopped by the clock: the integer solve's plan, or the restricted
    flow's when that is better (tried only when the gap exceeds RESTRICTED_FLOW_GAP)."""
    path = "milp_highs+lp_guide"
    # one flow per stage; tried only if that ends within RESTRICTED_FLOW_OVERRUN x the time limit
    eta = time.perf_counter() - t0 + len(comp.solve_stages) * info.get("flow_time", 0.0)
    if ((bound - lb) > RESTRICTED_FLOW_GAP * max(1.0, abs(bound)) and flow_res is not None and parts is not None
            and eta <= RESTRICTED_FLOW_OVERRUN * options.time_limit):
        res = restricted_flow(comp, flow_res, parts, cost)
        if res.status == "OPTIMAL" and res.objective_units > lb:
            best, lb, path = res.cols, res.objective_units, "restricted_flow"
            info["restricted_flow_better"] = True
    return make_plan(comp, best, FEASIBLE, path, lb, bound, time.perf_counter() - t0, options.seed, info)


# Reduced-cost windows (share of the largest seat value) of the first integer solve: the candidates
# the LP optimum uses or nearly uses. Small windows make a small MIP whose plan is usually within a
# hair of the LP bound, so the reduced-cost fixing after it keeps few candidates.
FIRST_PLAN_WINDOWS = (0.0, 1e-3, 1e-2)
# Windows only from this many generated columns on. Below it the integer solve over all of them is
# quick (the demo round: 20k columns, about 2 s), and it keeps which of several tied optima such a
# round gets unchanged (the committed demo data and the README walkthrough are derived from that plan).
# Above it that solve took minutes on tie-heavy rounds.
FIRST_PLAN_WINDOW_MIN_COLUMNS = 40_000


def _milp(lm, time_limit, info):
    """solve_milp; info["time_limited"] set when it stopped on the clock (a result that may then
    depend on the machine's speed: the lottery refuses it, see solver.lottery_exact.solve_exactly)."""
    st, obj, x, bound = solve_milp(lm, time_limit)
    if st not in ("OPTIMAL", "INFEASIBLE"):
        info["time_limited"] = True
    return st, obj, x, bound


def _first_plan(comp: Compiled, cost, cols, x, rc, tol, tl, t0, info):
    """(columns, value, proven optimal over its candidates, candidate mask) of the first integer
    solve, over the LP's candidates with rc >= -window (widening), then all of them; None when no
    plan is found in the time."""
    span = max(1.0, float(np.abs(cost).max(initial=1)))
    inR = np.zeros(comp.n_cols, dtype=bool)
    inR[cols] = True
    used = np.zeros(comp.n_cols, dtype=bool)
    used[cols[x > 1e-9]] = True
    tried = -1
    windows = FIRST_PLAN_WINDOWS if len(cols) >= FIRST_PLAN_WINDOW_MIN_COLUMNS else ()
    for window in (*windows, None):
        inK = inR if window is None else inR & ((rc >= -window * span - tol) | used | comp.col_lock)
        n = int(inK.sum())
        if n == tried:
            continue
        tried = n
        k = np.nonzero(inK)[0]
        lm = build_linear(comp, k, cost)
        mst, lb, xi, _ = _milp(lm, max(_left(tl, t0), MIP_MIN_SHARE * tl), info)
        if xi is not None:
            return chosen_columns(k, xi[:lm.n_x]), lb, mst == "OPTIMAL", inK
        if mst != "INFEASIBLE" and _left(tl, t0) <= 0:
            return None
    return None


def _left(tl, t0) -> float:
    return tl - (time.perf_counter() - t0)


def _last_resort(comp: Compiled, options: SolveOptions, t0, info, flow_res, parts, cost, bound, path):
    """Out of time without a plan: the restricted flow's plan (FEASIBLE, with `bound`), else UNKNOWN."""
    if flow_res is not None and parts is not None and flow_res.status == "OPTIMAL":
        res = restricted_flow(comp, flow_res, parts, cost)
        if res.status == "OPTIMAL":
            info["last_resort"] = "restricted_flow"
            ub = bound if np.isfinite(bound) else res.objective_units
            return make_plan(comp, res.cols, FEASIBLE, "restricted_flow", res.objective_units,
                             max(ub, res.objective_units), time.perf_counter() - t0, options.seed, info)
    return _no_plan_in_time(comp, options, t0, info, path)


def _no_plan_in_time(comp: Compiled, options: SolveOptions, t0, info, path):
    """UNKNOWN: no plan was found within the time limit (none is proven impossible either)."""
    names = "、".join(comp.problem.stages[s].name for s in comp.solve_stages)
    tl = options.time_limit
    d = Diagnostic(
        "time_limit", -1, -1, -1,
        f"在时限 {tl:g} 秒内未找到方案（并未证明无解）：{names}。可以：加大时限（--time-limit {max(300, 4 * tl):g}）；"
        f"逐个阶段规划（--stage {comp.problem.stages[comp.solve_stages[0]].name}）；或减少锁定/禁止的席位。",
        f"No plan was found within the time limit of {tl:g} s (none is proven impossible either): {names}. "
        f"Try a longer time limit (--time-limit {max(300, 4 * tl):g}), plan one stage at a time "
        f"(--stage {comp.problem.stages[comp.solve_stages[0]].name}), or fewer locks/forbids.",
        {"time_limit_s": tl, "stages": len(comp.solve_stages)})
    return make_plan(comp, [], UNKNOWN, path, wall=time.perf_counter() - t0, seed=options.seed, info=info,
                     diagnostics=[d])


def _progress(options, t0, **kw):
    if options.progress is None:
        return
    try:
        options.progress(dict(kw, wall_time=time.perf_counter() - t0))
    except Exception:
        pass
