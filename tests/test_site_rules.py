"""现场考察 per-expert max consecutive days on site ([site_visit] max_consecutive_travel_days): the
independent checker at its boundary (L days pass, L+1 are named, a weekend ends a run), and the team
model keeps it across teams (an expert reused by two teams on adjacent days)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from reviewer.demo.reference import demo_policy
from reviewer.intake.io import load_round_from
from reviewer.panels.site.planner import SitePlanParams, plan_sites, team_problem
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from solver.site_check import check_expert_days, check_routes
from solver.site_teams import consecutive_windows, draw_pool, solve_teams

MON = dt.date(2026, 12, 7)
WEEK = [MON + dt.timedelta(days=k) for k in range(5)] + [MON + dt.timedelta(days=7)]   # Mon-Fri, next Mon
ORD = [d.toordinal() for d in WEEK]


def visits_on(days):
    return [(0, d, f"site{d}") for d in days]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_checker_allows_exactly_the_limit_and_names_one_more_day(limit):
    assert check_expert_days(visits_on(range(limit)), {}, ORD, {0: limit}) == []
    found = check_expert_days(visits_on(range(limit + 1)), {}, ORD, {0: limit})
    assert [f[:3] for f in found] == [("consecutive_days", 0, 0)]


def test_a_weekend_ends_a_run_and_no_limit_means_none():
    # Thu, Fri, Mon: three working days in a row but not three consecutive calendar days
    assert check_expert_days(visits_on([3, 4, 5]), {}, ORD, {0: 2}) == []
    assert check_expert_days(visits_on(range(5)), {}, ORD, {}) == []
    assert check_expert_days(visits_on(range(5)), {}, ORD, {0: 0}) == []


def test_windows_are_runs_of_calendar_days():
    assert consecutive_windows(ORD, 2) == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert consecutive_windows(ORD, 5) == []        # the weekend breaks every 6-day run
    assert consecutive_windows(ORD, 4) == [[0, 1, 2, 3, 4]]


def longest_run(panels) -> int:
    best = 0
    for _, g in panels.groupby("expert_id"):
        ds = sorted({dt.date.fromisoformat(x).toordinal() for x in g["date"]})
        run = 1
        best = max(best, 1)
        for a, b in zip(ds, ds[1:]):
            run = run + 1 if b == a + 1 else 1
            best = max(best, run)
    return best


@pytest.fixture(scope="module")
def one_day_trips():
    """The demo round's first 12 applications with a limit of one day: every trip is one day."""
    policy = demo_policy(load_policy())
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", policy)
    data = data.model_copy(update={"applications": data.applications[:12]})
    pol = policy.model_copy(update={"site_visit": policy.site_visit.model_copy(
        update={"max_consecutive_travel_days": 1})})
    sp = plan_sites(data, pol, SitePlanParams(MON, MON + dt.timedelta(days=4), work_limit=2.0))
    assert sp.feasible and sp.day_violations == [] and sp.violations == []
    return data, pol, sp


def test_the_plan_keeps_the_limit_and_trips_are_no_longer_than_it(one_day_trips):
    _, pol, sp = one_day_trips
    assert all(len({d for _, d in r}) == 1 for r in sp.routes.routes)
    assert longest_run(sp.panels) == 1


def test_the_team_model_keeps_the_limit_across_teams(one_day_trips):
    """The same one-day routes staffed without the limit reuse experts on adjacent days (fewer distinct
    experts pays); with the limit no expert is on site two days running."""
    _, pol, sp = one_day_trips
    off = np.zeros((len(sp.inp.experts), len(sp.days)), dtype=bool)
    # the one-day trips moved to Mon, Tue, Wed, ... (still valid routes): adjacent days, so the limit binds
    routes = dataclasses.replace(sp.routes, routes=[[(s, t % len(sp.days)) for s, _ in r]
                                                    for t, r in enumerate(sp.routes.routes)])
    assert check_routes(sp.route_problem, routes.routes) == []
    runs = {}
    for limit in (0, 1):
        tp = team_problem(pol, sp.inp, sp.geo, sp.route_problem, routes, sp.sites, off, 0, sp.days)
        tp.max_consecutive = np.full(len(sp.inp.experts), limit)
        teams = solve_teams(tp, work_limit=2.0)
        assert teams.feasible
        visits = [(e, d, t) for t, r in enumerate(routes.routes) for s, d in r for e in teams.panel(t, s)]
        found = check_expert_days(visits, {}, [x.toordinal() for x in sp.days],
                                  {e: 1 for e in range(len(sp.inp.experts))})
        runs[limit] = len(found)
    assert runs[0] > 0 and runs[1] == 0


# ---------------------------------------------------------------- 随机抽取 (random draw) of site teams

def test_the_draw_pool_has_the_cap_as_its_rate_and_follows_the_seed():
    pool = draw_pool(4000, 10, 0.5, seed=3)
    assert abs(pool.mean() - 0.5) < 0.01
    assert (draw_pool(4000, 10, 0.5, seed=3) == pool).all() and not (draw_pool(4000, 10, 0.5, seed=4) == pool).all()
    assert abs(draw_pool(4000, 10, 0.2, seed=3).mean() - 0.2) < 0.01


