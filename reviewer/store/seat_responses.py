"""The seat life cycle (issue 16): the expert's answer to each published seat.

    invite_stage(s, round, stage, user=...)            the invited seats of a stage (at publication, after a repair)
    answer(s, round, expert, stage, act, ...)          确认参加 confirm / 请假 decline / 申请回避 recuse (the expert)
    decide_recusal(s, round, stage, app, expert, ...)  staff accept (→ 回避 recused) or reject (→ invited again)
    expire(s, round, stage, user=..., now=...)         未答复: invited seats past their deadline
    board(s, round, stage, now=...)                    the response board: one row per seat, answered / late / open
    pending_notifications(s, round, stage=None)        the message facts of invited and replaced seats (notify hook)

The states (`STATUS_ZH`) and the acts that move between them (`TRANSITIONS`) are one table:

    invited  --confirm-->  confirmed         invited / confirmed / no_reply --decline-->  declined (reason)
    invited / confirmed / no_reply --recuse--> recusal (relation, reason) --staff accept--> recused
                                                                          --staff reject--> invited
    invited  --expire (deadline passed)-->  no_reply        no_reply --confirm (late)--> confirmed
    invited / confirmed  --date_conflict (the meeting moved to a day the expert is unavailable)-->  date_conflict
    invited / confirmed / date_conflict  --barred (rule P1 bars the expert now: a penalty)-->  barred
    date_conflict / barred  --restore (the obstacle went away; reviewer.store.seat_obstacles)-->  the prior state
    declined / recused / no_reply / date_conflict / barred  --补抽 (reviewer.store.seat_refill)-->  replaced

A seat replaced by any path (`reviewer replace`, the app, 补抽) becomes `replaced`; the new seat is
invited. A chair handover (the heir's member seat replaced by a chair seat of the same expert) keeps
the heir's answer. Every change is one audit entry (actions `seat.*`) recording the rows it wrote,
so `reviewer audit verify` replays them (reviewer.store.facts) and names a status changed with SQL.

Deadline: [responses] reply_hours_before_stage before the stage starts (the stage's meeting date and
time in the round settings, Beijing time, 09:00 when no time is set; else the site-inspection start;
else the policy's [stages] date). A seat invited after that deadline (a replacement) has
replacement_reply_hours, never past the start. No start known: no deadline (nothing expires). An
expert's answer after the stage started is refused: they must call the staff.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.store import audit, pair_conflicts, repo
from reviewer.store.models import Assignment, ImportRow, ImportSnapshot, Panel, Round, SeatResponse, utcnow

TZ = ZoneInfo("Asia/Shanghai")
INVITED, CONFIRMED, DECLINED, RECUSAL, RECUSED, NO_REPLY, REPLACED = (
    "invited", "confirmed", "declined", "recusal", "recused", "no_reply", "replaced")
# seats made impossible after publication, not by the expert (reviewer.store.seat_obstacles): the
# stage's meeting moved to a day the expert is unavailable; rule P1 专家库资格 bars the expert now
DATE_CONFLICT, BARRED = "date_conflict", "barred"
STATUS_ZH = {INVITED: "已邀请", CONFIRMED: "已确认", DECLINED: "已请假", RECUSAL: "申请回避（待审核）",
             RECUSED: "回避已同意", NO_REPLY: "未答复", REPLACED: "已替换", DATE_CONFLICT: "日期冲突",
             BARRED: "专家库资格受限"}
STATUS_EN = {INVITED: "invited", CONFIRMED: "confirmed", DECLINED: "declined", RECUSAL: "recusal requested",
             RECUSED: "recused", NO_REPLY: "no reply", REPLACED: "replaced", DATE_CONFLICT: "date conflict",
             BARRED: "barred (pool standing)"}
NEEDS_REFILL = (DECLINED, RECUSED, NO_REPLY, DATE_CONFLICT, BARRED)      # the seat is to be refilled (补抽)
# act -> (the states it leaves, the state it enters)
TRANSITIONS = {
    "confirm": ((INVITED, NO_REPLY, RECUSAL), CONFIRMED),
    "decline": ((INVITED, CONFIRMED, NO_REPLY, RECUSAL), DECLINED),
    "recuse": ((INVITED, CONFIRMED, NO_REPLY), RECUSAL),
    "accept_recusal": ((RECUSAL,), RECUSED),
    "reject_recusal": ((RECUSAL,), INVITED),
    "expire": ((INVITED,), NO_REPLY),
    # an accepted recusal is a conflict of the pair: the expert's seats on that application in the
    # other published stages are recused too (reviewer.store.pair_conflicts), then refilled
    "pair_conflict": ((INVITED, CONFIRMED, NO_REPLY, RECUSAL), RECUSED),
    # the program's acts on seats made impossible (seat_obstacles.mark / restore; never an answer):
    # a seat awaiting a staff decision on a recusal, or already to be refilled, is left as it is
    "date_conflict": ((INVITED, CONFIRMED), DATE_CONFLICT),
    "barred": ((INVITED, CONFIRMED, DATE_CONFLICT), BARRED),
}
ACT_ZH = {"confirm": "确认参加", "decline": "请假", "recuse": "申请回避", "accept_recusal": "同意回避",
          "reject_recusal": "驳回回避申请", "expire": "标记未答复", "pair_conflict": "回避（全部阶段）",
          "date_conflict": "日期冲突待补抽", "barred": "专家库资格受限待补抽", "restore": "障碍消除，恢复原状态"}
EXPERT_ACTS = ("confirm", "decline", "recuse")
SYSTEM_ACTS = ("expire", "date_conflict", "barred")      # not answers: `answer` refuses them
# 申请回避: the relation the expert declares (the conflict rules of SPEC §4 an expert can know of)
RELATIONS = {"C1": "任职回避（现/曾任职于申报单位） works or worked for an applicant unit",
             "C2": "董监高/股东回避 director, supervisor or shareholder of an applicant unit",
             "C3": "利害关系回避（亲属、师生、合作项目或论文） personal relation, co-project or co-author",
             "C4": "同领域申报回避（本单位同领域申报） own unit applies in the same field",
             "C5": "主管部门人员回避 staff of the supervising or recommending department",
             "other": "其他利害关系 another relation (state it in the reason)"}
AUDIT_ACTION = {"invite": "seat.invite", "confirm": "seat.confirm", "decline": "seat.decline",
                "recuse": "seat.recuse", "accept_recusal": "seat.recusal_decision",
                "reject_recusal": "seat.recusal_decision", "pair_conflict": "seat.recusal_decision",
                "expire": "seat.expire", "replaced": "seat.replaced",
                "refill_note": "seat.refill_note", "date_conflict": "seat.date_conflict",
                "barred": "seat.barred", "restore": "seat.restore"}
BOARD_COLS = ["stage", "application_id", "expert_id", "role", "status", "status_zh", "reason", "relation",
              "invited_at", "answered_at", "deadline", "late", "open", "needs_refill", "refill_note",
              "assignment_id", "replaced_by", "unavailable", "schedule_note"]


def record_of(x: SeatResponse) -> list:
    """What an audit entry records of a response row (replayed by reviewer.store.facts)."""
    return [x.assignment_id, x.status]


# ---------------------------------------------------------------- times

def _local(day: str, time: str = "") -> dt.datetime | None:
    try:
        d = dt.date.fromisoformat(str(day))
    except ValueError:
        return None
    try:
        h, m = (int(v) for v in (time or "09:00").split(":"))
        t = dt.time(h, m)
    except ValueError:
        t = dt.time(9, 0)
    return dt.datetime.combine(d, t, TZ).astimezone(dt.timezone.utc).replace(tzinfo=None)


def stage_start(r: Round, pol: Policy, stage: str) -> dt.datetime | None:
    """When `stage` starts (UTC, naive as stored): the meeting in the round settings, else the
    site-inspection start at the site stage, else the policy's [stages] date; None when unscheduled."""
    settings = r.settings or {}
    meeting = (settings.get("meetings") or {}).get(stage) or {}
    if meeting.get("date"):
        return _local(meeting["date"], meeting.get("time", ""))
    if stage == pol.stages.site_stage and settings.get("site_start"):
        return _local(settings["site_start"])
    day = pol.stages.date_of(stage)
    return _local(day.isoformat()) if day else None


