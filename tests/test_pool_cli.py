"""`reviewer pool` (issue 16 item 6): merge import, penalties (add / list / withdraw), ratings, flags,
the bars of a round and the yearly report (.xlsx safe against formula injection)."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from reviewer.store import pool, repo
from tests.pool_support import USER, add_round, publish_seats, small_store, write_pool_file
from tests.test_planning import small_round
from tests.test_store_support import run_cli


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite"
    st = small_store(path)
    add_round(st, "R2026", "2026-03-15")
    add_round(st, "R2027", "2027-03-15")
    publish_seats(st, "R2026", [("A0", "X002", "chair"), ("A0", "X003", "member")])
    st.dispose()
    return str(path)


def cli(capsys, db, *args):
    return run_cli(["pool", *args, "--db", db], capsys)


def test_pool_commands_end_to_end(db, tmp_path, capsys):
    experts = list(small_round().experts)
    # a hostile name: a formula must reach the report as text
    hostile = experts[1].model_copy(update={"name": "=HYPERLINK(\"http://x\")"})
    code, out = cli(capsys, db, "import", str(write_pool_file(tmp_path / "p1.csv", [experts[0], hostile, *experts[2:8]])),
                    "--user", USER)
    assert code == 0 and "新增 added 8" in out, out
    code, out = cli(capsys, db, "import", str(write_pool_file(tmp_path / "p2.csv", [experts[0], hostile, *experts[3:9]])),
                    "--user", USER, "--reason", "2027 年专家库更新")
    assert code == 0 and "新增 added 1" in out and "退出 left 1" in out and "X002" in out, out

    code, out = cli(capsys, db, "penalty", "add", "--expert", "X001", "--kind", "暂停抽取", "--start", "2025-01-01",
                    "--end", "2026-06-30", "--reason", "无故缺席两次", "--evidence", "桂工信函〔2025〕1号", "--user", USER)
    assert code == 0 and "penalty #1" in out, out
    code, out = cli(capsys, db, "penalty", "add", "--expert", "X001", "--kind", "罚款", "--start", "2025-01-01",
                    "--end", "2026-06-30", "--reason", "r", "--user", USER)
    assert code == 2 and "惩戒类型 '罚款' 不在政策" in out
    code, out = cli(capsys, db, "penalty", "list")
    assert "#1 X001 暂停抽取 2025-01-01..2026-06-30 不可抽取至 barred until 2026-08-30" in out, out

    code, out = cli(capsys, db, "bars", "--round", "R2026")
    assert code == 0 and "P1 专家库资格: X001" in out and "1 项" in out, out
    code, out = cli(capsys, db, "bars", "--round", "R2027")
    assert "0 项" in out, out
    # X002 sits on a published panel of R2026: a penalty recorded afterwards names the seat to replace
    code, out = cli(capsys, db, "penalty", "add", "--expert", "X002", "--kind", "通报批评", "--start", "2026-01-01",
                    "--end", "2026-12-31", "--reason", "迟交评分表", "--user", USER)
    code, out = cli(capsys, db, "bars", "--round", "R2026")
    assert "⚠ 已发布席位 published seat 初审评估 A0 X002" in out and "X003" not in out, out
    code, out = cli(capsys, db, "penalty", "withdraw", "2", "--reason", "误录", "--user", USER)
    assert code == 0

    code, out = cli(capsys, db, "rate", "--expert", "X002", "--round", "R2026", "--rating", "5", "--note", "意见详实",
                    "--user", USER)
    assert code == 0, out
    code, out = cli(capsys, db, "rate", "--expert", "X002", "--round", "R2026", "--rating", "0", "--user", USER)
    assert code == 2 and "1 到 5" in out
    code, out = cli(capsys, db, "flags", "--round", "R2026")
    assert "无偏差标记" in out

    code, out = cli(capsys, db, "show", "--expert", "X001", "--round", "R2026")
    assert "惩戒 penalty #1" in out and "P1 专家库资格 in R2026: 信用惩戒" in out, out
    code, out = cli(capsys, db, "penalty", "withdraw", "1", "--reason", "复核撤销", "--user", USER)
    assert code == 0 and "已撤销" in out
    code, out = cli(capsys, db, "show", "--expert", "X001", "--round", "R2026")
    assert "已撤销 withdrawn" in out and "可抽取 drawable" in out, out

    xlsx = tmp_path / "report.xlsx"
    code, out = cli(capsys, db, "report", "--year", "2026", "--next", "R2027", "--out", str(xlsx))
    assert code == 0 and "2026 年度专家库报告" in out and str(xlsx) in out, out
    wb = load_workbook(xlsx)
    assert {"专家参与 experts", "覆盖 coverage", "缺口 gaps", "惩戒 penalties", "标记 flags"} <= set(wb.sheetnames)
    ws = wb["专家参与 experts"]
    head = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["X002"]["评审席位"] == 1 and rows["X002"]["在库"] is False and rows["X002"]["平均评价"] == 5
    assert rows["X001"]["惩戒记录"] == 1
    assert rows[hostile.expert_id]["姓名"].startswith("'=")          # text, never a live formula
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    gaps = [dict(zip([c.value for c in wb["缺口 gaps"][1]], r)) for r in wb["缺口 gaps"].iter_rows(min_row=2, values_only=True)]
    assert {g["领域"] for g in gaps} == {"汽车", "生物医药"}


def test_pool_seeded_from_a_round_then_merged_from_a_file(db, tmp_path, capsys):
    experts = list(small_round().experts)
    code, out = cli(capsys, db, "import", "--from-round", "R2026", "--user", USER)
    assert code == 0 and f"新增 added {len(experts)}" in out, out
    moved = experts[4].model_copy(update={"phone": "13800000000"})
    path = write_pool_file(tmp_path / "p.csv", [*experts[:4], moved, *experts[5:]])
    code, out = cli(capsys, db, "import", str(path), "--user", USER)
    assert code == 0 and "变更 changed 1" in out and f"未变 unchanged {len(experts) - 1}" in out, out
    assert f"~ {moved.expert_id}: phone" in out
    code, out = cli(capsys, db, "import", "--user", USER)
    assert code == 2 and "二选一" in out


def test_pool_import_refuses_a_bad_file_naming_the_row(db, tmp_path, capsys):
    path = write_pool_file(tmp_path / "bad.csv", list(small_round().experts)[:2])
    path.write_text(path.read_text(encoding="utf-8-sig").replace("正高级", "特级", 1), encoding="utf-8-sig")
    code, out = cli(capsys, db, "import", str(path), "--user", USER)
    assert code == 2 and "专家库文件有 1 处错误，未导入" in out and "第 2 行" in out and "职称级别" in out, out
    st = small_store(db)
    with st.read() as s:
        assert pool.pool_experts(s) == [] and repo.list_rounds(s)
    st.dispose()


def test_flags_from_the_bias_audit_are_kept_as_evidence_only(db, tmp_path, capsys, monkeypatch):
    import pandas as pd

    import reviewer.analytics.stored as stored

    class Audit:
        experts = pd.DataFrame([
            {"expert_id": "X002", "relation_zh": "同城", "raw_effect": 2.4, "q_value": 0.01, "flagged": True,
             "evidence": "同城 3 份评分 +2.40"},
            {"expert_id": "X003", "relation_zh": "同城", "raw_effect": 0.1, "q_value": 0.9, "flagged": False,
             "evidence": "—"}])
    monkeypatch.setattr(stored, "round_bias", lambda store, code: Audit())
    write = write_pool_file(tmp_path / "p.csv", list(small_round().experts)[:5])
    assert cli(capsys, db, "import", str(write), "--user", USER)[0] == 0
    code, out = cli(capsys, db, "flags", "--round", "R2026", "--from-bias", "--user", USER)
    assert code == 0 and "kept 1 new flag(s) of 1" in out and "X002 R2026 关联偏差审计" in out, out
    code, out = cli(capsys, db, "flags", "--round", "R2026", "--from-bias", "--user", USER)
    assert "kept 0 new flag(s)" in out                      # the same flag is not kept twice
    code, out = cli(capsys, db, "bars", "--round", "R2027")
    assert "0 项" in out                                     # a flag never bars
    code, out = cli(capsys, db, "flags", "--from-bias")
    assert code == 2 and "--from-bias 需要 --round" in out
