"""The planning service: the one path from a round's records to a plan of expert panels.

    plan(data, policy, params) -> PlanResult            screen, find conflicts, build, solve or draw
    repair(data, policy, panels, removed) -> (PlanResult, RepairResult)   minimal-change replacement
    check_seats(data, policy, panels) -> SeatCheck      an imported panels table, independent checker
    check_seat_change(data, policy, before, after)       a change of published seats, the same checker

`PlanParams` holds every choice of a planning run, validated once when it is made
(`PlanParams.for_policy`), and round-trips through the JSON a store run records
(`to_record` / `from_record`), so the CLI's file mode, store runs, the app and `reviewer reproduce`
plan through the same code with the same parameters. All three entry points build their problem
with `planning_input`.
"""
from __future__ import annotations

import datetime as dt

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from reviewer import home
from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.errors import UserError
from reviewer.exports import write_table
from reviewer.intake.model import RoundData
from reviewer.panels.problem import PlanningInput, build_problem, plan_from_panels
from reviewer.panels.tables import (coverage_table, diagnostics_table, loads_table, panels_table, seat_frame,
                                    summary_table)
from reviewer.policy import Policy
from reviewer.screening.eligibility import screen
from reviewer.panels.lottery_cache import cached_lottery
from reviewer.pool.standing import bar_lines, bars_from_record
from solver import Plan, SolveOptions, Violation, check_plan, solve
from solver import repair as solver_repair
from solver.budget import TimeLimitReached
from solver.lottery import COMPATIBLE_VERSIONS, LOTTERY_VERSION

Echo = Callable[[str], None]
Seat = tuple[str, str, str]   # (stage, expert_id, application_id)
Decision = tuple[str, str, str, str]   # (application_id, rule, decision pass/fail, reason)

MAX_TIME_LIMIT = 24 * 3600.0
MAX_SEED = 2**31 - 1
# The random draw's safety limit (seconds, from the run's time limit): the lottery is built to the
# end or not at all (a partial lottery would depend on the machine's load), so the net is generous.
DRAW_SAFETY_FACTOR = 10
DRAW_SAFETY_MIN = 300.0


def draw_safety_seconds(time_limit: float) -> float:
    """How long a draw may build its lottery before it aborts: 10 x the time limit, at least 300 s."""
    return min(max(DRAW_SAFETY_FACTOR * float(time_limit), DRAW_SAFETY_MIN), MAX_TIME_LIMIT)


def quiet(_: str) -> None:
    """An echo that says nothing."""


def check_stage_names(policy: Policy, names: Iterable[str], what: str) -> None:
    """UserError naming the first of `names` that is not a stage of the policy."""
    for name in names:
        try:
            policy.stage(name)
        except UserError as e:
            raise UserError(f"{what}: {e}") from None


def _bad(what: str, value: Any, expected: str) -> UserError:
    return UserError(f"规划参数错误 invalid planning parameter {what}={value!r}: expected {expected}")


def _seats(value: Any, what: str) -> tuple[Seat, ...]:
    out = []
    for x in value or ():
        if not isinstance(x, (list, tuple)) or len(x) != 3 or not all(isinstance(v, str) and v.strip() for v in x):
            raise _bad(what, x, "(stage, expert id, application id), three non-empty texts")
        out.append((x[0].strip(), x[1].strip(), x[2].strip()))
    return tuple(out)


def _decisions(value: Any) -> tuple[Decision, ...]:
    out = []
    for x in value or ():
        if isinstance(x, Mapping):
            x = (x.get("application_id"), x.get("rule"), x.get("decision"), x.get("reason", ""))
        if not isinstance(x, (list, tuple)) or len(x) != 4 or not all(isinstance(v, str) for v in x) or x[2] not in ("pass", "fail"):
            raise _bad("review_decisions", x, "(application id, rule, pass/fail, reason)")
        out.append(tuple(x))
    return tuple(out)


