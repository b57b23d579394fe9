"""Where the sites are and how long travel takes between Guangxi's 14 设区市 (plus 区外 experts).

The coordinates of the city seats ship in `reviewer/data/guangxi_city_seats.csv` (source in its
header); the travel-time table `reviewer/data/guangxi_travel_hours.csv` is derived from them by
`derive_hours` (great-circle distance x DETOUR_FACTOR / SPEED_KMH, rounded to 0.1 h) and a test
checks the shipped table still equals the derivation. Experts from outside Guangxi (区外) travel to
and from the policy's entry city plus a fixed number of hours each way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.intake.model import OUTSIDE_GUANGXI
from reviewer.policy import Policy
from reviewer.resources import DATA_DIR

SEATS_PATH = DATA_DIR / "guangxi_city_seats.csv"
HOURS_PATH = DATA_DIR / "guangxi_travel_hours.csv"
DETOUR_FACTOR = 1.35     # road km per great-circle km (stated in the data files' headers and the README)
SPEED_KMH = 75.0         # average door-to-door speed, expressways and city roads
EARTH_RADIUS_KM = 6371.0
HOURS_HEADER = (
    "# 设区市之间单程行车时间（小时）/ One-way travel hours between the seats of Guangxi's 14 cities.\n"
    "# Derived from reviewer/data/guangxi_city_seats.csv (coordinates and their source in its header):\n"
    f"#   hours = great-circle km x {DETOUR_FACTOR} (road detour factor) / {SPEED_KMH:g} km/h, rounded to 0.1 h.\n"
    "# The diagonal is 0; a leg between two sites of one city takes [site_visit] same_city_leg_hours.\n"
    "# Regenerate with reviewer.panels.site.geography.write_hours_table() after changing the coordinates.\n")


def read_commented_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, comment="#")
    except (OSError, pd.errors.ParserError) as e:
        raise UserError(f"{path}: cannot read the city table ({e})") from None


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of radius EARTH_RADIUS_KM."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def derive_hours(seats: pd.DataFrame) -> pd.DataFrame:
    """The travel-hours table (city x city) derived from the seats' coordinates."""
    names = seats["city"].tolist()
    rows = []
    for a in seats.itertuples():
        rows.append([0.0 if a.city == b.city else
                     round(great_circle_km(a.lat, a.lon, b.lat, b.lon) * DETOUR_FACTOR / SPEED_KMH, 1)
                     for b in seats.itertuples()])
    return pd.DataFrame(rows, index=pd.Index(names, name="city"), columns=names)


def write_hours_table(path: Path = HOURS_PATH) -> Path:
    table = derive_hours(read_commented_csv(SEATS_PATH))
    Path(path).write_text(HOURS_HEADER + table.to_csv(), encoding="utf-8")
    return Path(path)


@dataclass(frozen=True)
class Geography:
    """The cities (policy order), their coordinates and the hours between them."""
    cities: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    hours: np.ndarray            # [C, C] one-way hours; same city = same_city_leg_hours
    entry_city: str              # where 区外 experts arrive
    outside_extra_hours: float

    def index(self, city: str) -> int:
        try:
            return self.cities.index(city)
        except ValueError:
            raise UserError(f"城市 {city!r} 不在行车时间表中 city {city!r} is not in the travel table "
                            f"({'、'.join(self.cities)})") from None

    def home_hours(self, home: str, city: int) -> float:
        """One-way hours from an expert's home city (or 区外) to city index `city`."""
        if home == OUTSIDE_GUANGXI:
            return self.outside_extra_hours + float(self.hours[self.index(self.entry_city), city]
                                                    if self.index(self.entry_city) != city else 0.0)
        h = self.index(home)
        return 0.0 if h == city else float(self.hours[h, city])


def load_geography(policy: Policy, hours_path: Path = HOURS_PATH) -> Geography:
    """The shipped coordinates and travel table for the policy's cities (every city must be in both)."""
    seats = read_commented_csv(SEATS_PATH).set_index("city")
    table = read_commented_csv(Path(hours_path)).set_index("city")
    cities = tuple(policy.cities.names)
    missing = [c for c in cities if c not in seats.index or c not in table.index or c not in table.columns]
    if missing:
        raise UserError(f"{hours_path}: 缺少城市 missing cities {'、'.join(missing)} (the policy's [cities] names)")
    hours = table.loc[list(cities), list(cities)].to_numpy(dtype=float)
    if not np.isfinite(hours).all() or (hours < 0).any():
        raise UserError(f"{hours_path}: travel hours must be numbers >= 0")
    hours = hours.copy()
    np.fill_diagonal(hours, policy.site_visit.same_city_leg_hours)
    sv = policy.site_visit
    if sv.outside_entry_city not in cities:
        raise UserError(f"[site_visit] outside_entry_city {sv.outside_entry_city!r} is not one of the cities")
    return Geography(cities, seats.loc[list(cities), "lat"].to_numpy(float), seats.loc[list(cities), "lon"].to_numpy(float),
                     hours, sv.outside_entry_city, float(sv.outside_extra_hours))
