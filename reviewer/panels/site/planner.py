"""The site-visit plan of a round: routes (solver.site_routes), then teams (solver.site_teams),
then every site's team checked as that stage's panel by the independent checker
(`solver.check_plan` over every hard family) and the days by `solver.site_check`.

    plan_sites(data, policy, params, inputs) -> SitePlan

The stage's panels come out as an ordinary panels table (stage, application_id, expert_id, role),
so score sheets, packs and scoring use them unchanged.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.panels.problem import PlanningInput, build_problem
from reviewer.panels.service import Seat, check_seats
from reviewer.panels.site.calendar import working_days
from reviewer.panels.site.geography import Geography, load_geography
from reviewer.panels.site.inputs import SiteDetails, SiteInputs
from reviewer.policy import Policy
from reviewer.policy_process import VISIT_LENGTHS
from reviewer.screening.eligibility import screen
from solver import Violation
from solver.site_check import check_expert_days, check_routes
from solver.site_routes import RoutePlan, RouteProblem, solve_routes
from solver.site_teams import TeamPlan, TeamProblem, solve_teams

LARGE_ROUND_SITES = 40      # above this, each site keeps only its cheapest arcs (heuristic pruning)
ARCS_PER_SITE_LARGE = 12


@dataclass(frozen=True)
class SitePlanParams:
    start: dt.date
    end: dt.date
    seed: int = 0
    work_limit: float | None = None      # None = the policy's [site_visit] work_limit
    include_review: bool = False
    fixed: tuple[Seat, ...] = ()         # seats of other stages (stage independence)
    pool_bars: tuple = ()                # rule P1 专家库资格 in force (reviewer.store.pool.bars_for_round)
    applications: tuple[str, ...] = ()   # the applications that advanced to the stage (empty: every eligible one)
    fixed_days: tuple[tuple[str, str], ...] = ()   # (application_id, YYYY-MM-DD) a site locked to a day
    randomize: bool = False              # 随机抽取: candidates thinned so that each seat's probability <= q
    q: float | None = None               # None = the policy's [random_draw] max_pair_probability
    forbids: tuple[Seat, ...] = ()       # staff forbids and pair conflicts (stage, expert_id, application_id)

    def to_record(self) -> dict:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat(), "seed": self.seed,
               "work_limit": self.work_limit, "include_review": self.include_review,
               "fixed": [list(x) for x in self.fixed]}
        if self.applications:
            out["applications"] = list(self.applications)
        if self.fixed_days:
            out["fixed_days"] = [list(x) for x in self.fixed_days]
        if self.randomize:
            out["randomize"], out["q"] = True, self.q
        if self.pool_bars:
            out["pool_bars"] = [list(x) for x in self.pool_bars]
        if self.forbids:
            out["forbids"] = [list(x) for x in self.forbids]
        return out

    @classmethod
    def from_record(cls, record: dict) -> SitePlanParams:
        """The parameters a store run recorded (`to_record`), read back for `reviewer reproduce`."""
        return cls(dt.date.fromisoformat(record["start"]), dt.date.fromisoformat(record["end"]),
                   seed=int(record.get("seed", 0)), work_limit=record.get("work_limit"),
                   include_review=bool(record.get("include_review", False)),
                   fixed=tuple(tuple(x) for x in record.get("fixed", [])),
                   applications=tuple(record.get("applications", [])),
                   fixed_days=tuple(tuple(x) for x in record.get("fixed_days", [])),
                   randomize=bool(record.get("randomize", False)), q=record.get("q"),
                   pool_bars=tuple(tuple(x) for x in record.get("pool_bars", [])),
                   forbids=tuple(tuple(x) for x in record.get("forbids", [])))


@dataclass
class SitePlan:
    """A planned (or impossible) site-visit stage with everything the outputs need."""
    policy: Policy
    stage: str
    inp: PlanningInput
    geo: Geography
    days: list                      # working days of the window (index -> date)
    sites: list                     # application ids (site index -> id)
    details: dict                   # application id -> SiteDetails
    route_problem: RouteProblem
    routes: RoutePlan
    teams: TeamPlan | None = None
    panels: pd.DataFrame = field(default_factory=pd.DataFrame)
    violations: list = field(default_factory=list)     # solver.Violation (hard families)
    day_violations: list = field(default_factory=list)  # route rules and experts' days
    unavailable: dict = field(default_factory=dict)    # expert index -> set of day indices
    reasons: list = field(default_factory=list)        # (rule, site, day, zh, en) when no plan
    limits: np.ndarray | None = None                   # int[E] most consecutive days on site (None: the policy's)

    @property
    def feasible(self) -> bool:
        return self.teams is not None and self.teams.feasible


def site_details(policy: Policy, inp: PlanningInput, sites: list, given: dict) -> dict:
    default = 1 + VISIT_LENGTHS.index(policy.site_visit.visit_length)
    apps = {a.application_id: a for a in inp.applications}
    out = {}
    for a_id in sites:
        d = given.get(a_id) or SiteDetails(default)
        a = apps[a_id]
        out[a_id] = SiteDetails(d.halves or default, d.address or f"{a.lead_city} {a.lead_unit}", d.contact, d.phone, d.fixed_day)
    return out


def locked_days(given: dict, fixed_days, sites: list) -> dict:
    """The sites file's details with the staff's locks (application, day) over their fixed days."""
    out = dict(given)
    for a_id, day in fixed_days:
        if a_id not in sites:
            raise UserError(f"锁定日期的考察点 {a_id} 不在本阶段的考察点中 / the locked site {a_id} is not visited in this stage")
        d = out.get(a_id) or SiteDetails(0)
        out[a_id] = SiteDetails(d.halves, d.address, d.contact, d.phone, dt.date.fromisoformat(str(day)))
    return out


def unavailable_matrix(inp: PlanningInput, days: list, given: dict) -> np.ndarray:
    """bool[E, W]: an expert is unavailable on a day of the file, outside their availability window,
    or on every day when not drawable."""
    out = np.zeros((len(inp.experts), len(days)), dtype=bool)
    for i, e in enumerate(inp.experts):
        mine = given.get(e.expert_id, set())
        for w, d in enumerate(days):
            out[i, w] = d in mine or not e.available_on(d) or not e.drawable
    return out


def route_problem(policy: Policy, inp: PlanningInput, geo: Geography, days: list, sites: list,
                  details: dict) -> RouteProblem:
    sv = policy.site_visit
    apps = {a.application_id: a for a in inp.applications}
    city = np.array([geo.index(apps[a].lead_city) if apps[a].lead_city in geo.cities else geo.index(geo.entry_city)
                     for a in sites], dtype=np.int64)
    tenths = np.rint(geo.hours * 10).astype(np.int64)
    homes = [e.city for e in inp.experts]
    home = np.array([np.mean([geo.home_hours(h, c) for h in homes]) for c in range(len(geo.cities))])
    next_ok = np.array([w + 1 < len(days) and days[w + 1] == days[w] + dt.timedelta(days=1)
                        for w in range(len(days))], dtype=bool)
    day_index = {d: w for w, d in enumerate(days)}
    fixed = np.full(len(sites), -1, dtype=np.int64)
    for k, a in enumerate(sites):
        f = details[a].fixed_day
        if f is not None:
            if f not in day_index:
                raise UserError(f"考察点 {a} 的锁定日期 {f} 不是考察窗口内的工作日 / the fixed day {f} of site {a} is not a "
                                f"working day of the window {days[0] if days else ''}–{days[-1] if days else ''}")
            fixed[k] = day_index[f]
    size = policy.panel_size(policy.stages.site)
    return RouteProblem(
        city, np.array([details[a].halves for a in sites], dtype=np.int64), tenths, np.rint(home * 10).astype(np.int64),
        next_ok, len(days), team_size=size, max_sites_per_day=sv.max_sites_per_team_day, day_halves=2,
        max_travel_tenths=int(round(sv.max_travel_hours_per_day * 10)),
        # a trip longer than the consecutive-days limit could not keep its core for the whole trip
        max_trip_days=min(sv.max_trip_days, sv.max_consecutive_travel_days),
        max_sites_per_trip=policy.panel_rules.max_load_per_stage, max_teams=sv.max_teams, fixed_day=fixed,
        swap_days=_swap_days(inp, sites), w_expert_day=sv.weight_expert_day,
        w_travel_tenth=max(1, int(round(sv.weight_travel_hour / 10))) if sv.weight_travel_hour else 0,
        max_arcs_per_site=ARCS_PER_SITE_LARGE if len(sites) > LARGE_ROUND_SITES else 0)


def _swap_days(inp: PlanningInput, sites: list) -> np.ndarray:
    """int[S, S]: 1 extra expert-day when two sites share a team-day and no chair-capable technical
    expert of the pool matches both their fields (so each needs its own field seat that day)."""
    p = inp.problem
    idx = [inp.application_index(a) for a in sites]
    fm = np.asarray(p.field_match, dtype=bool)[:, idx] & np.asarray(p.expert_can_chair, dtype=bool)[:, None]
    both = (fm.T.astype(np.int64) @ fm.astype(np.int64)) > 0
    return (~both).astype(np.int64)


def team_problem(policy: Policy, inp: PlanningInput, geo: Geography, rp: RouteProblem, routes: RoutePlan,
                 sites: list, unavailable: np.ndarray, seed: int, days: list | None = None,
                 q: float = 0.0, limits: dict | None = None) -> TeamProblem:
    sv = policy.site_visit
    home = np.array([[geo.home_hours(e.city, c) for c in range(len(geo.cities))] for e in inp.experts])
    return TeamProblem(
        inp.problem, inp.stage_index(policy.stages.site), routes.routes,
        np.array([inp.application_index(a) for a in sites], dtype=np.int64), rp.site_city,
        np.rint(home * 10).astype(np.int64), rp.travel_tenths, unavailable, w_expert_day=sv.weight_expert_day,
        w_travel_hour=sv.weight_travel_hour, w_affinity=sv.weight_affinity, w_distinct=sv.weight_distinct_expert,
        w_same_city=sv.weight_same_city, core_k=sv.core_candidates_per_category, field_k=sv.field_candidates_per_site,
        jitter=sv.draw_jitter if seed else 0.0,
        day_ordinal=None if days is None else np.array([d.toordinal() for d in days], dtype=np.int64),
        max_consecutive=consecutive_limits(policy, inp, limits or {}), q=q)


def consecutive_limits(policy: Policy, inp: PlanningInput, given: dict) -> np.ndarray:
    """int[E]: each expert's most consecutive days on site: the 专家出行限制 file's, else the policy's."""
    default = policy.site_visit.max_consecutive_travel_days
    return np.array([given.get(e.expert_id, default) for e in inp.experts], dtype=np.int64)