@dataclass(frozen=True)
class PlanParams:
    """Every choice of one planning run. Make it with `PlanParams.for_policy(policy, ...)`, which
    also checks the stage names against the policy; a bad value is a UserError when it is made.

    stages: the stages to plan (in the policy's order). seed: the solver's / the draw's seed.
    randomize: 随机抽取 a random draw with each seat's probability capped at `q` (default: the
    policy's random_draw.max_pair_probability). time_limit: seconds. workers: solver threads
    (1 = deterministic, so a store run reproduces). include_review: also plan the applications whose
    screening needs review. locks / forbids: (stage, expert_id, application_id) seats forced / kept
    off. fixed: seats of other stages held as they are (stage independence). review_decisions:
    staff decisions on needs-review checks, (application_id, rule, pass/fail, reason).
    advanced: (stage, application ids) — a gated stage takes only the applications that advanced to it
    (reviewer.store.stages). stage_dates: (stage, YYYY-MM-DD) meeting days from the round settings, over
    the policy's [stages] dates, so experts unavailable that day are not drawn.
    lottery_version: a random draw's lottery code version (default: this program's
    solver.lottery.LOTTERY_VERSION); an earlier one is drawn as it was when this program still can
    (COMPATIBLE_VERSIONS), else a UserError names it.
    pool_bars: (expert id, field or "" for all, reason) — rule P1 专家库资格 in force (reviewer.pool.standing),
    recorded so a reproduced run or a verified draw plans under the same bars.
    """
    stages: tuple[str, ...]
    seed: int = 0
    randomize: bool = False
    q: float | None = None
    time_limit: float = 30.0
    workers: int = 1
    include_review: bool = False
    locks: tuple[Seat, ...] = ()
    forbids: tuple[Seat, ...] = ()
    fixed: tuple[Seat, ...] = ()
    review_decisions: tuple[Decision, ...] = ()
    advanced: tuple[tuple[str, tuple[str, ...]], ...] = ()
    stage_dates: tuple[tuple[str, str], ...] = ()
    lottery_version: str = ""
    pool_bars: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        stages = (self.stages,) if isinstance(self.stages, str) else tuple(self.stages or ())
        if not stages or not all(isinstance(s, str) and s.strip() for s in stages) or len(set(stages)) != len(stages):
            raise _bad("stages", self.stages, "one or more distinct stage names")
        for name in ("randomize", "include_review"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), "true or false")
        for name, low, top in (("seed", 0, MAX_SEED), ("workers", 1, 64)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= top:
                raise _bad(name, v, f"a whole number from {low} to {top}")
        t = self.time_limit
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= MAX_TIME_LIMIT:
            raise _bad("time_limit", t, f"seconds, more than 0 and at most {MAX_TIME_LIMIT:g}")
        q = self.q
        if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1):
            raise _bad("q", q, "a seat probability cap above 0 and at most 1")
        set_ = object.__setattr__   # frozen: normalise once, here
        set_(self, "stages", tuple(s.strip() for s in stages))
        set_(self, "time_limit", float(t))
        set_(self, "q", None if q is None else float(q))
        for name in ("locks", "forbids", "fixed"):
            set_(self, name, _seats(getattr(self, name), name))
        set_(self, "review_decisions", _decisions(self.review_decisions))
        set_(self, "advanced", tuple((str(st), tuple(str(a) for a in apps)) for st, apps in self.advanced))
        set_(self, "stage_dates", tuple((str(st), str(d)) for st, d in self.stage_dates))
        for st, d in self.stage_dates:
            try:
                dt.date.fromisoformat(d)
            except ValueError:
                raise _bad("stage_dates", (st, d), "a date like 2026-12-01") from None
        set_(self, "lottery_version", _lottery_version(self.lottery_version) if self.randomize else "")
        set_(self, "pool_bars", bars_from_record(self.pool_bars))

    @classmethod
    def for_policy(cls, policy: Policy, stages: Iterable[str] | None = None, **values: Any) -> PlanParams:
        """Parameters checked against the round's policy: `stages` default to every stage; an unknown
        stage (of the plan or of a lock, forbid or fixed seat) is a UserError; a random draw without
        `q` gets the policy's cap."""
        stages = tuple(stages) if stages else tuple(policy.stages.order)
        params = cls(stages=stages, **values)
        params.check_stages(policy)
        if params.randomize and params.q is None:
            params = replace(params, q=float(policy.random_draw.max_pair_probability))
        return params

    def check_stages(self, policy: Policy) -> None:
        """Every stage named (to plan, or of a lock, forbid or fixed seat) is a stage of the policy."""
        check_stage_names(policy, self.stages, "stages")
        for what in ("locks", "forbids", "fixed", "advanced", "stage_dates"):
            check_stage_names(policy, [x[0] for x in getattr(self, what)], what)

    def to_record(self) -> dict[str, Any]:
        """The JSON a store run records (`Run.parameters`); `from_record` reads it back."""
        out: dict[str, Any] = {"stages": list(self.stages), "seed": self.seed, "randomize": self.randomize,
                               "time_limit": self.time_limit, "workers": self.workers,
                               "include_review": self.include_review,
                               "locks": [list(x) for x in self.locks], "forbids": [list(x) for x in self.forbids],
                               "fixed": [list(x) for x in self.fixed],
                               "review_decisions": [{"application_id": a, "rule": k, "decision": d, "reason": why}
                                                    for a, k, d, why in self.review_decisions]}
        if self.q is not None:
            out["q"] = self.q
        if self.advanced:
            out["advanced"] = [[st, list(apps)] for st, apps in self.advanced]
        if self.stage_dates:
            out["stage_dates"] = [list(x) for x in self.stage_dates]
        if self.randomize:
            out["lottery_version"] = self.lottery_version
        if self.pool_bars:
            out["pool_bars"] = [list(x) for x in self.pool_bars]
        return out

    @classmethod
    def from_record(cls, policy: Policy, record: Mapping[str, Any]) -> PlanParams:
        """Parameters of a recorded run. Keys that are not planning parameters (e.g. the store's
        `waivers`, applied to the records before planning) are left to the caller."""
        names = {f.name for f in fields(cls)} - {"stages"}
        values = {k: v for k, v in record.items() if k in names}
        # Runs recorded before workers were recorded ran with one worker.
        values.setdefault("workers", 1)
        return cls.for_policy(policy, record.get("stages") or None, **values)


