"""Random draw (随机抽取) with a cap q on every seat's probability.

Method (exact lottery by column generation, in the spirit of Jecmen et al. 2020 and of the
bihierarchy "implementation" of Budish et al. 2013, but valid for every hard rule):

* A lottery is a probability vector w over feasible plans. Master LP:
      max  sum_k w_k value(plan_k) - M * sum_j s_j
      s.t. sum_k w_k = 1,   sum_k w_k [seat j in plan_k] - s_j <= q   for every seat j.
* Pricing: with duals (lambda, mu_j >= 0), the plan maximising value(plan) - sum_j mu_j [j in plan]
  is found by the exact deterministic solver (`solve_compiled`, same hard rules) on costs
  c_j - mu_j; it enters if its reduced value exceeds lambda. When none does, the lottery is the
  best possible one: its expected value is the maximum over all lotteries with marginals <= q.
* Every plan in the support satisfies every hard rule, so every draw does; the marginals are
  sum_k w_k x_k <= q exactly (up to LP tolerance) unless some seat is forced (then s_j > 0 and
  the result lists those seats in info["forced_above_q"]).
* A draw picks one plan with numpy default_rng(seed).choice(p=w). The lottery itself is
  deterministic (flow, HiGHS and, if used, CP-SAT with 1 worker + fixed seed), so the same
  problem, q and seed always give the same draw.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .compile import Compiled, compile_problem
from .engine import make_plan, solve_compiled
from .model import OPTIMAL, PanelProblem, Plan, SolveOptions


@dataclass
class Lottery:
    comp: Compiled
    plans: list  # column-index arrays
    weights: np.ndarray
    values: np.ndarray  # integer objective units of each plan
    q: float
    deterministic_value: float  # integer units
    marginals: np.ndarray  # per column
    iterations: int
    wall_time: float
    converged: bool

    @property
    def expected_value(self) -> float:
        return float(self.weights @ self.values)

    def draw(self, seed: int, path="lp_randomized") -> Plan:
        """One plan of the support, picked with default_rng(seed) by the weights. The Plan's
        wall_time is the draw itself (building the lottery: info["lottery_build_seconds"]); bound and
        gap are NaN (a random draw claims no optimality; info["expected_ratio"] and
        info["lottery_upper_bound"] describe the lottery instead)."""
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        k = int(rng.choice(len(self.plans), p=self.weights))
        comp = self.comp
        marg = {}
        for s in comp.solve_stages:
            m = (comp.col_stage == s) & (self.marginals > 0)
            marg[s] = sp.csr_matrix((self.marginals[m], (comp.col_expert[m], comp.col_app[m])),
                                    shape=(comp.problem.n_experts, comp.problem.n_applications))
        info = {"q": self.q, "support": len(self.plans), "plan_index": k,
                "expected_objective": self.expected_value / comp.scale,
                "deterministic_objective": self.deterministic_value / comp.scale,
                "expected_ratio": self.expected_value / self.deterministic_value if self.deterministic_value else 1.0,
                "max_marginal": float(self.marginals.max(initial=0)), "iterations": self.iterations,
                "converged": self.converged,
                "lottery_upper_bound": getattr(self, "upper_bound", float("nan")) / comp.scale,
                "forced_above_q": int((self.marginals > self.q + 1e-6).sum()),
                "plan_weight": float(self.weights[k]), "largest_weight": float(self.weights.max()),
                "lottery_build_seconds": float(self.wall_time),
                "lottery_cache": getattr(self, "cache_hit", None)}
        plan = make_plan(comp, self.plans[k], OPTIMAL, path, None, None, 0.0, seed, info, marginals=marg)
        return replace(plan, bound=float("nan"), gap=float("nan"), wall_time=time.perf_counter() - t0)


def _build_exact(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None,
                 max_iter: int = 200, time_limit: float = 120.0, rel_tol: float = 1e-6,
                 gap_tol: float = 1e-2, spread: float = 0.005,
                 spread_iter: int = 100, spread_time: float = 60.0) -> Lottery | Plan:
    """Optimal lottery over feasible plans with seat probabilities <= q. Returns the deterministic
    (INFEASIBLE) Plan when no plan exists.

    The value-optimal lottery is a vertex of the master LP and often uses very few plans (two
    disjoint plans at q = 0.5 are enough). `spread` > 0 then re-weights the generated plans to
    minimise the largest plan weight while giving up at most `spread` (relative) of the expected
    value, keeping the caps: far more plans in the support, so a draw is much less predictable.
    Stops when the Lagrangian bound is within `gap_tol` of the lottery's value, or at
    `max_iter` / `time_limit` (then `converged` is False; the value is still reported with its bound)."""
    options = options or SolveOptions()
    options = replace(options, deterministic=True, num_workers=1, progress=None)
    t0 = time.perf_counter()
    comp = compile_problem(problem, options.scale, options.stages)
    base = solve_compiled(comp, options)
    if not base.feasible:
        return base
    cols0 = _cols_of(comp, base)
    plans = [cols0]
    values = [comp.int_objective(cols0)]
    v0 = float(values[0])
    M = 10.0 * max(abs(v0), 1.0)
    seen = {cols0.tobytes()}
    converged = False
    best_upper = np.inf
    history = []
    it = 0
    w = np.array([1.0])
    while it < max_iter and time.perf_counter() - t0 < time_limit:
        it += 1
        w, lam, mu, support = _master(plans, np.array(values, dtype=float), q, M, comp.n_cols)
        cost = comp.col_cost.astype(np.float64)
        cost[support] -= mu
        icost = np.rint(cost).astype(np.int64)
        pl = solve_compiled(comp, replace(options, diagnose=False), cost=icost)
        if not pl.feasible:
            break
        cols = _cols_of(comp, pl)
        price = float(icost[cols].sum()) - (float(comp.col_cost[cols].sum()) - comp.int_objective(cols))
        red = price - lam
        lower = float(w @ np.array(values, dtype=float))
        upper = price + q * float(mu.sum())  # Lagrangian bound on every lottery's value
        best_upper = min(best_upper, upper)
        history.append((lower, best_upper))
        if red <= rel_tol * max(1.0, abs(v0)) or cols.tobytes() in seen or \
                best_upper - lower <= gap_tol * max(1.0, abs(lower)):
            converged = True
            break
        seen.add(cols.tobytes())
        plans.append(cols)
        values.append(comp.int_objective(cols))
    w, lam, mu, support = _master(plans, np.array(values, dtype=float), q, M, comp.n_cols)
    if spread > 0 and len(plans) > 1:
        w0 = w
        for _ in range(spread_iter):
            w0 = np.r_[w0, np.zeros(len(plans) - len(w0))]
            w, duals = _spread(plans, np.array(values, dtype=float), w0, q, spread, comp.n_cols)
            if duals is None or time.perf_counter() - t0 > time_limit + spread_time:
                break
            # entering plan: max nu*v(x) - mu.x > lam (same exact solver, costs c - mu/nu; when nu ~ 0
            # the seats with positive mu are priced out with a large factor, value breaks ties)
            nu, mu = duals["nu"], duals["mu"]
            factor = 1.0 / nu if nu > 1e-12 else 10.0 * float(np.abs(comp.col_cost).max()) / max(mu.max(), 1e-12)
            cost = comp.col_cost.astype(np.float64)
            cost[duals["support"]] -= mu * factor
            icost = np.rint(cost).astype(np.int64)
            pl = solve_compiled(comp, replace(options, diagnose=False), cost=icost)
            if not pl.feasible:
                break
            cols = _cols_of(comp, pl)
            pos = np.searchsorted(duals["support"], cols)
            posc = np.minimum(pos, len(duals["support"]) - 1)
            hit = duals["support"][posc] == cols
            price = nu * comp.int_objective(cols) - float(mu[posc[hit]].sum())
            if price <= duals["lam"] + 1e-9 * max(1.0, abs(duals["lam"])) or cols.tobytes() in seen:
                break
            seen.add(cols.tobytes())
            plans.append(cols)
            values.append(comp.int_objective(cols))
        w0 = np.r_[w0, np.zeros(len(plans) - len(w0))]
        w, _ = _spread(plans, np.array(values, dtype=float), w0, q, spread, comp.n_cols)
    return _lottery(comp, plans, values, w, q, v0, it, t0, converged, history, best_upper)


def _lottery(comp, plans, values, w, q, v0, it, t0, converged, history, upper) -> Lottery:
    """Drop zero-weight plans, renormalise, and compute each seat's probability."""
    keep = w > 1e-12
    plans = [p for p, k in zip(plans, keep) if k]
    values = np.array(values, dtype=float)[keep]
    w = w[keep] / w[keep].sum()
    marg = np.zeros(comp.n_cols)
    for p, wk in zip(plans, w):
        marg[p] += wk
    lot = Lottery(comp, plans, w, values, q, v0, marg, it, time.perf_counter() - t0, converged)
    lot.history = history
    lot.upper_bound = upper
    return lot


