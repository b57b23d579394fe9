"""现场考察 routing and staffing rules at their boundaries (solver level, plain arrays), and the property
that every plan keeps every hard family on every visited site and no expert is in two places a day."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solver import check_plan
from solver.site_check import check_expert_days, check_routes
from solver.site_greedy import greedy_routes
from solver.site_routes import RouteProblem, solve_routes
from solver.site_teams import TeamProblem, as_plan, repair_teams, solve_teams
from solver.synthetic import guangxi_round

SITE_STAGE = 1   # guangxi_round's stages: 初审评估, 现场考察, 认定评审


def two_city_problem(leg_tenths: int, limit_tenths: int = 40, n_days: int = 1) -> RouteProblem:
    travel = np.array([[5, leg_tenths], [leg_tenths, 5]], dtype=np.int64)
    return RouteProblem(site_city=np.array([0, 1]), site_halves=np.array([1, 1]), travel_tenths=travel,
                        home_tenths=np.array([20, 20]), next_day_ok=np.zeros(n_days, bool), n_days=n_days,
                        max_travel_tenths=limit_tenths, max_trip_days=1)


def test_two_sites_a_day_at_the_travel_limit_share_one_team_day():
    plan = solve_routes(two_city_problem(leg_tenths=40), work_limit=5)
    assert plan.status == "OPTIMAL"
    assert len(plan.routes) == 1 and [d for _, d in plan.routes[0]] == [0, 0]
    assert plan.breakdown["team_days"] == 1


def test_two_sites_just_over_the_travel_limit_need_two_teams():
    p = two_city_problem(leg_tenths=41)
    plan = solve_routes(p, work_limit=5)
    assert plan.status == "OPTIMAL"
    assert len(plan.routes) == 2 and plan.breakdown["team_days"] == 2
    # and the independent checker refuses the one-team day the model could not choose
    assert [r for r, *_ in check_routes(p, [[(0, 0), (1, 0)]])] == ["day_travel"]


def test_overnight_transfer_counts_against_the_next_day():
    """Day 2's travel = the morning transfer: over the limit, a two-day trip across it is refused."""
    p = dataclasses.replace(two_city_problem(leg_tenths=41, n_days=2), next_day_ok=np.array([True, False]),
                            max_trip_days=2)
    plan = solve_routes(p, work_limit=5)
    assert plan.feasible and len(plan.routes) == 2
    assert [r for r, *_ in check_routes(p, [[(0, 0), (1, 1)]])] == ["day_travel"]


def test_a_trip_never_runs_over_a_non_working_day():
    p = dataclasses.replace(two_city_problem(leg_tenths=10, n_days=2), next_day_ok=np.array([False, False]),
                            max_trip_days=2, max_sites_per_day=1)
    plan = solve_routes(p, work_limit=5)
    assert plan.feasible and len(plan.routes) == 2
    assert "trip_length" in [r for r, *_ in check_routes(p, [[(0, 0), (1, 1)]])]


def test_fixed_day_is_kept():
    p = dataclasses.replace(two_city_problem(leg_tenths=10, n_days=3), next_day_ok=np.array([True, True, False]),
                            fixed_day=np.array([2, -1]))
    plan = solve_routes(p, work_limit=5)
    assert plan.day_of()[0] == 2 and check_routes(p, plan.routes) == []


def one_site_teams(unavailable_day0: list[int], n_days: int = 2, seed: int = 3) -> tuple[TeamProblem, object]:
    """A 30-expert pool, one site of application 0 visited on day 0."""
    p = guangxi_round(n_apps=2, n_experts=60, stage_apps=(2, 2, 2), seed=seed, n_fields=2, exclusion_rate=0.0)
    E = len(p.expert_category)
    unavailable = np.zeros((E, n_days), bool)
    unavailable[unavailable_day0, 0] = True
    tp = TeamProblem(p, SITE_STAGE, [[(0, 0)]], np.array([0]), np.array([0]), np.zeros((E, 1), np.int64),
                     np.array([[5]]), unavailable)
    return tp, p


