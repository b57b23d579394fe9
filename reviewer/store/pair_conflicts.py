"""Conflicts of a PAIR (expert × application) found after the data were imported: every stage at once.

    record(s, round, expert, application, relation=..., evidence=..., user=..., source=...)
        the pair may sit together in no stage of the round: a forbid of every stage, published or not
    pairs(s, round)          the pair conflicts recorded (one row per pair, the stages it covers)
    is_pair_rule(reason)     whether a forbid's reason marks it as a pair conflict

Where they come from: an accepted 申请回避 (reviewer.store.seat_responses.decide_recusal: the evidence
is the relation the expert declared and their own words) and staff who find a relation themselves
(the app's 回避（全部阶段） forbid). A conflict of interest does not depend on the stage, so one
recusal covers the pair in the other stages too.

How it is stored: as the round's seat rules, one active `forbid` per stage, its reason starting with
`PAIR_LABEL` and carrying the evidence. That is deliberate: the planner (reviewer.store.runs,
reviewer.app.panels), the publication check (reviewer.store.publishing) and the replacement checker
(reviewer.store.replacement.check_change) already read the round's forbids, so the pair can be seated
again by no path. Unlike a staff forbid of one stage, the forbid is written for published stages
too: a published seat of the pair is not changed here, it is marked for 补抽 by the seat life cycle
(seat_responses) and replaced through the one checked path (reviewer.store.seat_refill). A lock of the
pair is withdrawn first (it cannot hold any more). Each forbid is one `forbid` audit entry (the facts
`audit verify` replays), with the relation, the evidence and the scope "pair".
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store import audit, repo
from reviewer.store.models import Round, SeatRule, utcnow

PAIR_LABEL = "【回避·全部阶段】"     # the reason prefix of a pair conflict's forbids (every stage)
PAIR_COLS = ["expert_id", "application_id", "stages", "evidence", "created_by", "created_at"]


def is_pair_rule(reason: str) -> bool:
    return str(reason or "").startswith(PAIR_LABEL)


def record(s: Session, r: Round, expert_id: str, application_id: str, *, relation: str, evidence: str, user: str,
           source: str) -> list[str]:
    """Record the pair's conflict in every stage of the round's policy, in the caller's transaction:
    an active forbid per stage whose reason is `PAIR_LABEL` + relation + evidence (an earlier forbid
    of one stage becomes the pair's; a lock of the pair is withdrawn, audited). Returns the stages
    newly covered ([] when every stage was already the pair's)."""
    evidence = (evidence or "").strip()
    if not evidence:
        raise UserError(f"{expert_id} × {application_id}: 回避须有依据 a pair conflict needs its evidence (the relation)")
    repo._check_ids(s, r, experts=[expert_id], applications=[application_id])
    reason = f"{PAIR_LABEL}{relation + '：' if relation else ''}{evidence}"[:2000]
    rows = {(x.kind, x.stage): x for x in s.execute(select(SeatRule).where(
        SeatRule.round_id == r.id, SeatRule.expert_id == expert_id, SeatRule.application_id == application_id)).scalars()}
    done = []
    for stage in repo.round_policy(r).stages.order:
        lock = rows.get(("lock", stage))
        if lock is not None and lock.active:
            repo.remove_seat_rule(s, r, "lock", stage, expert_id, application_id, user=user,
                                  reason=f"{PAIR_LABEL}回避关系，锁定撤销 the pair has a conflict: {evidence}"[:2000])
        x = rows.get(("forbid", stage))
        if x is not None and x.active and is_pair_rule(x.reason):
            continue
        if x is None:
            x = SeatRule(round_id=r.id, kind="forbid", stage=stage, expert_id=expert_id, application_id=application_id,
                         reason=reason, created_by=user)
            s.add(x)
        else:   # one row per seat and kind: a withdrawn or one-stage forbid becomes the pair's
            x.active, x.reason, x.created_by, x.created_at = True, reason, user, utcnow()
        s.flush()
        audit.record(s, user=user, action="forbid", reason=reason, round_code=r.code,
                     entity=f"{stage} {expert_id} × {application_id}"[:200], before=None,
                     after={"kind": "forbid", "stage": stage, "expert_id": expert_id, "application_id": application_id,
                            "scope": "pair", "relation": relation, "evidence": evidence, "source": source})
        done.append(stage)
    return done


def pairs(s: Session, r: Round) -> pd.DataFrame:
    """The pair conflicts of the round: one row per pair with the stages its active forbids cover and
    the evidence (the reason without the label)."""
    rows: dict[tuple[str, str], dict] = {}
    for x in s.execute(select(SeatRule).where(SeatRule.round_id == r.id, SeatRule.kind == "forbid", SeatRule.active)
                       .order_by(SeatRule.id)).scalars():
        if not is_pair_rule(x.reason):
            continue
        row = rows.setdefault((x.expert_id, x.application_id), {
            "expert_id": x.expert_id, "application_id": x.application_id, "stages": [],
            "evidence": x.reason.removeprefix(PAIR_LABEL), "created_by": x.created_by, "created_at": x.created_at})
        row["stages"].append(x.stage)
    return pd.DataFrame(list(rows.values()), columns=PAIR_COLS)