def _cols_of(comp: Compiled, plan: Plan) -> np.ndarray:
    E, A = comp.problem.n_experts, comp.problem.n_applications
    key = (comp.col_stage * E + comp.col_expert) * A + comp.col_app
    want = []
    for s in comp.solve_stages:
        st = plan.stages[s]
        want.append((s * E + st.experts) * A + st.applications)
    want = np.concatenate(want) if want else np.zeros(0, dtype=np.int64)
    return np.sort(np.nonzero(np.isin(key, want))[0])


def _master(plans, values, q, M, n_cols):
    support = np.unique(np.concatenate(plans))
    pos = np.full(n_cols, -1, dtype=np.int64)
    pos[support] = np.arange(len(support))
    K, J = len(plans), len(support)
    r = np.concatenate([pos[p] for p in plans])
    c = np.concatenate([np.full(len(p), k) for k, p in enumerate(plans)])
    X = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(J, K))
    A_ub = sp.hstack([X, -sp.eye(J)]).tocsr()
    b_ub = np.full(J, q)
    A_eq = sp.csr_matrix(np.r_[np.ones(K), np.zeros(J)][None, :])
    obj = -np.r_[values, -M * np.ones(J)]
    res = linprog(obj, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=(0, None), method="highs")
    w = res.x[:K]
    lam = -res.eqlin.marginals[0]
    mu = -res.ineqlin.marginals  # >= 0
    return w, lam, np.maximum(mu, 0.0), support


