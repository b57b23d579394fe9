"""One truth for a plan: a stage is published from the stored seats of a run, checked against the
result hash recorded when the run was made; a panels file is first checked by the independent
checker and recorded as an "imported" run, then published from that run."""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from sqlalchemy import select, text

from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.panels.tables import plan_seats
from reviewer.store import repo
from reviewer.store.models import Run
from reviewer.store.publishing import publish_file, publish_run
from reviewer.store.runs import run_planning
from tests.test_store_support import DEMO, demo_store, run_cli

STAGE = "初审评估"
PANELS = DEMO / "demo_panels.csv"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    st = demo_store(f"sqlite:///{tmp_path_factory.mktemp('publish') / 'reviewer.sqlite'}")
    run, res = run_planning(st, "2026", user="张三", stages=[STAGE], seed=5, time_limit=60, workers=1)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    return st, run, res


def file_panels():
    from reviewer.cli.publication import read_panels
    return read_panels(PANELS), hashlib.sha256(PANELS.read_bytes()).hexdigest()


def test_run_records_the_hash_of_its_sorted_seats(planned):
    st, run, res = planned
    with st.read() as s:
        stored = repo.run_seats(s, run.id)
    assert plan_seats(stored) == plan_seats(res.panels)
    assert run.result_sha256 == repo.seats_digest(plan_seats(res.panels))


@pytest.mark.parametrize("column, value", [("expert_id", "ZJ9999"), ("role", "member")])
def test_seats_changed_behind_the_programs_back_are_not_published(planned, column, value):
    st, run, _ = planned
    with st.engine.begin() as c:   # someone edits a stored seat of the run (a chair's) with SQL
        sid, original = c.execute(text(f"SELECT id, {column} FROM run_seats WHERE run_id = :r AND role = 'chair' "
                                       "ORDER BY id LIMIT 1"), {"r": run.id}).one()
        c.execute(text(f"UPDATE run_seats SET {column} = :v WHERE id = :i"), {"v": value, "i": sid})
    try:
        with st.write() as s, pytest.raises(UserError, match=rf"run #{run.id}\b.*result hash") as e:
            publish_run(s, repo.get_round(s, "2026"), STAGE, run.id, user="张三", reason="发布")
        assert "结果哈希" in str(e.value)
        with st.read() as s:
            assert repo.publication(s, repo.get_round(s, "2026"), STAGE) is None
    finally:
        with st.engine.begin() as c:
            c.execute(text(f"UPDATE run_seats SET {column} = :v WHERE id = :i"), {"v": original, "i": sid})


def test_a_run_with_its_recorded_seats_is_published_and_carries_the_run_id(planned):
    st, run, res = planned
    with st.write() as s:
        r = repo.get_round(s, "2026")
        with pytest.raises(UserError, match="no seats for stage 认定评审"):
            publish_run(s, r, "认定评审", run.id, user="张三")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        pub = publish_run(s, r, STAGE, run.id, user="张三", reason="发布")
        assert pub.run_id == run.id and pub.source == f"run #{run.id}"
        seats = repo.published_seats(s, r, STAGE)
    assert plan_seats(seats) == plan_seats(res.panels)


def test_a_file_that_breaks_a_rule_is_refused_naming_the_rule(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'reviewer.sqlite'}")
    panels, sha = file_panels()
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data = repo.load_data(s, repo.latest_import(s, r).id)
        cs = detect_conflicts(data, repo.round_policy(r))
    stage = "现场考察"
    app = panels.loc[panels["stage"] == stage, "application_id"].iloc[0]
    on_panel = set(panels.loc[(panels["stage"] == stage) & (panels["application_id"] == app), "expert_id"])
    bad = next(e.expert_id for e in data.experts if cs.is_excluded(e.expert_id, app) and e.expert_id not in on_panel)
    row = panels.index[(panels["stage"] == stage) & (panels["application_id"] == app)
                       & (panels["role"] == "member")][0]
    panels.loc[row, "expert_id"] = bad   # a conflicted expert on the panel
    with st.write() as s, pytest.raises(UserError, match=r"回避 \(excluded_pairs\)") as e:
        publish_file(s, repo.get_round(s, "2026"), stage, panels, source="bad_panels.csv", sha256=sha, user="张三")
    assert f"{stage} {app} {bad}" in str(e.value) and "bad_panels.csv" in str(e.value)
    with st.read() as s:
        assert s.execute(select(Run).where(Run.kind == "imported")).first() is None
        assert repo.publication(s, repo.get_round(s, "2026"), stage) is None


