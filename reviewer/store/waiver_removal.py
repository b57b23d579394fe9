"""Withdrawing a waiver (撤销豁免, issue 13 item 10): the staff's act that undoes `repo.add_waiver`.

The waiver row is removed and the act is audited (`waiver.remove`, with the waiver as it was and the
reason) in one transaction; plans made before it are then out of date (`publishing.stale_reasons`
compares the waivers a run recorded with those in force). A waiver that a published seat relies on
is not withdrawn: the expert holds that seat because of it, so the seat is replaced first.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store import audit
from reviewer.store.models import Round, Waiver
from reviewer.store.repo import active_published_seats


def remove_waiver(s: Session, r: Round, expert_id: str, application_id: str, rule: str, *, reason: str,
                  user: str) -> None:
    if not (reason or "").strip():
        raise UserError("撤销豁免须写明理由 / withdrawing a waiver needs a reason")
    w = s.execute(select(Waiver).where(Waiver.round_id == r.id, Waiver.expert_id == expert_id,
                                       Waiver.application_id == application_id, Waiver.rule == rule)
                  ).scalar_one_or_none()
    if w is None:
        raise UserError(f"专家 {expert_id} × 申报 {application_id} 没有 {rule} 豁免 / no {rule} waiver of "
                        f"{expert_id} × {application_id} in round {r.code}")
    seats = active_published_seats(s, r)
    held = seats[(seats["expert_id"] == expert_id) & (seats["application_id"] == application_id)]
    if not held.empty:
        stages = "、".join(sorted(set(held["stage"])))
        raise UserError(f"{expert_id} 在已发布的 {stages} 中担任 {application_id} 的评审专家，该席位依赖此豁免："
                        f"请先在该阶段替换该专家 / {expert_id} holds a published seat of {application_id} in {stages} "
                        "that relies on this waiver: replace them there first")
    before = {"expert_id": w.expert_id, "application_id": w.application_id, "rule": w.rule, "reason": w.reason,
              "by": w.created_by}
    s.delete(w)
    s.flush()
    audit.record(s, user=user, action="waiver.remove", reason=reason.strip(), round_code=r.code,
                 entity=f"{expert_id} × {application_id} {rule}", before=before, after=None)
