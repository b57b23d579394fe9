"""Round settings (issue 17 part 2): the meeting of each stage (date, time, place, contact), the
site-visit window and the 答辩 (defence) meeting's details, kept in `rounds.settings` (JSON, audited by
`reviewer.store.repo.update_round_settings`) and read through this module only.

Layout of the JSON::

    {"meetings": {"认定评审": {"date": "2026-12-15", "time": "09:00", "place": "…", "contact": "…",
                               "attendees": 3}},
     "site_start": "2026-12-01", "site_end": "2026-12-10", "site_per_day": 3}

The meeting dates drive the experts' availability when planning (:func:`meeting_dates`, applied over
the policy's [stages] dates); for the site-visit stage the first day of the window is used. The
notices, the .ics calendars and the 答辩 schedule (reviewer.documents.packs) read the same values.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from reviewer.errors import UserError
from reviewer.policy import Policy

MEETING_KEYS = ("date", "time", "place", "contact", "attendees")


@dataclass(frozen=True)
class Meeting:
    """One stage's meeting as set for the round ("" = not set yet)."""
    date: str = ""
    time: str = ""
    place: str = ""
    contact: str = ""
    attendees: int | None = None   # 参会人数 per applicant at the 答辩

    @property
    def day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.date) if self.date else None


def check_date(v: str, what: str) -> str:
    try:
        dt.date.fromisoformat(v)
    except (TypeError, ValueError):
        raise UserError(f"{what} {v!r}: 应为日期 expected a date like 2026-12-01") from None
    return v


def check_time(v: str, what: str = "--time") -> str:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", v or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UserError(f"{what} {v!r}: 应为时间 expected HH:MM, e.g. 09:00")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def meeting(settings: Mapping[str, Any] | None, stage: str) -> Meeting:
    m = ((settings or {}).get("meetings") or {}).get(stage) or {}
    return Meeting(**{k: m[k] for k in MEETING_KEYS if k in m and m[k] is not None})


def site_window(settings: Mapping[str, Any] | None) -> tuple[dt.date | None, dt.date | None]:
    st = settings or {}
    return (dt.date.fromisoformat(st["site_start"]) if st.get("site_start") else None,
            dt.date.fromisoformat(st["site_end"]) if st.get("site_end") else None)


def meeting_dates(settings: Mapping[str, Any] | None, policy: Policy) -> dict[str, str]:
    """stage -> the day experts must be available (YYYY-MM-DD), for the stages that have one set: the
    meeting date, or for the site-visit stage the first day of the window."""
    out = {}
    for st in policy.stages.order:
        if st == policy.stages.site and (settings or {}).get("site_start"):
            out[st] = str(settings["site_start"])
        elif meeting(settings, st).date:
            out[st] = meeting(settings, st).date
    return out


def dated(policy: Policy, settings: Mapping[str, Any] | None) -> Policy:
    """`policy` with the round's meeting dates over its [stages] dates (what planning and the lock checks use)."""
    dates = meeting_dates(settings, policy)
    if not dates:
        return policy
    return policy.model_copy(update={"stages": policy.stages.model_copy(update={"dates": {**policy.stages.dates, **dates}})})


def changes(settings: Mapping[str, Any] | None, policy: Policy, *, stage: str | None = None,
            meeting_values: Mapping[str, Any] | None = None, site_start: str | None = None,
            site_end: str | None = None, site_per_day: int | None = None) -> dict:
    """The checked change to the settings (for repo.update_round_settings): a stage's meeting values
    (date, time, place, contact, attendees) and the site-visit window. One place for the checks the CLI
    and the app share."""
    out: dict = {}
    vals = {k: v for k, v in (meeting_values or {}).items() if v is not None and v != ""}
    unknown = sorted(set(vals) - set(MEETING_KEYS))
    if unknown:
        raise UserError(f"unknown meeting setting(s) {unknown}; expected {list(MEETING_KEYS)}")
    if "date" in vals:
        check_date(vals["date"], "--date")
    if "time" in vals:
        vals["time"] = check_time(vals["time"])
    if vals:
        if not stage:
            raise UserError("--stage is needed for --date/--time/--place/--contact/--attendees")
        policy.stage(stage)
        if "attendees" in vals and (not isinstance(vals["attendees"], int) or not 1 <= vals["attendees"] <= 50):
            raise UserError(f"--attendees {vals['attendees']!r}: expected a whole number from 1 to 50")
        old = dict((settings or {}).get("meetings") or {})
        out["meetings"] = {**old, stage: {**(old.get(stage) or {}), **vals}}
    start, end = site_window(settings)
    if site_start:
        start = dt.date.fromisoformat(check_date(site_start, "--site-start"))
        out["site_start"] = site_start
    if site_end:
        end = dt.date.fromisoformat(check_date(site_end, "--site-end"))
        out["site_end"] = site_end
    if start and end and end < start:
        raise UserError(f"现场考察时间窗 site-visit window: end {end} is before start {start}")
    if site_per_day is not None:
        if not 1 <= site_per_day <= 20:
            raise UserError(f"--site-per-day {site_per_day}: expected 1 to 20")
        out["site_per_day"] = site_per_day
    return out