@pytest.fixture(scope="module")
def small_round():
    policy = demo_policy(load_policy())
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", policy)
    return data.model_copy(update={"applications": data.applications[:12]}), policy


def test_a_drawn_plan_seats_only_its_teams_drawn_candidates(small_round):
    """Every seat of a site comes from its team's drawn candidates (probability q each), so no seat's
    probability exceeds q; different seeds draw different teams; the plan keeps every rule."""
    data, policy = small_round
    seated = {}
    for seed in (1, 2):
        sp = plan_sites(data, policy, SitePlanParams(MON, MON + dt.timedelta(days=4), seed=seed, work_limit=2.0,
                                                     randomize=True))
        assert sp.feasible and sp.violations == [] and sp.day_violations == []
        pool = sp.teams.pool
        assert pool is not None and abs(pool.mean() - policy.random_draw.max_pair_probability) < 0.1
        for t, r in enumerate(sp.routes.routes):
            for s, _ in r:
                assert all(pool[e, t] for e in sp.teams.panel(t, s)), (seed, t, s)
        seated[seed] = set(zip(sp.panels["application_id"], sp.panels["expert_id"]))
    assert seated[1] != seated[2]
    plain = plan_sites(data, policy, SitePlanParams(MON, MON + dt.timedelta(days=4), seed=1, work_limit=2.0))
    assert plain.teams.pool is None


def test_travel_of_a_plan_read_back_equals_the_fresh_plans(small_round):
    """A stored plan has no solver terms: its travel hours are recounted, the same as the fresh plan's,
    and near the team model's own estimate (which puts a field seat at the day's first city)."""
    from reviewer.panels.site.outputs import metrics, travel_tenths
    from reviewer.panels.site.repair import read_site_plan
    data, policy = small_round
    sp = plan_sites(data, policy, SitePlanParams(MON, MON + dt.timedelta(days=4), work_limit=2.0))
    back = read_site_plan(data, policy, sp.panels)
    assert travel_tenths(back) == travel_tenths(sp) > 0
    assert metrics(back)["travel_hours"] == metrics(sp)["travel_hours"]
    assert abs(travel_tenths(sp) - sp.teams.breakdown["travel_tenths"]) <= 0.2 * travel_tenths(sp)


# ---------------------------------------------------------------- per-expert limits (专家出行限制)

def test_the_travel_limits_file_is_read_and_refused_whole(tmp_path):
    from reviewer.errors import UserError
    from reviewer.panels.site.inputs import read_travel_limits
    good = tmp_path / "limits.csv"
    good.write_text("专家编号,最多连续考察天数\nZJ0001,2\nZJ0002,7\n", encoding="utf-8")
    assert read_travel_limits(good, {"ZJ0001", "ZJ0002"}) == {"ZJ0001": 2, "ZJ0002": 7}
    bad = tmp_path / "bad.csv"
    bad.write_text("专家编号,最多连续考察天数\nZJ0001,0\nZJ9999,3\nZJ0002,x\n", encoding="utf-8")
    with pytest.raises(UserError) as e:
        read_travel_limits(bad, {"ZJ0001", "ZJ0002"})
    msg = str(e.value)
    assert "bad.csv" in msg and "3 处错误" in msg and "ZJ9999" in msg and "1 to 31" in msg


def test_a_per_expert_limit_binds_that_expert_only(one_day_trips):
    """The one-day trips on adjacent days: with the policy's limit 5, an expert reused on consecutive days
    gets a limit of 1 from the file; the plan keeps it for that expert and the checker names a breach."""
    data, pol, sp = one_day_trips
    routes = dataclasses.replace(sp.routes, routes=[[(s, t % len(sp.days)) for s, _ in r]
                                                    for t, r in enumerate(sp.routes.routes)])
    off = np.zeros((len(sp.inp.experts), len(sp.days)), dtype=bool)
    loose = pol.model_copy(update={"site_visit": pol.site_visit.model_copy(update={"max_consecutive_travel_days": 5})})
    tp = team_problem(loose, sp.inp, sp.geo, sp.route_problem, routes, sp.sites, off, 0, sp.days)
    teams = solve_teams(tp, work_limit=2.0)
    days_of: dict = {}
    for t, r in enumerate(routes.routes):
        for s, d in r:
            for e in teams.panel(t, s):
                days_of.setdefault(e, set()).add(d)
    reused = sorted(e for e, ds in days_of.items() if any(d + 1 in ds for d in ds))
    assert reused, "no expert on adjacent days: the test cannot bind"
    who = sp.inp.experts[reused[0]].expert_id
    tp = team_problem(loose, sp.inp, sp.geo, sp.route_problem, routes, sp.sites, off, 0, sp.days,
                      limits={who: 1})
    assert tp.max_consecutive[reused[0]] == 1 and (np.delete(tp.max_consecutive, reused[0]) == 5).all()
    again = solve_teams(tp, work_limit=2.0)
    mine = {d for t, r in enumerate(routes.routes) for s, d in r if reused[0] in again.panel(t, s)}
    assert not any(d + 1 in mine for d in mine)
