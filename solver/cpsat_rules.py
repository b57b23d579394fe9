"""CP-SAT constraints of the hard-rule families: the model context and one builder per kind of rule.

The builders know no family by name: each gets its `solver.families.Family` record and registers
its constraints under `family.name` (in diagnose mode each (family, key) group is guarded by an
enforcement literal, so `sufficient_assumptions_for_infeasibility()` names the families that clash).
`solver.cpsat.build_model` calls the builder of every family of the registry, in registry order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .compile import Compiled, groups_of


@dataclass
class ModelCtx:
    comp: Compiled
    cols: np.ndarray  # column indices (into comp) present in this model
    model: cp_model.CpModel
    x: list
    diagnose: bool = False
    lits: dict = field(default_factory=dict)  # (family, key) -> BoolVar
    lit_info: dict = field(default_factory=dict)  # var index -> (family, key)
    terms: dict = field(default_factory=dict)  # objective term name -> (vars, coeffs)
    seg: dict = field(default_factory=dict)  # stage * E + expert -> local var positions (load segments)
    node_members: dict = field(default_factory=dict)  # (panel, template node) -> local var positions

    def guard(self, ct, family, key):
        """Register constraint `ct` under (family, key); guarded by a literal in diagnose mode."""
        if self.diagnose:
            k = (family, key)
            lit = self.lits.get(k)
            if lit is None:
                lit = self.model.new_bool_var(f"{family}:{key}")
                self.lits[k] = lit
                self.lit_info[lit.index] = k
            ct.only_enforce_if(lit)
        return ct


def members_by_panel_node(ctx: ModelCtx) -> dict:
    """{(panel, node): [local var positions]} over the template tree."""
    tpl = ctx.comp.tpl
    groups = {}
    cp = ctx.comp.col_panel[ctx.cols]
    cl = ctx.comp.col_leaf[ctx.cols]
    for i, (p, leaf) in enumerate(zip(cp.tolist(), cl.tolist())):
        for t in tpl.leaf_anc[leaf]:
            groups.setdefault((p, t), []).append(i)
    return groups


def no_constraint(ctx: ModelCtx, family) -> None:
    """For rules that never become columns (excluded pairs, forbidden seats): nothing to add;
    check_plan verifies them and the pre-check counts eligible experts after them."""


def tree_bounds(ctx: ModelCtx, family) -> None:
    """lb <= members <= ub on the family's template nodes of every panel (== on the root)."""
    comp, tpl = ctx.comp, ctx.comp.tpl
    nodes = family.tree_nodes(tpl)
    for p in range(comp.P):
        s = int(comp.panel_stage[p])
        for t in nodes:
            lo, hi = int(tpl.lb[s, t]), int(tpl.ub[s, t])
            idx = ctx.node_members.get((p, t), [])
            if not idx:
                if lo > 0:
                    ctx.guard(ctx.model.add_bool_or([]), family.name, p)
                continue
            expr = cp_model.LinearExpr.sum([ctx.x[i] for i in idx])
            if t == 0:
                ctx.guard(ctx.model.add(expr == lo), family.name, p)
                continue
            if lo <= 0 and hi >= len(idx):
                continue
            if lo > 0:
                ctx.guard(ctx.model.add(expr >= lo), family.name, p)
            if hi < len(idx):
                ctx.guard(ctx.model.add(expr <= hi), family.name, p)


def at_most_one_per_group(ctx: ModelCtx, family) -> None:
    """At most one chosen column per group of `family.group_ids`; the key is the group's panel or
    application (`family.core_scope`)."""
    comp = ctx.comp
    key_of = comp.col_app if family.core_scope == "application" else comp.col_panel
    pos = {int(j): i for i, j in enumerate(ctx.cols)}
    for g in groups_of(family.group_ids(comp)):
        idx = [pos[j] for j in g.tolist() if j in pos]
        if len(idx) > 1:
            ctx.guard(ctx.model.add_at_most_one(ctx.x[i] for i in idx), family.name, int(key_of[g[0]]))


def expert_load(ctx: ModelCtx, family) -> None:
    """min_load <= panels per (expert, stage) <= max_load; records the load groups for load balance."""
    comp = ctx.comp
    E = comp.problem.n_experts
    key = comp.col_stage[ctx.cols] * E + comp.col_expert[ctx.cols]
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.r_[0, np.nonzero(np.diff(k))[0] + 1] if len(k) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(k)] if len(k) else starts
    seen = set()
    for st, en in zip(starts.tolist(), ends.tolist()):
        kk = int(k[st])
        s, e = divmod(kk, E)
        seen.add(kk)
        idx = order[st:en].tolist()
        mx, mn = int(comp.max_load[s, e]), int(comp.min_load[s, e])
        load = sum(ctx.x[i] for i in idx)
        if mx < len(idx):
            ctx.guard(ctx.model.add(load <= mx), family.name, s)
        if mn > 0:
            ctx.guard(ctx.model.add(load >= mn), family.name, s)
        ctx.seg[kk] = idx
    for s in comp.solve_stages:
        for e in np.nonzero(comp.min_load[s] > 0)[0].tolist():
            if s * E + e not in seen:
                ctx.guard(ctx.model.add_bool_or([]), family.name, s)


def locked_seats(ctx: ModelCtx, family) -> None:
    """Locked seats are forced; forbidden seats were removed when compiling."""
    lk = ctx.comp.col_lock[ctx.cols]
    for i in np.nonzero(lk)[0].tolist():
        ctx.guard(ctx.model.add(ctx.x[i] == 1), family.name, int(ctx.comp.col_panel[ctx.cols[i]]))
