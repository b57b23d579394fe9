"""Import of the round's input files (.xlsx / .csv, Chinese headers, English aliases) with
row-level validation.

Every problem becomes an `ImportIssue` naming file, sheet, row, column, value and what was
expected. A bad row is rejected on its own; every good row still loads. Nothing here raises
for a user's mistake except a file that cannot be opened at all (`UserError`).
"""
from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from pydantic import ValidationError

from reviewer.errors import UserError
from reviewer.intake import schema
from reviewer.intake.cells import (CONTROL_CHARACTERS, MAX_COUNT, MAX_MONEY, CellError, is_blank,  # noqa: F401
                                   parse_cell, shown_value)  # re-exported: callers import them from io
from reviewer.intake.model import Application, Declaration, DeclarationKind, Expert, HistoryRecord, Member, Platform, RoundData
from reviewer.policy import Policy
from reviewer.intake.schema import Column, Table

# Columns a person may add for their own notes; ignored without a complaint.
IGNORED_HEADERS = {"备注", "remarks", "remark", "notes", "序号", "no", "no."}

RECORD_TYPES = {
    "applications": Application,
    "members": Member,
    "platforms": Platform,
    "experts": Expert,
    "expert_history": HistoryRecord,
    "declared_conflicts": Declaration,
}


@dataclass(frozen=True)
class ImportIssue:
    file: str
    sheet: str | None
    row: int | None          # row number as the user sees it in Excel (header = row 1)
    column: str | None       # header as written in the file (or the Chinese header)
    value: Any
    expected: str
    severity: str = "error"  # error: the row (or column) was rejected; warning: loaded anyway

    def __str__(self) -> str:
        where = self.file + (f" [sheet {self.sheet}]" if self.sheet else "")
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f": value {shown_value(self.value)!r}"
        return f"{self.severity.upper()} {where}{value}: expected {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "sheet": self.sheet, "row": self.row,
                "column": self.column, "value": None if self.value is None else str(shown_value(self.value)),
                "expected": self.expected}


@dataclass
class LoadedTable:
    table: Table
    file: str
    sheet: str | None
    sha256: str
    n_rows: int
    records: list[Any] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)  # required columns absent: no row loads

    @property
    def n_rejected(self) -> int:
        # Row 1 is the header: its issues concern columns, not rows.
        rows = {i.row for i in self.issues if i.severity == "error" and i.row is not None and i.row > 1}
        if self.missing_columns:
            return self.n_rows
        return len(rows)


@dataclass
class ImportReport:
    tables: dict[str, LoadedTable] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)   # cross-table issues

    @property
    def all_issues(self) -> list[ImportIssue]:
        out = [i for t in self.tables.values() for i in t.issues]
        return out + self.issues

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.all_issues)

    def summary_lines(self) -> list[str]:
        lines = []
        for name, t in self.tables.items():
            lines.append(f"{t.table.zh} {name}: {t.file}{' [' + t.sheet + ']' if t.sheet else ''}: "
                         f"{len(t.records)} loaded, {t.n_rejected} rejected of {t.n_rows} rows")
        return lines

    def issues_frame(self) -> pd.DataFrame:
        return pd.DataFrame([i.as_dict() for i in self.all_issues],
                            columns=["severity", "file", "sheet", "row", "column", "value", "expected"])

    def inputs(self) -> list[dict[str, Any]]:
        """Input file hashes for the run record (reproducibility)."""
        return [{"table": n, "file": t.file, "sheet": t.sheet, "sha256": t.sha256, "rows": t.n_rows,
                 "loaded": len(t.records)} for n, t in self.tables.items()]


# ---------------------------------------------------------------- reading files

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_csv(path: Path) -> pd.DataFrame:
    last: Exception | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError as e:
            last = e
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except pd.errors.ParserError as e:
            raise UserError(f"{path}: not a readable CSV file ({e})") from None
    raise UserError(f"{path}: text encoding is neither UTF-8 nor GBK/GB18030 ({last})")


def sheet_names(path: Path) -> list[str]:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    try:
        return list(pd.ExcelFile(path, engine="openpyxl").sheet_names)
    except Exception as e:  # openpyxl raises many kinds for a corrupt file
        raise UserError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from None


