"""现场考察 plans in the store: a recorded site-plan run, its routes, their publication and the stored plan.

    run_site_plan(store, code, user=..., start=..., end=..., seed=...)  plan the round's site stage from the store
    compute_site_plan(data, policy, params)                             the same plan from a run's recorded params
    publish_routes(s, round, run, publication)                          the publication hook (publishing.publish_run)
    stored_plan(s, round, run_id=None) -> SitePlan                      the published (or a run's) plan, rebuilt

A site-plan run (Run.kind "site_plan") is recorded like a planning run: the import it read, the policy
text, the seed and every parameter (window, the applications that advanced to the stage, the seats of
the other stages held fixed, the staff's locked days, the random draw), its seats (RunSeat: the stage's
panels, so publishing, score sheets and scoring work unchanged) with `result_sha256` over them, and
one `site_visits` row per visited site (team, day, order, city, host details, the team's core). The
hash of the routes is kept in the run's summary (`routes_sha256`); publishing checks it and stamps the
rows with the publication, and `reviewer reproduce` re-derives the same seats and the same routes.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.panels.site.inputs import SiteDetails, SiteInputs
from reviewer.panels.site.planner import SitePlan, SitePlanParams, plan_sites
from reviewer.panels.site.repair import read_site_plan
from reviewer.panels.tables import plan_seats
from reviewer.panels.service import quiet
from reviewer.policy import Policy
from reviewer.store import pool, repo, round_settings, site_inputs
from reviewer.store import stages as stage_gating
from reviewer.store.engine import Store
from reviewer.store.models import Publication, Round, Run, SiteVisit
from reviewer.store.runs import _num, record_plan

KIND = "site_plan"
Echo = Callable[[str], None]



def compute_site_plan(data: RoundData, policy: Policy, params: dict, inputs: SiteInputs | None = None) -> SitePlan:
    """The site plan exactly as a run recorded it (`Run.parameters`; `data` carries its waivers; `inputs`
    the stored site inputs it used: `site_inputs.from_refs(s, params["site_inputs"])`)."""
    return plan_sites(data, policy, SitePlanParams.from_record(params), inputs)


def window(r: Round, policy: Policy, start: dt.date | str | None, end: dt.date | str | None) -> tuple[dt.date, dt.date]:
    """The inspection window: given, else the round settings' (site_start/site_end), else the policy's."""
    got_start, got_end = round_settings.site_window(r.settings)
    out = []
    for what, given, setting, pol in (("start", start, got_start, policy.site_visit.window_start),
                                      ("end", end, got_end, policy.site_visit.window_end)):
        value = given or setting or pol
        if not value:
            raise UserError(f"缺少考察窗口{'起始' if what == 'start' else '结束'}日期：在批次设置中填写现场考察窗口，或用 "
                            f"--{what} YYYY-MM-DD 给出 / the inspection window needs a {what} date (round settings, "
                            f"--{what} or the policy's [site_visit] window_{what})")
        try:
            out.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            raise UserError(f"--{what} {value!r}: 应为日期 expected a date like 2026-12-07") from None
    if out[1] < out[0]:
        raise UserError(f"考察窗口结束日期 {out[1]} 早于起始日期 {out[0]} / the window ends before it starts")
    return out[0], out[1]


def visit_rows(sp: SitePlan) -> list[dict]:
    """One site_visits row (without run and publication) per visited site, in route order."""
    rows = []
    for t, r in enumerate(sp.routes.routes):
        core = sorted(sp.inp.experts[e].expert_id for e in sp.teams.core[t])
        for k, (s, d) in enumerate(r):
            a_id = sp.sites[s]
            det = sp.details[a_id]
            rows.append({"stage": sp.stage, "application_id": a_id, "team": t + 1, "position": k + 1,
                         "visit_date": sp.days[d], "city": sp.geo.cities[int(sp.route_problem.site_city[s])],
                         "halves": int(det.halves), "address": det.address, "contact": det.contact,
                         "phone": det.phone, "core": core})
    return rows


def routes_digest(rows) -> str:
    """The hash of a plan's routes: (team, position, application, day) sorted."""
    return repo.seats_digest(sorted((str(x["team"]), str(x["position"]), str(x["application_id"]),
                                     str(x["visit_date"])) for x in rows))


