"""One cell of an input table: parsing it to its column's type, within the column's sane domain
(`reviewer.intake.schema`: ID_CHARS, MAX_LOAD ...), without control characters; and how a rejected
value is shown in a message (`shown_value`). `reviewer.intake.io` re-exports every name.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from reviewer.intake.schema import Column

_EMPTY = {"", "nan", "none", "null", "n/a", "na", "-", "—", "无数据"}
_TRUE = {"是", "y", "yes", "true", "1", "√", "有"}
_FALSE = {"否", "n", "no", "false", "0", "×", "无"}


def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NaT:
        return True
    return isinstance(v, str) and v.strip().lower() in _EMPTY


# Characters that are never data in a cell and only hide or disguise it: C0 controls other than tab
# and line breaks, DEL and the C1 controls; zero-width space, byte order mark and the bidirectional
# overrides (U+202E makes "评分表_\u202exslx.exe" display as an .xlsx file name).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e"
                                "\u2066-\u2069\ufeff]")
# Beyond these a value is a typing error, not data (a float would even turn a huge amount into inf).
MAX_MONEY = Decimal(10) ** 15
MAX_COUNT = 10**9


class CellError(ValueError):
    """A cell whose value cannot be data (the message says what was expected)."""


def _parse_number(v: Any, what: str) -> Decimal:
    if isinstance(v, bool):
        raise CellError(what)
    if isinstance(v, (int, float)):
        return Decimal(str(v))
    s = unicodedata.normalize("NFKC", str(v)).strip().replace(",", "").replace(" ", "")
    mult = Decimal(1)
    for suffix, m in (("亿元", 10**8), ("亿", 10**8), ("万元", 10**4), ("万", 10**4), ("元", 1)):
        if s.endswith(suffix):
            s, mult = s[: -len(suffix)], Decimal(m)
            break
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise CellError(what) from None
    if not d.is_finite():
        raise CellError(what)
    return d * mult


def _within_length(s: str, col: Column) -> str:
    """`s` unless it is longer than the column's limit (schema: ID_CHARS, PERSON_CHARS ...)."""
    if len(s) > col.max_chars:
        raise CellError(f"text of at most {col.max_chars} characters (this one has {len(s):,})")
    return s


def parse_cell(v: Any, col: Column) -> Any:
    """Parse one cell to the column's type; raise CellError(expected) when it cannot."""
    if is_blank(v):
        return None
    t = col.type
    if t in ("str", "credit_code"):
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # an id typed as a number in Excel
        s = unicodedata.normalize("NFKC", str(v)).strip() if t == "credit_code" else str(v).strip()
        s = _within_length(CONTROL_CHARACTERS.sub("", s).strip(), col)   # a terminal escape or NUL is never data
        if not s:
            return None   # only control characters: as blank
        return s.upper() if t == "credit_code" else s
    if t == "money":
        d = _parse_number(v, "an amount in yuan (a number, e.g. 120000000, 1.2亿 or 12000万)")
        if d < 0:
            raise CellError("a non-negative amount in yuan")
        if d > MAX_MONEY:
            raise CellError(f"an amount in yuan of at most {MAX_MONEY:.0e} (1000万亿)")
        return float(d)
    if t == "float":
        return float(_parse_number(v, "a number"))
    if t == "int":
        d = _parse_number(v, "a whole number")
        if d != d.to_integral_value():
            raise CellError("a whole number")
        if d < 0:
            raise CellError("a whole number >= 0")
        top = col.max_value if col.max_value is not None else MAX_COUNT
        if d > top:
            raise CellError(f"a whole number of at most {top:,}")
        return int(d)
    if t == "bool":
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise CellError("是 or 否 (yes/no)")
    if t == "date":
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        if isinstance(v, pd.Timestamp):
            return v.date()
        s = unicodedata.normalize("NFKC", str(v)).strip()
        m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s+00:00(?::00)?)?", s)
        if not m:
            raise CellError("a date like 2024-03-31")
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise CellError("a real calendar date like 2024-03-31") from None
    if t == "list":
        parts = re.split(r"[;；、,，/|]+", _within_length(CONTROL_CHARACTERS.sub("", str(v)), col))
        return tuple(p.strip() for p in parts if p.strip())
    raise AssertionError(f"unknown column type {t}")


SHOWN_CHARS = 80   # of a rejected value in a message: enough to find it, never a pasted page


def shown_value(value: Any) -> Any:
    """A rejected cell's value as messages show it: a number or date as it is; text without control
    characters, cut to SHOWN_CHARS characters with its length when longer."""
    if not isinstance(value, str) and len(str(value)) <= SHOWN_CHARS:
        return value
    s = CONTROL_CHARACTERS.sub("\N{REPLACEMENT CHARACTER}", str(value))
    return s if len(s) <= SHOWN_CHARS else f"{s[:SHOWN_CHARS]}… ({len(s):,} characters)"
