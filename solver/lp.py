"""The same model as a sparse linear program / MIP (HiGHS through scipy).

Variables: x_j (one per column, [0, 1], 1 if locked) then load segments y_(s,e,k) in [0, 1]
(y_k = the k-th unit of load, cost seg_cost[k]; convex so the LP fills them in order).
Rows (each tagged with its family of the registry, solver.families): template-tree counts per panel,
load linking per (stage, expert), then the at-most-one rows of each group family.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .compile import Compiled
from .families import group_families, load_family, node_families


@dataclass
class LinearModel:
    c: np.ndarray  # objective (maximise), float, integer units
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    n_x: int
    cols: np.ndarray
    row_family: list


def build_linear(comp: Compiled, cols=None, cost=None, cap=None) -> LinearModel:
    """The model over the columns `cols` of `comp` (default all): template-tree rows, load rows
    and group rows. `cap`: optional per-column upper bound (e.g. q for the randomized LP)."""
    cols = np.arange(comp.n_cols) if cols is None else np.asarray(cols, dtype=np.int64)
    nx = len(cols)
    cost = comp.col_cost if cost is None else cost
    rows = _Rows()
    tree_rid = _add_tree_rows(comp, cols, rows)
    r_load = rows.r
    uk, use_seg, y_c, y_lb = _add_load_rows(comp, cols, rows)
    ny = len(y_c)
    group_rows = _add_group_rows(comp, cols, rows)
    A = sp.csr_matrix((np.concatenate(rows.vals), (np.concatenate(rows.rows), np.concatenate(rows.cols))),
                      shape=(rows.r, nx + ny))
    c = np.r_[np.asarray(cost, dtype=float)[cols], y_c]
    xub = (comp.col_ub[cols].astype(float) if cap is None
           else np.maximum(np.asarray(cap, dtype=float)[cols], comp.col_lock[cols]))
    lb = np.r_[comp.col_lock[cols].astype(float), y_lb]
    ub = np.r_[xub, np.ones(ny)]
    lm = LinearModel(c, A, np.concatenate(rows.lo), np.concatenate(rows.hi), lb, ub, nx, cols, rows.fam)
    lm.group_rows = group_rows
    lm.tree_rid = tree_rid
    lm.use_seg = use_seg
    lm.load_keys = (r_load, uk)
    return lm


@dataclass
class _Rows:
    """The constraint matrix as it is built: nonzeros (row, column, value) in batches, the row
    bounds `lo` / `hi` in batches, each row's family name, and `r` = the rows so far."""

    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)
    fam: list = field(default_factory=list)
    r: int = 0

    def add_entries(self, rows, cols, vals) -> None:
        """Append a batch of nonzeros."""
        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(vals)

    def add_rows(self, lo, hi, family: str) -> None:
        """Append rows with bounds `lo` / `hi` of one family."""
        self.lo.append(lo)
        self.hi.append(hi)
        self.fam += [family] * len(lo)
        self.r += len(lo)


def _add_tree_rows(comp: Compiled, cols: np.ndarray, rows: _Rows) -> dict:
    """One row per (panel, template node) that binds (a lower bound, an upper bound below the
    node's candidate count, or the panel size), counting the columns of the node's leaves. Returns
    {node: row id per panel (-1 = no row)}."""
    tpl = comp.tpl
    node_fam = node_families(tpl)
    cp_, cl = comp.col_panel[cols], comp.col_leaf[cols]
    key_lists = {}
    tree_rid = {}
    for leaf, anc in tpl.leaf_anc.items():
        m = np.nonzero(cl == leaf)[0]
        for t in anc:
            key_lists.setdefault(t, []).append(m)
    for t in range(tpl.T):
        if t not in key_lists:
            continue
        m = np.concatenate(key_lists[t])
        pan = cp_[m]
        cnt = np.bincount(pan, minlength=comp.P)
        lbs = tpl.lb[comp.panel_stage, t]
        ubs = tpl.ub[comp.panel_stage, t]
        need = (lbs > 0) | (ubs < cnt) | (t == 0)
        rid = np.full(comp.P, -1, dtype=np.int64)
        rid[need] = rows.r + np.arange(need.sum())
        tree_rid[t] = rid
        keep = need[pan]
        rows.add_entries(rid[pan[keep]], m[keep], np.ones(keep.sum()))
        rows.add_rows(lbs[need].astype(float), ubs[need].astype(float), node_fam[t])
    return tree_rid