@dataclass
class PlanResult:
    """A plan with its tables (ids and names): what planning and repair return."""
    inp: PlanningInput
    plan: Plan
    panels: pd.DataFrame
    loads: pd.DataFrame
    summary: pd.DataFrame
    diagnostics: pd.DataFrame
    coverage: pd.DataFrame
    stages: list[str]

    def write(self, out) -> list:
        paths = []
        if not self.panels.empty:
            paths += write_table(self.panels, out, "panels", "专家组")
            paths += write_table(self.loads, out, "expert_load", "专家负载")
            paths += write_table(self.coverage, out, "panel_coverage", "类别覆盖")
        paths += write_table(self.summary, out, "plan_summary", "求解概况")
        if not self.diagnostics.empty:
            paths += write_table(self.diagnostics, out, "plan_diagnostics", "无解原因")
        return paths

    def record(self) -> dict:
        p = self.plan
        return {"solver": {"status": p.status, "path": p.path, "objective": p.objective, "bound": p.bound,
                           "gap": p.gap, "wall_seconds": p.wall_time, "seed": p.seed},
                "objective_breakdown": {k: float(v) for k, v in p.breakdown.items()},
                "stages": self.stages, "seats": int(len(self.panels))}


def result_of(inp: PlanningInput, plan: Plan, policy: Policy, stages: list[str]) -> PlanResult:
    """The tables of a plan of `inp`."""
    panels = panels_table(inp, plan)
    return PlanResult(inp, plan, panels, loads_table(inp, plan), summary_table(plan), diagnostics_table(inp, plan),
                      coverage_table(panels, list(policy.panel_rules.categories)), stages)


