"""Sending the outbox: claim a message, send it, record the outcome — each step its own transaction.

    send_due(store, channels, settings, ...)  one batch: every due message of a configured channel

For each due message: (1) claim it (status sending, attempts + 1; a compare-and-set, so two senders
never take the same message), commit; (2) render its template and send it through its channel,
outside any transaction; (3) record sent (with the Message-ID / gateway id), or a retry after
exponential backoff (policy [notify]: backoff_seconds x 2^(attempts-1), at most backoff_max_seconds,
failed after max_attempts), or failed for good (address refused, template error), commit.

Guarantee: at-least-once, never lost. A sender killed after (1) leaves the message `sending`; once
its claim is older than claim_timeout_seconds the next run sends it again. Exactly-once cannot be had
over SMTP: a sender killed after the server accepted the message but before (3) is committed sends
it a second time. That second copy carries the same Message-ID (derived from the idempotency key),
so mail clients and servers that de-duplicate by Message-ID show it once; the SMS gateway receives the
same idempotency key and a gateway that honours it (ours does) sends the text once. Everywhere else
— a repeated command, a reminder run twice, a resend of a failed message — nothing is duplicated:
the outbox row is unique by its idempotency key and a sent row is never sent again.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Callable

from reviewer.errors import UserError
from reviewer.notify import templates
from reviewer.notify.channels import Channel, Outgoing, PermanentFailure, TemporaryFailure
from reviewer.policy_process import Notify
from reviewer.store import outbox
from reviewer.store.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: int = 0          # due, but its channel is not configured (left queued)

    def line(self) -> str:
        return (f"已发送 sent {len(self.sent)}，稍后重试 to retry {len(self.retry)}，失败 failed {len(self.failed)}"
                + (f"，渠道未配置 channel not configured {self.skipped}" if self.skipped else ""))


def backoff(cfg: Notify, attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from backoff_seconds, capped."""
    return dt.timedelta(seconds=min(cfg.backoff_max_seconds, cfg.backoff_seconds * 2 ** max(0, attempts - 1)))


def _outgoing(m: OutboxMessage) -> Outgoing:
    subject, body = templates.render(m.kind, m.channel, m.context or {})
    return Outgoing(m.idempotency_key, m.address, m.recipient_name, subject, body)


def send_due(store, channels: dict[str, Channel], cfg: Notify, *, scrub: Callable[[str], str] = str,
             round_id: int | None = None, limit: int | None = None, now: Callable[[], dt.datetime] = utcnow,
             after_send: Callable[[OutboxMessage], None] | None = None) -> BatchResult:
    """Send every due message of a configured channel (see the module doc). `after_send` runs between
    sending a message and recording it (tests inject a crash there)."""
    timeout = dt.timedelta(seconds=cfg.claim_timeout_seconds)
    with store.read() as s:
        ids = outbox.due_ids(s, now(), timeout, limit, round_id, channels=list(channels))
        channel_of = {i: s.get(OutboxMessage, i).channel for i in ids}
        others = outbox.due_ids(s, now(), timeout, None, round_id,
                                channels=[c for c in (outbox.EMAIL, outbox.SMS) if c not in channels])
    res = BatchResult(skipped=len(others))
    try:
        for i in ids:
            _send_one(store, i, channels[channel_of[i]], cfg, res, scrub, now, timeout, after_send)
    finally:
        for c in channels.values():
            c.close()
    return res


def _send_one(store, msg_id: int, channel: Channel, cfg: Notify, res: BatchResult, scrub, now, timeout,
              after_send) -> None:
    with store.write() as s:
        m = outbox.claim(s, msg_id, now(), timeout)
        if m is None:
            return            # another sender took it, or it is no longer due
        attempts = m.attempts
        try:
            out = _outgoing(m)
        except UserError as e:
            outbox.mark_failed(s, msg_id, f"模板错误 template: {e}")
            res.failed.append(msg_id)
            return
        snapshot = OutboxMessage(id=m.id, kind=m.kind, channel=m.channel, address=m.address,
                                 idempotency_key=m.idempotency_key, attempts=attempts)
    try:
        ref = channel.send(out)
    except PermanentFailure as e:
        with store.write() as s:
            outbox.mark_failed(s, msg_id, scrub(str(e)))
        res.failed.append(msg_id)
        return
    except TemporaryFailure as e:
        with store.write() as s:
            if attempts >= cfg.max_attempts:
                outbox.mark_failed(s, msg_id, f"{attempts} 次尝试均失败 gave up after {attempts} attempts: {scrub(str(e))}")
                res.failed.append(msg_id)
            else:
                outbox.mark_retry(s, msg_id, scrub(str(e)), now() + backoff(cfg, attempts))
                res.retry.append(msg_id)
        log.info("outbox #%s: attempt %s failed, will retry", msg_id, attempts)
        return
    if after_send is not None:
        after_send(snapshot)
    with store.write() as s:
        outbox.mark_sent(s, msg_id, now(), ref)
    res.sent.append(msg_id)
