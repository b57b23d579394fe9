"""Ranking sign-off (确认发布, issue 13 item 12): a frozen ranking is a recorded, immutable publication in
the store (table, SHA-256, who, when); re-freezing needs a reason and supersedes, never edits. Runs on
SQLite and PostgreSQL (store tests) and through the app's service."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from reviewer.app import ranking as svc_ranking
from reviewer.app import rounds as svc_rounds
from reviewer.errors import UserError
from reviewer.store import audit, repo, signoff
from tests.test_store_support import demo_store, store_url  # noqa: F401

ROWS = [{"rank_overall": 1, "application_id": "SB001", "score": 88.5, "decision_zh": "推荐认定", "ci_low": float("nan")},
        {"rank_overall": 2, "application_id": "SB002", "score": 71.25, "decision_zh": "培育", "ci_low": None}]


def test_freeze_is_recorded_immutable_and_superseded_with_a_reason(store_url):  # noqa: F811
    st = demo_store(store_url)
    try:
        with st.write() as s:
            r = repo.get_round(s, "2026")
            first = signoff.freeze_ranking(s, r, "认定评审", "trimmed", ROWS, user="张三")
        assert len(first.table_sha256) == 64 and first.n_rows == 2 and first.supersedes_id is None
        assert first.table[0]["ci_low"] is None                        # NaN stored as null, never "NaN"
        with st.write() as s:
            r = repo.get_round(s, "2026")
            with pytest.raises(UserError, match="理由"):                # a second freeze needs a reason
                signoff.freeze_ranking(s, r, "认定评审", "trimmed", ROWS, user="李四")
            with pytest.raises(UserError, match="相同"):                # and a change
                signoff.freeze_ranking(s, r, "认定评审", "trimmed", ROWS, user="李四", reason="复核")
            changed = [dict(ROWS[0], score=89.0), ROWS[1]]
            second = signoff.freeze_ranking(s, r, "认定评审", "trimmed", changed, user="李四", reason="更正一处录入错误")
        assert second.supersedes_id == first.id and second.table_sha256 != first.table_sha256
        with st.read() as s:
            r = repo.get_round(s, "2026")
            assert signoff.current(s, r, "认定评审").id == second.id
            assert [p.id for p in signoff.history(s, r, "认定评审")] == [first.id, second.id]
            assert all(signoff.verify(p) for p in signoff.history(s, r))
            acts = [e.action for e in s.query(audit.AuditEntry).order_by(audit.AuditEntry.id)]
        assert acts.count("ranking.publish") == 2
        with st.read() as s:
            assert audit.verify(s).ok                                  # the chain and its facts still agree
        for sql in ("UPDATE ranking_publications SET table_sha256 = 'x'", "DELETE FROM ranking_publications"):
            with pytest.raises(DBAPIError):
                with st.engine.begin() as c:
                    c.execute(text(sql))
    finally:
        st.dispose()


def test_freeze_refuses_an_unknown_stage_and_an_empty_table(store_url):  # noqa: F811
    st = demo_store(store_url)
    try:
        with st.write() as s:
            r = repo.get_round(s, "2026")
            with pytest.raises(UserError):
                signoff.freeze_ranking(s, r, "终审", "trimmed", ROWS, user="张三")
            with pytest.raises(UserError, match="空"):
                signoff.freeze_ranking(s, r, "认定评审", "trimmed", [], user="张三")
    finally:
        st.dispose()


def test_digest_is_of_the_table_not_of_its_key_order():
    a = [{"x": 1, "y": "领域"}]
    b = [{"y": "领域", "x": 1}]
    assert signoff.table_digest(a) == signoff.table_digest(b)
    assert signoff.table_digest(a) != signoff.table_digest([{"x": 2, "y": "领域"}])


# ---------------------------------------------------------------- through the app's service

@pytest.fixture()
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    return svc_rounds.ensure_demo_round()


def test_app_signoff_freezes_the_exported_table_and_the_reports_say_which_version(demo):
    from reviewer.app import signoff as svc_signoff
    assert svc_signoff.in_force(demo, "认定评审") is None
    assert "草稿" in svc_signoff.export_ranking_html(demo, "认定评审")
    p = svc_signoff.freeze(demo, "认定评审", "trimmed", "张三")
    table = pd.DataFrame(p["table"])
    assert {"申报编号", "领域", "汇总得分", "结论"} <= set(table.columns) and len(table) == 40
    assert p["sha256"] == signoff.table_digest(svc_signoff.signoff_rows(demo, "认定评审", "trimmed"))
    h = svc_signoff.export_ranking_html(demo, "认定评审", "trimmed")
    assert f"已确认发布 第 {p['id']} 号" in h and p["sha256"] in h
    # another method is a draft that differs from the signed-off version, and says so
    assert "草稿" in svc_signoff.export_ranking_html(demo, "认定评审", "bayes")
    with pytest.raises(UserError, match="理由"):
        svc_signoff.freeze(demo, "认定评审", "bayes", "张三")
    q = svc_signoff.freeze(demo, "认定评审", "bayes", "李四", reason="改用贝叶斯汇总（专家组会议决定）")
    hist = svc_signoff.signoffs_table(demo, "认定评审")
    assert list(hist["状态"]) == ["在用", "已被取代"] and hist["取代"].iloc[0] == f"#{p['id']}"
    assert (hist["完整性"] == "一致").all() and q["supersedes"] == p["id"]


def test_print_view_has_page_numbers_signatures_and_no_missing_markers(demo):
    from reviewer.app import signoff as svc_signoff
    h = svc_signoff.export_ranking_html(demo, "认定评审", "trimmed")
    assert "&lt;NA&gt;" not in h and "<NA>" not in h and ">nan<" not in h.lower()
    assert "counter(page)" in h and "counter(pages)" in h                    # page numbers on every page
    assert "break-inside:avoid" in h and "table-header-group" in h          # rows whole, header repeated
    assert "经办人（签字）" in h and "负责人（签字）" in h                       # signature block
    assert "去掉最高最低分的平均" in h and "trimmed" not in h                  # the method in Chinese
    assert "td.nowrap{white-space:nowrap}" in h and "<td class='nowrap'>" in h  # 领域 on one line


def test_excel_method_comparison_sheet_is_chinese(demo):
    from reviewer.app import signoff as svc_signoff
    x = pd.ExcelFile(io.BytesIO(svc_signoff.export_ranking_xlsx(demo, "认定评审")))
    assert {"认定排名", "推荐认定", "培育名单", "方法对比", "说明"} <= set(x.sheet_names)
    cmp_ = pd.read_excel(x, sheet_name="方法对比")
    assert list(cmp_.columns[:4]) == ["申报编号", "领域", "去掉最高最低分的平均 得分", "去掉最高最低分的平均 排名"]
    assert not any(c.isascii() and c.replace("_", "").isalpha() for c in cmp_.columns)   # no raw keys