def deadline(pol: Policy, start: dt.datetime | None, invited_at: dt.datetime) -> dt.datetime | None:
    """The answer deadline of a seat invited at `invited_at` for a stage starting at `start`."""
    if start is None:
        return None
    d = start - dt.timedelta(hours=pol.responses.reply_hours_before_stage)
    if invited_at >= d:   # invited late (a replacement): its own short window, never past the start
        return min(invited_at + dt.timedelta(hours=pol.responses.replacement_reply_hours), start)
    return d


def local_text(t: dt.datetime | None) -> str:
    """A stored UTC time as staff and experts read it (Beijing time, with the zone)."""
    if t is None:
        return ""
    return t.replace(tzinfo=dt.timezone.utc).astimezone(TZ).strftime("%Y-%m-%d %H:%M (北京时间)")


# ---------------------------------------------------------------- invitations

def stage_responses(s: Session, r: Round, stage: str | None = None) -> list[SeatResponse]:
    q = select(SeatResponse).where(SeatResponse.round_id == r.id)
    if stage is not None:
        q = q.where(SeatResponse.stage == stage)
    return list(s.execute(q.order_by(SeatResponse.id)).scalars())


def _seats(s: Session, r: Round, stage: str) -> list[Assignment]:
    return list(s.execute(select(Assignment).join(Panel, Panel.id == Assignment.panel_id)
                          .where(Panel.round_id == r.id, Panel.stage == stage).order_by(Assignment.id)).scalars())


