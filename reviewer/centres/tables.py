"""File layouts of the centres' files (试点中心, 年度指标, 考核专家评分) and their validated loader.

`load_rows` reads a file into validated rows of a `Table`: every problem is an
:class:`reviewer.intake.io.ImportIssue` naming file, sheet, row, column, value and what was
expected; a bad row is rejected on its own and every good row still loads. The life cycle's
history file (:mod:`reviewer.centres.lifecycle`) loads through it too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from reviewer.evaluation_scheme import INDICATOR_VALUES, TARGETED
from reviewer.intake.io import CellError, ImportIssue, header_map, is_blank, normalise_header, parse_cell, read_raw
from reviewer.intake.schema import Column, Table

# ----------------------------------------------------------------------------- file layouts

RATE_KEYS = {"industrialised_rate", "target_industrialised_rate", "build_completion"}


def table_column(key: str, zh: str, typ: str, aliases: tuple[str, ...] = (), doc: str = "",
                 required: bool = False) -> Column:
    """A column of these layouts; type "rate" is a float ratio 0..1 (a percentage like 56% is accepted)."""
    return Column(key, zh, "float" if typ == "rate" else typ, required, aliases, doc)  # type: ignore[arg-type]


_col = table_column  # the layouts below

INDICATORS = Table(
    name="indicators", zh="年度指标", key=("centre_id", "year"), sheet_names=("年度指标", "indicators"),
    doc="One row per centre and evaluated year: indicators and the build targets declared at approval.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), "centre id, e.g. GXMIC-2022-01", required=True),
        _col("year", "年度", "int", ("evaluation_year",), "evaluated year", required=True),
        *(_col(k, zh, t, a, d) for k, zh, t, a, d in INDICATOR_VALUES),
        _col("build_completion", "建设任务完成率", "rate", (), "cumulative share of the build tasks done, 0..1"),
        *(_col(f"target_{k}", f"目标_{zh}", t, (f"目标{zh}",), f"declared annual target: {d}")
          for k, zh, t, _a, d in INDICATOR_VALUES if k in TARGETED),
        _col("evaluation_date", "评估日期", "date", (), "date of the evaluation (default: policy month-day of the year)"),
    ))

CENTRES = Table(
    name="past_centres", zh="试点中心", key=("centre_id",), sheet_names=("试点中心", "centres", "past_centres"),
    doc="One row per pilot centre.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), required=True),
        _col("name", "中心名称", "str", (), required=True),
        _col("field", "领域", "str", (), required=True),
        _col("city", "所在市", "str"),
        _col("lead_unit", "牵头单位", "str"),
        _col("lead_credit_code", "牵头单位统一社会信用代码", "credit_code", ("lead_code",)),
        _col("approval_year", "批复年度", "int"),
        _col("build_start", "建设期起始日期", "date", (), "start of the build period", required=True),
        _col("state", "状态", "str", (), "state as recorded (申报/试点/认定/撤销/国家级)"),
    ))

EXPERT_SCORES = Table(
    name="evaluation_expert_scores", zh="考核专家评分", key=("centre_id", "year", "part", "expert_id"),
    sheet_names=("考核专家评分", "expert_scores"),
    doc="Expert-judged parts of the evaluation: one row per centre, year, part and expert.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), required=True),
        _col("year", "年度", "int", (), required=True),
        _col("part", "考核项", "str", ("indicator", "评分项", "指标"), "part id or name of policy evaluation.indicators",
             required=True),
        _col("expert_id", "专家编号", "str", ("expert",), required=True),
        _col("score", "得分", "float", (), "points, 0..the part's max", required=True),
    ))

ZH = {c.key: c.zh for t in (INDICATORS, CENTRES, EXPERT_SCORES) for c in t.columns}


# ----------------------------------------------------------------------------- generic validated loader

@dataclass
class Loaded:
    """Rows that loaded (canonical keys plus ``row``, the Excel row number) and every issue."""
    table: str
    file: str
    sheet: str | None
    sha256: str
    n_rows: int
    frame: pd.DataFrame
    issues: list[ImportIssue] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)   # required columns absent: no row loads

    @property
    def n_rejected(self) -> int:
        if self.missing_columns:
            return self.n_rows
        return len({i.row for i in self.issues if i.severity == "error" and i.row is not None and i.row > 1})

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def summary(self) -> str:
        return (f"{self.table}: {self.file}{' [' + self.sheet + ']' if self.sheet else ''}: "
                f"{len(self.frame)} loaded, {self.n_rejected} rejected of {self.n_rows} rows")

    def input_record(self) -> dict[str, Any]:
        return {"table": self.table, "file": self.file, "sheet": self.sheet, "sha256": self.sha256,
                "rows": self.n_rows, "loaded": len(self.frame)}


RowCheck = Callable[[dict[str, Any]], list[tuple[str | None, Any, str]]]


def _parse_value(v: Any, c: Column) -> Any:
    if c.key in RATE_KEYS and isinstance(v, str) and v.strip().endswith(("%", "％")):
        try:
            x = float(v.strip()[:-1].replace(",", "")) / 100
        except ValueError:
            raise CellError("a ratio between 0 and 1, or a percentage like 56%") from None
    else:
        x = parse_cell(v, c)
    if x is None:
        return None
    if c.type in ("float", "money") and not math.isfinite(x):
        raise CellError("a finite number")
    if c.key in RATE_KEYS and not 0 <= x <= 1:
        raise CellError("a ratio between 0 and 1, or a percentage like 56%")
    if c.type in ("float",) and c.key != "score" and x < 0:
        raise CellError("a number >= 0")
    return x


def load_rows(path: str | Path, table: Table, *, required: Iterable[str] = (), check: RowCheck | None = None,
              sheet: str | None = None) -> Loaded:
    """Read `path` (.xlsx/.csv, Chinese or English headers) into validated rows of `table`.

    `required`: column keys needed beyond the table's own required columns.  `check(row)` returns
    extra (column key, value, expected) problems of a parsed row; any problem rejects the row.
    """
    path = Path(path)
    raw, sheet = read_raw(path, table, sheet)
    out = Loaded(table.zh + " " + table.name, str(path), sheet, hashlib.sha256(path.read_bytes()).hexdigest(), 0,
                 pd.DataFrame())
    add = lambda row, col, value, expected, sev="error": out.issues.append(  # noqa: E731
        ImportIssue(str(path), sheet, row, col, value, expected, sev))
    hmap = header_map(table)
    colmap: dict[Any, Column] = {}
    seen: dict[str, str] = {}
    for h in raw.columns:
        if str(h).startswith("Unnamed:"):
            if not raw[h].map(is_blank).all():
                add(1, f"(column {list(raw.columns).index(h) + 1})", None, "a header for every column that holds data")
            continue
        n = normalise_header(h)
        if n in {"备注", "remarks", "remark", "notes", "序号", "no", "no."}:
            continue
        c = hmap.get(n)
        if c is None:
            add(1, str(h), None, f"a known {table.zh} header (this column was ignored)", "warning")
            continue
        if c.key in seen:
            add(1, str(h), None, f"one column for {c.zh}; it already appears as {seen[c.key]!r} (ignored)", "warning")
            continue
        colmap[h] = c
        seen[c.key] = str(h)
    need = [c for c in table.columns if (c.required or c.key in set(required))]
    missing = [c for c in need if c.key not in seen]
    blank = raw.apply(lambda r: all(is_blank(x) for x in r), axis=1) if len(raw.columns) else pd.Series([], dtype=bool)
    out.n_rows = int((~blank).sum()) if len(blank) else 0
    out.missing_columns = [c.zh for c in missing]
    for c in missing:
        add(1, c.zh, None, f"a column {c.zh} ({c.key}); it is missing, so none of the {out.n_rows} rows can load")
    rows: list[dict[str, Any]] = []
    first: dict[tuple, int] = {}
    for i, (_, r) in enumerate(raw.iterrows()):
        if len(blank) and blank.iloc[i]:
            continue
        rowno = i + 2
        values: dict[str, Any] = {"row": rowno}
        bad = False
        for h, c in colmap.items():
            try:
                values[c.key] = _parse_value(r[h], c)
            except CellError as e:
                add(rowno, str(h), r[h], f"{e} ({c.zh})")
                bad = True
                continue
            if values[c.key] is None and (c.required or c.key in set(required)):
                add(rowno, str(h), None, f"a value: {c.zh} is required")
                bad = True
        if missing or bad:
            continue
        if check is not None:
            problems = check(values)
            for key, value, expected in problems:
                add(rowno, seen.get(key, ZH.get(key, key)) if key else None, value, expected)
            if problems:
                continue
        if table.key:
            k = tuple(values.get(c) for c in table.key)
            if k in first:
                add(rowno, seen.get(table.key[-1]), " / ".join(map(str, k)),
                    f"a unique {'+'.join(table.column(c).zh for c in table.key)}; row {first[k]} has the same "
                    "(this row was rejected)")
                continue
            first[k] = rowno
        rows.append(values)
    cols = ["row", *[c.key for c in table.columns]]
    out.frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    return out



def as_date(v: Any) -> dt.date | None:
    """A date cell as a `datetime.date` (None for blanks)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    return v
