"""Staged flow lottery (method "staged"): the flow lottery, stage by stage, where employer groups
spanning categories or stage independence break the flow structure (solver.lottery_flow).

Build (no seed): the capped flow of the whole problem with the two non-flow families left out (its
value is an upper bound on LP(q)); from it each employer group that spans categories on a panel is
restricted to one template leaf — the one carrying most of the group's capped flow there (ties: the
best seat value) — which makes it a capacity-1 node of the network (the restriction only removes
seats, so every plan of the restricted network keeps the employer rule).

Draw (seed): for each solved stage in order (`draw_order`: the stage with the most seats first since
lottery version flow-5; flow-4 drew the largest panels first), the capped fractional flow of the network in which the
earlier stages are fixed to their drawn seats and the expert-application pairs they use are removed
from the later stages (stage independence), then dependent rounding of that flow with the seed's
random numbers (solver.lottery_flow.dependent_rounding); the stage's rounded seats are kept.
Guarantees:
* every drawn plan meets every hard rule (the network's rules by construction; the employer rule by
  the restriction; stage independence by the removal);
* every seat's probability is at most q exactly: given the earlier stages, a stage's seat is drawn
  with its capped LP value <= q, so unconditionally too;
* a draw is a function of (inputs, policy, parameters, seed): exact-integer min-cost flows
  (OR-Tools) and numpy default_rng(seed), no clock.
The expected value is not the LP(q) optimum here (the restriction and the stage-by-stage
conditioning cost a little); `expected_value` is estimated at build time from EVAL_DRAWS fixed
seeds and reported with the bound. A stage whose capped flow becomes infeasible after the earlier
stages were fixed (their seats left too few experts under the cap) raises StagedDrawInfeasible; the
caller then uses the column-generation lottery.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from .budget import SafetyNet
from .compile import Compiled, split_at
from .flow import FlowSplit, Network, min_cost_flows, network, non_flow_parts
from .lottery_flow import dependent_rounding, q_fraction
from .model import OPTIMAL, Plan
from .plans import make_plan

EVAL_DRAWS = 2  # seeds 0 and 1 estimate the expected value at build time (fixed: a function of the inputs)
# How the stages are ordered for drawing (the lottery parameter `stage_order`): "seats" (flow-5, the default)
# or "panel_size" (flow-4, kept so that its draws are recomputed exactly).
STAGE_ORDERS = ("seats", "panel_size")


class StagedDrawInfeasible(RuntimeError):
    """A later stage has no capped flow once the earlier stages are fixed."""


@dataclass
class _StageNet:
    """One solved stage's part of the scaled network: its arcs (global indices), their tails and
    heads, the positions of its columns' arcs, its node supplies, and the columns themselves."""

    arcs: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    cols: np.ndarray
    col_pos: np.ndarray
    supply: np.ndarray

    @classmethod
    def of(cls, comp: Compiled, nw: Network, s: int) -> "_StageNet":
        arcs = np.nonzero(nw.node_stage[nw.heads] == s)[0]
        cols = np.nonzero(comp.col_stage == s)[0]
        supply = np.where(nw.node_stage == s, nw.supply, 0)
        supply[0] = -int(supply.sum())
        return cls(arcs, nw.tails[arcs], nw.heads[arcs], cols, np.searchsorted(arcs, nw.col_arc0 + cols), supply)