def invite_stage(s: Session, r: Round, stage: str, *, user: str, reason: str = "") -> list[SeatResponse]:
    """Bring the responses of `stage` in line with its published seats, in the caller's transaction:
    every active seat without a response is invited (a chair handover's new seat keeps the heir's
    answer), every response of a seat no longer active becomes `replaced`. Audited (seat.invite,
    seat.replaced) with the rows written. Returns the newly invited responses."""
    seats = _seats(s, r, stage)
    have = {x.assignment_id: x for x in stage_responses(s, r, stage)}
    by_id = {a.id: a for a in seats}
    added, gone, now = [], [], utcnow()
    for a in seats:
        if a.status != "active" or a.id in have:
            continue
        prior = have.get(a.replaces_id) if a.origin == "chair_handover" else None
        x = SeatResponse(round_id=r.id, assignment_id=a.id, stage=stage, application_id=a.application_id,
                         expert_id=a.expert_id, status=prior.status if prior else INVITED, invited_at=now,
                         reason=prior.reason if prior else "", relation=prior.relation if prior else "",
                         answered_at=prior.answered_at if prior else None,
                         answered_by=prior.answered_by if prior else "")
        s.add(x)
        have[a.id] = x
        added.append(x)
    for x in have.values():
        a = by_id.get(x.assignment_id)
        if a is not None and a.status != "active" and x.status != REPLACED:
            x.last_answer, x.status, x.version = x.status, REPLACED, x.version + 1
            gone.append(x)
    s.flush()
    invited = [x for x in added if x.status == INVITED]
    if added:
        audit.record(s, user=user, action=AUDIT_ACTION["invite"], reason=reason or f"{stage} 发出邀请 invited",
                     round_code=r.code, entity=f"{stage}: {len(invited)} seat(s) invited",
                     after={"stage": stage, "responses": [record_of(x) for x in added]})
    if gone:
        audit.record(s, user=user, action=AUDIT_ACTION["replaced"], reason=reason or f"{stage} 席位已替换 replaced",
                     round_code=r.code, entity=f"{stage}: {len(gone)} seat(s) replaced",
                     after={"stage": stage, "responses": [record_of(x) for x in gone]})
    return invited