def table_sheet(path: Path, names: list[str], table: Table) -> str | None:
    """The sheet among `names` that holds `table` by name (申报书 or applications ...), None when
    none does; a UserError when two sheets could both be it (which one would be imported?)."""
    hits = [n for n in dict.fromkeys((*table.sheet_names, table.zh, table.name)) if n in names]
    if len(hits) > 1:
        raise UserError(f"{path}: 工作簿中有 {len(hits)} 个工作表都可能是 {table.zh} 表（{'、'.join(hits)}），无法确定导入哪一个；"
                        f"请删除或改名多余的工作表 / sheets {', '.join(repr(h) for h in hits)} would all be the "
                        f"{table.name} table: keep one (delete or rename the others)")
    return hits[0] if hits else None


def find_sheet(path: Path, table: Table) -> str | None:
    """The sheet of `path` that holds `table`, by name (the only sheet of a one-sheet workbook);
    None for CSV."""
    names = sheet_names(path)
    if not names:
        return None
    found = table_sheet(path, names, table)
    if found is not None:
        return found
    return names[0] if len(names) == 1 else None


def read_raw(path: str | Path, table: Table, sheet: str | None = None) -> tuple[pd.DataFrame, str | None]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path), None
    if suffix not in (".xlsx", ".xlsm"):
        raise UserError(f"{path}: unsupported file type {suffix!r}, expected .xlsx or .csv")
    if sheet is None:
        sheet = find_sheet(path, table)
        if sheet is None:
            raise UserError(f"{path}: no sheet named {table.zh} or {table.name} "
                            f"(sheets: {', '.join(sheet_names(path))})")
    try:
        df = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as e:
        raise UserError(f"{path}: cannot read sheet {sheet!r} ({e})") from None
    except Exception as e:
        raise UserError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from None
    return df, sheet


# ---------------------------------------------------------------- headers

def normalise_header(h: Any) -> str:
    s = CONTROL_CHARACTERS.sub("", unicodedata.normalize("NFKC", str(h))).strip().lower()
    s = re.sub(r"\s+", "", s)
    s = s.replace("（", "(").replace("）", ")")
    s = re.sub(r"\((元|万元|个|项|家|%)\)$", "", s)  # unit suffixes people add
    return s


def header_map(table: Table) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for c in table.columns:
        for h in c.headers:
            out[normalise_header(h)] = c
    return out


# ---------------------------------------------------------------- one table

def load_table(path: str | Path, table: Table, policy: Policy, sheet: str | None = None) -> LoadedTable:
    """Load one table from `path` (its `sheet`, or the one named after the table): every good row
    becomes a record, every problem an issue of the returned table."""
    path = Path(path)
    raw, sheet = read_raw(path, table, sheet)
    loaded = LoadedTable(table=table, file=str(path), sheet=sheet, sha256=_sha256(path), n_rows=0)
    issue = lambda row, column, value, expected, severity="error": loaded.issues.append(  # noqa: E731
        ImportIssue(str(path), sheet, row, column, value, expected, severity))

    # Drop rows that are entirely blank (Excel leaves them at the end).
    if len(raw.columns):
        blank_rows = raw.apply(lambda r: all(is_blank(x) for x in r), axis=1)
    else:
        blank_rows = pd.Series([], dtype=bool)
    if raw.columns.empty:   # an empty file: an empty table (a needed table without rows is refused later)
        issue(None, None, None, f"a header row and rows of {table.zh}; the file is empty", "warning")
        return loaded
    colmap, seen = _map_headers(raw, table, issue)
    missing = [c for c in table.columns if c.required and c.key not in seen]
    loaded.missing_columns = [c.zh for c in missing]
    for c in missing:
        n_data = int((~blank_rows).sum())
        issue(1, c.zh, None, f"a column {c.zh} ({c.key}); it is missing, so none of the {n_data} rows can load")

    record_type = RECORD_TYPES[table.name]
    first_seen: dict[tuple, int] = {}
    for i, (_, r) in enumerate(raw.iterrows()):
        if len(blank_rows) and blank_rows.iloc[i]:
            continue
        loaded.n_rows += 1
        rowno = i + 2
        values, bad = _parse_row(r, rowno, colmap, issue)
        if missing or bad:
            continue
        rec = _validate_record(record_type, values, rowno, table, seen, policy, issue)
        if rec is None:
            continue
        if table.key:
            k = tuple(getattr(rec, c) for c in table.key)
            if k in first_seen:
                names = "+".join(table.column(c).zh for c in table.key)
                issue(rowno, seen.get(table.key[-1]), k[-1] if len(k) == 1 else " / ".join(map(str, k)),
                      f"a unique {names}; row {first_seen[k]} has the same (this row was rejected)")
                continue
            first_seen[k] = rowno
        loaded.records.append(rec)
    return loaded


