"""Tables of the review store (SQLAlchemy 2 declarative models).

One round (年度批次) owns everything else. Rows that people edit concurrently (rounds, panels,
needs-review decisions) carry a `version` for optimistic concurrency; rows that record what
happened (imports, runs, published seats, scores, audit entries) are written once. The schema is
created and upgraded by the Alembic migrations in `reviewer/store/migrations/`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reviewer.store.models_base import Base, utcnow
from reviewer.store.models_site import SiteInput  # noqa: F401  (the site_inputs table: part of Base.metadata)


class Round(Base):
    """年度批次 A review round: its reference date, the policy in force and its settings (meeting info)."""
    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    year: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[Optional[str]] = mapped_column(String(10))          # reference date YYYY-MM-DD
    policy_text: Mapped[str] = mapped_column(Text)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    policy_source: Mapped[str] = mapped_column(String(500), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # meeting place/dates, site dates
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class ImportSnapshot(Base):
    """One import of the round's input files: what was read, its hashes, issues and the rows themselves."""
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    source: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    n_issues: Mapped[int] = mapped_column(Integer, default=0)
    n_errors: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[list["ImportFile"]] = relationship(back_populates="snapshot", order_by="ImportFile.id")


class ImportFile(Base):
    __tablename__ = "import_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(50))
    file_name: Mapped[str] = mapped_column(String(1000))
    sheet: Mapped[Optional[str]] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    loaded: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[ImportSnapshot] = relationship(back_populates="files")


class ImportRow(Base):
    """A validated, linked input record as used by every run (JSON of the domain record)."""
    __tablename__ = "import_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    table_name: Mapped[str] = mapped_column(String(50))
    seq: Mapped[int] = mapped_column(Integer)
    source_row: Mapped[Optional[int]] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    __table_args__ = (Index("ix_import_rows_import_table", "import_id", "table_name", "seq"),)


class ImportIssueRow(Base):
    __tablename__ = "import_issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    file: Mapped[str] = mapped_column(String(1000))
    sheet: Mapped[Optional[str]] = mapped_column(String(100))
    row: Mapped[Optional[int]] = mapped_column(Integer)
    column: Mapped[Optional[str]] = mapped_column(String(200))
    value: Mapped[Optional[str]] = mapped_column(Text)
    expected: Mapped[str] = mapped_column(Text)


class Run(Base):
    """Every screening, conflicts, planning, imported (a checked panels file) or aggregation run:
    inputs, policy snapshot, seed, result and `result_sha256`, the hash of the result when the run
    was made (for planning and imported runs: of its sorted seats, checked again on publication)."""
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # screening / conflicts / planning / imported / aggregation
    import_id: Mapped[Optional[int]] = mapped_column(ForeignKey("imports.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    policy_text: Mapped[str] = mapped_column(Text)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[Optional[str]] = mapped_column(String(10))
    stages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    seed: Mapped[Optional[int]] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list)   # file hashes of the snapshot
    status: Mapped[str] = mapped_column(String(30), default="ok")
    solver_path: Mapped[Optional[str]] = mapped_column(String(100))
    objective: Mapped[Optional[float]] = mapped_column(Float)
    gap: Mapped[Optional[float]] = mapped_column(Float)
    wall_seconds: Mapped[Optional[float]] = mapped_column(Float)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_sha256: Mapped[Optional[str]] = mapped_column(String(64))


class ScreeningResult(Base):
    __tablename__ = "screening_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    application_id: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ReviewDecision(Base):
    """Staff decision on a needs-review screening check (pass / fail with a reason), versioned."""
    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    application_id: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(10))          # the check decided, e.g. E1
    decision: Mapped[str] = mapped_column(String(20))      # pass / fail
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("round_id", "application_id", "rule"),)


class ConflictHitRow(Base):
    __tablename__ = "conflict_hits"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    expert_id: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    evidence: Mapped[str] = mapped_column(Text, default="")
    waived: Mapped[bool] = mapped_column(Boolean, default=False)