# ---------------------------------------------------------------- acts

@dataclass(frozen=True)
class Act:
    """One answer or decision about seats: what was done and the responses it changed."""
    act: str
    stage: str
    expert_id: str
    changed: tuple[SeatResponse, ...]
    also: tuple[str, ...] = ()        # other stages whose seats the act changed (a pair conflict)

    @property
    def needs_refill(self) -> bool:
        return any(x.status in NEEDS_REFILL for x in self.changed)


def _expert_rows(s: Session, r: Round, stage: str, expert_id: str, application_id: str | None) -> list[SeatResponse]:
    rows = [x for x in stage_responses(s, r, stage) if x.expert_id == expert_id
            and (application_id is None or x.application_id == application_id)]
    if not rows:
        where = f" × {application_id}" if application_id else ""
        raise UserError(f"专家 {expert_id} 在 {stage}{where} 没有受邀席位 expert {expert_id} has no invited seat in "
                        f"{stage}{where} of round {r.code}")
    return rows


def _refuse(x: SeatResponse, act: str) -> None:
    froms, to = TRANSITIONS[act]
    if x.status == REPLACED:
        raise UserError(f"您已被替换，无需再答复 you were replaced on {x.application_id} ({x.stage}); nothing was "
                        "recorded")
    if x.status == to:
        raise UserError(f"{x.application_id} ({x.stage}) 已是“{STATUS_ZH[to]}”，无需重复操作 is already "
                        f"{STATUS_EN[to]}; nothing was recorded")
    if x.status not in froms:
        raise UserError(f"{x.application_id} ({x.stage}) 当前为“{STATUS_ZH[x.status]}”，不能{ACT_ZH[act]} is "
                        f"{STATUS_EN[x.status]}: it cannot be {act}d now; nothing was recorded")


def _check_time(r: Round, pol: Policy, stage: str, act: str, now: dt.datetime) -> None:
    start = stage_start(r, pol, stage)
    if act in EXPERT_ACTS and start is not None and now >= start:
        raise UserError(f"{stage} 已于 {local_text(start)} 开始，不能再在线{ACT_ZH[act]}，请直接联系工作人员 / the stage "
                        "has started: answers are no longer taken online; please call the staff")


def answer(s: Session, r: Round, expert_id: str, stage: str, act: str, *, user: str, reason: str = "",
           relation: str = "", application_id: str | None = None, now: dt.datetime | None = None,
           expected_versions: dict[int, int] | None = None) -> Act:
    """The expert's answer (`act` confirm / decline / recuse) for their seats of `stage` (one
    application with `application_id`; a recusal always names one), or a staff decision
    (accept_recusal / reject_recusal) on one seat. Refused with a clear message when the seat is
    replaced, already in that state, the act does not apply, or the stage has started. The act
    changes the seats it applies to (a confirm after a rejected recusal leaves the seats already
    confirmed as they are); none: refused, naming the state. Audited (seat.*)."""
    if act not in TRANSITIONS or act in SYSTEM_ACTS:
        raise UserError(f"未知操作 unknown act {act!r}: expected one of "
                        f"{', '.join(a for a in TRANSITIONS if a not in SYSTEM_ACTS)}")
    pol = repo.round_policy(r)
    pol.stage(stage)
    now = now or utcnow()
    reason = (reason or "").strip()
    if act in ("decline", "recuse", "reject_recusal", "pair_conflict") and not reason:
        raise UserError(f"{ACT_ZH[act]}需要填写原因 {act} needs a reason")
    if act == "recuse":
        if not application_id:
            raise UserError("申请回避需指明申报项目 a recusal names the application")
        if relation not in RELATIONS:
            raise UserError(f"回避关系 relation {relation!r}: expected one of {', '.join(RELATIONS)}")
    _check_time(r, pol, stage, act, now)
    rows = _expert_rows(s, r, stage, expert_id, application_id)
    froms, to = TRANSITIONS[act]
    live = [x for x in rows if x.status in froms]     # seats already in that state, or past it, are left alone
    if not live:
        _refuse(next((x for x in rows if x.status != REPLACED), rows[0]), act)
    changed = []
    for x in live:
        want = (expected_versions or {}).get(x.assignment_id, x.version)
        res = s.execute(update(SeatResponse).where(SeatResponse.id == x.id, SeatResponse.version == want).values(
            status=to, version=want + 1, answered_at=now, answered_by=user,
            reason=reason if act != "confirm" else "", relation=relation if act in ("recuse", "pair_conflict") else x.relation))
        if res.rowcount != 1:
            raise repo.ConcurrentEditError(f"{x.application_id} ({stage}) 的答复刚被他人更改，请刷新后重试 / the "
                                           "answer was changed by someone else: reload and try again")
        s.refresh(x)
        changed.append(x)
    audit.record(s, user=user, action=AUDIT_ACTION[act], reason=reason or ACT_ZH[act], round_code=r.code,
                 entity=f"{stage} {expert_id}{' × ' + application_id if application_id else ''}: {ACT_ZH[act]}",
                 after={"stage": stage, "act": act, "relation": relation or None,
                        "responses": [record_of(x) for x in changed]})
    return Act(act, stage, expert_id, tuple(changed))