# ---------------------------------------------------------------- the problem, solving and drawing

def planning_input(data: RoundData, policy: Policy, stage_applications: dict[str, list[str]], *,
                   locks: Iterable[Seat] = (), forbids: Iterable[Seat] = (), fixed: Iterable[Seat] = (),
                   conflicts: ConflictSet | None = None, bars: Iterable[tuple[str, str, str]] = ()) -> PlanningInput:
    """The problem every entry point of the service solves or checks: conflicts (detected unless
    given) and the policy's rules over `stage_applications` (stage -> application ids); `bars`: the
    pool standing (rule P1) in force."""
    conflicts = conflicts if conflicts is not None else detect_conflicts(data, policy)
    return build_problem(data, conflicts, policy, stage_applications=stage_applications,
                         locks=locks, forbids=forbids, fixed=fixed, bars=bars)


def solve_round(inp: PlanningInput, stages: Iterable[str] | None = None, seed: int = 0, time_limit: float = 30.0,
                progress: Callable[[dict], None] | None = None, workers: int = 2) -> Plan:
    """The solver's best plan of `stages` (default all); workers=1 is deterministic."""
    idx = tuple(inp.stage_index(s) for s in stages) if stages else None
    opts = SolveOptions(time_limit=time_limit, seed=seed, stages=idx, progress=progress, num_workers=workers,
                        deterministic=workers == 1)
    return solve(inp.problem, opts)


def _lottery_version(v: Any) -> str:
    """The lottery version a draw uses: "" = this program's; an earlier one this program still
    recomputes exactly (solver.lottery.COMPATIBLE_VERSIONS); anything else is refused."""
    v = LOTTERY_VERSION if v in ("", None) else v
    if v != LOTTERY_VERSION and v not in COMPATIBLE_VERSIONS:
        raise UserError(f"抽取程序版本 {v!r} 无法由本程序重算：本程序的抽取程序版本为 {LOTTERY_VERSION}"
                        f"（可重算的旧版本：{', '.join(COMPATIBLE_VERSIONS) or '无'}）。请用做出该抽取的程序版本验证。"
                        f" / Lottery version {v!r} cannot be recomputed by this program (it draws with "
                        f"{LOTTERY_VERSION}; earlier versions it recomputes: {', '.join(COMPATIBLE_VERSIONS) or 'none'}): "
                        "verify with the release that made the draw.")
    return str(v)


def lottery_method(version: str) -> str:
    """The build method that draws exactly as lottery `version` did."""
    return COMPATIBLE_VERSIONS.get(version, {}).get("method", "auto")


def lottery_build_params(version: str) -> dict:
    """The lottery parameters that draw exactly as lottery `version` did: its method and, for an
    earlier version, what else it did differently (flow-4: the stage order)."""
    extra = {k: v for k, v in COMPATIBLE_VERSIONS.get(version, {}).items() if k != "method"}
    return {"method": lottery_method(version), **extra}


