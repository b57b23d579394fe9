"""The registers and the subsidy ledger in the store (issue 17 part 3; rules in reviewer.centres.register
and reviewer.centres.ledger).

Registers are not per round: a centre recognised in 2025 occupies its field for every later round. Each
entry is added once (never edited), audited (`register.centre`, `register.tech_centre`); a change of state
is a new entry from its date. The ledger's rows are written once, audited (`subsidy`); a granted row carries
`granted_key` = centre|kind, unique in the database, so a centre is never paid twice for a kind whatever
path (ranking, life cycle, a second run) tries.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.centres.ledger import Ledger, LedgerEntry
from reviewer.centres.register import CentreEntry, TechCentre, check_centre_entry, occupied_fields, tech_fields
from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.store import audit
from reviewer.store.models import CentreRegisterEntry, SubsidyEntry, TechCentreRegisterEntry


def centre_entries(s: Session) -> list[CentreEntry]:
    return [CentreEntry(x.centre_id, x.name, x.field, x.state, dt.date.fromisoformat(x.since), x.document_no)
            for x in s.execute(select(CentreRegisterEntry).order_by(CentreRegisterEntry.id)).scalars()]


def tech_entries(s: Session) -> list[TechCentre]:
    return [TechCentre(x.name, x.field, x.document_no, dt.date.fromisoformat(x.date))
            for x in s.execute(select(TechCentreRegisterEntry).order_by(TechCentreRegisterEntry.id)).scalars()]


def add_centre_entry(s: Session, policy: Policy, *, centre_id: str, name: str, field: str, state: str, since: str,
                     document_no: str = "", user: str, reason: str) -> CentreEntry:
    """Register that from `since` the centre is in `state` (audited)."""
    e = check_centre_entry(centre_id, name, field, state, since, policy.fields.all, document_no)
    if any(x.centre_id == e.centre_id and x.state == e.state and x.since == e.since for x in centre_entries(s)):
        raise UserError(f"{e.centre_id} {e.state} {e.since}: 已登记 already in the register")
    s.add(CentreRegisterEntry(centre_id=e.centre_id, name=e.name, field=e.field, state=e.state,
                              since=e.since.isoformat(), document_no=e.document_no, created_by=user))
    s.flush()
    audit.record(s, user=user, action="register.centre", reason=reason, entity=f"centre {e.centre_id}",
                 after={"centre_id": e.centre_id, "name": e.name, "field": e.field, "state": e.state,
                        "since": e.since.isoformat(), "document_no": e.document_no})
    return e


def add_tech_centre(s: Session, policy: Policy, *, name: str, field: str, document_no: str, date: str, user: str,
                    reason: str = "") -> TechCentre:
    """Register a Guangxi technology innovation centre with its evidence (document number and date; audited)."""
    if field not in policy.fields.all:
        raise UserError(f"领域 field {field!r}: not one of the key fields {policy.fields.all}")
    if not name.strip() or not document_no.strip():
        raise UserError("技术创新中心需要名称和文号 a technology innovation centre needs its name and the document "
                        "number that created it (evidence)")
    try:
        day = dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise UserError(f"日期 date {date!r}: expected a date like 2024-06-30") from None
    t = TechCentre(name.strip(), field, document_no.strip(), day)
    s.add(TechCentreRegisterEntry(name=t.name, field=t.field, document_no=t.document_no, date=day.isoformat(),
                                  created_by=user))
    s.flush()
    audit.record(s, user=user, action="register.tech_centre", reason=reason, entity=f"tech centre {t.name}"[:200],
                 after={"name": t.name, "field": t.field, "document_no": t.document_no, "date": day.isoformat()})
    return t


def sync_from_replay(s: Session, policy: Policy, lives, *, user: str) -> int:
    """Add the register events of replayed centres (reviewer.centres.lifecycle) not in the register yet."""
    have = {(x.centre_id, x.state, x.since) for x in centre_entries(s)}
    n = 0
    for life in lives.values():
        for t in life.history:
            if (life.centre_id, t.to_state, t.date) in have:
                continue
            add_centre_entry(s, policy, centre_id=life.centre_id, name=life.name, field=life.field, state=t.to_state,
                             since=t.date.isoformat(), document_no=f"生命周期 life cycle: {t.cause}", user=user,
                             reason=t.reason[:500])
            n += 1
    return n


def occupied(s: Session, as_of: dt.date) -> dict[str, str]:
    """field -> the register entry occupying it as of `as_of` (一领域一中心)."""
    return occupied_fields(centre_entries(s), as_of)


def tech_register(s: Session, as_of: dt.date) -> dict[str, str]:
    return tech_fields(tech_entries(s), as_of)


def load_ledger(s: Session, policy: Policy, as_of: dt.date) -> Ledger:
    """The store's ledger (every recorded entry) under `policy`, with the technology centre register as of `as_of`."""
    rows = s.execute(select(SubsidyEntry).order_by(SubsidyEntry.id)).scalars()
    entries = [LedgerEntry(x.centre_id, x.field, x.kind, x.amount, x.cap, dt.date.fromisoformat(x.date), x.status,
                           x.reason) for x in rows]
    return Ledger(policy, entries, tech_register=tech_register(s, as_of))


def save_ledger(s: Session, ledger: Ledger, since: int, *, source: str, user: str) -> int:
    """Write the entries `ledger` added after its first `since` (from load_ledger), audited; returns how many."""
    new = ledger.entries[since:]
    for e in new:
        s.add(SubsidyEntry(centre_id=e.centre_id, field=e.field, kind=e.kind, amount=e.amount, cap=e.cap,
                           date=e.date.isoformat(), status=e.status, reason=e.reason, source=source[:200],
                           granted_key=f"{e.centre_id}|{e.kind}" if e.status == "granted" else None,
                           created_by=user))
    s.flush()
    if new:
        audit.record(s, user=user, action="subsidy", reason=source, entity=f"{len(new)} ledger entries"[:200],
                     after=[e.as_dict() for e in new])
    return len(new)