def decide_recusal(s: Session, r: Round, stage: str, application_id: str, expert_id: str, *, accept: bool,
                   reason: str, user: str) -> Act:
    """Staff decide an expert's 申请回避 on one seat: accepted → recused (to be refilled), rejected →
    invited again (the expert is expected; the reason is recorded). An accepted recusal is a conflict
    of the pair in every stage (`pair_conflicts.record`, evidence: the relation the expert declared and
    their words): the expert's seats on that application in other published stages are recused too
    (act pair_conflict; `Act.also` names those stages, for 补抽 there)."""
    if not accept:
        return answer(s, r, expert_id, stage, "reject_recusal", user=user, reason=reason, application_id=application_id)
    asked = [x for x in _expert_rows(s, r, stage, expert_id, application_id) if x.status == RECUSAL]
    said = {(x.relation, x.reason) for x in asked}
    done = answer(s, r, expert_id, stage, "accept_recusal", user=user,
                  reason=reason or "同意回避 recusal accepted", application_id=application_id)
    relation, words = next(iter(said)) if said else ("", "")
    evidence = f"{RELATIONS.get(relation, relation)}；专家陈述 the expert's words: {words}；{stage} 回避申请已同意 " \
               f"accepted by {user}: {reason or '同意回避'}"
    pair_conflicts.record(s, r, expert_id, application_id, relation=relation, evidence=evidence, user=user,
                          source=f"{stage} 申请回避 recusal")
    also = []
    for other in repo.round_policy(r).stages.order:
        if other == stage:
            continue
        live = [x for x in stage_responses(s, r, other) if x.expert_id == expert_id
                and x.application_id == application_id and x.status in TRANSITIONS["pair_conflict"][0]]
        if live:
            answer(s, r, expert_id, other, "pair_conflict", user=user, relation=relation,
                   reason=f"{stage} 回避申请已同意，同一申报各阶段回避 the recusal accepted in {stage} covers {other}",
                   application_id=application_id)
            also.append(other)
    return Act(done.act, done.stage, done.expert_id, done.changed, tuple(also))


def overdue(s: Session, r: Round, stage: str, now: dt.datetime | None = None) -> list[SeatResponse]:
    """The invited seats of `stage` whose deadline has passed."""
    pol, now = repo.round_policy(r), now or utcnow()
    start = stage_start(r, pol, stage)
    return [x for x in stage_responses(s, r, stage) if x.status == INVITED
            and (d := deadline(pol, start, x.invited_at)) is not None and now >= d]


