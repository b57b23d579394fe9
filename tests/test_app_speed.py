"""Issue 13 item 15: the staff app's caches are fast and never stale. Correctness, not timings (the
seconds are benchmarks/app_speed_cpu.py's): a change made behind the app's back by the `reviewer`
commands (another process, same store) is seen on the app's next rerun; the memo is a bounded LRU;
the policy parse cache; links issued in one transaction; mixed-type tables shown as text."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from reviewer.app import auth
from reviewer.app import base
from reviewer.app import conflicts as svc_conflicts
from reviewer.app import imports as svc_imports
from reviewer.app import rounds as svc_rounds
from reviewer.app import store as app_store
from reviewer.app.ui.common import arrow_safe
from reviewer.store import snapshots
from tests.test_store_support import run_cli


@pytest.fixture()
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    base.memo_clear()
    return svc_rounds.ensure_demo_round()


def test_round_settings_changed_by_the_cli_reach_the_apps_cached_policy(demo, capsys):
    stage = svc_rounds.policy_for(demo).stages.order[0]
    before = svc_rounds.policy_for(demo).stages.dates.get(stage)
    assert svc_rounds.policy_for(demo) is svc_rounds.policy_for(demo)      # cached between reruns
    v0 = app_store.version()
    code, out = run_cli(["round", "settings", demo, "--stage", stage, "--date", "2026-12-24", "--reason", "改期",
                         "--db", app_store.url()], capsys)
    assert code == 0, out
    assert app_store.version() != v0
    assert before != "2026-12-24"
    assert svc_rounds.policy_for(demo).stages.dates[stage] == "2026-12-24"   # the next rerun sees it


def test_a_waiver_given_with_the_cli_reaches_the_apps_cached_conflicts(demo, capsys):
    t = svc_conflicts.conflicts(demo).table()
    c6 = t[(t.rule == "C6") & ~t.waived]
    assert not c6.empty, "the demo round has a waivable C6 conflict"
    a, e = c6.application_id.iloc[0], c6.expert_id.iloc[0]
    assert svc_imports.load_bundle(demo) is svc_imports.load_bundle(demo)   # cached
    code, out = run_cli(["waive", "--round", demo, "--expert", e, "--application", a, "--rule", "C6",
                         "--reason", "经核实不存在利害关系", "--db", app_store.url()], capsys)
    assert code == 0, out
    assert any(h.rule == "C6" and h.waived for h in svc_conflicts.conflicts(demo).pair(e, a))
    assert any(d.expert_id == e and d.application_id == a for d in svc_imports.load_bundle(demo).data.declarations
               if d.kind.value == "waiver" or str(d.kind).endswith("WAIVER"))


def test_the_store_version_is_one_value_that_moves_with_any_write(demo):
    svc_conflicts.conflicts(demo)           # the first read records the round's inputs as an import
    v0 = app_store.version()
    assert isinstance(v0, tuple) and v0 == app_store.version()            # reading changes nothing
    # a row changed without an audit entry (as a sender updates an outbox row) moves it too
    with app_store.store().write() as s:
        s.execute(text("UPDATE rounds SET version = version + 1 WHERE code = :c"), {"c": demo})
    v1 = app_store.version()
    assert v1 != v0
    svc_conflicts.conflicts(demo)           # reading through the app changes nothing
    assert app_store.version() == v1


def test_memo_is_a_bounded_lru(monkeypatch):
    base.memo_clear()
    monkeypatch.setattr(base, "MEMO_SIZE", 3)
    made = []

    def make(k):
        return lambda: made.append(k) or k

    for k in "abc":
        base.memo((k,), make(k))
    base.memo(("a",), make("a"))           # a used again: b is now the least recently used
    base.memo(("d",), make("d"))
    assert made == ["a", "b", "c", "d"]
    base.memo(("a",), make("a"))
    base.memo(("b",), make("b"))           # b was evicted: made again
    assert made == ["a", "b", "c", "d", "b"]
    assert len(base._MEMO) == 3


def test_policy_parse_is_cached_by_text_and_date():
    text, src = snapshots.read_policy_text(None)
    p1 = snapshots.policy_from_text(text, "2026-11-01", src)
    assert snapshots.policy_from_text(text, "2026-11-01", src) is p1
    p2 = snapshots.policy_from_text(text, "2027-01-01", src)
    assert p2 is not p1 and (p1.meta.as_of or "") != (p2.meta.as_of or "x") or p1.meta.as_of == p2.meta.as_of
    changed = text.replace("[meta]", "[meta]\n# a comment changes the text", 1)
    p3 = snapshots.policy_from_text(changed, "2026-11-01", src)
    assert p3 is not p1 and p3.sha256 != p1.sha256


def test_links_are_issued_in_one_transaction_and_each_resolves(tmp_path):
    toks = auth.issue_tokens(["ZJ0001", "ZJ0002", "ZJ0003"], days=3, round_id="R1", folder=tmp_path)
    assert len({t for t, _ in toks}) == 3
    got = [auth.resolve_token(t, folder=tmp_path) for t, _ in toks]
    assert [g.expert_id for g in got] == ["ZJ0001", "ZJ0002", "ZJ0003"] and {g.round_id for g in got} == {"R1"}
    with pytest.raises(Exception, match="专家编号不能为空"):
        auth.issue_tokens(["ZJ0004", " "], days=3, round_id="R1", folder=tmp_path)
    import sqlite3
    n = sqlite3.connect(auth.db_path(tmp_path)).execute(
        "SELECT count(*) FROM expert_tokens WHERE expert_id='ZJ0004'").fetchone()[0]
    assert n == 0                                                            # all or none


def test_mixed_type_columns_are_shown_as_text():
    df = pd.DataFrame({"key": ["a", "b", "c"], "value": ["文本", 1.5, None], "n": [1, 2, 3]})
    out = arrow_safe(df)
    assert list(out["value"]) == ["文本", "1.5", ""] and out["n"].dtype == df["n"].dtype
    assert arrow_safe(df[["key", "n"]]) is not None and list(arrow_safe(df[["key", "n"]])["key"]) == ["a", "b", "c"]


def test_the_cached_round_log_shows_each_new_line_at_once(demo):
    seen = set(svc_rounds.audit_log(demo)["action"])
    for i in range(3):   # written within the same clock tick: the file size still changes the key
        svc_rounds.audit(demo, "测试", f"speed_check_{i}")
        assert f"speed_check_{i}" in set(svc_rounds.audit_log(demo)["action"])
    assert "speed_check_0" not in seen
