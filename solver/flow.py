"""Exact min-cost-flow path (OR-Tools SimpleMinCostFlow).

Network: source -> (stage, expert) [load segments; convex load-balance cost]
         -> [employer node of the panel, when that group sits in one leaf] -> leaf of the panel tree
         -> ... template tree (lower/upper bounds) ... -> panel root (demand = panel size).
Lower bounds (category minima, locks, min load) are removed by the standard transformation
(capacity - lb, supply moved to the arc's ends), so the flow is exact: no big-M.
The group families of the registry (solver.families: at most one seat per group) stay in the network
as capacity-1 nodes when a group's seats all go to one leaf of one panel (employer groups inside one
category); the other groups (employer groups spanning leaves, stage independence) are dropped and the
caller checks them on the result (`violates`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from .compile import Compiled, group_order, split_at
from .families import group_families


@dataclass
class FlowResult:
    status: str  # OPTIMAL | INFEASIBLE
    cols: np.ndarray  # chosen column indices
    dropped: tuple  # families not represented in the network
    objective_units: int  # integer objective (maximised) of the flow
    n_arcs: int


@dataclass
class FlowSplit:
    """The group families' groups: `laminar` ones are capacity-1 nodes of the network; `dropped`
    (family name -> groups) are not in it and must be verified on the flow's answer."""

    dropped: dict
    laminar: list


def non_flow_parts(comp: Compiled) -> FlowSplit:
    """Split the groups of every group family: a group whose seats all go to one template leaf of
    one panel is a capacity-1 node of the network; any other group is dropped (verified later)."""
    dropped, laminar = {}, []
    for f in group_families():
        o, starts = group_order(f.group_ids(comp))
        if not len(o):
            continue
        node = comp.col_panel[o] * comp.tpl.T + comp.col_leaf[o]
        one_node = np.minimum.reduceat(node, starts) == np.maximum.reduceat(node, starts)
        out = []
        for g, one in zip(split_at(o, starts), one_node.tolist()):
            (laminar if one else out).append(g)
        if out:
            dropped[f.name] = out
    return FlowSplit(dropped, laminar)


def solve_flow(comp: Compiled, cost=None, parts: FlowSplit | None = None) -> FlowResult:
    """Max-weight flow over the columns of `comp` (cost override optional, int64 per column)."""
    parts = parts if parts is not None else non_flow_parts(comp)
    return _min_cost_flow(comp, network(comp, parts, cost), tuple(parts.dropped))


@dataclass
class Network:
    """The flow network of a compiled problem as flat arrays: arc tails, heads, capacities, unit
    costs (minimised: a column's is -its value) and lower bounds; node supplies; the column arcs
    are arcs col_arc0 .. col_arc0 + n_cols - 1, in column order."""

    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    lbs: np.ndarray
    supply: np.ndarray
    col_arc0: int
    node_stage: np.ndarray | None = None  # stage of every node (-1: the source)


def network(comp: Compiled, parts: FlowSplit, cost=None) -> Network:
    """The network of `comp` with the laminar groups of `parts` as capacity-1 nodes (its dropped
    groups are not in it); `cost` overrides the column values (int64 per column)."""
    cost = comp.col_cost if cost is None else np.asarray(cost, dtype=np.int64)
    net = _Network.of(comp, len(parts.laminar))
    arcs = _Arcs()
    _add_source_arcs(comp, net, arcs)
    col_arc0 = _add_column_arcs(comp, net, arcs, parts.laminar, cost)
    _add_tree_arcs(comp, net, arcs)
    supply = np.zeros(net.n_nodes, dtype=np.int64)
    supply[0] = int(comp.panel_size.sum())
    supply[net.tree_base + np.arange(comp.P) * comp.tpl.T] -= comp.panel_size
    node_stage = np.full(net.n_nodes, -1, dtype=np.int64)
    node_stage[1:1 + len(net.se_nodes)] = net.se_nodes // comp.problem.n_experts
    node_stage[net.tree_base:net.emp_base] = np.repeat(comp.panel_stage, comp.tpl.T)
    node_stage[net.emp_base:] = [comp.col_stage[g[0]] for g in parts.laminar]
    return Network(*(np.concatenate(a).astype(np.int64) for a in (arcs.tails, arcs.heads, arcs.caps, arcs.costs,
                                                                   arcs.lbs)), supply, col_arc0, node_stage)