def expire(s: Session, r: Round, stage: str, *, user: str, now: dt.datetime | None = None) -> Act:
    """未答复: mark every invited seat of `stage` past its deadline as no reply (one audit entry)."""
    late = overdue(s, r, stage, now)
    for x in late:
        x.status, x.version, x.answered_by = NO_REPLY, x.version + 1, user
    s.flush()
    if late:
        audit.record(s, user=user, action=AUDIT_ACTION["expire"], reason="逾期未答复 no reply by the deadline",
                     round_code=r.code, entity=f"{stage}: {len(late)} seat(s) no reply",
                     after={"stage": stage, "act": "expire", "responses": [record_of(x) for x in late]})
    return Act("expire", stage, "", tuple(late))


def note_refill(s: Session, r: Round, response_id: int, note: str, *, user: str) -> None:
    """Record why a seat to be refilled was not refilled automatically (shown on the board; audited)."""
    x = s.get(SeatResponse, response_id)
    x.refill_note, x.version = note[:2000], x.version + 1
    s.flush()
    audit.record(s, user=user, action=AUDIT_ACTION["refill_note"], reason=note[:500], round_code=r.code,
                 entity=f"{x.stage} {x.application_id} {x.expert_id}: 补抽未完成 refill pending",
                 after={"stage": x.stage, "responses": [record_of(x)]})


# ---------------------------------------------------------------- reading

def response_of(s: Session, r: Round, assignment_id: int) -> SeatResponse | None:
    return s.execute(select(SeatResponse).where(SeatResponse.round_id == r.id,
                                                SeatResponse.assignment_id == assignment_id)).scalar_one_or_none()


def unavailable_on_stage_day(s: Session, r: Round, stage: str) -> dict[str, str]:
    """{expert id: why} for the experts of the round's latest import who are not available on the day
    `stage` is held now (the meeting date of the round settings, else the policy's date; the
    availability window 可用起止日期 of the expert pool, as planning reads it). Empty when the stage
    has no date. A meeting moved after publication: the seats of these experts are flagged."""
    day = repo.round_policy(r).stages.date_of(stage)
    snap = s.execute(select(ImportSnapshot.id).where(ImportSnapshot.round_id == r.id)
                     .order_by(ImportSnapshot.id.desc()).limit(1)).scalar_one_or_none()
    if day is None or snap is None:
        return {}
    out = {}
    for d in s.execute(select(ImportRow.data).where(ImportRow.import_id == snap, ImportRow.table_name == "experts")
                       ).scalars():
        d = d if isinstance(d, dict) else {}
        start, end = (dt.date.fromisoformat(str(d[k])) if d.get(k) else None
                      for k in ("available_from", "available_until"))
        if (start and day < start) or (end and day > end):
            out[str(d.get("expert_id"))] = (f"新日期不可参加 unavailable on {day.isoformat()}: 可用 available "
                                            f"{start or '…'} 至 {end or '…'}")
    return out


def board(s: Session, r: Round, stage: str, now: dt.datetime | None = None) -> pd.DataFrame:
    """The response board of `stage`: one row per seat (replaced ones too) with its state, reason,
    deadline, whether it is late (no answer and the deadline passed), open (still awaiting the
    expert) or needs refilling, the seat that replaced it, and whether its expert is unavailable on
    the stage's day as it is set now (`unavailable`, `schedule_note`: the meeting was moved)."""
    pol, now = repo.round_policy(r), now or utcnow()
    start = stage_start(r, pol, stage)
    away = unavailable_on_stage_day(s, r, stage)
    seats = {a.id: a for a in _seats(s, r, stage)}
    successor = {a.replaces_id: a for a in seats.values() if a.replaces_id is not None}
    out = []
    for x in stage_responses(s, r, stage):
        a = seats.get(x.assignment_id)
        due = deadline(pol, start, x.invited_at)
        nxt = successor.get(x.assignment_id)
        out.append({"stage": stage, "application_id": x.application_id, "expert_id": x.expert_id,
                    "role": a.role if a else "", "status": x.status, "status_zh": STATUS_ZH[x.status],
                    "reason": x.reason, "relation": x.relation, "invited_at": x.invited_at,
                    "answered_at": x.answered_at, "deadline": due,
                    "late": x.status == NO_REPLY or (x.status == INVITED and due is not None and now >= due),
                    "open": x.status in (INVITED, RECUSAL), "needs_refill": x.status in NEEDS_REFILL,
                    "refill_note": x.refill_note, "assignment_id": x.assignment_id,
                    "replaced_by": nxt.expert_id if nxt is not None and x.status == REPLACED else "",
                    "unavailable": x.status != REPLACED and x.expert_id in away,
                    "schedule_note": away.get(x.expert_id, "") if x.status != REPLACED else ""})
    return pd.DataFrame(out, columns=BOARD_COLS)


