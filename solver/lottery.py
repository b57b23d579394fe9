"""The lottery over feasible plans (随机抽取): its type, one draw, its content key and its plain-data form.

A Lottery is a probability vector over plans of one compiled problem; every plan meets every hard
rule. It is built by solver.lottery_fast (default) or solver.lottery_exact (see
solver.randomized.build_lottery) and is a deterministic function of (compiled problem, q,
parameters): `lottery_key` hashes exactly those, so a caller may keep lotteries by key. The solver
keeps no cache and touches no file: `lottery_to_data` / `lottery_from_data` turn a lottery into
plain arrays and back (the domain's cache, reviewer.panels.lottery_cache, stores them).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from .compile import Compiled, compile_problem
from .flow import network, non_flow_parts
from .flow import FlowSplit
from .lottery_flow import FlowLottery, q_fraction
from .lottery_staged import STAGE_ORDERS, StagedLottery, scaled, split_groups
from .model import OPTIMAL, PanelProblem, Plan, SolveOptions
from .plans import make_plan

LOTTERY_VERSION = "flow-5"  # changes whenever a build gives other plans or weights for the same inputs
# Earlier versions whose draws this code still recomputes exactly, with the parameters that do so
# ("fast-3": the column-generation lottery for every problem, before the flow lottery; "flow-4": the
# staged flow lottery drawing the largest panels first, before flow-5 drew the stage with most seats first).
COMPATIBLE_VERSIONS = {"fast-3": {"method": "fast"}, "flow-4": {"method": "auto", "stage_order": "panel_size"}}
# The parameters a lottery depends on (with build_lottery's defaults). time_limit and spread_time
# are only a safety net that aborts (solver.budget: every stopping rule counts work) and are not part of the key.
LOTTERY_DEFAULTS = {"method": "auto", "max_iter": 100, "rel_tol": 1e-6, "gap_tol": 1e-2, "spread": 0.005,
                    "perturb": 0.5, "n_decompositions": 8, "spread_iter": 100, "spread_plans": 30,
                    "face_gap": 1.0, "spread_mip": False, "stage_order": "seats"}
NOT_IN_KEY = ("time_limit", "spread_time")
METHODS = ("auto", "flow", "staged", "fast", "exact")


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
    upper_bound: float = float("nan")  # integer units: no lottery with seat probabilities <= q is worth more
    history: list = field(default_factory=list)  # (lower, upper) per master round
    info: dict = field(default_factory=dict)  # method, timing, fallback, ...
    key: str = ""  # lottery_key of its inputs, when a cache set it
    cache_hit: str | None = None  # "memory" / "disk" when a cache returned it

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
        info = {"q": self.q, "method": self.info.get("method", "fast"), "support": len(self.plans), "plan_index": k,
                "expected_objective": self.expected_value / comp.scale,
                "deterministic_objective": self.deterministic_value / comp.scale,
                "expected_ratio": self.expected_value / self.deterministic_value if self.deterministic_value else 1.0,
                "max_marginal": float(self.marginals.max(initial=0)), "iterations": self.iterations,
                "converged": self.converged,
                "lottery_upper_bound": self.upper_bound / comp.scale,
                "forced_above_q": int((self.marginals > self.q + 1e-6).sum()),
                "plan_weight": float(self.weights[k]), "largest_weight": float(self.weights.max()),
                "lottery_build_seconds": float(self.wall_time),
                "lottery_cache": self.cache_hit}
        plan = make_plan(comp, self.plans[k], OPTIMAL, path, None, None, 0.0, seed, info, marginals=marg)
        return replace(plan, bound=float("nan"), gap=float("nan"), wall_time=time.perf_counter() - t0)


def marginals_of(n_cols: int, plans, weights) -> np.ndarray:
    """Probability of each column: the weights of the plans that use it."""
    marg = np.zeros(n_cols)
    for p, wk in zip(plans, weights):
        marg[p] += wk
    return marg


def finish_lottery(comp, plans, values, w, q, v0, it, t0, converged, history, upper) -> Lottery:
    """Drop zero-weight plans, renormalise, and compute each seat's probability."""
    keep = w > 1e-12
    plans = [p for p, k in zip(plans, keep) if k]
    values = np.array(values, dtype=float)[keep]
    w = w[keep] / w[keep].sum()
    return Lottery(comp, plans, w, values, q, v0, marginals_of(comp.n_cols, plans, w), it,
                   time.perf_counter() - t0, converged, upper_bound=upper, history=history)


# ---- key ----

