"""Reminders of two kinds, per seat, through the outbox (issue 16 item 4):

    答复提醒 reply_reminder   the seat is still 已邀请 (no answer yet) and its answer deadline has not passed
    催交     score_chase      the expert confirmed (已确认) but the seat's score sheet is not complete,
                              and the score deadline has not passed

    due(s, round, stage, now=...)                         the reminders due now, one row per seat (no change)
    enqueue_chase(s, round, stage, now=..., user=...)     write them to the outbox in the caller's transaction
    score_deadline(round, policy, stage)                  when the scores of a stage are due

Idempotent: a reminder's outbox key is (round, kind, stage, seat, Beijing day), so running the command
again (cron every hour, the app's button twice, the CLI and the app on the same day) writes nothing new:
one reminder per seat per kind per day. A seat that was replaced, declined, is waiting for a recusal
decision or has no reply recorded gets no reminder: only an active seat in one of the two states does.

Deadlines: the answer deadline is the seat's own (reviewer.store.seat_responses.deadline: [responses]
reply_hours_before_stage before the stage starts, or the short window of a replacement). The score
deadline is [notify] score_hours_after_stage after the stage starts (for the site stage, after the last
day of the site window when the round sets one, at 18:00 Beijing time). A stage without a date has no
deadline: its reminders say 请尽快 and are due every day until the seat is answered or scored.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.store import outbox, repo, seat_responses
from reviewer.store.models import OutboxMessage, Round, Score

REPLY, SCORE = "reply_reminder", "score_chase"
KIND_ZH = {REPLY: "答复提醒", SCORE: "催交"}
DUE_COLS = ["kind", "kind_zh", "stage", "application_id", "expert_id", "assignment_id", "deadline"]


def score_deadline(r: Round, pol: Policy, stage: str) -> dt.datetime | None:
    """When the scores of `stage` are due (naive UTC), None when the stage has no date."""
    hours = dt.timedelta(hours=pol.notify.score_hours_after_stage)
    site_end = (r.settings or {}).get("site_end")
    if stage == pol.stages.site_stage and site_end:
        end = seat_responses._local(str(site_end), "18:00")
        if end is not None:
            return end + hours
    start = seat_responses.stage_start(r, pol, stage)
    return None if start is None else start + hours


def _complete(s: Session, r: Round, pol: Policy, stage: str) -> set[tuple[str, str]]:
    """(application, expert) of the seats whose valid scores cover every criterion of the stage's instrument."""
    need = {c.id for c in pol.instrument(stage).criteria}
    have: dict[tuple[str, str], set] = {}
    for app_id, expert, crit in s.execute(select(Score.application_id, Score.expert_id, Score.criterion).where(
            Score.round_id == r.id, Score.stage == stage, Score.void.is_(False))).all():
        have.setdefault((app_id, expert), set()).add(str(crit))
    return {k for k, v in have.items() if need <= v}


def due(s: Session, r: Round, stage: str, *, now: dt.datetime, kinds=(REPLY, SCORE)) -> pd.DataFrame:
    """The reminders due at `now` (naive UTC) in `stage`: one row per active seat and kind (DUE_COLS),
    `deadline` the one it reminds of (None: the stage has no date)."""
    pol = repo.round_policy(r)
    pol.stage(stage)
    unknown = [k for k in kinds if k not in KIND_ZH]
    if unknown:
        raise UserError(f"未知提醒类型 unknown reminder kind {', '.join(unknown)}: expected {', '.join(KIND_ZH)}")
    if repo.publication(s, r, stage) is None:
        raise UserError(f"round {r.code}: {stage} 尚未发布 is not published; there is nobody to remind")
    active = set(repo.published_seats(s, r, stage)["assignment_id"])
    start = seat_responses.stage_start(r, pol, stage)
    scored_by = score_deadline(r, pol, stage)
    complete = _complete(s, r, pol, stage) if SCORE in kinds else set()
    rows = []
    for x in seat_responses.stage_responses(s, r, stage):
        if x.assignment_id not in active:
            continue
        if REPLY in kinds and x.status == seat_responses.INVITED:
            d = seat_responses.deadline(pol, start, x.invited_at)
            if d is None or now < d:
                rows.append([REPLY, KIND_ZH[REPLY], stage, x.application_id, x.expert_id, x.assignment_id, d])
        if SCORE in kinds and x.status == seat_responses.CONFIRMED and (x.application_id, x.expert_id) not in complete:
            if scored_by is None or now < scored_by:
                rows.append([SCORE, KIND_ZH[SCORE], stage, x.application_id, x.expert_id, x.assignment_id, scored_by])
    return pd.DataFrame(rows, columns=DUE_COLS)


def beijing_day(now: dt.datetime) -> str:
    return (now + dt.timedelta(hours=8)).strftime("%Y%m%d")


def enqueue_chase(s: Session, r: Round, stage: str, *, now: dt.datetime, user: str,
                  kinds=(REPLY, SCORE)) -> tuple[pd.DataFrame, list[OutboxMessage]]:
    """Write every reminder `due` at `now` to the outbox, in the caller's transaction; one per seat,
    kind and Beijing day (a second run the same day writes nothing). Returns (the reminders due, the
    outbox rows written now)."""
    todo = due(s, r, stage, now=now, kinds=kinds)
    if todo.empty:
        return todo, []
    people = outbox.expert_recipients(s, r)
    apps = outbox.app_rows(s, r)
    base = outbox.stage_context(r, stage)
    day = beijing_day(now)
    out = []
    for x in todo.itertuples(index=False):
        who = people.get(x.expert_id, outbox.Recipient("expert", x.expert_id, x.expert_id))
        a = apps.get(x.application_id, {})
        ctx = {**base, "name": who.name, "expert_id": x.expert_id, "application_id": x.application_id,
               "application_name": str(a.get("name") or ""), "applications": x.application_id,
               "deadline": outbox.beijing(x.deadline) or "请尽快"}
        out += outbox.enqueue(s, r, kind=x.kind, recipient=who, context=ctx,
                              key=f"{r.code}|{x.kind}|{stage}|seat{x.assignment_id}|{day}",
                              cause=f"{x.kind_zh} {stage} {x.application_id}", user=user)
    return todo, out