def draw_round(inp: PlanningInput, stages: list[str], seed: int, q: float, time_limit: float,
               cache_dir=None, lottery_version: str = "") -> Plan:
    """随机抽取: one random draw with every seat's probability capped at q. The solver builds a
    lottery over feasible plans (every plan meets every hard rule) and draws one from the seed:
    the same inputs, q and seed give the same plan, on any machine under any load. The time limit
    only aborts (UserError after `draw_safety_seconds(time_limit)`), it never changes the lottery."""
    idx = tuple(inp.stage_index(s) for s in stages)
    if cache_dir is None:
        cache_dir = home.cache_dir()
    # The lottery depends on the problem and q, not on the seed: cached, a new draw is instant.
    safety = draw_safety_seconds(time_limit)
    try:
        lottery = cached_lottery(inp.problem, q=q, options=SolveOptions(stages=idx, seed=0), cache_dir=cache_dir,
                                 time_limit=safety, spread_time=0.0,
                                 **lottery_build_params(_lottery_version(lottery_version)))
    except TimeLimitReached:
        raise UserError(
            f"随机抽取未完成：抽签方案（{'、'.join(stages)}）在安全时限 {safety:g} 秒内未构建完成，未抽取任何方案"
            f"（按时间截断的抽签结果会随机器负载而变，不可复现，故不返回）。可以：加大 --time-limit（安全时限为其 "
            f"{DRAW_SAFETY_FACTOR} 倍，至少 {DRAW_SAFETY_MIN:g} 秒）；或逐个阶段抽取（--stage 初审评估）。"
            f" / No draw was made: the lottery for {', '.join(stages)} was not finished within its safety limit of "
            f"{safety:g} s (a lottery cut short by the clock would depend on the machine's load, so none is "
            f"returned). Try a larger --time-limit (the limit is {DRAW_SAFETY_FACTOR} x it, at least "
            f"{DRAW_SAFETY_MIN:g} s), or draw one stage at a time (--stage 初审评估).") from None
    if isinstance(lottery, Plan):  # no feasible plan: the deterministic diagnostics explain why
        return lottery
    return lottery.draw(seed)


# ---------------------------------------------------------------- planning

def plan(data: RoundData, policy: Policy, params: PlanParams, *, screening=None,
         conflicts: ConflictSet | None = None, echo: Echo = quiet,
         progress: Callable[[dict], None] | None = None) -> PlanResult:
    """Screen (with the staff's needs-review decisions), find conflicts, build the problem for the
    eligible applications and solve it, or draw from the lottery when `params.randomize`.
    `screening` / `conflicts`: already computed for `data` and `policy` (saves the work)."""
    params.check_stages(policy)
    if params.stage_dates:
        policy = policy.model_copy(update={"stages": policy.stages.model_copy(
            update={"dates": {**policy.stages.dates, **dict(params.stage_dates)}})})
    if screening is None:
        screening = screen(data, policy, {(a, k): (d, why) for a, k, d, why in params.review_decisions})
    eligible = screening.eligible_ids(include_review=params.include_review)
    if not eligible:
        raise UserError("没有可组建专家组的申报：形式审查无通过项 no application passed screening, so there is "
                        "nothing to plan (decide the needs-review items, or plan them with --include-review)")
    stages = list(params.stages)
    gated = dict(params.advanced)
    per_stage = {s: [a for a in eligible if s not in gated or a in set(gated[s])] for s in policy.stages.order}
    inp = planning_input(data, policy, per_stage, locks=params.locks,
                         forbids=params.forbids, fixed=params.fixed, conflicts=conflicts, bars=params.pool_bars)
    for line in bar_lines(params.pool_bars):
        echo("  " + line)
    n_apps = len(set().union(*(per_stage[s] for s in stages)))     # a gated stage: only what advanced to it
    echo(f"专家组 Planning {', '.join(stages)}: {n_apps} applications, {len(inp.experts)} experts, "
         f"{int(inp.problem.excluded.sum())} excluded pairs, seed {params.seed}, {params.workers} worker(s)"
         + (", 随机抽取 random draw" if params.randomize else ""))
    if params.randomize:
        q = params.q if params.q is not None else policy.random_draw.max_pair_probability
        result = draw_round(inp, stages, params.seed, q, params.time_limit, lottery_version=params.lottery_version)
    else:
        result = solve_round(inp, stages=stages, seed=params.seed, time_limit=params.time_limit, progress=progress,
                             workers=params.workers)
    return result_of(inp, result, policy, stages)


