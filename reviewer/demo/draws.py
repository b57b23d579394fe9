"""Small random draws the demo tables share: dates in a range, rounded amounts, three-year series."""
from __future__ import annotations

import datetime as dt
import random


def rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A day between `start` and `end`, both included."""
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def round_to(x: float, step: int) -> int:
    return int(round(x / step)) * step


def three_years(rng: random.Random, avg: float, step: int = 10_000) -> list[int]:
    """Three yearly values (oldest first) growing a little, whose mean is `avg` (to `step`)."""
    g1, g2 = rng.uniform(-0.03, 0.15), rng.uniform(-0.03, 0.15)
    base = 3 * avg / (1 + (1 + g1) + (1 + g1) * (1 + g2))
    y1, y2 = round_to(base, step), round_to(base * (1 + g1), step)
    y3 = round_to(3 * avg, step) - y1 - y2
    return [y1, y2, y3]