def summary(frame: pd.DataFrame) -> dict[str, int]:
    """Counts of a board: seats (active), confirmed, open, late, to refill, replaced, recusals to decide,
    seats of experts unavailable on the stage's (new) day."""
    active = frame[frame["status"] != REPLACED]
    return {"seats": int(len(active)), "confirmed": int((active["status"] == CONFIRMED).sum()),
            "open": int(active["open"].sum()), "late": int(active["late"].sum()),
            "needs_refill": int(active["needs_refill"].sum()),
            "recusals": int((active["status"] == RECUSAL).sum()),
            "unavailable": int(active["unavailable"].sum()),
            "replaced": int((frame["status"] == REPLACED).sum())}


# ---------------------------------------------------------------- notifications hook

@dataclass(frozen=True)
class Notice:
    """A message fact for the notification outbox (built by reviewer.notify): who, what, which seat."""
    kind: str                 # invitation / replaced (the seat was taken from this expert)
    round_code: str
    stage: str
    application_id: str
    expert_id: str
    assignment_id: int
    deadline: str             # Beijing time text, "" when unscheduled
    stage_start: str


def pending_notifications(s: Session, r: Round, stage: str | None = None) -> list[Notice]:
    """The message facts the seats call for now: an invitation for every seat awaiting its expert's
    answer (invited), a notice to every expert whose seat was replaced. The outbox (issue 16 item 4)
    keys each by (kind, assignment_id), so asking again never sends twice."""
    pol = repo.round_policy(r)
    out = []
    for stg in ([stage] if stage else pol.stages.order):
        start = stage_start(r, pol, stg)
        for x in stage_responses(s, r, stg):
            kind = {INVITED: "invitation", REPLACED: "replaced"}.get(x.status)
            if kind:
                out.append(Notice(kind, r.code, stg, x.application_id, x.expert_id, x.assignment_id,
                                  local_text(deadline(pol, start, x.invited_at)), local_text(start)))
    return out


# ---------------------------------------------------------------- the pool's memory of answers

HISTORY_COLS = ["round", "stage", "application_id", "status", "answer", "reason", "answered_at", "late"]


def expert_history(s: Session, expert_id: str) -> pd.DataFrame:
    """Every seat this expert was invited to, in every round, with what became of it: the final
    answer (confirmed, declined, recused, no reply …; kept in `last_answer` when the seat is replaced)
    and whether they answered late (no reply, or after the deadline). The pool's memory of answers
    across rounds (issue 16 item 6 builds credit and rotation on it)."""
    rounds = {r.id: r for r in repo.list_rounds(s)}
    rows = list(s.execute(select(SeatResponse).where(SeatResponse.expert_id == expert_id)
                          .order_by(SeatResponse.round_id, SeatResponse.id)).scalars())
    out = []
    for x in rows:
        r = rounds[x.round_id]
        pol = repo.round_policy(r)
        due = deadline(pol, stage_start(r, pol, x.stage), x.invited_at)
        answer = x.last_answer if x.status == REPLACED else x.status
        out.append({"round": r.code, "stage": x.stage, "application_id": x.application_id, "status": x.status,
                    "answer": answer, "reason": x.reason, "answered_at": x.answered_at,
                    "late": answer == NO_REPLY or bool(due and x.answered_at and x.answered_at > due)})
    return pd.DataFrame(out, columns=HISTORY_COLS)