class Waiver(Base):
    """豁免 A staff waiver of a waivable conflict rule for one pair, with its reason."""
    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    expert_id: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("round_id", "expert_id", "application_id", "rule"),)


class SeatRule(Base):
    """A lock (force) or forbid of one expert on one application in one stage, with its reason."""
    __tablename__ = "seat_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))           # lock / forbid
    stage: Mapped[str] = mapped_column(String(20))
    expert_id: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("round_id", "kind", "stage", "expert_id", "application_id"),)


class RunSeat(Base):
    """A seat of a planning run (its result, before any publication)."""
    __tablename__ = "run_seats"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    expert_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(10), default="")
    affinity: Mapped[Optional[float]] = mapped_column(Float)


class Publication(Base):
    """The published assignment of one stage of a round (at most one per stage)."""
    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    stage: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    source: Mapped[str] = mapped_column(String(1000), default="")
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("round_id", "stage"),)


class Panel(Base):
    """One published panel (stage x application). `version` grows with each recorded repair."""
    __tablename__ = "panels"
    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("round_id", "stage", "application_id"),)


class Assignment(Base):
    """A published seat. Never deleted and never re-pointed (database triggers); a repair marks it
    `replaced` and adds the replacement as a new seat."""
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    expert_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active / replaced
    origin: Mapped[str] = mapped_column(String(20), default="publication")  # publication / repair
    replaces_id: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Score(Base):
    """A score as submitted (one criterion). A later submission for the same key voids the earlier one."""
    __tablename__ = "scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    expert_id: Mapped[str] = mapped_column(String(100))
    criterion: Mapped[str] = mapped_column(String(20))
    family: Mapped[str] = mapped_column(String(10), default="")
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[Optional[float]] = mapped_column(Float)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(1000), default="")
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[Optional[str]] = mapped_column(Text)
    replaced_by_id: Mapped[Optional[int]] = mapped_column(Integer)


class RankingRow(Base):
    """One row of an aggregation run's result (score and rank of one application)."""
    __tablename__ = "rankings"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    score: Mapped[Optional[float]] = mapped_column(Float)
    rank: Mapped[Optional[int]] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AnnualEvaluation(Base):
    """考核评估 One year's evaluation of a pilot centre (written by the evaluation code)."""
    __tablename__ = "annual_evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rounds.id"))
    centre_id: Mapped[str] = mapped_column(String(100))       # application id of the centre
    centre_name: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int] = mapped_column(Integer)
    total: Mapped[Optional[float]] = mapped_column(Float)
    band: Mapped[Optional[str]] = mapped_column(String(20))
    state: Mapped[Optional[str]] = mapped_column(String(20))   # 试点 / 认定 / 撤销 ...
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    evaluated_by: Mapped[str] = mapped_column(String(100), default="")
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("centre_id", "year"),)


class AuditEntry(Base):
    """Append-only, hash-chained, keyed record of an act and the facts it wrote. Text columns hold
    exactly what was hashed."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))           # ISO 8601 UTC, as hashed
    user_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    round_code: Mapped[str] = mapped_column(String(64), default="")
    entity: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[str] = mapped_column(Text, default="null")   # canonical JSON
    after: Mapped[str] = mapped_column(Text, default="null")    # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC-SHA256 of `hash` under the store key kept outside the database (reviewer.store.keys), and
    # the public id of that key; both NULL for legacy entries written before the chain was keyed.
    mac: Mapped[Optional[str]] = mapped_column(String(64))
    key_id: Mapped[Optional[str]] = mapped_column(String(16))


# ---------------------------------------------------------------- seat responses (issue 16: reviewer.store.seat_responses)

class SeatResponse(Base):
    """The expert's answer to one published seat (its life cycle): 已邀请 invited → 已确认 confirmed /
    已请假 declined (reason) / 申请回避 recusal requested (relation, reason; staff accept → recused, or
    reject → invited again) / 未答复 no_reply → 已替换 replaced. One row per assignment, changed only
    through `seat_responses` (each change audited; `version` for concurrent answers)."""
    __tablename__ = "seat_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    expert_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="invited")
    reason: Mapped[str] = mapped_column(Text, default="")
    relation: Mapped[str] = mapped_column(String(20), default="")       # recusal: the conflict rule id (C1..C5)
    invited_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    refill_note: Mapped[str] = mapped_column(Text, default="")           # why an automatic 补抽 did not happen
    last_answer: Mapped[str] = mapped_column(String(20), default="")     # the state a replaced seat was in
    version: Mapped[int] = mapped_column(Integer, default=1)
# ---------------------------------------------------------------- stage gating and registers (issue 17, branch stages17)

class StageDecision(Base):
    """晋级 Whether an application advanced from a stage to the next, with its reason; confirmed by staff
    from the proposal of the stage's aggregated scores (reviewer.store.stages), audited."""
    __tablename__ = "stage_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    advanced: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(30))        # reviewer.scoring.gating.OUTCOMES
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[Optional[float]] = mapped_column(Float)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))   # the aggregation it came from
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("round_id", "stage", "application_id"),)