def _spread(plans, values, w0, q, eps, n_cols):
    """min z s.t. w_k <= z, sum w = 1, marginals <= max(q, current), value >= (1 - eps) value(w0):
    the smallest possible largest plan weight (maximum min-entropy) at almost optimal value."""
    support = np.unique(np.concatenate(plans))
    pos = np.full(n_cols, -1, dtype=np.int64)
    pos[support] = np.arange(len(support))
    K, J = len(plans), len(support)
    r = np.concatenate([pos[p] for p in plans])
    c = np.concatenate([np.full(len(p), k) for k, p in enumerate(plans)])
    X = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(J, K))
    cap = np.maximum(q, X @ w0)
    v0 = float(values @ w0)
    # variables: w (K), t
    A_ub = sp.vstack([sp.hstack([X, sp.csr_matrix((J, 1))]),
                      sp.csr_matrix(np.r_[-values, 0.0][None, :]),
                      sp.hstack([sp.eye(K), -sp.csr_matrix(np.ones((K, 1)))])]).tocsr()
    b_ub = np.r_[cap + 1e-12, -(v0 - eps * abs(v0)), np.zeros(K)]
    A_eq = sp.csr_matrix(np.r_[np.ones(K), 0.0][None, :])
    obj = np.r_[np.zeros(K), 1.0]
    res = linprog(obj, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=(0, None), method="highs")
    if res.status != 0:
        return w0, None
    w = np.maximum(res.x[:K], 0.0)
    m = -res.ineqlin.marginals  # >= 0 for the <= rows
    duals = {"mu": np.maximum(m[:J], 0.0), "nu": max(float(m[J]), 0.0), "lam": -float(res.eqlin.marginals[0]),
             "support": support}
    return w / w.sum(), duals


def draw(problem: PanelProblem, q: float = 0.5, seed: int = 0, options: SolveOptions | None = None,
         lottery: Lottery | None = None) -> Plan:
    """One randomized plan (path "lp_randomized"). Pass a prebuilt `lottery` to draw many times."""
    lot = lottery if lottery is not None else build_lottery(problem, q, options)
    if isinstance(lot, Plan):
        return lot
    return lot.draw(seed)


# ---------------------------------------------------------------------------------------------
# Fast lottery: capped LP bound, perturbed LP, face-walk decomposition, restricted column
# generation, spreading. See build_lottery.
# ---------------------------------------------------------------------------------------------

_VERSION = "fast-2"
_MEM_CACHE: "OrderedDict[str, Lottery]" = OrderedDict()
_MEM_CACHE_SIZE = 8