def run_site_plan(store: Store, code: str, *, user: str, start=None, end=None, seed: int = 0,
                  randomize: bool = False, work_limit: float | None = None, include_review: bool = False,
                  fixed_days: tuple = (), echo: Echo = quiet) -> tuple[Run, SitePlan]:
    """Plan the round's 现场考察 stage from its latest import (with its waivers), the applications that
    advanced to the stage, the seats published in the other stages (stage independence), the staff's
    forbids of the stage (and pair conflicts) and locked days; record the run, its seats and its
    routes in one transaction."""
    with store.read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        stage = pol.stages.site
        if not stage:
            raise UserError("政策文件未设现场考察阶段 the policy has no site-inspection stage ([stages] site_stage)")
        snap = repo.latest_import(s, r)
        w = repo.waivers(s, r)
        data = repo.load_data(s, snap.id, w)
        inputs = repo.import_inputs(s, snap.id)
        advanced = stage_gating.planned_applications(s, r, pol, [stage]).get(stage, [])
        pubs = repo.active_published_seats(s, r)
        fixed = tuple(sorted((x.stage, x.expert_id, x.application_id) for x in pubs.itertuples(index=False)
                             if x.stage != stage))
        first, last = window(r, pol, start, end)
        bars = pool.bars_for_round(s, r, pol)   # rule P1 专家库资格, recorded with the run
        forbids = tuple(x for x in repo.seat_rules(s, r)["forbid"] if x[0] == stage)   # staff forbids, pair conflicts
        stored = site_inputs.current(s, r)      # 专家不可用日期, 考察点, 专家出行限制, 节假日 in force
        site_in = site_inputs.as_inputs(stored)
    q = float(pol.random_draw.max_pair_probability) if randomize else None
    params = SitePlanParams(first, last, seed=seed, work_limit=work_limit, include_review=include_review,
                            fixed=fixed, applications=tuple(advanced), fixed_days=tuple(fixed_days),
                            randomize=randomize, q=q, pool_bars=bars, forbids=forbids)
    record = {**params.to_record(), "waivers": w, "site_inputs": site_inputs.refs(stored)}
    echo(f"现场考察 Site plan {first}–{last}, seed {seed}" + (f", 随机抽取 random draw q={q}" if randomize else ""))
    started = time.time()
    sp = plan_sites(data, pol, params, site_in)
    rows = visit_rows(sp) if sp.feasible else []
    seats = plan_seats(sp.panels) if sp.feasible else []
    status = sp.teams.status if sp.teams else sp.routes.status
    summary = {"seats": len(seats), "sites": len(sp.sites), "teams": len(sp.routes.routes) if sp.feasible else 0,
               "routes_sha256": routes_digest(rows), "route_status": sp.routes.status,
               "violations": len(sp.violations), "day_violations": len(sp.day_violations),
               "reasons": [list(x) for x in sp.reasons]}
    with store.write() as s:
        r = repo.get_round(s, code)
        run = Run(round_id=r.id, kind=KIND, import_id=snap.id, created_by=user, policy_text=r.policy_text,
                  policy_sha256=pol.sha256, as_of=r.as_of, stages=[stage], seed=seed, parameters=record,
                  inputs=inputs + site_in.files, status=status if not (sp.violations or sp.day_violations) else "INVALID",
                  solver_path="site_routes+site_teams", objective=_num(sp.teams.objective if sp.teams else None),
                  gap=_num(sp.teams.gap if sp.teams else None), wall_seconds=time.time() - started,
                  breakdown={k: float(v) for k, v in (sp.teams.breakdown if sp.teams else {}).items()},
                  summary=summary, result_sha256=repo.seats_digest(seats))
        s.add(run)
        s.flush()
        if sp.feasible:
            record_plan(s, r, run, sp.panels, user=user)
            repo.insert_rows(s, SiteVisit, [{"run_id": run.id, **x} for x in rows])
    return run, sp


def run_visits(s: Session, run_id: int) -> pd.DataFrame:
    """The stored routes of a run, in team and route order."""
    cols = ["stage", "application_id", "team", "position", "visit_date", "city", "halves", "address", "contact",
            "phone", "core", "publication_id"]
    rows = [{c: getattr(x, c) for c in cols} for x in s.execute(
        select(SiteVisit).where(SiteVisit.run_id == run_id).order_by(SiteVisit.team, SiteVisit.position)).scalars()]
    return pd.DataFrame(rows, columns=cols)


