"""The app's verify-draw page (issue 14 item 3): the round's committed draws, commitment, revealed seed,
MATCH, and MISMATCH naming what differs (reviewer.app.draws over reviewer.store.draws)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from reviewer.app import auth
from reviewer.app import draws as svc_draws
from reviewer.app.ui import MAIN
from reviewer.errors import UserError
from reviewer.store import draws
from reviewer.store.engine import Store
from tests.test_store_support import demo_store

STAGE = "认定评审"


@pytest.fixture()
def drawn(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))   # first: the store's audit key lives in this home
    st = demo_store(url)
    com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=11)
    run, _res, _seed = draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=11, salt=com.salt)
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return url, com, run.id


def test_service_lists_and_verifies(drawn):
    url, com, run_id = drawn
    runs = svc_draws.drawn_runs("2026")
    assert runs["run_id"].tolist() == [run_id] and runs["commitment"].iloc[0] == com.commitment
    assert runs["seed"].iloc[0] == 11 and "秘密种子" in runs["seed_mode"].iloc[0]
    res = svc_draws.verify("2026", run_id)
    assert res["ok"] and res["verdict"] == "一致 MATCH" and not res["differences"]
    with pytest.raises(UserError, match="not a committed draw"):
        svc_draws.verify("2026", run_id + 100)
    # tamper with one stored seat of the run (guards off, as an attacker with database access)
    with Store(url).write() as s:
        s.execute(text("DROP TRIGGER IF EXISTS run_seats_no_update"))
        row = s.execute(text("SELECT id, expert_id FROM run_seats WHERE run_id = :r ORDER BY id LIMIT 1"),
                        {"r": run_id}).one()
        s.execute(text("UPDATE run_seats SET expert_id = 'ZZ9999' WHERE id = :i"), {"i": row.id})
    res = svc_draws.verify("2026", run_id)
    assert not res["ok"] and res["verdict"] == "不一致 MISMATCH"
    assert any("ZZ9999" in d for d in res["differences"])


def test_page_shows_match(drawn):
    _url, com, run_id = drawn
    at = AppTest.from_file(str(MAIN), default_timeout=180)
    at.session_state["round_id"] = "2026"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("views/draws.py").run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label in ("验证", "Verify")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert any("一致 MATCH" in str(e.value) and f"#{run_id}" in str(e.value) for e in at.success)
    shown = "\n".join(str(e.value) for e in at.markdown)
    assert com.commitment in shown and "`11`" in shown
