"""The independent checker of site-visit plans: route rules and the experts' days.

Written with plain loops and no code shared with the models (`solver.site_routes`,
`solver.site_teams`), so that it catches modelling mistakes. The panel rules of every site's team
are checked by `solver.check_plan` (every hard family of `solver.families`), on the plan the
domain side builds from the teams (`reviewer.panels.site`).
"""
from __future__ import annotations

from collections import defaultdict


def check_routes(p, routes: list) -> list:
    """(rule, site, day, message) for every breach of ROUTE_RULES by `routes` of RouteProblem `p`."""
    out, seen = [], defaultdict(int)
    for r in routes:
        for s, d in r:
            seen[s] += 1
            if not 0 <= d < p.n_days:
                out.append(("site_once", s, d, "day outside the window's working days"))
            if p.fixed_day is not None and p.fixed_day[s] >= 0 and d != p.fixed_day[s]:
                out.append(("fixed_day", s, d, f"fixed on day {p.fixed_day[s]}"))
        days = [d for _, d in r]
        if days != sorted(days):
            out.append(("trip_length", r[0][0], days[0], "days not in order"))
        span = sorted(set(days))
        if span != list(range(span[0], span[0] + len(span))):
            out.append(("trip_length", r[0][0], span[0], "days of a trip not consecutive"))
        for w in span[:-1]:
            if not p.next_day_ok[w]:
                out.append(("trip_length", r[0][0], w, "a trip runs over a day that is not a working day"))
        if len(span) > p.max_trip_days:
            out.append(("trip_length", r[0][0], span[0], f"{len(span)} days > {p.max_trip_days}"))
        if len(r) > p.max_sites_per_trip:
            out.append(("trip_length", r[0][0], span[0], f"{len(r)} sites > {p.max_sites_per_trip}"))
        out += _day_rules(p, r)
    for s in range(p.n_sites):
        if seen[s] != 1:
            out.append(("site_once", s, -1, f"visited {seen[s]} times"))
    return out


def _day_rules(p, r: list) -> list:
    out = []
    prev_city = None
    for d in sorted(set(d for _, d in r)):
        sites = [s for s, x in r if x == d]
        if len(sites) > p.max_sites_per_day or sum(int(p.site_halves[s]) for s in sites) > p.day_halves:
            out.append(("day_capacity", sites[0], d, f"{len(sites)} sites on one day"))
        tenths = 0 if prev_city is None else int(p.travel_tenths[prev_city, p.site_city[sites[0]]])
        tenths += sum(int(p.travel_tenths[p.site_city[a], p.site_city[b]]) for a, b in zip(sites, sites[1:]))
        if tenths > p.max_travel_tenths:
            out.append(("day_travel", sites[0], d, f"{tenths / 10:.1f} h > {p.max_travel_tenths / 10:.1f} h"))
        prev_city = p.site_city[sites[-1]]
    return out


def check_expert_days(visits: list, unavailable: dict, day_ordinal=None, max_consecutive: dict | None = None) -> list:
    """visits: (expert, day, place) of every expert on every visit. (rule, expert, day, message) when an
    expert is in two places on one day, works on an unavailable day (unavailable: expert -> days), or
    is on site on more consecutive calendar days than max_consecutive[expert] (day_ordinal: the calendar
    day number of each day index; a day without a visit ends a run)."""
    out, where = [], defaultdict(set)
    for e, d, place in visits:
        where[(e, d)].add(place)
        if d in unavailable.get(e, ()):
            out.append(("unavailable", e, d, "on site on an unavailable date"))
    for (e, d), places in sorted(where.items()):
        if len(places) > 1:
            out.append(("one_place_a_day", e, d, f"in {len(places)} places: {sorted(places)}"))
    if day_ordinal is not None and max_consecutive:
        on_site = defaultdict(set)
        for e, d in where:
            on_site[e].add(d)
        for e, ds in sorted(on_site.items()):
            limit = int(max_consecutive.get(e, 0))
            run, start, prev = 0, -1, None
            for d in sorted(ds, key=lambda x: int(day_ordinal[x])):
                x = int(day_ordinal[d])
                run, start = (run + 1, start) if prev is not None and x == prev + 1 else (1, d)
                prev = x
                if limit and run == limit + 1:
                    out.append(("consecutive_days", e, start, f"on site {run} consecutive days from day {start} "
                                                              f"> {limit}"))
    return out
