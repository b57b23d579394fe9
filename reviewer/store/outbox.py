"""Transactional outbox: the messages an act causes are written in the act's own transaction.

    enqueue(s, round, kind=..., recipient=..., context=..., key=..., cause=...)   the one writer
    enqueue_invitations(s, round, stage, user=...)         on publishing a stage (publishing.publish_run)
    enqueue_site_visit_notices(s, round, stage, user=...)  the same publication, to the host units
    enqueue_replacement_notices(s, round, stage, app, old, new, seat_id, user=...)   on a replacement
    enqueue_reminders(s, round, stage, deadline=..., now=..., user=...)   before the response deadline
    due_ids / claim / mark_sent / mark_retry / mark_failed / requeue      the sender's steps (reviewer.notify)

Why an outbox: a publication committed without its invitations, or invitations sent for a
publication that was rolled back, cannot happen — the rows are in the same transaction as the act.
Sending happens later, outside any transaction that changes the round (reviewer.notify.sender).

One row per recipient and channel (email, sms; an expert with neither gets one `failed` row saying
so, for staff to see). Each row's `idempotency_key` is unique: enqueueing the same message again
(a command repeated, a reminder run twice) writes nothing. The key is the e-mail's Message-ID and
the SMS gateway's idempotency key, so a message sent again after a crash carries the same id.

Status: queued (waiting, maybe after a failed attempt: `last_error`, `next_attempt_at`), sending
(claimed by a sender: `claimed_at`; a claim older than the policy's claim timeout is taken again),
sent (`sent_at`, `provider_ref`), failed (permanent: `last_error` says why).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store import repo, seat_responses, site_inputs, site_visits
from reviewer.store.models import ImportRow, OutboxMessage, Round, Score, utcnow

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATUS_ZH = {QUEUED: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "失败"}
EMAIL, SMS = "email", "sms"
# The messages and what causes each (the template of the same name renders it: reviewer.notify.templates).
KINDS = {
    "invitation": "评审邀请 invitation (a stage published)",
    "reminder": "答复提醒 reminder before the response deadline",
    "replacement_new": "补抽通知 replacement notice to the new expert",
    "replacement_old": "替换通知 notice to the replaced expert",
    "site_visit": "现场考察通知 site-visit notice to the host unit",
    # per seat, once a day (reviewer.store.chase)
    "reply_reminder": "答复提醒 reminder: the seat is not answered yet, before the answer deadline",
    "score_chase": "催交 reminder: confirmed but the scores are not in, before the score deadline",
}
NO_ADDRESS = "none"
STATUS_COLUMNS = ["id", "round", "kind", "channel", "recipient_kind", "recipient_id", "recipient_name", "address",
                  "status", "状态", "attempts", "next_attempt_at", "sent_at", "last_error", "provider_ref", "cause",
                  "idempotency_key", "created_at"]


@dataclass(frozen=True)
class Recipient:
    kind: str          # expert / host
    id: str
    name: str
    email: str = ""
    phone: str = ""


def known_keys(s: Session, prefix: str) -> set[str]:
    """The idempotency keys already in the outbox that start with `prefix` (one query for a whole batch
    of `enqueue` calls instead of one per message)."""
    return set(s.execute(select(OutboxMessage.idempotency_key)
                         .where(OutboxMessage.idempotency_key.startswith(prefix, autoescape=True))).scalars())


def enqueue(s: Session, r: Round | None, *, kind: str, recipient: Recipient, context: dict[str, Any], key: str,
            cause: str, user: str, known: set[str] | None = None) -> list[OutboxMessage]:
    """Write the message `kind` to `recipient` on each channel it has an address for (e-mail, SMS), in
    the caller's transaction. `key` names the message (round, kind, stage, recipient, what caused
    it); with the channel it is the row's idempotency key: a message already in the outbox is not
    written again. A recipient without any address gets one failed row saying so. `known`: the keys
    already in the outbox (`known_keys`, for a batch; the new keys are added to it) instead of one
    query per message; the caller's later query or commit writes the rows."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    addresses = [(EMAIL, recipient.email.strip()), (SMS, recipient.phone.strip())]
    addresses = [(c, a) for c, a in addresses if a] or [(NO_ADDRESS, "")]
    out = []
    for channel, address in addresses:
        ikey = f"{key}|{channel}"
        if known is not None:
            if ikey[:300] in known:
                continue
            known.add(ikey[:300])
        elif s.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == ikey)).first() is not None:
            continue
        msg = OutboxMessage(round_id=r.id if r is not None else None, kind=kind, channel=channel,
                            recipient_kind=recipient.kind, recipient_id=recipient.id, recipient_name=recipient.name,
                            address=address, context=context, cause=cause[:200], idempotency_key=ikey[:300],
                            status=QUEUED if channel != NO_ADDRESS else FAILED, attempts=0, next_attempt_at=utcnow(),
                            last_error="" if channel != NO_ADDRESS else
                            "无邮箱和手机号 no e-mail address and no mobile number in the expert pool / host contacts",
                            created_by=user)
        s.add(msg)
        out.append(msg)
    if known is None:
        s.flush()
    return out


