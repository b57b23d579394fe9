"""Advancement records the aggregation run it was decided from, in the app as in the CLI (stages17c item 1):
one act in the store (reviewer.store.advancement), the run's id on every decision and in the audit entry,
and `reproduce` recomputes the run, also for the app's demo round whose scores are the bundled ones."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from reviewer.app import auth
from reviewer.app import stages as svc
from reviewer.app import store as app_store
from reviewer.app.rounds import DEMO_ROUND_ID as RID
from reviewer.app.rounds import ensure_demo_round
from reviewer.store import repo
from reviewer.store.models import AuditEntry, Run
from reviewer.store.reproduce import reproduce


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    ensure_demo_round()
    return tmp_path


def test_app_advancement_records_its_aggregation_run_and_it_reproduces(appdata):
    res = svc.record(RID, "初审评估", "张三", "初审会议确认")
    assert res["advanced"] == 29 and isinstance(res["run_id"], int)
    dec = svc.decisions(RID)
    assert len(dec) == 29 and set(dec["run_id"]) == {res["run_id"]}
    st = app_store.store()
    with st.read() as s:
        run = repo.get_run(s, res["run_id"])
        assert run.kind == "aggregation" and run.stages == ["初审评估"] and run.created_by == "张三"
        assert "bundled demo scores" in run.inputs[0]["table"]      # the demo round's scores, recorded in the run
        logged = s.execute(select(AuditEntry).where(AuditEntry.action == "stage.advance")).scalars().all()
        assert len(logged) == 1 and f"aggregation run #{res['run_id']}" in logged[0].entity
    again = reproduce(st, res["run_id"])
    assert again.identical and again.recorded == 29, again.differences
    # the veto of 现场考察 comes from the checklist scores of that run too
    site = svc.record(RID, "现场考察", "张三", "现场考察会议确认")
    assert site["advanced"] == 28 and site["run_id"] != res["run_id"]
    assert reproduce(st, site["run_id"]).identical


def test_a_refused_advancement_records_no_run(appdata):
    with app_store.store().read() as s:
        before = len(s.execute(select(Run)).scalars().all())
    with pytest.raises(Exception, match="确认晋级需要说明理由"):
        svc.record(RID, "初审评估", "张三", "  ")
    with app_store.store().read() as s:
        assert len(s.execute(select(Run)).scalars().all()) == before
    assert svc.decisions(RID).empty
