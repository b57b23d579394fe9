"""Seats made impossible after publication go through 补抽 like a decline (issue 16).

    sync_schedule(s, round, user=...)               日期冲突: the seats of experts unavailable on a stage's (moved) day
    sync_standing(s, round, user=..., penalty=...)  专家库资格: the seats of experts rule P1 bars now (a credit
                                                    penalty recorded after publication)
    refill(store, code, report)                     then 补抽 per the policy, stage by stage
    after_penalty(store, penalty_id, user=...)      sync_standing in every round, then 补抽
    recheck(store, code, user=...)                  both checks again (the response board's button, `responses recheck`)

Neither obstacle is the expert's doing, so it is not an answer: the seat's response moves to
`date_conflict` or `barred` (seat_responses.TRANSITIONS; from invited or confirmed, a barred seat also
from date_conflict), the prior state kept in `last_answer`, the reason on the board, one audit entry per
stage and act (seat.date_conflict / seat.barred, with the rows, replayed by `audit verify`). Both states
are in seat_responses.NEEDS_REFILL: the seat is then refilled by `seat_refill` exactly as a decline — the
policy's [responses] refill "automatic" now, or "approve" (staff approve the proposal on the board);
under a random draw the redraw keeps the draw's cap — through `replacement.replace_seats` (the whole
round checked, the replacement invited and notified through the outbox, the leaving expert's scores,
opinions and dissent voided, all audited). The replacement's audit reason names the obstacle (the new
day and the expert's availability; the penalty's number, kind, dates and reason).

Left alone and reported (never changed behind the staff's back):
* a stage that already has scores (its meeting was held: a change now is the staff's decision,
  `reviewer replace`);
* a seat whose expert asked to recuse (staff decide that first), or that already waits for 补抽.

When the obstacle goes away before the seat is refilled (the date moved back, the penalty withdrawn), the
seat returns to its prior state (seat.restore, audited).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.store import audit, pool, repo, seat_refill, seat_responses
from reviewer.store.engine import Store
from reviewer.store.models import PoolPenalty, Round, Score, SeatResponse
from reviewer.store.seat_responses import TRANSITIONS

Seat = tuple[str, str, str, str]      # (stage, application, expert, why)


@dataclass
class ObstacleReport:
    """What a check did in one round: seats marked for 补抽, restored, left alone (with why), and the
    refills (stage -> seat_refill.RefillReport, None under refill = "approve")."""
    round_code: str
    marked: list[Seat] = field(default_factory=list)
    restored: list[Seat] = field(default_factory=list)
    left: list[Seat] = field(default_factory=list)
    refills: dict[str, seat_refill.RefillReport | None] = field(default_factory=dict)

    @property
    def stages(self) -> list[str]:
        return list(dict.fromkeys(st for st, *_ in self.marked))

    def lines(self) -> list[str]:
        out = [f"{self.round_code} {st} {a} {e}: 待补抽 to refill — {why}" for st, a, e, why in self.marked]
        out += [f"{self.round_code} {st} {a} {e}: 已恢复 restored — {why}" for st, a, e, why in self.restored]
        out += [f"{self.round_code} {st} {a} {e}: 未处理 left alone — {why}" for st, a, e, why in self.left]
        for st, rep in self.refills.items():
            if rep is None:
                out.append(f"{self.round_code} {st}: 政策为人工审核补抽，请在答复看板审核建议 / refill = approve: "
                           "review the proposals on the response board (reviewer responses refill)")
                continue
            out += [f"补抽 refilled: {p.text}" for p in rep.done]
            out += [f"未补抽 not refilled {st} {a} {e}: {why.splitlines()[0]}" for a, e, why in rep.pending]
        return out


def scored_stages(s: Session, r: Round) -> set[str]:
    """The stages of `r` with any score recorded (not void): their meeting was held."""
    return set(s.execute(select(Score.stage).where(Score.round_id == r.id, Score.void.is_(False)).distinct()).scalars())


def published_stages(s: Session, r: Round) -> list[str]:
    return [st for st in repo.round_policy(r).stages.order if repo.publication(s, r, st) is not None]


def _record(s: Session, r: Round, stage: str, act: str, rows: list[SeatResponse], *, user: str, reason: str,
            extra: dict | None = None) -> None:
    if rows:
        audit.record(s, user=user, action=seat_responses.AUDIT_ACTION[act], reason=reason[:500], round_code=r.code,
                     entity=f"{stage}: {len(rows)} seat(s) {seat_responses.ACT_ZH[act]}",
                     after={"stage": stage, "act": act, **(extra or {}),
                            "responses": [seat_responses.record_of(x) for x in rows]})


def _apply(s: Session, r: Round, stage: str, act: str, found: dict[str, str], *, user: str, rep: ObstacleReport,
           extra: dict | None = None) -> None:
    """Mark the live seats of `stage` whose expert is in `found` ({expert: why}) with `act`, and restore
    the seats in `act`'s state whose expert is no longer in it. Audited (one entry each way)."""
    froms, to = TRANSITIONS[act]
    marked, restored = [], []
    for x in seat_responses.stage_responses(s, r, stage):
        why = found.get(x.expert_id)
        if why is not None and x.status in froms:
            x.last_answer, x.status, x.reason, x.refill_note = x.status, to, why[:2000], ""
            x.version += 1
            x.answered_by = user
            marked.append(x)
            rep.marked.append((stage, x.application_id, x.expert_id, why))
        elif why is not None and x.status == seat_responses.RECUSAL:
            rep.left.append((stage, x.application_id, x.expert_id, f"申请回避待审核，请先审核 a recusal awaits the "
                                                                   f"staff's decision first: {why}"))
        elif why is None and x.status == to:
            back = x.last_answer if x.last_answer in froms and x.last_answer != to else seat_responses.INVITED
            x.status, x.reason, x.refill_note, x.last_answer = back, "", "", ""
            x.version += 1
            restored.append(x)
            rep.restored.append((stage, x.application_id, x.expert_id,
                                 f"{seat_responses.STATUS_ZH[to]}已消除，恢复为“{seat_responses.STATUS_ZH[back]}” "
                                 f"the obstacle is gone: back to {back}"))
    s.flush()
    _record(s, r, stage, act, marked, user=user, reason="；".join(dict.fromkeys(x.reason for x in marked)),
            extra=extra)
    _record(s, r, stage, "restore", restored, user=user, reason=f"{seat_responses.STATUS_ZH[to]}已消除 obstacle gone")