def site_stage_input(data: RoundData, policy: Policy, params: SitePlanParams,
                     conflicts: ConflictSet | None = None, screening=None) -> tuple[PlanningInput, list]:
    stage = policy.stages.site
    if not stage:
        raise UserError("政策文件未设现场考察阶段 the policy has no site-inspection stage ([stages] site_stage)")
    screening = screening if screening is not None else screen(data, policy)
    sites = sorted(screening.eligible_ids(include_review=params.include_review))
    if params.applications:     # a gated stage: only what advanced to it (and passed screening)
        sites = [a for a in sites if a in set(params.applications)]
    if not sites:
        raise UserError("没有需要现场考察的申报：形式审查无通过项 no application passed screening, nothing to visit")
    conflicts = conflicts if conflicts is not None else detect_conflicts(data, policy)
    inp = build_problem(data, conflicts, policy, stage_applications={s: sites for s in policy.stages.order},
                        fixed=params.fixed, bars=params.pool_bars, forbids=params.forbids)
    return inp, sites


def plan_sites(data: RoundData, policy: Policy, params: SitePlanParams, inputs: SiteInputs | None = None, *,
               conflicts: ConflictSet | None = None, screening=None) -> SitePlan:
    """Routes, teams and checks of the site stage over the window of `params` (see the module)."""
    inputs = inputs or SiteInputs()
    inp, sites = site_stage_input(data, policy, params, conflicts, screening)
    geo = load_geography(policy)
    days = working_days(params.start, params.end, inputs.holidays)
    details = site_details(policy, inp, sites, locked_days(inputs.sites, params.fixed_days, sites))
    rp = route_problem(policy, inp, geo, days, sites, details)
    work = float(params.work_limit if params.work_limit is not None else policy.site_visit.work_limit)
    routes = solve_routes(rp, seed=params.seed, work_limit=work)
    unavailable = unavailable_matrix(inp, days, inputs.unavailable)
    out = SitePlan(policy, policy.stages.site, inp, geo, days, sites, details, rp, routes,
                   unavailable={i: set(np.nonzero(unavailable[i])[0].tolist()) for i in range(len(inp.experts))})
    if not routes.feasible:
        out.reasons = routes.reasons or [("site_once", -1, -1, "时限内未找到考察路线", "no routes found in the work limit")]
        return out
    q = (params.q if params.q is not None else policy.random_draw.max_pair_probability) if params.randomize else 0.0
    out.limits = consecutive_limits(policy, inp, inputs.max_consecutive)
    out.teams = solve_teams(team_problem(policy, inp, geo, rp, routes, sites, unavailable, params.seed, days, q,
                                         inputs.max_consecutive),
                            seed=params.seed, work_limit=work)
    if not out.teams.feasible:
        out.reasons = out.teams.reasons
        return out
    out.panels = panels_of(out)
    out.violations, out.day_violations = check_site_plan(data, policy, out, conflicts, params.fixed, params.pool_bars)
    return out


