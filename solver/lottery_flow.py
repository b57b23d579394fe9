"""Flow lottery (method "flow"): the capped fractional assignment, then dependent rounding on the network.

Applies when every hard rule of the compiled problem keeps it a network flow (solver.flow: the
laminar template tree per panel, the per-(stage, expert) loads, employer groups inside one leaf of
one panel); `flow_applies` says so. Employer groups spanning categories and stage independence
across solved stages break the flow structure: there the column-generation lottery
(solver.lottery_fast) is used instead (solver.randomized.build_lottery, method "auto").

1. Capped fractional assignment = LP(q) exactly: with q = k/m (a fraction with a small
   denominator, e.g. 0.5 = 1/2), every capacity, lower bound and supply of the network is multiplied
   by m and every seat arc is capped at k (a locked seat keeps 1 = m/m). One integral min-cost flow
   (OR-Tools, exact integers, deterministic) then gives y = m * x, where x is an optimum of the
   linear relaxation with every seat's probability capped at q: a network matrix is totally
   unimodular, so the scaled problem's integral optimum is the LP optimum. No randomized
   assignment with seat probabilities <= q can have a larger expected value.
2. A draw rounds x to an integral flow by dependent rounding (Gandhi et al. 2006; the matcher's
   "BvN-style" sampling generalised from a bipartite graph to the network): while some arc carries a
   fractional flow, the fractional arcs form cycles (every node's net flow is an integer, so no node
   has exactly one fractional arc); on one cycle the flow is pushed by +alpha with probability
   beta / (alpha + beta), else by -beta, where alpha and beta are the largest pushes each way that
   keep every arc between the integers around it; at least one arc becomes integral. Each step keeps
   every node's balance and every arc's expected flow, so the final integral flow meets every
   rule of the network (capacities and lower bounds are integers) and every seat is taken with
   probability exactly x_j <= q. Everything is exact integer arithmetic on y (multiples of m are the
   integers); the only randomness is numpy default_rng(seed).random, so a draw is a function of
   (inputs, policy, parameters, seed).
Expected value: a draw's affinity, soft-conflict and continuity terms have the LP's expectation; its
load-balance cost is that of its actual loads (convex, the cheapest segments), never more than the
segments the rounding kept. So E[objective] >= LP(q): the best any lottery capped at q can do.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from .compile import Compiled
from .flow import Network, min_cost_flows, network, non_flow_parts
from .model import OPTIMAL, Plan
from .plans import make_plan

# q is written as k/m with m at most this (0.5 = 1/2, 0.3 = 3/10, 0.35 = 7/20): the flow is scaled by m
MAX_DENOMINATOR = 10_000


class FlowRoundingError(RuntimeError):
    """The rounding met a node with a single fractional arc: the flow was not balanced (a bug)."""


def flow_applies(comp: Compiled) -> bool:
    """True when the compiled problem is a network flow (no group family breaks the structure)."""
    return not non_flow_parts(comp).dropped


def q_fraction(q: float) -> tuple[int, int]:
    """(k, m) with k / m == q exactly as a float and m <= MAX_DENOMINATOR; ValueError otherwise."""
    f = Fraction(float(q)).limit_denominator(MAX_DENOMINATOR)
    if f.numerator / f.denominator != float(q) or not 0 < f <= 1:
        raise ValueError(f"q = {q!r} is not a fraction k/m with m <= {MAX_DENOMINATOR} in (0, 1]")
    return f.numerator, f.denominator


def q_is_fraction(q: float) -> bool:
    """True when `q_fraction(q)` can scale the flow."""
    try:
        q_fraction(q)
    except ValueError:
        return False
    return True


@dataclass
class FlowLottery:
    """The capped fractional flow of `comp` (scaled by m) and what a draw needs to round it."""

    comp: Compiled
    nw: Network  # the unscaled network (arc order: the column arcs from nw.col_arc0)
    flow: np.ndarray  # int64 per arc: m * the capped LP optimum
    m: int
    q: float
    deterministic_value: float  # integer units: the deterministic optimum (q = 1)
    upper_bound: float  # integer units: LP(q), which E[value] of a draw reaches
    wall_time: float
    info: dict = field(default_factory=dict)
    key: str = ""
    cache_hit: str | None = None
    iterations: int = 1
    converged: bool = True

    @property
    def marginals(self) -> np.ndarray:
        """Probability of each column (seat): exactly its capped LP value."""
        c0 = self.nw.col_arc0
        return self.flow[c0:c0 + self.comp.n_cols] / self.m

    @property
    def expected_value(self) -> float:
        """The LP(q) value in integer units: a lower bound on a draw's expected objective (equal
        when load balance costs nothing)."""
        return float(self.upper_bound)

    def draw_columns(self, seed: int) -> np.ndarray:
        """The columns of one dependent rounding of the flow with default_rng(seed)."""
        y = dependent_rounding(self.nw.tails, self.nw.heads, self.flow, self.m, np.random.default_rng(seed))
        c0 = self.nw.col_arc0
        return np.nonzero(y[c0:c0 + self.comp.n_cols] == self.m)[0]

    def draw(self, seed: int, path="lp_randomized") -> Plan:
        """One plan (every hard rule of the network holds by construction; the caller's checker
        verifies). bound and gap are NaN: a random draw claims no optimality."""
        t0 = time.perf_counter()
        cols = self.draw_columns(seed)
        comp = self.comp
        marg = {}
        mg = self.marginals
        for s in comp.solve_stages:
            k = (comp.col_stage == s) & (mg > 0)
            marg[s] = sp.csr_matrix((mg[k], (comp.col_expert[k], comp.col_app[k])),
                                    shape=(comp.problem.n_experts, comp.problem.n_applications))
        det = self.deterministic_value
        info = {"q": self.q, "method": "flow", "support": None, "plan_index": None,
                "expected_objective": self.expected_value / comp.scale,
                "deterministic_objective": det / comp.scale,
                "expected_ratio": self.expected_value / det if det else 1.0,
                "max_marginal": float(mg.max(initial=0)), "iterations": 1, "converged": True,
                "lottery_upper_bound": self.upper_bound / comp.scale, "forced_above_q": int((mg > self.q).sum()),
                "lottery_build_seconds": float(self.wall_time), "lottery_cache": self.cache_hit}
        plan = make_plan(comp, cols, OPTIMAL, path, None, None, 0.0, seed, info, marginals=marg)
        return replace(plan, bound=float("nan"), gap=float("nan"), wall_time=time.perf_counter() - t0)


def build_flow(comp: Compiled, q: float, t0: float | None = None, parts=None) -> FlowLottery | None:
    """The flow lottery of `comp` (which must be a network flow: `flow_applies`), or None when the
    network has no feasible flow with every seat capped at q (some seat is forced above q, or no
    plan exists: the caller falls back)."""
    t0 = time.perf_counter() if t0 is None else t0
    k, m = q_fraction(q)
    nw = network(comp, parts if parts is not None else non_flow_parts(comp))
    det = min_cost_flows(nw)
    if det is None:
        return None
    c0, n = nw.col_arc0, comp.n_cols
    cap = nw.caps * m
    cap[c0:c0 + n] = np.where(comp.col_lock.astype(bool), m, k)
    scaled = Network(nw.tails, nw.heads, cap, nw.costs, nw.lbs * m, nw.supply * m, c0)
    flow = min_cost_flows(scaled)
    if flow is None:
        return None
    v0 = float(comp.int_objective(np.nonzero(det[c0:c0 + n] > 0)[0]))
    ub = -float((flow * nw.costs).sum()) / m
    lot = FlowLottery(comp, nw, flow, m, float(q), v0, ub, time.perf_counter() - t0)
    frac = int((flow % m != 0).sum())
    lot.info = {"method": "flow", "denominator": m, "fractional_arcs": frac,
                "seats_with_probability": int((flow[c0:c0 + n] > 0).sum()),
                "timing": {"build": lot.wall_time}}
    return lot


def dependent_rounding(tails: np.ndarray, heads: np.ndarray, y: np.ndarray, m: int, rng) -> np.ndarray:
    """An integral flow (multiples of m) from the balanced flow `y` (int64, scaled by m): cycle
    rounding with the random numbers of `rng`; each arc's expected result is its y. Arcs already
    at a multiple of m are never touched."""
    y = np.asarray(y, dtype=np.int64).copy()
    frac_idx = np.nonzero(y % m)[0]
    if not len(frac_idx):
        return y
    fl = frac_idx.tolist()
    T, H = dict(zip(fl, tails[frac_idx].tolist())), dict(zip(fl, heads[frac_idx].tolist()))
    r = dict(zip(fl, y[frac_idx].tolist()))
    adj: dict[int, list] = {}
    for a in r:
        adj.setdefault(T[a], []).append(a)
        adj.setdefault(H[a], []).append(a)
    ptr = dict.fromkeys(adj, 0)
    done: dict[int, int] = {}
    u = rng.random(len(r) + 1).tolist()
    ui = 0
    for start in frac_idx.tolist():
        if start not in r:
            continue
        nodes, arcs, pos = [T[start]], [], {T[start]: 0}
        v, prev = T[start], -1
        while True:
            a = _next_arc(adj[v], ptr, v, r, prev)
            if a < 0:
                if len(nodes) == 1:
                    break
                raise FlowRoundingError(f"node {v} has a single fractional arc")
            w = H[a] if T[a] == v else T[a]
            if w not in pos:
                pos[w] = len(nodes)
                nodes.append(w)
                arcs.append(a)
                v, prev = w, a
                continue
            i = pos[w]
            _push(nodes[i:], arcs[i:] + [a], T, r, done, m, u[ui])
            ui += 1
            for x in nodes[i + 1:]:
                del pos[x]
            del nodes[i + 1:], arcs[i:]
            v, prev = w, (arcs[-1] if arcs else -1)
            if prev >= 0 and prev not in r:  # cannot happen: the arc into w was not on the cycle
                raise FlowRoundingError("path arc became integral")
    for a, val in done.items():
        y[a] = val
    if np.any(y % m):
        raise FlowRoundingError("fractional arcs left after rounding")
    return y


def _next_arc(lst: list, ptr: dict, v: int, r: dict, prev: int) -> int:
    """A fractional arc at node v other than `prev` (-1 = none); advances v's pointer past integral arcs."""
    p = ptr[v]
    while p < len(lst) and lst[p] not in r:
        p += 1
    ptr[v] = p
    for q in range(p, len(lst)):
        a = lst[q]
        if a != prev and a in r:
            return a
    return -1


def _push(cyc_nodes: list, cyc_arcs: list, T: list, r: dict, done: dict, m: int, u: float) -> None:
    """Round along one cycle (arc i leaves node i; the last arc returns to node 0): +alpha with
    probability beta / (alpha + beta), else -beta; arcs that reach a multiple of m move from `r`
    (fractional) to `done`."""
    sign = [1 if T[a] == x else -1 for a, x in zip(cyc_arcs, cyc_nodes)]
    alpha = beta = m
    for a, s in zip(cyc_arcs, sign):
        f = r[a] % m
        up, down = (m - f, f) if s > 0 else (f, m - f)
        alpha = min(alpha, up)
        beta = min(beta, down)
    d = alpha if u * (alpha + beta) < beta else -beta
    for a, s in zip(cyc_arcs, sign):
        val = r[a] + s * d
        if val % m:
            r[a] = val
        else:
            del r[a]
            done[a] = val
