"""随机抽取的公开验证: commitment before the draw, reveal, `reviewer verify-draw` (issue 14 item 3).
One small stage of the demo round (认定评审); the lottery cache makes later draws quick."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from reviewer.errors import UserError
from reviewer.store import audit, draws, repo, runs
from reviewer.store.publishing import publish_run
from tests.test_store_support import demo_store, run_cli
from tests.test_tamper import drop_guards

STAGE = "认定评审"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """A demo store with one committed, revealed and published draw (SQLite)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('vd') / 'r.sqlite'}"
    st = demo_store(url)
    com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=7)
    run, _res, seed = draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=7, salt=com.salt)
    with st.write() as s:
        publish_run(s, repo.get_round(s, "2026"), STAGE, run.id, user="张三")
    return url, st, com, run.id


def _copy(drawn, tmp_path):
    url, *_ = drawn
    src = url.removeprefix("sqlite:///")
    dst = tmp_path / "copy.sqlite"
    dst.write_bytes(open(src, "rb").read())
    return f"sqlite:///{dst}"


def test_commitment_recorded_before_the_draw(drawn):
    _url, st, com, run_id = drawn
    with st.read() as s:
        e = s.get(audit.AuditEntry, com.entry_id)
        rev = s.execute(text("SELECT id, after FROM audit_log WHERE action = 'draw.reveal'")).one()
    assert e.action == "draw.commit" and rev.id > e.id
    body = json.loads(e.after)["body"]
    assert draws.commitment_of(body) == com.commitment
    assert "7" not in json.dumps(body["seed"]) or body["seed"]["mode"] == "secret"
    assert set(body) >= {"inputs_sha256", "policy_sha256", "parameters", "lottery_version", "seed"}
    assert body["parameters"]["q"] > 0 and body["parameters"]["stages"] == [STAGE]
    assert json.loads(rev.after)["run_id"] == run_id and json.loads(rev.after)["seed"] == 7
    with st.read() as s:
        assert audit.verify(s).ok, [str(p) for p in audit.verify(s).problems]


def test_verify_draw_match(drawn, capsys, monkeypatch, tmp_path):
    url, _st, _com, run_id = drawn
    code, out = run_cli(["verify-draw", str(run_id), "--db", url], capsys)
    assert code == 0, out
    assert "MATCH" in out and "MISMATCH" not in out and "published" in out


def test_wrong_seed_refused_at_reveal(drawn, tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'w.sqlite'}")
    com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=7)
    with pytest.raises(UserError, match="种子与承诺不符"):
        draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=8, salt=com.salt)


def test_tampered_input_row_mismatch(drawn, tmp_path, capsys):
    url = _copy(drawn, tmp_path)
    st = repo_store(url)
    drop_guards(st)
    with st.engine.begin() as c:
        rid, data = c.execute(text("SELECT id, data FROM import_rows WHERE table_name = 'experts' ORDER BY seq "
                                   "LIMIT 1")).one()
        data = json.loads(data) if isinstance(data, str) else data
        data["name"] = str(data.get("name", "")) + "改"
        c.execute(text("UPDATE import_rows SET data = :d WHERE id = :i"), {"d": json.dumps(data, ensure_ascii=False),
                                                                           "i": rid})
    code, out = run_cli(["verify-draw", str(drawn[3]), "--db", url], capsys)
    assert code == 1 and "MISMATCH" in out and "输入数据" in out and "stored row" in out, out


def test_tampered_seed_mismatch(drawn, tmp_path, capsys):
    url = _copy(drawn, tmp_path)
    st = repo_store(url)
    with st.engine.begin() as c:
        params = json.loads(c.execute(text("SELECT parameters FROM runs WHERE id = :i"), {"i": drawn[3]}).scalar_one())
        params["seed"] = 8
        c.execute(text("UPDATE runs SET seed = 8, parameters = :p WHERE id = :i"),
                  {"p": json.dumps(params, ensure_ascii=False), "i": drawn[3]})
    code, out = run_cli(["verify-draw", str(drawn[3]), "--db", url], capsys)
    assert code == 1 and "MISMATCH" in out and "seed/commitment mismatch" in out, out


def test_tampered_published_seat_mismatch(drawn, tmp_path, capsys):
    url = _copy(drawn, tmp_path)
    st = repo_store(url)
    drop_guards(st)
    with st.engine.begin() as c:
        sid, app, expert = c.execute(text("SELECT id, application_id, expert_id FROM assignments ORDER BY id LIMIT 1")
                                     ).one()
        other = c.execute(text("SELECT expert_id FROM assignments WHERE expert_id != :e LIMIT 1"),
                          {"e": expert}).scalar_one()
        c.execute(text("UPDATE assignments SET expert_id = :o WHERE id = :i"), {"o": other, "i": sid})
    code, out = run_cli(["verify-draw", str(drawn[3]), "--db", url], capsys)
    assert code == 1 and "MISMATCH" in out and "published panels" in out and app in out and other in out, out