def draw_quality(info: dict) -> str:
    """What a draw was drawn from, in words (by the lottery's method: solver.randomized)."""
    q = info.get("q", float("nan"))
    if info.get("method") == "flow":
        return (f"(random draw: dependent rounding of the capped LP; expected objective = the best any draw "
                f"capped at q can reach, {info.get('expected_ratio', float('nan')):.2%} of the optimum; each seat's "
                f"probability is its LP value, at most {info.get('max_marginal', q):.3f}); ")
    if info.get("method") == "staged":
        return (f"(random draw, stage by stage: expected objective about "
                f"{info.get('expected_ratio_to_bound', float('nan')):.2%} of the capped-LP bound; every seat's "
                f"probability at most q = {q:g}); ")
    return (f"(random draw {(info.get('plan_index') or 0) + 1} of {info.get('support', '?')} plans, expected "
            f"objective {info.get('expected_ratio', float('nan')):.2%} of the optimum, max seat probability "
            f"{info.get('max_marginal', float('nan')):.3f}); ")


def echo_progress(echo: Echo) -> Callable[[dict], None]:
    """A solver progress callback that echoes each improving solution."""
    def progress(info: dict) -> None:
        echo(f"  … solution {info.get('solutions', '?')}: objective {info.get('objective', float('nan')):.1f}, "
             f"bound {info.get('bound', float('nan')):.1f}, {info.get('wall_time', 0):.1f}s")
    return progress


def outcome_lines(result: PlanResult) -> list[str]:
    """What a planning run found, in words: the plan and its objective, or why there is none."""
    p = result.plan
    if not p.feasible:
        head = ("  时限内未找到方案 NO PLAN FOUND in the time limit (UNKNOWN: none is proven impossible). 原因 Why:"
                if p.status == "UNKNOWN" else f"  无可行方案 NO PLAN ({p.status}). 原因 Why:")
        return [head,
                *(f"   - {d['message_zh']} / {d['message_en']}" for _, d in result.diagnostics.iterrows())]
    drawn = p.path == "lp_randomized"
    # A draw is every rule met by construction, not an optimality claim: say "drawn", not OPTIMAL.
    what = f"随机抽取 DRAWN (lottery built in {p.info.get('lottery_build_seconds', 0):.1f}s)" if drawn else p.status
    quality = (draw_quality(p.info) if drawn
               else f"(时限已到，为时限内最好的方案 best plan found in the time limit, at most {p.gap:.4%} below "
                    f"the optimum; a longer --time-limit may close the gap); " if p.status == "FEASIBLE"
               else f"(gap {p.gap:.4%}); ")
    terms = ", ".join(f"{k} {v:.1f}" for k, v in p.breakdown.items()
                      if k in ("affinity", "load_balance", "soft_conflict", "continuity"))
    return [f"  {what} via {p.path} in {p.wall_time:.2f}s: {len(result.panels)} seats, objective "
            f"{p.objective:.1f} " + quality + terms]


# ---------------------------------------------------------------- a plan given as a panels table

def stage_applications(policy: Policy, panels: pd.DataFrame) -> dict[str, list[str]]:
    """Stage -> the applications that have seats in `panels` (a stage without seats: all of them)."""
    every = sorted(set(panels["application_id"].astype(str)))
    return {s: sorted(set(panels.loc[panels["stage"].astype(str) == s, "application_id"].astype(str))) or every
            for s in policy.stages.order}


def seated_stages(policy: Policy, panels: pd.DataFrame) -> list[str]:
    return [s for s in policy.stages.order if (panels["stage"].astype(str) == s).any()]


@dataclass
class SeatCheck:
    """An imported panels table checked by the independent checker against the round's rules."""
    result: PlanResult                 # the table's seats as a plan, with its tables
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_seats(data: RoundData, policy: Policy, panels: pd.DataFrame, *, locks: Iterable[Seat] = (),
                forbids: Iterable[Seat] = (), fixed: Iterable[Seat] = (),
                conflicts: ConflictSet | None = None, bars: Iterable[tuple[str, str, str]] = ()) -> SeatCheck:
    """Check a panels table (stage, application_id, expert_id[, role]) with `solver.check_plan`
    for every stage that has seats in it: each of its panels against every hard rule of the policy,
    the round's conflicts, `locks` / `forbids`, and `fixed` seats of other stages. Unknown stage,
    expert or application ids are a UserError."""
    seats = seat_frame(panels)
    check_stage_names(policy, sorted(set(seats["stage"])), "panels table")
    stages = seated_stages(policy, seats)
    inp = planning_input(data, policy, stage_applications(policy, seats), locks=locks, forbids=forbids,
                         fixed=[x for x in fixed if x[0] not in stages], conflicts=conflicts, bars=bars)
    table_plan = plan_from_panels(inp, seats)
    violations = check_plan(inp.problem, table_plan, stages=[inp.stage_index(s) for s in stages])
    return SeatCheck(result_of(inp, table_plan, policy, stages), violations)


