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

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from .compile import Compiled, group_order
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
        for g, one in zip(np.split(o, starts[1:]), one_node.tolist()):
            (laminar if one else out).append(g)
        if out:
            dropped[f.name] = out
    return FlowSplit(dropped, laminar)


def solve_flow(comp: Compiled, cost=None, parts: FlowSplit | None = None) -> FlowResult:
    """Max-weight flow over the columns of `comp` (cost override optional, int64 per column)."""
    tpl = comp.tpl
    E = comp.problem.n_experts
    S = len(comp.problem.stages)
    T = tpl.T
    P = comp.P
    cost = comp.col_cost if cost is None else np.asarray(cost, dtype=np.int64)
    parts = parts if parts is not None else non_flow_parts(comp)
    lam = parts.laminar
    dropped = tuple(parts.dropped)

    # node ids
    se_key = comp.col_stage * E + comp.col_expert
    need = np.zeros(S * E, dtype=bool)
    need[se_key] = True
    for s in comp.solve_stages:
        need[s * E + np.nonzero(comp.min_load[s] > 0)[0]] = True
    se_nodes = np.nonzero(need)[0]
    se_id = np.full(S * E, -1, dtype=np.int64)
    se_id[se_nodes] = 1 + np.arange(len(se_nodes))
    tree_base = 1 + len(se_nodes)
    emp_base = tree_base + P * T
    n_nodes = emp_base + len(lam)
    supply = np.zeros(n_nodes, dtype=np.int64)

    tails, heads, caps, costs, lbs = [], [], [], [], []

    # source -> (stage, expert)
    se_s, se_e = se_nodes // E, se_nodes % E
    mx = comp.max_load[se_s, se_e]
    mn = comp.min_load[se_s, se_e]
    if comp.seg_cost.size and comp.seg_cost.max() > 0:
        reps = mx
        node = np.repeat(se_id[se_nodes], reps)
        k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)  # 0-based segment
        tails.append(np.zeros(len(node), dtype=np.int64))
        heads.append(node)
        caps.append(np.ones(len(node), dtype=np.int64))
        costs.append(comp.seg_cost[k])
        lbs.append((k < np.repeat(mn, reps)).astype(np.int64))
    else:
        tails.append(np.zeros(len(se_nodes), dtype=np.int64))
        heads.append(se_id[se_nodes])
        caps.append(mx)
        costs.append(np.zeros(len(se_nodes), dtype=np.int64))
        lbs.append(mn)

    # (stage, expert) -> employer node or leaf
    leaf_node = tree_base + comp.col_panel * T + comp.col_leaf
    head = leaf_node.copy()
    if lam:
        for i, g in enumerate(lam):
            head[g] = emp_base + i
        en = emp_base + np.arange(len(lam))
        tails.append(en)
        heads.append(np.array([leaf_node[g[0]] for g in lam], dtype=np.int64))
        caps.append(np.ones(len(lam), dtype=np.int64))
        costs.append(np.zeros(len(lam), dtype=np.int64))
        lbs.append(np.zeros(len(lam), dtype=np.int64))
    col_arc0 = sum(len(t) for t in tails)
    tails.append(se_id[se_key])
    heads.append(head)
    caps.append(np.ones(comp.n_cols, dtype=np.int64))
    costs.append(-cost)
    lbs.append(comp.col_lock.astype(np.int64))

    # tree arcs child -> parent (all non-root template nodes, every panel)
    child = np.arange(1, T)
    par = tpl.parent[child]
    pst = comp.panel_stage
    pp = np.repeat(np.arange(P), len(child))
    cc = np.tile(child, P)
    tails.append(tree_base + pp * T + cc)
    heads.append(tree_base + pp * T + np.tile(par, P))
    lo = tpl.lb[pst][:, child].reshape(-1)
    hi = tpl.ub[pst][:, child].reshape(-1)
    caps.append(hi)
    costs.append(np.zeros(len(lo), dtype=np.int64))
    lbs.append(lo)
    # supplies
    supply[0] = int(comp.panel_size.sum())
    supply[tree_base + np.arange(P) * T] -= comp.panel_size

    tails = np.concatenate(tails)
    heads = np.concatenate(heads)
    caps = np.concatenate(caps)
    costs = np.concatenate(costs)
    lbs = np.concatenate(lbs)
    if np.any(lbs > caps):
        return FlowResult("INFEASIBLE", np.zeros(0, dtype=np.int64), dropped, 0, len(tails))
    np.subtract.at(supply, tails, lbs)
    np.add.at(supply, heads, lbs)
    const = int((lbs * costs).sum())

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps - lbs, costs)
    smcf.set_nodes_supplies(np.arange(n_nodes), supply)
    st = smcf.solve()
    if st != smcf.OPTIMAL:
        return FlowResult("INFEASIBLE", np.zeros(0, dtype=np.int64), dropped, 0, len(tails))
    flows = smcf.flows(arcs[col_arc0:col_arc0 + comp.n_cols]) + comp.col_lock
    cols = np.nonzero(flows > 0)[0]
    obj = -(smcf.optimal_cost() + const)
    return FlowResult("OPTIMAL", cols, dropped, int(obj), len(tails))


def violates(comp: Compiled, cols: np.ndarray, groups) -> bool:
    """True if more than one column of some group (of a group family) is chosen."""
    if not groups:
        return False
    gid = np.full(comp.n_cols, -1, dtype=np.int64)
    for i, g in enumerate(groups):
        gid[g] = i
    c = gid[np.asarray(cols, dtype=np.int64)]
    c = c[c >= 0]
    return len(c) != len(np.unique(c))