def _latest_rows(s: Session, r: Round, table: str) -> dict[str, dict]:
    snap = repo.latest_import(s, r)
    key = "expert_id" if table == "experts" else "application_id"
    rows = s.execute(select(ImportRow.data).where(ImportRow.import_id == snap.id, ImportRow.table_name == table)
                     .order_by(ImportRow.seq)).scalars()
    return {str(d.get(key)): d for d in rows if isinstance(d, dict)}


def expert_recipients(s: Session, r: Round) -> dict[str, Recipient]:
    """Every expert of the round's latest import as a recipient (name, e-mail, mobile)."""
    return {eid: Recipient("expert", eid, str(d.get("name") or ""), str(d.get("email") or ""),
                           str(d.get("phone") or "")) for eid, d in _latest_rows(s, r, "experts").items()}


def stage_date(r: Round, stage: str) -> str:
    """The stage's date: the round's meeting setting, else the policy's [stages] dates ("" unknown)."""
    meeting = ((r.settings or {}).get("meetings") or {}).get(stage, {})
    return str(meeting.get("date") or repo.round_policy(r).stages.dates.get(stage, "") or "")


def response_deadline(r: Round, stage: str) -> dt.datetime | None:
    """The experts' answer deadline of `stage` for a seat invited now (naive UTC): one rule for the
    messages and the seat life cycle (reviewer.store.seat_responses.deadline: [responses]
    reply_hours_before_stage before the stage starts); None when the stage has no date."""
    pol = repo.round_policy(r)
    return seat_responses.deadline(pol, seat_responses.stage_start(r, pol, stage), utcnow())