def violation_key(v: Violation) -> tuple[str, int, int, int]:
    """What a finding is about (rule, stage, application, expert), without its counts."""
    return v.rule, int(v.stage), int(v.application), int(v.expert)


def check_seat_change(data: RoundData, policy: Policy, before: pd.DataFrame, after: pd.DataFrame, *,
                      locks: Iterable[Seat] = (), forbids: Iterable[Seat] = (), fixed: Iterable[Seat] = (),
                      conflicts: ConflictSet | None = None,
                      again: Iterable[tuple[str, str, str, str]] = (),
                      bars: Iterable[tuple[str, str, str]] = ()) -> SeatCheck:
    """A change of seats (a replacement on published panels) checked like a plan: `after` (stage,
    application_id, expert_id, role: every seat of every stage it holds) goes through
    `solver.check_plan` over every hard-rule family, with the round's conflicts, locks, forbids and
    `fixed` seats of stages `after` does not hold (stage independence). The result's violations
    are the findings the change brings: those already found on `before` (same rule, stage,
    application and expert) are not the change's doing and are left out, except the ones in `again`
    (rule, stage, application_id, expert_id, "" for none: e.g. findings an override of a seat that
    leaves had covered)."""
    seats_after, seats_before = seat_frame(after), seat_frame(before)
    check_stage_names(policy, sorted(set(seats_after["stage"])), "panels table")
    stages = seated_stages(policy, seats_after)
    inp = planning_input(data, policy, stage_applications(policy, seats_after), locks=locks, forbids=forbids,
                         fixed=[x for x in fixed if x[0] not in stages], conflicts=conflicts, bars=bars)
    idx = [inp.stage_index(s) for s in stages]
    plan_after = plan_from_panels(inp, seats_after)
    known = {violation_key(v) for v in check_plan(inp.problem, plan_from_panels(inp, seats_before), stages=idx)}
    known -= {(rule, inp.stage_index(stg), inp.application_index(a) if a else -1, inp.expert_index(e) if e else -1)
              for rule, stg, a, e in again}
    found = [v for v in check_plan(inp.problem, plan_after, stages=idx) if violation_key(v) not in known]
    return SeatCheck(result_of(inp, plan_after, policy, stages), found)


# ---------------------------------------------------------------- repair

@dataclass
class RepairResult:
    plan: Plan
    panels: pd.DataFrame
    changes: pd.DataFrame       # seats dropped and added, with names
    alternates: pd.DataFrame    # 候补: ranked alternates per panel
    changed_seats: int

    def alternates_of(self, stage: str, application_id: str, exclude: Iterable[str] = ()) -> list[str]:
        """Ranked alternates (expert ids) of one panel (this stage's panel only, not the same
        application's panels in other stages), leaving out `exclude` (e.g. who declined)."""
        a = self.alternates
        ids = a.loc[(a["stage"] == stage) & (a["application_id"] == application_id), "expert_id"].tolist()
        return [e for e in ids if e not in set(exclude)]