def lottery_params(q: float = 0.5, **params) -> dict:
    """The parameters a lottery depends on: LOTTERY_DEFAULTS overridden by `params`, and q.
    TypeError on an unknown parameter; time_limit and spread_time are accepted and left out."""
    unknown = sorted(set(params) - set(LOTTERY_DEFAULTS) - set(NOT_IN_KEY))
    if unknown:
        raise TypeError(f"unknown lottery parameter(s) {', '.join(unknown)}; known: "
                        f"{', '.join(list(LOTTERY_DEFAULTS) + list(NOT_IN_KEY))}")
    full = dict(LOTTERY_DEFAULTS)
    full.update({k: v for k, v in params.items() if k in LOTTERY_DEFAULTS})
    if full["stage_order"] not in STAGE_ORDERS:
        raise ValueError(f"stage_order {full['stage_order']!r} is not one of {', '.join(map(repr, STAGE_ORDERS))}")
    if full["method"] not in METHODS:
        raise ValueError(f"lottery method {full['method']!r} is not one of {', '.join(map(repr, METHODS))}")
    if not 0.0 < float(q) <= 1.0:
        raise ValueError(f"q (the largest seat probability) must be in (0, 1], got {q!r}")
    full.update(q=float(q), face_gap=float(full["face_gap"]), spread_mip=bool(full["spread_mip"]))
    return full


def lottery_key(problem: PanelProblem | Compiled, q: float = 0.5, options: SolveOptions | None = None,
                **params) -> str:
    """Content key of `build_lottery(problem, q, options, **params)`: a hash of the compiled arrays
    (candidates, costs, bounds, fixed seats, chair data), q, the parameters and LOTTERY_VERSION.
    `problem` may be its compilation (compile_problem(problem, options.scale, options.stages))."""
    comp = problem if isinstance(problem, Compiled) else _compile(problem, options)
    params = lottery_params(q, **params)
    h = hashlib.sha256()
    h.update(LOTTERY_VERSION.encode())
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


def _compile(problem: PanelProblem, options: SolveOptions | None) -> Compiled:
    options = options or SolveOptions()
    return compile_problem(problem, options.scale, options.stages)


# ---- plain data ----

def lottery_to_data(lot: Lottery | FlowLottery | StagedLottery) -> dict:
    """The lottery as plain arrays (plans as seat indices of the compiled problem, weights, values;
    or, for a flow lottery, the scaled flow of every arc) and one JSON string `meta`: what
    `lottery_from_data` needs with the same compiled problem."""
    if isinstance(lot, FlowLottery):
        meta = {"kind": "flow", "q": lot.q, "m": lot.m, "deterministic_value": lot.deterministic_value,
                "upper_bound": float(lot.upper_bound), "wall_time": lot.wall_time, "key": lot.key,
                "n_cols": lot.comp.n_cols, "version": LOTTERY_VERSION}
        return {"flow": np.asarray(lot.flow, dtype=np.int64), "meta": np.array(json.dumps(meta))}
    if isinstance(lot, StagedLottery):
        meta = {"kind": "staged", "q": lot.q, "m": lot.m, "order": lot.order, "upper_bound": float(lot.upper_bound),
                "expected_value": float(lot.expected_value), "wall_time": lot.wall_time, "key": lot.key,
                "n_cols": lot.comp.n_cols, "version": LOTTERY_VERSION, "info": lot.info}
        return {"cut": np.asarray(lot.cut, dtype=np.uint8), "meta": np.array(json.dumps(meta))}
    lens = np.array([len(p) for p in lot.plans], dtype=np.int64)
    meta = {"q": lot.q, "deterministic_value": lot.deterministic_value, "iterations": lot.iterations,
            "wall_time": lot.wall_time, "converged": bool(lot.converged), "upper_bound": float(lot.upper_bound),
            "key": lot.key, "n_cols": lot.comp.n_cols, "version": LOTTERY_VERSION}
    return {"seats": np.concatenate(lot.plans).astype(np.int64) if lot.plans else np.zeros(0, np.int64),
            "lens": lens, "weights": np.asarray(lot.weights, dtype=float),
            "values": np.asarray(lot.values, dtype=float), "meta": np.array(json.dumps(meta))}