def build_lottery(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None,
                  max_iter: int = 100, time_limit: float = 120.0, rel_tol: float = 1e-6,
                  gap_tol: float = 1e-2, spread: float = 0.005,
                  spread_iter: int = 100, spread_time: float = 60.0, *, method: str = "fast",
                  perturb: float = 0.5, n_decompositions: int = 8, cache_dir=None,
                  use_cache: bool = True, spread_plans: int = 30, face_gap: float = 1.0,
                  spread_mip: bool = False) -> Lottery | Plan:
    """Lottery over feasible plans with every seat probability <= q. Returns the deterministic
    (INFEASIBLE) Plan when no plan exists.

    method="fast" (default):
      1. UB = the LP relaxation of the full model with every seat capped at q (column generation
         over all candidates, HiGHS). No lottery with seat probabilities <= q has a larger expected
         value (the convex hull of plans lies inside the LP polytope), so UB certifies the result.
      2. Perturbed maximisation (Jecmen et al. 2023): the same LP with a concave, piecewise-linear
         perturbation of each seat's value (`perturb` = curvature, relative to the median seat value),
         which spreads probability over more experts at a small cost in value.
      3. The perturbed fractional point is decomposed into integral plans by a face walk: an
         integral vertex of the minimal face containing the point (HiGHS MIP restricted to that face),
         then the largest step away from it that stays in the polytope; repeated from
         `n_decompositions` random tie-breaks. The MIP stops at the first integral point within
         `face_gap` (relative) of the best one: any integral point of the face is valid, and proving
         the best one was most of the build time on the real demo round. Every plan found is an integral point of the full
         model (all hard rules).
      4. Master LP over the pooled plans (weights, one cap row per seat, exactly as in the exact
         method), with column generation whose pricing is restricted to the seats of steps 1-3 (LP,
         MIP when fractional); stops at `gap_tol` relative to UB or after `max_iter` rounds. If the pool cannot meet the caps
         the exact method takes over from the pool.
      5. Spreading (`spread` > 0): minimise the largest plan weight at value >= (1 - spread) of
         the master's value, caps kept, adding up to min(`spread_iter`, `spread_plans`) plans by
         the same restricted pricing (LP only: the spreading stops at the first fractional pricing
         LP unless `spread_mip`). With `spread_plans` = 0 the pool is still re-weighted. Every stopping rule counts iterations (time limits are only
         safety nets), so the lottery, hence every draw, is a function of (problem, q, parameters).
    method="exact": the original column generation with the exact solver as pricing (slow).

    Cache: the lottery is a deterministic function of the compiled problem, q and these
    parameters (`lottery_key`). It is kept in memory (last few) and, with `cache_dir`, in
    `cache_dir/<key>.npz`; a second call with the same inputs returns it at once.
    """
    options = options or SolveOptions()
    options = replace(options, deterministic=True, num_workers=1, progress=None)
    t0 = time.perf_counter()
    comp = compile_problem(problem, options.scale, options.stages)
    params = dict(method=method, q=float(q), max_iter=max_iter, rel_tol=rel_tol, gap_tol=gap_tol, spread=spread,
                  perturb=perturb, n_decompositions=n_decompositions, spread_iter=spread_iter,
                  spread_plans=spread_plans, face_gap=float(face_gap), spread_mip=bool(spread_mip))
    key = _comp_key(comp, params)
    if use_cache:
        lot = _MEM_CACHE.get(key)
        if lot is not None and lot.comp.problem is problem:
            _MEM_CACHE.move_to_end(key)
            return lot
        if lot is not None:
            lot = _with_comp(lot, comp)
            lot.cache_hit = "memory"
            return lot
        if cache_dir is not None:
            lot = load_lottery(comp, _cache_path(cache_dir, key))
            if lot is not None:
                lot.cache_hit = "disk"
                _remember(key, lot)
                return lot
    if method == "exact":
        lot = _build_exact(problem, q, options, max_iter, time_limit, rel_tol, gap_tol, spread, spread_iter,
                           spread_time)
    else:
        lot = _build_fast(comp, q, options, t0, max_iter, time_limit, rel_tol, gap_tol, spread, perturb,
                          n_decompositions, spread_iter, spread_time, spread_plans, face_gap, spread_mip)
    if isinstance(lot, Plan):
        return lot
    lot.key = key
    lot.cache_hit = None
    if use_cache:
        _remember(key, lot)
        if cache_dir is not None:
            save_lottery(lot, _cache_path(cache_dir, key))
    return lot


