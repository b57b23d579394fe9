"""`reviewer publish --run N` refuses a plan made before a later import, lock, forbid, waiver,
decision or publication (the same store function the app uses: reviewer.store.publishing.stale_reasons),
says what changed, and publishes it as it is only with --confirm-stale --reason, recorded in the
audited publication."""
from __future__ import annotations

import pytest

from reviewer.store import audit, repo
from reviewer.store.runs import run_planning
from tests.test_store_support import demo_store, run_cli

STAGE = "初审评估"


@pytest.fixture()
def planned(tmp_path):
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    st = demo_store(url)
    run, res = run_planning(st, "2026", user="张三", stages=[STAGE], seed=5, time_limit=60, workers=1)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    seats = res.panels
    app = seats.application_id.iloc[0]
    with st.read() as s:
        experts = [e.expert_id for e in repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id).experts]
    unused = next(e for e in experts if not ((seats.expert_id == e) & (seats.application_id == app)).any())
    return url, st, run, app, unused


def forbid(st, expert: str, app: str) -> None:
    with st.write() as s:
        repo.add_seat_rule(s, repo.get_round(s, "2026"), "forbid", STAGE, expert, app, reason="与申报单位有合作项目",
                           user="李四")


def publication_entries(st):
    with st.read() as s:
        log = audit.entries_frame(s, round_code="2026")
    return log[log.action == "publication"]


def test_a_current_run_is_published_without_confirmation(planned, capsys):
    url, st, run, _, _ = planned
    code, out = run_cli(["publish", "--round", "2026", "--stage", STAGE, "--run", str(run.id), "--db", url], capsys)
    assert code == 0, out


def test_a_forbid_after_planning_makes_the_cli_refuse_and_say_what_changed(planned, capsys):
    url, st, run, app, unused = planned
    forbid(st, unused, app)
    args = ["publish", "--round", "2026", "--stage", STAGE, "--run", str(run.id), "--db", url]
    code, out = run_cli(args, capsys)
    assert code != 0 and "已过期" in out and unused in out and app in out and "禁止" in out, out
    assert "--confirm-stale" in out and "Traceback" not in out
    with st.read() as s:
        assert repo.publication(s, repo.get_round(s, "2026"), STAGE) is None
    code, out = run_cli(args + ["--confirm-stale"], capsys)           # a confirmation needs a reason
    assert code != 0 and "--reason" in out, out
    code, out = run_cli(args + ["--confirm-stale", "--reason", "  "], capsys)
    assert code != 0, out
    with st.read() as s:
        assert repo.publication(s, repo.get_round(s, "2026"), STAGE) is None
    code, out = run_cli(args + ["--confirm-stale", "--reason", "专家组已线下核对，差异可接受"], capsys)
    assert code == 0, out
    pub = publication_entries(st)
    assert len(pub) == 1
    text = pub.reason.iloc[0] + str(pub.after.iloc[0])
    assert "已过期方案经确认发布" in text and "专家组已线下核对" in text and unused in text


def test_a_newer_import_makes_the_run_stale(planned, capsys):
    url, st, run, _, _ = planned
    from tests.test_store_support import demo_loaded
    data, report = demo_loaded()
    with st.write() as s:
        repo.record_import(s, repo.get_round(s, "2026"), data, report, user="张三", source="again.xlsx")
    code, out = run_cli(["publish", "--round", "2026", "--stage", STAGE, "--run", str(run.id), "--db", url], capsys)
    assert code != 0 and "新的导入" in out, out
