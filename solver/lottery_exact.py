"""Exact lottery (method="exact"): column generation with the exact deterministic solver as pricing.

Method (in the spirit of Jecmen et al. 2020 and of the bihierarchy "implementation" of Budish et
al. 2013, but valid for every hard rule):

* A lottery is a probability vector w over feasible plans. Master LP:
      max  sum_k w_k value(plan_k) - M * sum_j s_j
      s.t. sum_k w_k = 1,   sum_k w_k [seat j in plan_k] - s_j <= q   for every seat j.
* Pricing: with duals (lambda, mu_j >= 0), the plan maximising value(plan) - sum_j mu_j [j in plan]
  is found by the exact deterministic solver (`solve_compiled`, same hard rules) on costs
  c_j - mu_j; it enters if its reduced value exceeds lambda. When none does, the lottery is the
  best possible one: its expected value is the maximum over all lotteries with marginals <= q.
* Every plan in the support satisfies every hard rule, so every draw does; the marginals are
  sum_k w_k x_k <= q exactly (up to LP tolerance) unless some seat is forced (then s_j > 0 and
  a draw reports those seats in info["forced_above_q"]).
* The build is deterministic (flow, HiGHS and, if used, CP-SAT with 1 worker + fixed seed): every
  solve runs to proven optimality and every loop counts iterations; the wall clock only aborts
  (solver.budget.SafetyNet raises TimeLimitReached), it never shortens the lottery.

Slow (one exact solve per round); the fast lottery (solver.lottery_fast) falls back to it when its
restricted pool cannot meet the caps.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .budget import SafetyNet, TimeLimitReached
from .compile import Compiled
from .engine import solve_compiled
from .lottery import Lottery, finish_lottery
from .model import INFEASIBLE, OPTIMAL, Plan, SolveOptions
from .plans import plan_columns


@dataclass
class _Pool:
    """The generated plans (column arrays), their integer values and the plans seen so far."""

    plans: list
    values: list
    seen: set = field(default_factory=set)

    def add(self, cols: np.ndarray, comp: Compiled):
        self.seen.add(cols.tobytes())
        self.plans.append(cols)
        self.values.append(comp.int_objective(cols))

    def value_array(self) -> np.ndarray:
        return np.array(self.values, dtype=float)


def solve_exactly(comp: Compiled, options: SolveOptions, net: SafetyNet, cost=None) -> Plan:
    """`solve_compiled` run to proven optimality (or proven infeasibility) within the net's time:
    a plan that is only FEASIBLE, or none found, depends on the clock, so it raises TimeLimitReached."""
    pl = solve_compiled(comp, replace(options, time_limit=net.remaining()), cost=cost)
    # an optimum reached after a solve stopped on the clock may be another of several optima
    if pl.status not in (OPTIMAL, INFEASIBLE) or pl.info.get("time_limited"):
        raise TimeLimitReached(net.what, net.seconds)
    return pl


def build_exact(comp: Compiled, q: float = 0.5, options: SolveOptions | None = None, max_iter: int = 200,
                time_limit: float = 120.0, rel_tol: float = 1e-6, gap_tol: float = 1e-2, spread: float = 0.005,
                spread_iter: int = 100, spread_time: float = 60.0, net: SafetyNet | None = None) -> Lottery | Plan:
    """Optimal lottery over feasible plans with seat probabilities <= q. Returns the deterministic
    (INFEASIBLE) Plan when no plan exists.

    The value-optimal lottery is a vertex of the master LP and often uses very few plans (two
    disjoint plans at q = 0.5 are enough). `spread` > 0 then re-weights the generated plans to
    minimise the largest plan weight while giving up at most `spread` (relative) of the expected
    value, keeping the caps: far more plans in the support, so a draw is much less predictable.
    Stops when the Lagrangian bound is within `gap_tol` of the lottery's value, or after `max_iter`
    rounds (then `converged` is False; the value is still reported with its bound). The safety
    net (`net`, default time_limit + spread_time seconds) only aborts: TimeLimitReached."""
    options = replace(options or SolveOptions(), deterministic=True, num_workers=1, progress=None)
    net = net if net is not None else SafetyNet(time_limit + spread_time)
    t0 = net.start
    base = solve_exactly(comp, options, net)
    if not base.feasible:
        return base
    cols0 = plan_columns(comp, base)
    pool = _Pool([cols0], [comp.int_objective(cols0)], {cols0.tobytes()})
    v0 = float(pool.values[0])
    M = 10.0 * max(abs(v0), 1.0)
    it, converged, best_upper, history = _generate(comp, pool, q, M, v0, options, max_iter, rel_tol, gap_tol, net)
    w, lam, mu, support = _master(pool.plans, pool.value_array(), q, M, comp.n_cols)
    if spread > 0 and len(pool.plans) > 1:
        w = _spread_pool(comp, pool, w, q, spread, options, spread_iter, net)
    return finish_lottery(comp, pool.plans, pool.values, w, q, v0, it, t0, converged, history, best_upper)


def _price(comp: Compiled, options: SolveOptions, cost: np.ndarray, net: SafetyNet):
    """(integer costs, best plan's columns under them), or None when no plan exists."""
    icost = np.rint(cost).astype(np.int64)
    pl = solve_exactly(comp, replace(options, diagnose=False), net, cost=icost)
    if not pl.feasible:
        return None
    return icost, plan_columns(comp, pl)


def _generate(comp, pool: _Pool, q, M, v0, options, max_iter, rel_tol, gap_tol, net: SafetyNet):
    """Column generation on the master LP. Returns (rounds, converged, best upper bound, history)."""
    converged = False
    best_upper = np.inf
    history = []
    it = 0
    while it < max_iter:
        net.check()
        it += 1
        w, lam, mu, support = _master(pool.plans, pool.value_array(), q, M, comp.n_cols)
        cost = comp.col_cost.astype(np.float64)
        cost[support] -= mu
        priced = _price(comp, options, cost, net)
        if priced is None:
            break
        icost, cols = priced
        price = float(icost[cols].sum()) - (float(comp.col_cost[cols].sum()) - comp.int_objective(cols))
        red = price - lam
        lower = float(w @ pool.value_array())
        upper = price + q * float(mu.sum())  # Lagrangian bound on every lottery's value
        best_upper = min(best_upper, upper)
        history.append((lower, best_upper))
        if red <= rel_tol * max(1.0, abs(v0)) or cols.tobytes() in pool.seen or \
                best_upper - lower <= gap_tol * max(1.0, abs(lower)):
            converged = True
            break
        pool.add(cols, comp)
    return it, converged, best_upper, history


def _spread_pool(comp, pool: _Pool, w, q, spread, options, spread_iter, net: SafetyNet):
    """Minimise the largest plan weight at almost optimal value, adding plans that lower it."""
    w0 = w
    for _ in range(spread_iter):
        w0 = np.r_[w0, np.zeros(len(pool.plans) - len(w0))]
        w, duals = _spread(pool.plans, pool.value_array(), w0, q, spread, comp.n_cols)
        if duals is None:
            break
        net.check()
        # entering plan: max nu*v(x) - mu.x > lam (same exact solver, costs c - mu/nu; when nu ~ 0
        # the seats with positive mu are priced out with a large factor, value breaks ties)
        nu, mu = duals["nu"], duals["mu"]
        factor = 1.0 / nu if nu > 1e-12 else 10.0 * float(np.abs(comp.col_cost).max()) / max(mu.max(), 1e-12)
        cost = comp.col_cost.astype(np.float64)
        cost[duals["support"]] -= mu * factor
        priced = _price(comp, options, cost, net)
        if priced is None:
            break
        cols = priced[1]
        pos = np.searchsorted(duals["support"], cols)
        posc = np.minimum(pos, len(duals["support"]) - 1)
        hit = duals["support"][posc] == cols
        price = nu * comp.int_objective(cols) - float(mu[posc[hit]].sum())
        if price <= duals["lam"] + 1e-9 * max(1.0, abs(duals["lam"])) or cols.tobytes() in pool.seen:
            break
        pool.add(cols, comp)
    w0 = np.r_[w0, np.zeros(len(pool.plans) - len(w0))]
    w, _ = _spread(pool.plans, pool.value_array(), w0, q, spread, comp.n_cols)
    return w


def _incidence(plans, n_cols):
    """(support columns, seat x plan incidence matrix) of the plans."""
    support = np.unique(np.concatenate(plans))
    pos = np.full(n_cols, -1, dtype=np.int64)
    pos[support] = np.arange(len(support))
    r = np.concatenate([pos[p] for p in plans])
    c = np.concatenate([np.full(len(p), k) for k, p in enumerate(plans)])
    return support, sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(support), len(plans)))


def _master(plans, values, q, M, n_cols):
    support, X = _incidence(plans, n_cols)
    K, J = len(plans), len(support)
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
    support, X = _incidence(plans, n_cols)
    K, J = len(plans), len(support)
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