def beijing(t: dt.datetime | None) -> str:
    """A naive UTC time as Beijing time text for a message."""
    return "" if t is None else (t + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") + "（北京时间）"


def _stage_context(r: Round, stage: str) -> dict[str, Any]:
    meeting = ((r.settings or {}).get("meetings") or {}).get(stage, {})
    return {"round": r.code, "round_name": r.name or r.code, "stage": stage, "stage_date": stage_date(r, stage) or "待定",
            "place": str(meeting.get("place") or "另行通知"), "contact": str(meeting.get("contact") or ""),
            "deadline": beijing(response_deadline(r, stage)) or "请尽快",
            "outlier_points": f"{repo.round_policy(r).aggregation.outlier_points:g}"}


def _app_names(s: Session, r: Round) -> dict[str, dict]:
    return _latest_rows(s, r, "applications")


stage_context = _stage_context   # the stage's message fields (reviewer.store.chase)
app_rows = _app_names            # the latest import's applications by id


def enqueue_invitations(s: Session, r: Round, stage: str, *, user: str) -> list[OutboxMessage]:
    """评审邀请: one invitation per expert with an active seat in `stage` (their applications listed)."""
    seats = repo.published_seats(s, r, stage)
    people = expert_recipients(s, r)
    apps = _app_names(s, r)
    out = []
    base = _stage_context(r, stage)   # once per stage, not per expert (it reads the round's policy)
    known = known_keys(s, f"{r.code}|invitation|{stage}|")
    for eid, g in seats.groupby("expert_id", sort=True):
        who = people.get(eid, Recipient("expert", eid, eid))
        listed = [f"{a}（{apps.get(a, {}).get('name', '')}）" for a in g["application_id"]]
        ctx = {**base, "name": who.name, "expert_id": eid, "count": len(listed), "applications": "、".join(listed)}
        out += enqueue(s, r, kind="invitation", recipient=who, context=ctx, key=f"{r.code}|invitation|{stage}|{eid}",
                       cause=f"发布 publication {stage}", user=user, known=known)
    s.flush()
    return out


def host_recipient(r: Round, application: dict) -> Recipient:
    """The host (lead) unit of an application with the contact staff recorded in the round's settings
    (`host_contacts`: {application id: {name, email, phone}}; reviewer notify host-contact)."""
    aid = str(application.get("application_id"))
    c = ((r.settings or {}).get("host_contacts") or {}).get(aid, {})
    return Recipient("host", aid, str(c.get("name") or application.get("lead_unit") or aid),
                     str(c.get("email") or ""), str(c.get("phone") or ""))


def enqueue_site_visit_notices(s: Session, r: Round, stage: str, *, user: str) -> list[OutboxMessage]:
    """现场考察通知: when the policy's site stage is published, one notice per host (lead) unit."""
    if stage != repo.round_policy(r).stages.site:
        return []
    apps = _app_names(s, r)
    out = []
    base = _stage_context(r, stage)
    visits = _site_days(s, r)
    for aid in sorted(set(repo.published_seats(s, r, stage)["application_id"])):
        a = apps.get(aid, {"application_id": aid})
        who = host_recipient(r, a)
        ctx = {**base, "name": who.name, "application_id": aid,
               "application_name": str(a.get("name") or ""), "lead_unit": str(a.get("lead_unit") or ""),
               "address": "另行通知", **visits.get(aid, {})}
        out += enqueue(s, r, kind="site_visit", recipient=who, context=ctx, key=f"{r.code}|site_visit|{stage}|{aid}",
                       cause=f"发布 publication {stage}", user=user)
    return out


def _site_days(s: Session, r: Round) -> dict[str, dict]:
    """Per site of the published site plan: its visit day and the address as stored (the 考察点 file's,
    else the planned one), so the host's notice names the day and place instead of 待定."""
    run_id = site_visits.published_run_id(s, r)
    if run_id is None:
        return {}
    given = site_inputs.as_inputs(site_inputs.current(s, r)).sites
    out = {}
    for x in site_visits.run_visits(s, run_id).itertuples(index=False):
        g = given.get(x.application_id)
        out[x.application_id] = {"stage_date": x.visit_date.isoformat(),
                                 "address": (g and g.address) or x.address or "另行通知"}
    return out


def enqueue_replacement_notices(s: Session, r: Round, stage: str, application_id: str, old_expert: str,
                                new_expert: str, seat_id: int, *, user: str, reason: str = "") -> list[OutboxMessage]:
    """补抽 / 替换: a notice to the new expert (invited in place of another) and to the replaced one."""
    people = expert_recipients(s, r)
    app = _app_names(s, r).get(application_id, {})
    base = {**_stage_context(r, stage), "application_id": application_id,
            "application_name": str(app.get("name") or ""), "reason": reason}
    out = []
    for kind, eid in (("replacement_new", new_expert), ("replacement_old", old_expert)):
        who = people.get(eid, Recipient("expert", eid, eid))
        out += enqueue(s, r, kind=kind, recipient=who, context={**base, "name": who.name, "expert_id": eid},
                       key=f"{r.code}|{kind}|{stage}|{application_id}|{eid}|seat{seat_id}",
                       cause=f"替换 replacement {stage} {application_id}: {old_expert} -> {new_expert}", user=user)
    return out


def reminder_slot(deadline: dt.datetime, now: dt.datetime, hours: Iterable[float]) -> float | None:
    """The reminder due at `now`: the smallest of `hours` with the deadline at most that far ahead
    (None when none is due yet, or the deadline has passed)."""
    if now >= deadline:
        return None
    left = (deadline - now).total_seconds() / 3600
    due = [h for h in hours if left <= h]
    return min(due) if due else None


def open_experts(s: Session, r: Round, stage: str) -> dict[str, list[str]]:
    """Experts with an active seat in `stage` who have not yet submitted scores for every
    application of theirs there: {expert: [applications still open]}."""
    seats = repo.published_seats(s, r, stage)
    scored = {(x.expert_id, x.application_id) for x in s.execute(
        select(Score.expert_id, Score.application_id).where(Score.round_id == r.id, Score.stage == stage,
                                                            Score.void.is_(False))).all()}
    out: dict[str, list[str]] = {}
    for x in seats.itertuples(index=False):
        if (x.expert_id, x.application_id) not in scored:
            out.setdefault(x.expert_id, []).append(x.application_id)
    return out


def enqueue_reminders(s: Session, r: Round, stage: str, *, deadline: dt.datetime | None, now: dt.datetime,
                      user: str) -> tuple[float | None, list[OutboxMessage]]:
    """答复提醒: when a reminder of the policy's notify.reminder_hours_before is due at `now` (naive
    UTC) before `deadline` (default: `response_deadline`), one reminder per expert still open in
    `stage` (`open_experts`); each (expert, slot) once. Returns (the slot in hours, the rows written)."""
    if repo.publication(s, r, stage) is None:
        raise UserError(f"round {r.code}: stage {stage} is not published; there is nobody to remind")
    deadline = deadline or response_deadline(r, stage)
    if deadline is None:
        raise UserError(f"round {r.code}: {stage} has no date (reviewer round set … or [stages] dates), so there is "
                        "no response deadline; give one with --deadline YYYY-MM-DDTHH:MM (Beijing time)")
    slot = reminder_slot(deadline, now, repo.round_policy(r).notify.reminder_hours_before)
    if slot is None:
        return None, []
    people = expert_recipients(s, r)
    out = []
    base = _stage_context(r, stage)
    for eid, apps in sorted(open_experts(s, r, stage).items()):
        who = people.get(eid, Recipient("expert", eid, eid))
        ctx = {**base, "deadline": beijing(deadline), "name": who.name, "expert_id": eid,
               "applications": "、".join(apps), "hours": f"{slot:g}"}
        out += enqueue(s, r, kind="reminder", recipient=who, context=ctx,
                       key=f"{r.code}|reminder|{stage}|{eid}|{deadline:%Y%m%d%H%M}|{slot:g}h",
                       cause=f"提醒 reminder {stage}, {slot:g} h before the deadline", user=user)
    return slot, out


# ---------------------------------------------------------------- the sender's steps (one short transaction each)

def due_ids(s: Session, now: dt.datetime, claim_timeout: dt.timedelta, limit: int | None = None,
            round_id: int | None = None, channels: Iterable[str] | None = None) -> list[int]:
    """Messages to send now (of `channels`, default all): queued and due, or claimed longer ago than
    `claim_timeout` (a sender died)."""
    q = select(OutboxMessage.id).where(or_(
        and_(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at <= now - claim_timeout)))
    if channels is not None:
        q = q.where(OutboxMessage.channel.in_(list(channels)))
    if round_id is not None:
        q = q.where(OutboxMessage.round_id == round_id)
    q = q.order_by(OutboxMessage.id)
    return list(s.execute(q.limit(limit) if limit else q).scalars())


def claim(s: Session, msg_id: int, now: dt.datetime, claim_timeout: dt.timedelta) -> OutboxMessage | None:
    """Take message `msg_id` for sending (compare-and-set: two senders never both take it); None when
    it is not due any more (sent, claimed by another sender, or not yet due)."""
    res = s.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id, or_(
        and_(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at <= now - claim_timeout)))
        .values(status=SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1))
    if res.rowcount != 1:
        return None
    msg = s.get(OutboxMessage, msg_id)
    s.refresh(msg)
    return msg


