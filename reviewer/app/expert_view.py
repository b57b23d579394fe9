"""The expert's own view (the personal link): only this expert's seats in published plans and their
score sheet. Nothing about the other members of a panel or any scores."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import policy_for
from reviewer.errors import UserError
from reviewer.panels.tables import ROLE_ZH
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.store import keys

COLS = ["stage", "date", "application_id", "name", "field", "lead_city", "role_zh"]


def expert_assignments(round_id: str, expert_id: str) -> pd.DataFrame:
    """This expert's seats in published plans: stage, date, application, role."""
    policy = policy_for(round_id)
    apps = {a.application_id: a for a in load_bundle(round_id).data.applications}
    rows = []
    for s in policy.stages.order:
        if app_store.publication(round_id, s) is None:
            continue
        seats = app_store.published_seats(round_id, s)
        day = policy.stages.date_of(s)
        for r in seats[seats["expert_id"] == expert_id].itertuples(index=False):
            a = apps.get(r.application_id)
            rows.append({"stage": s, "date": day.isoformat() if day else "", "application_id": r.application_id,
                         "name": a.name if a else "", "field": a.field if a else "",
                         "lead_city": a.lead_city if a else "", "role_zh": ROLE_ZH.get(r.role, r.role)})
    return pd.DataFrame(rows, columns=COLS)


def expert_name(round_id: str, expert_id: str) -> str:
    try:
        return load_bundle(round_id).data.expert(expert_id).name
    except KeyError:
        return ""


def expert_score_sheet(round_id: str, expert_id: str, stage: str) -> bytes:
    mine = expert_assignments(round_id, expert_id)
    mine = mine[mine["stage"] == stage]
    if mine.empty:
        raise UserError(f"no published assignment in {stage}")
    with tempfile.TemporaryDirectory() as tmp:
        p = write_score_sheet(Path(tmp) / "sheet.xlsx", policy_for(round_id), expert_id,
                              expert_name(round_id, expert_id), stage, mine[["application_id", "name", "field"]],
                              sheet_key=keys.round_sheet_key(round_id), round_code=round_id)
        return p.read_bytes()
