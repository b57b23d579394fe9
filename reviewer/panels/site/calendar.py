"""Working days of the inspection window: the Chinese public-holiday calendar with its 调休
make-up workdays, from the maintained `chinesecalendar` package (State Council notices, 2004 to
the last year it covers). A year it does not cover is refused with the year named, unless the
department supplies that year's holiday file (日期, 类型 休/班), never silently treated as
Monday-to-Friday.
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar

from reviewer.errors import UserError

MAX_WINDOW_DAYS = 366
HOLIDAY_FILE_HINT = ("请提供该年度的节假日文件（列：日期、类型，类型为 休 或 班，按国务院办公厅当年放假通知填写）："
                     "reviewer site-plan --holidays FILE（库模式 store mode: reviewer site-inputs import --round R "
                     "--holidays FILE，或在现场考察页面上传）/ supply that year's holiday file (columns 日期, 类型 = 休 "
                     "holiday or 班 make-up workday, from the State Council's notice) with --holidays FILE")


def covered_years() -> tuple[int, int]:
    """The first and last year the installed chinesecalendar knows."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years[0], years[-1]


def is_working_day(day: dt.date, holidays: dict[dt.date, bool] | None = None,
                   file_years: frozenset[int] = frozenset()) -> bool:
    """Whether `day` is a working day. `holidays`: a department's file (date -> True for 班, a make-up
    workday; False for 休) for the years in `file_years`; other years come from chinesecalendar."""
    if day.year in file_years:
        if holidays and day in holidays:
            return holidays[day]
        return day.weekday() < 5
    first, last = covered_years()
    if not first <= day.year <= last:
        raise UserError(f"{day.year} 年的法定节假日和调休安排未知（chinesecalendar 仅覆盖 {first}–{last} 年），不能按周一至周五"
                        f"估算工作日。{HOLIDAY_FILE_HINT} / the public holidays of {day.year} are not known to the "
                        f"installed calendar (it covers {first}-{last}).")
    return chinese_calendar.is_workday(day)


def working_days(start: dt.date, end: dt.date, holidays: dict[dt.date, bool] | None = None) -> list[dt.date]:
    """The working days from `start` to `end` (both included), in order."""
    if end < start:
        raise UserError(f"考察窗口结束日期 {end} 早于开始日期 {start} / the window ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_WINDOW_DAYS:
        raise UserError(f"考察窗口 {start}–{end} 超过 {MAX_WINDOW_DAYS} 天 / the window is longer than a year")
    years = frozenset(d.year for d in (holidays or {}))
    out, d = [], start
    while d <= end:
        if is_working_day(d, holidays, years):
            out.append(d)
        d += dt.timedelta(days=1)
    return out
