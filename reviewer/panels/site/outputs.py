"""What a site-visit plan gives people: per-team itineraries, each expert's visits and .ics calendar
(one event per visit, with its location), a notice per host lead unit (Chinese), the stage's panels,
the staff summary and, when there is no plan, the reasons in words. Tables go through
`reviewer.exports.write_table` (formula-safe, Chinese headers in the .xlsx).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from icalendar import Calendar, Event

from reviewer.exports import write_json, write_table
from reviewer.panels.site.planner import SitePlan, expert_days_lower_bound

TZ = ZoneInfo("Asia/Shanghai")
SLOT_TIMES = {0: (dt.time(9, 0), dt.time(12, 0)), 1: (dt.time(14, 30), dt.time(17, 30))}
FULL_DAY = (dt.time(9, 0), dt.time(17, 30))
ROLE_ZH = {"chair": "组长", "member": "成员"}
SEAT_ZH = {"core": "随组全程", "field": "领域专家（当日）"}


def _file_part(text: str) -> str:
    """An id as a file name part: no separators or characters Windows refuses."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("._") or "x"


def _slots(sp: SitePlan, r: list) -> dict:
    """site -> (start time, end time) within its day: half days morning then afternoon."""
    out, used = {}, {}
    for s, d in r:
        halves = sp.details[sp.sites[s]].halves
        k = used.get(d, 0)
        out[s] = FULL_DAY if halves == 2 else SLOT_TIMES[min(k, 1)]
        used[d] = k + halves
    return out


def itinerary(sp: SitePlan) -> pd.DataFrame:
    apps = {a.application_id: a for a in sp.inp.applications}
    rows = []
    for t, r in enumerate(sp.routes.routes):
        slots, prev = _slots(sp, r), None
        for s, d in r:
            a_id = sp.sites[s]
            a, det = apps[a_id], sp.details[a_id]
            city = sp.geo.cities[int(sp.route_problem.site_city[s])]
            members = [sp.inp.experts[e] for e in sp.teams.panel(t, s)]
            chair = sp.inp.experts[sp.teams.chair[s]] if s in sp.teams.chair else None
            leg = "" if prev is None else f"{prev} → {city} {sp.geo.hours[sp.geo.index(prev), sp.geo.index(city)]:.1f}h"
            rows.append({"team": t + 1, "date": sp.days[d].isoformat(), "time": slots[s][0].strftime("%H:%M"),
                         "end_time": slots[s][1].strftime("%H:%M"), "city": city, "application_id": a_id,
                         "application_name": a.name, "field": a.field, "lead_unit": a.lead_unit,
                         "address": det.address, "contact": det.contact, "phone": det.phone, "travel_leg": leg,
                         "chair": chair.name if chair else "", "members": "、".join(e.name for e in members)})
            prev = city
    return pd.DataFrame(rows)


def expert_visits(sp: SitePlan) -> pd.DataFrame:
    apps = {a.application_id: a for a in sp.inp.applications}
    rows = []
    for t, r in enumerate(sp.routes.routes):
        slots = _slots(sp, r)
        for s, d in r:
            a_id = sp.sites[s]
            for e in sp.teams.panel(t, s):
                ex = sp.inp.experts[e]
                role = "chair" if sp.teams.chair.get(s) == e else "member"
                seat = "core" if e in sp.teams.core[t] else "field"
                rows.append({"expert_id": ex.expert_id, "expert_name": ex.name, "category": ex.category,
                             "expert_city": ex.city, "team": t + 1, "date": sp.days[d].isoformat(),
                             "time": slots[s][0].strftime("%H:%M"), "end_time": slots[s][1].strftime("%H:%M"),
                             "city": sp.geo.cities[int(sp.route_problem.site_city[s])], "application_id": a_id,
                             "application_name": apps[a_id].name, "address": sp.details[a_id].address,
                             "role": role, "role_zh": ROLE_ZH[role], "seat": seat, "seat_zh": SEAT_ZH[seat]})
    return pd.DataFrame(rows).sort_values(["expert_id", "date", "time"], ignore_index=True)


