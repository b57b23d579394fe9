"""The registers and the subsidy ledger in the store (issue 17 part 3; rules in reviewer.centres.register
and reviewer.centres.ledger).

Registers are not per round: a centre recognised in 2025 occupies its field for every later round. Each
entry is added once (never edited), audited (`register.centre`, `register.tech_centre`); a change of state
is a new entry from its date. The ledger's rows are written once, audited (`subsidy`); a granted row carries
`granted_key` = centre|kind, unique in the database, so a centre is never paid twice for a kind whatever
path (ranking, life cycle, staff, a second run) tries. Staff record a grant (:func:`record_grant`) or reverse
one with a reason (:func:`reverse_grant`: a row of its own); the rules are the Ledger's, the one place.

Scopes: every row belongs to "" (the department's registers) or "demo" (the bundled demo round's own, loaded
from its past centres, :func:`record_replay`), so the synthetic demo centres never occupy a field of a real
round and a grant recorded while trying the demo never reaches the department's ledger (:func:`scope_of`).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.centres.ledger import Ledger, LedgerEntry, SubsidyKind
from reviewer.centres.lifecycle import Replay
from reviewer.centres.register import CentreEntry, TechCentre, check_centre_entry, occupied_fields, tech_fields
from reviewer.errors import UserError
from reviewer.intake.cells import CONTROL_CHARACTERS, MAX_MONEY
from reviewer.policy import Policy
from reviewer.resources import DEMO_ROUND_ID
from reviewer.store import audit
from reviewer.store.models import CentreRegisterEntry, SubsidyEntry, TechCentreRegisterEntry

DEMO_SCOPE = "demo"


def scope_of(round_code: str | None) -> str:
    """The registers a round reads and writes: the demo round's own, else the department's ("")."""
    return DEMO_SCOPE if round_code == DEMO_ROUND_ID else ""


def _label(scope: str) -> str:
    return f" [{scope}]" if scope else ""


def centre_entries(s: Session, scope: str = "") -> list[CentreEntry]:
    q = select(CentreRegisterEntry).where(CentreRegisterEntry.scope == scope).order_by(CentreRegisterEntry.id)
    return [CentreEntry(x.centre_id, x.name, x.field, x.state, dt.date.fromisoformat(x.since), x.document_no)
            for x in s.execute(q).scalars()]


def tech_entries(s: Session, scope: str = "") -> list[TechCentre]:
    q = select(TechCentreRegisterEntry).where(TechCentreRegisterEntry.scope == scope).order_by(TechCentreRegisterEntry.id)
    return [TechCentre(x.name, x.field, x.document_no, dt.date.fromisoformat(x.date)) for x in s.execute(q).scalars()]


def add_centre_entry(s: Session, policy: Policy, *, centre_id: str, name: str, field: str, state: str, since: str,
                     document_no: str = "", user: str, reason: str, scope: str = "") -> CentreEntry:
    """Register that from `since` the centre is in `state` (audited)."""
    e = check_centre_entry(centre_id, name, field, state, since, policy.fields.all, document_no)
    if any(x.centre_id == e.centre_id and x.state == e.state and x.since == e.since for x in centre_entries(s, scope)):
        raise UserError(f"{e.centre_id} {e.state} {e.since}: 已登记 already in the register")
    s.add(CentreRegisterEntry(centre_id=e.centre_id, name=e.name, field=e.field, state=e.state,
                              since=e.since.isoformat(), document_no=e.document_no, created_by=user, scope=scope))
    s.flush()
    audit.record(s, user=user, action="register.centre", reason=reason, entity=f"centre {e.centre_id}{_label(scope)}",
                 after={"centre_id": e.centre_id, "name": e.name, "field": e.field, "state": e.state,
                        "since": e.since.isoformat(), "document_no": e.document_no})
    return e


def add_tech_centre(s: Session, policy: Policy, *, name: str, field: str, document_no: str, date: str, user: str,
                    reason: str = "", scope: str = "") -> TechCentre:
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
                                  created_by=user, scope=scope))
    s.flush()
    audit.record(s, user=user, action="register.tech_centre", reason=reason,
                 entity=f"tech centre {t.name}{_label(scope)}"[:200],
                 after={"name": t.name, "field": t.field, "document_no": t.document_no, "date": day.isoformat()})
    return t


def sync_from_replay(s: Session, policy: Policy, lives, *, user: str, scope: str = "") -> int:
    """Add the register events of replayed centres (reviewer.centres.lifecycle) not in the register yet."""
    have = {(x.centre_id, x.state, x.since) for x in centre_entries(s, scope)}
    n = 0
    for life in lives.values():
        for t in life.history:
            if (life.centre_id, t.to_state, t.date) in have:
                continue
            add_centre_entry(s, policy, centre_id=life.centre_id, name=life.name, field=life.field, state=t.to_state,
                             since=t.date.isoformat(), document_no=t.document_no(), user=user,
                             reason=t.reason[:500], scope=scope)
            n += 1
    return n


def record_replay(s: Session, policy: Policy, rp: Replay, *, user: str, source: str, scope: str = "") -> tuple[int, int]:
    """A life-cycle replay (reviewer.centres.lifecycle: the demo's past centres, or a department's own) into the
    registers of `scope` and its ledger: only what is new (a second call records nothing), audited. The one
    path of `reviewer register lifecycle`, the 登记册 page and the app's demo round. Returns (register events,
    ledger entries) recorded."""
    n = sync_from_replay(s, policy, rp.lives, user=user, scope=scope)
    ledger = load_ledger(s, policy, policy.as_of_date(), scope)
    start = len(ledger.entries)
    for e in rp.ledger.entries:
        if e.status == "granted" and ledger.granted(e.centre_id, e.kind) is None:
            ledger.decide(e.centre_id, e.field, e.kind, e.date, e.amount, e.reason)
    return n, save_ledger(s, ledger, start, source=source, user=user, scope=scope)


def occupied(s: Session, as_of: dt.date, scope: str = "") -> dict[str, str]:
    """field -> the register entry occupying it as of `as_of` (一领域一中心)."""
    return occupied_fields(centre_entries(s, scope), as_of)


def tech_register(s: Session, as_of: dt.date, scope: str = "") -> dict[str, str]:
    return tech_fields(tech_entries(s, scope), as_of)


def load_ledger(s: Session, policy: Policy, as_of: dt.date, scope: str = "") -> Ledger:
    """The store's ledger (every recorded entry) under `policy`, with the technology centre register as of `as_of`."""
    rows = s.execute(select(SubsidyEntry).where(SubsidyEntry.scope == scope).order_by(SubsidyEntry.id)).scalars()
    entries = [LedgerEntry(x.centre_id, x.field, x.kind, x.amount, x.cap, dt.date.fromisoformat(x.date), x.status,
                           x.reason, x.document_no or "", x.id, x.reverses_id) for x in rows]
    return Ledger(policy, entries, tech_register=tech_register(s, as_of, scope))