def _build_fast(comp: Compiled, q, options, t0, max_iter, time_limit, rel_tol, gap_tol, spread, perturb,
                n_decomp, spread_iter=100, spread_time=60.0, spread_plans=50, face_gap=1.0, spread_mip=False):
    from .lp import build_linear, solve_lp
    from .lpguide import column_generation

    timing = {}
    base = solve_compiled(comp, replace(options, diagnose=options.diagnose))
    if not base.feasible:
        return base
    timing["deterministic"] = time.perf_counter() - t0
    cols0 = _cols_of(comp, base)
    v0 = float(comp.int_objective(cols0))
    norm = max(abs(v0), 1.0)
    lock = comp.col_lock.astype(bool)
    cap = np.where(lock, 1.0, q)
    # 1. capped LP bound
    st, ub, xc, colsc, _, _, _ = column_generation(comp, cap=cap, time_limit=max(5.0, time_limit / 4))
    timing["capped_lp"] = time.perf_counter() - t0
    if st != "OPTIMAL":
        # e.g. INFEASIBLE: no point of the LP has every seat <= q (some seat is forced above q); the
        # exact method then reports the forced seats (info["forced_above_q"] of a draw)
        lot = _build_exact(comp.problem, q, options, max_iter, time_limit, rel_tol, gap_tol, spread)
        if not isinstance(lot, Plan):
            lot.info = {"method": "exact", "fallback": "exact", "capped_lp_status": st, "timing": timing}
        return lot
    cand = np.unique(np.r_[colsc, cols0])
    lm = build_linear(comp, cand)
    lmq = build_linear(comp, cand, cap=cap)
    stq, _, xq, _ = solve_lp(lmq)
    # 2. perturbed LP over the candidates
    v = _perturbed_point(comp, lm, q, perturb) if perturb > 0 else None
    timing["perturbed_lp"] = time.perf_counter() - t0
    # 3. decompositions: of the capped LP optimum (if it decomposes fully, the lottery is optimal),
    # then of the perturbed point from a few random tie-breaks
    pool = {cols0.tobytes(): cols0}
    deadline = t0 + time_limit / 2
    points = ([(xq, 0)] if stq == "OPTIMAL" else []) + ([(v, k) for k in range(max(1, n_decomp))] if v is not None else [])
    for point, k in points:
        if time.perf_counter() > deadline:
            break
        for pc in _face_walk(lm, point, np.random.default_rng(k), deadline, face_gap=face_gap):
            pool.setdefault(pc.tobytes(), pc)
    timing["decomposition"] = time.perf_counter() - t0
    n_decomp_plans = len(pool)
    # 4. master with restricted pricing
    supp = [colsc[xc > 1e-9], cols0] + list(pool.values())
    if v is not None:
        supp.append(cand[v[:lm.n_x] > 1e-9])
    S = np.unique(np.concatenate(supp))
    lmS = build_linear(comp, S)
    plans = list(pool.values())
    values = [float(comp.int_objective(p)) for p in plans]
    capq = q
    it = 0
    converged = False
    history = []
    while it < max_iter and time.perf_counter() - t0 < time_limit:
        it += 1
        w, lam, mu, support, slack = _master_n(plans, np.array(values) / norm, capq, comp)
        lower = float(w @ np.array(values))
        history.append((lower, ub))
        if slack <= 1e-9 and lower >= (1.0 - gap_tol) * ub:
            converged = True
            break
        cost = comp.col_cost.astype(np.float64)
        cost[support] -= mu * norm
        pc = _price_restricted(comp, lmS, S, cost)
        if pc is None:
            break
        price = float(cost[pc].sum()) - (float(comp.col_cost[pc].sum()) - comp.int_objective(pc))
        if (price / norm - lam) <= rel_tol or pc.tobytes() in pool:
            converged = slack <= 1e-9
            break
        pool[pc.tobytes()] = pc
        plans.append(pc)
        values.append(float(comp.int_objective(pc)))
    timing["master"] = time.perf_counter() - t0
    w, lam, mu, support, slack = _master_n(plans, np.array(values) / norm, capq, comp)
    if slack > 1e-9:
        # the restricted pool cannot meet the caps: the exact method (pricing over every candidate)
        lot = _build_exact(comp.problem, q, options, max_iter, time_limit, rel_tol, gap_tol, spread)
        if not isinstance(lot, Plan):
            lot.info = {"fallback": "exact", "timing": timing}
        return lot
    value_master = float(w @ np.array(values))
    t_master = time.perf_counter() - t0
    spread_deadline = t0 + time_limit + spread_time  # a safety net only: the plan count decides
    spread_iter = min(spread_iter, spread_plans)
    if spread > 0 and len(plans) > 1:
        w0 = w
        vals = np.array(values) / norm
        for i in range(spread_iter + 1):  # re-weight the pool, then up to spread_iter new plans
            w2, duals = _spread_n(plans, vals, w0, capq, spread, comp)
            if w2 is None:
                break
            w = w2
            if i == spread_iter or time.perf_counter() > spread_deadline:
                break
            # entering plan: max nu*v(x) - mu.x > lam over the restricted seats
            nu, mu_s, sup = duals["nu"], duals["mu"], duals["support"]
            big = 10.0 * float(np.abs(comp.col_cost).max(initial=1)) / max(float(mu_s.max(initial=0)), 1e-12)
            factor = norm / nu if nu > 1e-12 else big
            cost = comp.col_cost.astype(np.float64)
            cost[sup] -= mu_s * factor
            pc = _price_restricted(comp, lmS, S, cost, lp_only=not spread_mip)
            if pc is None or pc.tobytes() in pool:
                break
            posn = np.searchsorted(sup, pc)
            posc = np.minimum(posn, len(sup) - 1)
            hit = sup[posc] == pc
            price = nu * comp.int_objective(pc) / norm - float(mu_s[posc[hit]].sum())
            if price <= duals["lam"] + 1e-9 * max(1.0, abs(duals["lam"])):
                break
            pool[pc.tobytes()] = pc
            plans.append(pc)
            values.append(float(comp.int_objective(pc)))
            vals = np.array(values) / norm
            w0 = np.r_[w0, 0.0]
        if len(w) < len(plans):
            w2, _ = _spread_n(plans, vals, w0, capq, spread, comp)
            w = w2 if w2 is not None else np.r_[w, np.zeros(len(plans) - len(w))]
    timing["spread"] = time.perf_counter() - t0
    lot = _lottery(comp, plans, values, np.maximum(w, 0.0), q, v0, it, t0, converged, history, ub)
    lot.info = {"method": "fast", "timing": timing, "pool": len(pool), "decomposition_plans": n_decomp_plans,
                "restricted_seats": int(len(S)), "master_value_ratio": value_master / ub if ub else 1.0,
                "perturbed_lp": v is not None}
    return lot


