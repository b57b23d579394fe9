"""Row facts: the later tables of the store covered by the audit chain, row by row.

The acts of the first tables (imports, seats, scores, opinions, decisions, penalties) record their
facts in their own words (`reviewer.store.facts`). The tables added since (stage advancement,
registers, the subsidy ledger, ranking publications and aggregation results, annual evaluations,
the expert pool's records, site visits and their inputs) are covered here in one way for all of them, so a table
cannot be forgotten by an act:

* every write the program makes to a covered table through its session is noticed (ORM flushes
  row by row; a bulk UPDATE/DELETE/INSERT statement on the table marks the whole table);
* the next audit entry of the transaction carries, under ``row_facts``, a digest of every such row
  as the database now holds it (``null`` for a row that is gone), or, for a table marked whole,
  ``{"*": [[id, digest], ...]}`` — the table's complete content;
* a transaction that wrote covered rows and recorded no entry after the writes gets one entry of
  its own at commit (``audit.rows``, queued by `reviewer.store.audit`), so no program write goes
  unrecorded;
* `check` replays those records and names every row that differs: inserted, edited or deleted with
  SQL behind the program's back.

A store whose covered tables already held rows when this began gets a baseline entry
(``audit.rows_baseline``) with the digests of what they then held.

Digest = the first 16 hex of SHA-256 over the canonical JSON of [table, {column: value}], the values
read back from the database (not the session's objects), so what is hashed is what is stored.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Table, event, func, select
from sqlalchemy.orm import Session

from reviewer.store.facts import Finding, canonical
from reviewer.store.facts import _parse as parse_after
from reviewer.store.models import (
    AnnualEvaluation,
    AuditEntry,
    CentreRegisterEntry,
    PoolChange,
    PoolExpert,
    PoolFlag,
    PoolRating,
    RankingPublication,
    RankingRow,
    SiteVisit,
    StageDecision,
    SubsidyEntry,
    TechCentreRegisterEntry,
)
from reviewer.store.models_site import SiteInput

COVERED: dict[str, Table] = {m.__table__.name: m.__table__ for m in (
    StageDecision, CentreRegisterEntry, TechCentreRegisterEntry, SubsidyEntry, RankingPublication, RankingRow,
    AnnualEvaluation, PoolExpert, PoolChange, PoolRating, PoolFlag, SiteVisit, SiteInput)}

TABLE_ZH = {"stage_decisions": "晋级决定", "centre_register": "中心名录", "tech_centre_register": "技术创新中心名录",
            "subsidy_ledger": "补助台账", "ranking_publications": "排名发布", "rankings": "汇总排名结果",
            "annual_evaluations": "年度考核", "pool_experts": "专家库档案", "pool_changes": "专家库变更",
            "pool_ratings": "专家评价", "pool_flags": "偏差标记", "site_visits": "现场考察路线",
            "site_inputs": "现场考察输入"}

PENDING = "reviewer.row_facts"     # session.info key: {table: set of ids | "*"}
KEY = "row_facts"                  # the key in an audit entry's `after`


def digest(table: str, row: Any) -> str:
    data = dict(row._mapping)
    return hashlib.sha256(canonical([table, data]).encode("utf-8")).hexdigest()[:16]


def _pending(s: Session) -> dict[str, Any]:
    return s.info.setdefault(PENDING, {})


def _mark(s: Session, table: str, ident: Any) -> None:
    p = _pending(s)
    if p.get(table) == "*":
        return
    if ident == "*":
        p[table] = "*"
    else:
        p.setdefault(table, set()).add(ident)


@event.listens_for(Session, "after_flush")
def _after_flush(s: Session, _ctx) -> None:
    for group in (s.new, s.dirty, s.deleted):
        for obj in group:
            table = getattr(obj, "__tablename__", None)
            if table in COVERED:
                ident = getattr(obj, "id", None)
                _mark(s, table, "*" if ident is None else ident)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in COVERED:
        _mark(state.session, name, "*")


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _clear(s: Session, *_args) -> None:
    s.info.pop(PENDING, None)


def has_pending(s: Session) -> bool:
    return bool(s.info.get(PENDING))


def take(s: Session) -> dict[str, Any] | None:
    """The digests of the covered rows written in this transaction since the last entry (and forget
    them): {table: {"rows": [[id, digest or None], ...]}} or {table: {"*": [[id, digest], ...]}}."""
    if not s.info.get(PENDING) and not (s.new or s.dirty or s.deleted):
        return None
    s.flush()                   # objects added since the last flush are marked by it
    p = s.info.pop(PENDING, None)
    if not p:
        return None
    out: dict[str, Any] = {}
    for table, ids in sorted(p.items()):
        t = COVERED[table]
        if ids == "*":
            rows = s.execute(select(t).order_by(t.c.id)).all()
            out[table] = {"*": [[r.id, digest(table, r)] for r in rows]}
            continue
        found = {r.id: digest(table, r) for r in s.execute(select(t).where(t.c.id.in_(sorted(ids)))).all()}
        out[table] = {"rows": [[i, found.get(i)] for i in sorted(ids)]}
    return out


def needs_baseline(s: Session) -> bool:
    """True when covered tables hold rows written before row facts were recorded (no entry records
    row facts yet and a covered table holds rows other than this transaction's)."""
    recorded = s.execute(select(AuditEntry.id).where(AuditEntry.action.in_(("audit.rows", "audit.rows_baseline")))
                         .limit(1)).first()
    if recorded is not None or s.execute(select(AuditEntry.id).where(AuditEntry.after.contains(f'"{KEY}"'))
                                         .limit(1)).first() is not None:
        return False
    p = s.info.get(PENDING) or {}
    for table, t in COVERED.items():
        n = s.execute(select(func.count()).select_from(t)).scalar_one()
        mine = p.get(table)
        if n and (mine is None or (mine != "*" and n > len(mine))):
            return True
    return False


def snapshot(s: Session) -> dict[str, Any]:
    """Every covered table whole (the baseline)."""
    return {table: {"*": [[r.id, digest(table, r)] for r in s.execute(select(t).order_by(t.c.id)).all()]}
            for table, t in COVERED.items()}


def check(s: Session, entries: list) -> tuple[list[Finding], list[str]]:
    """(findings, notes): the covered tables against the row facts of the chain."""
    want: dict[str, dict[int, tuple[int, str | None]]] = {t: {} for t in COVERED}
    seen_any = False
    for e in entries:
        a = parse_after(e)
        rf = a.get(KEY) if isinstance(a, dict) else None
        if not isinstance(rf, dict):
            continue
        seen_any = True
        for table, rec in rf.items():
            if table not in want or not isinstance(rec, dict):
                continue
            if "*" in rec:
                want[table] = {int(i): (e.id, d) for i, d in rec["*"]}
            for i, d in rec.get("rows", []):
                want[table][int(i)] = (e.id, d)
    if not seen_any:
        if any(s.execute(select(func.count()).select_from(t)).scalar_one() for t in COVERED.values()):
            return [], ["no entry records row facts yet (a store from before they were recorded): the later tables "
                        "(registers, ledger, advancement, pool, site visits …) are not compared until the next act"]
        return [], []
    findings: list[Finding] = []
    for table, t in COVERED.items():
        zh, w = TABLE_ZH[table], want[table]
        have = {r.id: digest(table, r) for r in s.execute(select(t).order_by(t.c.id)).all()}
        for i, d in have.items():
            rec = w.get(i)
            if rec is None or rec[1] is None:
                findings.append(Finding(0, "audit.rows", f"{zh}行未经记录 {table} row #{i} is not in the audit log: "
                                                         "inserted outside the program"))
            elif rec[1] != d:
                findings.append(Finding(rec[0], "audit.rows", f"{zh}行被修改 {table} row #{i} differs from what the "
                                                              "audit log records: edited outside the program"))
        for i, (eid, d) in sorted(w.items()):
            if d is not None and i not in have:
                findings.append(Finding(eid, "audit.rows", f"{zh}行缺失 {table} row #{i} of the audit log is missing "
                                                           "from the table: deleted outside the program"))
    return findings, []