def _granted_key(scope: str, e: LedgerEntry, reversals: int) -> str:
    # centre|kind as before for the department's first grant; a grant after n reversals of that kind gets "|n",
    # so two sessions granting at once still meet on one key and the database refuses the second
    key = f"{e.centre_id}|{e.kind}" + (f"|{reversals}" if reversals else "")
    return f"{scope}|{key}" if scope else key


def save_ledger(s: Session, ledger: Ledger, since: int, *, source: str, user: str, scope: str = "",
                reason: str | None = None) -> int:
    """Write the entries `ledger` added after its first `since` (from load_ledger), audited (reason: `reason`,
    else `source`); returns how many."""
    new = ledger.entries[since:]
    for k, e in enumerate(new):
        reversed_before = sum(1 for x in ledger.entries[:since + k]
                              if x.status == "reversed" and x.centre_id == e.centre_id and x.kind == e.kind)
        s.add(SubsidyEntry(centre_id=e.centre_id, field=e.field, kind=e.kind, amount=e.amount, cap=e.cap,
                           date=e.date.isoformat(), status=e.status, reason=e.reason, source=source[:200],
                           granted_key=_granted_key(scope, e, reversed_before)
                           if e.status == "granted" else None,
                           document_no=e.document_no, reverses_id=e.reverses, scope=scope, created_by=user))
    s.flush()
    if new:
        audit.record(s, user=user, action="subsidy", reason=reason if reason is not None else source,
                     entity=f"{len(new)} ledger entries{_label(scope)}"[:200], after=[e.as_dict() for e in new])
    return len(new)