def lottery_from_data(comp: Compiled, data, key: str | None = None) -> Lottery | FlowLottery | StagedLottery:
    """The Lottery of `lottery_to_data` over `comp`. ValueError when the data were made by another
    lottery version, for another compiled problem (column count, or `key` when given) or are
    inconsistent (so a damaged cache entry is rebuilt, never drawn from)."""
    meta = json.loads(str(data["meta"]))
    if meta.get("version") != LOTTERY_VERSION:
        raise ValueError(f"lottery version {meta.get('version')!r}, expected {LOTTERY_VERSION!r}")
    if meta.get("n_cols") != comp.n_cols or (key is not None and meta.get("key") != key):
        raise ValueError("lottery made for another problem")
    if meta.get("kind") == "flow":
        return _flow_from_data(comp, data, meta)
    if meta.get("kind") == "staged":
        return _staged_from_data(comp, data, meta)
    seats, lens = np.asarray(data["seats"], dtype=np.int64), np.asarray(data["lens"], dtype=np.int64)
    w, values = np.asarray(data["weights"], dtype=float), np.asarray(data["values"], dtype=float)
    if (lens.ndim != 1 or len(lens) == 0 or len(w) != len(lens) or len(values) != len(lens)
            or lens.min() < 0 or int(lens.sum()) != len(seats)
            or (len(seats) and (seats.min() < 0 or seats.max() >= comp.n_cols))
            or not np.all(np.isfinite(w)) or w.min() < 0 or abs(w.sum() - 1.0) > 1e-6):
        raise ValueError("inconsistent lottery data")
    plans = np.split(seats, np.cumsum(lens)[:-1])
    return Lottery(comp, plans, w, values, float(meta["q"]), float(meta["deterministic_value"]),
                   marginals_of(comp.n_cols, plans, w), int(meta["iterations"]), float(meta["wall_time"]),
                   bool(meta["converged"]), upper_bound=float(meta["upper_bound"]), key=str(meta["key"]),
                   info={"method": "cache"})


def _flow_from_data(comp: Compiled, data, meta: dict) -> FlowLottery:
    """A flow lottery's stored flow over `comp`'s network: ValueError unless it is a balanced flow
    within the capacities scaled by its denominator, every seat at most q."""
    nw = network(comp, non_flow_parts(comp))
    flow = np.asarray(data["flow"], dtype=np.int64)
    m, q = int(meta["m"]), float(meta["q"])
    if q_fraction(q)[1] != m or flow.shape != nw.tails.shape:
        raise ValueError("inconsistent lottery data")
    c0, n = nw.col_arc0, comp.n_cols
    cap = nw.caps * m
    cap[c0:c0 + n] = np.where(comp.col_lock.astype(bool), m, q_fraction(q)[0])
    bal = np.bincount(nw.heads, flow, len(nw.supply)) - np.bincount(nw.tails, flow, len(nw.supply))
    if np.any(flow < nw.lbs * m) or np.any(flow > cap) or np.any(bal != -nw.supply * m):
        raise ValueError("inconsistent lottery data")
    return FlowLottery(comp, nw, flow, m, q, float(meta["deterministic_value"]), float(meta["upper_bound"]),
                       float(meta["wall_time"]), info={"method": "cache"}, key=str(meta["key"]))


def _staged_from_data(comp: Compiled, data, meta: dict) -> StagedLottery:
    """A staged lottery from its stored restriction (the cut seats): ValueError unless the cut only
    removes seats of employer groups inside a panel and leaves each group in one template leaf."""
    parts = non_flow_parts(comp)
    inside, indep = split_groups(comp, parts)
    cut = np.asarray(data["cut"]).astype(bool)
    k, m = q_fraction(float(meta["q"]))
    if cut.shape != (comp.n_cols,) or m != int(meta["m"]):
        raise ValueError("inconsistent lottery data")
    allowed = np.zeros(comp.n_cols, dtype=bool)
    if inside:
        allowed[np.concatenate(inside)] = True
    node = comp.col_panel * comp.tpl.T + comp.col_leaf
    kept = [g[~cut[g]] for g in inside]
    if np.any(cut & ~allowed) or any(len(np.unique(node[g])) > 1 for g in kept):
        raise ValueError("inconsistent lottery data")
    nw = scaled(comp, network(comp, FlowSplit({}, list(parts.laminar) + [g for g in kept if len(g) > 1])), k, m)
    lot = StagedLottery(comp, nw, cut, indep, m, k, float(meta["q"]), float("nan"), float(meta["upper_bound"]),
                        float(meta["wall_time"]), expected_value=float(meta["expected_value"]),
                        info={**meta.get("info", {}), "method": "cache"}, key=str(meta["key"]),
                        order=str(meta.get("order", "seats")))
    lot.prepare()
    return lot
