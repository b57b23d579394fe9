"""Store-mode repair of a published 现场考察 plan keeps every team's route and days (issue 15, site15c):
a core member who declines the trip is replaced on every visit of the team by one expert who keeps the team
valid for all its sites; a field seat is refilled from within the team first; a change that would put an
expert in two teams on one day or on an unavailable date is refused naming team, day and rule; when nobody
can keep the route, the message names team, day and rule and nothing changes."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.panels.site.planner import check_site_plan
from reviewer.store import repo, seat_refill, seat_responses, site_inputs
from reviewer.store.models import SiteVisit
from reviewer.store.publishing import publish_run
from reviewer.store.replacement import replace_expert
from reviewer.store.site_visits import run_site_plan, stored_plan
from tests.test_store_support import demo_store

START, END = "2026-12-07", "2026-12-18"
BEFORE_START = dt.datetime(2026, 11, 20, 9, 0)


def _routes(st, run_id):
    with st.read() as s:
        rows = s.execute(select(SiteVisit).where(SiteVisit.run_id == run_id)).scalars().all()
        return {v.application_id: (v.team, v.visit_date, v.position) for v in rows}, {v.team: list(v.core) for v in rows}


def _seats(st, stage):
    with st.read() as s:
        return repo.published_seats(s, repo.get_round(s, "2026"), stage)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site_repair_store")
    st = demo_store(f"sqlite:///{folder / 'r.sqlite'}")
    run, sp = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0)
    assert sp.feasible and not sp.violations and not sp.day_violations
    with st.write() as s:
        publish_run(s, repo.get_round(s, "2026"), sp.stage, run.id, user="张三", reason="发布现场考察方案")
    routes, cores = _routes(st, run.id)
    return st, run, sp.stage, routes, cores, folder


def _check_stored(st):
    """The published plan as the store holds it now passes the plan's own independent checker."""
    with st.read() as s:
        r = repo.get_round(s, "2026")
        sp = stored_plan(s, r)
        data = repo.load_data(s, repo.latest_import(s, r).id)
    hard, days = check_site_plan(data, sp.policy, sp, detect_conflicts(data, sp.policy), ())
    return hard, days


def test_a_core_member_declines_the_trip_one_replacement_takes_every_visit(published):
    st, run, stage, routes, cores, _ = published
    team = max(cores, key=lambda t: sum(1 for a in routes if routes[a][0] == t))   # the longest trip
    sites = sorted(a for a in routes if routes[a][0] == team)
    assert len(sites) >= 2
    leaving = cores[team][0]
    before = _seats(st, stage)
    held = sorted(before.loc[before["expert_id"] == leaving, "application_id"])
    assert set(sites) <= set(held)                         # a core member is on every visit of the team
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "2026"), leaving, stage, "decline", user=f"专家 {leaving}",
                              reason="因病无法出行", now=BEFORE_START)
    report = seat_refill.refill_open(st, "2026", stage)
    assert not report.pending, report.pending
    after = _seats(st, stage)
    assert leaving not in set(after["expert_id"])
    took = {p.application_id: p.candidate for p in report.done}
    assert set(took) == set(held)
    newcomer = {took[a] for a in sites}
    assert len(newcomer) == 1, took                       # one expert takes the leaving core member's place
    y = newcomer.pop()
    assert set(after.loc[after["expert_id"] == y, "application_id"]) >= set(sites)   # on the team's every visit
    assert _routes(st, run.id)[0] == routes                # routes and days intact
    hard, days = _check_stored(st)
    assert not hard and not days, (hard, days)