def _perturbed_point(comp, lm, q, beta, K=4):
    """max sum_j c_j x_j - beta*u*sum_j g(x_j) + load terms over the LP with x_j <= q, where g is
    the piecewise-linear convex function with K equal segments on [0, q] approximating x^2 / ... ;
    returns the full variable vector of `lm` (x then load segments), or None."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    nx = lm.n_x
    cols = lm.cols
    cx = lm.c[:nx]
    pos = cx[cx > 0]
    unit = float(np.median(pos)) if len(pos) else 1.0
    lock = comp.col_lock[cols].astype(bool)
    h = q / K
    Ax, Ay = lm.A[:, :nx], lm.A[:, nx:]
    A = sp.hstack([Ax] * K + [Ay]).tocsr()
    c = np.concatenate([cx - beta * unit * (2 * k + 1) * h for k in range(K)] + [lm.c[nx:]])
    lb = np.concatenate([np.where(lock, 1.0 / K, 0.0)] * K + [lm.lb[nx:]])
    ub = np.concatenate([np.where(lock, 1.0 / K, h)] * K + [lm.ub[nx:]])
    res = milp(-c / max(unit, 1.0), constraints=LinearConstraint(A, lm.lo, lm.hi), integrality=np.zeros(len(c)),
               bounds=Bounds(lb, ub), options={"disp": False})
    if res.x is None or res.status != 0:
        return None
    z = res.x
    x = z[:K * nx].reshape(K, nx).sum(0)
    x[lock] = 1.0
    return np.r_[x, z[K * nx:]]


def _face_walk(lm, v, rng, deadline, tol=1e-9, face_gap=1.0):
    """Decompose the point v of {lo <= A z <= hi, lb <= z <= ub} into integral points: an integral
    vertex of the minimal face containing the remaining point, then the largest step away from it.
    Stops when the face holds no integral point (the remainder is then covered by the master LP).
    Yields column-index arrays of the integral plans."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    A = lm.A.tocsr()
    lo, hi, lb, ub = lm.lo, lm.hi, lm.lb, lm.ub
    fl, fh = np.isfinite(lo), np.isfinite(hi)
    r = v.copy()
    m = 1.0
    while m > 1e-7 and time.perf_counter() < deadline:
        p = r / m
        act = np.nonzero((p > tol) | (lb > 0))[0]
        Ap = A @ p
        t_lo = fl & (np.abs(Ap - lo) < 1e-7)
        t_hi = fh & (np.abs(Ap - hi) < 1e-7)
        sub = A[:, act]
        rlo = np.where(t_hi, hi, lo)
        rhi = np.where(t_lo, lo, hi)
        blo = lb[act].copy()
        blo[p[act] > 1 - tol] = 1.0
        obj = -(p[act] + 0.05 * rng.random(len(act)))
        # any integral point of the face will do (the step is then as long as the polytope allows):
        # mip_rel_gap = face_gap stops HiGHS at the first good-enough one (deterministic, 1 thread)
        res = milp(obj, constraints=LinearConstraint(sub, rlo, rhi), integrality=np.ones(len(act)),
                   bounds=Bounds(blo, ub[act]), options={"disp": False, "time_limit": 10.0,
                                                         "mip_rel_gap": face_gap})
        if res.x is None or res.status != 0:
            return
        z = np.zeros(len(r))
        z[act] = np.round(res.x)
        Az, Ar = A @ z, A @ r
        w = m
        for a, b in ((Ar - lo * m, Az - lo), (hi * m - Ar, hi - Az), (r - lb * m, z - lb), (ub * m - r, ub - z)):
            k = (b > 1e-12) & np.isfinite(a)
            if k.any():
                w = min(w, float(np.min(a[k] / b[k])))
        yield lm.cols[z[:lm.n_x] > 0.5]
        if w < 1e-9:
            return
        r = r - w * z
        r[np.abs(r) < 1e-12] = 0.0
        m -= w


