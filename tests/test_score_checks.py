"""Issue 11, score checks: totals are range-checked and criterion sums checked against totals
(item 6); duplicate / unknown criteria are rejected rows and a missing column is one error
(item 13). Each test failed before its fix (test_criterion_names_are_accepted guards the
criterion check against rejecting names)."""
from __future__ import annotations

import re

import pandas as pd
from openpyxl import load_workbook

from reviewer.policy import load_policy
from reviewer.scoring.scoresheets import SHEET, TOTAL, read_score_sheet, write_score_sheet
from reviewer.store import repo
from tests.factories import stdout_table, totals_rows, write_csv
from tests.test_store_support import DEMO, demo_store, run_cli

POL = load_policy()
CRIT = POL.rubric.criteria




# ---------------------------------------------------------------- item 6: totals range-checked

def test_totals_only_table_above_the_rubric_maximum_is_rejected(tmp_path, capsys):
    f = write_csv(tmp_path / "t.csv", [*totals_rows(), ("GX2026-003", "ZJ0138", "120.0"),
                                        *[("GX2026-003", f"ZJ02{e}", 60) for e in range(3)]],
                  ("application_id", "expert_id", "score"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 1, out
    assert (f"{f}: row 12, column 'score' (score): value '120.0'; " in out and "0 至 100" in out
            and "expected a total from 0 to 100" in out)
    assert "1 rejected" in out
    res = stdout_table(out).set_index("application_id")
    assert res.loc["GX2026-003", "score"] == 60 and res.loc["GX2026-003", "rank"] == 3


def test_negative_total_rejected_and_allow_partial_exits_0(tmp_path, capsys):
    f = write_csv(tmp_path / "t.csv", [*totals_rows(), ("GX2026-002", "ZJ0009", -1)],
                  ("申报编号", "专家编号", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 1 and "row 12, column '得分' (score): value '-1'" in out
    code, out = run_cli(["aggregate", str(f), "--no-interval", "--allow-partial"], capsys)
    assert code == 0, out


def test_criterion_sum_checked_against_a_total_row(tmp_path, capsys):
    rows = []
    for e in range(1, 4):
        for c in CRIT:
            rows.append(("GX2026-001", f"ZJ000{e}", c.id, round(c.max * 0.8, 1)))
        total = round(sum(round(c.max * 0.8, 1) for c in CRIT), 1)
        rows.append(("GX2026-001", f"ZJ000{e}", "合计", total if e != 2 else total + 10))
    f = write_csv(tmp_path / "c.csv", rows, ("申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 1, out
    assert f"row {2 + 18 * 2 - 1}, column '得分' (score): value '90.0'" in out and "80" in out
    assert "ZJ0002" in out
    res = stdout_table(out)
    assert res["n_scores"].iloc[0] == 2   # ZJ0002's rows are set aside: its total is in doubt


def test_score_sheet_total_column_checked(tmp_path):
    p = tmp_path / "sheet.xlsx"
    apps = pd.DataFrame({"application_id": ["GX2026-001"], "name": ["x"], "field": ["汽车"]})
    write_score_sheet(p, POL, "ZJ0001", "张三", "认定评审", apps)
    wb = load_workbook(p)
    ws = wb[SHEET]
    header = [c.value for c in ws[2]]
    for j, h in enumerate(header, start=1):
        crit = next((c for c in CRIT if str(h).startswith(c.id + " ")), None)
        if crit is not None:
            ws.cell(3, j, crit.max)
        if h == TOTAL:
            ws.cell(3, j, 99)      # typed over the formula: the criteria add up to 100
    wb.save(p)
    res = read_score_sheet(p, POL)
    assert res.scores.empty
    assert any(i.column == TOTAL and "100" in i.expected for i in res.issues)


# ---------------------------------------------------------------- item 13: duplicates, unknown criteria, one error

def criterion_rows(apps=("GX2026-001",), experts=5):
    return [(a, f"ZJ000{e}", c.id, c.max * 0.8) for a in apps for e in range(1, experts + 1) for c in CRIT]


def test_duplicate_and_unknown_criteria_are_rejected_rows(tmp_path, capsys):
    rows = criterion_rows()
    rows.append(("GX2026-001", "ZJ0001", "A1", 1.0))      # a second, different A1
    rows.append(("GX2026-001", "ZJ0002", "Z9", 3.0))      # not a criterion of the rubric
    f = write_csv(tmp_path / "d.csv", rows, ("申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 1, out
    n = len(CRIT)
    assert f"row {n * 5 + 3}, column '评分项' (criterion): value 'Z9'" in out and "A1" in out
    assert f"row {n * 5 + 2}, column '评分项' (criterion): value 'A1'" in out and "row 2," in out
    assert "3 rejected" in out      # both copies of the conflicting A1, and Z9
    code, _ = run_cli(["aggregate", str(f), "--no-interval", "--allow-partial"], capsys)
    assert code == 0


def test_identical_duplicate_row_is_rejected_too(tmp_path, capsys):
    rows = criterion_rows()
    rows.append(rows[3])
    f = write_csv(tmp_path / "d.csv", rows, ("申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 1 and "1 rejected" in out and "same as row 5" in out


def test_missing_criterion_column_is_one_error(tmp_path, capsys):
    rows = [(a, e, s) for a, e, _, s in criterion_rows(("GX2026-001", "GX2026-002"))]
    f = write_csv(tmp_path / "m.csv", rows, ("申报编号", "专家编号", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 2, out
    assert "评分项" in out and "criterion" in out and not re.search(r"row \d+, column", out)
    assert len([line for line in out.splitlines() if line.strip()]) == 1


def test_criterion_column_of_another_rubric_is_one_error(tmp_path, capsys):
    rows = [(a, e, "X" + c, s) for a, e, c, s in criterion_rows()]
    f = write_csv(tmp_path / "x.csv", rows, ("申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 2 and "评分项" in out and "A1" in out
    assert len([line for line in out.splitlines() if line.strip()]) == 1


def test_criterion_names_are_accepted(tmp_path, capsys):
    rows = [(a, e, next(c.name for c in CRIT if c.id == cid), s) for a, e, cid, s in criterion_rows()]
    f = write_csv(tmp_path / "n.csv", rows, ("申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["aggregate", str(f), "--no-interval"], capsys)
    assert code == 0, out
    assert stdout_table(out)["score"].iloc[0] == 80




def test_scores_import_rejects_duplicate_and_unknown_criteria(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    st = demo_store(url)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    site = panels[panels["stage"] == "现场考察"]
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), "现场考察", site, user="张三", source="demo_panels.csv")
    expert = site[site["application_id"] == "GX2026-003"]["expert_id"].iloc[0]
    site_crit = POL.instrument("现场考察").criteria      # 现场考察 is scored with its checklist
    dup = site_crit[0].id
    rows = [("现场考察", "GX2026-003", expert, c.id, c.max) for c in site_crit]
    rows += [("现场考察", "GX2026-003", expert, dup, 1.0), ("现场考察", "GX2026-003", expert, "Z9", 2.0)]
    f = write_csv(tmp_path / "long.csv", rows, ("阶段", "申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", url, str(f)], capsys)
    assert code == 1, out
    assert f"row {len(site_crit) + 3}, column '评分项' (criterion): value 'Z9'" in out
    assert f"row {len(site_crit) + 2}, column '评分项' (criterion): value '{dup}'" in out
    with st.read() as s:      # all or nothing: rejected rows store nothing ...
        assert repo.scores_frame(s, repo.get_round(s, "2026"), "现场考察").empty
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", url, str(f), "--allow-partial"], capsys)
    assert code == 0, out     # ... unless --allow-partial, which keeps the good rows
    with st.read() as s:
        stored = repo.scores_frame(s, repo.get_round(s, "2026"), "现场考察")
    assert sorted(stored["criterion"]) == sorted(c.id for c in site_crit if c.id != dup)
