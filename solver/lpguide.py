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

import numpy as np

from .compile import Compiled
from .diagnose import infeasible_plan
from .lp import build_linear, reduced_costs, solve_lp, solve_milp
from .budget import SafetyNet
from .model import FEASIBLE, OPTIMAL, UNKNOWN, SolveOptions
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


def column_generation(comp: Compiled, cost=None, k0=None, time_limit=60.0, extra=None, cap=None,
                      net: SafetyNet | None = None):
    """Returns (status, UB, x over `cols`, cols, rc of all columns, lm, iterations). Status
    "TIME_LIMIT" when an LP ran out of time (returned at once); with a `net` (a build that must not
    depend on time) the LPs get the net's remaining time and running out raises TimeLimitReached."""
    cost = comp.col_cost if cost is None else np.asarray(cost)
    t0 = time.perf_counter()
    k0 = k0 or max(40, int(6 * comp.panel_size.max(initial=5)))
    rank = _rank_in_group(comp, cost)
    inR = (rank < k0) | comp.col_lock
    if extra is not None and len(extra):
        inR[np.asarray(extra, dtype=np.int64)] = True
    tol = 1e-7 * max(1.0, float(np.abs(cost).max(initial=1)))
    it = 0
    while True:
        it += 1
        cols = np.nonzero(inR)[0]
        lm = build_linear(comp, cols, cost, cap=cap)
        left = net.remaining() if net is not None else max(1.0, time_limit - (time.perf_counter() - t0))
        st, ub, x, y = solve_lp(lm, time_limit=left)
        if st == "TIME_LIMIT" and net is not None:
            net.never_limited(1)
        if st != "OPTIMAL":
            if inR.all() or st == "TIME_LIMIT":
                return st, float("nan"), None, cols, None, lm, it
            k0 *= 3
            inR |= rank < k0
            continue
        rc = reduced_costs(comp, lm, y, cost)
        add = (~inR) & (rc > tol)
        if not add.any():
            return "OPTIMAL", ub, x[:lm.n_x], cols, rc, lm, it
        cand = np.nonzero(add)[0]
        if len(cand) > 20000:
            cand = cand[np.argsort(-rc[cand])[:20000]]
        inR[cand] = True


def solve_lp_guided(comp: Compiled, options: SolveOptions, t0, info, flow_res=None, cost=None):
    cost = comp.col_cost if cost is None else np.asarray(cost)
    tl = options.time_limit
    extra = flow_res.cols if flow_res is not None else None
    st, ub, x, cols, rc, lm, it = column_generation(comp, cost, time_limit=tl, extra=extra)
    _progress(options, t0, phase="lp", bound=ub / comp.scale if np.isfinite(ub) else None)
    info.update(lp_iterations=it, lp_columns=len(cols), lp_bound=ub / comp.scale if np.isfinite(ub) else None,
                lp_time=time.perf_counter() - t0)
    if st == "INFEASIBLE":
        return infeasible_plan(comp, "lp_guided", t0, options)
    if st != "OPTIMAL":
        return make_plan(comp, [], UNKNOWN, "lp_guided", wall=time.perf_counter() - t0, seed=options.seed, info=info)
    frac = (x > 1e-6) & (x < 1 - 1e-6)
    if not frac.any():
        chosen = cols[x > 0.5]
        return make_plan(comp, chosen, OPTIMAL, "lp_integral", ub, ub, time.perf_counter() - t0, options.seed, info)
    info["lp_fractional"] = int(frac.sum())
    # integer solve on the restricted set, then reduced-cost fixing
    left = max(1.0, tl - (time.perf_counter() - t0))
    lm_i = build_linear(comp, cols, cost)
    mst, lb, xi, mb = solve_milp(lm_i, left)
    _progress(options, t0, phase="milp_restricted", objective=lb / comp.scale if xi is not None else None,
              bound=ub / comp.scale)
    if xi is None:
        return make_plan(comp, [], UNKNOWN, "milp_highs", wall=time.perf_counter() - t0, seed=options.seed, info=info)
    best = cols[xi[:lm_i.n_x] > 0.5]
    gap = ub - lb
    tol = 1e-7 * max(1.0, float(np.abs(cost).max(initial=1)))
    keep = rc >= -gap - tol
    inR = np.zeros(comp.n_cols, dtype=bool)
    inR[cols] = True
    info["rc_kept"] = int(keep.sum())
    if mst == "OPTIMAL" and not (keep & ~inR).any():
        return make_plan(comp, best, OPTIMAL, "milp_highs+lp_guide", lb, lb, time.perf_counter() - t0,
                         options.seed, info)
    cols2 = np.nonzero(keep | inR)[0]
    left = max(1.0, tl - (time.perf_counter() - t0))
    lm2 = build_linear(comp, cols2, cost)
    mst2, lb2, x2, mb2 = solve_milp(lm2, left)
    if x2 is not None and lb2 >= lb:
        best, lb = cols2[x2[:lm2.n_x] > 0.5], lb2
    status = OPTIMAL if mst2 == "OPTIMAL" else FEASIBLE
    bound = lb if status == OPTIMAL else min(ub, mb2 if np.isfinite(mb2) else ub)
    return make_plan(comp, best, status, "milp_highs+lp_guide", lb, bound, time.perf_counter() - t0,
                     options.seed, info)


def _progress(options, t0, **kw):
    if options.progress is None:
        return
    try:
        options.progress(dict(kw, wall_time=time.perf_counter() - t0))
    except Exception:
        pass