# ---------------------------------------------------------------- the ledger kept by staff

def known_centres(s: Session, scope: str = "") -> dict[str, str]:
    """centre_id -> its field, for a grant staff record: the centre register's centres (their latest entry)
    and the centres the ledger already knows (recognised by a ranking before they are registered)."""
    out = {x.centre_id: x.field for x in s.execute(select(SubsidyEntry).where(SubsidyEntry.scope == scope)
                                                   .order_by(SubsidyEntry.id)).scalars()}
    out.update({e.centre_id: e.field for e in centre_entries(s, scope)})
    return out


def _text(v: str | None) -> str:
    """Staff's typed text as stored: without the control characters that only hide or disguise it
    (as in imported cells, reviewer.intake.cells)."""
    return CONTROL_CHARACTERS.sub("", v or "").strip()


def record_grant(s: Session, policy: Policy, *, centre_id: str, kind: str, amount: float | None, date: str,
                 document_no: str, reason: str, user: str, scope: str = "") -> LedgerEntry:
    """补助发放 Record a grant staff made (a payment with its 文号): the Ledger's rules decide (never twice per
    centre and kind, the cap of its kind, no new-centre subsidy in a field with a technology innovation centre,
    the year's budget); a refused grant raises SubsidyRefused naming the rule and the numbers, records nothing."""
    centre_id, document_no, reason = _text(centre_id), _text(document_no), _text(reason)
    if amount is not None and not (isinstance(amount, (int, float)) and 0 < amount <= MAX_MONEY):
        raise UserError(f"金额 amount {str(amount)[:40]!r}: 应为大于 0、不超过 {MAX_MONEY:.0e} 元的数 / expected a "
                        "positive amount in yuan, e.g. 2000000; nothing was recorded")
    try:
        k = SubsidyKind(kind)
    except ValueError:
        raise UserError(f"补助类别 kind {kind!r}: 应为 expected one of {', '.join(x.value for x in SubsidyKind)}") from None
    try:
        day = dt.date.fromisoformat(str(date))
    except ValueError:
        raise UserError(f"日期 date {date!r}: 应为 expected a date like 2026-12-01") from None
    if not reason or not document_no:
        raise UserError("登记补助需要文号和理由 / recording a grant needs its document number (文号) and a reason")
    fields = known_centres(s, scope)
    if centre_id not in fields:
        raise UserError(f"中心 {centre_id!r} 不在中心名录或补助台账中，请先登记该中心 / centre {centre_id!r} is not in the "
                        "centre register nor the ledger: register it first (reviewer register centre)")
    ledger = load_ledger(s, policy, day, scope)
    start = len(ledger.entries)
    e = ledger.grant(centre_id, fields[centre_id], k, day, amount, reason, document_no)
    save_ledger(s, ledger, start, source=f"工作人员登记 staff entry {document_no}", user=user, scope=scope,
                reason=reason)
    return e


def reverse_grant(s: Session, policy: Policy, *, entry_id: int, date: str, reason: str, user: str,
                  document_no: str = "", scope: str = "") -> LedgerEntry:
    """冲销 Reverse the grant `entry_id` with a reason (a row of its own, audited): it stops counting for the
    never-twice rule, the annual budget and the totals."""
    try:
        day = dt.date.fromisoformat(str(date))
    except ValueError:
        raise UserError(f"日期 date {date!r}: 应为 expected a date like 2026-12-01") from None
    reason, document_no = _text(reason), _text(document_no)
    ledger = load_ledger(s, policy, day, scope)
    start = len(ledger.entries)
    e = ledger.reverse(int(entry_id), day, reason, document_no)
    save_ledger(s, ledger, start, source=f"工作人员冲销 staff reversal of entry #{int(entry_id)}", user=user, scope=scope,
                reason=reason)
    return e