def _add_load_rows(comp: Compiled, cols: np.ndarray, rows: _Rows) -> tuple:
    """One load row per (stage, expert) with columns: with load-balance costs, the seats minus the
    load segments y_k = 0 (every segment of max_load, the first min_load ones forced to 1);
    otherwise min_load <= seats <= max_load. Returns ((stage, expert) keys of the rows in order,
    whether segments are used, the segments' objective, their lower bounds)."""
    E = comp.problem.n_experts
    nx = len(cols)
    r = rows.r
    key = comp.col_stage[cols] * E + comp.col_expert[cols]
    uk, inv = np.unique(key, return_inverse=True)
    s_, e_ = uk // E, uk % E
    mx = comp.max_load[s_, e_]
    mn = comp.min_load[s_, e_]
    use_seg = comp.seg_cost.size > 0 and comp.seg_cost.max() > 0
    nrow = len(uk)
    rows.add_entries(r + inv, np.arange(nx), np.ones(nx))
    y_c = np.zeros(0)
    y_lb = np.zeros(0)
    if use_seg:
        nseg = mx.copy()  # all segments, so the duals stay valid when columns are added
        ny = int(nseg.sum())
        owner = np.repeat(np.arange(len(uk)), nseg)
        k = np.arange(ny) - np.repeat(np.cumsum(nseg) - nseg, nseg)
        rows.add_entries(r + owner, nx + np.arange(ny), -np.ones(ny))
        y_c = -comp.segment_cost(np.repeat(e_, nseg), k).astype(float)
        y_lb = (k < np.repeat(mn, nseg)).astype(float)
        rows.add_rows(np.zeros(nrow), np.zeros(nrow), load_family().name)
    else:
        rows.add_rows(mn.astype(float), mx.astype(float), load_family().name)
    return uk, use_seg, y_c, y_lb


def _add_group_rows(comp: Compiled, cols: np.ndarray, rows: _Rows) -> dict:
    """At most one seat per group of each group family (rows only for groups with >= 2 columns in
    `cols`). Returns {family name: (first row, group ids of its rows)}, or an empty array for a
    family without a column in a group."""
    group_rows = {}
    for f in group_families():
        name = f.name
        gid = f.group_ids(comp)[cols]
        m = gid >= 0
        if not m.any():
            group_rows[name] = np.zeros(0, dtype=np.int64)
            continue
        u, inv, cnt = np.unique(gid[m], return_inverse=True, return_counts=True)
        keep = cnt[inv] > 1
        ug = u[cnt > 1]
        rid = np.cumsum(cnt > 1) - 1
        r = rows.r
        members = np.nonzero(m)[0][keep]
        rows.add_entries(r + rid[inv[keep]], members, np.ones(keep.sum()))
        hi = np.ones(len(ug))
        if f.per_expert and comp.mult is not None:  # one seat per member of an aggregated class
            hi[rid[inv[keep]]] = comp.mult[comp.col_expert[cols[members]]]
        rows.add_rows(np.full(len(ug), -np.inf), hi, name)
        group_rows[name] = (r, ug)
    return group_rows


def solve_lp(lm: LinearModel, time_limit=None):
    """LP relaxation with HiGHS. Returns (status, objective, x, row duals y) with y such that the
    reduced cost (maximisation) of a column a is c_a - A[:, a]^T y."""
    eq = lm.lo == lm.hi
    up = ~eq & np.isfinite(lm.hi)
    dn = ~eq & np.isfinite(lm.lo)
    A_eq = lm.A[eq]
    A_ub = sp.vstack([lm.A[up], -lm.A[dn]]).tocsr()
    b_ub = np.r_[lm.hi[up], -lm.lo[dn]]
    opts = {"presolve": True}
    if time_limit:
        opts["time_limit"] = float(time_limit)
    res = linprog(-lm.c, A_ub=A_ub if A_ub.shape[0] else None, b_ub=b_ub if A_ub.shape[0] else None,
                  A_eq=A_eq if A_eq.shape[0] else None, b_eq=lm.lo[eq] if A_eq.shape[0] else None,
                  bounds=np.c_[lm.lb, lm.ub], method="highs", options=opts)
    if res.status != 0:
        return {1: "TIME_LIMIT", 2: "INFEASIBLE"}.get(res.status, "ERROR"), float("nan"), None, None
    y = np.zeros(len(lm.lo))
    # linprog marginals are d(min obj)/d(b); for max c: y = -marginal
    if A_eq.shape[0]:
        y[np.nonzero(eq)[0]] = -res.eqlin.marginals
    if A_ub.shape[0]:
        mu = -res.ineqlin.marginals
        nu = up.sum()
        y[np.nonzero(up)[0]] += mu[:nu]
        y[np.nonzero(dn)[0]] -= mu[nu:]
    return "OPTIMAL", -res.fun, res.x, y