def repo_store(url):
    from reviewer.store import Store
    return Store(url)


def test_two_step_public_value_cli(drawn, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    demo_store(url)
    code, out = run_cli(["draw", "commit", "--round", "2026", "--stage", STAGE, "--db", url, "--user", "张三"], capsys)
    assert code == 0 and "commitment #" in out and "--public-value" in out, out
    entry = out.split("commitment #")[1].split(":")[0]
    commitment = out.split("commitment #")[1].split(": ")[1].split()[0]
    code, out = run_cli(["draw", "reveal", "--round", "2026", "--commit", entry, "--db", url, "--user", "张三"], capsys)
    assert code == 2 and "--public-value" in out, out
    code, out = run_cli(["draw", "reveal", "--round", "2026", "--commit", entry, "--public-value", "2026-12-03 福彩 318",
                         "--db", url, "--user", "张三"], capsys)
    seed = draws.derive_seed(commitment, "2026-12-03 福彩 318")
    assert code == 0 and f"seed {seed}," in out, out
    run_id = out.split("run #")[1].split()[0]
    code, out = run_cli(["draw", "reveal", "--round", "2026", "--commit", entry, "--public-value", "other",
                         "--db", url, "--user", "张三"], capsys)
    assert code == 2 and "already revealed" in out, out
    code, out = run_cli(["verify-draw", run_id, "--db", url], capsys)
    assert code == 0 and "MATCH" in out and "MISMATCH" not in out, out


def test_changed_round_refused_at_reveal(drawn, tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=7)
    with st.read() as s:
        expert = s.execute(text("SELECT data FROM import_rows WHERE table_name = 'experts' ORDER BY seq LIMIT 1")
                           ).scalar_one()
    expert = json.loads(expert) if isinstance(expert, str) else expert
    with st.write() as s:
        r = repo.get_round(s, "2026")
        apps = repo.load_data(s, repo.latest_import(s, r).id).applications
        repo.add_seat_rule(s, r, "forbid", STAGE, expert["expert_id"], apps[0].application_id, user="张三",
                           reason="测试")
    with pytest.raises(UserError, match="parameter forbids"):
        draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=7, salt=com.salt)


def test_one_step_run_assign_randomize(drawn, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'o.sqlite'}"
    demo_store(url)
    code, out = run_cli(["run", "assign", "--round", "2026", "--stage", STAGE, "--randomize", "--seed", "5",
                         "--db", url, "--user", "张三"], capsys)
    assert code == 0 and "commitment #" in out, out
    run_id = out.split("run #")[1].split()[0]
    code, out = run_cli(["verify-draw", run_id, "--db", url], capsys)
    assert code == 0 and "MATCH" in out and "MISMATCH" not in out, out


def test_tampered_run_seat_mismatch(drawn, tmp_path, capsys):
    url = _copy(drawn, tmp_path)
    st = repo_store(url)
    with st.engine.begin() as c:
        sid, expert = c.execute(text("SELECT id, expert_id FROM run_seats ORDER BY id LIMIT 1")).one()
        other = c.execute(text("SELECT expert_id FROM run_seats WHERE expert_id != :e LIMIT 1"),
                          {"e": expert}).scalar_one()
        c.execute(text("UPDATE run_seats SET expert_id = :o WHERE id = :i"), {"o": other, "i": sid})
    code, out = run_cli(["verify-draw", str(drawn[3]), "--db", url], capsys)
    assert code == 1 and "MISMATCH" in out and "stored seats" in out and other in out, out


def test_run_without_commitment_is_not_verifiable(drawn, tmp_path, capsys):
    url = _copy(drawn, tmp_path)
    screening = runs.run_screening(repo_store(url), "2026", user="张三")[0].id
    code, out = run_cli(["verify-draw", str(screening), "--db", url], capsys)
    assert code == 2 and "没有随机抽取承诺" in out, out


def test_app_random_draw_is_committed_and_verifies(tmp_path, monkeypatch):
    """The app's 随机抽取 (with another stage's draft held fixed) goes through the commitment too."""
    from reviewer.app import panels as svc_panels
    from reviewer.app import rounds as svc_rounds
    from reviewer.app import store as app_store
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    app_store._STORES.clear()
    rid = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(rid, "现场考察", seed=1, time_limit=20)
    svc_panels.plan_stage(rid, STAGE, randomize=True, seed=3, time_limit=20)
    st = app_store.store()
    with st.read() as s:
        run_id = max(x.id for x in repo.runs_of(s, repo.get_round(s, rid)))
        fixed = repo.get_run(s, run_id).parameters["fixed"]
    assert fixed and all(x[0] == "现场考察" for x in fixed)
    v = draws.verify_draw(st, run_id)
    assert v.ok, v.lines()
