"""Random draw (随机抽取) with a cap q on every seat's probability: `build_lottery` and `draw`.

The lottery (solver.lottery.Lottery) is a probability vector over feasible plans; every plan meets
every hard rule, so every draw does. A draw picks one plan with numpy default_rng(seed).choice(p=w).
The build is deterministic, so the same problem, q, parameters and seed always give the same draw.

Modules: solver.lottery (the type, the draw, the content key, plain data), solver.lottery_fast
(default method), solver.lottery_exact (column generation with the exact solver as pricing).
The solver keeps no cache: reviewer.panels.lottery_cache keeps lotteries by `lottery_key`.
"""
from __future__ import annotations

from dataclasses import replace

from .budget import SafetyNet, TimeLimitReached
from .compile import Compiled, compile_problem
from .lottery import LOTTERY_VERSION, Lottery, lottery_from_data, lottery_key, lottery_params, lottery_to_data
from .lottery_exact import build_exact
from .lottery_fast import build_fast
from .flow import non_flow_parts
from .lottery_flow import MAX_DENOMINATOR, FlowLottery, build_flow, q_is_fraction
from .lottery_staged import StagedLottery, build_staged
from .model import PanelProblem, Plan, SolveOptions

__all__ = ["build_lottery", "draw", "Lottery", "FlowLottery", "StagedLottery", "TimeLimitReached", "LOTTERY_VERSION", "lottery_key", "lottery_params",
           "lottery_to_data", "lottery_from_data"]