def mark_sent(s: Session, msg_id: int, now: dt.datetime, provider_ref: str) -> None:
    s.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id)
              .values(status=SENT, sent_at=now, provider_ref=provider_ref[:300], last_error="", claimed_at=None))


def mark_retry(s: Session, msg_id: int, error: str, next_at: dt.datetime) -> None:
    s.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id)
              .values(status=QUEUED, next_attempt_at=next_at, last_error=error[:2000], claimed_at=None))


def mark_failed(s: Session, msg_id: int, error: str) -> None:
    s.execute(update(OutboxMessage).where(OutboxMessage.id == msg_id)
              .values(status=FAILED, last_error=error[:2000], claimed_at=None))


def requeue(s: Session, ids: Iterable[int], *, round_id: int | None = None) -> int:
    """Queue failed messages again (staff fixed an address or the settings): same row, same
    idempotency key, so a message is never duplicated. Sent messages are not touched."""
    q = update(OutboxMessage).where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == FAILED,
                                    OutboxMessage.channel != NO_ADDRESS)
    if round_id is not None:
        q = q.where(OutboxMessage.round_id == round_id)
    return s.execute(q.values(status=QUEUED, next_attempt_at=utcnow(), attempts=0)).rowcount


def status_frame(s: Session, r: Round | None = None, status: str | None = None) -> pd.DataFrame:
    """The outbox as a table (newest last); the address is shown, never a password or key."""
    q = select(OutboxMessage, Round.code).join(Round, Round.id == OutboxMessage.round_id, isouter=True)
    if r is not None:
        q = q.where(OutboxMessage.round_id == r.id)
    if status:
        q = q.where(OutboxMessage.status == status)
    rows = [{"id": m.id, "round": code or "", "kind": m.kind, "channel": m.channel, "recipient_kind": m.recipient_kind,
             "recipient_id": m.recipient_id, "recipient_name": m.recipient_name, "address": m.address,
             "status": m.status, "状态": STATUS_ZH.get(m.status, m.status), "attempts": m.attempts,
             "next_attempt_at": m.next_attempt_at, "sent_at": m.sent_at, "last_error": m.last_error,
             "provider_ref": m.provider_ref, "cause": m.cause, "idempotency_key": m.idempotency_key,
             "created_at": m.created_at} for m, code in s.execute(q.order_by(OutboxMessage.id)).all()]
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)

