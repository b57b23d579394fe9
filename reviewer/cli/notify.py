"""`reviewer notify send|status|remind|chase|resend|host-contact|templates`: the notifications of the outbox.

Messages are written to the store's outbox by the acts that cause them (publishing a stage: an
invitation per expert and, for the site stage, a notice per host unit; a replacement: a notice to the
new and the replaced expert; `notify remind`: reminders before the response deadline). `notify send`
delivers what is due by SMTP e-mail and the SMS gateway (settings: reviewer.notify.settings); run it
by hand or from cron. See README "Notifications".
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.errors import UserError
from reviewer.exports import csv_text, write_table
from reviewer.notify import templates
from reviewer.notify.channels import open_channels
from reviewer.notify.sender import send_due
from reviewer.notify.settings import load_settings, settings_path
from reviewer.policy import load_policy
from reviewer.store import chase, outbox, repo

app = typer.Typer(help="通知 Notifications: send the outbox by e-mail and SMS, status, reminders.", no_args_is_help=True)

STATUS_SHOWN = ["id", "round", "kind", "channel", "recipient_id", "recipient_name", "address", "状态", "attempts",
                "sent_at", "last_error"]


def register(main_app: typer.Typer) -> None:
    """Add the `notify` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="notify")


def beijing_time(text: str, option: str) -> dt.datetime:
    """A Beijing time YYYY-MM-DD[THH:MM] as naive UTC (the store's times)."""
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r}: expected a Beijing time like 2026-11-20T18:00 or 2026-11-20") from None
    if t.tzinfo is not None:
        return t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t - dt.timedelta(hours=8)


@app.command("send")
def send(round_: Optional[str] = typer.Option(None, "--round", "-r", help="Only this round's messages."),
         limit: Optional[int] = typer.Option(None, "--limit", help="At most this many messages."),
         db: Optional[str] = DbOpt) -> None:
    """发送 Send every due message (queued, or a retry whose wait is over) by e-mail / SMS; prints the
    counts. Exit 1 when a message failed for good (see `reviewer notify status --status failed`)."""
    settings = load_settings()
    channels = open_channels(settings)
    if not channels:
        raise UserError("未配置发送渠道 no channel is configured: set REVIEWER_SMTP_HOST (e-mail) and/or "
                        f"REVIEWER_SMS_URL (SMS), or write {settings_path()} (README \"Notifications\")")
    st = open_store(db)
    with st.read() as s:
        r = repo.get_round(s, round_) if round_ else None
        cfg = repo.round_policy(r).notify if r is not None else load_policy().notify
        rid = r.id if r is not None else None
    res = send_due(st, channels, cfg, scrub=settings.scrub, round_id=rid, limit=limit)
    echo(f"通知 notifications: {res.line()} (channels: {', '.join(sorted(channels))})")
    if res.failed:
        raise typer.Exit(1)


@app.command("status")
def status(round_: Optional[str] = typer.Option(None, "--round", "-r"),
           only: Optional[str] = typer.Option(None, "--status", help="queued | sending | sent | failed"),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder: writes outbox.csv / outbox.xlsx."),
           db: Optional[str] = DbOpt) -> None:
    """状态 Every message of the outbox: recipient, channel, status (queued / sent / failed with the reason), attempts."""
    if only and only not in outbox.STATUS_ZH:
        raise UserError(f"--status {only!r}: expected one of {', '.join(outbox.STATUS_ZH)}")
    with open_store(db).read() as s:
        df = outbox.status_frame(s, repo.get_round(s, round_) if round_ else None, only)
    counts = df["status"].value_counts().to_dict() if not df.empty else {}
    echo("发件箱 outbox: " + ("，".join(f"{outbox.STATUS_ZH[k]} {k} {counts[k]}" for k in outbox.STATUS_ZH if k in counts)
                            or "空 empty"))
    if out:
        write_table(df, out, "outbox", "通知")
    if not df.empty:
        echo(csv_text(df[STATUS_SHOWN]) if len(df) <= 200 else f"{len(df)} messages (use --out)")


