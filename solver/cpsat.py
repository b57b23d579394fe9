"""CP-SAT model: the builder of every hard-rule family of the registry, then the objective terms.

Every family's builder (solver.cpsat_rules) registers its constraints under its family name; in
diagnose mode each (family, key) group is guarded by an enforcement literal so that
`sufficient_assumptions_for_infeasibility()` names the families that clash.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .compile import Compiled
from .cpsat_rules import ModelCtx, members_by_panel_node
from .families import FAMILIES


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


def build_model(comp: Compiled, cols=None, diagnose=False, cost=None) -> ModelCtx:
    cols = np.arange(comp.n_cols) if cols is None else np.asarray(cols, dtype=np.int64)
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(len(cols))]
    ctx = ModelCtx(comp, cols, model, x, diagnose)
    ctx.node_members = members_by_panel_node(ctx)
    for family in FAMILIES:
        family.cpsat(ctx, family)
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
