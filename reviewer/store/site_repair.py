"""Replacements on a published 现场考察 plan keep every team's route and days (issue 15, site15c).

    published_routes(s, round) -> Routes | None        the routes published with the site stage
    day_findings(s, round, data, seats, routes)        site-day findings of a set of seats (solver.site_check)
    refuse_new_day_findings(s, round, data, before, after, act)   the store's replacement check, site days
    pick(s, round, data, stage, application, leaving, fallback, check) -> candidate   team first

A published site plan fixes which team visits each site on which day (`site_visits`); a replacement
changes a seat, never a route or a day. Every replacement (reviewer replace, the response board's 补抽,
the app) goes through `replacement.check_change`, which runs the hard-rule checker over every stage AND,
for the site stage, `solver.site_check.check_expert_days` — the checker of a new site plan: no expert in two
places (two teams) on one day, nobody on site on an unavailable date (the stored 专家不可用日期 and the
pool's availability window), nobody on site more consecutive days than their limit (the stored
专家出行限制, else the policy's). Only findings the change creates are refused.

How a replacement is picked (`pick`; a published random draw keeps its own redraw, seat_refill):

1. within the team: an expert already on the team (on another of its sites) who sits on none of the
   panels the leaving expert sits on in this team — so they can take the leaving expert's place on every
   one of the team's sites (a field seat moving up, or the one who already took the leaving core member's
   place on an earlier visit);
2. an expert who keeps the team valid for every site it visits on its days: available on every day of the
   team's trip, on no other team on those days, no conflict of interest with any site of the team — and
   the checker accepts them in the leaving expert's place on ALL of that expert's seats of the team;
3. else the general repair's pick and the panel's alternates (候补) for this site's day only.
Each candidate is then checked as the one-seat change it is. When nobody passes, a Chinese-first error
names the team, the day, the site and the rules that stopped the candidates; nothing is changed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.store import repo, site_inputs, site_visits
from reviewer.store.models import Assignment, Panel, Round, SiteVisit

RULE_ZH = {"one_place_a_day": "同一天只能在一处（一个考察组）", "unavailable": "专家不可用日期",
           "consecutive_days": "连续考察天数上限", "excluded_pairs": "回避关系"}
MAX_TRIP_CANDIDATES = 12    # outsiders checked as whole-trip replacements (each is one full-round check)


@dataclass
class Routes:
    """The published routes: which team visits each site on which day."""
    run_id: int
    team_of: dict = field(default_factory=dict)   # application -> team
    day_of: dict = field(default_factory=dict)    # application -> date
    city_of: dict = field(default_factory=dict)   # application -> city

    def team_sites(self, team: int) -> list[str]:
        return sorted((a for a, t in self.team_of.items() if t == team), key=lambda a: (self.day_of[a], a))

    def team_days(self, team: int) -> set:
        return {self.day_of[a] for a in self.team_sites(team)}

    def where(self, a: str) -> str:
        return f"考察组 {self.team_of[a]} {self.day_of[a].isoformat()}（{self.city_of.get(a, '')}，{a}）"


def published_routes(s: Session, r: Round) -> Routes | None:
    run_id = site_visits.published_run_id(s, r)
    if run_id is None:
        return None
    out = Routes(run_id)
    for v in s.execute(select(SiteVisit).where(SiteVisit.run_id == run_id)).scalars():
        out.team_of[v.application_id], out.day_of[v.application_id] = int(v.team), v.visit_date
        out.city_of[v.application_id] = v.city
    return out


def _availability(s: Session, r: Round, data: RoundData) -> tuple[dict, dict]:
    """(expert -> unavailable dates stored, expert -> most consecutive days) in force now."""
    stored = site_inputs.as_inputs(site_inputs.current(s, r))
    default = repo.round_policy(r).site_visit.max_consecutive_travel_days
    return stored.unavailable, {e.expert_id: stored.max_consecutive.get(e.expert_id, default) for e in data.experts}


def day_findings(s: Session, r: Round, data: RoundData, seats: pd.DataFrame, routes: Routes,
                 cached: tuple | None = None) -> Counter:
    """(rule, expert, date) -> count of every site-day finding of `seats` (the site stage's rows are used)
    on the published routes, by the site plan's own checker (a count: one more visit on an unavailable
    date is a new finding even when the expert already had one that day)."""
    from solver.site_check import check_expert_days
    stage = repo.round_policy(r).stages.site
    mine = seats[(seats["stage"] == stage) & seats["application_id"].isin(list(routes.team_of))]
    days = sorted(set(routes.day_of.values()))
    index = {d: k for k, d in enumerate(days)}
    unavailable, limits = cached or _availability(s, r, data)
    experts = {e.expert_id: e for e in data.experts}
    visits = [(e, index[routes.day_of[a]], routes.team_of[a]) for a, e in zip(mine["application_id"], mine["expert_id"])]
    off = {}
    for e in set(mine["expert_id"]):
        x, gone = experts.get(e), unavailable.get(e, set())
        off[e] = {k for k, d in enumerate(days) if d in gone or (x is not None and not x.available_on(d))}
    found = check_expert_days(visits, off, [d.toordinal() for d in days], {e: limits.get(e, 0) for e in off})
    return Counter((rule, e, days[k]) for rule, e, k, _ in found)


def refuse_new_day_findings(s: Session, r: Round, data: RoundData, before: pd.DataFrame, after: pd.DataFrame,
                            act: str = "替换") -> None:
    """UserError naming team, day, expert and rule for each site-day finding `after` has and `before` has
    not (a published site plan only; day rules cannot be overridden)."""
    routes = published_routes(s, r)
    if routes is None:
        return
    cached = _availability(s, r, data)
    new = set(day_findings(s, r, data, after, routes, cached) - day_findings(s, r, data, before, routes, cached))
    if not new:
        return
    stage = repo.round_policy(r).stages.site
    seats = after[after["stage"] == stage]
    lines = []
    for rule, e, day in sorted(new):
        sites = [a for a in seats.loc[seats["expert_id"] == e, "application_id"] if routes.day_of.get(a) == day]
        where = "、".join(routes.where(a) for a in sorted(sites))
        lines.append(f"{where}：专家 {e} 违反 {RULE_ZH.get(rule, rule)} ({rule})")
    raise UserError(f"{act}后违反现场考察日程规则，未{act} the change breaks a site-visit day rule (the routes and days "
                    "of the published plan are fixed); nothing was changed:\n  " + "\n  ".join(lines))


def successors(s: Session, r: Round, stage: str, sites: list[str], leaving: str) -> list[str]:
    """Who took `leaving`'s place on the given sites so far (their active seats replace leaving's),
    most seats first: the one to carry on, so a declining core member is replaced by one expert."""
    old = select(Assignment.id).join(Panel, Panel.id == Assignment.panel_id).where(
        Panel.round_id == r.id, Assignment.stage == stage, Assignment.application_id.in_(sites),
        Assignment.expert_id == leaving, Assignment.status == "replaced")
    heirs = s.execute(select(Assignment.expert_id).where(Assignment.replaces_id.in_(old),
                                                         Assignment.status == "active")).scalars().all()
    return [e for e, _ in Counter(heirs).most_common()]


def team_of_seat(s: Session, r: Round, stage: str, application_id: str, leaving: str, seats: pd.DataFrame,
                 data: RoundData, conflicts):
    """(held, trip_ok, successors) of a seat of a published site team, None for any other seat: the team's
    sites `leaving` sits on, whether an expert can travel the team's whole trip (days, other teams,
    conflicts), and who already took leaving's place in the team (a random redraw uses them)."""
    routes = published_routes(s, r) if stage == repo.round_policy(r).stages.site else None
    if routes is None or application_id not in routes.team_of:
        return None
    sites = routes.team_sites(routes.team_of[application_id])
    site_seats = seats[seats["stage"] == stage]
    held = set(site_seats.loc[(site_seats["expert_id"] == leaving) & site_seats["application_id"].isin(sites),
                              "application_id"]) | {application_id}
    unavailable, _ = _availability(s, r, data)
    busy: dict = {}
    for a, e in zip(site_seats["application_id"], site_seats["expert_id"]):
        if a in routes.day_of:
            busy.setdefault((e, routes.day_of[a]), set()).add(routes.team_of[a])
    experts = {x.expert_id: x for x in data.experts}

    def trip_ok(e: str) -> bool:
        return e in experts and _why_not(experts[e], sites, routes, busy, unavailable, conflicts) is None
    return held, trip_ok, successors(s, r, stage, sites, leaving)