def chosen_columns(cols: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The columns an integral solution `x` (over `cols`) takes: cols[x > 0.5], a column repeated
    round(x) times when it may take several seats (an aggregated class, solver.symmetry)."""
    k = np.rint(np.asarray(x, dtype=float)).astype(np.int64)
    return cols[k > 0] if k.max(initial=0) <= 1 else np.repeat(cols, np.maximum(k, 0))


def solve_milp(lm: LinearModel, time_limit=60.0, mip_rel_gap=0.0):
    """Integer solve with HiGHS MIP. Returns (status, objective, x, dual bound)."""
    integ = np.ones(len(lm.c), dtype=np.uint8)
    res = milp(-lm.c, constraints=LinearConstraint(lm.A, lm.lo, lm.hi), integrality=integ,
               bounds=Bounds(lm.lb, lm.ub),
               options={"time_limit": float(time_limit), "mip_rel_gap": mip_rel_gap, "disp": False})
    if res.x is None:
        return ("INFEASIBLE" if res.status == 2 else "UNKNOWN"), float("nan"), None, float("nan")
    bound = -getattr(res, "mip_dual_bound", res.fun) if getattr(res, "mip_dual_bound", None) is not None else -res.fun
    st = "OPTIMAL" if res.status == 0 else "FEASIBLE"
    return st, -res.fun, res.x, bound


def reduced_costs(comp: Compiled, lm: LinearModel, y: np.ndarray, cost=None) -> np.ndarray:
    """Reduced cost (maximisation) of EVERY column of `comp` under the duals `y` of the restricted
    model `lm`. Rows absent from `lm` get a valid dual: 0 for group/tree rows, the first load
    segment's cost for an expert without columns (all its segments then price <= 0)."""
    cost = comp.col_cost if cost is None else cost
    tpl = comp.tpl
    E = comp.problem.n_experts
    rc = np.asarray(cost, dtype=float).copy()
    yy = np.r_[y, 0.0]  # index -1 -> 0
    for leaf, anc in tpl.leaf_anc.items():
        m = comp.col_leaf == leaf
        p = comp.col_panel[m]
        sub = np.zeros(int(m.sum()))
        for t in anc:
            rid = lm.tree_rid.get(t)
            if rid is not None:
                sub += yy[rid[p]]
        rc[m] -= sub
    r0, uk = lm.load_keys
    key = comp.col_stage * E + comp.col_expert
    pos = np.searchsorted(uk, key)
    posc = np.minimum(pos, len(uk) - 1)
    hit = (len(uk) > 0) & (uk[posc] == key) if len(uk) else np.zeros(len(key), dtype=bool)
    default = float(comp.seg_cost[0]) if lm.use_seg else 0.0
    rc -= np.where(hit, y[r0 + posc] if len(uk) else 0.0, default)
    for f in group_families():
        gid_all = f.group_ids(comp)
        gr = lm.group_rows.get(f.name)
        if gr is None or len(gr) == 0 or isinstance(gr, np.ndarray):
            continue
        r_start, ug = gr
        m = gid_all >= 0
        g = gid_all[m]
        pos = np.searchsorted(ug, g)
        posc = np.minimum(pos, len(ug) - 1)
        ok = ug[posc] == g
        sub = np.zeros(len(g))
        sub[ok] = y[r_start + posc[ok]]
        rc[m] -= sub
    return rc