def build_lottery(problem: PanelProblem, q: float = 0.5, options: SolveOptions | None = None,
                  max_iter: int = 100, time_limit: float = 120.0, rel_tol: float = 1e-6,
                  gap_tol: float = 1e-2, spread: float = 0.005,
                  spread_iter: int = 100, spread_time: float = 60.0, *, method: str = "auto",
                  perturb: float = 0.5, n_decompositions: int = 8, spread_plans: int = 30, face_gap: float = 1.0,
                  spread_mip: bool = False, comp: Compiled | None = None, stage_order: str = "seats"
                  ) -> Lottery | FlowLottery | StagedLottery | Plan:
    """Lottery over feasible plans with every seat probability <= q. Returns the deterministic
    (INFEASIBLE) Plan when no plan exists.

    method="auto" (default): "flow" when every hard rule keeps the problem a network flow
    (solver.lottery_flow.flow_applies: no employer group spanning categories, one stage solved or
    stages allowed to share experts), else "staged" (solver.lottery_staged: the flow lottery stage by
    stage, employer groups restricted to one category per panel; cap exact, value estimated; stages drawn
    in `stage_order`: "seats" = the most seats first, "panel_size" = lottery version flow-4's order), and
    "fast" when that cannot build.
    method="flow": the capped fractional assignment (LP(q), one scaled min-cost flow) and, per draw,
    dependent rounding on the network: every seat's probability is exactly its LP value (<= q), the
    expected value is LP(q), the best possible (solver.lottery_flow). ValueError when the problem is
    not a network flow; falls back to "fast" when the capped flow is infeasible (a seat forced above q).

    method="fast" (default):
      1. UB = the LP relaxation of the full model with every seat capped at q (column generation
         over all candidates, HiGHS). No lottery with seat probabilities <= q has a larger expected
         value (the convex hull of plans lies inside the LP polytope), so UB certifies the result.
      2. Perturbed maximisation (Jecmen et al. 2023): the same LP with a concave, piecewise-linear
         perturbation of each seat's value (`perturb` = curvature, relative to the median seat value),
         which spreads probability over more experts at a small cost in value.
      3. The perturbed fractional point is decomposed into integral plans by a face walk: an
         integral vertex of the minimal face containing the point (HiGHS MIP restricted to that face),
         then the largest step away from it that stays in the polytope; repeated from
         `n_decompositions` random tie-breaks. The MIP stops at the first integral point within
         `face_gap` (relative) of the best one: any integral point of the face is valid, and proving
         the best one was most of the build time on the real demo round. Every plan found is an
         integral point of the full model (all hard rules).
      4. Master LP over the pooled plans (weights, one cap row per seat, exactly as in the exact
         method), with column generation whose pricing is restricted to the seats of steps 1-3 (LP,
         MIP when fractional); stops at `gap_tol` relative to UB or after `max_iter` rounds. If the
         pool cannot meet the caps the exact method takes over from the pool.
      5. Spreading (`spread` > 0): minimise the largest plan weight at value >= (1 - spread) of
         the master's value, caps kept, adding up to min(`spread_iter`, `spread_plans`) plans by
         the same restricted pricing (LP only: the spreading stops at the first fractional pricing
         LP unless `spread_mip`). With `spread_plans` = 0 the pool is still re-weighted.
    Reproducible by construction: every stopping rule counts work (iterations, plan counts, HiGHS
    node limits, solves run to proven optimality), so the lottery, hence every draw, is a function
    of (problem, q, parameters). `time_limit` + `spread_time` seconds is only a safety net: when it
    runs out the build raises solver.budget.TimeLimitReached, never returns a different lottery.
    method="exact": column generation with the exact solver as pricing (slow; solver.lottery_exact).

    `comp`: the problem already compiled with (options.scale, options.stages), to compile once when
    the caller also needs `lottery_key(comp, ...)`. The lottery is a deterministic function of the
    compiled problem, q and the parameters (`lottery_key`); the solver keeps no cache
    (reviewer.panels.lottery_cache.cached_lottery does).
    """
    lottery_params(q, method=method, stage_order=stage_order)  # ValueError on a bad method, order or q
    options = replace(options or SolveOptions(), deterministic=True, num_workers=1, progress=None)
    net = SafetyNet(float(time_limit) + float(spread_time))
    if comp is None:
        comp = compile_problem(problem, options.scale, options.stages)
    if method in ("auto", "flow", "staged"):
        lot = _flow_lottery(comp, q, method, net, stage_order)
        if lot is not None:
            return lot
    if method == "exact":
        return build_exact(comp, q, options, max_iter, rel_tol=rel_tol, gap_tol=gap_tol, spread=spread,
                           spread_iter=spread_iter, net=net)
    return build_fast(comp, q, options, net, max_iter, rel_tol, gap_tol, spread, perturb,
                      n_decompositions, spread_iter, spread_plans, face_gap, spread_mip)


def _flow_lottery(comp: Compiled, q: float, method: str, net: SafetyNet, stage_order: str = "seats"):
    """The flow lottery when the rules keep a network flow, else (auto, staged) the staged flow
    lottery; None when neither applies or builds (the caller uses the column-generation lottery)."""
    parts = non_flow_parts(comp)
    simple_q = q_is_fraction(q)
    if method == "flow" and (parts.dropped or not simple_q):
        raise ValueError("method 'flow' needs a problem that is a network flow (an employer group spans "
                         "categories, or stage independence links the solved stages) and q = k/m with m <= "
                         f"{MAX_DENOMINATOR}: use 'auto', 'staged' or 'fast'")
    if not simple_q:
        return None
    if not parts.dropped:
        lot = build_flow(comp, q, net.start, parts)
    elif method in ("auto", "staged"):
        lot = build_staged(comp, q, net.start, net, parts, order=stage_order)
    else:
        lot = None
    net.check()
    return lot


def draw(problem: PanelProblem, q: float = 0.5, seed: int = 0, options: SolveOptions | None = None,
         lottery: Lottery | FlowLottery | None = None) -> Plan:
    """One randomized plan (path "lp_randomized"). Pass a prebuilt `lottery` to draw many times."""
    lot = lottery if lottery is not None else build_lottery(problem, q, options)
    if isinstance(lot, Plan):
        return lot
    return lot.draw(seed)
