"""现场考察 plan on (part of) the demo round: the teams are the stage's panels and pass the independent
checker; itineraries, per-expert .ics, host notices; the CLI's clear errors."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from icalendar import Calendar

from reviewer.cli.main import main
from reviewer.demo.reference import demo_policy
from reviewer.errors import UserError
from reviewer.intake.io import load_round_from
from reviewer.panels.service import check_seats
from reviewer.panels.site.inputs import SiteDetails, SiteInputs
from reviewer.panels.site.outputs import expert_visits, itinerary, metrics, write_site_plan
from reviewer.panels.site.planner import SitePlanParams, plan_sites
from reviewer.panels.site.repair import read_site_plan, repair_site_plan
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.scoretable import read_table
from reviewer.screening.eligibility import screen

START, END = dt.date(2026, 12, 7), dt.date(2026, 12, 11)


@pytest.fixture(scope="module")
def small_round():
    """The demo round cut to its first 12 applications (about 8 sites) and its whole pool."""
    policy = demo_policy(load_policy())
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", policy)
    return data.model_copy(update={"applications": data.applications[:12]}), policy


@pytest.fixture(scope="module")
def planned(small_round):
    data, policy = small_round
    return plan_sites(data, policy, SitePlanParams(START, END, work_limit=2.0))


def test_plan_visits_every_eligible_site_once_and_passes_the_checker(small_round, planned):
    data, policy = small_round
    sp = planned
    assert sp.feasible and sp.violations == [] and sp.day_violations == []
    eligible = set(screen(data, policy).eligible_ids())
    assert set(sp.panels["application_id"]) == eligible
    per_site = sp.panels.groupby("application_id")
    assert (per_site.size() == policy.panel_size(policy.stages.site)).all()
    assert (per_site["role"].apply(lambda r: (r == "chair").sum()) == 1).all()
    # the stage's panels, as an ordinary panels table, pass the planning service's checker
    seats = sp.panels[["stage", "application_id", "expert_id", "role"]]
    assert check_seats(data, policy, seats).violations == []
    m = metrics(sp)
    assert m["teams"] < len(eligible) and m["expert_days"] < len(eligible) * 5
    assert all(START <= dt.date.fromisoformat(d) <= END for d in sp.panels["date"])


def test_outputs_itinerary_ics_and_host_notices(planned, tmp_path):
    sp = planned
    write_site_plan(sp, tmp_path, "2026年")
    visits = expert_visits(sp)
    expert_id = visits["expert_id"].value_counts().index[0]
    cal = Calendar.from_ical((tmp_path / "calendars" / f"{expert_id}.ics").read_bytes())
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    mine = visits[visits["expert_id"] == expert_id]
    assert len(events) == len(mine)
    assert sorted(str(e["location"]) for e in events) == sorted(f"{r.city} {r.address}" for r in mine.itertuples())
    it = itinerary(sp)
    a_id = it["application_id"].iloc[0]
    notice = (tmp_path / "host_notices" / f"{a_id}.txt").read_text(encoding="utf-8")
    assert it["date"].iloc[0] in notice and sp.policy.site_visit.host_materials[0] in notice
    assert "专家名单按规定保密" in notice
    staff = pd.read_excel(tmp_path / "site_itinerary.xlsx")
    assert "考察组" in staff.columns and "考察地址" in staff.columns


def test_a_fixed_day_and_a_full_day_visit_are_kept(small_round, planned):
    data, policy = small_round
    a_id = planned.sites[0]
    inputs = SiteInputs(sites={a_id: SiteDetails(2, fixed_day=dt.date(2026, 12, 10))})
    sp = plan_sites(data, policy, SitePlanParams(START, END, work_limit=2.0), inputs)
    assert sp.feasible
    rows = itinerary(sp)
    mine = rows[rows["application_id"] == a_id].iloc[0]
    assert mine["date"] == "2026-12-10" and (mine["time"], mine["end_time"]) == ("09:00", "17:30")
    same_day = rows[(rows["team"] == mine["team"]) & (rows["date"] == "2026-12-10")]
    assert len(same_day) == 1    # a full-day visit fills the team's day


def test_an_unavailable_expert_is_not_sent(small_round, planned):
    data, policy = small_round
    chair = planned.panels[planned.panels["role"] == "chair"].iloc[0]
    day = dt.date.fromisoformat(chair["date"])
    sp = plan_sites(data, policy, SitePlanParams(START, END, work_limit=2.0),
                    SiteInputs(unavailable={chair["expert_id"]: {day}}))
    assert sp.feasible and sp.day_violations == []
    assert sp.panels[(sp.panels["expert_id"] == chair["expert_id"]) & (sp.panels["date"] == chair["date"])].empty


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_cli_refuses_a_window_in_an_unknown_year(tmp_path, capsys):
    code, _, err = run(["site-plan", str(DEMO_DIR), "--start", "2031-03-02", "--end", "2031-03-13",
                        "--as-of", "2026-11-01", "-o", str(tmp_path)], capsys)
    assert code == 2 and "2031" in err and "--holidays" in err and "Traceback" not in err


def test_cli_refuses_a_bad_date_and_a_missing_window(tmp_path, capsys):
    code, _, err = run(["site-plan", str(DEMO_DIR), "--start", "12/07/2026", "--end", "2026-12-18",
                        "-o", str(tmp_path)], capsys)
    assert code == 2 and "--start" in err and "2026-12-07" in err
    code, _, err = run(["site-plan", str(DEMO_DIR), "-o", str(tmp_path)], capsys)
    assert code == 2 and "--start" in err


def test_a_decline_keeps_routes_and_days_and_changes_few_seats(small_round, planned, tmp_path):
    data, policy = small_round
    write_site_plan(planned, tmp_path, "")
    table = read_table(tmp_path / "site_panels.csv")
    back = read_site_plan(data, policy, table)
    assert back.panels.sort_values(["application_id", "expert_id"], ignore_index=True).equals(
        planned.panels.sort_values(["application_id", "expert_id"], ignore_index=True))
    gone = planned.panels[planned.panels["role"] == "chair"]["expert_id"].iloc[0]
    new, changes = repair_site_plan(data, policy, back, [gone], work_limit=2.0)
    assert new.feasible and new.violations == [] and new.day_violations == []
    assert gone not in set(new.panels["expert_id"])
    visits = lambda p: p.drop_duplicates("application_id").set_index("application_id")[["team", "date"]]  # noqa: E731
    assert visits(new.panels).sort_index().equals(visits(planned.panels).sort_index())   # routes and days kept
    n_gone = int((planned.panels["expert_id"] == gone).sum())
    assert (changes["change"] == "dropped").sum() == n_gone == (changes["change"] == "added").sum()
    with pytest.raises(UserError, match="nothing to replace"):
        repair_site_plan(data, policy, back, ["NOBODY"])
