"""The response board in the staff app (issue 16): per published stage, who answered, who is late,
what is still open, recusals to decide and seats waiting for 补抽 — from the store only
(reviewer.store.seat_responses, seat_refill), each act one transaction, audited with the signed-in user.

After an answer taken by staff, an accepted recusal or 标记未答复 (expire), the waiting seats are
refilled at once when the round's policy says [responses] refill = "automatic"; under "approve" the
board shows each proposal and staff approve it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.app.imports import load_bundle
from reviewer.errors import UserError
from reviewer.store import repo, seat_obstacles, seat_refill, seat_responses
from reviewer.store.seat_responses import local_text

ROLE_ZH = {"chair": "组长", "member": "成员"}
# the board lists first what needs staff: seats to refill, recusals to decide, late answers, then the
# replaced seats, the confirmed ones and the open invitations
ATTENTION = ("to refill", seat_responses.RECUSAL, "late", seat_responses.REPLACED, seat_responses.CONFIRMED,
             seat_responses.INVITED)


def published_stages(round_id: str) -> list[str]:
    """The round's stages that are published (only they have invited seats)."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        return [stg for stg in repo.round_policy(r).stages.order if repo.publication(s, r, stg) is not None]


def _names(round_id: str) -> tuple[dict[str, str], dict[str, str]]:
    try:
        data = load_bundle(round_id).data
    except UserError:
        return {}, {}
    return {e.expert_id: e.name for e in data.experts}, {a.application_id: a.name for a in data.applications}


def board(round_id: str, stage: str) -> pd.DataFrame:
    """The board of `stage` with names and times as staff read them (Beijing time)."""
    with app_store.store().read() as s:
        b = seat_responses.board(s, repo.get_round(s, round_id), stage)
    experts, apps = _names(round_id)
    b.insert(2, "application_name", b["application_id"].map(apps).astype(object).fillna(""))
    b.insert(4, "expert_name", b["expert_id"].map(experts).astype(object).fillna(""))
    b["role_zh"] = b["role"].map(ROLE_ZH).fillna("")
    b["relation_zh"] = b["relation"].map(lambda k: seat_responses.RELATIONS.get(k, "").split(" ")[0] if k else "")
    for col in ("deadline", "answered_at"):
        b[col + "_text"] = b[col].map(lambda t: local_text(t) if pd.notna(t) else "")
    b["flags"] = [" ".join(f for f, on in (("逾期 late", late), ("待补抽 to refill", refill),
                                           ("新日期不可参加 unavailable on the day", away)) if on)
                  for late, refill, away in zip(b["late"], b["needs_refill"], b["unavailable"])]
    # a date conflict's reason already carries the availability note: shown once
    b["note"] = [" · ".join(v for v in ("" if sched and sched in why else sched, rel, why,
                                        f"未补抽：{left.splitlines()[0]}" if left else "") if v)
                 for sched, rel, why, left in zip(b["schedule_note"], b["relation_zh"], b["reason"], b["refill_note"])]
    order = {k: i for i, k in enumerate(ATTENTION)}
    # a seat to refill, or whose expert cannot come on the (moved) meeting day, needs staff first
    b["_rank"] = [0 if refill or away else order.get(s, 9)
                  for s, refill, away in zip(b["status"], b["needs_refill"], b["unavailable"])]
    b.loc[b["late"] & (b["status"] == seat_responses.INVITED), "_rank"] = 2
    return b.sort_values(["_rank", "application_id", "assignment_id"], kind="stable").drop(columns="_rank") \
        .reset_index(drop=True)


def counts(frame: pd.DataFrame) -> dict[str, int]:
    return seat_responses.summary(frame)


def stage_start_text(round_id: str, stage: str) -> str:
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        return local_text(seat_responses.stage_start(r, repo.round_policy(r), stage))


def refill_mode(round_id: str) -> str:
    return app_store.round_policy(round_id).responses.refill


@dataclass
class Outcome:
    """What an act did, as lines for the page (refills done, seats left for staff)."""
    lines: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)


def _after(round_id: str, stage: str, needs_refill: bool, out: Outcome) -> Outcome:
    if not needs_refill:
        return out
    rep = seat_refill.auto_refill(app_store.store(), round_id, stage)
    if rep is None:
        out.pending.append("政策为人工审核补抽：请在下方“待补抽”中审核建议 / refill = approve: review the proposals below")
        return out
    out.lines += [f"已补抽 refilled: {p.text}" for p in rep.done]
    out.pending += [f"{a} {e}: {why.splitlines()[0]}" for a, e, why in rep.pending]
    return out


