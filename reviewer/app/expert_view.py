"""The expert's own view (the personal link): only this expert's seats in published plans, their
answer to each (确认参加 / 请假 / 申请回避, issue 16), the deadline and meeting, their notice, pledge and
score sheet, and whether their scores are in. Nothing about the other members of a panel or any scores
but their own count; an expert whose seats were all replaced sees only that (`replaced_only`)."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import policy_for
from reviewer.documents.packs import PLEDGE
from reviewer.errors import UserError
from reviewer.panels.tables import ROLE_ZH
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.store import keys, repo, seat_refill, seat_responses
from reviewer.store.models import utcnow

COLS = ["stage", "date", "application_id", "name", "field", "lead_city", "role_zh"]


def expert_assignments(round_id: str, expert_id: str) -> pd.DataFrame:
    """This expert's seats in published plans: stage, date, application, role."""
    policy = policy_for(round_id)
    apps = {a.application_id: a for a in load_bundle(round_id).data.applications}
    rows = []
    for s in policy.stages.order:
        if app_store.publication(round_id, s) is None:
            continue
        seats = app_store.published_seats(round_id, s)
        day = policy.stages.date_of(s)
        for r in seats[seats["expert_id"] == expert_id].itertuples(index=False):
            a = apps.get(r.application_id)
            rows.append({"stage": s, "date": day.isoformat() if day else "", "application_id": r.application_id,
                         "name": a.name if a else "", "field": a.field if a else "",
                         "lead_city": a.lead_city if a else "", "role_zh": ROLE_ZH.get(r.role, r.role)})
    return pd.DataFrame(rows, columns=COLS)


def expert_name(round_id: str, expert_id: str) -> str:
    try:
        return load_bundle(round_id).data.expert(expert_id).name
    except KeyError:
        return ""


def expert_score_sheet(round_id: str, expert_id: str, stage: str) -> bytes:
    mine = expert_assignments(round_id, expert_id)
    mine = mine[mine["stage"] == stage]
    if mine.empty:
        raise UserError(f"no published assignment in {stage}")
    with tempfile.TemporaryDirectory() as tmp:
        p = write_score_sheet(Path(tmp) / "sheet.xlsx", policy_for(round_id), expert_id,
                              expert_name(round_id, expert_id), stage, mine[["application_id", "name", "field"]],
                              sheet_key=keys.round_sheet_key(round_id), round_code=round_id)
        return p.read_bytes()


# ---------------------------------------------------------------- the seat life cycle (issue 16)

EXPERT_USER = "专家 expert {}"     # how an expert's own answer is recorded in the audit log


def replaced_only(round_id: str, expert_id: str) -> bool:
    """True when every published seat this expert had in the round was replaced (the page then says
    only 您已被替换 you were replaced)."""
    seats = [app_store.published_seats(round_id, s, include_replaced=True)
             for s in policy_for(round_id).stages.order if app_store.publication(round_id, s) is not None]
    mine = pd.concat(seats, ignore_index=True) if seats else pd.DataFrame(columns=["expert_id", "status"])
    mine = mine[mine["expert_id"] == expert_id]
    return not mine.empty and not (mine["status"] == "active").any()


@dataclass
class StageInfo:
    """What the expert's page shows of one stage: start, answer deadline, meeting, whether answers
    are still taken online, and this expert's seats with their state."""
    stage: str
    start: str
    deadline: str
    meeting: dict
    open_for_answers: bool
    seats: pd.DataFrame          # application_id, name, role_zh, status, status_zh, reason
    submitted: int               # this expert's valid scores stored for the stage


def my_stages(round_id: str, expert_id: str) -> list[StageInfo]:
    """This expert's published stages, their own seats only (nothing of any other expert)."""
    mine = expert_assignments(round_id, expert_id)
    out = []
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        pol = repo.round_policy(r)
        scores = repo.scores_frame(s, r)
        for stage in mine["stage"].unique():
            start = seat_responses.stage_start(r, pol, stage)
            rows = [x for x in seat_responses.stage_responses(s, r, stage)
                    if x.expert_id == expert_id and x.status != seat_responses.REPLACED]
            by_app = {x.application_id: x for x in rows}
            seats = mine[mine["stage"] == stage][["application_id", "name", "field", "lead_city", "role_zh"]].copy()
            seats["status"] = seats["application_id"].map(lambda a: by_app[a].status if a in by_app else "")
            seats["status_zh"] = seats["status"].map(lambda v: seat_responses.STATUS_ZH.get(v, "—"))
            seats["reason"] = seats["application_id"].map(lambda a: by_app[a].reason if a in by_app else "")
            due = min((seat_responses.deadline(pol, start, x.invited_at) for x in rows
                       if seat_responses.deadline(pol, start, x.invited_at) is not None), default=None)
            mine_scores = scores[(scores["stage"] == stage) & (scores["expert_id"] == expert_id)]
            out.append(StageInfo(stage, seat_responses.local_text(start), seat_responses.local_text(due),
                                 dict(((r.settings or {}).get("meetings") or {}).get(stage) or {}),
                                 start is None or utcnow() < start, seats.reset_index(drop=True), int(len(mine_scores))))
    return out


def answer(round_id: str, expert_id: str, stage: str, act: str, *, reason: str = "", relation: str = "",
           application_id: str | None = None) -> str:
    """The expert's own answer (确认参加 / 请假 / 申请回避), recorded as the expert; a decline is refilled
    per the policy at once (the expert is told only of their own seat). Returns the message to show."""
    if act not in seat_responses.EXPERT_ACTS:
        raise UserError(f"未知操作 unknown answer {act!r}")
    with app_store.store().write() as s:
        done = seat_responses.answer(s, repo.get_round(s, round_id), expert_id, stage, act,
                                     user=EXPERT_USER.format(expert_id), reason=reason, relation=relation,
                                     application_id=application_id or None)
    if done.needs_refill:
        seat_refill.auto_refill(app_store.store(), round_id, stage)
    return {"confirm": "已确认参加，谢谢！Confirmed, thank you.",
            "decline": "已登记请假，工作人员将另行安排。Your decline is recorded; the staff will arrange a replacement.",
            "recuse": "回避申请已提交，工作人员审核后通知您。Your recusal request is sent; the staff will decide and "
                      "tell you."}[act]


def notice_text(round_id: str, expert_id: str, info: StageInfo) -> str:
    """The expert's notice of one stage as text: their tasks, the meeting, the answer deadline."""
    name, m = expert_name(round_id, expert_id), info.meeting
    lines = [f"{name} 专家：", f"您好！诚邀您参加{app_store.get_round(round_id)['name'] or round_id}的{info.stage}工作。",
             f"您的评审任务共 {len(info.seats)} 项："]
    lines += [f"  {x.application_id} {x.name}（{x.field}，{x.lead_city}）{x.role_zh}" for x in info.seats.itertuples()]
    lines.append(f"评审开始：{info.start or '待定'}；地点：{m.get('place') or '待定'}")
    if m.get("contact"):
        lines.append(f"联系人：{m['contact']}")
    lines += [f"请于 {info.deadline or '评审开始前'} 前在个人页面确认参加、请假或申请回避。",
              "请签署“保密与回避承诺书”，并于评审开始前交组织单位。本通知仅发送给您本人，请勿转发。"]
    return "\n".join(lines)


def pledge_text(round_id: str, expert_id: str, stage: str) -> str:
    return PLEDGE.format(name=expert_name(round_id, expert_id), expert_id=expert_id,
                         round_name=app_store.get_round(round_id)["name"] or round_id, stage=stage)
