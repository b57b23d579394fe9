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

import time
from dataclasses import dataclass, replace

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
                "forced_above_q": int((self.marginals > self.q + 1e-6).sum())}
        return make_plan(comp, self.plans[k], OPTIMAL, path, None, None, self.wall_time, seed, info,
                         marginals=marg)


def build_lottery(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None,
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
    keep = w > 1e-12
    plans = [p for p, k in zip(plans, keep) if k]
    values = np.array(values, dtype=float)[keep]
    w = w[keep] / w[keep].sum()
    marg = np.zeros(comp.n_cols)
    for p, wk in zip(plans, w):
        marg[p] += wk
    lot = Lottery(comp, plans, w, values, q, v0, marg, it, time.perf_counter() - t0, converged)
    lot.history = history
    lot.upper_bound = best_upper
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
