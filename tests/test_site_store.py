"""现场考察 in the store: `reviewer site-plan --round` records a run with its seats and routes (site_visits),
publishing the stage publishes its routes (refused when they were changed behind the program's back),
`reviewer reproduce` re-derives the same seats and routes, and the stored plan is rebuilt from the store."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from reviewer.errors import UserError
from reviewer.panels.tables import plan_seats
from reviewer.store import repo
from reviewer.store.models import Run, SiteVisit
from reviewer.store.publishing import publish_run
from reviewer.store.reproduce import reproduce
from reviewer.store.site_visits import published_run_id, run_visits, stored_plan
from tests.test_store_support import demo_store, run_cli

START, END = "2026-12-07", "2026-12-18"


@pytest.fixture(scope="module")
def site_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site_store")
    url = f"sqlite:///{folder / 'reviewer.sqlite'}"
    st = demo_store(url)
    pytest.MonkeyPatch().setenv("REVIEWER_USER", "张三")
    from reviewer.cli.main import main
    try:
        main(["site-plan", "--round", "2026", "--start", START, "--end", END, "--work-limit", "2", "--db", url,
              "-o", str(folder / "out")])
    except SystemExit as e:
        assert e.code in (0, None), e.code
    with st.read() as s:
        run = s.execute(select(Run).where(Run.kind == "site_plan")).scalars().one()
        s.expunge(run)
    return st, run, folder / "out"


def test_the_run_records_seats_routes_and_hashes(site_run):
    st, run, out = site_run
    assert run.status in ("OPTIMAL", "FEASIBLE") and run.parameters["start"] == START
    with st.read() as s:
        seats = repo.run_seats(s, run.id)
        visits = run_visits(s, run.id)
    stage = seats["stage"].iloc[0]
    assert set(seats["stage"]) == {stage} and stage == run.stages[0]
    assert len(visits) == seats["application_id"].nunique() == run.summary["sites"]
    assert (seats.groupby("application_id").size() == 5).all()
    assert run.result_sha256 == repo.seats_digest(plan_seats(seats))
    # a team's trip: consecutive positions, days never going back, within the window
    for _, g in visits.groupby("team"):
        assert list(g["position"]) == list(range(1, len(g) + 1))
        assert list(g["visit_date"]) == sorted(g["visit_date"])
    assert visits["visit_date"].astype(str).between(START, END).all()
    assert visits["team"].nunique() < len(visits)      # teams visit several sites
    assert (out / "site_itinerary.csv").exists()


def test_changed_routes_are_not_published_then_publishing_publishes_the_routes(site_run):
    st, run, _ = site_run
    with st.engine.begin() as c:    # someone moves a visit to another day with SQL
        vid, day = c.execute(text("SELECT id, visit_date FROM site_visits WHERE run_id = :r ORDER BY id LIMIT 1"),
                             {"r": run.id}).one()
        c.execute(text("UPDATE site_visits SET visit_date = '2026-12-31' WHERE id = :i"), {"i": vid})
    try:
        with st.write() as s, pytest.raises(UserError, match="考察路线"):
            publish_run(s, repo.get_round(s, "2026"), run.stages[0], run.id, user="张三", reason="发布")
    finally:
        with st.engine.begin() as c:
            c.execute(text("UPDATE site_visits SET visit_date = :d WHERE id = :i"), {"d": day, "i": vid})
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.publication(s, r, run.stages[0]) is None and published_run_id(s, r) is None
    with st.write() as s:
        r = repo.get_round(s, "2026")
        pub = publish_run(s, r, run.stages[0], run.id, user="张三", reason="发布现场考察方案")
        assert pub.run_id == run.id
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert published_run_id(s, r) == run.id
        rows = s.execute(select(SiteVisit).where(SiteVisit.run_id == run.id)).scalars().all()
        assert rows and all(x.publication_id == pub.id for x in rows)
        sp = stored_plan(s, r)
        seats = repo.run_seats(s, run.id)
    assert sp.feasible and plan_seats(sp.panels) == plan_seats(seats)
    assert len(sp.routes.routes) == run.summary["teams"]


def test_reproduce_rederives_the_same_seats_and_routes(site_run):
    st, run, _ = site_run
    rep = reproduce(st, run.id)
    assert rep.identical, rep.lines()
    assert rep.recorded == run.summary["seats"]
    with st.engine.begin() as c:   # a changed stored route is a difference, named
        vid, team = c.execute(text("SELECT id, team FROM site_visits WHERE run_id = :r ORDER BY id LIMIT 1"),
                              {"r": run.id}).one()
        c.execute(text("UPDATE site_visits SET team = 99 WHERE id = :i"), {"i": vid})
    try:
        rep = reproduce(st, run.id)
        assert not rep.identical and any("visit (team, site, day)" in d for d in rep.differences)
    finally:
        with st.engine.begin() as c:
            c.execute(text("UPDATE site_visits SET team = :t WHERE id = :i"), {"t": team, "i": vid})


def test_store_mode_needs_a_window_and_refuses_bad_locks(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    demo_store(url)
    code, out = run_cli(["site-plan", "--round", "2026", "--db", url, "--user", "张三", "-o", str(tmp_path)], capsys)
    assert code == 2 and "--start" in out and "Traceback" not in out
    code, out = run_cli(["site-plan", "--round", "2026", "--start", START, "--end", END, "--lock", "GX-1:12-08",
                         "--db", url, "--user", "张三", "-o", str(tmp_path)], capsys)
    assert code == 2 and "--lock" in out and "APPLICATION_ID=YYYY-MM-DD" in out
    code, out = run_cli(["site-plan", "--round", "2026", "--start", START, "--end", END, "--unavailable",
                         str(tmp_path / "u.csv"), "--db", url, "--user", "张三", "-o", str(tmp_path)], capsys)
    assert code == 2 and "--unavailable" in out and "reproduce" in out


def test_packs_and_calendars_come_from_the_published_site_plan(site_run, tmp_path):
    """(publishes the plan when the test above has not) Each expert's pack has one .ics event per visit of the stored plan, at
    its day, time and address; the staff schedule and the fee days follow the plan too."""
    import pandas as pd
    from icalendar import Calendar

    from reviewer.documents.packs import make_packs
    from reviewer.documents.round_facts import read_round
    st, run, _ = site_run
    stage = run.stages[0]
    with st.write() as s:   # published by the test above, unless that one ran in another worker
        r = repo.get_round(s, "2026")
        if repo.publication(s, r, stage) is None:
            publish_run(s, r, stage, run.id, user="张三", reason="发布现场考察方案")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert published_run_id(s, r) == run.id
        sp = stored_plan(s, r)
    from reviewer.panels.site.outputs import expert_visits
    visits = expert_visits(sp)
    res = make_packs(st, "2026", stage, tmp_path)
    busiest = visits["expert_id"].value_counts().index[0]
    mine = visits[visits["expert_id"] == busiest]
    ics = next(p for p in res.packs[busiest] if p.suffix == ".ics")
    events = [c for c in Calendar.from_ical(ics.read_bytes()).walk() if c.name == "VEVENT"]
    assert len(events) == len(mine) > 1
    got = sorted((e["dtstart"].dt.date().isoformat(), e["dtstart"].dt.strftime("%H:%M"), e["dtend"].dt.strftime("%H:%M"),
                  str(e["location"])) for e in events)
    assert got == sorted(zip(mine["date"], mine["time"], mine["end_time"], mine["city"] + " " + mine["address"]))
    schedule = pd.read_excel(res.summary_path, sheet_name="日程 schedule")
    day_of = dict(zip(visits["application_id"], visits["date"]))
    assert all(day_of[a] == d for a, d in zip(schedule["申报编号 application"], schedule["日期 date"]))
    facts = read_round(st, "2026")
    assert facts.stage(stage).visit_days[busiest] == mine["date"].nunique()


def test_round_show_lists_the_site_plan_run(site_run, capsys):
    st, run, _ = site_run
    code, out = run_cli(["round", "show", "2026", "--db", st.url], capsys)
    assert code == 0 and f"run #{run.id} site_plan" in out and f"teams {run.summary['teams']}" in out


def test_a_drawn_site_plan_records_its_cap_and_reproduces(site_run):
    from reviewer.store.site_visits import run_site_plan
    st, _, _ = site_run
    run, sp = run_site_plan(st, "2026", user="张三", start=START, end=END, seed=3, randomize=True, work_limit=2.0)
    assert run.status in ("OPTIMAL", "FEASIBLE") and sp.teams.pool is not None
    assert run.parameters["randomize"] is True and run.parameters["q"] == 0.5
    rep = reproduce(st, run.id)
    assert rep.identical, rep.lines()