def record_answer(round_id: str, stage: str, expert_id: str, act: str, *, reason: str = "", relation: str = "",
                  application_id: str | None = None, user: str | None = None) -> Outcome:
    """An answer staff took by phone or letter (确认参加 / 请假 / 申请回避), recorded under their name."""
    if act not in seat_responses.EXPERT_ACTS:
        raise UserError(f"未知操作 unknown act {act!r}")
    with app_store.store().write() as s:
        done = seat_responses.answer(s, repo.get_round(s, round_id), expert_id, stage, act, user=acting_user(user),
                                     reason=reason, relation=relation, application_id=application_id or None)
    out = Outcome([f"已记录 recorded: {expert_id} {seat_responses.ACT_ZH[act]}"])
    return _after(round_id, stage, done.needs_refill, out)


def decide_recusal(round_id: str, stage: str, application_id: str, expert_id: str, accept: bool, reason: str,
                   user: str | None = None) -> Outcome:
    with app_store.store().write() as s:
        done = seat_responses.decide_recusal(s, repo.get_round(s, round_id), stage, application_id, expert_id,
                                             accept=accept, reason=reason, user=acting_user(user))
    out = Outcome([f"回避申请已{'同意' if accept else '驳回'} recusal {'accepted' if accept else 'rejected'}: "
                   f"{application_id} {expert_id}"])
    if accept:   # a conflict of the pair: every stage forbids it; seats in other published stages are refilled too
        out.lines.append(f"{expert_id} × {application_id}：各阶段均回避 the pair is forbidden in every stage"
                         + (f"；{'、'.join(done.also)} 的席位同时回避 also recused there" if done.also else ""))
    _after(round_id, stage, accept, out)
    for other in done.also if accept else ():
        _after(round_id, other, True, out)
    return out


def expire(round_id: str, stage: str, user: str | None = None) -> Outcome:
    """标记未答复: the invited seats past their deadline become no reply (then 补抽 per the policy)."""
    with app_store.store().write() as s:
        done = seat_responses.expire(s, repo.get_round(s, round_id), stage, user=acting_user(user))
    out = Outcome([f"未答复 no reply: {len(done.changed)} 个席位 seat(s)"])
    return _after(round_id, stage, bool(done.changed), out)


def recheck(round_id: str, user: str | None = None) -> Outcome:
    """Check every published stage again for seats a moved meeting date (日期冲突) or rule P1 (a
    credit penalty) made impossible, and refill them per the policy (reviewer.store.seat_obstacles)."""
    rep = seat_obstacles.recheck(app_store.store(), round_id, user=acting_user(user))
    lines = rep.lines()
    return Outcome([x for x in lines if not x.startswith("未")], [x for x in lines if x.startswith("未")])


def proposals(round_id: str, stage: str) -> pd.DataFrame:
    """The proposal for every seat waiting for 补抽 (candidate, how) or why there is none."""
    rows = []
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        b = seat_responses.board(s, r, stage)
        for x in b[b["needs_refill"]].itertuples(index=False):
            try:
                p = seat_refill.propose(s, r, stage, x.application_id, x.expert_id)
                rows.append({"application_id": x.application_id, "expert_id": x.expert_id, "status_zh": x.status_zh,
                             "candidate": p.candidate, "how": p.how, "why_not": ""})
            except UserError as e:
                rows.append({"application_id": x.application_id, "expert_id": x.expert_id, "status_zh": x.status_zh,
                             "candidate": "", "how": "", "why_not": str(e)})
    return pd.DataFrame(rows, columns=["application_id", "expert_id", "status_zh", "candidate", "how", "why_not"])


def approve(round_id: str, stage: str, application_id: str, expert_id: str, candidate: str,
            user: str | None = None) -> Outcome:
    """Apply one approved proposal (refused when the proposal has changed since it was shown)."""
    with app_store.store().write() as s:
        p = seat_refill.refill(s, repo.get_round(s, round_id), stage, application_id, expert_id,
                               user=acting_user(user), approved=candidate)
    return Outcome([f"已补抽 refilled: {p.text}"])
