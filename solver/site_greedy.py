"""A quick feasible set of routes (heuristic), CP-SAT's starting point in `solver.site_routes`.

Day blocks first: sites of one city paired, then pairs across cities within the day's travel
limit (nearest first); then blocks chained into trips (nearest next block the overnight transfer
allows) of at most max_trip_days days and max_sites_per_trip sites; then each trip gets the first
run of consecutive working days. Sites with a fixed day travel alone on that day. Every rule of
`solver.site_routes.ROUTE_RULES` holds by construction (checked by `solver.site_check.check_routes`).
"""
from __future__ import annotations

import numpy as np


def _blocks(p, free: list) -> list:
    """Day blocks: lists of sites one team visits on one day."""
    left, blocks = sorted(free, key=lambda s: (int(p.site_city[s]), s)), []
    while left:
        s = left.pop(0)
        block, halves, tenths = [s], int(p.site_halves[s]), 0
        while len(block) < p.max_sites_per_day:
            last = block[-1]
            options = [(int(p.travel_tenths[p.site_city[last], p.site_city[t]]), t) for t in left
                       if halves + int(p.site_halves[t]) <= p.day_halves
                       and (p.swap_days is None or p.swap_days[last, t] == 0)]
            options = [(c, t) for c, t in options if tenths + c <= p.max_travel_tenths]
            if not options:
                break
            c, t = min(options)
            block.append(t)
            left.remove(t)
            halves, tenths = halves + int(p.site_halves[t]), tenths + c
        blocks.append(block)
    return blocks


def _block_ok_after(p, prev: list, block: list) -> bool:
    """The overnight transfer into `block` plus its own legs fit the day's travel limit."""
    tenths = int(p.travel_tenths[p.site_city[prev[-1]], p.site_city[block[0]]])
    for a, b in zip(block, block[1:]):
        tenths += int(p.travel_tenths[p.site_city[a], p.site_city[b]])
    return tenths <= p.max_travel_tenths


def _trips(p, blocks: list) -> list:
    left, trips = list(blocks), []
    while left:
        trip = [left.pop(0)]
        while len(trip) < p.max_trip_days:
            n = sum(len(b) for b in trip)
            options = [(int(p.travel_tenths[p.site_city[trip[-1][-1]], p.site_city[b[0]]]), i)
                       for i, b in enumerate(left) if n + len(b) <= p.max_sites_per_trip and _block_ok_after(p, trip[-1], b)]
            if not options:
                break
            trip.append(left.pop(min(options)[1]))
        trips.append(trip)
    return trips


def greedy_routes(p) -> list | None:
    """Routes [(site, day), ...] per trip, or None when the heuristic finds no days for them."""
    fixed = [] if p.fixed_day is None else [s for s in range(p.n_sites) if p.fixed_day[s] >= 0]
    free = [s for s in range(p.n_sites) if s not in set(fixed)]
    routes = [[(s, int(p.fixed_day[s]))] for s in fixed]
    runs = _runs(p)
    for k, trip in enumerate(_trips(p, _blocks(p, free))):
        starts = runs.get(len(trip), [])
        if not starts:
            return None
        first = starts[k % len(starts)]   # spread the trips over the window
        routes.append([(s, first + i) for i, block in enumerate(trip) for s in block])
    return routes


def _runs(p) -> dict:
    """Trip length -> first days w with w .. w+len-1 consecutive calendar working days."""
    ok = np.asarray(p.next_day_ok, dtype=bool)
    out = {}
    for n in range(1, p.max_trip_days + 1):
        out[n] = [w for w in range(p.n_days - n + 1) if all(ok[w:w + n - 1])]
    return out
