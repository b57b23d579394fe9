"""替换 on a site-visit plan: experts who declined are replaced keeping every route and day, changing as
few seats as possible (within the team first: `solver.site_teams.repair_teams`), and the result is
checked like a new plan (every hard family on every visited site, one place a day, unavailable dates).

    read_site_plan(data, policy, table, inputs) -> SitePlan        a written site_panels table, read back
    repair_site_plan(data, policy, sp, declined) -> (SitePlan, changes)
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.panels.problem import build_problem
from reviewer.panels.site.calendar import working_days
from reviewer.panels.site.geography import load_geography
from reviewer.panels.site.inputs import SiteInputs
from reviewer.panels.site.planner import (SitePlan, check_site_plan, consecutive_limits, panels_of, route_problem,
                                          site_details, team_problem, unavailable_matrix)
from reviewer.policy import Policy
from solver.site_routes import FEASIBLE, RoutePlan
from solver.site_teams import TeamPlan, repair_teams

COLUMNS = ("stage", "application_id", "expert_id", "role", "team", "date", "seat")


def _table(table: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"现场考察方案表缺少列 the site plan table lacks column(s) {', '.join(missing)}; give the "
                        "site_panels.csv that reviewer site-plan wrote")
    t = table[list(COLUMNS)].astype(str)
    t = t[t["stage"] == policy.stages.site]
    if t.empty:
        raise UserError(f"现场考察方案表没有 {policy.stages.site} 的席位 / the table has no seat of {policy.stages.site}")
    try:
        t["day"] = t["date"].map(dt.date.fromisoformat)
        t["team"] = t["team"].astype(float).astype(int)
    except ValueError as e:
        raise UserError(f"现场考察方案表的日期或考察组编号有误 bad date or team number in the table ({e})") from None
    return t


def read_site_plan(data: RoundData, policy: Policy, table: pd.DataFrame, inputs: SiteInputs | None = None, *,
                   conflicts: ConflictSet | None = None, fixed=()) -> SitePlan:
    """A site_panels table (as written by `reviewer site-plan`) as a SitePlan: its routes, teams and
    chairs, on the working days between its first and last date."""
    inputs = inputs or SiteInputs()
    t = _table(table, policy)
    sites = sorted(set(t["application_id"]))
    conflicts = conflicts if conflicts is not None else detect_conflicts(data, policy)
    known = {a.application_id for a in data.applications}
    unknown = [a for a in sites if a not in known]
    if unknown:
        raise UserError(f"现场考察方案表中的申报编号不在本轮 unknown application id(s): {', '.join(unknown)}")
    inp = build_problem(data, conflicts, policy, stage_applications={s: sites for s in policy.stages.order},
                        fixed=fixed)
    days = working_days(t["day"].min(), t["day"].max(), inputs.holidays)
    day_index = {d: w for w, d in enumerate(days)}
    bad = sorted({d for d in t["day"] if d not in day_index})
    if bad:
        raise UserError(f"现场考察方案表中的日期不是工作日 not working days: {', '.join(map(str, bad))}")
    geo = load_geography(policy)
    details = site_details(policy, inp, sites, inputs.sites)
    rp = route_problem(policy, inp, geo, days, sites, details)
    s_idx = {a: k for k, a in enumerate(sites)}
    routes, teams = [], TeamPlan(FEASIBLE)
    for team, rows in sorted(t.groupby("team"), key=lambda x: x[0]):
        order = rows.drop_duplicates("application_id").sort_values("day", kind="stable")
        routes.append([(s_idx[a], day_index[d]) for a, d in zip(order["application_id"], order["day"])])
        # the core: experts marked core on EVERY site of the team. A core member replaced on some of its seats
        # (a published plan after `reviewer replace`) sits on the others like a field seat: reading them as core
        # would put them back on the panels they left
        marked = rows.loc[rows["seat"] == "core"].groupby("expert_id")["application_id"].nunique()
        core_ids = {e for e, n in marked.items() if n == rows["application_id"].nunique()}
        teams.core.append(sorted(inp.expert_index(e) for e in core_ids))
        for a, grp in rows.groupby("application_id"):
            teams.field_seats[s_idx[a]] = sorted(inp.expert_index(e) for e in grp["expert_id"] if e not in core_ids)
            chairs = grp.loc[grp["role"] == "chair", "expert_id"].tolist()
            if chairs:
                teams.chair[s_idx[a]] = inp.expert_index(chairs[0])
    unavailable = unavailable_matrix(inp, days, inputs.unavailable)
    sp = SitePlan(policy, policy.stages.site, inp, geo, days, sites, details, rp, RoutePlan(FEASIBLE, routes=routes),
                  teams, unavailable={i: set(np.nonzero(unavailable[i])[0].tolist()) for i in range(len(inp.experts))})
    sp.limits = consecutive_limits(policy, inp, inputs.max_consecutive)
    sp.panels = panels_of(sp)
    return sp


def repair_site_plan(data: RoundData, policy: Policy, sp: SitePlan, declined: list[str], *, seed: int = 0,
                     work_limit: float | None = None, conflicts: ConflictSet | None = None,
                     fixed=()) -> tuple[SitePlan, pd.DataFrame]:
    """Replace the `declined` experts (ids) on every visit of theirs; returns the repaired plan and the
    changed seats (撤出 dropped / 补入 added)."""
    on_plan = set(sp.panels["expert_id"])
    for e in declined:
        if e not in on_plan:
            raise UserError(f"专家 {e} 不在现场考察方案中 expert {e} is on no team of the plan; nothing to replace")
    work = float(work_limit if work_limit is not None else policy.site_visit.work_limit)
    off = np.zeros((len(sp.inp.experts), len(sp.days)), dtype=bool)
    for i, ds in sp.unavailable.items():
        off[i, sorted(ds)] = True
    tp = team_problem(policy, sp.inp, sp.geo, sp.route_problem, sp.routes, sp.sites, off, seed, sp.days)
    if sp.limits is not None:   # the per-expert limits the plan was made (or read) with
        tp.max_consecutive = sp.limits
    teams = repair_teams(tp, sp.teams, [sp.inp.expert_index(e) for e in declined], seed=seed, work_limit=work)
    new = SitePlan(policy, sp.stage, sp.inp, sp.geo, sp.days, sp.sites, sp.details, sp.route_problem, sp.routes, teams,
                   unavailable=sp.unavailable, limits=sp.limits)
    if not teams.feasible:
        new.reasons = [("expert_load", -1, -1, "无法在保持路线和日期的前提下替换：" + teams.reasons[0][3],
                        "no replacement keeps the routes and every rule: " + teams.reasons[0][4])]
        return new, pd.DataFrame()
    for e in declined:   # they declined: never back on a day of this plan
        new.unavailable[sp.inp.expert_index(e)] = set(range(len(sp.days)))
    new.panels = panels_of(new)
    new.violations, new.day_violations = check_site_plan(data, policy, new, conflicts, fixed)
    key = ["application_id", "expert_id"]
    before, after = sp.panels[key + ["date", "team"]], new.panels[key + ["date", "team"]]
    both = before.merge(after, on=key + ["date", "team"], how="outer", indicator=True)
    changes = both[both["_merge"] != "both"].assign(
        change=lambda d: d["_merge"].map({"left_only": "dropped", "right_only": "added"}).astype(str),
        change_zh=lambda d: d["_merge"].map({"left_only": "撤出", "right_only": "补入"}).astype(str))
    return new, changes.drop(columns="_merge").sort_values(["date", "team", "application_id", "change"],
                                                           ignore_index=True)
