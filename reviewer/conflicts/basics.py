"""The conflict rules' names, the hit record and the date-window arithmetic (SPEC §4), shared by the
vectorised rules (`rules`), the columnar hit store (`columns`) and callers (`detector` re-exports them)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RULES: dict[str, tuple[str, str]] = {
    "C1": ("任职回避", "works or worked for an applicant unit"),
    "C2": ("董监高/股东回避", "director, supervisor or controlling shareholder of an applicant unit"),
    "C3": ("利害关系回避", "personal relation or declared recusal"),
    "C4": ("同领域申报回避", "own unit applies in the same field"),
    "C5": ("主管部门人员回避", "staff of the supervising or recommending department"),
    "C6": ("申报单位提出不适宜", "named unsuitable by the applicant"),
    "C7": ("不可抽取", "credit ban or unavailable"),
    "C8": ("同单位限一人", "at most one expert per employer in a panel"),
    "C9": ("同城回避", "same city as the lead unit"),
}
RULE_IDS: tuple[str, ...] = tuple(RULES)     # a hit's rule is stored as its index in this tuple


@dataclass(frozen=True)
class ConflictHit:
    expert_id: str
    application_id: str
    rule: str
    severity: str            # hard | soft
    evidence: str
    waived: bool = False
    waiver_reason: str = ""

    @property
    def excludes(self) -> bool:
        return self.severity == "hard" and not self.waived


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def within_window(end: dt.date | None, years: int, as_of: dt.date) -> bool:
    """A relation that ended on or after the date `years` before `as_of` is within the window;
    one still ongoing (no end date) always is. Ending exactly 3 years ago counts as within."""
    return end is None or end >= years_before(as_of, years)


def norm(name: str | None) -> str:
    """A unit or person name without any whitespace: the key names are matched on."""
    return "".join((name or "").split())


def month(d: dt.date | None) -> str:
    return d.strftime("%Y-%m") if d else "至今 ongoing"


class Interner:
    """Evidence and waiver texts repeat across thousands of hits (one city, one status, one history
    record): each distinct text is stored once and hits carry its number."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.texts: list[str] = []

    def __call__(self, text: str) -> int:
        i = self.ids.get(text)
        if i is None:
            i = self.ids[text] = len(self.texts)
            self.texts.append(text)
        return i
