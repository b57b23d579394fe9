"""现场考察 routes: which sites each visiting team sees on which working day (CP-SAT, plain arrays).

The first step of the site-visit plan (the second, `solver.site_teams`, staffs the routes). A route
(one team's trip) is a path through sites on consecutive working days; CP-SAT's multiple-circuit
constraint chooses the paths, with node 0 as the depot (a trip starts at node 0 and ends there).
Every arc s -> s' between two sites is either a same-day arc (the team goes on to s' the same day)
or an overnight arc (s' is the first site of the next working day, the next calendar day). Named
hard rules (`ROUTE_RULES`), each with its justification:

* site_once: every site is visited exactly once, on a working day of the window;
* day_capacity: a day holds at most `max_sites_per_day` sites and `day_halves` half-days of visits;
* day_travel: a team's travel on one day (the morning transfer from last night's city plus the
  legs between that day's sites) is at most `max_travel_tenths`;
* trip_length: a trip lasts at most `max_trip_days` consecutive calendar days, all working days,
  and visits at most `max_sites_per_trip` sites (the panel load limit of its members);
* fixed_day: a site with a fixed day is visited on that day.

Objective (integer, named terms): `team_days` (each team-day costs `team_size` expert-days),
`field_swaps` (a same-day pair of sites whose fields no single available chair covers costs
`swap_days` extra expert-days), `travel` (tenths of hours, per team member: legs plus the legs from
and to the experts' homes, estimated by the pool's mean `home_tenths` per city). The model is
exact for these terms; the lower bound is CP-SAT's, strengthened by the counting bound
ceil(sum of half-days / day_halves) on team-days. Deterministic: one worker, a fixed seed and a
work limit in deterministic time (never the wall clock) shape the result; the wall clock is only
a safety net.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .site_greedy import greedy_routes

ROUTE_RULES = {
    "site_once": "每个考察点在窗口内的一个工作日被一个考察组考察一次 every site is visited once, on a working day",
    "day_capacity": "每组每天考察点数与时长上限 sites and half-days per team per day",
    "day_travel": "每组每天行车时间上限 travel hours per team per day",
    "trip_length": "每次行程的连续工作日数与考察点数上限 days and sites of one trip",
    "fixed_day": "锁定日期的考察点在该日考察 a site with a fixed day is visited on it",
}
OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN = "OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"


@dataclass
class RouteProblem:
    site_city: np.ndarray        # int[S] city index of each site
    site_halves: np.ndarray      # int[S] 1 = half day, 2 = full day
    travel_tenths: np.ndarray    # int[C, C] one-way travel, tenths of an hour (diagonal: two sites of one city)
    home_tenths: np.ndarray      # int[C] mean one-way travel from the experts' homes to each city (tenths)
    next_day_ok: np.ndarray      # bool[W] working day w is followed by working day w+1 on the next calendar day
    n_days: int
    team_size: int = 5
    max_sites_per_day: int = 2
    day_halves: int = 2
    max_travel_tenths: int = 40
    max_trip_days: int = 3
    max_sites_per_trip: int = 6
    max_teams: int = 0           # 0 = no limit
    fixed_day: np.ndarray | None = None   # int[S], -1 = free
    swap_days: np.ndarray | None = None   # int[S, S] extra expert-days when s and s' share a team-day
    w_expert_day: int = 100
    w_travel_tenth: int = 1
    max_arcs_per_site: int = 0   # 0 = every arc; else the cheapest arcs out of and into each site

    @property
    def n_sites(self) -> int:
        return len(self.site_city)


@dataclass
class RoutePlan:
    status: str
    routes: list = field(default_factory=list)   # per trip: [(site, day), ...] in visiting order
    objective: float = math.nan
    bound: float = math.nan
    breakdown: dict = field(default_factory=dict)
    wall_time: float = 0.0
    reasons: list = field(default_factory=list)  # (rule, site, day, message_zh, message_en) when none

    @property
    def feasible(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    @property
    def gap(self) -> float:
        if not self.feasible or not math.isfinite(self.bound) or self.objective <= 0:
            return math.nan
        return max(0.0, (self.objective - self.bound) / abs(self.objective))

    def day_of(self) -> dict:
        return {s: d for r in self.routes for s, d in r}


def precheck(p: RouteProblem) -> list:
    """Reasons, in words, why no route plan can exist (before solving)."""
    out = []
    if p.n_days == 0:
        out.append(("site_once", -1, -1, "考察窗口内没有工作日", "the window holds no working day"))
    for s in range(p.n_sites):
        if p.site_halves[s] > p.day_halves:
            out.append(("day_capacity", s, -1, f"考察点 {s} 的考察时长超过一天", f"site {s} takes more than a day"))
        if p.fixed_day is not None and p.fixed_day[s] >= p.n_days:
            out.append(("fixed_day", s, int(p.fixed_day[s]), "锁定日期不是窗口内的工作日",
                        "its fixed day is not a working day of the window"))
    return out


def _arcs(p: RouteProblem):
    """Candidate same-day and overnight arcs (s, s'), pruned to the cheapest when max_arcs_per_site."""
    S, cost = p.n_sites, {}
    for s in range(S):
        for t in range(S):
            if s == t:
                continue
            leg = int(p.travel_tenths[p.site_city[s], p.site_city[t]])
            if leg > p.max_travel_tenths:
                continue
            if p.fixed_day is not None and p.fixed_day[s] >= 0 and p.fixed_day[t] >= 0 and \
                    p.fixed_day[t] - p.fixed_day[s] not in (0, 1):
                continue
            cost[(s, t)] = leg
    if p.max_arcs_per_site and S > p.max_arcs_per_site:
        keep = set()
        for s in range(S):
            outs = sorted((c, t) for (a, t), c in cost.items() if a == s)[:p.max_arcs_per_site]
            ins = sorted((c, a) for (a, t), c in cost.items() if t == s)[:p.max_arcs_per_site]
            keep |= {(s, t) for _, t in outs} | {(a, s) for _, a in ins}
        cost = {k: v for k, v in cost.items() if k in keep}
    return cost


@dataclass
class _Model:
    m: cp_model.CpModel
    day: list
    start: list
    end: list
    same: dict
    over: dict
    team_days: object = None
    expert_days: object = None
    swaps: object = 0
    travel: object = None


def _site_vars(p: RouteProblem, m: cp_model.CpModel) -> tuple[_Model, list, list]:
    """Per-site state (day, half-days and sites so far that day, travel so far that day, day and site
    count of the trip) and the depot arcs that start and end trips."""
    S, W = p.n_sites, p.n_days
    state = [[m.NewIntVar(0, W - 1, f"day{s}"), m.NewIntVar(int(p.site_halves[s]), p.day_halves, f"halves{s}"),
              m.NewIntVar(1, p.max_sites_per_day, f"count{s}"), m.NewIntVar(0, p.max_travel_tenths, f"hours{s}"),
              m.NewIntVar(1, p.max_trip_days, f"tripday{s}"), m.NewIntVar(1, p.max_sites_per_trip, f"sites{s}")]
             for s in range(S)]
    mod = _Model(m, [x[0] for x in state], [], [], {}, {})
    arcs = []
    for s in range(S):
        if p.fixed_day is not None and p.fixed_day[s] >= 0:
            m.Add(mod.day[s] == int(p.fixed_day[s]))
        st, en = m.NewBoolVar(f"start{s}"), m.NewBoolVar(f"end{s}")
        arcs += [(0, s + 1, st), (s + 1, 0, en)]
        mod.start.append(st)
        mod.end.append(en)
        for v, first in zip(state[s][1:], (int(p.site_halves[s]), 1, 0, 1, 1)):
            m.Add(v == first).OnlyEnforceIf(st)
    return mod, state, arcs


def _site_arcs(p: RouteProblem, mod: _Model, state: list, arcs: list) -> tuple[list, list]:
    """Same-day and overnight arcs with the rules they carry; returns (swap terms, leg terms)."""
    m, swap_terms, legs = mod.m, [], []
    ok_days = [w for w in range(p.n_days) if p.next_day_ok[w]]
    for (s, t), leg in _arcs(p).items():
        (ds, hs, cs, ts, tds, ss), (dt_, ht, ct, tt, tdt, st_) = state[s], state[t]
        arc = m.NewBoolVar(f"arc{s}_{t}")
        arcs.append((s + 1, t + 1, arc))
        parts = []
        if p.max_sites_per_day >= 2 and p.site_halves[s] + p.site_halves[t] <= p.day_halves:
            sd = mod.same[(s, t)] = m.NewBoolVar(f"same{s}_{t}")
            parts.append(sd)
            for c in (dt_ == ds, ht == hs + int(p.site_halves[t]), ct == cs + 1, tt == ts + leg, tdt == tds):
                m.Add(c).OnlyEnforceIf(sd)
            if p.swap_days is not None and p.swap_days[s, t] > 0:
                swap_terms.append(int(p.swap_days[s, t]) * sd)
        if ok_days and p.max_trip_days >= 2:
            ov = mod.over[(s, t)] = m.NewBoolVar(f"over{s}_{t}")
            parts.append(ov)
            for c in (dt_ == ds + 1, ht == int(p.site_halves[t]), ct == 1, tt == leg, tdt == tds + 1):
                m.Add(c).OnlyEnforceIf(ov)
            m.AddLinearExpressionInDomain(ds, cp_model.Domain.FromValues(ok_days)).OnlyEnforceIf(ov)
        if not parts:
            m.Add(arc == 0)
            continue
        m.Add(sum(parts) == arc)
        m.Add(st_ == ss + 1).OnlyEnforceIf(arc)
        legs.append(leg * arc)
    return swap_terms, legs


def build_model(p: RouteProblem) -> _Model:
    """The CP-SAT model of the module docstring."""
    m = cp_model.CpModel()
    mod, state, arcs = _site_vars(p, m)
    swap_terms, legs = _site_arcs(p, mod, state, arcs)
    m.AddMultipleCircuit(arcs)
    mod.team_days = sum(mod.start) + sum(mod.over.values())
    m.Add(mod.team_days >= math.ceil(int(np.sum(p.site_halves)) / p.day_halves))
    m.Add(mod.team_days >= math.ceil(p.n_sites / p.max_sites_per_day))
    if p.max_teams:
        m.Add(sum(mod.start) <= p.max_teams)
    home = [int(p.home_tenths[p.site_city[s]]) for s in range(p.n_sites)]
    mod.travel = sum(legs) + sum(h * v for h, v in zip(home, mod.start)) + sum(h * v for h, v in zip(home, mod.end))
    mod.swaps = sum(swap_terms) if swap_terms else 0
    mod.expert_days = p.team_size * mod.team_days + mod.swaps
    m.Minimize(p.w_expert_day * mod.expert_days + p.w_travel_tenth * p.team_size * mod.travel)
    return mod


def solve_routes(p: RouteProblem, seed: int = 0, work_limit: float = 20.0, safety_seconds: float = 600.0,
                 hint: list | None = None) -> RoutePlan:
    """The routes minimising expert-days and travel under ROUTE_RULES (see the module)."""
    started = time.time()
    reasons = precheck(p)
    if reasons:
        return RoutePlan(INFEASIBLE, reasons=reasons, wall_time=time.time() - started)
    mod = build_model(p)
    hint = hint if hint is not None else greedy_routes(p)
    if hint:
        _hint(mod, hint)
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers, prm.random_seed, prm.max_deterministic_time = 1, int(seed), float(work_limit)
    prm.max_time_in_seconds = float(safety_seconds)
    prm.linearization_level = 2
    status = solver.Solve(mod.m)
    name = {cp_model.OPTIMAL: OPTIMAL, cp_model.FEASIBLE: FEASIBLE, cp_model.INFEASIBLE: INFEASIBLE}.get(status, UNKNOWN)
    plan = RoutePlan(name, wall_time=time.time() - started)
    if name == UNKNOWN and hint:   # no solution within the work limit: the heuristic's routes
        plan = RoutePlan(FEASIBLE, routes=hint, bound=solver.BestObjectiveBound(), wall_time=time.time() - started)
        plan.objective, plan.breakdown = route_cost(p, hint)
        return plan
    if not plan.feasible:
        if name == INFEASIBLE:
            plan.reasons = [("trip_length", -1, -1, "在窗口、每日行程与行程天数上限内无法安排全部考察点（可放宽 max_teams、"
                             "延长窗口或放宽每日行车时间）", "no routes visit every site within the window, the daily "
                             "travel and the trip limits (raise max_teams, widen the window or the travel limit)")]
        return plan
    plan.objective, plan.bound = solver.ObjectiveValue(), solver.BestObjectiveBound()
    plan.routes = _read_routes(solver, p.n_sites, mod)
    plan.breakdown = {"team_days": int(solver.Value(mod.team_days)), "expert_days": float(solver.Value(mod.expert_days)),
                      "field_swaps": float(solver.Value(mod.swaps)),
                      "travel_hours_per_member": solver.Value(mod.travel) / 10.0,
                      "trips": int(sum(solver.Value(v) for v in mod.start)),
                      "deterministic_time": solver.deterministic_time}
    return plan


def _read_routes(solver, S, mod: _Model) -> list:
    succ = {}
    for (s, t), v in list(mod.same.items()) + list(mod.over.items()):
        if solver.Value(v):
            succ[s] = t
    routes = []
    for s in range(S):
        if solver.Value(mod.start[s]):
            r, cur = [], s
            while cur is not None:
                r.append((cur, int(solver.Value(mod.day[cur]))))
                cur = succ.get(cur)
            routes.append(r)
    routes.sort(key=lambda r: (r[0][1], r[0][0]))
    return routes


def _hint(mod: _Model, routes) -> None:
    """A known plan (e.g. one site per trip) as CP-SAT's starting point."""
    m = mod.m
    for r in routes:
        for k, (s, d) in enumerate(r):
            m.AddHint(mod.day[s], d)
            m.AddHint(mod.start[s], k == 0)
            m.AddHint(mod.end[s], k == len(r) - 1)
            if k + 1 < len(r):
                t, d2 = r[k + 1]
                if (s, t) in mod.same:
                    m.AddHint(mod.same[(s, t)], d2 == d)
                if (s, t) in mod.over:
                    m.AddHint(mod.over[(s, t)], d2 == d + 1)


def route_cost(p: RouteProblem, routes: list) -> tuple[float, dict]:
    """The objective and its terms of given routes (the same terms as the model)."""
    team_days = swaps = legs = 0
    for r in routes:
        days = sorted(set(d for _, d in r))
        team_days += len(days)
        home = int(p.home_tenths[p.site_city[r[0][0]]]) + int(p.home_tenths[p.site_city[r[-1][0]]])
        legs += home + sum(int(p.travel_tenths[p.site_city[a], p.site_city[b]]) for (a, _), (b, _) in zip(r, r[1:]))
        if p.swap_days is not None:
            swaps += sum(int(p.swap_days[a, b]) for (a, da), (b, db) in zip(r, r[1:]) if da == db)
    expert_days = p.team_size * team_days + swaps
    objective = p.w_expert_day * expert_days + p.w_travel_tenth * p.team_size * legs
    return float(objective), {"team_days": team_days, "expert_days": float(expert_days), "field_swaps": float(swaps),
                              "travel_hours_per_member": legs / 10.0, "trips": len(routes), "deterministic_time": 0.0}