@dataclass
class _Network:
    """Node ids of the network: 0 = source, 1.. = the (stage, expert) nodes in use (`se_id` by
    key stage * E + expert, -1 = none; `se_nodes` their keys), then P * T template-tree nodes from
    `tree_base` (panel p's node t is tree_base + p * T + t), then one node per laminar group from
    `emp_base`."""

    se_key: np.ndarray  # (stage, expert) key of each column
    se_nodes: np.ndarray
    se_id: np.ndarray
    tree_base: int
    emp_base: int
    n_nodes: int

    @classmethod
    def of(cls, comp: Compiled, n_laminar: int) -> _Network:
        """The nodes of `comp`'s network: a (stage, expert) node for every expert with a column or
        a minimum load in a solved stage, and `n_laminar` group nodes."""
        E = comp.problem.n_experts
        S = len(comp.problem.stages)
        se_key = comp.col_stage * E + comp.col_expert
        need = np.zeros(S * E, dtype=bool)
        need[se_key] = True
        for s in comp.solve_stages:
            need[s * E + np.nonzero(comp.min_load[s] > 0)[0]] = True
        se_nodes = np.nonzero(need)[0]
        se_id = np.full(S * E, -1, dtype=np.int64)
        se_id[se_nodes] = 1 + np.arange(len(se_nodes))
        tree_base = 1 + len(se_nodes)
        emp_base = tree_base + comp.P * comp.tpl.T
        return cls(se_key, se_nodes, se_id, tree_base, emp_base, emp_base + n_laminar)


@dataclass
class _Arcs:
    """The network's arcs in the order they are added: tails, heads, capacities, unit costs and
    lower bounds, as lists of equally long arrays."""

    tails: list = field(default_factory=list)
    heads: list = field(default_factory=list)
    caps: list = field(default_factory=list)
    costs: list = field(default_factory=list)
    lbs: list = field(default_factory=list)

    def add(self, tails, heads, caps, costs, lbs) -> None:
        """Append a batch of arcs."""
        self.tails.append(tails)
        self.heads.append(heads)
        self.caps.append(caps)
        self.costs.append(costs)
        self.lbs.append(lbs)

    def count(self) -> int:
        """Number of arcs added so far."""
        return sum(len(t) for t in self.tails)


def _add_source_arcs(comp: Compiled, net: _Network, arcs: _Arcs) -> None:
    """Source -> (stage, expert) arcs: one unit arc per load segment (cost seg_cost[k], lower
    bound 1 for the segments below the minimum load) when load balance costs anything, else one
    arc with the load bounds."""
    E = comp.problem.n_experts
    se_nodes, se_id = net.se_nodes, net.se_id
    se_s, se_e = se_nodes // E, se_nodes % E
    mx = comp.max_load[se_s, se_e]
    mn = comp.min_load[se_s, se_e]
    if comp.seg_cost.size and comp.seg_cost.max() > 0:
        reps = mx
        node = np.repeat(se_id[se_nodes], reps)
        k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)  # 0-based segment
        arcs.add(np.zeros(len(node), dtype=np.int64), node, np.ones(len(node), dtype=np.int64),
                 comp.segment_cost(np.repeat(se_e, reps), k), (k < np.repeat(mn, reps)).astype(np.int64))
    else:
        arcs.add(np.zeros(len(se_nodes), dtype=np.int64), se_id[se_nodes], mx, np.zeros(len(se_nodes), dtype=np.int64),
                 mn)


def _add_column_arcs(comp: Compiled, net: _Network, arcs: _Arcs, lam: list, cost: np.ndarray) -> int:
    """Group node -> leaf arcs (capacity 1) of the laminar groups, then one arc per column from its
    (stage, expert) node to its group node or panel leaf (cost -cost, lower bound 1 when locked).
    Returns the index of the first column arc."""
    T = comp.tpl.T
    leaf_node = net.tree_base + comp.col_panel * T + comp.col_leaf
    head = leaf_node.copy()
    if lam:
        for i, g in enumerate(lam):
            head[g] = net.emp_base + i
        en = net.emp_base + np.arange(len(lam))
        arcs.add(en, np.array([leaf_node[g[0]] for g in lam], dtype=np.int64), np.ones(len(lam), dtype=np.int64),
                 np.zeros(len(lam), dtype=np.int64), np.zeros(len(lam), dtype=np.int64))
    col_arc0 = arcs.count()
    arcs.add(net.se_id[net.se_key], head, comp.col_ub, -cost, comp.col_lock.astype(np.int64))
    return col_arc0


def _add_tree_arcs(comp: Compiled, net: _Network, arcs: _Arcs) -> None:
    """Child -> parent arcs of every non-root template node of every panel, bounded by the
    stage's template bounds."""
    tpl = comp.tpl
    T, P = tpl.T, comp.P
    child = np.arange(1, T)
    par = tpl.parent[child]
    pst = comp.panel_stage
    pp = np.repeat(np.arange(P), len(child))
    cc = np.tile(child, P)
    lo = tpl.lb[pst][:, child].reshape(-1)
    hi = tpl.ub[pst][:, child].reshape(-1)
    arcs.add(net.tree_base + pp * T + cc, net.tree_base + pp * T + np.tile(par, P), hi,
             np.zeros(len(lo), dtype=np.int64), lo)


def _min_cost_flow(comp: Compiled, nw: Network, dropped: tuple) -> FlowResult:
    """Solve the network (lower bounds moved into the supplies) with OR-Tools; the chosen columns
    are those whose arcs carry flow."""
    flows = min_cost_flows(nw)
    if flows is None:
        return FlowResult("INFEASIBLE", np.zeros(0, dtype=np.int64), dropped, 0, len(nw.tails))
    col = flows[nw.col_arc0:nw.col_arc0 + comp.n_cols]
    obj = -int((flows * nw.costs).sum())
    idx = np.nonzero(col > 0)[0]
    # an aggregated class's column may carry several seats: its index is repeated (solver.symmetry)
    cols = idx if comp.mult is None else np.repeat(idx, col[idx])
    return FlowResult("OPTIMAL", cols, dropped, obj, len(nw.tails))


