"""CP-SAT model: one small function per constraint family and per objective term.

Every family function registers its constraints under its family name (see model.HARD_FAMILIES);
in diagnose mode each (family, key) group is guarded by an enforcement literal so that
`sufficient_assumptions_for_infeasibility()` names the families that clash.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .compile import Compiled


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
    seg: dict = field(default_factory=dict)

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


def _by_panel_node(ctx: ModelCtx):
    """{(panel, node): [local var positions]} over the template tree."""
    comp, tpl = ctx.comp, ctx.comp.tpl
    groups = {}
    cp = comp.col_panel[ctx.cols]
    cl = comp.col_leaf[ctx.cols]
    for i, (p, leaf) in enumerate(zip(cp.tolist(), cl.tolist())):
        for t in tpl.leaf_anc[leaf]:
            groups.setdefault((p, t), []).append(i)
    return groups


def _add_tree_family(ctx: ModelCtx, family: str, groups):
    comp, tpl = ctx.comp, ctx.comp.tpl
    nodes = [t for t in range(tpl.T) if tpl.family[t] == family]
    for p in range(comp.P):
        s = int(comp.panel_stage[p])
        for t in nodes:
            lo, hi = int(tpl.lb[s, t]), int(tpl.ub[s, t])
            idx = groups.get((p, t), [])
            if not idx:
                if lo > 0:
                    ctx.guard(ctx.model.add_bool_or([]), family, p)
                continue
            expr = cp_model.LinearExpr.sum([ctx.x[i] for i in idx])
            if t == 0:
                ctx.guard(ctx.model.add(expr == lo), family, p)
                continue
            if lo <= 0 and hi >= len(idx):
                continue
            if lo > 0:
                ctx.guard(ctx.model.add(expr >= lo), family, p)
            if hi < len(idx):
                ctx.guard(ctx.model.add(expr <= hi), family, p)


def add_excluded_pairs(ctx: ModelCtx, groups=None):
    """Excluded pairs (conflicts, bans, unavailability) never become columns: nothing to add here;
    check_plan verifies them and the pre-check counts eligible experts after exclusions."""


def add_panel_size(ctx, groups):
    """Exactly panel_size experts per panel."""
    _add_tree_family(ctx, "panel_size", groups)


def add_category_coverage(ctx, groups):
    """>= min_per_category (and <= max) experts of every category per panel."""
    _add_tree_family(ctx, "category_coverage", groups)


def add_tech_industry_share(ctx, groups):
    """技术 + 产业 >= ceil(share * n) per panel."""
    _add_tree_family(ctx, "tech_industry_share", groups)


def add_field_matched_technical(ctx, groups):
    """>= min_field_matched_technical technical experts whose specialties match the field."""
    _add_tree_family(ctx, "field_matched_technical", groups)


def add_chair(ctx, groups):
    """At least one chair-eligible member (senior, technical, field-matched); the chair is then
    the member of that kind with the highest affinity."""
    _add_tree_family(ctx, "chair", groups)


def add_one_per_employer(ctx, groups=None):
    """At most one expert of each employer group per panel."""
    pos = {int(j): i for i, j in enumerate(ctx.cols)}
    for g in ctx.comp.employer_groups():
        idx = [pos[j] for j in g.tolist() if j in pos]
        if len(idx) > 1:
            ctx.guard(ctx.model.add_at_most_one(ctx.x[i] for i in idx), "one_per_employer",
                      int(ctx.comp.col_panel[g[0]]))


def add_expert_load(ctx, groups=None):
    """min_load <= panels per (expert, stage) <= max_load."""
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
            ctx.guard(ctx.model.add(load <= mx), "expert_load", s)
        if mn > 0:
            ctx.guard(ctx.model.add(load >= mn), "expert_load", s)
        ctx.seg[kk] = idx
    for s in comp.solve_stages:
        for e in np.nonzero(comp.min_load[s] > 0)[0].tolist():
            if s * E + e not in seen:
                ctx.guard(ctx.model.add_bool_or([]), "expert_load", s)


def add_locks_and_forbids(ctx, groups=None):
    """Locked seats are forced; forbidden seats were removed when compiling."""
    lk = ctx.comp.col_lock[ctx.cols]
    for i in np.nonzero(lk)[0].tolist():
        ctx.guard(ctx.model.add(ctx.x[i] == 1), "locks_and_forbids", int(ctx.comp.col_panel[ctx.cols[i]]))


def add_stage_independence(ctx, groups=None):
    """An expert sits on one application in at most one stage (unless the policy allows)."""
    pos = {int(j): i for i, j in enumerate(ctx.cols)}
    for g in ctx.comp.indep_groups():
        idx = [pos[j] for j in g.tolist() if j in pos]
        if len(idx) > 1:
            ctx.guard(ctx.model.add_at_most_one(ctx.x[i] for i in idx), "stage_independence",
                      int(ctx.comp.col_app[g[0]]))


# ---- objective terms (integer units; maximised) ----

def affinity(ctx):
    w = ctx.comp.problem.weights.affinity
    return np.rint(ctx.comp.scale * w * ctx.comp.col_aff[ctx.cols]).astype(np.int64)


def soft_conflict(ctx):
    w = ctx.comp.problem.weights.soft_conflict
    return -np.rint(ctx.comp.scale * w * ctx.comp.col_soft[ctx.cols]).astype(np.int64)


def continuity(ctx):
    w = ctx.comp.problem.weights.continuity
    return np.rint(ctx.comp.scale * w * ctx.comp.col_cont[ctx.cols]).astype(np.int64)


def load_balance(ctx):
    """- sum over (expert, stage) of w * load**2, through unit segments of increasing cost."""
    comp = ctx.comp
    vars_, coefs = [], []
    if comp.seg_cost.size == 0 or comp.seg_cost.max() == 0:
        return vars_, coefs
    for kk, idx in ctx.seg.items():
        n = min(len(idx), int(comp.max_load.reshape(-1)[kk]))
        ys = [ctx.model.new_bool_var("") for _ in range(n)]
        ctx.model.add(sum(ys) == sum(ctx.x[i] for i in idx))
        for a, b in zip(ys, ys[1:]):
            ctx.model.add_implication(b, a)
        vars_ += ys
        coefs += (-comp.seg_cost[:n]).tolist()
    return vars_, coefs


CONSTRAINT_FAMILIES = (add_excluded_pairs, add_panel_size, add_category_coverage, add_tech_industry_share,
                       add_field_matched_technical, add_chair, add_one_per_employer, add_expert_load,
                       add_locks_and_forbids, add_stage_independence)


def build_model(comp: Compiled, cols=None, diagnose=False, cost=None) -> ModelCtx:
    cols = np.arange(comp.n_cols) if cols is None else np.asarray(cols, dtype=np.int64)
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(len(cols))]
    ctx = ModelCtx(comp, cols, model, x, diagnose)
    groups = _by_panel_node(ctx)
    for f in CONSTRAINT_FAMILIES:
        f(ctx, groups)
    if not diagnose:
        if cost is None:
            coef = affinity(ctx) + soft_conflict(ctx) + continuity(ctx)
            if len(cols) and not np.array_equal(coef, comp.col_cost[cols]):
                coef = comp.col_cost[cols]  # includes repair bonuses
        else:
            coef = np.asarray(cost, dtype=np.int64)[cols]
        ctx.terms["pairs"] = (x, coef.tolist())
        lv, lc = load_balance(ctx)
        ctx.terms["load_balance"] = (lv, lc)
        allv = x + lv
        allc = coef.tolist() + lc
        model.maximize(cp_model.LinearExpr.weighted_sum(allv, allc))
    return ctx


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, fn, t0):
        super().__init__()
        self.fn, self.t0, self.n = fn, t0, 0

    def on_solution_callback(self):
        self.n += 1
        try:
            self.fn({"objective": self.objective_value, "bound": self.best_objective_bound,
                     "wall_time": time.perf_counter() - self.t0, "solutions": self.n})
        except Exception:  # a broken printer must not kill the solve
            pass


@dataclass
class CpResult:
    status: str
    cols: np.ndarray
    objective_units: float
    bound_units: float
    wall: float
    core: list = field(default_factory=list)


def params(solver, time_limit, num_workers, seed, deterministic, log=False):
    p = solver.parameters
    if deterministic:
        p.num_workers = 1
        p.max_deterministic_time = float(time_limit)
    else:
        p.num_workers = int(num_workers)
        p.max_time_in_seconds = float(time_limit)
    p.random_seed = int(seed)
    p.log_search_progress = bool(log)


def solve_model(ctx: ModelCtx, time_limit=30.0, num_workers=2, seed=0, deterministic=False,
                hint_cols=None, progress=None, log=False, assumptions=False) -> CpResult:
    t0 = time.perf_counter()
    if hint_cols is not None:
        h = np.zeros(ctx.comp.n_cols, dtype=bool)
        h[np.asarray(hint_cols, dtype=np.int64)] = True
        for v, val in zip(ctx.x, h[ctx.cols].tolist()):
            ctx.model.add_hint(v, val)
    if assumptions:
        ctx.model.add_assumptions(list(ctx.lits.values()))
    solver = cp_model.CpSolver()
    params(solver, time_limit, num_workers, seed, deterministic or assumptions, log)
    if assumptions:
        solver.parameters.num_workers = 1
    cb = _Progress(progress, t0) if progress is not None else None
    st = solver.solve(ctx.model, cb)
    name = solver.status_name(st)
    wall = time.perf_counter() - t0
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        vals = np.array([solver.boolean_value(v) for v in ctx.x], dtype=bool)
        cols = ctx.cols[vals]
        return CpResult(name, cols, solver.objective_value, solver.best_objective_bound, wall)
    core = []
    if assumptions and st == cp_model.INFEASIBLE:
        core = [ctx.lit_info[i] for i in solver.sufficient_assumptions_for_infeasibility()
                if i in ctx.lit_info]
    return CpResult(name, np.zeros(0, dtype=np.int64), float("nan"), float("nan"), wall, core)