def _why_not(e, team_sites: list[str], routes: Routes, busy: dict, unavailable: dict, conflicts) -> str | None:
    """Why expert `e` cannot travel the whole trip of the team (None: they can, as far as days and
    conflicts go)."""
    for a in team_sites:
        d = routes.day_of[a]
        if d in unavailable.get(e.expert_id, set()) or not e.available_on(d):
            return "unavailable"
        if any(t != routes.team_of[a] for t in busy.get((e.expert_id, d), ())):
            return "one_place_a_day"
        if any(h.excludes for h in conflicts.pair(e.expert_id, a)):
            return "excluded_pairs"
    return None


def pick(s: Session, r: Round, data: RoundData, stage: str, application_id: str, leaving: str, seats: pd.DataFrame,
         conflicts, check: Callable[[pd.DataFrame], None], swap: Callable[[pd.DataFrame, str, str], None],
         fallback: Callable[[], list[str]]) -> str:
    """The replacement of `leaving` on `application_id` that keeps the team (see the module). `seats`:
    the round's active published seats; `check(after)` raises UserError when a change breaks a rule;
    `swap(after, application, candidate)` puts the candidate in leaving's seat of `after` (chair kept);
    `fallback()` the general repair's candidates for this seat. UserError (team, day, rules) when none."""
    routes = published_routes(s, r)
    team = routes.team_of[application_id]
    sites = routes.team_sites(team)
    site_seats = seats[seats["stage"] == stage]
    on_team = site_seats[site_seats["application_id"].isin(sites)]
    held = set(on_team.loc[on_team["expert_id"] == leaving, "application_id"])   # leaving's seats in the team
    blocked = set(on_team.loc[on_team["application_id"].isin(held), "expert_id"])
    unavailable, _ = _availability(s, r, data)
    busy: dict = {}
    for a, e in zip(site_seats["application_id"], site_seats["expert_id"]):
        if a in routes.day_of:
            busy.setdefault((e, routes.day_of[a]), set()).add(routes.team_of[a])
    category = data.expert(leaving).category
    load = site_seats["expert_id"].value_counts()
    known = {x.expert_id for x in data.experts}   # (an expert dropped by a later import is no candidate)
    members = [e for e in dict.fromkeys(on_team["expert_id"]) if e not in blocked and e != leaving and e in known]
    heirs = successors(s, r, stage, sites, leaving)   # who already took leaving's place in the team goes first
    members.sort(key=lambda e: (e not in heirs, data.expert(e).category != category,
                                -int((on_team["expert_id"] == e).sum()), e))
    why: Counter = Counter()
    outsiders = []
    for x in data.experts:
        if x.expert_id in blocked or x.expert_id in members or x.expert_id == leaving or x.category != category:
            continue
        reason = _why_not(x, sites, routes, busy, unavailable, conflicts)
        if reason:
            why[reason] += 1
        else:
            outsiders.append(x.expert_id)
    outsiders.sort(key=lambda e: (int(load.get(e, 0)), e))
    refused: Counter = Counter()

    def passes(cand: str, where: set[str]) -> bool:
        after = seats.copy()
        for a in sorted(where):
            swap(after, a, cand)
        try:
            check(after)
        except UserError as e:
            refused[_first_rule(str(e))] += 1
            return False
        return True

    for cand in members + outsiders[:MAX_TRIP_CANDIDATES]:
        # the whole trip: leaving's place on every site of the team, then the one seat asked for
        if passes(cand, held) and (held == {application_id} or passes(cand, {application_id})):
            return cand
    for cand in fallback():
        if cand not in blocked and cand != leaving and passes(cand, {application_id}):
            return cand
    reasons = [f"{n} 人{RULE_ZH[k]} ({k})" for k, n in why.most_common()] + \
              [f"{n} 人未通过检查：{k}" for k, n in refused.most_common()]
    raise UserError(f"{routes.where(application_id)}：没有专家能接替 {leaving} 并保持该组路线与日期，未作任何更改。"
                    f"同类别（{category}）候选：" + ("；".join(reasons) or "无") +
                    f" / team {team} on {routes.day_of[application_id]} ({application_id}): nobody can take "
                    f"{leaving}'s seat keeping the team's route and days; nothing was changed")


def _first_rule(text: str) -> str:
    """The first rule a refusal names: the line after the header, up to its colon."""
    lines = [x.strip() for x in text.splitlines()[1:] if x.strip()]
    if not lines:
        return text.splitlines()[0][:80]
    if "：专家" in lines[0] and "违反 " in lines[0]:      # a site-day finding: "...：专家 E 违反 LABEL (rule)"
        return lines[0].rsplit("违反 ", 1)[-1]
    return lines[0].replace("替换后违反 ", "").split(":")[0]   # a hard rule: "rule (label): stage ..."
