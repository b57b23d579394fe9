"""The review store: schema on first use, rounds, imports that land whole or not at all (also when
the writer is killed), immutable publications, recorded repairs with optimistic concurrency,
scores kept as submitted, annual evaluations. Runs on SQLite and on PostgreSQL (see
tests/test_store_support.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from reviewer.store import audit
from reviewer.errors import UserError
from reviewer.store import ConcurrentEditError, Store, evaluations, replacement, repo
from reviewer.store.engine import MIGRATIONS
from reviewer.store.models import Assignment, AuditEntry, ImportRow, ImportSnapshot, Score
from tests.test_store_support import DEMO, demo_loaded, demo_store, run_cli, store_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def demo_panels(stage: str | None = None) -> pd.DataFrame:
    from reviewer.cli.publication import read_panels
    df = read_panels(DEMO / "demo_panels.csv")
    return df if stage is None else df[df["stage"] == stage]


def migration_head() -> str:
    """The newest migration (the head of reviewer/store/migrations): a new migration moves it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_schema_created_on_first_use_in_reviewer_home(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    st = Store()
    assert Path(st.url.removeprefix("sqlite:///")) == tmp_path / "home" / "reviewer.sqlite"
    assert (tmp_path / "home" / "reviewer.sqlite").exists()
    with st.engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == migration_head()
    assert {"rounds", "imports", "import_rows", "runs", "run_seats", "publications", "assignments", "scores",
            "rankings", "annual_evaluations", "audit_log", "waivers", "seat_rules", "review_decisions",
            "outbox", "opinions", "panel_opinions"} <= set(st.tables())
    Store()  # second open: nothing to migrate


def test_round_and_import_roundtrip(store_url):
    st = demo_store(store_url)
    data, report = demo_loaded()
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert [x.code for x in repo.list_rounds(s)] == ["2026"]
        assert repo.round_policy(r).as_of_date().isoformat() == "2026-11-01"
        snap = repo.latest_import(s, r)
        # the stored rows rebuild exactly the records the runs use: no input file needed
        assert repo.load_data(s, snap.id) == data
        files = repo.import_inputs(s, snap.id)
        assert {f["table"] for f in files} == set(report.tables)
        assert all(f["sha256"] == report.tables[f["table"]].sha256 for f in files)
        with pytest.raises(UserError, match="no round '2027'"):
            repo.get_round(s, "2027")
    with st.write() as s, pytest.raises(UserError, match="exists already"):
        repo.create_round(s, "2026", user="张三")


def test_import_lands_whole_or_not_at_all(store_url):
    st = demo_store(store_url)
    data, report = demo_loaded()
    with pytest.raises(RuntimeError):
        with st.write() as s:
            repo.record_import(s, repo.get_round(s, "2026"), data, report, user="李四", source="second.xlsx")
            raise RuntimeError("power cut after the rows were written")
    with st.read() as s:
        assert s.execute(select(func.count()).select_from(ImportSnapshot)).scalar() == 1
        assert audit.count(s) == 2 and audit.verify(s).ok


def test_killing_the_writer_mid_import_keeps_committed_data_and_drops_the_partial_import(store_url, tmp_path):
    st = demo_store(store_url)
    with st.read() as s:
        committed = s.execute(select(func.count()).select_from(ImportRow)).scalar()
        entries = audit.count(s)
    progress = tmp_path / "progress"
    env = {**os.environ, "REVIEWER_TEST_SLOW_IMPORT": "0.01", "REVIEWER_TEST_IMPORT_PROGRESS": str(progress),
           "PYTHONPATH": str(ROOT)}
    code = ("import sys; from reviewer.cli.main import main; "
            f"main(['import', '--round', '2026', {str(DEMO / 'round2026.xlsx')!r}, '--db', {store_url!r}, '--user', 'w'])")
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        seen = progress.read_text().strip() if progress.exists() else ""
        if seen.isdigit() and int(seen) >= 100:
            break
        if child.poll() is not None:
            pytest.fail(f"writer ended before it was killed: {child.stdout.read().decode()}")
        time.sleep(0.02)
    else:
        child.kill()
        pytest.fail("the writer never got to row 100")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    st.dispose()
    st2 = Store(store_url)
    deadline = time.time() + 30  # PostgreSQL ends the dead backend's transaction asynchronously
    while True:
        with st2.read() as s:
            n_imports = s.execute(select(func.count()).select_from(ImportSnapshot)).scalar()
            n_rows = s.execute(select(func.count()).select_from(ImportRow)).scalar()
        if n_imports == 1 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert n_imports == 1, "the killed import must be absent"
    assert n_rows == committed, "no row of the killed import may remain"
    data, _ = demo_loaded()
    with st2.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.load_data(s, repo.latest_import(s, r).id) == data
        assert audit.count(s) == entries and audit.verify(s).ok
    # the store is usable again at once (no lock left behind)
    with st2.write() as s:
        repo.record_import(s, repo.get_round(s, "2026"), *demo_loaded(), user="w", source="again")
    st2.dispose()


def test_published_assignment_is_immutable(store_url):
    st = demo_store(store_url)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.publish(s, r, "现场考察", demo_panels(), user="张三", reason="正式发布", source="demo_panels.csv")
    with st.write() as s, pytest.raises(UserError, match="published already"):
        repo.publish(s, repo.get_round(s, "2026"), "现场考察", demo_panels(), user="张三")
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), "现场考察")
        assert len(seats) == len(demo_panels("现场考察")) and (seats["panel_version"] == 1).all()
        target = int(seats["assignment_id"].iloc[0])
    for sql in (f"UPDATE assignments SET expert_id = 'ZJ9999' WHERE id = {target}",
                f"DELETE FROM assignments WHERE id = {target}",
                "DELETE FROM publications",
                f"UPDATE assignments SET status = 'bogus' WHERE id = {target}"):
        with pytest.raises(DBAPIError, match="immutable|cannot be changed"):
            with st.engine.begin() as c:
                c.execute(text(sql))
    with st.read() as s:
        assert len(repo.published_seats(s, repo.get_round(s, "2026"), "现场考察")) == len(seats)


