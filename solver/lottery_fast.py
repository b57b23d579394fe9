"""Fast lottery (method="fast", the default): capped LP bound, perturbed LP, face-walk decomposition,
restricted column generation, spreading. See solver.randomized.build_lottery for the method.

Every plan found is an integral point of the full model (all hard rules). Every stopping rule counts
work (iterations, plan counts, HiGHS node limits); the wall clock is only a safety net that aborts
(solver.budget), so the lottery, hence every draw, is a function of (problem, q, parameters).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .budget import SafetyNet
from .compile import Compiled
from .lottery import Lottery, finish_lottery
from .lottery_exact import build_exact, solve_exactly
from .lp import LinearModel, build_linear, solve_lp
from .lpguide import column_generation
from .model import Plan, SolveOptions
from .plans import plan_columns


# Work limits of the integer solves (branch-and-bound nodes; deterministic, unlike seconds). A face
# MIP asks for any integral point of a face, a pricing MIP for a best plan on a few hundred seats:
# both usually close at the root; the caps only bound the rare hard one.
FACE_NODE_LIMIT = 2000
PRICE_NODE_LIMIT = 5000


@dataclass
class _Pool:
    """Plans found so far (by their column bytes), in order, with their integer values."""

    seen: dict = field(default_factory=dict)
    plans: list = field(default_factory=list)
    values: list = field(default_factory=list)

    def add(self, cols: np.ndarray, comp: Compiled):
        self.seen[cols.tobytes()] = cols
        self.plans.append(cols)
        self.values.append(float(comp.int_objective(cols)))


@dataclass
class _Restricted:
    """The model over the restricted seats S used for pricing, and the value normaliser."""

    comp: Compiled
    lm: LinearModel
    S: np.ndarray
    norm: float
    q: float


def build_fast(comp: Compiled, q, options: SolveOptions, net: SafetyNet, max_iter, rel_tol, gap_tol, spread,
               perturb, n_decomp, spread_iter=100, spread_plans=50, face_gap=1.0,
               spread_mip=False) -> Lottery | Plan:
    """The fast lottery of `comp` (options already deterministic); the INFEASIBLE Plan when no plan
    exists. Raises TimeLimitReached when `net` runs out (never a partial lottery)."""
    timing = {}
    t0 = net.start
    base = solve_exactly(comp, options, net)
    if not base.feasible:
        return base
    timing["deterministic"] = time.perf_counter() - t0
    cols0 = plan_columns(comp, base)
    v0 = float(comp.int_objective(cols0))
    cap = np.where(comp.col_lock.astype(bool), 1.0, q)
    # 1. capped LP bound
    st, ub, xc, colsc, _, _, _ = column_generation(comp, cap=cap, net=net)
    timing["capped_lp"] = time.perf_counter() - t0
    if st != "OPTIMAL":
        # e.g. INFEASIBLE: no point of the LP has every seat <= q (some seat is forced above q); the
        # exact method then reports the forced seats (info["forced_above_q"] of a draw)
        return _exact(comp, q, options, net, max_iter, rel_tol, gap_tol, spread,
                      {"method": "exact", "fallback": "exact", "capped_lp_status": st, "timing": timing})
    # 2.-3. perturbed LP over the candidates, decompositions into integral plans
    cand = np.unique(np.r_[colsc, cols0])
    lm = build_linear(comp, cand)
    pool, v = _decompose(comp, lm, cand, cap, cols0, q, perturb, n_decomp, face_gap, net, timing)
    n_decomp_plans = len(pool.plans)
    # 4. master with restricted pricing
    supp = [colsc[xc > 1e-9], cols0] + pool.plans
    if v is not None:
        supp.append(cand[v[:lm.n_x] > 1e-9])
    S = np.unique(np.concatenate(supp))
    R = _Restricted(comp, build_linear(comp, S), S, max(abs(v0), 1.0), q)
    it, converged, history = _master_rounds(R, pool, ub, max_iter, rel_tol, gap_tol, net)
    timing["master"] = time.perf_counter() - t0
    w, lam, mu, support, slack = _master_n(pool.plans, np.array(pool.values) / R.norm, q, comp)
    if slack > 1e-9:  # the restricted pool cannot meet the caps: the exact method (pricing over every candidate)
        return _exact(comp, q, options, net, max_iter, rel_tol, gap_tol, spread,
                      {"fallback": "exact", "timing": timing})
    value_master = float(w @ np.array(pool.values))
    if spread > 0 and len(pool.plans) > 1:
        w = _spread_rounds(R, pool, w, spread, min(spread_iter, spread_plans), spread_mip, net)
    timing["spread"] = time.perf_counter() - t0
    lot = finish_lottery(comp, pool.plans, pool.values, np.maximum(w, 0.0), q, v0, it, t0, converged, history, ub)
    lot.info = {"method": "fast", "timing": timing, "pool": len(pool.seen), "decomposition_plans": n_decomp_plans,
                "restricted_seats": int(len(S)), "master_value_ratio": value_master / ub if ub else 1.0,
                "perturbed_lp": v is not None}
    return lot


def _exact(comp, q, options, net, max_iter, rel_tol, gap_tol, spread, info) -> Lottery | Plan:
    lot = build_exact(comp, q, options, max_iter, rel_tol=rel_tol, gap_tol=gap_tol, spread=spread, net=net)
    if not isinstance(lot, Plan):
        lot.info = info
    return lot


def _decompose(comp, lm, cand, cap, cols0, q, perturb, n_decomp, face_gap, net, timing):
    """Pool of integral plans: the deterministic plan, then face walks of the capped LP optimum (if it
    decomposes fully, the lottery is optimal) and of the perturbed point from a few random
    tie-breaks. Returns (pool, perturbed point or None)."""
    t0 = net.start
    lmq = build_linear(comp, cand, cap=cap)
    stq, _, xq, _ = solve_lp(lmq, time_limit=net.remaining())
    net.never_limited(1 if stq == "TIME_LIMIT" else 0)
    v = _perturbed_point(comp, lm, q, perturb, net) if perturb > 0 else None
    timing["perturbed_lp"] = time.perf_counter() - t0
    pool = _Pool()
    pool.add(cols0, comp)
    points = ([(xq, 0)] if stq == "OPTIMAL" else []) + ([(v, k) for k in range(max(1, n_decomp))] if v is not None else [])
    for point, k in points:
        for pc in _face_walk(lm, point, np.random.default_rng(k), net, face_gap=face_gap):
            if pc.tobytes() not in pool.seen:
                pool.add(pc, comp)
    timing["decomposition"] = time.perf_counter() - t0
    return pool, v


def _master_rounds(R: _Restricted, pool: _Pool, ub, max_iter, rel_tol, gap_tol, net: SafetyNet):
    """Column generation on the master LP, pricing over the restricted seats only. Returns
    (rounds, converged, history of (lower, upper))."""
    comp = R.comp
    it = 0
    converged = False
    history = []
    while it < max_iter:
        net.check()
        it += 1
        w, lam, mu, support, slack = _master_n(pool.plans, np.array(pool.values) / R.norm, R.q, comp)
        lower = float(w @ np.array(pool.values))
        history.append((lower, ub))
        if slack <= 1e-9 and lower >= (1.0 - gap_tol) * ub:
            converged = True
            break
        cost = comp.col_cost.astype(np.float64)
        cost[support] -= mu * R.norm
        pc = _price_restricted(comp, R.lm, R.S, cost, net)
        if pc is None:
            break
        price = float(cost[pc].sum()) - (float(comp.col_cost[pc].sum()) - comp.int_objective(pc))
        if (price / R.norm - lam) <= rel_tol or pc.tobytes() in pool.seen:
            converged = slack <= 1e-9
            break
        pool.add(pc, comp)
    return it, converged, history


def _spread_rounds(R: _Restricted, pool: _Pool, w, spread, n_iter, spread_mip, net: SafetyNet):
    """Re-weight the pool to minimise the largest plan weight at value >= (1 - spread) of the master's,
    adding up to `n_iter` plans by restricted pricing (LP only unless `spread_mip`)."""
    comp = R.comp
    w0 = w
    vals = np.array(pool.values) / R.norm
    for i in range(n_iter + 1):  # re-weight the pool, then up to n_iter new plans
        w2, duals = _spread_n(pool.plans, vals, w0, R.q, spread, comp)
        if w2 is None:
            break
        w = w2
        if i == n_iter:
            break
        net.check()
        # entering plan: max nu*v(x) - mu.x > lam over the restricted seats
        nu, mu_s, sup = duals["nu"], duals["mu"], duals["support"]
        big = 10.0 * float(np.abs(comp.col_cost).max(initial=1)) / max(float(mu_s.max(initial=0)), 1e-12)
        factor = R.norm / nu if nu > 1e-12 else big
        cost = comp.col_cost.astype(np.float64)
        cost[sup] -= mu_s * factor
        pc = _price_restricted(comp, R.lm, R.S, cost, net, lp_only=not spread_mip)
        if pc is None or pc.tobytes() in pool.seen:
            break
        posn = np.searchsorted(sup, pc)
        posc = np.minimum(posn, len(sup) - 1)
        hit = sup[posc] == pc
        price = nu * comp.int_objective(pc) / R.norm - float(mu_s[posc[hit]].sum())
        if price <= duals["lam"] + 1e-9 * max(1.0, abs(duals["lam"])):
            break
        pool.add(pc, comp)
        vals = np.array(pool.values) / R.norm
        w0 = np.r_[w0, 0.0]
    if len(w) < len(pool.plans):
        w2, _ = _spread_n(pool.plans, vals, w0, R.q, spread, comp)
        w = w2 if w2 is not None else np.r_[w, np.zeros(len(pool.plans) - len(w))]
    return w


def _perturbed_point(comp, lm, q, beta, net: SafetyNet, K=4):
    """max sum_j c_j x_j - beta*u*sum_j g(x_j) + load terms over the LP with x_j <= q, where g is
    the piecewise-linear convex function with K equal segments on [0, q] approximating x^2 / ... ;
    returns the full variable vector of `lm` (x then load segments), or None."""
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
               bounds=Bounds(lb, ub), options={"disp": False, "time_limit": net.remaining()})
    net.never_limited(res.status)
    if res.x is None or res.status != 0:
        return None
    z = res.x
    x = z[:K * nx].reshape(K, nx).sum(0)
    x[lock] = 1.0
    return np.r_[x, z[K * nx:]]


def _face_walk(lm, v, rng, net: SafetyNet, tol=1e-9, face_gap=1.0):
    """Decompose the point v of {lo <= A z <= hi, lb <= z <= ub} into integral points: an integral
    vertex of the minimal face containing the remaining point, then the largest step away from it.
    Stops when the face holds no integral point, or none is found within FACE_NODE_LIMIT
    branch-and-bound nodes (a work limit; the remainder is then covered by the master LP).
    Yields column-index arrays of the integral plans."""
    A = lm.A.tocsr()
    lo, hi, lb, ub = lm.lo, lm.hi, lm.lb, lm.ub
    fl, fh = np.isfinite(lo), np.isfinite(hi)
    r = v.copy()
    m = 1.0
    while m > 1e-7:
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
                   bounds=Bounds(blo, ub[act]), options={"disp": False, "time_limit": net.remaining(),
                                                         "node_limit": FACE_NODE_LIMIT, "mip_rel_gap": face_gap})
        net.after_limit_status(res.status)
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


def _price_restricted(comp, lmS, S, cost, net: SafetyNet, lp_only=False):
    """Best plan using only the seats S under `cost` (LP first: integral in practice; MIP otherwise,
    at most PRICE_NODE_LIMIT nodes; `lp_only`: None when the LP optimum is fractional)."""
    c = np.r_[cost[S], lmS.c[lmS.n_x:]]
    sc = max(1.0, float(np.abs(c).max()))
    for integ in ((0,) if lp_only else (0, 1)):
        res = milp(-c / sc, constraints=LinearConstraint(lmS.A, lmS.lo, lmS.hi),
                   integrality=np.full(len(c), integ), bounds=Bounds(lmS.lb, lmS.ub),
                   options={"disp": False, "time_limit": net.remaining(), "node_limit": PRICE_NODE_LIMIT})
        net.after_limit_status(res.status)
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