def _map_headers(raw: pd.DataFrame, table: Table, issue) -> tuple[dict[str, Column], dict[str, str]]:
    """(file header -> column, column key -> file header) of the file's known headers; an unnamed
    column holding data, an unknown header (with the closest known one) or a second column for the
    same key is an issue on row 1 and the column is ignored. Note columns are ignored silently."""
    hmap = header_map(table)
    colmap: dict[str, Column] = {}         # file header -> column
    seen: dict[str, str] = {}              # column key -> file header
    for h in raw.columns:
        if str(h).startswith("Unnamed:"):
            if not raw[h].map(is_blank).all():
                issue(1, f"(column {list(raw.columns).index(h) + 1})", None,
                      "a header for every column that holds data")
            continue
        n = normalise_header(h)
        if n in IGNORED_HEADERS:
            continue
        c = hmap.get(n)
        if c is None:
            close = difflib.get_close_matches(n, list(hmap), n=1, cutoff=0.5)
            hint = f"; did you mean {hmap[close[0]].zh}?" if close else ""
            issue(1, str(h), None, f"a known {table.zh} header (this column was ignored){hint}")
            continue
        if c.key in seen:
            issue(1, str(h), None, f"one column for {c.zh}; it already appears as {seen[c.key]!r} (ignored)")
            continue
        colmap[str(h)] = c
        seen[c.key] = str(h)
    return colmap, seen


def _parse_row(r: pd.Series, rowno: int, colmap: dict[str, Column], issue) -> tuple[dict[str, Any], bool]:
    """({column key: parsed value}, whether a cell was bad) of one file row; a cell that does not
    parse, or a blank required cell, is an issue."""
    values: dict[str, Any] = {}
    bad = False
    for h, c in colmap.items():
        v = r[h]
        try:
            values[c.key] = parse_cell(v, c)
        except CellError as e:
            issue(rowno, h, v, f"{e} ({c.zh})")
            bad = True
            continue
        if values[c.key] is None and c.required:
            issue(rowno, h, None, f"a value: {c.zh} is required")
            bad = True
    return values, bad


def _validate_record(record_type, values: dict[str, Any], rowno: int, table: Table, seen: dict[str, str],
                     policy: Policy, issue):
    """The validated record of a parsed row, or None after one issue per validation error (named
    by the file's header of the field when there is one)."""
    data = {k: v for k, v in values.items() if v is not None}
    try:
        return record_type.model_validate({**data, "row": rowno}, context={"policy": policy})
    except ValidationError as e:
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else None
            header = seen.get(key, table.column(key).zh if key and key in {c.key for c in table.columns}
                              else None) if key else None
            msg = err["msg"].removeprefix("Value error, ")
            issue(rowno, header, err.get("input") if key else None, msg)
        return None


# ---------------------------------------------------------------- a whole round

