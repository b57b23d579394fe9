"""Score sheets: generated from the rubric, read back with validation."""
import pandas as pd
import pytest
from openpyxl import load_workbook

from reviewer.errors import UserError
from reviewer.scoring.scoresheets import SHEET, expert_totals, import_score_sheets, read_score_sheet, write_score_sheet
from tests.factories import policy

P = policy()
APPS = pd.DataFrame({"application_id": ["A1", "A2", "A3"], "name": ["甲中心", "乙中心", "丙中心"], "field": ["汽车"] * 3})
CRIT = [c.id for c in P.rubric.criteria]


def fill(path, rows: dict[int, list]):
    """rows: sheet row number -> values for the criteria columns (and optionally confidence)."""
    wb = load_workbook(path)
    ws = wb[SHEET]
    for r, vals in rows.items():
        for k, v in enumerate(vals):
            col = 4 + k if k < len(CRIT) else 4 + len(CRIT) + 1  # skip the total column
            ws.cell(r, col, v)
    wb.save(path)


def full(x=0.8):
    return [round(c.max * x, 1) for c in P.rubric.criteria]


def test_sheet_has_rubric_headers_validation_and_meta(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审", APPS)
    wb = load_workbook(p)
    ws = wb[SHEET]
    headers = [c.value for c in ws[2]]
    assert headers[3] == "A1 研发投入强度 (≤6)" and headers[-3:] == ["合计", "信心(1-5)", "评审意见"]
    assert [ws.cell(r, 1).value for r in (3, 4, 5)] == ["A1", "A2", "A3"]
    assert len(ws.data_validations.dataValidation) == len(CRIT) + 1
    assert wb["_meta"].sheet_state == "hidden"
    assert sum(c.max for c in P.rubric.criteria) == 100


def test_round_trip_and_totals(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审", APPS)
    fill(p, {3: full(0.8) + [4], 4: full(0.5)})
    res = read_score_sheet(p, P)
    assert res.issues == []
    assert len(res.scores) == 2 * len(CRIT)  # A3 left blank: absent, not zero
    tot = expert_totals(res.scores).set_index("application_id")
    assert tot.loc["A1", "score"] == pytest.approx(sum(full(0.8)))
    assert tot.loc["A1", "confidence"] == 4
    assert tot.loc["A1", "B"] == pytest.approx(round(8 * .8, 1) + round(9 * .8, 1) + round(8 * .8, 1))


def test_out_of_range_missing_criterion_text_and_duplicate_rows(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审",
                          pd.concat([APPS, APPS.iloc[[0]]], ignore_index=True))
    bad_range = full(); bad_range[0] = 7           # A1 max is 6
    missing = full(); missing[4] = None
    text = full(); text[2] = "八"
    fill(p, {3: bad_range, 4: missing, 5: text, 6: full()})
    res = read_score_sheet(p, P)
    msgs = {i.row: str(i) for i in res.issues}
    assert "from 0 to 6" in msgs[3] and "A1" in msgs[3]
    assert "every criterion" in msgs[4] and "B2" in msgs[4]
    assert "a number from 0 to 8" in msgs[5]
    assert "row 3 has it already" in msgs[6]
    assert res.scores.empty


def test_unassigned_duplicate_and_replaced_expert(tmp_path):
    s1 = write_score_sheet(tmp_path / "e1.xlsx", P, "E1", "张伟", "认定评审", APPS)
    s2 = write_score_sheet(tmp_path / "e2.xlsx", P, "E2", "李娜", "认定评审", APPS.iloc[:1])
    fill(s1, {3: full(), 4: full(), 5: full()})
    fill(s2, {3: full()})
    assignments = pd.DataFrame({"stage": "认定评审", "expert_id": ["E1", "E1", "E2"], "application_id": ["A1", "A2", "A1"],
                                "status": ["active", "active", "replaced"]})
    res = import_score_sheets([s1, s2, s1], P, assignments)
    msgs = [str(i) for i in res.issues]
    assert any("A3" in m and "assigned to expert E1" in m for m in msgs)
    assert any("already imported" in m for m in msgs)
    assert any("replaced" in m and "void" in m for m in msgs)
    valid = res.scores[~res.scores["void"]]
    assert set(valid["application_id"]) == {"A1", "A2"} and set(valid["expert_id"]) == {"E1"}
    assert res.scores[res.scores["void"]]["expert_id"].unique().tolist() == ["E2"]


def test_not_a_score_sheet(tmp_path):
    p = tmp_path / "x.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(p)
    with pytest.raises(UserError, match="not a score sheet"):
        read_score_sheet(p, P)


def test_print_view_shows_entered_scores_one_application_per_page(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审", APPS)
    wb = load_workbook(p)
    ps = wb["打印版"]
    assert ps.page_setup.orientation == "portrait" and ps.page_setup.fitToWidth == 1
    assert len(ps.row_breaks.brk) == len(APPS) - 1            # one application per printed page
    texts = [c.value for row in ps.iter_rows() for c in row if isinstance(c.value, str)]
    assert sum("评审专家签字" in t for t in texts) == len(APPS)
    # the score cells are formulas into the entry sheet: a score is typed once
    formulas = [t for t in texts if t.startswith("=IF('评分表'!D3")]
    assert formulas, "A1 of the first application should read 评分表!D3"
    assert wb[SHEET].page_setup.orientation == "landscape"
    # reading back ignores the print view
    fill(p, {3: full(0.5)})
    assert read_score_sheet(p, P).issues == []


KEY = b"k" * 32


def test_a_signed_sheet_reads_back_and_a_changed_meta_is_refused_whole(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审", APPS, sheet_key=KEY, round_code="2026")
    meta = {r[0]: r[1] for r in load_workbook(p)["_meta"].iter_rows(values_only=True)}
    assert meta["expert_id"] == "E1" and meta["round"] == "2026" and meta["applications"] == "A1,A2,A3"
    assert len(meta["signature"]) == 64 and KEY.hex() not in str(meta)   # the key itself is never in the sheet
    fill(p, {3: full(0.8)})
    res = import_score_sheets([p], P, pd.DataFrame({"stage": ["认定评审"], "application_id": ["A1"],
                                                    "expert_id": ["E1"]}), sheet_key=KEY)
    assert res.issues == [] and res.refused == [] and len(res.scores) == len(CRIT)
    for cell, value in (("B1", "E2"), ("B2", "现场考察"), ("B6", "A1,A2,A3,A9")):
        wb = load_workbook(p)
        original = wb["_meta"][cell].value
        wb["_meta"][cell] = value   # e.g. another expert's id in _meta!B1
        wb.save(p)
        res = read_score_sheet(p, P, KEY)
        assert res.scores.empty and len(res.refused) == 1 and "signature does not match" in res.refused[0]["why"]
        assert res.issues[0].sheet == "_meta" and "整表拒收" in res.issues[0].expected
        wb["_meta"][cell] = original
        wb.save(p)
    assert read_score_sheet(p, P, b"x" * 32).refused  # a sheet of another round (another key)
    unsigned = write_score_sheet(tmp_path / "u.xlsx", P, "E1", "张伟", "认定评审", APPS)
    assert "carries no signature" in read_score_sheet(unsigned, P, KEY).refused[0]["why"]


def test_a_row_for_an_application_the_sheet_was_not_issued_for_is_rejected(tmp_path):
    p = write_score_sheet(tmp_path / "s.xlsx", P, "E1", "张伟", "认定评审", APPS.iloc[:2], sheet_key=KEY,
                          round_code="2026")
    wb = load_workbook(p)
    wb[SHEET].cell(5, 1, "A3")   # a row added by hand
    wb.save(p)
    fill(p, {3: full(0.8), 5: full(0.9)})
    res = read_score_sheet(p, P, KEY)
    assert set(res.scores["application_id"]) == {"A1"}
    assert any(i.row == 5 and i.value == "A3" and "issued for" in i.expected for i in res.issues)