def travel_tenths(sp: SitePlan) -> int:
    """Travel of every expert (tenths of hours), as the team model counts it: a core member from home to
    the trip's first city, the legs, and home from the last; a field seat from home to its site and
    back to the city of the site it sits on (the team model counts a field seat's day at the city of
    the team's first site that day, an estimate). The same count for a fresh plan and for one read back
    from a table or the store (whose solver terms are not kept)."""
    p, rp = sp.teams, sp.route_problem
    home = lambda e, c: int(round(sp.geo.home_hours(sp.inp.experts[e].city, int(c)) * 10))   # noqa: E731
    total = 0
    for t, r in enumerate(sp.routes.routes):
        cities = [int(rp.site_city[s]) for s, _ in r]
        legs = sum(int(rp.travel_tenths[a, b]) for a, b in zip(cities, cities[1:]))
        total += sum(home(e, cities[0]) + home(e, cities[-1]) + legs for e in p.core[t])
        joined = {(e, d): int(rp.site_city[s]) for s, d in r for e in p.field_seats.get(s, [])}
        total += sum(2 * home(e, c) for (e, _), c in joined.items())
    return total


def metrics(sp: SitePlan) -> dict:
    """The plan's numbers: teams, distinct experts, expert-days, travel hours, affinity, bounds, gaps."""
    v = expert_visits(sp)
    expert_days = int(v[["expert_id", "date"]].drop_duplicates().shape[0])
    aff = sp.inp.problem.affinity
    e_idx = {e.expert_id: i for i, e in enumerate(sp.inp.experts)}
    a_idx = {a.application_id: j for j, a in enumerate(sp.inp.applications)}
    affinity = float(sum(aff[e_idx[x], a_idx[y]] for x, y in zip(v["expert_id"], v["application_id"])))
    bound = expert_days_lower_bound(sp)
    return {"sites": len(sp.sites), "teams": len(sp.routes.routes), "distinct_experts": int(v["expert_id"].nunique()),
            "expert_days": expert_days, "expert_days_lower_bound": bound,
            "expert_days_gap": (expert_days - bound) / expert_days if expert_days else 0.0,
            "travel_hours": round(travel_tenths(sp) / 10.0, 1),
            "affinity": round(affinity, 3), "route_status": sp.routes.status, "route_objective": sp.routes.objective,
            "route_bound": sp.routes.bound, "route_gap": sp.routes.gap, "team_status": sp.teams.status,
            "team_objective": sp.teams.objective, "team_bound": sp.teams.bound, "team_gap": sp.teams.gap,
            "hard_rule_violations": len(sp.violations), "day_rule_violations": len(sp.day_violations),
            "window": f"{sp.days[0].isoformat()}–{sp.days[-1].isoformat()}" if sp.days else ""}


def summary_table(sp: SitePlan) -> pd.DataFrame:
    items = metrics(sp) if sp.feasible else {"status": "无可行方案 no plan"}
    return pd.DataFrame({"item": list(items), "value": [str(x) for x in items.values()]})


def reasons_table(sp: SitePlan) -> pd.DataFrame:
    rows = []
    for rule, s, d, zh, en in sp.reasons:
        rows.append({"rule": rule, "application_id": sp.sites[s] if 0 <= s < len(sp.sites) else "",
                     "date": sp.days[d].isoformat() if 0 <= d < len(sp.days) else "", "reason_zh": zh, "reason_en": en})
    return pd.DataFrame(rows, columns=["rule", "application_id", "date", "reason_zh", "reason_en"])


def expert_calendar(rows: pd.DataFrame, round_name: str) -> bytes:
    """One expert's .ics: each visit its own event, with the site's address as its location."""
    cal = Calendar()
    cal.add("prodid", "-//mic-reviewer//现场考察//ZH")
    cal.add("version", "2.0")
    for r in rows.itertuples():
        day = dt.date.fromisoformat(r.date)
        ev = Event()
        ev.add("uid", f"site-{r.expert_id}-{r.application_id}-{r.date}@mic-reviewer")
        ev.add("summary", f"{round_name}现场考察：{r.application_name}（第{r.team}组，{r.role_zh}）")
        ev.add("dtstart", dt.datetime.combine(day, dt.time.fromisoformat(r.time), TZ))
        ev.add("dtend", dt.datetime.combine(day, dt.time.fromisoformat(r.end_time), TZ))
        ev.add("location", f"{r.city} {r.address}")
        ev.add("description", f"申报编号 {r.application_id}；考察组 第{r.team}组；{r.seat_zh}")
        cal.add_component(ev)
    return cal.to_ical()