def discover_sources(path: str | Path) -> dict[str, tuple[Path, str | None]]:
    """Where each table of a round is: a workbook with one sheet per table, or a folder (or a
    file inside it) with one file per table named by the table (applications.xlsx, 申报书.csv ...)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file or folder not found")
    found: dict[str, tuple[Path, str | None]] = {}
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm"):
        names = sheet_names(path)
        for t in schema.TABLES.values():
            sheet = table_sheet(path, names, t)
            if sheet is not None:
                found[t.name] = (path, sheet)
        if len(found) > 1:
            return found
        found = {}
    folder = path if path.is_dir() else path.parent
    if path.is_file():
        # The named file is the applications table unless its name says otherwise.
        for t in schema.TABLES.values():
            if path.stem in (t.name, t.zh):
                found[t.name] = (path, None)
                break
        else:
            found["applications"] = (path, None)
    for t in schema.TABLES.values():
        if t.name in found:
            continue
        for stem in (t.name, t.zh):
            for ext in (".xlsx", ".csv"):
                p = folder / f"{stem}{ext}"
                if p.exists():
                    found[t.name] = (p, None)
                    break
            if t.name in found:
                break
    return found


def load_round(sources: dict[str, tuple[Path, str | None]] | dict[str, Path], policy: Policy) -> tuple[RoundData, ImportReport]:
    """Load every table given, link them, and check what spans tables."""
    report = ImportReport()
    for name in schema.TABLES:
        if name not in sources or sources[name] is None:
            continue
        src = sources[name]
        p, sheet = (src if isinstance(src, tuple) else (Path(src), None))
        report.tables[name] = load_table(p, schema.TABLES[name], policy, sheet)

    def recs(name: str) -> list:
        return report.tables[name].records if name in report.tables else []

    def cross(name: str, rec, column_key: str, expected: str) -> None:
        t = report.tables[name]
        report.issues.append(ImportIssue(t.file, t.sheet, rec.row, t.table.column(column_key).zh,
                                         getattr(rec, column_key), expected))

    apps = {a.application_id: a for a in recs("applications")}
    members: dict[str, list[Member]] = {}
    for m in recs("members"):
        if m.application_id not in apps:
            cross("members", m, "application_id", "an application id present in the applications table")
            continue
        if m.credit_code == apps[m.application_id].lead_credit_code:
            cross("members", m, "credit_code", "a unit other than the lead unit (the lead unit is counted already)")
            continue
        members.setdefault(m.application_id, []).append(m)
    platforms: dict[str, list[Platform]] = {}
    for p in recs("platforms"):
        if p.application_id not in apps:
            cross("platforms", p, "application_id", "an application id present in the applications table")
            continue
        platforms.setdefault(p.application_id, []).append(p)
    applications = tuple(
        a.model_copy(update={"members": tuple(members.get(a.application_id, ())),
                             "platforms": tuple(platforms.get(a.application_id, ()))})
        for a in apps.values())

    experts = {e.expert_id: e for e in recs("experts")}
    history: dict[str, list[HistoryRecord]] = {}
    for h in recs("expert_history"):
        if h.expert_id not in experts:
            cross("expert_history", h, "expert_id", "an expert id present in the expert pool")
            continue
        history.setdefault(h.expert_id, []).append(h)
    expert_records = tuple(e.model_copy(update={"history": tuple(history.get(e.expert_id, ()))})
                           for e in experts.values())

    declarations: list[Declaration] = []
    unsuitable_count: dict[str, int] = {}
    limit = policy.conflicts.applicant_declared_max
    for d in recs("declared_conflicts"):
        if d.application_id not in apps:
            cross("declared_conflicts", d, "application_id", "an application id present in the applications table")
            continue
        if d.expert_id not in experts:
            cross("declared_conflicts", d, "expert_id", "an expert id present in the expert pool")
            continue
        if d.kind == DeclarationKind.UNSUITABLE:
            unsuitable_count[d.application_id] = unsuitable_count.get(d.application_id, 0) + 1
            if unsuitable_count[d.application_id] > limit:
                cross("declared_conflicts", d, "application_id",
                      f"at most {limit} experts named unsuitable per application (policy conflicts.applicant_declared_max)")
                continue
        if d.kind == DeclarationKind.WAIVER and d.rule not in policy.conflicts.waivable_rules:
            cross("declared_conflicts", d, "rule",
                  f"a waivable rule: {', '.join(policy.conflicts.waivable_rules)} (policy conflicts.waivable_rules)")
            continue
        declarations.append(d)
    return RoundData(applications=applications, experts=expert_records,
                     declarations=tuple(declarations)), report


def load_round_from(path: str | Path, policy: Policy,
                    overrides: dict[str, Path | None] | None = None) -> tuple[RoundData, ImportReport]:
    sources: dict[str, Any] = dict(discover_sources(path))
    for k, v in (overrides or {}).items():
        if v is not None:
            sources[k] = (Path(v), None)
    return load_round(sources, policy)


# ---------------------------------------------------------------- templates

def write_template(path: str | Path, tables: Iterable[Table] | None = None) -> Path:
    """A blank workbook with the right headers, one sheet per table, and a sheet explaining columns."""
    path = Path(path)
    tables = list(tables or schema.TABLES.values())
    rows = []
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for t in tables:
            pd.DataFrame(columns=[c.zh for c in t.columns]).to_excel(xw, sheet_name=t.zh, index=False)
            for c in t.columns:
                rows.append({"表 table": f"{t.zh} {t.name}", "列 column": c.zh, "英文别名 alias": c.key,
                             "类型 type": c.type, "必填 required": "是" if c.required else "否", "说明 meaning": c.doc})
        pd.DataFrame(rows).to_excel(xw, sheet_name="说明", index=False)
    return path
