"""The audit log: every manual act is chained by hashes; the database refuses UPDATE/DELETE; an
entry edited directly with SQL (after dropping the guard) makes `reviewer audit verify` fail and
name that entry; `reviewer audit export` writes CSV / XLSX / JSON for inspectors."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from reviewer.store import audit
from reviewer.store import Store, repo
from tests.test_store_support import demo_store, run_cli, store_url  # noqa: F401


def _acts(st: Store) -> None:
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.add_seat_rule(s, r, "lock", "初审评估", "ZJ0023", "GX2026-003", reason="领导指定需说明理由", user="张三")
        repo.add_seat_rule(s, r, "forbid", "初审评估", "ZJ0002", "GX2026-003", reason="专家反映有合作", user="张三")
        repo.add_waiver(s, r, "ZJ0109", "GX2026-011", "C6", reason="申报单位撤回不适宜意见", user="李四")
        repo.decide_review(s, r, "GX2026-022", "E7", "pass", reason="核实排名", user="李四")


def _drop_guards(st: Store) -> None:
    with st.engine.begin() as c:
        if st.backend == "sqlite":
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            c.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def test_chain_records_every_act_and_verifies(store_url):
    st = demo_store(store_url)
    _acts(st)
    with st.read() as s:
        v = audit.verify(s)
        df = audit.entries_frame(s)
    assert v.ok and v.entries == 6
    assert df["action"].tolist() == ["round.create", "import", "lock", "forbid", "waiver", "review_decision"]
    assert df["prev_hash"].iloc[0] == audit.GENESIS
    assert (df["prev_hash"].iloc[1:].values == df["hash"].iloc[:-1].values).all()
    assert json.loads(df["after"].iloc[4]) == {"application_id": "GX2026-011", "expert_id": "ZJ0109", "rule": "C6"}
    assert df["user"].iloc[4] == "李四" and df["reason"].iloc[4] == "申报单位撤回不适宜意见"


def test_database_refuses_update_and_delete_of_entries(store_url):
    st = demo_store(store_url)
    for sql in ("UPDATE audit_log SET reason = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            with st.engine.begin() as c:
                c.execute(text(sql))


def test_edit_by_sql_after_dropping_the_guard_is_named_by_verify(store_url, capsys):
    st = demo_store(store_url)
    _acts(st)
    _drop_guards(st)
    with st.engine.begin() as c:   # someone rewrites the reason of the lock (entry 3)
        c.execute(text("UPDATE audit_log SET reason = '正常抽取' WHERE id = 3"))
    with st.read() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad.entry_id == 3 and v.first_bad.action == "lock"
    assert "edited after it was written" in v.first_bad.what
    code, out = run_cli(["audit", "verify", "--db", store_url], capsys)
    assert code == 1
    assert "AUDIT LOG TAMPERED" in out and "entry #3" in out and "lock" in out and v.first_bad.at in out


def test_rewriting_an_entry_with_a_fresh_hash_or_deleting_one_breaks_the_next_link(store_url):
    st = demo_store(store_url)
    _acts(st)
    with st.read() as s:
        head = audit.verify(s).head
        e4 = audit.entries_frame(s).iloc[3]
    _drop_guards(st)
    # a careful forger recomputes entry 4's own hash: entry 5's link still gives it away
    forged = audit.entry_hash(id=4, at=e4.time_utc, user_name="王五", action="forbid", round_code="2026",
                              entity=e4.entity, reason=e4.reason, before=e4.before, after=e4.after,
                              prev_hash=e4.prev_hash)
    with st.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET user_name = '王五', hash = :h WHERE id = 4"), {"h": forged})
    with st.read() as s:
        v = audit.verify(s)
    # the key signature of entry 4 gives it away (the forger has no key), and entry 5's link too
    assert not v.ok and v.first_bad.entry_id == 4 and "key signature does not match" in v.first_bad.what
    assert any(p.entry_id == 5 and "entry #4 was changed or removed" in p.what for p in v.problems)
    with st.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE id = 6"))  # removing the newest entry
    with st.read() as s:
        assert not audit.verify(s, expect_head=head).ok   # caught against the head noted earlier
        assert any("newest entries were removed" in p.what for p in audit.verify(s).problems)  # and the anchor


def test_export_for_inspectors(store_url, tmp_path, capsys):
    st = demo_store(store_url)
    _acts(st)
    for ext in ("csv", "xlsx", "json"):
        code, out = run_cli(["audit", "export", str(tmp_path / f"audit.{ext}"), "--db", store_url], capsys)
        assert code == 0 and "6 entries, chain OK" in out
    df = pd.read_csv(tmp_path / "audit.csv", encoding="utf-8-sig")
    assert df["action"].tolist()[2:4] == ["lock", "forbid"]
    book = pd.read_excel(tmp_path / "audit.xlsx", sheet_name=None)
    assert bool(book["校验 verification"]["chain_ok"].iloc[0]) is True
    payload = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert len(payload["entries"]) == 6 and payload["verification"]["head_hash"] == df["hash"].iloc[-1]
    code, out = run_cli(["audit", "verify", "--db", store_url], capsys)
    assert code == 0 and "audit log OK: 6 entries" in out