class CentreRegisterEntry(Base):
    """制造业创新中心名录 One event of a centre's register: from `since` the centre is in `state`
    (试点 / 认定 / 国家级 occupy its field; 撤销 frees it)."""
    __tablename__ = "centre_register"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    field: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    since: Mapped[str] = mapped_column(String(10))            # YYYY-MM-DD
    document_no: Mapped[str] = mapped_column(String(200), default="")
    # which registers: "" the department's; "demo" the bundled demo round's own (reviewer.store.registers.scope_of),
    # so the synthetic demo centres never occupy a field of a real round
    scope: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TechCentreRegisterEntry(Base):
    """广西技术创新中心名录 An independent-legal-person Guangxi technology innovation centre in a field, with
    its evidence (document number and date): drives the no-duplicate-subsidy rule (seed §四(二))."""
    __tablename__ = "tech_centre_register"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(100))
    document_no: Mapped[str] = mapped_column(String(200))
    date: Mapped[str] = mapped_column(String(10))             # YYYY-MM-DD
    scope: Mapped[str] = mapped_column(String(20), default="", server_default="")   # as CentreRegisterEntry.scope
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SubsidyEntry(Base):
    """补助台账 One subsidy decision (granted or refused with its reason), from a ranking, the life cycle or staff;
    or the reversal of a grant (status reversed, `reverses_id` the grant, unique: reversed once). Rows are never
    edited. `granted_key` (centre|kind, only on granted rows; after n reversals of that grant "|n") is unique:
    the database never pays a centre twice."""
    __tablename__ = "subsidy_ledger"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[str] = mapped_column(String(100), index=True)
    field: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    cap: Mapped[float] = mapped_column(Float)
    date: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))           # granted / refused / reversed
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")   # e.g. "ranking round 2026", "lifecycle"
    granted_key: Mapped[Optional[str]] = mapped_column(String(140), unique=True)
    document_no: Mapped[str] = mapped_column(String(200), default="", server_default="")   # 文号 of the payment
    reverses_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subsidy_ledger.id"), unique=True)
    scope: Mapped[str] = mapped_column(String(20), default="", server_default="")   # as CentreRegisterEntry.scope
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---------------------------------------------------------------- notifications and written opinions (issue 16: notify16)

