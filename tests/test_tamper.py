"""Tampering with a stored round is caught (issue 12, integrity holes 3 and 4): a change made with
SQL behind the program's back — a seat's status flipped, a seat inserted, a score voided and a new
one inserted, an import row or the policy text edited, the newest audit entries removed, an entry
edited and the chain recomputed — makes `reviewer audit verify` fail naming what changed. Every
case runs on SQLite and on PostgreSQL (`store_url`)."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from sqlalchemy import text

from reviewer.errors import UserError
from reviewer.store import Store, audit, keys, repo
from reviewer.store.publishing import publish_file
from tests.test_store_support import DEMO, demo_store, run_cli, store_url  # noqa: F401

STAGE = "现场考察"


def _panels() -> pd.DataFrame:
    from reviewer.cli.publication import read_panels
    return read_panels(DEMO / "demo_panels.csv")


def score_rows(seats: pd.DataFrame, pol, value: float = 3.0) -> pd.DataFrame:
    rows = [{"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id, "criterion": c.id,
             "family": pol.for_stage(STAGE).rubric.family_of(c.id), "score": min(value, c.max), "confidence": None, "void": False}
            for x in seats.itertuples(index=False) for c in pol.for_stage(STAGE).rubric.criteria]
    return pd.DataFrame(rows)


def published_round(url: str) -> Store:
    """The demo round with 现场考察 published from the demo panels file and the first panel scored."""
    st = demo_store(url)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        publish_file(s, r, STAGE, _panels(), source="demo_panels.csv", sha256=None, user="张三", reason="发布")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, STAGE)
        first = seats[seats["application_id"] == seats["application_id"].iloc[0]]
        repo.submit_scores(s, r, score_rows(first, repo.round_policy(r)), user="李四", source="sheets.xlsx")
    return st


def drop_guards(st: Store) -> None:
    """What an attacker with database rights does first: remove the append-only triggers."""
    with st.engine.begin() as c:
        if st.backend == "sqlite":
            for t in ("audit_log_no_update", "audit_log_no_delete", "assignments_fixed", "scores_fixed"):
                c.execute(text(f"DROP TRIGGER {t}"))
        else:
            c.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
            c.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
            c.execute(text("DROP TRIGGER assignments_guard ON assignments"))
            c.execute(text("DROP TRIGGER scores_guard ON scores"))


def problems(st: Store) -> list[str]:
    with st.read() as s:
        return [str(p) for p in audit.verify(s).problems]


def verify_cli(url: str, capsys) -> tuple[int, str]:
    return run_cli(["audit", "verify", "--db", url], capsys)


def test_a_round_worked_through_the_program_verifies(store_url, capsys):
    st = published_round(store_url)
    with st.read() as s:
        v = audit.verify(s)
        actions = audit.entries_frame(s)["action"].tolist()
    assert v.ok, v.problems
    # the scores are an entry too, and so is the run the panels file was recorded as, and the
    # invitation of the published seats (issue 16: seat responses)
    assert actions == ["round.create", "import", "run.plan", "publication", "seat.invite", "scores"]
    code, out = verify_cli(store_url, capsys)
    assert code == 0 and "audit log OK: 6 entries" in out and "seats, scores, inputs and policy match" in out


def test_seat_status_flipped_with_sql_is_named(store_url, capsys):
    st = published_round(store_url)
    with st.engine.begin() as c:   # the guard allows active -> replaced: no trigger stops this
        sid, app, expert = c.execute(text("SELECT id, application_id, expert_id FROM assignments WHERE role = 'chair' "
                                          "ORDER BY id LIMIT 1")).one()
        c.execute(text("UPDATE assignments SET status = 'replaced' WHERE id = :i"), {"i": sid})
    found = problems(st)
    assert any(f"seat #{sid}" in p and app in p and expert in p and "'replaced' in the table, 'active' in the audit "
               "log" in p for p in found), found
    code, out = verify_cli(store_url, capsys)
    assert code == 1 and "AUDIT LOG TAMPERED" in out and f"seat #{sid}" in out


def test_seat_inserted_with_sql_is_named(store_url):
    st = published_round(store_url)
    with st.engine.begin() as c:   # a new 组长 on a published panel, by plain INSERT
        pid, app = c.execute(text("SELECT panel_id, application_id FROM assignments ORDER BY id LIMIT 1")).one()
        c.execute(text("INSERT INTO assignments (panel_id, stage, application_id, expert_id, role, status, origin, "
                       "created_at) VALUES (:p, :s, :a, 'ZJ0001', 'chair', 'active', 'publication', "
                       "CURRENT_TIMESTAMP)"), {"p": pid, "s": STAGE, "a": app})
    found = problems(st)
    assert any("ZJ0001" in p and app in p and "is not in the audit log" in p for p in found), found


def test_score_voided_and_replaced_with_sql_is_named(store_url):
    st = published_round(store_url)
    with st.engine.begin() as c:
        row = c.execute(text("SELECT id, round_id, stage, application_id, expert_id, criterion, family FROM scores "
                             "ORDER BY id LIMIT 1")).one()
        c.execute(text("UPDATE scores SET void = true WHERE id = :i"), {"i": row.id})
        c.execute(text("INSERT INTO scores (round_id, stage, application_id, expert_id, criterion, family, score, "
                       "submitted_by, submitted_at, source, void) VALUES (:r, :s, :a, :e, :c, :f, 0.0, '李四', "
                       "CURRENT_TIMESTAMP, 'sheets.xlsx', false)"),
                  {"r": row.round_id, "s": row.stage, "a": row.application_id, "e": row.expert_id, "c": row.criterion,
                   "f": row.family})
    found = problems(st)
    assert any(f"score #{row.id}" in p and "void in the table, valid in the audit log" in p for p in found), found
    assert any(row.expert_id in p and "= 0)" in p and "is not in the audit log" in p for p in found), found


def test_import_row_edited_with_sql_is_named(store_url):
    st = demo_store(store_url)
    with st.engine.begin() as c:
        rid, seq, data = c.execute(text("SELECT id, seq, data FROM import_rows WHERE table_name = 'applications' "
                                        "ORDER BY seq LIMIT 1")).one()
        data = json.loads(data) if isinstance(data, str) else data
        data["rd_ratio"] = 0.5 if "rd_ratio" in data else data.get("rd_ratio")
        data["name"] = "改过的名称"
        c.execute(text("UPDATE import_rows SET data = :d WHERE id = :i"), {"d": json.dumps(data, ensure_ascii=False),
                                                                          "i": rid})
    found = problems(st)
    assert any(f"stored row {seq}" in p and "applications" in p and data["application_id"] in p
               and "changed after it was imported" in p for p in found), found


def test_policy_text_edited_with_sql_is_named(store_url, capsys):
    st = demo_store(store_url)
    with st.engine.begin() as c:   # R&D threshold lowered in the round's stored policy (and its hash "fixed")
        policy = c.execute(text("SELECT policy_text FROM rounds")).scalar_one()
        edited = policy.replace("min_rd_ratio_percent = 2.0", "min_rd_ratio_percent = 0.5", 1)
        assert edited != policy
        c.execute(text("UPDATE rounds SET policy_text = :t, policy_sha256 = :h"),
                  {"t": edited, "h": hashlib.sha256(edited.encode()).hexdigest()})
    found = problems(st)
    assert any("round 2026" in p and "policy text was edited" in p for p in found), found
    code, out = verify_cli(store_url, capsys)
    assert code == 1 and "policy text was edited" in out


def test_newest_entries_removed_are_caught_by_the_anchor(store_url, capsys):
    st = published_round(store_url)
    drop_guards(st)
    with st.engine.begin() as c:   # the scores, publication and imported-run entries disappear
        c.execute(text("DELETE FROM audit_log WHERE id >= 3"))
    found = problems(st)
    assert any("the anchor" in p and "records entry #6" in p and "log ends at #2" in p for p in found), found
    code, out = verify_cli(store_url, capsys)
    assert code == 1 and "newest entries were removed" in out


def test_an_entry_edited_and_the_chain_recomputed_fails_the_key_signature(store_url):
    st = published_round(store_url)
    drop_guards(st)
    with st.read() as s:
        df = audit.entries_frame(s)
    prev = None
    with st.engine.begin() as c:   # the forger has database access only: plain SHA-256 recomputed from entry 2 on
        for e in df.itertuples(index=False):
            if e.id < 2:
                prev = e.hash
                continue
            reason = "篡改" if e.id == 2 else e.reason
            h = audit.entry_hash(id=e.id, at=e.time_utc, user_name=e.user, action=e.action, round_code=e.round,
                                 entity=e.entity, reason=reason, before=e.before, after=e.after, prev_hash=prev)
            c.execute(text("UPDATE audit_log SET reason = :r, prev_hash = :p, hash = :h WHERE id = :i"),
                      {"r": reason, "p": prev, "h": h, "i": e.id})
            prev = h
    found = problems(st)
    assert found[0].startswith("entry #2") and "key signature does not match" in found[0], found
    assert any("differs from the anchor" in p for p in found), found
    with st.engine.begin() as c:   # dropping the signatures ("legacy entries") does not help either
        c.execute(text("UPDATE audit_log SET mac = NULL, key_id = NULL"))
    assert any("differs from the anchor" in p for p in problems(st))


def test_without_the_key_nothing_is_written_and_verify_says_why(store_url, monkeypatch, tmp_path):
    st = demo_store(store_url)
    monkeypatch.setenv(keys.KEY_ENV, str(tmp_path / "elsewhere.key"))   # this machine has no copy of the key
    with pytest.raises(UserError, match=r"audit key \(key id [0-9a-f]{16}\) is not on this machine"), st.write() as s:
        repo.add_seat_rule(s, repo.get_round(s, "2026"), "forbid", "初审评估", "ZJ0002", "GX2026-003",
                           reason="专家反映有合作", user="张三")
    keys.create_key()   # another key is not the store's key
    with pytest.raises(UserError, match="is not this store's key"), st.write() as s:
        repo.add_seat_rule(s, repo.get_round(s, "2026"), "forbid", "初审评估", "ZJ0002", "GX2026-003",
                           reason="专家反映有合作", user="张三")
    assert any("not with this store's key" in p for p in problems(st))
    with st.read() as s:   # nothing of the refused acts was written
        assert repo.seat_rules(s, repo.get_round(s, "2026"))["forbid"] == []


def test_the_key_file_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(keys.KEY_ENV, raising=False)
    key = keys.create_key()
    assert len(key) == 32 and keys.read_key() == key and keys.create_key() == key   # made once, then kept
    assert (keys.key_path().stat().st_mode & 0o777) == 0o600
    assert (keys.key_path().parent.stat().st_mode & 0o077) == 0
    keys.key_path().write_text("not hex")
    with pytest.raises(UserError, match="unreadable or damaged"):
        keys.read_key()


def test_a_log_rewritten_from_its_first_entry_or_a_replaced_store_is_named(store_url):
    st = published_round(store_url)
    drop_guards(st)
    with st.engine.begin() as c:   # everything deleted, a fresh round created in its place
        c.execute(text("DELETE FROM audit_log"))
    with st.write() as s:
        repo.create_round(s, "2027", user="王五", as_of="2027-11-01")
    found = problems(st)
    assert any("belongs to a log whose first entry" in p and "rewritten from its start" in p for p in found), found


def test_staff_decisions_added_or_changed_with_sql_are_named(store_url):
    """Waivers, locks/forbids and needs-review decisions steer later runs: they are facts too."""
    st = demo_store(store_url)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.add_seat_rule(s, r, "forbid", "初审评估", "ZJ0002", "GX2026-003", reason="专家反映有合作", user="张三")
        repo.decide_review(s, r, "GX2026-022", "E7", "pass", reason="核实排名", user="李四")
    with st.read() as s:
        assert audit.verify(s).ok
    with st.engine.begin() as c:
        rid = c.execute(text("SELECT id FROM rounds")).scalar_one()
        c.execute(text("INSERT INTO waivers (round_id, expert_id, application_id, rule, reason, created_by, created_at) "
                       "VALUES (:r, 'ZJ0109', 'GX2026-011', 'C6', 'x', '张三', CURRENT_TIMESTAMP)"), {"r": rid})
        c.execute(text("UPDATE review_decisions SET decision = 'fail'"))
        c.execute(text("UPDATE seat_rules SET active = false"))
    found = problems(st)
    assert any("waiver C6 of ZJ0109 × GX2026-011" in p and "not in the audit log" in p for p in found), found
    assert any("GX2026-022 E7 = fail in the table, pass in the audit log" in p for p in found), found
    assert any("forbid 初审评估 ZJ0002 × GX2026-003" in p and "withdrawn in the table" in p for p in found), found


@pytest.mark.parametrize("rehash", [False, True])
def test_a_planning_runs_seat_edited_with_sql_is_named(store_url, rehash):
    """A planning run is an entry of the log (run.plan, with its result hash): a seat of the run edited
    with SQL before publication is named by `audit verify`, even when the run's own result hash is
    recomputed to match (which publishing alone would then accept)."""
    from reviewer.panels.tables import plan_seats
    from reviewer.store.runs import run_planning
    st = demo_store(store_url)
    run, _ = run_planning(st, "2026", user="张三", stages=["初审评估"], seed=5, time_limit=60, workers=1)
    with st.read() as s:
        plan = audit.entries_frame(s)
        assert (plan.action == "run.plan").sum() == 1 and audit.verify(s).ok
    with st.engine.begin() as c:
        sid = c.execute(text("SELECT id FROM run_seats WHERE run_id = :r AND role = 'chair' ORDER BY id LIMIT 1"),
                        {"r": run.id}).scalar_one()
        c.execute(text("UPDATE run_seats SET expert_id = 'ZJ9999' WHERE id = :i"), {"i": sid})
    if rehash:
        with st.read() as s:
            digest = repo.seats_digest(plan_seats(repo.run_seats(s, run.id)))
        with st.engine.begin() as c:
            c.execute(text("UPDATE runs SET result_sha256 = :h WHERE id = :r"), {"h": digest, "r": run.id})
    found = problems(st)
    assert any(f"run #{run.id}" in p and "seats" in p for p in found), found
