"""Snapshots the store keeps and reads back without a session's other state: the policy text of a
round (`policy_from_text`, `read_policy_text`) and the records of an import (`data_rows` written by
`reviewer.store.repo.record_import`; `latest_import`, `known_ids`, `load_data`, `import_inputs`,
`import_issues` read them). `reviewer.store.repo` re-exports every name, so callers use `repo.X`.
"""
from __future__ import annotations

import functools
import hashlib
import tomllib
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.intake.model import Application, Declaration, Expert, HistoryRecord, Member, Platform, RoundData
from reviewer.policy import Policy, load_policy
from reviewer.resources import DEFAULT_POLICY_PATH
from reviewer.store.models import ImportFile, ImportIssueRow, ImportRow, ImportSnapshot, Round


# ---------------------------------------------------------------- policy snapshots

def policy_from_text(text: str, as_of: str | None = None, source: str = "(stored policy)") -> Policy:
    """A `Policy` from the stored TOML text (same sha256 as the file it came from), with the round's
    reference date applied when the text leaves it blank. Parsed once per (text, date, source): every
    store call of the app asks for the round's policy, and parsing and validating the TOML cost ~20 ms
    each time. A stored policy text never changes, the key is the text itself, and `Policy` is frozen,
    so a cached one cannot go stale or be changed by a caller."""
    return _policy_from_text(text, as_of, source)


@functools.lru_cache(maxsize=32)
def _policy_from_text(text: str, as_of: str | None, source: str) -> Policy:
    try:
        raw = tomllib.loads(text)
        pol = Policy(**raw, source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise UserError(f"stored policy {source}: invalid ({e})") from None
    if as_of and not pol.meta.as_of:
        pol = pol.model_copy(update={"meta": pol.meta.model_copy(update={"as_of": as_of})})
    return pol


def read_policy_text(path: str | Path | None) -> tuple[str, str]:
    p = Path(path) if path else DEFAULT_POLICY_PATH
    load_policy(p)  # validates, with clear messages
    return p.read_bytes().decode("utf-8"), str(p)


# ---------------------------------------------------------------- import records

TABLE_TYPES = {"applications": Application, "members": Member, "platforms": Platform, "experts": Expert,
                "expert_history": HistoryRecord, "declared_conflicts": Declaration}


def row_json(rec) -> dict:
    return rec.model_dump(mode="json", exclude={"members", "platforms", "history"})


def data_rows(data: RoundData) -> list[tuple[str, Any]]:
    """The linked records of a round as (table, record), in their order."""
    out: list[tuple[str, Any]] = []
    for a in data.applications:
        out.append(("applications", a))
    for a in data.applications:
        out += [("members", m) for m in a.members] + [("platforms", p) for p in a.platforms]
    for e in data.experts:
        out.append(("experts", e))
    for e in data.experts:
        out += [("expert_history", h) for h in e.history]
    out += [("declared_conflicts", d) for d in data.declarations]
    return out


def latest_import(s: Session, r: Round) -> ImportSnapshot:
    snap = s.execute(select(ImportSnapshot).where(ImportSnapshot.round_id == r.id)
                     .order_by(ImportSnapshot.id.desc()).limit(1)).scalar_one_or_none()
    if snap is None:
        raise UserError(f"round {r.code} has no imported data yet (reviewer import --round {r.code} FILE)")
    return snap


def import_inputs(s: Session, import_id: int) -> list[dict]:
    return [{"table": f.table_name, "file": f.file_name, "sheet": f.sheet, "sha256": f.sha256, "rows": f.rows,
             "loaded": f.loaded}
            for f in s.execute(select(ImportFile).where(ImportFile.import_id == import_id)
                               .order_by(ImportFile.id)).scalars()]


def load_data(s: Session, import_id: int, waivers: Iterable[dict] = ()) -> RoundData:
    """Rebuild the round's records from a stored import (no input file needed); staff `waivers`
    (dicts with expert_id, application_id, rule, reason) join as 豁免 declarations."""
    by_table: dict[str, list] = {t: [] for t in TABLE_TYPES}
    for row in s.execute(select(ImportRow).where(ImportRow.import_id == import_id).order_by(ImportRow.seq)).scalars():
        rec = TABLE_TYPES[row.table_name].model_validate({**row.data, "row": row.source_row})
        by_table[row.table_name].append(rec)
    members: dict[str, list] = {}
    for m in by_table["members"]:
        members.setdefault(m.application_id, []).append(m)
    platforms: dict[str, list] = {}
    for p in by_table["platforms"]:
        platforms.setdefault(p.application_id, []).append(p)
    history: dict[str, list] = {}
    for h in by_table["expert_history"]:
        history.setdefault(h.expert_id, []).append(h)
    apps = tuple(a.model_copy(update={"members": tuple(members.get(a.application_id, ())),
                                      "platforms": tuple(platforms.get(a.application_id, ()))})
                 for a in by_table["applications"])
    experts = tuple(e.model_copy(update={"history": tuple(history.get(e.expert_id, ()))})
                    for e in by_table["experts"])
    decl = list(by_table["declared_conflicts"])
    for w in waivers:
        decl.append(Declaration(application_id=w["application_id"], expert_id=w["expert_id"], kind="豁免",
                                declared_by="工作人员", reason=w["reason"], rule=w["rule"]))
    return RoundData(applications=apps, experts=experts, declarations=tuple(decl))


def import_issues(s: Session, import_id: int) -> pd.DataFrame:
    rows = [{"severity": i.severity, "file": i.file, "sheet": i.sheet, "row": i.row, "column": i.column,
             "value": i.value, "expected": i.expected}
            for i in s.execute(select(ImportIssueRow).where(ImportIssueRow.import_id == import_id)
                               .order_by(ImportIssueRow.id)).scalars()]
    return pd.DataFrame(rows, columns=["severity", "file", "sheet", "row", "column", "value", "expected"])


def known_ids(s: Session, r: Round) -> tuple[set[str], set[str]] | None:
    """(expert ids, application ids) of the round's latest import; None when nothing was imported."""
    snap = s.execute(select(ImportSnapshot).where(ImportSnapshot.round_id == r.id)
                     .order_by(ImportSnapshot.id.desc()).limit(1)).scalar_one_or_none()
    if snap is None:
        return None
    rows = s.execute(select(ImportRow.table_name, ImportRow.data).where(
        ImportRow.import_id == snap.id, ImportRow.table_name.in_(("experts", "applications")))).all()
    return ({d["expert_id"] for t, d in rows if t == "experts"},
            {d["application_id"] for t, d in rows if t == "applications"})