class OutboxMessage(Base):
    """One message to send (transactional outbox): written in the same transaction as the act that
    causes it (publication, replacement, reminder), sent later by reviewer.notify. One row per
    recipient and channel; `idempotency_key` is unique, so enqueueing the same message again is a
    no-op, and it is the message's Message-ID / the SMS gateway's idempotency key. The password or
    key of a channel is never stored here."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))         # invitation / reminder / replacement_new / ...
    channel: Mapped[str] = mapped_column(String(10))      # email / sms
    recipient_kind: Mapped[str] = mapped_column(String(10), default="expert")   # expert / host
    recipient_id: Mapped[str] = mapped_column(String(100))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(320), default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # the template's values
    cause: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")   # queued / sending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str] = mapped_column(String(300), default="")   # Message-ID / gateway message id
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class Opinion(Base):
    """评审意见 An expert's written opinion on one application in one stage, submitted with the
    scores (`total`: the expert's total then). A later submission voids the earlier one; so does the
    expert's replacement on that seat (kept, `void_reason` says why)."""
    __tablename__ = "opinions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    expert_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    total: Mapped[Optional[float]] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(1000), default="")
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    replaced_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    void_reason: Mapped[Optional[str]] = mapped_column(Text)   # why it stopped counting (a later one, a replacement)


class PanelOpinion(Base):
    """专家组综合意见 The chair's consensus opinion of one panel, with the recorded dissent
    (`dissent`: [{expert_id, text}]). A later record voids the earlier one."""
    __tablename__ = "panel_opinions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    chair_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    dissent: Mapped[list[Any]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    replaced_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    void_reason: Mapped[Optional[str]] = mapped_column(Text)   # why it stopped counting (a later one, the chair replaced)
# ---------------------------------------------------------------- ranking sign-off (app13, issue 13 item 12)

class RankingPublication(Base):
    """确认发布 A stage's ranking frozen by staff: the ranking table as published, its SHA-256, who and
    when. Written once (database triggers refuse UPDATE and DELETE); freezing again records a new row
    that names the one it supersedes, with the reason."""
    __tablename__ = "ranking_publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    table_sha256: Mapped[str] = mapped_column(String(64))
    table: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_rows: Mapped[int] = mapped_column(Integer)
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ranking_publications.id"), unique=True)


# ---------------------------------------------------------------- the expert pool across rounds (issue 16 item 6: reviewer.store.pool)

class PoolExpert(Base):
    """An expert of the standing pool, across rounds: the record from the newest pool file merged by
    专家编号 (`data`), when first and last seen, and whether the newest file still lists them."""
    __tablename__ = "pool_experts"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PoolChange(Base):
    """One change a pool import made to one expert (added / changed / left / returned), with the
    fields before and after: the pool's history."""
    __tablename__ = "pool_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(100), index=True)
    change: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(1000), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PoolPenalty(Base):
    """信用惩戒 A credit penalty: kind (policy [pool]), start and end dates (YYYY-MM-DD; no end for a
    permanent kind), reason and evidence. Withdrawn, never deleted."""
    __tablename__ = "pool_penalties"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    start: Mapped[str] = mapped_column(String(10))
    end: Mapped[Optional[str]] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn_by: Mapped[str] = mapped_column(String(100), default="")
    withdrawn_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class PoolRating(Base):
    """A staff rating (1-5) of an expert's work in a round, with a note; a later rating of the same
    round adds a row (the newest counts)."""
    __tablename__ = "pool_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(100), index=True)
    round_code: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PoolFlag(Base):
    """A deviation flag of a round's audit (e.g. the relation-bias audit) kept as evidence on the
    expert's record: never a penalty by itself."""
    __tablename__ = "pool_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(100), index=True)
    round_code: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(100))
    flag: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---------------------------------------------------------------- 现场考察 routes (site15b, issue 15)

class SiteVisit(Base):
    """One visited site of a site-plan run (kind "site_plan"): which team sees it, on which day, in which
    order of the team's trip, where, and the team's core (the experts who travel the whole trip; the
    other seats of the site are field seats for that day). The seats themselves are the run's RunSeat
    rows. `publication_id` is set when the stage is published from the run (the published routes)."""
    __tablename__ = "site_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str] = mapped_column(String(100))
    team: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    visit_date: Mapped[dt.date] = mapped_column(Date)
    city: Mapped[str] = mapped_column(String(50))
    halves: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    core: Mapped[list[Any]] = mapped_column(JSON, default=list)
    publication_id: Mapped[Optional[int]] = mapped_column(ForeignKey("publications.id"), index=True)
    __table_args__ = (UniqueConstraint("run_id", "application_id"),)