def _price_restricted(comp, lmS, S, cost, lp_only=False):
    """Best plan using only the seats S under `cost` (LP first: integral in practice; MIP otherwise;
    `lp_only`: None when the LP optimum is fractional)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    c = np.r_[cost[S], lmS.c[lmS.n_x:]]
    sc = max(1.0, float(np.abs(c).max()))
    for integ in ((0,) if lp_only else (0, 1)):
        res = milp(-c / sc, constraints=LinearConstraint(lmS.A, lmS.lo, lmS.hi),
                   integrality=np.full(len(c), integ), bounds=Bounds(lmS.lb, lmS.ub),
                   options={"disp": False, "time_limit": 30.0})
        if res.x is None:
            return None
        x = res.x[:lmS.n_x]
        if integ or np.all(np.minimum(x, 1 - x) < 1e-7):
            return S[x > 0.5]
    return None


def _incidence(plans, comp):
    support = np.unique(np.concatenate(plans))
    pos = np.full(comp.n_cols, -1, dtype=np.int64)
    pos[support] = np.arange(len(support))
    r = np.concatenate([pos[p] for p in plans])
    c = np.concatenate([np.full(len(p), k) for k, p in enumerate(plans)])
    X = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(support), len(plans)))
    capv = np.where(comp.col_lock[support].astype(bool), 1.0, np.nan)
    return support, X, capv


def _master_n(plans, values, q, comp, M=10.0):
    """Master LP (values normalised to ~1): max w.v - M sum s, sum w = 1, X w - s <= cap."""
    support, X, capv = _incidence(plans, comp)
    K, J = len(plans), len(support)
    cap = np.where(np.isnan(capv), q, 1.0)
    A_ub = sp.hstack([X, -sp.eye(J)]).tocsr()
    A_eq = sp.csr_matrix(np.r_[np.ones(K), np.zeros(J)][None, :])
    obj = -np.r_[values, -M * np.ones(J)]
    res = linprog(obj, A_ub=A_ub, b_ub=cap, A_eq=A_eq, b_eq=[1.0], bounds=(0, None), method="highs")
    if res.x is None:
        raise RuntimeError(f"master LP failed: {res.message}")
    w = np.maximum(res.x[:K], 0.0)
    w = w / w.sum()
    over = X @ w - cap
    slack = float(np.maximum(over, 0).max(initial=0.0)) if (over > 1e-7).any() else 0.0
    lam = -res.eqlin.marginals[0]
    mu = np.maximum(-res.ineqlin.marginals, 0.0)
    return w, lam, mu, support, slack


def _spread_n(plans, values, w0, q, eps, comp):
    """min z s.t. w_k <= z, sum w = 1, X w <= cap, w.v >= w0.v - eps |w0.v|."""
    support, X, capv = _incidence(plans, comp)
    K, J = len(plans), len(support)
    cap = np.where(np.isnan(capv), q, 1.0)
    v0 = float(values @ w0)
    A_ub = sp.vstack([sp.hstack([X, sp.csr_matrix((J, 1))]),
                      sp.csr_matrix(np.r_[-values, 0.0][None, :]),
                      sp.hstack([sp.eye(K), -sp.csr_matrix(np.ones((K, 1)))])]).tocsr()
    b_ub = np.r_[cap, -(v0 - eps * abs(v0)), np.zeros(K)]
    A_eq = sp.csr_matrix(np.r_[np.ones(K), 0.0][None, :])
    res = linprog(np.r_[np.zeros(K), 1.0], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=(0, None),
                  method="highs")
    if res.status != 0:
        return None, None
    w = np.maximum(res.x[:K], 0.0)
    m = -res.ineqlin.marginals
    duals = {"mu": np.maximum(m[:J], 0.0), "nu": max(float(m[J]), 0.0), "lam": -float(res.eqlin.marginals[0]),
             "support": support}
    return w / w.sum(), duals


# ---------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------

def _comp_key(comp: Compiled, params: dict) -> str:
    h = hashlib.sha256()
    h.update(_VERSION.encode())
    h.update(repr(sorted(params.items())).encode())
    h.update(repr((comp.scale, list(comp.solve_stages), comp.problem.n_experts,
                   comp.problem.n_applications)).encode())
    for a in (comp.col_stage, comp.col_expert, comp.col_app, comp.col_panel, comp.col_leaf, comp.col_cost,
              comp.col_aff, comp.col_soft, comp.col_cont, comp.col_lock, comp.col_emp, comp.max_load,
              comp.min_load, comp.seg_cost, comp.tpl.lb, comp.tpl.ub, comp.panel_stage, comp.panel_app,
              comp.panel_size, comp.emp_gid, comp.indep_gid):
        a = np.ascontiguousarray(np.asarray(a))
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    for s in sorted(comp.fixed):
        h.update(str(s).encode())
        for a in comp.fixed[s]:
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    p = comp.problem  # chairs of a drawn plan are picked from these
    for a in (p.expert_can_chair, p.expert_category):
        if a is not None:
            h.update(np.ascontiguousarray(np.asarray(a)).tobytes())
    return h.hexdigest()[:32]


def lottery_key(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None, **params) -> str:
    """Cache key of `build_lottery(problem, q, options, **params)` (hash of the compiled arrays)."""
    import inspect

    options = options or SolveOptions()
    comp = compile_problem(problem, options.scale, options.stages)
    sig = inspect.signature(build_lottery).parameters
    full = {k: sig[k].default for k in ("method", "max_iter", "rel_tol", "gap_tol", "spread", "perturb",
                                         "n_decompositions", "spread_iter", "spread_plans", "face_gap", "spread_mip")}
    full.update({k: v for k, v in params.items() if k in full})
    full["q"] = float(q)
    return _comp_key(comp, full)


def _cache_path(cache_dir, key):
    return Path(cache_dir) / f"lottery-{key}.npz"


def _remember(key, lot):
    _MEM_CACHE[key] = lot
    _MEM_CACHE.move_to_end(key)
    while len(_MEM_CACHE) > _MEM_CACHE_SIZE:
        _MEM_CACHE.popitem(last=False)


def clear_cache(cache_dir=None):
    """Forget the in-memory lotteries (and delete the .npz files of `cache_dir`, if given)."""
    _MEM_CACHE.clear()
    if cache_dir is not None:
        for f in Path(cache_dir).glob("lottery-*.npz"):
            f.unlink()


def save_lottery(lot: Lottery, path) -> None:
    """Plans (as seat indices of the compiled problem), weights and values as .npz (atomic write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lens = np.array([len(p) for p in lot.plans], dtype=np.int64)
    meta = {"q": lot.q, "deterministic_value": lot.deterministic_value, "iterations": lot.iterations,
            "wall_time": lot.wall_time, "converged": bool(lot.converged),
            "upper_bound": float(getattr(lot, "upper_bound", float("nan"))), "key": getattr(lot, "key", ""),
            "n_cols": lot.comp.n_cols, "version": _VERSION}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, seats=np.concatenate(lot.plans) if lot.plans else np.zeros(0, np.int64),
                        lens=lens, weights=lot.weights, values=np.asarray(lot.values, dtype=float),
                        meta=np.array(json.dumps(meta)))
    os.replace(tmp, path)


