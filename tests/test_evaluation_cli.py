"""`reviewer evaluate` and `reviewer lifecycle` on the demo data and on bad input."""
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from reviewer.cli.centres import register

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"
AS_OF = "2026-11-26"


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()

    @a.callback()
    def _cb() -> None:
        pass

    register(a)
    return a


def run(app, *args):
    return CliRunner().invoke(app, [str(x) for x in args])


def test_evaluate_demo_shows_revocations_with_reasons(app, tmp_path):
    r = run(app, "evaluate", DEMO / "indicators.xlsx", "--as-of", AS_OF, "-o", tmp_path)
    assert r.exit_code == 0, r.output + r.stderr
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.startswith("  GXMIC-")}
    assert "撤销 revoke" in lines["GXMIC-2022-07"] and "连续 2 次考核不合格" in lines["GXMIC-2022-07"]
    assert "撤销 revoke" in lines["GXMIC-2022-04"] and "建设期 2022-09-01 至 2025-09-01" in lines["GXMIC-2022-04"]
    assert "限期整改 rectify" in lines["GXMIC-2022-05"]
    for f in ("evaluation_scores.xlsx", "evaluation_parts.csv", "annual_list.xlsx", "evaluation_report.xlsx",
              "trends/GXMIC-2022-07.html", "run_evaluation.json"):
        assert (tmp_path / f).exists(), f
    sheets = pd.read_excel(tmp_path / "evaluation_report.xlsx", sheet_name=None)
    assert {"2025年度名单", "状态变迁 transitions", "补助台账 ledger", "补助按领域 by field"} <= set(sheets)
    assert not (tmp_path / "trends" / "GXMIC-2022-07.png").exists()   # no vl-convert: HTML only


def test_lifecycle_demo_states_and_ledger(app, tmp_path):
    r = run(app, "lifecycle", "--as-of", AS_OF, "-o", tmp_path,
            "--event", "GXMIC-2022-01,2026-09-30,国家级,工信部批复")
    assert r.exit_code == 0, r.output + r.stderr
    out = r.stdout
    assert "GXMIC-2022-07 广西化工新材料制造业创新中心 [绿色高端石化]: 撤销 revoked since 2025-12-31 (consecutive_fails)" in out
    assert "GXMIC-2022-04 广西中药现代化制造业创新中心 [生物医药]: 撤销 revoked since 2025-09-02 (build_overrun)" in out
    assert "GXMIC-2022-01 广西智能汽车零部件制造业创新中心 [汽车]: 国家级 national" in out
    assert "GXMIC-2022-05" in out and "试点 pilot" in out
    states = pd.read_csv(tmp_path / "centre_states.csv").set_index("centre_id")["state"].to_dict()
    assert list(states.values()).count("认定") == 3 and list(states.values()).count("撤销") == 2
    ledger = pd.read_csv(tmp_path / "subsidy_ledger.csv")
    assert ledger["amount"].sum() == 4 * 2_000_000 + 10_000_000
    assert (tmp_path / "subsidy_by_year.xlsx").exists() and (tmp_path / "run_lifecycle.json").exists()


def test_lifecycle_history_file_and_refused_event(app, tmp_path):
    h = pd.DataFrame({"中心编号": ["GXMIC-2022-07", "GXMIC-2022-02"], "日期": ["2026-01-05", "2026-13-01"],
                      "状态": ["认定", "国家级"], "原因": ["补登记", "x"]})
    h.to_csv(tmp_path / "h.csv", index=False)
    r = run(app, "lifecycle", DEMO / "past_centres.xlsx", "--history", tmp_path / "h.csv", "--as-of", AS_OF,
            "-o", tmp_path / "o")
    assert r.exit_code == 1
    assert "row 3, column 日期: value '2026-13-01': expected a real calendar date" in r.stderr
    assert "GXMIC-2022-07: 撤销 revoked -> 认定 recognised on 2026-01-05 is not allowed (it is final)" in r.stderr
    assert "Traceback" not in r.output + r.stderr


def test_evaluate_bad_input_lines_and_exit_codes(app, tmp_path):
    d = pd.read_csv(DEMO / "csv" / "indicators.csv", dtype=str)
    d.loc[0, "委托研发合同数"] = "many"
    d.loc[4, "产业化成功率"] = "140%"
    p = tmp_path / "indicators.csv"
    d.to_csv(p, index=False, encoding="utf-8-sig")
    r = run(app, "evaluate", p, "--centres", DEMO / "past_centres.xlsx", "--no-charts", "-o", tmp_path / "o")
    assert r.exit_code == 1
    assert f"ERROR {p} row 2, column 委托研发合同数: value 'many': expected a whole number" in r.stderr
    assert f"ERROR {p} row 6, column 产业化成功率: value '140%': expected a ratio between 0 and 1" in r.stderr
    assert "19 loaded, 2 rejected of 21 rows" in r.stdout
    assert (tmp_path / "o" / "import_issues.csv").exists()
    r = run(app, "evaluate", p, "--centres", DEMO / "past_centres.xlsx", "--no-charts", "-o", tmp_path / "o",
            "--allow-partial")
    assert r.exit_code == 0
    r = run(app, "evaluate", tmp_path / "missing.xlsx", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "missing.xlsx: file not found" in r.stderr
    r = run(app, "evaluate", DEMO / "indicators.xlsx", "--year", "2019", "--no-charts", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "--year 2019: no evaluation of that year" in r.stderr
    r = run(app, "lifecycle", "--as-of", "26/11/2026", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "expected a date YYYY-MM-DD" in r.stderr
    r = run(app, "lifecycle", "--event", "GXMIC-2022-01,2026", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "expected CENTRE_ID,YYYY-MM-DD,STATE,REASON" in r.stderr


def test_main_cli_has_both_commands():
    from reviewer.cli.main import app as main_app
    names = {c.name for c in main_app.registered_commands}
    assert {"evaluate", "lifecycle"} <= names


def test_evaluate_records_evaluations_in_the_store_once(app, tmp_path):
    db = tmp_path / "store.sqlite"
    args = ("evaluate", DEMO / "indicators.xlsx", "--as-of", AS_OF, "--no-charts", "-o", tmp_path / "o",
            "--record", "--db", db, "--user", "考核处")
    r = run(app, *args)
    assert r.exit_code == 0, r.output
    assert "Stored 21 evaluation(s)" in r.stdout
    r = run(app, *args)
    assert "Stored 0 evaluation(s)" in r.stdout and "21 already there" in r.stdout
    from reviewer.store.audit import verify
    from reviewer.store.engine import open_store
    from reviewer.store.models import AnnualEvaluation
    from sqlalchemy import select
    store = open_store(str(db))
    with store.read() as s:
        rows = s.execute(select(AnnualEvaluation).where(AnnualEvaluation.centre_id == "GXMIC-2022-07")).scalars().all()
        assert sorted(r.year for r in rows) == [2023, 2024, 2025]
        assert {r.year: r.band for r in rows}[2025] == "不合格" and rows[0].state == "撤销"
        assert rows[0].evaluated_by == "考核处"
        v = verify(s)
        assert v.ok and v.entries == 21
    store.dispose()
