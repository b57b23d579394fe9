"""Notifications in the staff app: the round's outbox (what was queued by publications, replacements
and reminders, and what became of each message), sending what is due, queueing reminders and
requeueing failed messages — the same store functions as `reviewer notify ...`."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.errors import UserError
from reviewer.notify.channels import open_channels
from reviewer.notify.sender import send_due
from reviewer.notify.settings import load_settings, settings_path
from reviewer.store import outbox, repo
from reviewer.store.models import utcnow


def outbox_table(round_id: str) -> pd.DataFrame:
    """Every message of the round (status in Chinese, attempts, the reason of a failure)."""
    with app_store.store().read() as s:
        return outbox.status_frame(s, repo.get_round(s, round_id))


def channels_configured() -> list[str]:
    return sorted(open_channels(load_settings()))


def send_now(round_id: str) -> str:
    """Send the round's due messages now; the one line of counts."""
    settings = load_settings()
    channels = open_channels(settings)
    if not channels:
        raise UserError("未配置发送渠道 no channel is configured: set REVIEWER_SMTP_HOST and/or REVIEWER_SMS_URL for the "
                        f"app's process, or write {settings_path()} (README \"Notifications\")")
    st = app_store.store()
    with st.read() as s:
        r = repo.get_round(s, round_id)
        cfg, rid = repo.round_policy(r).notify, r.id
    return send_due(st, channels, cfg, scrub=settings.scrub, round_id=rid).line()


def queue_reminders(round_id: str, stage: str, user: str | None) -> str:
    """Queue the reminders due now for `stage` (nothing when none is due)."""
    with app_store.store().write() as s:
        slot, rows = outbox.enqueue_reminders(s, repo.get_round(s, round_id), stage, deadline=None, now=utcnow(),
                                              user=acting_user(user))
    if slot is None:
        return "现在没有到期的提醒 no reminder is due now"
    return f"截止前 {slot:g} 小时的提醒：{len(rows)} 条消息已加入发件箱 / {len(rows)} reminder message(s) queued"


def resend_failed(round_id: str, ids: list[int]) -> int:
    with app_store.store().write() as s:
        return outbox.requeue(s, ids, round_id=repo.get_round(s, round_id).id)


def deadline_text(round_id: str, stage: str) -> str:
    with app_store.store().read() as s:
        t = outbox.response_deadline(repo.get_round(s, round_id), stage)
    return outbox.beijing(t) if isinstance(t, dt.datetime) else "未定（阶段无日期）"
