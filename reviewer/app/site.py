"""现场考察 in the staff app: plan the round's site stage from the store (reviewer.store.site_visits, the same
run as `reviewer site-plan --round`), show a run's plan (day x team timeline, a schematic map of the 14
cities with each team's route, per-team and per-expert tables), lock a site's day or a team's dates and
re-plan, publish the stage from a run (its seats and routes: reviewer.store.publishing.publish_run).

The map is drawn from the city seats' coordinates (reviewer/data/guangxi_city_seats.csv) with Altair:
no map tiles, the machine may be offline. Plain functions; no Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user, user_text
from reviewer.app.charts import FONT
from reviewer.errors import UserError
from reviewer.panels.site.outputs import expert_visits, itinerary, metrics
from reviewer.panels.site.planner import SitePlan
from reviewer.store import publishing, repo, round_settings
from reviewer.store import site_inputs as stored_inputs
from reviewer.store import site_visits as store_site

RUN_COLUMNS = ["run_id", "created_at", "created_by", "status", "teams", "sites", "seats", "seed", "window",
               "randomize", "locks", "published"]


def stage(round_id: str) -> str:
    return app_store.round_policy(round_id).stages.site


def work_limit(round_id: str) -> float:
    return float(app_store.round_policy(round_id).site_visit.work_limit)


def default_window(round_id: str) -> tuple[dt.date, dt.date]:
    """The round settings' inspection window, else the policy's, else the next two working weeks' span."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        first, last = round_settings.site_window(r.settings)
        sv = repo.round_policy(r).site_visit
    first = first or (dt.date.fromisoformat(sv.window_start) if sv.window_start else None)
    last = last or (dt.date.fromisoformat(sv.window_end) if sv.window_end else None)
    if first is None:
        today = dt.date.today()
        first = today + dt.timedelta(days=7 - today.weekday())   # next Monday
    return first, last or first + dt.timedelta(days=11)


def runs(round_id: str) -> pd.DataFrame:
    """The round's site-plan runs, newest first, with which one is published."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        published = store_site.published_run_id(s, r)
        rows = [{"run_id": x.id, "created_at": x.created_at, "created_by": x.created_by, "status": x.status,
                 "teams": (x.summary or {}).get("teams", 0), "sites": (x.summary or {}).get("sites", 0),
                 "seats": (x.summary or {}).get("seats", 0), "seed": x.seed,
                 "window": f"{x.parameters.get('start', '')}–{x.parameters.get('end', '')}",
                 "randomize": bool(x.parameters.get("randomize")),
                 "locks": "；".join(f"{a} {d}" for a, d in x.parameters.get("fixed_days", [])),
                 "published": x.id == published} for x in store_site.site_runs(s, r)]
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def plan(round_id: str, start: dt.date, end: dt.date, *, seed: int = 0, randomize: bool = False,
         locks: list[tuple[str, str]] | None = None, work_limit: float | None = None,
         user: str | None = None) -> int:
    """Plan (or re-plan with `locks`: (application_id, YYYY-MM-DD) sites fixed to a day) and record the run;
    returns its id. A plan that cannot be made is recorded too, with its reasons."""
    run, _sp = store_site.run_site_plan(app_store.store(), round_id, user=acting_user(user), start=start, end=end,
                                        seed=int(seed), randomize=bool(randomize), work_limit=work_limit,
                                        fixed_days=tuple(locks or ()))
    return int(run.id)


def team_locks(view: dict, team: int) -> list[tuple[str, str]]:
    """Locking a team's dates: every site of the team fixed to the day it has in this plan."""
    it = view["itinerary"]
    rows = it[it["team"] == int(team)]
    if rows.empty:
        raise UserError(f"考察组 {team} 不在此方案中 / team {team} is not in this plan")
    return [(a, d) for a, d in zip(rows["application_id"], rows["date"])]