def repair_round(inp: PlanningInput, plan: Plan, removed: Iterable[tuple[str, str, str | None]],
                 time_limit: float = 30.0) -> RepairResult:
    """Replace experts who declined or were found conflicted, changing as few other seats as
    possible. `removed`: (stage, expert_id, application_id or None for the whole stage)."""
    seats = []
    for stage, expert_id, app_id in removed:
        seats.append((inp.stage_index(stage), inp.expert_index(expert_id),
                      -1 if app_id in (None, "") else inp.application_index(app_id)))
    new, info = solver_repair(inp.problem, plan, seats, SolveOptions(time_limit=time_limit))
    if not new.feasible:
        raise UserError("no replacement keeps every rule: "
                        + "; ".join(d.message_en for d in new.diagnostics) if new.diagnostics else
                        "no replacement keeps every rule")
    rows = []
    for what, items in (("dropped", info.get("dropped", [])), ("added", info.get("added", []))):
        for s, e, a in items:
            ex, ap = inp.experts[e], inp.applications[a]
            rows.append({"change": what, "change_zh": "撤出" if what == "dropped" else "补入",
                         "stage": inp.stage_names[s], "application_id": ap.application_id,
                         "expert_id": ex.expert_id, "expert_name": ex.name, "category": ex.category})
    alt_rows = []
    for panel in info.get("alternates", []):
        for rank, alt in enumerate(panel["alternates"], start=1):
            ex = inp.experts[alt["expert"]]
            alt_rows.append({"stage": inp.stage_names[panel["stage"]],
                             "application_id": inp.applications[panel["application"]].application_id,
                             "rank": rank, "expert_id": ex.expert_id, "expert_name": ex.name,
                             "category": ex.category, "affinity": round(float(alt["affinity"]), 4),
                             "can_replace": ",".join(inp.experts[m].expert_id for m in alt["can_replace"])})
    return RepairResult(new, panels_table(inp, new), pd.DataFrame(rows, columns=[
        "change", "change_zh", "stage", "application_id", "expert_id", "expert_name", "category"]),
        pd.DataFrame(alt_rows, columns=["stage", "application_id", "rank", "expert_id", "expert_name", "category",
                                        "affinity", "can_replace"]), int(info.get("changed_seats", 0)))


def check_declines(panels: pd.DataFrame, removed: Iterable[tuple[str, str, str | None]]) -> None:
    """UserError for a declining expert who has no seat to give up: not on that application's panel
    in that stage (or, without an application, on no panel of the stage)."""
    stage_col, app_col, exp_col = (panels[c].astype(str) for c in ("stage", "application_id", "expert_id"))
    for stage, expert_id, app_id in removed:
        if app_id in (None, ""):
            if not ((stage_col == stage) & (exp_col == expert_id)).any():
                raise UserError(f"专家 {expert_id} 在 {stage} 没有席位 expert {expert_id} sits on no panel of {stage}; "
                                "nothing to replace")
            continue
        panel = (stage_col == stage) & (app_col == app_id)
        if not (panel & (exp_col == expert_id)).any():
            members = ", ".join(exp_col[panel]) or "(no panel)"
            raise UserError(f"专家 {expert_id} 不在 {app_id} ({stage}) 的专家组中 expert {expert_id} is not on the panel "
                            f"of {app_id} in {stage}; members: {members}; nothing to replace")


def repair(data: RoundData, policy: Policy, panels: pd.DataFrame, removed: Iterable[tuple[str, str, str | None]],
           *, time_limit: float = 30.0, locks: Iterable[Seat] = (), forbids: Iterable[Seat] = (),
           conflicts: ConflictSet | None = None,
           bars: Iterable[tuple[str, str, str]] = ()) -> tuple[PlanResult, RepairResult]:
    """Repair a plan given as its panels table (every stage that has seats): the seats of `removed`
    experts are refilled with the fewest changes to all other seats (solver.repair). Returns the
    repaired plan as a PlanResult (the same tables as a planning run) and the repair details."""
    removed = list(removed)
    check_declines(panels, removed)
    inp = planning_input(data, policy, stage_applications(policy, panels), locks=locks, forbids=forbids,
                         conflicts=conflicts, bars=bars)
    res = repair_round(inp, plan_from_panels(inp, panels), removed, time_limit=time_limit)
    return result_of(inp, res.plan, policy, seated_stages(policy, panels)), res
