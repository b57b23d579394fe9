"""`reviewer reproduce RUN_ID`: a recorded planning run of the demo round (all three stages, one
deterministic solver worker) and a recorded aggregation run are rerun from the store alone and
give the identical result; a changed record is reported as a difference."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from sqlalchemy import text

from reviewer.store import repo
from reviewer.store.runs import run_aggregation, run_planning, run_screening
from tests.test_store_support import DEMO, demo_store, run_cli, store_url  # noqa: F401


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('repro') / 'reviewer.sqlite'}"
    st = demo_store(url)
    run, res = run_planning(st, "2026", user="张三", seed=11, time_limit=60, workers=1)
    return url, st, run, res


def test_demo_planning_run_is_recorded_and_reproduced_identically(planned, capsys):
    url, st, run, res = planned
    assert run.status in ("OPTIMAL", "FEASIBLE") and run.stages == ["初审评估", "现场考察", "认定评审"]
    assert run.seed == 11 and run.parameters["workers"] == 1 and run.gap is not None
    assert run.breakdown["affinity"] > 0 and run.wall_seconds > 0
    assert repo.policy_from_text(run.policy_text).sha256 == run.policy_sha256
    with st.read() as s:
        seats = repo.run_seats(s, run.id)
    assert len(seats) == len(res.panels) > 400
    code, out = run_cli(["reproduce", str(run.id), "--db", url], capsys)
    assert code == 0, out
    assert "IDENTICAL" in out and f"{len(seats)} seats compared" in out


def test_reproduce_reports_differences(planned, capsys):
    url, st, run, _ = planned
    with st.engine.begin() as c:   # someone edits a recorded seat of the run
        sid, original = c.execute(text("SELECT id, expert_id FROM run_seats WHERE run_id = :r ORDER BY id LIMIT 1"),
                                  {"r": run.id}).one()
        c.execute(text("UPDATE run_seats SET expert_id = 'ZJ9999' WHERE id = :i"), {"i": sid})
    try:
        code, out = run_cli(["reproduce", str(run.id), "--db", url], capsys)
        assert code == 1 and "DIFFERENT — 2 differences" in out and "ZJ9999" in out
    finally:
        with st.engine.begin() as c:
            c.execute(text("UPDATE run_seats SET expert_id = :e WHERE id = :i"), {"e": original, "i": sid})


def test_screening_and_aggregation_runs_are_reproduced(store_url, capsys):
    st = demo_store(store_url)
    run_s, _ = run_screening(st, "2026", user="张三")
    from reviewer.cli.publication import read_panels
    panels = read_panels(DEMO / "demo_panels.csv")
    raw = pd.read_csv(DEMO / "scores.csv", dtype=str)
    scores = pd.DataFrame({"stage": raw["阶段"], "application_id": raw["申报编号"], "expert_id": raw["专家编号"],
                           "criterion": raw["评分项"], "family": raw["评分项"].str[0],
                           "score": raw["得分"].astype(float), "confidence": None, "void": False})
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.publish(s, r, "现场考察", panels, user="张三", source="demo_panels.csv")
        repo.submit_scores(s, r, scores[scores["stage"] == "现场考察"], user="秘书", source="scores.csv")
    run_a, res = run_aggregation(st, "2026", "现场考察", user="张三", resamples=100)
    assert len(res) == panels.loc[panels["stage"] == "现场考察", "application_id"].nunique()
    # a correction after the run does not change what the run used
    x = scores[scores["stage"] == "现场考察"].iloc[0]
    with st.write() as s:
        repo.correct_score(s, repo.get_round(s, "2026"), x.stage, x.application_id, x.expert_id, x.criterion, 0.0,
                           reason="更正", user="张三")
    for run in (run_s, run_a):
        code, out = run_cli(["reproduce", str(run.id), "--db", store_url], capsys)
        assert code == 0 and "IDENTICAL" in out, out


def test_original_files_changed_after_a_run_are_named(store_url, tmp_path, capsys):
    """Issue 12 hole 5: `reproduce --files DIR` and `verify-inputs` re-hash the files the run read."""
    st = demo_store(store_url)   # imported from reviewer/data/demo/round2026.xlsx
    run, _ = run_screening(st, "2026", user="张三")
    shutil.copy(DEMO / "round2026.xlsx", tmp_path / "round2026.xlsx")
    code, out = run_cli(["verify-inputs", str(run.id), str(tmp_path), "--db", store_url], capsys)
    assert code == 0 and "inputs OK" in out and "一致 unchanged round2026.xlsx" in out, out
    with open(tmp_path / "round2026.xlsx", "ab") as f:   # the file is changed after the run
        f.write(b"\0")
    code, out = run_cli(["verify-inputs", str(run.id), str(tmp_path), "--db", store_url], capsys)
    assert code == 1 and "CHANGED round2026.xlsx" in out and "applications" in out and "INPUTS CHANGED" in out
    code, out = run_cli(["reproduce", str(run.id), "--files", str(tmp_path), "--db", store_url], capsys)
    assert code == 1 and "CHANGED round2026.xlsx" in out and "IDENTICAL" in out   # the store's rerun still agrees
    (tmp_path / "round2026.xlsx").unlink()
    code, out = run_cli(["verify-inputs", str(run.id), str(tmp_path), "--db", store_url], capsys)
    assert code == 1 and "MISSING round2026.xlsx" in out


def test_a_run_whose_stored_rows_were_edited_says_so_instead_of_a_long_diff(store_url, capsys):
    st = demo_store(store_url)
    run, _ = run_screening(st, "2026", user="张三")
    with st.engine.begin() as c:   # the stored input rows are edited after the run
        rid, seq = c.execute(text("SELECT id, seq FROM import_rows WHERE table_name = 'experts' ORDER BY seq "
                                  "LIMIT 1")).one()
        c.execute(text("UPDATE import_rows SET source_row = 999 WHERE id = :i"), {"i": rid})
    code, out = run_cli(["reproduce", str(run.id), "--db", store_url], capsys)
    assert code == 1 and "DIFFERENT — 1 differences" in out
    assert "no longer match the hashes recorded" in out and f"stored row {seq} (experts, source row 999)" in out
