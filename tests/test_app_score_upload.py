"""An expert's upload on the expert page goes through the store's score rules like `reviewer scores
import`: the store call carries the expert of the link (`as_expert`), a sheet refused for its
signature is recorded in the audit log (the staff upload page too), and another expert's scores are
never touched."""
from __future__ import annotations

import random

import pandas as pd
import pytest
from openpyxl import load_workbook

from reviewer.app import expert_view as svc_expert_view
from reviewer.app import panels as svc_panels
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app import store as app_store
from reviewer.errors import UserError
from reviewer.scoring.scoresheets import META
from tests.factories import fill_score_sheet

STAGE = "初审评估"


@pytest.fixture()
def published(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    app_store._STORES.clear()
    demo = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    svc_panels.publish(demo, STAGE)
    experts = list(dict.fromkeys(app_store.published_seats(demo, STAGE).expert_id))
    return demo, experts[0], experts[1]


def filled_sheet(tmp_path, round_id: str, expert_id: str, seed: int, claim: str | None = None) -> bytes:
    """The expert's own sheet as downloaded from the expert page, filled; with `claim`, its
    `_meta!B1` (the expert id) is changed to another expert's id afterwards (a forgery)."""
    p = tmp_path / f"sheet-{expert_id}-{seed}.xlsx"
    p.write_bytes(svc_expert_view.expert_score_sheet(round_id, expert_id, STAGE))
    fill_score_sheet(p, random.Random(seed), svc_rounds.policy_for(round_id))
    if claim is not None:
        wb = load_workbook(p)
        assert wb[META]["A1"].value == "expert_id"
        wb[META]["B1"].value = claim
        wb.save(p)
    return p.read_bytes()


def test_a_forged_sheet_uploaded_on_the_expert_page_is_refused_and_audited(published, tmp_path):
    demo, me, other = published
    n, issues = svc_scores.import_scores(demo, [("theirs.xlsx", filled_sheet(tmp_path, demo, other, 1))],
                                         only_expert=other)
    assert n > 0 and issues.empty, issues
    before = app_store.scores_frame(demo)
    theirs = before[before.expert_id == other].sort_values(["application_id", "criterion"]).reset_index(drop=True)
    n, issues = svc_scores.import_scores(demo, [("mine.xlsx", filled_sheet(tmp_path, demo, me, 2, claim=other))],
                                         only_expert=me)
    assert n == 0
    assert (issues.severity == "error").any() and issues.expected.str.contains("签名").any(), issues
    log = app_store.audit_entries(demo)
    refused = log[log.action == "score_sheet.refused"]
    assert len(refused) == 1 and other in refused.entity.iloc[0] and "签名" in refused.reason.iloc[0]
    assert refused.user.iloc[0] == me
    after = app_store.scores_frame(demo)
    now = after[after.expert_id == other].sort_values(["application_id", "criterion"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(now, theirs)
    assert len(after) == len(before)


def test_a_forged_sheet_uploaded_by_staff_is_audited_too(published, tmp_path):
    demo, me, other = published
    n, _ = svc_scores.import_scores(demo, [("x.xlsx", filled_sheet(tmp_path, demo, me, 3, claim=other))],
                                    user="staff1")
    assert n == 0
    refused = app_store.audit_entries(demo).query("action == 'score_sheet.refused'")
    assert len(refused) == 1 and refused.user.iloc[0] == "staff1"


def test_the_store_refuses_rows_of_another_expert_for_an_expert_upload(published, tmp_path):
    demo, me, other = published
    seats = app_store.published_seats(demo, STAGE)
    app = seats[seats.expert_id == other].application_id.iloc[0]
    crit = svc_rounds.policy_for(demo).rubric.criteria[0]
    row = pd.DataFrame([{"stage": STAGE, "application_id": app, "expert_id": other, "criterion": crit.id,
                         "family": "", "score": 1.0, "confidence": None, "void": False}])
    with pytest.raises(UserError, match=me):
        app_store.submit_scores(demo, row, me, source="upload", as_expert=me)
    assert app_store.scores_frame(demo).empty