def test_a_change_into_another_team_on_the_same_day_is_refused_naming_team_day_rule(published):
    st, run, stage, routes, cores, _ = published
    seats = _seats(st, stage)
    by_day = {}
    for a, (t, d, _) in routes.items():
        by_day.setdefault(d, {}).setdefault(t, []).append(a)
    day, teams = next((d, ts) for d, ts in sorted(by_day.items()) if len(ts) >= 2)
    (t1, sites1), (t2, sites2) = sorted(teams.items())[:2]
    a1, a2 = sites1[0], sites2[0]
    busy = next(e for e in seats.loc[seats["application_id"] == a2, "expert_id"]
                if e not in set(seats.loc[seats["application_id"] == a1, "expert_id"]))
    old = next(e for e in seats.loc[seats["application_id"] == a1, "expert_id"]
               if seats.loc[(seats["application_id"] == a1) & (seats["expert_id"] == e), "role"].iloc[0] != "chair")
    with st.write() as s, pytest.raises(UserError) as err:
        replace_expert(s, repo.get_round(s, "2026"), stage, a1, old, busy, reason="测试", user="张三")
    text = str(err.value)
    assert text.startswith("替换后违反现场考察日程规则") and f"考察组 {t1} {day.isoformat()}" in text
    assert "同一天只能在一处" in text and "one_place_a_day" in text and busy in text
    pd.testing.assert_frame_equal(_seats(st, stage), seats)     # nothing changed


def test_nobody_can_keep_the_route_names_team_day_and_rule_and_changes_nothing(published):
    st, run, stage, routes, cores, folder = published
    seats = _seats(st, stage)
    first = max(cores, key=lambda t: sum(1 for a in routes if routes[a][0] == t))   # the team of the first test
    site = sorted(a for a in routes if routes[a][0] != first)[0]
    team, day, _ = routes[site]
    panel = set(seats.loc[seats["application_id"] == site, "expert_id"])
    with st.read() as s:
        experts = [e.expert_id for e in repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id).experts]
    # everyone but the panel is unavailable that day (stored like any 专家不可用日期 file)
    path = folder / "everyone_away.csv"
    pd.DataFrame([[e, day.isoformat()] for e in experts if e not in panel], columns=["专家编号", "不可用日期"]).to_csv(
        path, index=False)
    with st.write() as s:
        site_inputs.import_files(s, repo.get_round(s, "2026"), {"unavailable": path}, user="张三")
    leaving = sorted(panel)[0]
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "2026"), leaving, stage, "decline", user=f"专家 {leaving}",
                              reason="临时有事", application_id=site, now=BEFORE_START)
    report = seat_refill.refill_open(st, "2026", stage)
    assert not report.done and [x[:2] for x in report.pending] == [(site, leaving)]
    why = report.pending[0][2]
    assert why.startswith(f"考察组 {team} {day.isoformat()}") and site in why and leaving in why
    assert "专家不可用日期" in why and "未作任何更改" in why
    pd.testing.assert_frame_equal(_seats(st, stage), seats)     # nothing changed
    assert _routes(st, run.id)[0] == routes


def _synthetic(stage, expert, sites):
    return pd.DataFrame([{"stage": stage, "application_id": a, "expert_id": expert, "role": "member"} for a in sites])


def test_site_day_rules_at_their_boundaries_in_the_store(published):
    """The store's day check (the site plan's own checker on the published routes): one team's two sites on a
    day is one place, two teams is two; an unavailable date binds on that day only; L consecutive days on
    site pass a limit of L, L+1 do not."""
    from reviewer.store.site_repair import day_findings, published_routes
    st, run, stage, routes, cores, _ = published
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data = repo.load_data(s, repo.latest_import(s, r).id)
        rt = published_routes(s, r)
        data_e = next(x for x in data.experts if x.available_on(dt.date(2026, 12, 7)) and x.available_on(dt.date(2026, 12, 18)))
        e = data_e.expert_id

        def found(sites, unavailable=None, limit=5):
            got = day_findings(s, r, data, _synthetic(stage, e, sites), rt, ({e: unavailable or set()}, {e: limit}))
            return sorted({(rule, d) for rule, who, d in got if who == e})
        by_team_day = {}
        for a, (t, d, _) in routes.items():
            by_team_day.setdefault((t, d), []).append(a)
        same = next((v for v in by_team_day.values() if len(v) >= 2), None)
        if same is not None:                              # one team's two sites on a day: one place
            assert found(same[:2]) == []
        by_day = {}
        for (t, d), v in by_team_day.items():
            by_day.setdefault(d, []).append(v[0])
        day, two = next((d, v) for d, v in sorted(by_day.items()) if len(v) >= 2)
        assert found(two[:2]) == [("one_place_a_day", day)]
        one = two[0]
        assert found([one], {day - dt.timedelta(days=1), day + dt.timedelta(days=1)}) == []
        assert found([one], {day}) == [("unavailable", day)]
        # a run of consecutive calendar days on site, one site a day
        days = sorted(by_day)
        run_days = [days[0]]
        for d in days[1:]:
            if d == run_days[-1] + dt.timedelta(days=1):
                run_days.append(d)
            elif len(run_days) < 2:
                run_days = [d]
            else:
                break
        assert len(run_days) >= 2
        sites = [by_day[d][0] for d in run_days]
        n = len(sites)
        assert found(sites, limit=n) == []
        assert found(sites, limit=n - 1) == [("consecutive_days", run_days[0])]


