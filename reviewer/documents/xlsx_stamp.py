"""Many small workbooks of one shape, fast: the expert packs of a stage are ~200 notice workbooks and ~200
score sheets that differ only in their texts (names, ids, titles) — building and saving each with openpyxl
cost ~40 ms an expert, 8 s for the demo's 认定评审 packs.

A `Stamp` is a workbook written ONCE by the program's own writer (`reviewer.exports.write_xlsx`,
`reviewer.scoring.scoresheets.write_score_sheet`) with marker texts in place of the values (and sentinel
numbers for integer cells); each copy replaces the markers with the real values in the worksheets' XML and
zips the parts again. The copy is what the writer would have written with the real values (tests compare
the two cell by cell): each text cell holding a marker becomes `fit_cell(safe_value(text))` of the text with
the real values — the same functions, in the same order, as the writer applies to a cell — escaped and
spaced as openpyxl writes an inline string; an empty result is an empty cell as openpyxl writes it.
Column widths that depend on the values (`write_xlsx`) are computed again with `exports.fit_width`.

Anything the stamp cannot copy faithfully (a value that is not text, a value holding a marker character, a
template text that the writer had to change) raises `StampMiss`; the callers then use the writer itself.
"""
from __future__ import annotations

import html
import io
import math
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import load_workbook

from reviewer.exports import fit_cell, fit_width, is_missing, safe_value, write_xlsx
from reviewer.policy import Policy
from reviewer.scoring.scoresheets import META, SIGNATURE, issued_now, sheet_signature, write_score_sheet

OPEN, CLOSE = "\ue000", "\ue001"          # private-use characters: no input text holds them (checked)
_OPEN_REF, _CLOSE_REF = f"&#{ord(OPEN)};", f"&#{ord(CLOSE)};"
_NODE = re.compile(r'<is><t( xml:space="preserve")?>([^<]*)</t></is>')
_MARK = re.compile(f"{OPEN}([0-9]+){CLOSE}")
_COLS = re.compile(r"<cols>.*?</cols>", re.S)
SENTINEL = 7_300_000_000_000             # integer cells of a template: SENTINEL + k (no real value is that big)
_SENTINEL_V = re.compile(r"<v>(73[0-9]{11})</v>")


class StampMiss(Exception):
    """The values cannot be copied into this stamp faithfully: write the workbook with its writer."""


def mark(k: int) -> str:
    return f"{OPEN}{k:05d}{CLOSE}"


def _escape(text: str) -> str:
    """Text of an XML node as openpyxl (lxml, ASCII output) writes it: &, <, > escaped, every non-ASCII
    character as a decimal character reference."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .encode("ascii", "xmlcharrefreplace").decode("ascii")


def _node(text: str | None) -> str:
    """The inline string of a cell as openpyxl's lxml_write_cell writes it: nothing for an empty cell."""
    if text is None or text == "":
        return ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{_escape(text)}</t></is>"


def check_text(v: Any) -> str:
    """A real value for a text slot: text without the marker characters (else StampMiss)."""
    if not isinstance(v, str) or OPEN in v or CLOSE in v:
        raise StampMiss(repr(v)[:40])
    return v


class Stamp:
    """The parts of a template workbook; `fill` makes a copy with real values."""

    def __init__(self, xlsx: bytes):
        z = zipfile.ZipFile(io.BytesIO(xlsx))
        self.parts: list[tuple[str, bytes | str]] = []
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                text = data.decode("utf-8")
                for m in _NODE.finditer(text):
                    # a template text the writer changed (the "'" it puts before a formula-like text) would
                    # be changed twice in a copy: such a template cannot be stamped
                    if _OPEN_REF in m.group(2) and m.group(2).startswith("'"):
                        raise StampMiss("template text changed by the writer")
                self.parts.append((info.filename, text))
            else:
                self.parts.append((info.filename, data))

    def fill(self, texts: dict[int, Any], ints: dict[int, int] | None = None,
             widths: dict[str, list[int]] | None = None, literals: dict[str, str] | None = None) -> bytes:
        """The workbook with marker k's text replaced by `texts[k]` (None or NaN: an empty text, as pandas
        writes it), sentinel integer SENTINEL + k by `ints[k]`, the <cols> of worksheet part `p` by
        `widths[p]` (one width a column, from column 1) and each ASCII text `literals` names by its value."""

        def node(m: re.Match) -> str:
            if _OPEN_REF not in m.group(2):
                return m.group(0)
            raw = html.unescape(m.group(2))
            val = _MARK.sub(lambda k: _text(texts[int(k.group(1))]), raw)
            return _node(fit_cell(safe_value(val)))

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            for name, data in self.parts:
                if isinstance(data, str):
                    out = _NODE.sub(node, data)
                    if ints:
                        out = _SENTINEL_V.sub(lambda m: f"<v>{ints[int(m.group(1)) - SENTINEL]}</v>"
                                     if int(m.group(1)) - SENTINEL in ints else m.group(0), out)
                    for old, new in (literals or {}).items():
                        out = out.replace(old, new)
                    if widths and name in widths:
                        cols = "".join(f'<col width="{w}" customWidth="1" min="{i}" max="{i}"/>'
                                       for i, w in enumerate(widths[name], start=1))
                        out = _COLS.sub(f"<cols>{cols}</cols>", out, count=1)
                    z.writestr(name, out.encode("utf-8"))
                else:
                    z.writestr(name, data)
        return buf.getvalue()


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v


# ---------------------------------------------------------------- tables (write_xlsx)

def _kind(dtype) -> str:
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return "int"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "text"
    raise StampMiss(f"column of type {dtype}")


def _shape(sheets: dict[str, pd.DataFrame]) -> tuple:
    return tuple((name, tuple(map(str, df.columns)), tuple(_kind(t) for t in df.dtypes), len(df))
                 for name, df in sheets.items())


