"""The staff app's link to the round store (reviewer.store, issue 5).

The store is the record of everything a person decides or that must not change afterwards:
the round and each import (files, hashes, rows), needs-review decisions, waivers, locks and forbids,
publications, replacements of published seats, submitted scores and the hash-chained audit log.
The app's round folder (reviewer.app.service) keeps working copies: uploaded files, draft plans,
UI state. Every function here opens its own short transaction.

Database: $REVIEWER_DB_URL, else SQLite `reviewer.sqlite` in the app data folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from reviewer.store import audit as chain
from reviewer.errors import UserError
from reviewer.store import models as m
from reviewer.store import repo
from reviewer.store.engine import Store

_STORES: dict[str, Store] = {}
_LOCK = threading.RLock()
APP_USER = "app"


def url() -> str:
    if os.environ.get("REVIEWER_DB_URL"):
        return os.environ["REVIEWER_DB_URL"]
    from reviewer.app.service import data_dir
    return f"sqlite:///{data_dir() / 'reviewer.sqlite'}"


def store() -> Store:
    u = url()
    with _LOCK:
        if u not in _STORES:
            _STORES[u] = Store(u)
        return _STORES[u]


def version() -> int:
    """Grows with every recorded act (the audit chain's length): part of the app's cache keys."""
    with store().read() as s:
        return chain.count(s)


def _user(user: str | None) -> str:
    return (user or "").strip() or APP_USER


# ---------------------------------------------------------------- rounds and imports

def ensure_round(round_id: str, name: str, as_of: str | None, user: str | None = None) -> None:
    with store().read() as s:
        if s.execute(select(m.Round.id).where(m.Round.code == round_id)).scalar_one_or_none() is not None:
            return
    try:
        with store().write() as s:
            repo.create_round(s, round_id, user=_user(user), name=name, as_of=as_of)
    except UserError:
        pass  # created by a concurrent session


def sources_digest(sources: dict) -> str:
    return hashlib.sha256(json.dumps(sources, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def ensure_import(round_id: str, folder: Path, sources: dict, data, report, user: str | None = None) -> int | None:
    """Record the round's current inputs as the latest import when they changed. Returns the import id."""
    marker = folder / "store.json"
    digest = sources_digest(sources)
    try:
        known = json.loads(marker.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        known = {}
    if known.get("sources") == digest and known.get("url") == url():
        return known.get("import_id")
    if not data.applications and not data.experts:
        return None
    with _LOCK:
        with store().write() as s:
            r = repo.get_round(s, round_id)
            snap = repo.record_import(s, r, data, report, user=_user(user),
                                      source="app: " + ", ".join(sorted({v[0] for v in sources.values()})))
            import_id = snap.id
        marker.write_text(json.dumps({"sources": digest, "url": url(), "import_id": import_id}), encoding="utf-8")
    return import_id


# ---------------------------------------------------------------- decisions, waivers, seat rules

def review_decisions(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.ReviewDecision).where(m.ReviewDecision.round_id == r.id)
                         .order_by(m.ReviewDecision.id)).scalars()
        return [{"application_id": d.application_id, "rule": d.rule, "outcome": d.decision, "reason": d.reason,
                 "user": d.decided_by, "at": d.decided_at.isoformat(timespec="seconds")} for d in rows]


def decide_review(round_id: str, application_id: str, rule: str, outcome: str, reason: str, user: str | None) -> None:
    with store().write() as s:
        repo.decide_review(s, repo.get_round(s, round_id), application_id, rule, outcome, reason=reason,
                           user=_user(user))


def waivers(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.Waiver).where(m.Waiver.round_id == r.id).order_by(m.Waiver.id)).scalars()
        return [{"application_id": w.application_id, "expert_id": w.expert_id, "rule": w.rule, "reason": w.reason,
                 "user": w.created_by, "at": w.created_at.isoformat(timespec="seconds")} for w in rows]


def add_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str, user: str | None) -> None:
    with store().write() as s:
        r = repo.get_round(s, round_id)
        exists = s.execute(select(m.Waiver.id).where(m.Waiver.round_id == r.id, m.Waiver.expert_id == expert_id,
                                                     m.Waiver.application_id == application_id,
                                                     m.Waiver.rule == rule)).scalar_one_or_none()
        if exists is not None:
            raise UserError(f"{expert_id} – {application_id} {rule} is waived already")
        repo.add_waiver(s, r, expert_id, application_id, rule, reason=reason, user=_user(user))


def seat_rules(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.SeatRule).where(m.SeatRule.round_id == r.id, m.SeatRule.active)
                         .order_by(m.SeatRule.id)).scalars()
        return [{"stage": x.stage, "kind": x.kind, "expert_id": x.expert_id, "application_id": x.application_id,
                 "reason": x.reason, "user": x.created_by, "at": x.created_at.isoformat(timespec="seconds")}
                for x in rows]