def test_a_drawn_site_plan_redraws_keeping_the_team_and_the_cap(tmp_path, capsys):
    """A published random draw of the site stage: a core member declines the trip; the first seat is redrawn
    (seeded order, first valid for the team's whole trip), the team's other seats go to that same expert
    (their probability is that draw's), so one expert replaces the core member on every visit."""
    import json

    from reviewer.store.models import AuditEntry
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run, sp = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0, seed=5, randomize=True)
    assert sp.feasible
    with st.write() as s:
        publish_run(s, repo.get_round(s, "2026"), sp.stage, run.id, user="张三", reason="发布")
    routes, cores = _routes(st, run.id)
    team = max(cores, key=lambda t: sum(1 for a in routes if routes[a][0] == t))
    sites = sorted(a for a in routes if routes[a][0] == team)
    leaving = cores[team][0]
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "2026"), leaving, sp.stage, "decline", user=f"专家 {leaving}",
                              reason="因病无法出行", now=BEFORE_START)
    report = seat_refill.refill_open(st, "2026", sp.stage)
    assert not report.pending, report.pending
    took = {p.application_id: p.candidate for p in report.done}
    assert len({took[a] for a in sites}) == 1, took
    assert all(p.how == seat_refill.DRAW for p in report.done)
    with st.read() as s:
        entries = [json.loads(e.after) for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "seat.redraw").order_by(AuditEntry.id)).scalars()]
    assert entries[0]["phase"] == "team" and entries[0]["pick"] == took[entries[0]["application_id"]]
    assert all(x.get("kept_team") for x in entries[1:]) and len(entries) == len(took)
    assert _routes(st, run.id)[0] == routes
    hard, days = _check_stored(st)
    assert not hard and not days, (hard, days)
    # `reviewer replace` on another team's seat: the same team-keeping pick, said in the output
    from tests.test_store_support import run_cli
    other = sorted(a for a in routes if routes[a][0] != team)[0]
    seats = _seats(st, sp.stage)
    old = seats.loc[(seats["application_id"] == other) & (seats["role"] != "chair"), "expert_id"].iloc[0]
    code, out = run_cli(["replace", "--round", "2026", "-s", sp.stage, "-a", other, "--old", old, "--reason", "专家因病请假",
                         "--db", st.url, "--user", "张三"], capsys)
    assert code == 0 and "考察组路线与日期不变" in out, out
    hard, days = _check_stored(st)
    assert not hard and not days, (hard, days)


def test_the_host_notice_names_the_visit_day_and_the_stored_address(published):
    """(published above) Each host unit's 现场考察通知 in the outbox carries its site's day from the published
    routes and the address as stored (the 考察点 file's), not 待定; the message renders with them."""
    from reviewer.notify.templates import render
    from reviewer.store.models import OutboxMessage
    st, run, stage, routes, cores, _ = published
    with st.read() as s:
        notices = s.execute(select(OutboxMessage).where(OutboxMessage.kind == "site_visit")).scalars().all()
        visits = {v.application_id: v for v in s.execute(select(SiteVisit).where(SiteVisit.run_id == run.id)).scalars()}
    assert {m.context["application_id"] for m in notices} == set(routes)   # (no host e-mail in the demo: failed rows)
    for m in notices:
        a = m.context["application_id"]
        assert m.context["stage_date"] == routes[a][1].isoformat() and m.context["address"] == visits[a].address
    subject, body = render("site_visit", "email", notices[0].context)
    assert f"考察日期：{notices[0].context['stage_date']}" in body and f"考察地点：{notices[0].context['address']}" in body