def _free_expert(data, app_id: str, panel: list[str], policy) -> str:
    from reviewer.conflicts.detector import detect_conflicts
    cs = detect_conflicts(data, policy)
    employers = {data.expert(e).employer_key for e in panel}
    for e in data.experts:
        if (e.expert_id not in panel and e.drawable and not cs.is_excluded(e.expert_id, app_id)
                and e.employer_key not in employers):
            return e.expert_id
    raise AssertionError("no free expert")


def test_replacement_is_recorded_and_a_concurrent_edit_is_refused(store_url):
    st = demo_store(store_url)
    data, _ = demo_loaded()
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.publish(s, r, "现场考察", demo_panels(), user="张三", source="demo_panels.csv")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, "现场考察")
        pol = repo.round_policy(r)
    app_id = seats["application_id"].iloc[0]
    panel = seats.loc[seats["application_id"] == app_id, "expert_id"].tolist()
    seen_version = int(seats["panel_version"].iloc[0])          # both staff opened version 1
    with st.read() as s:   # a replacement that keeps every rule (the checked repair's pick)
        new1, _ = replacement.pick_replacement(s, repo.get_round(s, "2026"), "现场考察", app_id, panel[1], data)
    new2 = _free_expert(data, app_id, panel + [new1], pol)
    with st.write() as s:                                          # staff A saves first
        replacement.replace_expert(s, repo.get_round(s, "2026"), "现场考察", app_id, panel[1], new1,
                                   reason="专家因病请假", user="张三", expected_version=seen_version, data=data)
    with pytest.raises(ConcurrentEditError, match="changed by someone else") as err:
        with st.write() as s:                                      # staff B saves the stale view
            replacement.replace_expert(s, repo.get_round(s, "2026"), "现场考察", app_id, panel[2], new2,
                                       reason="出差", user="李四", expected_version=seen_version, data=data)
    assert isinstance(err.value, UserError)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        now = repo.published_seats(s, r, "现场考察", include_replaced=True)
        mine = now[now["application_id"] == app_id]
        assert sorted(mine.loc[mine["status"] == "active", "expert_id"]) == sorted([x for x in panel if x != panel[1]] + [new1])
        assert mine.loc[mine["expert_id"] == panel[1], "status"].tolist() == ["replaced"]
        assert int(mine["panel_version"].iloc[0]) == 2
        last = s.execute(select(AuditEntry).where(~AuditEntry.action.like("seat.%"))
                         .order_by(AuditEntry.id.desc())).scalars().first()   # the seat responses follow it
        assert last.action == "replacement" and last.reason == "专家因病请假" and panel[1] in last.before
    # a replacement with a conflict of interest is refused
    from reviewer.conflicts.detector import detect_conflicts
    cs = detect_conflicts(data, pol)
    conflicted = next(e for e in cs.expert_ids if cs.is_excluded(e, app_id) and data.expert(e).drawable)
    with pytest.raises(UserError, match="conflict of interest"):
        with st.write() as s:
            replacement.replace_expert(s, repo.get_round(s, "2026"), "现场考察", app_id, panel[2], conflicted,
                                       reason="x", user="张三", data=data)