def test_a_good_file_is_recorded_as_an_imported_run_and_published_from_it(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'reviewer.sqlite'}")
    panels, sha = file_panels()
    with st.write() as s:
        r = repo.get_round(s, "2026")
        pub = publish_file(s, r, "现场考察", panels, source=PANELS.name, sha256=sha, user="张三", reason="审定")
        run = repo.get_run(s, pub.run_id)
        assert run.kind == "imported" and run.status == "FEASIBLE"
        assert run.parameters["file_sha256"] == sha and {"table": "panels", "file": PANELS.name, "sha256": sha,
                                                          "rows": len(panels)} in run.inputs
        assert pub.source == f"{PANELS.name} (imported, run #{run.id})"
        published = repo.published_seats(s, r, "现场考察")
        assert run.result_sha256 == repo.seats_digest(plan_seats(repo.run_seats(s, run.id)))
    expected = panels[panels["stage"] == "现场考察"]
    assert plan_seats(published) == plan_seats(expected)
    # the other stage of the same file, published later, is a new imported run (checked again)
    with st.write() as s:
        pub2 = publish_file(s, repo.get_round(s, "2026"), "认定评审", panels, source=PANELS.name, sha256=sha,
                            user="张三")
        assert pub2.run_id not in (None, run.id)


def test_an_imported_run_reproduces_and_a_changed_seat_is_reported(tmp_path):
    from reviewer.store.reproduce import reproduce
    st = demo_store(f"sqlite:///{tmp_path / 'reviewer.sqlite'}")
    panels, sha = file_panels()
    with st.write() as s:
        run_id = publish_file(s, repo.get_round(s, "2026"), "现场考察", panels, source=PANELS.name, sha256=sha,
                              user="张三").run_id
    rep = reproduce(st, run_id)
    assert rep.identical and rep.kind == "imported" and rep.recorded == len(panels)
    with st.engine.begin() as c:
        c.execute(text("UPDATE run_seats SET role = 'member' WHERE run_id = :r AND role = 'chair'"), {"r": run_id})
    rep = reproduce(st, run_id)
    assert not rep.identical
    assert any("chair" in d for d in rep.differences) and any("result hash" in d for d in rep.differences)


def _issue_example_panels(data, pol) -> tuple[pd.DataFrame, dict[str, str]]:
    """The issue's example for 现场考察: a C1-conflicted expert, a credit-banned expert, two 组长 on a
    panel, and a panel for an application that failed screening. Returns the table and what each
    change is (an id the refusal must name)."""
    from reviewer.screening.eligibility import screen
    panels, _ = file_panels()
    stage = "现场考察"
    apps = list(dict.fromkeys(panels.loc[panels["stage"] == stage, "application_id"]))
    cs = detect_conflicts(data, pol)

    def member_row(app):
        return panels.index[(panels["stage"] == stage) & (panels["application_id"] == app) & (panels["role"] == "member")][0]

    on = {a: set(panels.loc[(panels["stage"] == stage) & (panels["application_id"] == a), "expert_id"]) for a in apps}
    c1 = next(e.expert_id for e in data.experts if e.expert_id not in on[apps[0]]
              and any(h.rule == "C1" for h in cs.pair(e.expert_id, apps[0])))
    panels.loc[member_row(apps[0]), "expert_id"] = c1
    banned = next(e.expert_id for e in data.experts if e.status == "信用惩戒" and e.expert_id not in on[apps[1]])
    panels.loc[member_row(apps[1]), "expert_id"] = banned
    panels.loc[member_row(apps[2]), "role"] = "chair"
    failed = next(x.application_id for x in screen(data, pol, {}).summary.itertuples() if x.outcome == "fail")
    copy = panels[(panels["stage"] == stage) & (panels["application_id"] == apps[3])].assign(application_id=failed)
    return pd.concat([panels, copy], ignore_index=True), {"c1": f"{apps[0]} {c1}", "banned": banned,
                                                          "chairs": apps[2], "failed": failed}


def test_the_issue_example_file_is_refused_naming_every_broken_rule(tmp_path, capsys):
    """Issue 12 hole 1: `publish --from-file` with a C1-conflicted expert, a credit-banned expert, two
    组长 on a panel and an application that failed screening is refused (exit 1), naming each."""
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    st = demo_store(url)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data, pol = repo.load_data(s, repo.latest_import(s, r).id), repo.round_policy(r)
    bad, named = _issue_example_panels(data, pol)
    path = tmp_path / "bad_panels.csv"
    bad.to_csv(path, index=False)
    code, out = run_cli(["publish", "--round", "2026", "--stage", "现场考察", "--from-file", str(path), "--db", url,
                         "--user", "张三"], capsys)
    assert code == 2, out   # a refused command (UserError), nothing published
    for what, ident in named.items():
        assert ident in out, (what, out)
    assert "excluded_pairs" in out and "chair" in out and "形式审查" in out
    with st.read() as s:
        assert repo.publication(s, repo.get_round(s, "2026"), "现场考察") is None