def test_an_unavailable_date_keeps_the_expert_off_that_day():
    tp, p = one_site_teams([])
    first = solve_teams(tp, work_limit=5)
    assert first.feasible
    chair = first.chair[0]
    tp2, _ = one_site_teams([chair])
    again = solve_teams(tp2, work_limit=5)
    assert again.feasible and chair not in again.panel(0, 0)
    visits = [(e, 0, 0) for e in again.panel(0, 0)]
    assert check_expert_days(visits, {chair: {0}}) == []
    assert [r for r, *_ in check_expert_days([(chair, 0, 0)], {chair: {0}})] == ["unavailable"]


def test_no_available_chair_is_explained_by_site_and_rule():
    tp, p = one_site_teams([])
    chairs = [e for e in range(len(p.expert_category)) if p.expert_can_chair[e]]
    tp2, _ = one_site_teams(chairs)
    plan = solve_teams(tp2, work_limit=5)
    assert not plan.feasible
    assert plan.reasons[0][:3] == ("chair", 0, 0) and "组长" in plan.reasons[0][3]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_sites=st.integers(3, 5), n_days=st.integers(2, 4))
def test_every_team_keeps_every_hard_family_and_no_expert_is_in_two_places(seed, n_sites, n_days):
    rng = np.random.default_rng(seed)
    p = guangxi_round(n_apps=n_sites, n_experts=150, stage_apps=(n_sites, n_sites, n_sites), seed=seed, n_fields=3,
                      exclusion_rate=0.03)
    C = 4
    travel = rng.integers(5, 50, size=(C, C))
    travel = np.minimum(travel, travel.T)
    np.fill_diagonal(travel, 5)
    rp = RouteProblem(site_city=rng.integers(0, C, n_sites), site_halves=rng.integers(1, 3, n_sites),
                      travel_tenths=travel, home_tenths=np.full(C, 20), next_day_ok=rng.random(n_days) < 0.7,
                      n_days=n_days, max_travel_tenths=35, max_trip_days=2, max_sites_per_trip=4)
    routes = solve_routes(rp, seed=seed, work_limit=1)
    assume(routes.feasible)
    assert check_routes(rp, routes.routes) == []
    E = len(p.expert_category)
    unavailable = rng.random((E, n_days)) < 0.1
    tp = TeamProblem(p, SITE_STAGE, routes.routes, np.arange(n_sites), rp.site_city, np.zeros((E, C), np.int64),
                     travel, unavailable, core_k=8, field_k=6)
    teams = solve_teams(tp, seed=seed, work_limit=1)
    assume(teams.feasible)
    assert check_plan(p, as_plan(tp, teams), stages=[SITE_STAGE]) == []
    visits = [(e, d, t) for t, r in enumerate(routes.routes) for s, d in r for e in teams.panel(t, s)]
    off = {e: set(np.nonzero(unavailable[e])[0].tolist()) for e in range(E)}
    assert check_expert_days(visits, off) == []


@pytest.mark.parametrize("limit", [10, 40])
def test_greedy_start_keeps_every_route_rule(limit):
    rng = np.random.default_rng(limit)
    travel = rng.integers(5, 60, size=(6, 6))
    travel = np.minimum(travel, travel.T)
    p = RouteProblem(rng.integers(0, 6, 20), rng.integers(1, 3, 20), travel, np.full(6, 10),
                     np.array([True, True, False, True, True, False, True, True]), 8, max_travel_tenths=limit)
    assert check_routes(p, greedy_routes(p)) == []


def test_a_decline_is_repaired_within_the_route_changing_few_seats():
    p = guangxi_round(n_apps=3, n_experts=90, stage_apps=(3, 3, 3), seed=11, n_fields=2, exclusion_rate=0.0)
    E = len(p.expert_category)
    routes = [[(0, 0), (1, 0), (2, 1)]]
    tp = TeamProblem(p, SITE_STAGE, routes, np.arange(3), np.zeros(3, np.int64), np.zeros((E, 1), np.int64),
                     np.array([[5]]), np.zeros((E, 2), bool))
    first = solve_teams(tp, work_limit=3)
    assert first.feasible
    gone = first.core[0][0]
    fixed = repair_teams(tp, first, [gone], work_limit=3)
    assert fixed.feasible and all(gone not in fixed.panel(0, s) for s, _ in routes[0])
    assert check_plan(p, as_plan(tp, fixed), stages=[SITE_STAGE]) == []
    # one seat per visited site of the core member changes hands, nothing else
    assert fixed.breakdown["changed_seats"] == 1
    assert set(fixed.core[0]) - {gone} >= set(first.core[0]) - {gone}
