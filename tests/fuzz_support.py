"""A seeded generator of hostile variants of the demo input tables, and the scanners that check what
the program wrote (issue 12, hostile input). Used by tests/test_fuzz_inputs.py.

Every variant starts from a small, valid slice of the demo round (10 applications, 120 experts) so a
few hundred variants of each table run in seconds; the mutations are those a hostile or careless
submitter produces: control characters, formula-like text, absurd numbers, wrong types, empty and
very long cells, duplicated ids and rows, duplicated or garbage headers, headers-only and empty
files, byte order marks and GBK encoding, workbooks instead of CSV.
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from reviewer.intake.schema import TABLES

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"
MARK = "FUZZ"   # every hostile text holds it: a live formula holding it came from the input

HOSTILE_TEXT = [
    f'=HYPERLINK("http://evil.example/?{MARK}","点击")', f"+{MARK}+1", f"-2+{MARK}", f"@SUM({MARK})",
    f"=cmd|' /C calc'!{MARK}", f"\t={MARK}", f"{MARK}\x07bell", f"\x1b[31m{MARK}", f"{MARK}\x00nul",
    f"\u202e{MARK}xslx.exe", f"\ufeff{MARK}", f"{MARK}\u200b", f"{MARK}\r\n=1+1", f"{MARK}\x85c1",
    "长" * 6000, "x" * 100_001, "   ", "", "\x07", "nan", "None", "#N/A", "是", "2024-13-45", "ＧＸ２０２６",
]
HOSTILE_NUMBERS = [
    "1e400", "9" * 400, "inf", "-inf", "Infinity", "NaN", "-5", "-0.5", "1e30", "99999999999999999999999999999",
    "1.5e", "0x10", "１２３", "12,3,4", "1e-400", "0", "-0", "3.7", "1亿", "TRUE", "2e9",
]
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A CSV or sheet cell a spreadsheet program would run: = + - @ tab CR first, unless a plain number.
LIVE_LEADS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _rows_of(df: pd.DataFrame, column: str, keep: set[str]) -> pd.DataFrame:
    return df[df[column].isin(keep)].reset_index(drop=True)


def base_tables(n_experts: int = 120) -> dict[str, pd.DataFrame]:
    """A small valid round from the demo CSVs: 10 applications with their members and platforms,
    the first `n_experts` experts with their history, the declarations among them."""
    d = DEMO / "csv"
    apps = read_csv(d / "applications.csv").head(10)
    ids = set(apps["申报编号"])
    decl = _rows_of(read_csv(d / "declared_conflicts.csv"), "申报编号", ids)
    all_experts = read_csv(d / "experts.csv")
    experts = all_experts[(all_experts.index < n_experts) | all_experts["专家编号"].isin(decl["专家编号"])]
    experts = experts.reset_index(drop=True)
    eids = set(experts["专家编号"])
    return {
        "applications": apps,
        "members": _rows_of(read_csv(d / "members.csv"), "申报编号", ids),
        "platforms": _rows_of(read_csv(d / "platforms.csv"), "申报编号", ids),
        "experts": experts,
        "expert_history": _rows_of(read_csv(d / "expert_history.csv"), "专家编号", eids).head(40),
        "declared_conflicts": _rows_of(decl, "专家编号", eids),
    }


def base_scores(n: int = 150) -> pd.DataFrame:
    s = pd.read_csv(DEMO / "scores.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return s.head(n).reset_index(drop=True)


def excel_escaped(x):
    """A value as a worksheet can hold it: C0 control characters as Excel writes them (_x0007_)."""
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", x) if isinstance(x, str) else x


@dataclass
class Variant:
    """One hostile copy of a table and what was done to it (rows are 0-based data rows)."""
    frame: pd.DataFrame
    what: str
    cell: tuple[int, str, str] | None = None          # (row, header, value) of a mutated cell
    appended: list[int] = field(default_factory=list)  # rows added as copies of an existing row
    headers_renamed: dict[str, str] = field(default_factory=dict)
    fmt: str = "csv-utf8-sig"

    def write(self, path_stem: Path) -> Path:
        """Write the variant as CSV (UTF-8 with or without BOM, or GB18030 when it can be) or XLSX."""
        df = self.frame
        if self.fmt == "xlsx":
            p = path_stem.with_suffix(".xlsx")
            # the attacker's workbook, formulas included; a worksheet cannot hold C0 controls, so they
            # are written as Excel escapes them (_x0007_)
            with warnings.catch_warnings():   # a 100,000-character cell is cut to Excel's 32,767: on purpose
                warnings.simplefilter("ignore", UserWarning)
                df.rename(columns=excel_escaped).map(excel_escaped).to_excel(p, index=False, engine="openpyxl")
            return p
        p = path_stem.with_suffix(".csv")
        enc = {"csv-utf8-sig": "utf-8-sig", "csv-utf8": "utf-8", "csv-gbk": "gb18030"}[self.fmt]
        try:
            p.write_bytes(df.to_csv(index=False).encode(enc))
        except UnicodeEncodeError:
            p.write_bytes(df.to_csv(index=False).encode("utf-8-sig"))
        return p


def mutate(base: pd.DataFrame, rng: random.Random, numeric_headers: set[str]) -> Variant:
    """One variant: mostly one hostile cell; sometimes a row or table mutation."""
    df = base.copy()
    fmt = rng.choices(["csv-utf8-sig", "csv-utf8", "csv-gbk", "xlsx"], weights=[5, 2, 2, 1])[0]
    roll = rng.random()
    r = rng.randrange(len(df))
    c = rng.choice(list(df.columns))
    if roll < 0.70:
        pool = HOSTILE_NUMBERS if (c in numeric_headers and rng.random() < 0.7) else HOSTILE_TEXT + HOSTILE_NUMBERS
        v = rng.choice(pool)
        if v == "ＧＸ２０２６":
            v = str(df.iat[(r + 1) % len(df), 0])     # another row's id: a duplicated id
        df.iat[r, df.columns.get_loc(c)] = v
        return Variant(df, f"cell row {r + 2} {c!r} = {v[:40]!r}", cell=(r, c, v), fmt=fmt)
    if roll < 0.78:
        df = pd.concat([df, df.iloc[[r]]], ignore_index=True)
        return Variant(df, f"row {r + 2} duplicated as row {len(df) + 1}", appended=[len(df) - 1], fmt=fmt)
    if roll < 0.83:
        return Variant(df.iloc[0:0], "headers only", fmt=fmt)
    if roll < 0.88:
        bad = rng.choice([f"={MARK}\x07", f"\ufeff{c}", f"{c}\u202e", ""])
        df = df.rename(columns={c: bad or "Unnamed: 99"})
        return Variant(df, f"header {c!r} -> {bad!r}", headers_renamed={c: bad}, fmt=fmt)
    if roll < 0.93:
        dup = df[c].map(lambda x: f"{MARK}{x}")
        df.insert(len(df.columns), f"{c} ", dup, allow_duplicates=True)
        return Variant(df, f"header {c!r} twice", fmt=fmt)
    df[c] = ""
    return Variant(df, f"column {c!r} blank", fmt=fmt)


# ---------------------------------------------------------------- scanning what was written

@dataclass
class Finding:
    path: Path
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path} {self.where}: {self.problem}"


def live_text(s: str) -> bool:
    return s[:1] in LIVE_LEADS and not PLAIN_NUMBER.fullmatch(s)


def scan_xlsx(path: Path) -> list[Finding]:
    out = []
    wb = load_workbook(path)
    for ws in wb.worksheets:
        if CONTROL.search(ws.title):
            out.append(Finding(path, ws.title, "control character in a sheet name"))
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if v is None:
                    continue
                if cell.data_type == "f" and MARK in str(v):
                    out.append(Finding(path, f"{ws.title}!{cell.coordinate}", f"live formula from the input {v!r:.80}"))
                if isinstance(v, str) and CONTROL.search(v):
                    out.append(Finding(path, f"{ws.title}!{cell.coordinate}", f"control character in {v!r:.80}"))
    return out


def scan_csv(path: Path) -> list[Finding]:
    text = path.read_bytes().decode("utf-8-sig")
    out = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        for j, v in enumerate(row):
            if live_text(v):
                out.append(Finding(path, f"row {i + 1} col {j + 1}", f"live formula text {v!r:.80}"))
            if CONTROL.search(v):
                out.append(Finding(path, f"row {i + 1} col {j + 1}", f"control character in {v!r:.80}"))
    return out


def scan_text(path: Path) -> list[Finding]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix == ".json":
        text = json.dumps(json.loads(text), ensure_ascii=False)   # decoded: \u0007 escapes count too
    m = CONTROL.search(text)
    return [Finding(path, f"char {m.start()}", f"control character {m.group()!r}")] if m else []


def scan_tree(root: Path) -> list[Finding]:
    """Every file under `root`: its name, and every cell (xlsx, csv) or character (txt, ics, json)."""
    found: list[Finding] = []
    for p in sorted(root.rglob("*")):
        if CONTROL.search(p.name) or MARK in p.name and p.name[:1] in LIVE_LEADS:
            found.append(Finding(p, "name", "control character or formula in a file name"))
        if not p.is_file():
            continue
        suf = p.suffix.lower()
        if suf == ".xlsx":
            found += scan_xlsx(p)
        elif suf == ".csv":
            found += scan_csv(p)
        elif suf in (".txt", ".ics", ".json", ".md"):
            found += scan_text(p)
    return found


# ---------------------------------------------------------------- a poisoned round for the command line

# Free-text columns every row of which is poisoned (still valid data: names may hold any text).
POISONED_COLUMNS = {
    "applications": ["创新中心名称", "牵头单位", "法定代表人", "中心负责人", "技术方向"],
    "members": ["单位名称"],
    "platforms": ["平台名称"],
    "experts": ["姓名", "工作单位", "职称", "研究方向", "手机", "邮箱"],
    "expert_history": ["单位名称", "职务", "说明"],
    "declared_conflicts": ["理由"],
}
POISONS = [
    lambda s: f'=HYPERLINK("http://evil.example/{MARK}","{s[:8]}")', lambda s: f"+{MARK}{s}",
    lambda s: f"-{MARK}{s}", lambda s: f"@{MARK}{s}", lambda s: f"{s}\x07{MARK}", lambda s: f"\u202e{s}{MARK}",
    lambda s: f"\ufeff{s}{MARK}", lambda s: f"{s}\r\n={MARK}", lambda s: f"\t={MARK}{s}", lambda s: f"\x1b[2J{s}{MARK}",
]


def poisoned_round(rng: random.Random, n_experts: int = 120) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The small round with every free-text cell poisoned (formula text, control characters, bidi
    overrides, BOMs: all valid, so every row must still load) plus one absurd row per table (which must
    be rejected). Returns (tables, number of rows that must load per table)."""
    tables = base_tables(n_experts)
    good = {}
    for name, df in tables.items():
        for col in POISONED_COLUMNS[name]:
            df[col] = [rng.choice(POISONS)(str(v)) if str(v) else v for v in df[col]]
        good[name] = len(df)
    absurd = {
        "applications": {"申报编号": "GX2026-999", "近三年销售收入_第1年": "1e400", "有效发明专利数": "9" * 400},
        "experts": {"专家编号": "ZJ9999", "姓名": "长" * 5000, "每阶段最多评审数": "9" * 30},
        "members": {"领域排名": "-3"}, "platforms": {"认定年份": "inf"},
        "expert_history": {"开始日期": "2024-13-45"}, "declared_conflicts": {"类型": "=1+1"},
    }
    for name, cells in absurd.items():
        row = tables[name].iloc[[0]].copy()
        for c, v in cells.items():
            row[c] = v
        tables[name] = pd.concat([tables[name], row], ignore_index=True)
    return tables, good


def write_round(tables: dict[str, pd.DataFrame], folder: Path, as_workbook: bool) -> Path:
    """The round as one workbook (one sheet per table, formulas live, control characters as Excel
    escapes them) or as a folder of CSV files; returns what to pass to the commands."""
    folder.mkdir(parents=True, exist_ok=True)
    if as_workbook:
        path = folder / "round.xlsx"
        wb = Workbook()
        wb.remove(wb.active)
        for name, df in tables.items():
            ws = wb.create_sheet(TABLES[name].zh)
            ws.append(list(df.columns))
            for r, row in enumerate(df.itertuples(index=False), start=2):
                for c, v in enumerate(row, start=1):
                    cell = ws.cell(r, c)
                    cell.value = excel_escaped(v) if v else None
                    cell.data_type = "s"   # "=..." typed as text (as Excel stores '=...), not a formula
        wb.save(path)
        return path
    for name, df in tables.items():
        Variant(df, name).write(folder / name)
    return folder / "applications.csv"