def load(round_id: str, run_id: int) -> dict:
    """A run's plan for the page: itinerary, expert table, metrics, the run's reasons when it has no plan."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        run = repo.get_run(s, run_id)
        if run.round_id != r.id or run.kind != store_site.KIND:
            raise UserError(f"运行 run #{run_id} 不是本轮的现场考察方案 is not a site-plan run of round {round_id}")
        info = {"run_id": run.id, "status": run.status, "summary": dict(run.summary or {}),
                "parameters": dict(run.parameters or {}), "published": store_site.published_run_id(s, r) == run.id}
        if run.status not in ("OPTIMAL", "FEASIBLE"):
            return {**info, "plan": None}
        sp = store_site.stored_plan(s, r, run_id)
    return {**info, "plan": sp, "itinerary": itinerary(sp), "experts": expert_visits(sp), "metrics": metrics(sp)}


def publish(round_id: str, run_id: int, *, user: str | None, reason: str, confirm_stale: str = "") -> None:
    """Publish the site stage from run `run_id`: its seats (the stage's panels) and its routes."""
    if not reason.strip():
        raise UserError("请填写发布理由 / give a reason for publishing (recorded in the audit log)")
    with app_store.store().write() as s:
        r = repo.get_round(s, round_id)
        publishing.publish_run(s, r, repo.round_policy(r).stages.site, int(run_id), user=acting_user(user),
                               reason=reason, confirm_stale=confirm_stale)


# ---------------------------------------------------------------- stored inputs (专家不可用日期, 考察点, ...)

INPUT_KINDS = stored_inputs.KINDS


def inputs_overview(round_id: str) -> dict:
    """What is stored: one line per kind, and each kind's table."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        view = stored_inputs.overview(s, r)
        tables = {k: stored_inputs.details(s, r, k) for k in view["kind"]}
    return {"overview": view, "tables": tables}


def import_inputs(round_id: str, uploads: dict[str, tuple[str, bytes]], *, user: str | None,
                  reason: str = "") -> list[dict]:
    """Store uploaded site-input files (kind -> (file name, bytes)), validated like `reviewer site-inputs
    import` (all or nothing); errors name the uploaded file, never a server path."""
    if not uploads:
        raise UserError("请至少选择一个文件 / choose at least one file")
    with tempfile.TemporaryDirectory(prefix="site-inputs-") as tmp:
        files, names = {}, {}
        for kind, (name, content) in uploads.items():
            shown = re.sub(r"[\\/:*?\"<>|]+", "_", Path(name).name) or f"{kind}.xlsx"
            (Path(tmp) / kind).mkdir()
            files[kind] = Path(tmp) / kind / shown
            files[kind].write_bytes(content)
            names[kind] = shown
        try:
            with app_store.store().write() as s:
                return stored_inputs.import_files(s, repo.get_round(s, round_id), files, user=acting_user(user),
                                                  names=names, reason=reason)
        except UserError as e:
            raise UserError(user_text(str(e), {str(p): names[k] for k, p in files.items()})) from None


# ---------------------------------------------------------------- charts

def timeline_chart(it: pd.DataFrame, lang: str = "zh") -> alt.Chart:
    """Day x team: one cell per team-day, coloured by the day's (first) city, labelled with the day's
    cities in visiting order; the tooltip names the sites."""
    zh = lang == "zh"
    d = it.groupby(["team", "date"], sort=True).agg(
        city=("city", "first"), cities=("city", lambda c: "→".join(dict.fromkeys(c))),
        sites=("application_id", lambda a: "、".join(a)), n=("application_id", "size")).reset_index()
    d["team_label"] = [f"{'第' if zh else 'Team '}{t}{'组' if zh else ''}" for t in d["team"]]
    order = [label for _, label in sorted(set(zip(d["team"], d["team_label"])))]
    x = alt.X("date:O", title="日期" if zh else "day", axis=alt.Axis(labelAngle=0, labelExpr="slice(datum.value, 5)"))
    y = alt.Y("team_label:N", title="考察组" if zh else "team", sort=order)
    cells = alt.Chart(d).mark_rect(cornerRadius=4, opacity=0.85, stroke="white", strokeWidth=2).encode(
        x=x, y=y, color=alt.Color("city:N", title="城市" if zh else "city"),
        tooltip=[alt.Tooltip("team_label:N", title="考察组" if zh else "team"), "date", "cities", "sites", "n"])
    labels = alt.Chart(d).mark_text(fontSize=11, font=FONT, color="black").encode(x=x, y=y, text="cities:N")
    chart = (cells + labels).properties(title="现场考察日程（考察组 × 日期）" if zh else "Site visits: team x day",
                                        height=max(120, 34 * d["team"].nunique()))
    return chart.configure_title(font=FONT, fontSize=15, anchor="start").configure_axis(
        labelFont=FONT, titleFont=FONT).configure_legend(labelFont=FONT, titleFont=FONT)


def map_frames(sp: SitePlan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cities with coordinates and the number of sites, route legs with coordinates in visiting order)."""
    geo = sp.geo
    it = itinerary(sp)
    counts = it.groupby("city").size()
    cities = pd.DataFrame({"city": list(geo.cities), "lat": geo.lat, "lon": geo.lon,
                           "sites": [int(counts.get(c, 0)) for c in geo.cities]})
    legs = []
    for t, r in enumerate(sp.routes.routes):
        for k, (s, _) in enumerate(r):
            c = int(sp.route_problem.site_city[s])
            legs.append({"team": t + 1, "order": k, "city": geo.cities[c], "lat": float(geo.lat[c]),
                         "lon": float(geo.lon[c])})
    return cities, pd.DataFrame(legs, columns=["team", "order", "city", "lat", "lon"])


def route_map(sp: SitePlan, lang: str = "zh") -> alt.Chart:
    """A schematic map: the 14 city seats (size = sites visited there) and each team's route as a line in
    visiting order, on longitude/latitude axes (no tiles)."""
    cities, legs = map_frames(sp)
    zh = lang == "zh"
    scale_x = alt.Scale(domain=[float(cities["lon"].min()) - 0.3, float(cities["lon"].max()) + 0.3])
    scale_y = alt.Scale(domain=[float(cities["lat"].min()) - 0.3, float(cities["lat"].max()) + 0.3])
    x = alt.X("lon:Q", title="经度" if zh else "longitude", scale=scale_x)
    y = alt.Y("lat:Q", title="纬度" if zh else "latitude", scale=scale_y)
    # a tiny per-team offset keeps routes through the same cities apart
    legs = legs.assign(lon=legs["lon"] + 0.04 * (legs["team"] % 5 - 2), lat=legs["lat"] + 0.03 * (legs["team"] % 3 - 1))
    lines = alt.Chart(legs).mark_line(point=True, strokeWidth=2.5, opacity=0.8).encode(
        x=x, y=y, order="order:Q", color=alt.Color("team:N", title="考察组" if zh else "team"),
        tooltip=["team", "order", "city"])
    dots = alt.Chart(cities).mark_circle(color="#555", opacity=0.35).encode(
        x=x, y=y, size=alt.Size("sites:Q", title="考察点数" if zh else "sites", scale=alt.Scale(range=[40, 600])),
        tooltip=["city", "sites"])
    names = alt.Chart(cities).mark_text(dy=-12, fontSize=11, font=FONT).encode(x=x, y=y, text="city:N")
    chart = (dots + lines + names).properties(
        title="考察路线示意图（各设区市政府驻地坐标）" if zh else "Routes (schematic, city seat coordinates)",
        height=460, width=560)
    return chart.configure_title(font=FONT, fontSize=15, anchor="start").configure_axis(
        labelFont=FONT, titleFont=FONT).configure_legend(labelFont=FONT, titleFont=FONT)