def load_lottery(comp_or_problem, path, options: SolveOptions | None = None) -> Lottery | None:
    """The Lottery saved at `path` for this problem (None if absent or made for another problem)."""
    path = Path(path)
    if not path.exists():
        return None
    comp = comp_or_problem
    if not isinstance(comp, Compiled):
        options = options or SolveOptions()
        comp = compile_problem(comp_or_problem, options.scale, options.stages)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            seats, lens, w, values = z["seats"], z["lens"], z["weights"], z["values"]
    except Exception:
        return None
    if meta.get("n_cols") != comp.n_cols or meta.get("version") != _VERSION:
        return None
    plans = np.split(seats.astype(np.int64), np.cumsum(lens)[:-1]) if len(lens) else []
    marg = np.zeros(comp.n_cols)
    for p, wk in zip(plans, w):
        marg[p] += wk
    lot = Lottery(comp, plans, w, values, meta["q"], meta["deterministic_value"], marg, meta["iterations"],
                  meta["wall_time"], meta["converged"])
    lot.upper_bound = meta["upper_bound"]
    lot.key = meta["key"]
    lot.history = []
    lot.info = {"method": "cache"}
    return lot


def _with_comp(lot: Lottery, comp: Compiled) -> Lottery:
    new = replace(lot, comp=comp)
    for k in ("upper_bound", "key", "history", "info"):
        if hasattr(lot, k):
            setattr(new, k, getattr(lot, k))
    return new