@dataclass
class StagedLottery:
    comp: Compiled
    nw: Network  # scaled by m, with the restricted employer groups as nodes
    cut: np.ndarray  # bool per column: seats removed by the employer restriction
    indep: list  # stage-independence groups (column arrays)
    m: int
    k: int
    q: float
    deterministic_value: float
    upper_bound: float  # integer units: the relaxed capped flow (>= LP(q))
    wall_time: float
    expected_value: float = float("nan")  # estimated (EVAL_DRAWS draws)
    info: dict = field(default_factory=dict)
    key: str = ""
    cache_hit: str | None = None
    iterations: int = 1
    converged: bool = True
    stages: list = field(default_factory=list)  # _StageNet per solved stage, in order
    first_flow: np.ndarray | None = None  # the first stage's capped flow (it depends on no draw)
    pair_gid: np.ndarray | None = None  # stage-independence group of every column (-1: none)
    later_caps: np.ndarray | None = None  # scaled caps of the seats of the later stages (_later_caps)
    order: str = "seats"  # draw_order's rule (STAGE_ORDERS)

    def prepare(self) -> None:
        """The per-stage networks and the first stage's capped flow (no seed involved)."""
        self.stages = [_StageNet.of(self.comp, self.nw, s) for s in draw_order(self.comp, self.order)]
        self.pair_gid = np.full(self.comp.n_cols, -1, dtype=np.int64)
        if self.indep:
            self.pair_gid[np.concatenate(self.indep)] = np.repeat(np.arange(len(self.indep)),
                                                                  [len(g) for g in self.indep])
        if self.stages:
            caps = self.nw.caps.copy()
            caps[self.nw.col_arc0:self.nw.col_arc0 + self.comp.n_cols][self.cut] = 0
            self.first_flow = self._stage_flow(self.stages[0], caps, self.nw.lbs)
            self.later_caps = self._later_caps()

    def _later_caps(self) -> np.ndarray:
        """Scaled seat caps of the stages drawn after the first: a seat whose expert-application pair
        the first stage takes with probability p1 = j/m is free with probability at most 1 - p1 in
        any later stage, so capping it at q / (1 - p1) there (rounded down to a multiple of 1/m, at
        most 1) keeps its probability at most q. Without this, a pair the first stage draws half the
        time could be drawn only a quarter of the time later, while LP(q) may give it half."""
        comp, nw, m, k = self.comp, self.nw, self.m, self.k
        c0, n = nw.col_arc0, comp.n_cols
        caps = nw.caps[c0:c0 + n].copy()
        if self.first_flow is None or not self.indep:
            return caps
        first = self.stages[0]
        j_col = np.zeros(n, dtype=np.int64)
        j_col[first.cols] = self.first_flow[first.col_pos]
        j_grp = np.zeros(len(self.indep), dtype=np.int64)
        has = self.pair_gid >= 0
        np.maximum.at(j_grp, self.pair_gid[has], j_col[has])
        later = has & ~np.isin(np.arange(n), first.cols) & ~comp.col_lock.astype(bool)
        j = j_grp[self.pair_gid[later]]
        caps[later] = np.where(j < m, np.minimum(m, (k * m) // np.maximum(m - j, 1)), 0)
        return caps

    def _stage_flow(self, st: _StageNet, caps, lbs) -> np.ndarray | None:
        nw = self.nw
        a = st.arcs
        return min_cost_flows(Network(st.tails, st.heads, caps[a], nw.costs[a], lbs[a], st.supply, 0))

    def draw_columns(self, seed: int) -> np.ndarray:
        comp, nw, m = self.comp, self.nw, self.m
        c0, n = nw.col_arc0, comp.n_cols
        rng = np.random.default_rng(seed)
        caps = nw.caps.copy()
        colcap = caps[c0:c0 + n]
        colcap[:] = self.later_caps
        colcap[self.cut] = 0
        pair_gid = self.pair_gid
        chosen = []
        for i, st in enumerate(self.stages):
            y = self.first_flow if i == 0 else self._stage_flow(st, caps, nw.lbs)
            if y is None:
                raise StagedDrawInfeasible(f"stage {draw_order(comp, self.order)[i]}: no capped flow after the earlier "
                                           f"stages (seed {seed})")
            y = dependent_rounding(st.tails, st.heads, y, m, rng)
            pick = st.cols[y[st.col_pos] == m]
            chosen.append(pick)
            gids = pair_gid[pick]
            gids = gids[gids >= 0]
            if len(gids):
                colcap[np.isin(pair_gid, gids) & (comp.col_stage != comp.col_stage[pick[0]])] = 0
        return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)

    def draw(self, seed: int, path="lp_randomized") -> Plan:
        t0 = time.perf_counter()
        cols = self.draw_columns(seed)
        comp = self.comp
        info = {"q": self.q, "method": "staged", "support": None, "plan_index": None,
                "expected_objective": self.expected_value / comp.scale,
                "deterministic_objective": float("nan"),
                "expected_ratio_to_bound": self.expected_value / self.upper_bound if self.upper_bound else 1.0,
                "lottery_upper_bound": self.upper_bound / comp.scale, "iterations": 1, "converged": True,
                "lottery_build_seconds": float(self.wall_time), "lottery_cache": self.cache_hit}
        plan = make_plan(comp, cols, OPTIMAL, path, None, None, 0.0, seed, info,
                         marginals={s: sp.csr_matrix((comp.problem.n_experts, comp.problem.n_applications))
                                    for s in comp.solve_stages})
        return replace(plan, bound=float("nan"), gap=float("nan"), wall_time=time.perf_counter() - t0)


def draw_order(comp: Compiled, order: str = "seats") -> list:
    """The solved stages in the order they are drawn.

    "seats" (lottery version flow-5): the most seats first (ties: the larger panels, then the stage
    order). The first stage's capped flow is computed once at build time and its seats are drawn with
    exactly their LP(q) values; every later stage is conditioned on the earlier draws and loses a
    little. Putting the stage that carries most of the objective first loses least: on the 150 x 3000
    round (750 / 300 / 140 seats) the draws' mean rose from 0.975 to 0.982 of the deterministic optimum,
    and the per-draw flows of the later, smaller stages are cheaper.
    "panel_size" (flow-4): the largest panels first (ties: more seats, then the stage order)."""
    if order not in STAGE_ORDERS:
        raise ValueError(f"stage_order {order!r} is not one of {', '.join(map(repr, STAGE_ORDERS))}")
    seats = {s: int(comp.panel_size[comp.panel_stage == s].sum()) for s in comp.solve_stages}
    size = {s: int(comp.panel_size[comp.panel_stage == s].max(initial=0)) for s in comp.solve_stages}
    if order == "panel_size":
        return sorted(comp.solve_stages, key=lambda s: (-size[s], -seats[s], s))
    return sorted(comp.solve_stages, key=lambda s: (-seats[s], -size[s], s))


def split_groups(comp: Compiled, parts: FlowSplit) -> tuple[list, list]:
    """The dropped groups of `parts`: (groups inside one panel — employer groups spanning leaves —,
    groups across panels — stage independence)."""
    groups = [np.asarray(h, dtype=np.int64) for gs in parts.dropped.values() for h in gs]
    if not groups:
        return [], []
    lens = np.array([len(g) for g in groups])
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    pan = comp.col_panel[np.concatenate(groups)]
    one = np.minimum.reduceat(pan, starts) == np.maximum.reduceat(pan, starts)
    return [g for g, o in zip(groups, one) if o], [g for g, o in zip(groups, one) if not o]


def restriction(comp: Compiled, inside: list, y: np.ndarray, col_arc0: int) -> tuple[np.ndarray, list]:
    """(cut mask, restricted groups): each employer group inside a panel keeps the seats of one leaf,
    the one with the most guide flow `y` (ties: the best seat value, then the lowest node)."""
    n = comp.n_cols
    cut = np.zeros(n, dtype=bool)
    if not inside:
        return cut, []
    cols = np.concatenate(inside)
    gid = np.repeat(np.arange(len(inside)), [len(g) for g in inside])
    node = comp.col_panel[cols] * comp.tpl.T + comp.col_leaf[cols]
    key, inv = np.unique(np.c_[gid, node], axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    mass = np.bincount(inv, y[col_arc0 + cols].astype(float), len(key))
    best = np.full(len(key), -np.inf)
    np.maximum.at(best, inv, comp.col_cost[cols].astype(float))
    order = np.lexsort((key[:, 1], -best, -mass, key[:, 0]))
    first = order[np.r_[True, np.diff(key[order, 0]) != 0]]
    pick = np.full(len(inside), -1, dtype=np.int64)
    pick[key[first, 0]] = key[first, 1]
    keep = node == pick[gid]
    cut[cols[~keep]] = True
    kept = split_at(cols[keep], np.r_[0, np.cumsum(np.bincount(gid[keep], minlength=len(inside)))[:-1]])
    return cut, [g for g in kept if len(g) > 1]


def build_staged(comp: Compiled, q: float, t0: float | None = None, net: SafetyNet | None = None,
                 parts: FlowSplit | None = None, order: str = "seats") -> StagedLottery | None:
    """The staged flow lottery (stages drawn in `draw_order(comp, order)`), or None when the restricted
    capped flow or a draw of the fixed evaluation seeds is infeasible (the caller falls back to the
    column-generation lottery)."""
    t0 = time.perf_counter() if t0 is None else t0
    k, m = q_fraction(q)
    parts = parts if parts is not None else non_flow_parts(comp)
    base = network(comp, parts)
    c0 = base.col_arc0
    guide = min_cost_flows(scaled(comp, base, k, m))
    if guide is None:
        return None
    inside, indep = split_groups(comp, parts)
    cut, restricted = restriction(comp, inside, guide, c0)
    nw = scaled(comp, network(comp, FlowSplit({}, list(parts.laminar) + restricted)), k, m)
    ub = -float((guide * base.costs).sum()) / m
    # no deterministic solve here (it would cost more than the whole lottery): NaN
    lot = StagedLottery(comp, nw, cut, indep, m, k, float(q), float("nan"), ub, 0.0, order=order)
    lot.prepare()
    vals = []
    for seed in range(EVAL_DRAWS):
        if net is not None:
            net.check()
        try:
            vals.append(comp.int_objective(lot.draw_columns(seed)))
        except StagedDrawInfeasible:
            return None
    lot.expected_value = float(np.mean(vals))
    lot.wall_time = time.perf_counter() - t0
    lot.info = {"method": "staged", "stage_order": order, "denominator": m, "cut_seats": int(cut.sum()),
                "restricted_groups": len(restricted), "independence_groups": len(indep),
                "timing": {"build": lot.wall_time}}
    return lot


def scaled(comp: Compiled, nw: Network, k: int, m: int) -> Network:
    """`nw` with every capacity, lower bound and supply times m and every seat capped at k (q = k/m;
    a locked seat at m)."""
    c0, n = nw.col_arc0, comp.n_cols
    cap = nw.caps * m
    cap[c0:c0 + n] = np.where(comp.col_lock.astype(bool), m, k)
    return Network(nw.tails, nw.heads, cap, nw.costs, nw.lbs * m, nw.supply * m, c0, nw.node_stage)


