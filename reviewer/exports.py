"""Writing result tables (CSV for machines, XLSX for people) and the run record of each run."""
from __future__ import annotations

import datetime as dt
import json
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from reviewer import __version__
from reviewer.errors import UserError


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


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in sheets.items():
                sheet = name[:31]
                df.to_excel(xw, sheet_name=sheet, index=False)
                _fit_columns(xw.sheets[sheet], df)
    except PermissionError:
        raise UserError(f"{path}: cannot write (is it open in Excel?)") from None
    return path


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str, sheet: str | None = None) -> list[Path]:
    """Write `df` as OUT/stem.csv (UTF-8 with BOM so Excel shows Chinese) and OUT/stem.xlsx."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{stem}.csv"
    try:
        df.to_csv(csv, index=False, encoding="utf-8-sig")
    except PermissionError:
        raise UserError(f"{csv}: cannot write (is it open in Excel?)") from None
    return [csv, write_xlsx({sheet or stem: df}, out / f"{stem}.xlsx")]


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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = out / (name or f"run_{record['kind']}.json")
    p.write_text(json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return p