def test_scores_are_kept_as_submitted_and_corrections_void_the_old_one(store_url):
    st = demo_store(store_url)
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), "现场考察", demo_panels(), user="张三", source="demo_panels.csv")
    raw = pd.read_csv(DEMO / "scores.csv", dtype=str)
    raw = raw[raw["阶段"] == "现场考察"].head(46)      # the file starts with 初审评估, not published here
    df = pd.DataFrame({"stage": raw["阶段"], "application_id": raw["申报编号"], "expert_id": raw["专家编号"],
                       "criterion": raw["评分项"], "family": raw["评分项"].str[0], "score": raw["得分"].astype(float),
                       "confidence": None, "void": False})
    with st.write() as s:
        assert repo.submit_scores(s, repo.get_round(s, "2026"), df, user="秘书", source="scores.csv") == 46
    resub = df.head(1).assign(score=1.0)
    with st.write() as s:
        repo.submit_scores(s, repo.get_round(s, "2026"), resub, user="秘书", source="resubmitted.xlsx")
    x = df.iloc[1]
    with st.write() as s:
        repo.correct_score(s, repo.get_round(s, "2026"), x.stage, x.application_id, x.expert_id, x.criterion, 2.5,
                           reason="专家来函更正笔误", user="张三")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        valid = repo.scores_frame(s, r)
        every = repo.scores_frame(s, r, include_void=True)
        assert len(valid) == 46 and len(every) == 48
        voided = every[every["void"]]
        assert sorted(voided["score"]) == sorted([float(df.score.iloc[0]), float(x.score)])
        assert set(valid.loc[valid["criterion"].isin([df.criterion.iloc[0], x.criterion]) &
                             (valid["application_id"] == x.application_id) & (valid["expert_id"] == x.expert_id),
                             "score"]) >= {1.0, 2.5}
        assert s.execute(select(AuditEntry.action).order_by(AuditEntry.id.desc())).scalars().first() == "score_correction"
        sid = int(valid["score_id"].iloc[0])
    with pytest.raises(DBAPIError, match="as submitted"):
        with st.engine.begin() as c:
            c.execute(text(f"UPDATE scores SET score = 0 WHERE id = {sid}"))


def test_needs_review_decisions_and_settings_use_optimistic_versions(store_url):
    st = demo_store(store_url)
    with st.write() as s:
        repo.decide_review(s, repo.get_round(s, "2026"), "GX2026-022", "E7", "pass", reason="核实排名", user="张三")
    with st.write() as s:
        repo.decide_review(s, repo.get_round(s, "2026"), "GX2026-022", "E7", "fail", reason="复核不通过",
                           user="李四", expected_version=1)
    with pytest.raises(ConcurrentEditError, match="changed this decision"):
        with st.write() as s:
            repo.decide_review(s, repo.get_round(s, "2026"), "GX2026-022", "E7", "pass", reason="stale",
                               user="王五", expected_version=1)
    with st.write() as s:
        repo.update_round_settings(s, repo.get_round(s, "2026"), {"site_start": "2026-12-07"}, user="张三",
                                   expected_version=1)
    with pytest.raises(ConcurrentEditError):
        with st.write() as s:
            repo.update_round_settings(s, repo.get_round(s, "2026"), {"site_start": "2026-12-08"}, user="李四",
                                       expected_version=1)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.review_overrides(s, r)[("GX2026-022", "E7")][0] == "fail"
        assert r.settings["site_start"] == "2026-12-07" and r.version == 2
        assert audit.verify(s).ok


def test_annual_evaluations_table(store_url):
    st = Store(store_url)
    with st.write() as s:
        evaluations.record_evaluation(s, "GX2023-004", 2025, user="考核组", total=86.5, band="良好", state="试点",
                               indicators={"contracts": 12})
    with st.write() as s, pytest.raises(UserError, match="already has an evaluation"):
        evaluations.record_evaluation(s, "GX2023-004", 2025, user="考核组")


def test_cli_rounds_import_and_one_line_errors(tmp_path, capsys):
    db = str(tmp_path / "cli.sqlite")
    code, out = run_cli(["round", "create", "2026", "--as-of", "2026-11-01", "--db", db, "--user", "张三"], capsys)
    assert code == 0 and "round 2026 created" in out
    code, out = run_cli(["import", "--round", "2026", str(DEMO / "round2026.xlsx"), "--db", db, "--user", "张三"], capsys)
    assert code == 0 and "import #1" in out and "1253 records" in out
    code, out = run_cli(["round", "list", "--db", db], capsys)
    assert code == 0 and out.startswith("2026\t")
    code, out = run_cli(["round", "show", "2026", "--db", db], capsys)
    assert "experts: round2026.xlsx [专家库]" in out
    code, out = run_cli(["import", "--round", "2030", str(DEMO / "round2026.xlsx"), "--db", db], capsys)
    assert code == 2 and "no round '2030'" in out and "Traceback" not in out
    code, out = run_cli(["lock", "--round", "2026", "-s", "初审评估", "-e", "ZJ0001", "-a", "GX2026-001",
                         "--reason", "", "--db", db], capsys)
    assert code == 2 and "needs a reason" in out
