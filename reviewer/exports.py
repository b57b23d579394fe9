"""Writing files for people and machines, safely: result tables (CSV for machines, XLSX for people),
the run record of each run, and strict JSON.

Every writer of .csv / .xlsx / .json in the program goes through this module:

- **Formula injection** (OWASP "CSV injection"): a text cell that begins with ``=``, ``+``, ``-``, ``@``,
  tab or carriage return would be run as a formula by a spreadsheet. `safe_text` prefixes such text
  with ``'`` (the text stays readable); plain numbers written as text (``-1.5``) are left alone, and
  real numbers stay numbers. In workbooks every text cell is typed as text (``data_type 's'``), so it
  is never parsed as a formula. A formula the program itself writes on purpose is an explicit
  `Formula`, written only through `put`; no text from input can become one.
- **Numbers stay numbers**: NaN, NaT, pd.NA and ±inf are written as empty cells, never as text.
- **Strict JSON**: `dumps_json` / `write_json` turn NaN and ±inf into null and refuse anything else a
  strict parser would reject (``allow_nan=False``).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import platform
import re
import time
import weakref
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from reviewer import __version__
from reviewer.errors import UserError

DANGEROUS_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9][0-9,]*(\.[0-9]+)?")
# Cells of each worksheet that hold a program formula (written by `put` with a `Formula`).
_PROGRAM_FORMULAS: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


class Formula(str):
    """A spreadsheet formula the program writes on purpose (e.g. the score sheet's sums). The one way to
    write a live formula (through `put`); it is never made from input text."""

    def __new__(cls, text: str) -> "Formula":
        if not str(text).startswith("="):
            raise ValueError(f"a formula starts with '=': {text!r}")
        return super().__new__(cls, text)


def safe_text(text: str) -> str:
    """`text` as a spreadsheet shows it, never run: prefixed with ``'`` when it begins with ``=``, ``+``,
    ``-``, ``@``, tab or CR (OWASP "CSV injection"), unless it is a plain number such as ``-1.5``;
    CR and CRLF line breaks inside become LF."""
    if text[:1] in DANGEROUS_LEADS and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    # A bare CR is not quoted by the CSV writer, and a reader takes it as a new row (whose first
    # field could then begin with '='): line breaks inside text are written as LF, which is quoted.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA and ±inf: what a file shows as an empty cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def safe_value(value: Any) -> Any:
    """One cell for a file: missing (NaN, NaT, ±inf, None) → None; text → `safe_text`; numpy scalars →
    Python numbers; everything else as it is. A `Formula` is refused here: only `put` writes one."""
    if isinstance(value, Formula):
        raise TypeError("a Formula is written with exports.put only")
    if is_missing(value):
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def date_text(values: pd.Series) -> pd.Series:
    """Dates as ISO text (2026-11-01) for a table; a missing date stays missing (never "NaT"/"None")."""
    def one(v: Any) -> str | None:
        if is_missing(v):
            return None
        return v.date().isoformat() if isinstance(v, pd.Timestamp) else (
            v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v))
    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` safe to write: headers and text cells through `safe_text`, ±inf and NaN-likes as
    missing in every column; numeric columns keep their numeric type."""
    out = df.copy()
    out.columns = [safe_text(c) if isinstance(c, str) else c for c in out.columns]
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        if pd.api.types.is_float_dtype(col):
            out.isetitem(j, col.replace([np.inf, -np.inf], np.nan))
        elif not pd.api.types.is_numeric_dtype(col):
            out.isetitem(j, pd.Series([safe_value(v) for v in col.astype(object)], index=col.index, dtype=object))
    return out


def seal(ws) -> None:
    """Type every text cell of worksheet `ws` as text (``data_type 's'``) so a reader never parses it as a
    formula or an error code; cells holding a program formula (`put` with a `Formula`) stay formulas."""
    formulas = _PROGRAM_FORMULAS.get(ws, set())
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.coordinate not in formulas:
                cell.data_type = "s"


def put(ws, row: int, column: int, value: Any):
    """Write one cell of an openpyxl worksheet safely and return it: a `Formula` as a live formula (and
    remembered, so `seal` keeps it), anything else through `safe_value`, text typed as text."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, Formula):
        cell.value = str(value)
        _PROGRAM_FORMULAS.setdefault(ws, set()).add(cell.coordinate)
        return cell
    cell.value = safe_value(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def put_row(ws, values: Iterable[Any]) -> int:
    """Append one row below the last used row through `put`; returns its row number."""
    r = ws.max_row + 1 if ws.max_row > 1 or ws.cell(1, 1).value is not None else 1
    for j, v in enumerate(values, start=1):
        if v is not None:
            put(ws, r, j, v)
    return r


def _fit_columns(ws, df: pd.DataFrame) -> None:
    """Column widths that fit Chinese text (a CJK character is about two Latin ones wide)."""
    for i, col in enumerate(df.columns, start=1):
        values = [str(col)] + [str(v) for v in df[col].head(200).tolist()]
        width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in values)
        ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 60)
    ws.freeze_panes = "A2"
    # Printed by staff: landscape A4, all columns on one page width, the header row on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def write_frames_xlsx(xw: pd.ExcelWriter, sheets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Write each frame (made safe by `safe_frame`) on its sheet of an open openpyxl ExcelWriter and
    `seal` it; returns the safe frames by sheet name (sheet names cut to Excel's 31 characters)."""
    written = {}
    for name, df in sheets.items():
        sheet = name[:31]
        safe = safe_frame(df)
        safe.to_excel(xw, sheet_name=sheet, index=False)
        seal(xw.sheets[sheet])
        written[sheet] = safe
    return written


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """A workbook for people, one sheet per frame, every cell safe (see the module)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for sheet, safe in write_frames_xlsx(xw, sheets).items():
                _fit_columns(xw.sheets[sheet], safe)
    except PermissionError:
        raise UserError(f"{path}: cannot write (is it open in Excel?) / 无法写入（文件是否在 Excel 中打开？）") from None
    return path


def csv_text(df: pd.DataFrame, **to_csv: Any) -> str:
    """`df` as CSV text, every field safe (see the module); missing values are empty fields."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=False, **to_csv)
    return buf.getvalue()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """`df` as a CSV download: UTF-8 with BOM (so Excel shows Chinese), every field safe."""
    return csv_text(df).encode("utf-8-sig")


def write_csv(df: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write `df` as CSV, UTF-8 with BOM so Excel shows Chinese, every field safe (see the module)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        safe_frame(df).to_csv(path, index=False, encoding="utf-8-sig", **to_csv)
    except PermissionError:
        raise UserError(f"{path}: cannot write (is it open in Excel?) / 无法写入（文件是否在 Excel 中打开？）") from None
    return path


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str, sheet: str | None = None) -> list[Path]:
    """Write `df` as OUT/stem.csv (UTF-8 with BOM so Excel shows Chinese) and OUT/stem.xlsx."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_csv(df, out / f"{stem}.csv"), write_xlsx({sheet or stem: df}, out / f"{stem}.xlsx")]


def json_ready(value: Any) -> Any:
    """`value` with JSON's own types only: NaN, ±inf, NaT and pd.NA → None, numpy scalars → Python
    numbers, tuples and sets → lists, mapping keys → text, anything else unknown → its text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if is_missing(value):
        return None
    return str(value)


def dumps_json(obj: Any, **kwargs: Any) -> str:
    """Strict JSON text (RFC 8259: no NaN / Infinity) of `obj` through `json_ready`; Chinese kept as is."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(json_ready(obj), allow_nan=False, **kwargs)


def write_json(obj: Any, path: str | Path, indent: int | None = 2, **kwargs: Any) -> Path:
    """Write `obj` as strict JSON (`dumps_json`), UTF-8."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_json(obj, indent=indent, **kwargs), encoding="utf-8")
    return path


def run_record(kind: str, inputs: list[dict[str, Any]], policy, parameters: dict[str, Any],
               started: float, status: str = "ok", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What makes a run reproducible and auditable: inputs' hashes, policy hash, parameters, seed, time."""
    return {
        "kind": kind,
        "status": status,
        "started_at": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "wall_seconds": round(time.time() - started, 3),
        "software": {"mic-reviewer": __version__, "python": platform.python_version()},
        "policy": {"file": policy.source, "sha256": policy.sha256, "as_of": policy.as_of_date().isoformat()},
        "parameters": parameters,
        "inputs": inputs,
        **(extra or {}),
    }


def write_run_record(record: dict[str, Any], out_dir: str | Path, name: str | None = None) -> Path:
    """The run record as strict JSON (NaN and ±inf are null): OUT/run_<kind>.json or OUT/name."""
    return write_json(record, Path(out_dir) / (name or f"run_{record['kind']}.json"))