def add_seat_rule(round_id: str, stage: str, kind: str, expert_id: str, application_id: str, reason: str,
                  user: str | None) -> None:
    with store().write() as s:
        r = repo.get_round(s, round_id)
        for other in ("lock", "forbid"):  # a pair is locked or forbidden, not both
            s.execute(update(m.SeatRule).where(m.SeatRule.round_id == r.id, m.SeatRule.stage == stage,
                                               m.SeatRule.expert_id == expert_id,
                                               m.SeatRule.application_id == application_id,
                                               m.SeatRule.kind == other, m.SeatRule.active).values(active=False))
        old = s.execute(select(m.SeatRule).where(m.SeatRule.round_id == r.id, m.SeatRule.kind == kind,
                                                 m.SeatRule.stage == stage, m.SeatRule.expert_id == expert_id,
                                                 m.SeatRule.application_id == application_id)).scalar_one_or_none()
        if old is None:
            repo.add_seat_rule(s, r, kind, stage, expert_id, application_id, reason=reason, user=_user(user))
        else:
            s.execute(update(m.SeatRule).where(m.SeatRule.id == old.id)
                      .values(active=True, reason=reason, created_by=_user(user), created_at=m.utcnow()))
            chain.record(s, user=_user(user), action=kind, reason=reason, round_code=round_id,
                         entity=f"{stage} {expert_id} × {application_id}", before=None,
                         after={"kind": kind, "stage": stage, "expert_id": expert_id, "application_id": application_id})


def remove_seat_rule(round_id: str, stage: str, expert_id: str, application_id: str, user: str | None) -> None:
    with store().write() as s:
        r = repo.get_round(s, round_id)
        res = s.execute(update(m.SeatRule).where(m.SeatRule.round_id == r.id, m.SeatRule.stage == stage,
                                                 m.SeatRule.expert_id == expert_id,
                                                 m.SeatRule.application_id == application_id,
                                                 m.SeatRule.active).values(active=False))
        if res.rowcount:
            chain.record(s, user=_user(user), action="seat_rule.remove", reason="", round_code=round_id,
                         entity=f"{stage} {expert_id} × {application_id}")


# ---------------------------------------------------------------- publication and replacements

def publication(round_id: str, stage: str) -> dict | None:
    with store().read() as s:
        p = repo.publication(s, repo.get_round(s, round_id), stage)
        return None if p is None else {"at": p.published_at.isoformat(timespec="seconds"), "by": p.published_by}


def publish(round_id: str, stage: str, panels: pd.DataFrame, user: str | None, reason: str = "",
            run_id: int | None = None) -> None:
    seats = panels[["stage", "application_id", "expert_id", "role"]]
    with store().write() as s:
        repo.publish(s, repo.get_round(s, round_id), stage, seats, user=_user(user), reason=reason,
                     run_id=run_id, source="staff app" + (f", run #{run_id}" if run_id else ""))


def published_seats(round_id: str, stage: str, include_replaced: bool = False) -> pd.DataFrame:
    with store().read() as s:
        return repo.published_seats(s, repo.get_round(s, round_id), stage, include_replaced=include_replaced)


def replace_seats(round_id: str, stage: str, changes: pd.DataFrame, reason: str, user: str | None, data) -> None:
    """Record the replacements of a published stage: per application, removed expert -> added expert."""
    with store().write() as s:
        r = repo.get_round(s, round_id)
        for app_id, g in changes.groupby("application_id"):
            out = list(g[g["change"] == "removed"]["expert_id"])
            inn = list(g[g["change"] == "added"]["expert_id"])
            if len(out) != len(inn):
                raise UserError(f"{app_id}: {len(out)} seats out but {len(inn)} in; the published panel must keep its size")
            for old, new in zip(out, inn):
                repo.replace_expert(s, r, stage, app_id, old, new, reason=reason, user=_user(user), data=data)


# ---------------------------------------------------------------- scores and audit

def submit_scores(round_id: str, scores: pd.DataFrame, user: str | None, source: str) -> int:
    with store().write() as s:
        return repo.submit_scores(s, repo.get_round(s, round_id), scores, user=_user(user), source=source)


def record(round_id: str, user: str | None, action: str, reason: str = "", entity: str = "", before: Any = None,
           after: Any = None) -> None:
    with store().write() as s:
        chain.record(s, user=_user(user), action=action, reason=reason, round_code=round_id, entity=entity,
                     before=before, after=after)


def audit_entries(round_id: str) -> pd.DataFrame:
    with store().read() as s:
        return chain.entries_frame(s, round_code=round_id)


def verify_chain() -> tuple[bool, str]:
    with store().read() as s:
        v = chain.verify(s)
    return v.ok, (str(v.first_bad) if not v.ok else v.head)