class TableStamps:
    """`write_xlsx` for many workbooks of the same few shapes (sheet names, columns, column types, rows)."""

    def __init__(self) -> None:
        self.stamps: dict[tuple, tuple[Stamp, dict[str, str]]] = {}

    def _stamp(self, sheets: dict[str, pd.DataFrame], shape: tuple) -> tuple[Stamp, dict[str, str]]:
        got = self.stamps.get(shape)
        if got is not None:
            return got
        k, marked = 0, {}
        for name, df in sheets.items():
            cols = {}
            for j, dtype in enumerate(df.dtypes):
                if _kind(dtype) == "int":
                    cols[j] = [SENTINEL + k + i for i in range(len(df))]
                else:
                    cols[j] = [mark(k + i) for i in range(len(df))]
                k += len(df)
            t = pd.DataFrame({j: v for j, v in cols.items()}, index=range(len(df)))
            t.columns = df.columns
            marked[name] = t
        with tempfile.TemporaryDirectory() as tmp:
            stamp = Stamp(write_xlsx(marked, Path(tmp) / "t.xlsx").read_bytes())
        # the worksheet part of each sheet, in order (openpyxl names them sheet1.xml, sheet2.xml ...)
        parts = {name: f"xl/worksheets/sheet{i}.xml" for i, name in enumerate(sheets, start=1)}
        self.stamps[shape] = (stamp, parts)
        return stamp, parts

    def bytes(self, sheets: dict[str, pd.DataFrame]) -> bytes:
        """What `write_xlsx(sheets, path)` writes into `path` (StampMiss when a value cannot be stamped)."""
        if any(len(name) > 31 for name in sheets):
            raise StampMiss("long sheet name")
        shape = _shape(sheets)
        stamp, parts = self._stamp(sheets, shape)
        texts, ints, widths, k = {}, {}, {}, 0
        for (name, df), (_, _, kinds, _) in zip(sheets.items(), shape):
            col_widths = []
            # by position (a header may repeat); plain lists, not pandas per cell
            by_col = list(zip(*df.itertuples(index=False, name=None))) if len(df) else [()] * df.shape[1]
            for j, kind in enumerate(kinds):
                values = list(by_col[j])
                if kind == "int":
                    for i, v in enumerate(values):
                        ints[k + i] = int(v)
                    shown = [str(int(v)) for v in values[:200]]
                else:
                    shown = []
                    for i, v in enumerate(values):
                        if is_missing(v):
                            texts[k + i] = None
                            if i < 200:
                                shown.append("None")
                            continue
                        texts[k + i] = check_text(v)
                        if i < 200:
                            shown.append(str(fit_cell(safe_value(v))))
                header = df.columns[j]
                col_widths.append(fit_width(str(safe_value(header) if isinstance(header, str) else header), shown))
                k += len(df)
            widths[parts[name]] = col_widths
        return stamp.fill(texts, ints, widths)


# ---------------------------------------------------------------- score sheets (write_score_sheet)

class ScoreSheetStamps:
    """`write_score_sheet` of one stage of one round for many experts: a stamp per number of applications.
    Expert id and name, the applications' ids, names and fields and the issue time are marker texts; the
    signature of `_meta` (over the real values) replaces the template's."""

    def __init__(self, policy: Policy, stage: str, *, sheet_key: bytes | None, round_code: str):
        self.policy, self.stage, self.sheet_key, self.round_code = policy, stage, sheet_key, round_code
        self.stamps: dict[int, tuple[Stamp, dict[str, str]]] = {}

    def _stamp(self, n: int) -> tuple[Stamp, dict[str, str]]:
        got = self.stamps.get(n)
        if got is not None:
            return got
        apps = pd.DataFrame({"application_id": [mark(3 + 3 * i) for i in range(n)],
                             "name": [mark(4 + 3 * i) for i in range(n)],
                             "field": [mark(5 + 3 * i) for i in range(n)]})
        with tempfile.TemporaryDirectory() as tmp:
            data = write_score_sheet(Path(tmp) / "t.xlsx", self.policy, mark(0), mark(1), self.stage, apps,
                                     sheet_key=self.sheet_key, round_code=self.round_code,
                                     issued_utc=mark(2)).read_bytes()
        meta = {str(r[0]): ("" if r[1] is None else str(r[1]))
                for r in load_workbook(io.BytesIO(data), read_only=True)[META].iter_rows(values_only=True) if r[0]}
        self.stamps[n] = (Stamp(data), meta)
        return self.stamps[n]

    def bytes(self, expert_id: str, expert_name: str, applications: list[tuple[str, str, str]],
              issued_utc: str | None = None) -> bytes:
        """What `write_score_sheet` writes for this expert and (application id, name, field) rows, in
        application order (StampMiss when a value cannot be stamped)."""
        ids = [check_text(a) for a, _, _ in applications]
        if ids != sorted(ids):          # `_meta` lists them sorted, the template in marker order
            raise StampMiss("applications not in order")
        texts = {0: check_text(expert_id), 1: check_text(expert_name), 2: issued_utc or issued_now()}
        for i, (a, name, field_) in enumerate(applications):
            texts[3 + 3 * i], texts[4 + 3 * i], texts[5 + 3 * i] = a, check_text(name), check_text(field_)
        stamp, meta = self._stamp(len(applications))
        literals = {}
        if self.sheet_key is not None and meta.get(SIGNATURE):
            real = {k: _MARK.sub(lambda m: texts[int(m.group(1))], v) for k, v in meta.items() if k != SIGNATURE}
            literals[meta[SIGNATURE]] = sheet_signature(self.sheet_key, real)
        return stamp.fill(texts, literals=literals)