def _left_scored(s: Session, r: Round, stage: str, found: dict[str, str], rep: ObstacleReport) -> None:
    for x in seat_responses.stage_responses(s, r, stage):
        if x.expert_id in found and x.status != seat_responses.REPLACED:
            rep.left.append((stage, x.application_id, x.expert_id,
                             f"{stage} 已有评分，不自动补抽，如需替换请工作人员决定 the stage is already scored: left "
                             f"for the staff (reviewer replace): {found[x.expert_id]}"))


def sync_schedule(s: Session, r: Round, *, user: str, rep: ObstacleReport | None = None) -> ObstacleReport:
    """日期冲突, in the caller's transaction (right after the settings change): every published,
    unscored stage's seats whose expert is unavailable on the stage's day as set now."""
    rep = rep or ObstacleReport(r.code)
    scored = scored_stages(s, r)
    for stage in published_stages(s, r):
        away = seat_responses.unavailable_on_stage_day(s, r, stage)
        day = repo.round_policy(r).stages.date_of(stage)
        found = {e: f"日期冲突 date conflict：{stage} 会议日期为 {day}，{why}" for e, why in away.items()}
        if stage in scored:
            _left_scored(s, r, stage, found, rep)
            continue
        _apply(s, r, stage, "date_conflict", found, user=user, rep=rep, extra={"day": str(day) if day else None})
    return rep


def sync_standing(s: Session, r: Round, *, user: str, penalty: PoolPenalty | None = None,
                  rep: ObstacleReport | None = None) -> ObstacleReport:
    """专家库资格, in the caller's transaction: every published, unscored stage's seats whose expert rule
    P1 bars now (pool.seated_but_barred); `penalty`: the penalty just recorded, named in the reason of
    its expert's seats (and so in the replacement's audit entry)."""
    rep = rep or ObstacleReport(r.code)
    pol = repo.round_policy(r)
    by_stage: dict[str, dict[str, str]] = {}
    for stage, _app, expert, why in pool.seated_but_barred(s, r, pol):
        if penalty is not None and penalty.expert_id == expert:   # name the penalty: its number, then its text
            lead = "信用惩戒 "
            why = (why.replace(lead, f"{lead}#{penalty.id} ", 1) if why.startswith(lead)
                   else f"{lead}#{penalty.id}；{why}")
        by_stage.setdefault(stage, {})[expert] = f"P1 专家库资格 pool standing：{why}"
    scored = scored_stages(s, r)
    extra = {"penalty_id": penalty.id} if penalty is not None else {}
    for stage in published_stages(s, r):
        found = by_stage.get(stage, {})
        if stage in scored:
            _left_scored(s, r, stage, found, rep)
            continue
        _apply(s, r, stage, "barred", found, user=user, rep=rep, extra=extra)
    return rep


def refill(store: Store, rep: ObstacleReport) -> ObstacleReport:
    """补抽 per the policy for every stage where seats were marked (seat_refill.auto_refill)."""
    for stage in rep.stages:
        rep.refills[stage] = seat_refill.auto_refill(store, rep.round_code, stage)
    return rep


def after_penalty(store: Store, penalty_id: int, *, user: str) -> list[ObstacleReport]:
    """A credit penalty was recorded (or withdrawn): the seats it bars now in every round go to 补抽
    (seats it no longer bars are restored), each round in its own transaction. Reports with anything to say."""
    with store.read() as s:
        codes = [r.code for r in repo.list_rounds(s)]
    out = []
    for code in codes:
        with store.write() as s:
            r = repo.get_round(s, code)
            row = s.get(PoolPenalty, penalty_id)
            # a withdrawn penalty bars nothing: it is not named as the cause of any other bar
            rep = sync_standing(s, r, user=user, penalty=row if row is not None and not row.withdrawn else None)
        refill(store, rep)
        if rep.marked or rep.restored or rep.left:
            out.append(rep)
    return out


def recheck(store: Store, code: str, *, user: str) -> ObstacleReport:
    """Both checks for one round again (e.g. after a recusal was rejected), then 补抽 per the policy."""
    with store.write() as s:
        r = repo.get_round(s, code)
        rep = sync_schedule(s, r, user=user)
        sync_standing(s, r, user=user, rep=rep)
    return refill(store, rep)