def min_cost_flows(nw: Network) -> np.ndarray | None:
    """The flow of every arc (lower bounds included) of a min-cost flow of `nw` (OR-Tools, exact
    integers, deterministic), or None when the network has no feasible flow."""
    tails, heads, caps, costs, lbs = nw.tails, nw.heads, nw.caps, nw.costs, nw.lbs
    if np.any(lbs > caps):
        return None
    supply = nw.supply.copy()
    np.subtract.at(supply, tails, lbs)
    np.add.at(supply, heads, lbs)
    smcf = min_cost_flow.SimpleMinCostFlow()
    arc_ids = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps - lbs, costs)
    smcf.set_nodes_supplies(np.arange(len(supply)), supply)
    if smcf.solve() != smcf.OPTIMAL:
        return None
    return smcf.flows(arc_ids).astype(np.int64) + lbs


def violates(comp: Compiled, cols: np.ndarray, groups, per_expert: bool = False) -> bool:
    """True if more than one column of some group (of a group family) is chosen. `per_expert`: the
    family's groups are one expert's seats (stage independence), so an aggregated class of m
    identical experts may take m of them (solver.symmetry)."""
    if not groups:
        return False
    gid = np.full(comp.n_cols, -1, dtype=np.int64)
    for i, g in enumerate(groups):
        gid[g] = i
    c = gid[np.asarray(cols, dtype=np.int64)]
    c = c[c >= 0]
    if comp.mult is None or not per_expert:
        return len(c) != len(np.unique(c))
    cap = np.array([comp.mult[comp.col_expert[g[0]]] for g in groups], dtype=np.int64)
    return bool(np.any(np.bincount(c, minlength=len(groups)) > cap))


def restricted_flow(comp: Compiled, first: FlowResult, parts: FlowSplit, cost=None) -> FlowResult:
    """A plan meeting every rule from one flow per stage, fast whatever the LP does (the planner's
    plan of last resort). The dropped groups are made flow-shaped by restriction:
    * a group inside one panel (an employer spanning categories) is cut down to one leaf — that of
      its seat in the relaxed flow `first`, else its best seat — and becomes a capacity-1 node;
    * groups across panels (an expert-application pair in two stages) are met stage by stage: a
      flow over every solved stage, whose first open stage is then fixed; the pairs it uses are
      priced out of the later stages; again, until every stage is fixed.
    Cut seats are priced out (a huge negative value); a flow using none of them breaks no rule (a
    restriction of the problem: its value is a lower bound). INFEASIBLE when the restriction has
    no plan."""
    cost = (comp.col_cost if cost is None else np.asarray(cost)).astype(np.int64)
    node = comp.col_panel * comp.tpl.T + comp.col_leaf
    out = np.zeros(comp.n_cols, dtype=bool)
    used = np.zeros(comp.n_cols, dtype=bool)
    used[first.cols] = True
    groups = [np.asarray(g, dtype=np.int64) for gs in parts.dropped.values() for g in gs]
    laminar = list(parts.laminar)
    across = []
    for g in groups:
        if comp.col_panel[g].min() != comp.col_panel[g].max():
            across.append(g)
            continue
        on = g[used[g]]
        pick = on[np.argmax(cost[on])] if len(on) else g[np.argmax(cost[g])]
        out[g[node[g] != node[pick]]] = True
        laminar.append(g)
    span = int(np.abs(cost).max(initial=0)) + int(comp.seg_cost.max(initial=0)) + 1
    priced_out = -2 * span * (int(comp.panel_size.sum()) + 1)
    res = first
    for s in (list(comp.solve_stages) if across else [None]):
        lam = [h[~out[h]] for h in laminar]
        res = solve_flow(comp, cost=np.where(out, priced_out, cost), parts=FlowSplit({}, [h for h in lam if len(h) > 1]))
        if res.status != "OPTIMAL" or out[res.cols].any():
            return FlowResult("INFEASIBLE", np.zeros(0, dtype=np.int64), (), 0, res.n_arcs)
        if s is None:
            break
        chosen = np.zeros(comp.n_cols, dtype=bool)
        chosen[res.cols] = True
        stage = comp.col_stage == s
        out |= stage & ~chosen  # stage s is fixed
        for g in across:
            if (chosen[g] & stage[g]).any():
                out[g[~stage[g]]] = True  # its pair is taken in stage s
    if any(violates(comp, res.cols, gs) for gs in parts.dropped.values()):
        return FlowResult("INFEASIBLE", np.zeros(0, dtype=np.int64), (), 0, res.n_arcs)
    load_term = int(comp.col_cost[res.cols].sum()) - comp.int_objective(res.cols)
    return FlowResult("OPTIMAL", res.cols, (), int(cost[res.cols].sum()) - load_term, res.n_arcs)