@app.command("remind")
def remind(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
           deadline: Optional[str] = typer.Option(None, "--deadline", help="Response deadline, Beijing time "
                                                  "YYYY-MM-DDTHH:MM (default: the stage start minus the policy's "
                                                  "[responses] reply_hours_before_stage)."),
           now: Optional[str] = typer.Option(None, "--now", help="Act as if it were this Beijing time (a trial)."),
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """提醒 Queue reminders to the experts of a published stage who have not finished, when a reminder of
    the policy's notify.reminder_hours_before is due (each expert once per reminder; run it from cron,
    then `reviewer notify send`)."""
    when = beijing_time(now, "--now") if now else dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        repo.round_policy(r).stage(stage)
        slot, rows = outbox.enqueue_reminders(s, r, stage, deadline=beijing_time(deadline, "--deadline") if deadline
                                              else None, now=when, user=current_user(user))
    if slot is None:
        echo(f"{stage}: 现在没有到期的提醒 no reminder is due now (reminders "
             "at the policy's notify.reminder_hours_before before the deadline)")
        return
    echo(f"{stage}: 截止前 {slot:g} 小时的提醒 reminder {slot:g} h before the deadline: {len(rows)} 条消息已加入发件箱 "
         "message(s) queued (already queued ones are not repeated); send with `reviewer notify send`")


@app.command("chase")
def chase_cmd(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
              kind: str = typer.Option("all", "--kind", help="reply (答复提醒) | score (催交) | all"),
              now: Optional[str] = typer.Option(None, "--now", help="Act as if it were this Beijing time (a trial)."),
              db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """催交 Queue the reminders due per seat: 答复提醒 to seats not yet answered (before the answer deadline),
    催交 to confirmed seats whose scores are not complete (before the score deadline). One per seat, kind
    and day (run it from cron; a second run the same day queues nothing), then `reviewer notify send`."""
    kinds = {"reply": (chase.REPLY,), "score": (chase.SCORE,), "all": (chase.REPLY, chase.SCORE)}
    if kind not in kinds:
        raise UserError(f"--kind {kind!r}: 应为 expected reply, score or all")
    when = beijing_time(now, "--now") if now else dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with open_store(db).write() as s:
        due, rows = chase.enqueue_chase(s, repo.get_round(s, round_), stage, now=when, user=current_user(user),
                                        kinds=kinds[kind])
    counts = due["kind"].value_counts().to_dict() if not due.empty else {}
    echo(f"{stage}: 答复提醒 reply reminders {counts.get(chase.REPLY, 0)} 个席位 seat(s), 催交 score chases "
         f"{counts.get(chase.SCORE, 0)} 个席位 seat(s) due; {len(rows)} 条消息已加入发件箱 message(s) queued "
         "(one per seat, kind and day: already queued ones are not repeated); send with `reviewer notify send`")


@app.command("resend")
def resend(ids: list[int] = typer.Argument(..., help="Outbox ids of failed messages (reviewer notify status)."),
           round_: Optional[str] = typer.Option(None, "--round", "-r"), db: Optional[str] = DbOpt) -> None:
    """重发 Queue failed messages again (same message, same Message-ID: never a duplicate); sent ones are not touched."""
    with open_store(db).write() as s:
        rid = repo.get_round(s, round_).id if round_ else None
        n = outbox.requeue(s, ids, round_id=rid)
    echo(f"{n} 条失败消息重新排队 failed message(s) queued again" + ("" if n == len(ids) else
         f"; {len(ids) - n} not requeued (not failed, no address, or not found)"))


@app.command("host-contact")
def host_contact(round_: str = RoundOpt, application: str = typer.Option(..., "--application", "-a"),
                 name: str = typer.Option("", "--name", help="Contact person (default: the lead unit)."),
                 email: str = typer.Option("", "--email"), phone: str = typer.Option("", "--phone"),
                 reason: str = typer.Option("现场考察联系人 site-visit contact", "--reason"),
                 db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """现场考察联系人 Record the host (lead) unit's contact for the site-visit notice (round settings; audited)."""
    if not (email.strip() or phone.strip()):
        raise UserError("give --email and/or --phone: the site-visit notice needs an address")
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        if application not in repo.known_ids(s, r)[1]:
            raise UserError(f"unknown application id {application!r} in round {round_}")
        repo.update_round_settings(s, r, {"host_contacts": {application: {
            "name": name.strip(), "email": email.strip(), "phone": phone.strip()}}}, user=current_user(user), reason=reason)
    echo(f"{application}: 联系人已记录 host contact recorded")


@app.command("templates")
def copy_templates(force: bool = typer.Option(False, "--force", help="Overwrite edited copies.")) -> None:
    """模板 Copy the message templates to $REVIEWER_HOME/notify_templates/ for editing (they then replace the shipped ones)."""
    written = templates.copy_templates(force=force)
    echo(f"模板 templates in {templates.override_dir()}: {len(written)} copied" +
         ("" if written else " (all there already; --force to overwrite)"))
