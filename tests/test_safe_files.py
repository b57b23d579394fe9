"""Safe files (issue 11, items 13, 15, 16): no output workbook or CSV of any writer holds a live formula
or a spreadsheet-interpreted field built from input text; numbers stay numbers (missing is an empty
cell, never "nan"/"inf" text); every JSON file the program writes parses with a strict parser.

The poisoned inputs are written here with openpyxl as TEXT cells, never through the program's own
writers (which would neutralise them before the pipeline ever saw them)."""
from __future__ import annotations

import csv
import io
import datetime as dt
import json
import math
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from reviewer import exports
from reviewer.exports import XLSX_CELL_LIMIT, Formula, put, put_row, safe_text, seal, write_csv, write_run_record, write_xlsx
from reviewer.resources import DEMO_DIR
from tests.test_store_support import demo_store, run_cli

PAYLOADS = ["=1+1", "+1", "-1+2", "@SUM(A1)", '=HYPERLINK("http://x","点击")', "\t=1+1", "\r=1+1"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9][0-9,]*(\.[0-9]+)?([eE][-+]?[0-9]+)?")
NOT_A_NUMBER_TEXT = {"nan", "-nan", "inf", "-inf", "infinity", "-infinity", "nat", "<na>", "none"}
# The program's own formulas: the score sheet's total (entry sheet) and the print view's cells.
PROGRAM_FORMULA = re.compile(r"=IF\((?:COUNT\([A-Z]+[0-9]+:[A-Z]+[0-9]+\)=0,\"\",SUM\([A-Z]+[0-9]+:[A-Z]+[0-9]+\)"
                             r"|'评分表'![A-Z]+[0-9]+=\"\",\"\",'评分表'![A-Z]+[0-9]+)\)")


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def xlsx_problems(path: Path) -> list[str]:
    """Cells of a workbook that are formulas not made by the program, or NaN/inf as text."""
    bad = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                where = f"{path.name}[{ws.title}]!{c.coordinate}={c.value!r}"
                if c.data_type == "f":
                    if not PROGRAM_FORMULA.fullmatch(str(c.value)):
                        bad.append("formula " + where)
                elif isinstance(c.value, str) and c.value[:1] in DANGEROUS and not PLAIN_NUMBER.fullmatch(c.value):
                    bad.append("dangerous text " + where)
                elif isinstance(c.value, str) and c.value.strip().lower() in NOT_A_NUMBER_TEXT:
                    bad.append("not-a-number text " + where)
                elif isinstance(c.value, float) and not math.isfinite(c.value):
                    bad.append("non-finite number " + where)
    return bad


def csv_problems(path: Path) -> list[str]:
    bad = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for i, row in enumerate(csv.reader(f), start=1):
            for v in row:
                if v[:1] in DANGEROUS and not PLAIN_NUMBER.fullmatch(v):
                    bad.append(f"dangerous field {path.name} row {i}: {v!r}")
                elif v.strip().lower() in NOT_A_NUMBER_TEXT:
                    bad.append(f"not-a-number text {path.name} row {i}: {v!r}")
    return bad


def folder_problems(folder: Path) -> list[str]:
    bad = []
    for p in sorted(folder.rglob("*.xlsx")):
        bad += xlsx_problems(p)
    for p in sorted(folder.rglob("*.csv")):
        bad += csv_problems(p)
    for p in sorted(folder.rglob("*.json")):
        try:
            _strict_json(p.read_text(encoding="utf-8"))
        except ValueError as e:
            bad.append(f"{p.name}: {e}")
    return bad


def _text_cell(ws, r: int, c: int, value: str) -> None:
    cell = ws.cell(r, c)
    cell.value = value
    cell.data_type = "s"