def panels_of(sp: SitePlan) -> pd.DataFrame:
    """The stage's panels table: one row per (site, member) with the role and the team."""
    rows = []
    for t, r in enumerate(sp.routes.routes):
        for s, d in r:
            a_id = sp.sites[s]
            for e in sp.teams.panel(t, s):
                rows.append({"stage": sp.stage, "application_id": a_id, "expert_id": sp.inp.experts[e].expert_id,
                             "role": "chair" if sp.teams.chair.get(s) == e else "member", "team": t + 1,
                             "date": sp.days[d].isoformat(), "seat": "core" if e in sp.teams.core[t] else "field"})
    return pd.DataFrame(rows, columns=["stage", "application_id", "expert_id", "role", "team", "date", "seat"])


def check_site_plan(data: RoundData, policy: Policy, sp: SitePlan, conflicts, fixed,
                    bars=()) -> tuple[list[Violation], list]:
    """Every hard family on every site's panel (the planning service's independent checker) and the
    route and day rules (solver.site_check)."""
    seats = sp.panels[["stage", "application_id", "expert_id", "role"]]
    checked = check_seats(data, policy, seats, fixed=fixed, conflicts=conflicts, bars=bars)
    day_findings = [("route", *x) for x in check_routes(sp.route_problem, sp.routes.routes)]
    visits = [(e, d, t) for t, r in enumerate(sp.routes.routes) for s, d in r for e in sp.teams.panel(t, s)]
    limits = sp.limits if sp.limits is not None else consecutive_limits(policy, sp.inp, {})
    day_findings += [("expert", *x) for x in check_expert_days(
        visits, sp.unavailable, [d.toordinal() for d in sp.days], {e: int(x) for e, x in enumerate(limits)})]
    return checked.violations, day_findings


def expert_days_lower_bound(sp: SitePlan) -> int:
    """A bound no plan can beat: every site needs panel-size experts on its day and one expert-day
    covers at most max_sites_per_team_day sites (and two half-days)."""
    rp = sp.route_problem
    size = rp.team_size
    return max(math.ceil(rp.n_sites * size / rp.max_sites_per_day),
               math.ceil(int(np.sum(rp.site_halves)) * size / rp.day_halves))