def host_notice(sp: SitePlan, application_id: str, it: pd.DataFrame) -> str:
    """The notice to one host lead unit (Chinese): date, time, team size, what to prepare."""
    row = it[it["application_id"] == application_id].iloc[0]
    size = len(row["members"].split("、"))
    materials = "\n".join(f"  {i}. {m}" for i, m in enumerate(sp.policy.site_visit.host_materials, start=1))
    return (f"{row['lead_unit']}：\n\n"
            f"根据制造业创新中心试点遴选工作安排，专家组定于 {row['date']} {row['time']}–{row['end_time']} 到贵单位"
            f"（{row['address']}）对“{row['application_name']}”（申报编号 {application_id}）开展现场考察。"
            f"考察组共 {size} 名专家（第{row['team']}组）。专家名单按规定保密，请勿打听或联系评审专家。\n\n"
            f"请提前准备以下材料：\n{materials}\n\n"
            f"联系人：{row['contact'] or '（请在考察点表中填写）'} {row['phone']}\n")


def write_site_plan(sp: SitePlan, out: str | Path, round_name: str = "") -> list[Path]:
    """Every output of the plan under OUT (tables, per-expert .ics, per-host notices, run numbers)."""
    out = Path(out)
    paths = write_table(summary_table(sp), out, "site_summary", "现场考察概况")
    if not sp.feasible:
        return paths + write_table(reasons_table(sp), out, "site_diagnostics", "无解原因")
    it, visits = itinerary(sp), expert_visits(sp)
    paths += write_table(it, out, "site_itinerary", "考察行程")
    paths += write_table(visits, out, "site_expert_visits", "专家行程")
    paths += write_table(sp.panels, out, "site_panels", "考察组专家")
    for expert_id, rows in visits.groupby("expert_id"):
        p = out / "calendars" / f"{_file_part(str(expert_id))}.ics"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(expert_calendar(rows, round_name))
        paths.append(p)
    notices = []
    for a_id in it["application_id"]:
        text = host_notice(sp, a_id, it)
        notices.append({"application_id": a_id, "lead_unit": it.loc[it["application_id"] == a_id, "lead_unit"].iloc[0],
                        "notice": text})
        p = out / "host_notices" / f"{_file_part(str(a_id))}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    paths += write_table(pd.DataFrame(notices), out, "site_host_notices", "考察通知")
    paths.append(write_json(metrics(sp), out / "site_metrics.json"))
    return paths


def outcome_lines(sp: SitePlan) -> list[str]:
    """What the run found, in words (Chinese first)."""
    if not sp.feasible:
        return ["  无可行的现场考察方案 NO SITE-VISIT PLAN. 原因 Why:",
                *(f"   - [{rule}] {sp.sites[s] + ' ' if 0 <= s < len(sp.sites) else ''}"
                  f"{sp.days[d].isoformat() + ' ' if 0 <= d < len(sp.days) else ''}{zh} / {en}"
                  for rule, s, d, zh, en in sp.reasons)]
    m = metrics(sp)
    checked = ("独立检查通过 independent checker: every hard rule holds on every visited site, no expert in two "
               "places a day" if not sp.violations and not sp.day_violations else
               f"独立检查发现问题 CHECKER FOUND {m['hard_rule_violations']} panel and {m['day_rule_violations']} day "
               f"problem(s): see site_summary")
    return [f"  {m['sites']} 个考察点 sites, 窗口 window {m['window']} ({len(sp.days)} 个工作日 working days)",
            f"  路线 routes {m['route_status']}: {m['teams']} 个考察组 teams, gap {m['route_gap']:.2%} to CP-SAT's bound",
            f"  专家 experts {m['team_status']}: {m['distinct_experts']} 名专家 distinct experts, {m['expert_days']} "
            f"人·天 expert-days (下界 lower bound {m['expert_days_lower_bound']}), 行程 {m['travel_hours']} 小时 travel "
            f"hours, 匹配度 affinity {m['affinity']:.1f}; staffing gap {m['team_gap']:.2%}",
            f"  {checked}"]
