"""The demo tables as files: typed frames in the import schema, and the xlsx / csv writing.

Workbooks carry fixed timestamps and the csv copies are UTF-8 with BOM (``utf-8-sig``, so Excel
shows the Chinese correctly): the same tables always give the same bytes. Cells go through the
shared safe writers of `reviewer.exports` (formula-like text neutralised, NaN/inf empty).
"""
from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from reviewer.demo.centres import INDICATOR_COLUMNS, PAST_CENTRE_COLUMNS
from reviewer.demo.panels import PANEL_COLUMNS
from reviewer.demo.scores import SCORE_COLUMNS
from reviewer.exports import dumps_json, write_csv as write_safe_csv, write_frames_xlsx
from reviewer.intake import schema

# The round's input tables, in the order of the one-workbook file (round2026.xlsx).
INPUT_TABLES = (("applications", schema.APPLICATIONS), ("members", schema.MEMBERS), ("platforms", schema.PLATFORMS),
                ("experts", schema.EXPERTS), ("expert_history", schema.EXPERT_HISTORY),
                ("declared_conflicts", schema.DECLARED_CONFLICTS))
_FIXED_STAMP = "2026-11-01T00:00:00Z"


def schema_frame(rows: list[dict], table: schema.Table) -> pd.DataFrame:
    """Rows (dicts with the schema's keys; other keys ignored) as a frame typed by the schema."""
    cols = [c.key for c in table.columns]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols)
    for c in table.columns:
        if c.type in ("int",):
            df[c.key] = pd.array(df[c.key].tolist(), dtype="Int64")
        elif c.type == "money":
            df[c.key] = pd.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                                  for v in df[c.key]], dtype="Int64")
        elif c.type == "date":
            df[c.key] = pd.to_datetime(pd.Series(df[c.key], dtype=object), errors="raise").astype("datetime64[ns]")
        else:
            df[c.key] = df[c.key].astype(object).where(df[c.key].notna(), None)
    return df


def to_zh(df: pd.DataFrame, columns: Iterable[tuple[str, str]]) -> pd.DataFrame:
    cols = list(columns)
    return df[[k for k, _ in cols]].rename(columns=dict(cols))


def _schema_cols(table: schema.Table) -> list[tuple[str, str]]:
    return [(c.key, c.zh) for c in table.columns]


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One workbook, one sheet per frame: header row frozen, dates as yyyy-mm-dd, columns sized."""
    with pd.ExcelWriter(path, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xw:
        for sheet, df in write_frames_xlsx(xw, sheets).items():
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for j, col in enumerate(df.columns, start=1):
                if pd.api.types.is_datetime64_any_dtype(df[col]):
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = "yyyy-mm-dd"
            for j, col in enumerate(df.columns, start=1):
                sample = [str(v) for v in df[col].head(200).tolist() if v is not None and not pd.isna(v)]
                width = max([len(str(col)) * 2] + [min(60, len(s) * (2 if any(ord(ch) > 127 for ch in s) else 1))
                                                   for s in sample[:200]]) + 2
                ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(62, width)
    _normalise_xlsx(path)


def _normalise_xlsx(path: Path) -> None:
    """Make the workbook's bytes depend on its content only: fixed document timestamps and zip
    entry times (openpyxl stamps 'now'), so regenerating the demo leaves git clean."""
    with zipfile.ZipFile(path) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{_FIXED_STAMP}\g<3>", text)
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM, dates as YYYY-MM-DD, newline line ends."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    write_safe_csv(out, path, lineterminator="\n")


def write_input_csv(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """The six input tables as ``<folder>/<table>.csv`` (Chinese headers): a round the importer reads."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in INPUT_TABLES:
        paths.append(folder / f"{name}.csv")
        write_csv(to_zh(tables[name], _schema_cols(table)), paths[-1])
    return paths


def write_demo(tables: dict[str, pd.DataFrame], planted: dict, out_dir: str | Path) -> list[Path]:
    """Every demo file (see `reviewer.demo.generate`) into `out_dir`; returns the paths written."""
    out = Path(out_dir)
    (out / "csv").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    book: dict[str, pd.DataFrame] = {}
    for name, table in INPUT_TABLES:
        df = to_zh(tables[name], _schema_cols(table))
        write_xlsx(out / f"{name}.xlsx", {table.zh: df})
        write_csv(df, out / "csv" / f"{name}.csv")
        book[table.zh] = df
        written += [out / f"{name}.xlsx", out / "csv" / f"{name}.csv"]
    write_xlsx(out / "round2026.xlsx", book)
    panels = to_zh(tables["panels"], PANEL_COLUMNS)
    write_csv(panels, out / "demo_panels.csv")
    scores = to_zh(tables["scores"], SCORE_COLUMNS)
    write_csv(scores, out / "scores.csv")
    write_xlsx(out / "scores.xlsx", {"评分": scores})
    past = to_zh(tables["past_centres"], PAST_CENTRE_COLUMNS)
    ind = to_zh(tables["indicators"], INDICATOR_COLUMNS)
    write_xlsx(out / "past_centres.xlsx", {"试点中心": past})
    write_xlsx(out / "indicators.xlsx", {"年度指标": ind})
    write_csv(past, out / "csv" / "past_centres.csv")
    write_csv(ind, out / "csv" / "indicators.csv")
    (out / "planted.json").write_text(dumps_json(planted, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    written += [out / "round2026.xlsx", out / "demo_panels.csv", out / "scores.csv", out / "scores.xlsx",
                out / "past_centres.xlsx", out / "indicators.xlsx", out / "csv" / "past_centres.csv",
                out / "csv" / "indicators.csv", out / "planted.json"]
    return written