def _poison(path: Path, columns: dict[str, int]) -> None:
    """Prefix the text in `columns` (header → every k-th row) of every row with a formula-like payload."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    head = [c.value for c in ws[1]]
    for name in columns:
        j = head.index(name) + 1
        for r in range(2, ws.max_row + 1):
            old = ws.cell(r, j).value
            _text_cell(ws, r, j, f"{PAYLOADS[(r + j) % len(PAYLOADS)]} {old if old is not None else ''}".rstrip())
    wb.save(path)


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory) -> Path:
    """A copy of the demo round whose names, units and reasons begin with formula-like text."""
    folder = tmp_path_factory.mktemp("poisoned") / "demo"
    shutil.copytree(DEMO_DIR, folder)
    _poison(folder / "applications.xlsx", {"创新中心名称": 1, "违法失信说明": 1, "技术方向": 1})
    _poison(folder / "experts.xlsx", {"姓名": 1, "研究方向": 1})
    _poison(folder / "declared_conflicts.xlsx", {"理由": 1})
    _poison(folder / "past_centres.xlsx", {"中心名称": 1, "牵头单位": 1})
    return folder


@pytest.fixture(scope="module")
def demo_out(poisoned, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_out")
    from reviewer.cli.main import main
    try:
        main(["demo", "--data", str(poisoned), "--out", str(out)])
    except SystemExit as e:
        assert not e.code, f"reviewer demo exited {e.code}"
    return out


# ---------------------------------------------------------------- the shared neutraliser

@pytest.mark.parametrize("text", PAYLOADS)
def test_formula_like_text_is_prefixed_and_stays_readable(text):
    assert safe_text(text) == "'" + text.replace("\r", "\n")


@pytest.mark.parametrize("text", ["-1.5", "-12", "1,234.5", "广西=中心", "A-1", "", "'=1"])
def test_harmless_text_is_left_alone(text):
    assert safe_text(text) == text


def test_write_xlsx_and_csv_neutralise_text_keep_numbers_and_leave_missing_empty(tmp_path):
    df = pd.DataFrame({"name": PAYLOADS, "score": [-1.5, np.inf, -np.inf, np.nan, 2.0, -3.0, 0.0],
                       "n": pd.array([1, None, -3, 4, 5, 6, 7], dtype="Int64"),
                       "mixed": [np.nan, float("inf"), -2, "-3.5", None, pd.NaT, "x"],
                       "=header": range(7)})
    x = write_xlsx({"t": df}, tmp_path / "t.xlsx")
    c = write_csv(df, tmp_path / "t.csv")
    assert xlsx_problems(x) == [] and csv_problems(c) == []
    ws = openpyxl.load_workbook(x)["t"]
    assert [ws.cell(r, 1).value for r in range(2, 9)] == ["'" + p.replace("\r", "\n") for p in PAYLOADS]
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 9))
    assert ws.cell(1, 5).value == "'=header"
    assert ws.cell(2, 2).value == -1.5 and ws.cell(2, 2).data_type == "n"      # a negative number stays a number
    assert ws.cell(7, 2).value == -3 and ws.cell(4, 3).value == -3 and ws.cell(4, 4).value == -2
    assert [ws.cell(r, 2).value for r in (3, 4, 5)] == [None, None, None]      # inf, -inf, NaN: empty cells
    back = pd.read_csv(c, encoding="utf-8-sig")
    assert back["score"].tolist()[:1] == [-1.5] and back["score"].isna().tolist()[1:4] == [True] * 3
    assert back["name"].iloc[0] == "'=1+1"


def test_program_formulas_are_an_explicit_opt_in(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    put(ws, 1, 1, Formula("=SUM(1,2)"))
    put(ws, 1, 2, "=SUM(1,2)")          # the same text, from input: never a formula
    r = put_row(ws, ["=1+1", -2.5, None, float("nan")])
    seal(ws)
    assert ws["A1"].data_type == "f" and ws["B1"].data_type == "s" and ws["B1"].value == "'=SUM(1,2)"
    assert ws.cell(r, 1).value == "'=1+1" and ws.cell(r, 2).value == -2.5 and ws.cell(r, 4).value is None
    with pytest.raises(ValueError):
        Formula("SUM(1,2)")
    with pytest.raises(TypeError):
        exports.safe_value(Formula("=1"))


# ---------------------------------------------------------------- every writer

def test_demo_outputs_hold_no_formula_from_input(demo_out):
    assert folder_problems(demo_out) == []
    summary = openpyxl.load_workbook(demo_out / "screening_summary.xlsx").worksheets[0]
    names = [summary.cell(r, 2).value for r in range(2, summary.max_row + 1)]
    assert "'=HYPERLINK(\"http://x\",\"点击\")" in " ".join(names)             # the input did reach the file
    sheets = sorted((demo_out / "score_sheets").rglob("*.xlsx"))
    assert sheets
    book = openpyxl.load_workbook(sheets[0])
    assert any(c.data_type == "f" for row in book["评分表"].iter_rows() for c in row)   # program formulas kept


def test_demo_run_record_is_strict_json(demo_out):
    records = sorted(demo_out.glob("run_*.json"))
    assert records
    for p in records:
        _strict_json(p.read_text(encoding="utf-8"))


def test_expert_packs_hold_no_formula_from_input(poisoned, demo_out, tmp_path):
    from reviewer.documents.packs import build_packs
    from reviewer.demo.reference import demo_policy
    from reviewer.intake.io import load_round_from
    from reviewer.policy import load_policy
    pol = demo_policy(load_policy())
    data, _ = load_round_from(poisoned / "applications.xlsx", pol)
    stage = pol.stages.order[-1]
    seats = pd.read_csv(demo_out / "panels.csv", encoding="utf-8-sig", dtype=str)
    seats = seats[seats["stage"] == stage][["stage", "application_id", "expert_id", "role"]]
    settings = {"meetings": {stage: {"date": "2026-12-01", "time": "09:00", "place": "=1+1 会议室",
                                     "contact": "@SUM(A1) 张三"}}}
    res = build_packs(data, pol, seats, stage, tmp_path, round_code="2026", round_name="-1+2 年度评审",
                      settings=settings)
    assert res.packs and folder_problems(tmp_path) == []
    notice = openpyxl.load_workbook(next(iter(res.packs.values()))[0])
    assert any(str(c.value).startswith("'") for row in notice.worksheets[1].iter_rows() for c in row)


def test_audit_export_holds_no_formula_from_input(tmp_path):
    from reviewer.store import audit, repo
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.add_seat_rule(s, r, "lock", "初审评估", "ZJ0023", "GX2026-003", reason='=HYPERLINK("http://x","点击")',
                           user="@张三")
    out = tmp_path / "out"
    with st.read() as s:
        for ext in ("csv", "xlsx", "json"):
            audit.export(s, out / f"audit.{ext}")
    assert folder_problems(out) == []
    assert "'=HYPERLINK" in (out / "audit.csv").read_text(encoding="utf-8-sig")


def test_app_ranking_export_holds_no_formula_from_input(monkeypatch):
    from reviewer.app import signoff as svc_signoff
    rk = pd.DataFrame({"rank_overall": [1, 2], "application_id": ["GX2026-001", "GX2026-002"],
                       "name": ["=1+1", '=HYPERLINK("http://x","点击")'], "field": ["+1", "@x"],
                       "score": [80.5, np.inf], "decision": ["recommend", "cultivation"],
                       "decision_zh": ["推荐认定", "培育"], "reason_zh": ["-1+2", "\t=1"]})
    monkeypatch.setattr(svc_signoff, "ranking", lambda *a, **k: rk)
    monkeypatch.setattr(svc_signoff, "compare_methods", lambda *a, **k: rk[["application_id", "name", "score"]].rename(
        columns={"score": "score_trimmed"}).assign(field=rk["field"]))
    monkeypatch.setattr(svc_signoff, "_status_line", lambda *a, **k: "=1+1 状态")
    data = svc_signoff.export_ranking_xlsx("r", "认定评审")
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "ranking.xlsx"
    path.write_bytes(data)
    assert xlsx_problems(path) == []
    assert pd.read_excel(io.BytesIO(data), sheet_name="认定排名")["创新中心名称"].tolist()[0] == "'=1+1"


def test_links_download_csv_is_safe():
    data = exports.csv_bytes(pd.DataFrame({"expert_name": PAYLOADS, "link": ["http://x"] * len(PAYLOADS)}))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(PAYLOADS)
    assert all(not v.startswith(DANGEROUS) for row in rows for v in row)


def test_cli_aggregate_and_rank_outputs_are_safe(tmp_path, capsys):
    scores = pd.read_csv(DEMO_DIR / "scores.csv", encoding="utf-8-sig")
    stage_col = "阶段" if "阶段" in scores.columns else "stage"
    scores = scores[scores[stage_col] == scores[stage_col].iloc[-1]]
    scores.to_csv(tmp_path / "scores.csv", index=False, encoding="utf-8-sig")
    code, out = run_cli(["aggregate", str(tmp_path / "scores.csv"), "--out", str(tmp_path / "res" / "agg.xlsx")],
                        capsys)
    assert code == 0, out
    agg = pd.read_excel(tmp_path / "res" / "agg.xlsx")
    agg["name"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(agg))]
    agg["field"] = "汽车"
    for f in "ABCDEF":
        if f not in agg.columns:
            agg[f] = 15.0
    (tmp_path / "in").mkdir()
    agg.to_csv(tmp_path / "in" / "agg.csv", index=False, encoding="utf-8-sig")   # raw text, not our writer
    for ext in ("csv", "xlsx"):
        code, out = run_cli(["rank", str(tmp_path / "in" / "agg.csv"), "--out", str(tmp_path / "res" / f"rank.{ext}")],
                            capsys)
        assert code in (0, 1), out
    assert "'=1+1" in (tmp_path / "res" / "rank.csv").read_text(encoding="utf-8-sig")
    assert folder_problems(tmp_path / "res") == []


def test_demo_writer_neutralises_text(tmp_path):
    from reviewer.demo import writer
    df = pd.DataFrame({"名称": PAYLOADS, "金额": [-1.0, np.inf, np.nan, 2.0, 3.0, 4.0, 5.0],
                       "日期": pd.to_datetime(["2026-11-01"] * 7)})
    writer.write_xlsx(tmp_path / "d.xlsx", {"表": df})
    writer.write_csv(df, tmp_path / "d.csv")
    assert folder_problems(tmp_path) == []


# ---------------------------------------------------------------- strict JSON

def test_run_record_turns_nan_and_inf_into_null(tmp_path):
    rec = {"kind": "x", "score": float("nan"), "gap": np.float64("inf"), "n": np.int64(3),
           "when": dt.date(2026, 11, 1), "nested": [{"v": -np.inf}, (1, pd.NaT)]}
    p = write_run_record(rec, tmp_path)
    back = _strict_json(p.read_text(encoding="utf-8"))
    assert back == {"kind": "x", "score": None, "gap": None, "n": 3, "when": "2026-11-01",
                    "nested": [{"v": None}, [1, None]]}


def test_centre_evaluation_and_lifecycle_outputs_are_safe(poisoned, tmp_path, capsys):
    code, out = run_cli(["evaluate", str(poisoned / "indicators.xlsx"), "--as-of", "2026-11-26", "--no-charts",
                         "-o", str(tmp_path / "ev")], capsys)
    assert code == 0, out
    code, out = run_cli(["lifecycle", str(poisoned / "past_centres.xlsx"), "--indicators",
                         str(poisoned / "indicators.xlsx"), "--as-of", "2026-11-26", "-o", str(tmp_path / "lc"),
                         "--event", 'GXMIC-2022-01,2026-09-30,国家级,=1+1 工信部批复'], capsys)
    assert code == 0, out
    assert folder_problems(tmp_path) == []
    report = pd.read_excel(tmp_path / "ev" / "evaluation_report.xlsx", sheet_name=None)
    assert any(str(v).startswith("'") for df in report.values() for v in df.astype(str).to_numpy().ravel())
    assert "'=1+1 工信部批复" in (tmp_path / "lc" / "centre_transitions.csv").read_text(encoding="utf-8-sig")


def test_dates_in_tables_are_iso_text_and_missing_stays_empty():
    s = exports.date_text(pd.Series([dt.date(2026, 11, 1), None, pd.NaT, pd.Timestamp("2026-12-01")]))
    assert s.tolist() == ["2026-11-01", None, None, "2026-12-01"]


def test_file_mode_commands_write_safe_tables_and_strict_run_records(poisoned, tmp_path, capsys):
    for cmd in (["screen", str(poisoned / "applications.xlsx")], ["conflicts", str(poisoned)],
                ["assign", str(poisoned), "--stage", "初审评估"]):
        code, out = run_cli([*cmd, "--out", str(tmp_path / cmd[0]), "--allow-partial"], capsys)
        assert code == 0, out
    assert sorted(p.name for p in tmp_path.rglob("run_*.json")) == ["run_assignment.json", "run_conflicts.json",
                                                                   "run_screening.json"]
    assert folder_problems(tmp_path) == []
    assert "'=HYPERLINK" in (tmp_path / "screen" / "screening_summary.csv").read_text(encoding="utf-8-sig")


# ---------------------------------------------------------------- staff workbooks speak Chinese (item 17)

ENGLISH_KEY = re.compile(r"[a-z][a-z0-9_]*")


def test_staff_workbooks_have_chinese_headers_and_a_key_sheet_csv_keeps_the_full_table(demo_out):
    stems = sorted(p.stem for p in demo_out.glob("*.csv"))
    assert "recognition_ranking" in stems and "panels" in stems
    for stem in stems:
        book = pd.read_excel(demo_out / f"{stem}.xlsx", sheet_name=None)
        first, guide = list(book.values())[0], book["说明 columns"]
        english = [c for c in first.columns if ENGLISH_KEY.fullmatch(str(c))]
        assert english == [], f"{stem}.xlsx has English headers {english}"
        full = pd.read_csv(demo_out / f"{stem}.csv", encoding="utf-8-sig", nrows=1)
        keys = dict(zip(guide["列名 column"], guide["英文键 key"]))
        assert all(keys[c] in full.columns for c in first.columns)          # every header explained by its key
        assert f"{stem}.csv" in guide["列名 column"].iloc[-1]
    ranking = pd.read_excel(demo_out / "recognition_ranking.xlsx")
    assert list(ranking.columns)[:5] == ["总排名", "领域内排名", "申报编号", "名称", "领域"] or \
        list(ranking.columns)[:4] == ["总排名", "领域内排名", "申报编号", "领域"]
    assert {"汇总得分", "结论", "理由", "建议补助（元）"} <= set(ranking.columns) and len(ranking.columns) < 25
    full = pd.read_csv(demo_out / "recognition_ranking.csv", encoding="utf-8-sig")
    assert {"reason_en", "se_boot", "p_first_in_field", "decision"} <= set(full.columns)


def test_every_table_of_the_evaluation_has_chinese_headers(poisoned, tmp_path, capsys):
    code, out = run_cli(["evaluate", str(poisoned / "indicators.xlsx"), "--as-of", "2026-11-26", "--no-charts",
                         "-o", str(tmp_path)], capsys)
    assert code == 0, out
    for csv_path in sorted(tmp_path.glob("*.csv")):
        first = pd.read_excel(csv_path.with_suffix(".xlsx"))
        assert [c for c in first.columns if ENGLISH_KEY.fullmatch(str(c))] == [], csv_path.stem


def test_control_characters_in_input_text_never_crash_a_writer(tmp_path):
    """A name with a control character (BEL, ESC, NUL …) is written readably, without the control
    character: Excel cannot hold them and openpyxl refuses them."""
    import openpyxl
    from reviewer.exports import write_table
    df = pd.DataFrame({"name": ['=HYPERLINK("http://x","点击")\x07\x1b', "甲\x00乙\x0b丙"], "n": [1, 2]})
    paths = write_table(df, tmp_path, "t")
    ws = openpyxl.load_workbook(next(p for p in paths if p.suffix == ".xlsx")).worksheets[0]
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=HYPERLINK(\"http://x\",\"点击\")" in cells and "甲乙丙" in cells
    text = next(p for p in paths if p.suffix == ".csv").read_text(encoding="utf-8-sig")
    assert "\x07" not in text and "\x00" not in text and "甲乙丙" in text
    assert folder_problems(tmp_path) == []


def test_over_long_text_is_shortened_visibly_not_cut_silently(tmp_path):
    """Excel holds 32,767 characters per cell; openpyxl would cut longer text without a word (an audit
    entry's facts run to hundreds of kB). The cell says how much was left out; nothing warns."""
    long = "评" * 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = write_xlsx({"s": pd.DataFrame({"a": [long, "短"]})}, tmp_path / "x.xlsx")
    got = openpyxl.load_workbook(p)["s"]["A2"].value
    assert len(got) <= XLSX_CELL_LIMIT and got.startswith("评" * 1000)
    assert f"省略 {100_000 - got.index(' …')}" in got and "CSV/JSON" in got
    assert openpyxl.load_workbook(p)["s"]["A3"].value == "短"
