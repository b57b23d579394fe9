"""催交 (issue 13 item 11): per stage, the experts who have not returned all their score sheets, with
their contact details, and the reminder: a Chinese list to download (one reminder text per expert)
recorded in the round's log.

An expert has returned an application's sheet when the store holds a valid score of every rubric
criterion for that published seat; a seat with some criteria only is 不完整 (incomplete). Only the
stage's active published seats count (a replaced expert owes nothing).
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.imports import load_bundle
from reviewer.app.base import acting_user, memo
from reviewer.app.rounds import audit, fingerprint, round_info
from reviewer.app.scores import scores
from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.store import chase, repo
from reviewer.store.models import utcnow

OUTSTANDING_COLS = ["expert_id", "expert_name", "employer", "phone", "email", "n_assigned", "n_returned",
                    "missing", "incomplete"]
REMINDER_HEADERS_ZH = {"expert_id": "专家编号", "expert_name": "专家姓名", "employer": "工作单位", "phone": "电话",
                       "email": "电子邮箱", "n_assigned": "应交份数", "n_returned": "已交份数",
                       "missing": "未交（申报编号）", "incomplete": "不完整（申报编号）", "text": "催交提醒"}


def outstanding(round_id: str, stage: str) -> pd.DataFrame:
    """One row per expert of the published `stage` who owes sheets (OUTSTANDING_COLS), most owed first;
    empty when every sheet is in. UserError when the stage is not published. Kept between reruns under
    the store's version (a score, publication or replacement, from anywhere, makes a new key)."""
    key = ("outstanding", *fingerprint(round_id, "sources.json"), app_store.version(), stage)
    return memo(key, lambda: _outstanding(round_id, stage)).copy()


def _outstanding(round_id: str, stage: str) -> pd.DataFrame:
    b = load_bundle(round_id)
    b.policy.stage(stage)
    if app_store.publication(round_id, stage) is None:
        raise UserError(f"{stage}：尚未发布专家组，没有应交的评分表 / not published: no sheets are owed yet")
    seats = app_store.published_seats(round_id, stage)[["application_id", "expert_id"]]
    need = {c.id for c in b.policy.rubric.criteria}
    sc = scores(round_id)
    sc = sc[sc["panel"] == stage]
    got = sc.groupby(["application_id", "expert_id"])["criterion"].agg(lambda c: set(c) & need).to_dict()
    people = {e.expert_id: e for e in b.data.experts}
    rows = []
    for eid, g in seats.groupby("expert_id"):
        apps = sorted(g["application_id"])
        missing = [a for a in apps if not got.get((a, eid))]
        partial = [a for a in apps if got.get((a, eid)) and got[(a, eid)] != need]
        if not missing and not partial:
            continue
        e = people.get(eid)
        rows.append({"expert_id": eid, "expert_name": e.name if e else "", "employer": e.employer if e else "",
                     "phone": (e.phone or "") if e else "", "email": (e.email or "") if e else "",
                     "n_assigned": len(apps), "n_returned": len(apps) - len(missing) - len(partial),
                     "missing": "、".join(missing), "incomplete": "、".join(partial)})
    out = pd.DataFrame(rows, columns=OUTSTANDING_COLS)
    return out.sort_values(["n_returned", "expert_id"], ignore_index=True)


def progress(round_id: str, stage: str) -> dict:
    """Sheets owed and returned in `stage` (seats, returned seats, experts owing)."""
    seats = app_store.published_seats(round_id, stage)
    owe = outstanding(round_id, stage)
    owed = int(owe["n_assigned"].sum() - owe["n_returned"].sum()) if not owe.empty else 0
    return {"seats": len(seats), "returned": len(seats) - owed, "experts_owing": len(owe)}


def reminder_text(round_name: str, stage: str, row: dict) -> str:
    owed = "、".join(x for x in (row["missing"], row["incomplete"]) if x)
    return (f"{row['expert_name']}专家：您好！{round_name}{stage}阶段，您尚有 {row['n_assigned'] - row['n_returned']} "
            f"份评分表未交齐（申报编号：{owed}）。请尽快通过个人链接上传或交回工作人员。谢谢！")


def reminder_list(round_id: str, stage: str, user: str | None = None) -> tuple[bytes, int]:
    """催交: the Chinese list of experts who owe sheets (contacts and one reminder text each) as an .xlsx,
    recorded in the round's log. Returns (workbook bytes, experts on it)."""
    owe = outstanding(round_id, stage)
    if owe.empty:
        raise UserError(f"{stage}：全部评分表已交齐，无需催交 / every sheet is in: nobody to remind")
    name = round_info(round_id).name
    owe = owe.assign(text=[reminder_text(name, stage, r) for r in owe.to_dict("records")])
    # the messages themselves go through the outbox, per seat and day: `queue_chase` (the page's button)
    audit(round_id, user, "reminder", {"stage": stage, "experts": owe["expert_id"].tolist()})
    with tempfile.TemporaryDirectory() as tmp:
        data = write_xlsx({"催交名单": owe.rename(columns=REMINDER_HEADERS_ZH)}, Path(tmp) / "reminders.xlsx").read_bytes()
    return data, len(owe)


def chase_due(round_id: str, stage: str, now: dt.datetime | None = None) -> pd.DataFrame:
    """The reminders due now per seat (reviewer.store.chase.due): 答复提醒 and 催交."""
    with app_store.store().read() as s:
        return chase.due(s, repo.get_round(s, round_id), stage, now=now or utcnow())


def queue_chase(round_id: str, stage: str, user: str | None = None, now: dt.datetime | None = None) -> dict:
    """加入发件箱: the reminders due now, through the outbox (one per seat, kind and day, as
    `reviewer notify chase`; `reviewer notify send` or the 通知 page sends them). Returns counts:
    reply / score (seats due) and queued (outbox rows written now)."""
    with app_store.store().write() as s:
        due, rows = chase.enqueue_chase(s, repo.get_round(s, round_id), stage, now=now or utcnow(),
                                        user=acting_user(user))
    return {"reply": int((due["kind"] == chase.REPLY).sum()), "score": int((due["kind"] == chase.SCORE).sum()),
            "queued": len(rows)}