def verify_routes(s: Session, run: Run) -> list[SiteVisit]:
    """The stored routes of a site-plan run, refused when they no longer match the run's recorded hash
    (changed outside the program). Checked before anything of a publication is written."""
    visits = s.execute(select(SiteVisit).where(SiteVisit.run_id == run.id)).scalars().all()
    rows = [{"team": v.team, "position": v.position, "application_id": v.application_id, "visit_date": v.visit_date}
            for v in visits]
    if routes_digest(rows) != (run.summary or {}).get("routes_sha256"):
        raise UserError(f"运行 run #{run.id} 的考察路线与生成时记录的哈希不一致，拒绝发布 / the routes stored for run "
                        f"#{run.id} do not match the hash recorded when it was made; nothing was published")
    return list(visits)


def publish_routes(s: Session, r: Round, run: Run, pub: Publication) -> int:
    """The publication hook: publishing the site stage from a site-plan run publishes its routes (their
    rows carry the publication)."""
    if run.kind != KIND:
        return 0
    visits = verify_routes(s, run)
    for v in visits:
        v.publication_id = pub.id
    return len(visits)


def published_run_id(s: Session, r: Round) -> int | None:
    """The site-plan run whose routes are published for the round's site stage (None: not published so)."""
    stage = repo.round_policy(r).stages.site
    pub = repo.publication(s, r, stage) if stage else None
    if pub is None or pub.run_id is None:
        return None
    hit = s.execute(select(SiteVisit.run_id).where(SiteVisit.publication_id == pub.id).limit(1)).scalar()
    return hit


def site_runs(s: Session, r: Round) -> list[Run]:
    """The round's site-plan runs, newest first."""
    return list(s.execute(select(Run).where(Run.round_id == r.id, Run.kind == KIND).order_by(Run.id.desc())).scalars())


def plan_table(s: Session, r: Round, run_id: int, published: bool) -> pd.DataFrame:
    """The seats of a site plan with team, date and seat kind (a site_panels table): the published seats
    (after any recorded replacement) when `published`, else the run's seats."""
    visits = run_visits(s, run_id)
    stage = repo.round_policy(r).stages.site
    seats = repo.published_seats(s, r, stage) if published else repo.run_seats(s, run_id)
    by_app = {x.application_id: x for x in visits.itertuples(index=False)}
    rows = []
    for x in seats.itertuples(index=False):
        v = by_app.get(x.application_id)
        if v is None:
            continue
        rows.append({"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id, "role": x.role,
                     "team": int(v.team), "date": v.visit_date.isoformat(),
                     "seat": "core" if x.expert_id in set(v.core) else "field", "position": int(v.position)})
    cols = ["stage", "application_id", "expert_id", "role", "team", "date", "seat"]
    if not rows:
        return pd.DataFrame(columns=cols)
    # route order: read_site_plan keeps the first appearance of each site within a day
    return pd.DataFrame(rows).sort_values(["team", "position", "expert_id"], kind="stable")[cols]


def stored_plan(s: Session, r: Round, run_id: int | None = None) -> SitePlan:
    """The site plan as the store holds it: the published one (with its recorded replacements), or run
    `run_id`'s. Itineraries, .ics and host notices are written from it (reviewer.panels.site.outputs)."""
    published = run_id is None
    run_id = published_run_id(s, r) if published else run_id
    if run_id is None:
        raise UserError(f"批次 {r.code} 的现场考察方案尚未发布 / round {r.code} has no published site plan "
                        "(reviewer site-plan --round, then reviewer publish --run)")
    run = repo.get_run(s, run_id)
    if run.round_id != r.id or run.kind != KIND:
        raise UserError(f"运行 run #{run_id} 不是批次 {r.code} 的现场考察方案 is not a site-plan run of round {r.code}")
    pol = repo.round_policy(r)
    data = repo.load_data(s, run.import_id, (run.parameters or {}).get("waivers", []))
    visits = run_visits(s, run_id)
    # the inputs stored now: a date made unavailable after planning shows as a finding of the checker, and
    # the host's address and contact as last imported reach notices, itineraries and calendars
    now = site_inputs.as_inputs(site_inputs.current(s, r))
    details = {}
    for x in visits.itertuples(index=False):
        given = now.sites.get(x.application_id)
        details[x.application_id] = SiteDetails(int(x.halves), (given and given.address) or x.address,
                                                (given and given.contact) or x.contact, (given and given.phone) or x.phone)
    now.sites = details
    fixed = [tuple(x) for x in (run.parameters or {}).get("fixed", [])]
    return read_site_plan(data, pol, plan_table(s, r, run_id, published), now, fixed=fixed)
