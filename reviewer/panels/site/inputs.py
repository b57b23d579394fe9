"""The site-visit inputs beyond the round's files, each validated like every other input (file,
row, column, value and what was expected; Chinese headers with English aliases; a blank template):

* 专家不可用日期 expert unavailable dates: one row per expert and date (or a date range 起始-截止);
* 考察点 sites: per application the visit length (半天/全天, default the policy's), the host's
  address and contact, and optionally a fixed day (锁定日期);
* 专家出行限制 per expert the most consecutive days on site (over the policy's max_consecutive_travel_days);
* 节假日 a holiday file for a year the calendar package does not cover (日期, 类型 休/班).

A file with any bad row is refused as a whole, listing every problem: a silently dropped
unavailable date would send an expert on a day they said they cannot come.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.errors import UserError
from reviewer.intake.cells import CellError, is_blank, parse_cell
from reviewer.intake.io import ImportIssue, header_map, normalise_header, read_raw, write_template
from reviewer.intake.schema import ID_CHARS, TEXT_CHARS, Column, Table
from reviewer.policy_process import VISIT_LENGTHS

UNAVAILABLE = Table(
    name="expert_unavailable", zh="专家不可用日期", key=(),
    doc="One row per expert and unavailable date or date range (现场考察).",
    sheet_names=("专家不可用日期", "expert_unavailable"),
    columns=(
        Column("expert_id", "专家编号", doc="the expert's id in the pool", max_chars=ID_CHARS),
        Column("date", "不可用日期", "date", aliases=("起始日期", "from"), doc="the (first) unavailable date"),
        Column("until", "截止日期", "date", required=False, aliases=("to",), doc="last date of a range (blank = one day)"),
        Column("reason", "原因", required=False, doc="why (not shown to other experts)", max_chars=TEXT_CHARS),
    ))

SITES = Table(
    name="sites", zh="考察点", key=("application_id",),
    doc="Per application: visit length, host address and contact, optional fixed day (现场考察).",
    sheet_names=("考察点", "sites"),
    columns=(
        Column("application_id", "申报编号", max_chars=ID_CHARS),
        Column("visit_length", "考察时长", required=False, doc="半天 or 全天 (blank = the policy's visit_length)"),
        Column("address", "考察地址", required=False, doc="where the team goes (blank = the lead unit, its city)"),
        Column("contact", "联系人", required=False),
        Column("phone", "联系电话", required=False),
        Column("fixed_day", "锁定日期", "date", required=False, doc="the visit must be on this day (blank = planner)"),
    ))

TRAVEL_LIMITS = Table(
    name="expert_travel_limits", zh="专家出行限制", key=("expert_id",),
    doc="Per expert: the most consecutive days on site (现场考察), over the policy's max_consecutive_travel_days.",
    sheet_names=("专家出行限制", "expert_travel_limits"),
    columns=(
        Column("expert_id", "专家编号", doc="the expert's id in the pool", max_chars=ID_CHARS),
        Column("max_consecutive_days", "最多连续考察天数", "int", max_value=31,
               doc="at most this many consecutive calendar days on site (1-31)"),
    ))

HOLIDAYS = Table(
    name="holidays", zh="节假日", key=("date",), sheet_names=("节假日", "holidays"),
    doc="A year's public holidays (休) and make-up workdays (班) from the State Council's notice.",
    columns=(Column("date", "日期", "date"), Column("kind", "类型", doc="休 (holiday) or 班 (make-up workday)")))

MAX_RANGE_DAYS = 366


@dataclass
class SiteDetails:
    halves: int                 # 1 = 半天, 2 = 全天
    address: str = ""
    contact: str = ""
    phone: str = ""
    fixed_day: dt.date | None = None


@dataclass
class SiteInputs:
    """What the site planner reads besides the round: unavailable dates, site details, holidays."""
    unavailable: dict[str, set[dt.date]] = field(default_factory=dict)   # expert_id -> dates
    sites: dict[str, SiteDetails] = field(default_factory=dict)          # application_id -> details
    holidays: dict[dt.date, bool] | None = None                          # date -> True 班 / False 休
    max_consecutive: dict[str, int] = field(default_factory=dict)       # expert_id -> days (over the policy's)
    files: list[dict] = field(default_factory=list)


def _rows(path: Path, table: Table) -> tuple[list[tuple[int, dict]], list[ImportIssue], str | None]:
    """(row number, {key: parsed value}) of every non-blank row, and the issues found."""
    raw, sheet = read_raw(path, table)
    issues: list[ImportIssue] = []
    hmap, seen = header_map(table), {}
    for h in raw.columns:
        c = hmap.get(normalise_header(h))
        if c is None and not str(h).startswith("Unnamed:") and normalise_header(h) not in ("备注", "序号"):
            issues.append(ImportIssue(str(path), sheet, 1, str(h), None,
                                      f"a known {table.zh} header: {', '.join(x.zh for x in table.columns)}"))
        elif c is not None:
            seen[str(h)] = c
    for c in table.columns:
        if c.required and c.key not in {x.key for x in seen.values()}:
            issues.append(ImportIssue(str(path), sheet, 1, c.zh, None, f"a column {c.zh} ({c.key})"))
    rows = []
    for i, (_, r) in enumerate(raw.iterrows()):
        if all(is_blank(v) for v in r):
            continue
        values, bad = {}, False
        for h, c in seen.items():
            try:
                values[c.key] = parse_cell(r[h], c)
            except CellError as e:
                issues.append(ImportIssue(str(path), sheet, i + 2, h, r[h], f"{e} ({c.zh})"))
                bad = True
                continue
            if values[c.key] is None and c.required:
                issues.append(ImportIssue(str(path), sheet, i + 2, h, None, f"a value: {c.zh} is required"))
                bad = True
        if not bad:
            rows.append((i + 2, values))
    return rows, issues, sheet


def _refuse(path: Path, issues: list[ImportIssue]) -> None:
    if issues:
        raise UserError(f"{path}: {len(issues)} 处错误，文件未读入 problem(s), the file was not read:\n"
                        + "\n".join(f"  {x}" for x in issues))


def read_unavailable(path: str | Path, expert_ids: set[str]) -> dict[str, set[dt.date]]:
    path = Path(path)
    rows, issues, sheet = _rows(path, UNAVAILABLE)
    out: dict[str, set[dt.date]] = {}
    for rowno, v in rows:
        if v["expert_id"] not in expert_ids:
            issues.append(ImportIssue(str(path), sheet, rowno, "专家编号", v["expert_id"], "an expert id of the pool"))
            continue
        first, last = v["date"], v.get("until") or v["date"]
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            issues.append(ImportIssue(str(path), sheet, rowno, "截止日期", last.isoformat(),   # as typed, not a repr
                                      f"a date from {first} to at most a year later"))
            continue
        days = out.setdefault(v["expert_id"], set())
        while first <= last:
            days.add(first)
            first += dt.timedelta(days=1)
    _refuse(path, issues)
    return out


def read_sites(path: str | Path, application_ids: set[str], default_halves: int) -> dict[str, SiteDetails]:
    path = Path(path)
    rows, issues, sheet = _rows(path, SITES)
    out: dict[str, SiteDetails] = {}
    for rowno, v in rows:
        a = v["application_id"]
        if a not in application_ids:
            issues.append(ImportIssue(str(path), sheet, rowno, "申报编号", a, "an application id of the round"))
            continue
        if a in out:
            issues.append(ImportIssue(str(path), sheet, rowno, "申报编号", a, "one row per application"))
            continue
        length = v.get("visit_length")
        if length is not None and length not in VISIT_LENGTHS:
            issues.append(ImportIssue(str(path), sheet, rowno, "考察时长", length, "半天 or 全天 (blank = policy)"))
            continue
        out[a] = SiteDetails(default_halves if length is None else 1 + VISIT_LENGTHS.index(length),
                             v.get("address") or "", v.get("contact") or "", v.get("phone") or "", v.get("fixed_day"))
    _refuse(path, issues)
    return out


def read_travel_limits(path: str | Path, expert_ids: set[str]) -> dict[str, int]:
    """专家出行限制: expert -> the most consecutive days on site (one row per expert, 1-31)."""
    path = Path(path)
    rows, issues, sheet = _rows(path, TRAVEL_LIMITS)
    out: dict[str, int] = {}
    for rowno, v in rows:
        e, days = v["expert_id"], v["max_consecutive_days"]
        if e not in expert_ids:
            issues.append(ImportIssue(str(path), sheet, rowno, "专家编号", e, "an expert id of the pool"))
        elif e in out:
            issues.append(ImportIssue(str(path), sheet, rowno, "专家编号", e, "one row per expert"))
        elif not 1 <= int(days) <= 31:
            issues.append(ImportIssue(str(path), sheet, rowno, "最多连续考察天数", days, "a whole number from 1 to 31"))
        else:
            out[e] = int(days)
    _refuse(path, issues)
    return out


def read_holidays(path: str | Path) -> dict[dt.date, bool]:
    path = Path(path)
    rows, issues, sheet = _rows(path, HOLIDAYS)
    out: dict[dt.date, bool] = {}
    for rowno, v in rows:
        if v["kind"] not in ("休", "班"):
            issues.append(ImportIssue(str(path), sheet, rowno, "类型", v["kind"], "休 (holiday) or 班 (make-up workday)"))
            continue
        out[v["date"]] = v["kind"] == "班"
    _refuse(path, issues)
    return out


def write_site_templates(path: str | Path) -> Path:
    """A blank workbook with the three site-visit tables and a column guide."""
    return write_template(path, [UNAVAILABLE, SITES, TRAVEL_LIMITS, HOLIDAYS])
