"""The two ways a message leaves: SMTP e-mail (stdlib smtplib/email) and an SMS gateway over HTTP.

A channel takes an `Outgoing` message and returns the provider's reference (the e-mail's Message-ID,
the gateway's message id), or raises `TemporaryFailure` (try again later: connection refused, time
out, SMTP 4xx, HTTP 5xx/408/429) or `PermanentFailure` (no use trying again: address refused, SMTP
5xx, HTTP 4xx). Error texts never hold the password or key (`NotifySettings.scrub`).

SMS gateway interface (no vendor lock-in): `SmsGateway.send(phone, text, idempotency_key)`. The one
implementation, `HttpSmsGateway`, POSTs JSON {"to", "text", "signature", "idempotency_key"} to the
configured URL with the key in the `Authorization: Bearer` header (never in the URL) and the
idempotency key also in an `Idempotency-Key` header; a 2xx answer is success (its JSON `id`, if any,
is recorded). A vendor's own API goes behind a small relay or a second implementation of the
interface. The key is sent only over https (or to this machine, for tests and a local relay).
"""
from __future__ import annotations

import hashlib
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Protocol

from reviewer.errors import UserError
from reviewer.notify.settings import NotifySettings, SmsSettings, SmtpSettings

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class TemporaryFailure(Exception):
    """Sending failed in a way that may pass: try again after the backoff."""


class PermanentFailure(Exception):
    """Sending failed for good (address refused, bad request): the message is marked failed."""


@dataclass(frozen=True)
class Outgoing:
    idempotency_key: str
    address: str
    name: str
    subject: str
    body: str


def wire_key(idempotency_key: str) -> str:
    """The outbox row's idempotency key as sent on the wire: 40 hex digits of its SHA-256 (ASCII for
    HTTP headers; says nothing of the round, stage or expert)."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def message_id(idempotency_key: str, domain: str) -> str:
    """The e-mail's Message-ID, derived from the outbox row's idempotency key: a message sent again
    (after a crash between sending and recording it) carries the same id, so a mailbox or a
    receiving server can drop the second copy."""
    return f"<{wire_key(idempotency_key)}@{domain or 'mic-reviewer'}>"


class Channel(Protocol):
    name: str

    def send(self, msg: Outgoing) -> str: ...

    def close(self) -> None: ...


class EmailChannel:
    """SMTP e-mail; one connection per batch, opened on the first message and reopened when dropped."""
    name = "email"

    def __init__(self, cfg: SmtpSettings, settings: NotifySettings):
        self.cfg, self.settings, self._conn = cfg, settings, None

    def _connect(self) -> smtplib.SMTP:
        c = self.cfg
        try:
            if c.security == "ssl":
                conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if c.user:
                conn.login(c.user, c.password)
        except smtplib.SMTPAuthenticationError as e:
            raise PermanentFailure(self._why("SMTP 登录失败 login refused", e)) from None
        except (OSError, smtplib.SMTPException) as e:
            raise TemporaryFailure(self._why(f"SMTP {c.host}:{c.port} 连接失败 cannot connect", e)) from None
        return conn

    def _why(self, what: str, e: Exception) -> str:
        return self.settings.scrub(f"{what}: {type(e).__name__}: {e}")

    def build(self, msg: Outgoing) -> EmailMessage:
        m = EmailMessage()
        sender = self.cfg.from_address
        m["From"] = sender
        m["To"] = formataddr((msg.name, msg.address)) if msg.name else msg.address
        m["Subject"] = msg.subject
        m["Date"] = formatdate(localtime=False)
        m["Message-ID"] = message_id(msg.idempotency_key, parseaddr(sender)[1].rpartition("@")[2])
        m.set_content(msg.body, charset="utf-8")
        return m

    def send(self, msg: Outgoing) -> str:
        m = self.build(msg)
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(m)
        except smtplib.SMTPRecipientsRefused as e:
            raise PermanentFailure(self._why(f"收件地址被拒 address {msg.address} refused", e)) from None
        except smtplib.SMTPResponseException as e:
            self.close()
            cls = PermanentFailure if 500 <= e.smtp_code < 600 else TemporaryFailure
            raise cls(self._why(f"SMTP {e.smtp_code}", e)) from None
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            raise TemporaryFailure(self._why("SMTP 发送中断 sending interrupted", e)) from None
        return str(m["Message-ID"])

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conn = None


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, idempotency_key: str) -> str: ...


class HttpSmsGateway:
    """An SMS gateway reached by a JSON POST (see the module doc)."""

    def __init__(self, cfg: SmsSettings, settings: NotifySettings):
        u = urllib.parse.urlsplit(cfg.url)
        if u.scheme not in ("https", "http") or not u.hostname:
            raise UserError(f"短信网关地址无效 SMS gateway URL {settings.scrub(cfg.url)!r}: expected https://host/path")
        if u.scheme == "http" and u.hostname not in LOCAL_HOSTS:
            raise UserError(f"短信网关须用 https the SMS gateway {u.hostname} must be reached over https "
                                   "(the key would travel in clear text)")
        self.cfg, self.settings = cfg, settings

    def send(self, phone: str, text: str, idempotency_key: str) -> str:
        body = json.dumps({"to": phone, "text": text, "signature": self.cfg.signature,
                           "idempotency_key": idempotency_key}, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(self.cfg.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key,
            **({"Authorization": f"Bearer {self.cfg.key}"} if self.cfg.key else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout) as resp:
                raw = resp.read(65536)
        except urllib.error.HTTPError as e:
            detail = self.settings.scrub(e.read(500).decode("utf-8", "replace"))
            cls = TemporaryFailure if e.code >= 500 or e.code in (408, 429) else PermanentFailure
            raise cls(f"短信网关 SMS gateway HTTP {e.code}: {detail}") from None
        except (OSError, ValueError) as e:
            raise TemporaryFailure(self.settings.scrub(f"短信网关无法连接 SMS gateway unreachable: {type(e).__name__}: {e}")) from None
        try:
            ref = json.loads(raw.decode("utf-8") or "{}").get("id", "")
        except (ValueError, AttributeError):
            ref = ""
        return str(ref or idempotency_key)


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway):
        self.gateway = gateway

    def send(self, msg: Outgoing) -> str:
        return self.gateway.send(msg.address, msg.body, wire_key(msg.idempotency_key))

    def close(self) -> None:
        pass


def open_channels(settings: NotifySettings) -> dict[str, Channel]:
    """The configured channels by name (email, sms)."""
    out: dict[str, Channel] = {}
    if settings.smtp is not None:
        out["email"] = EmailChannel(settings.smtp, settings)
    if settings.sms is not None:
        out["sms"] = SmsChannel(HttpSmsGateway(settings.sms, settings))
    return out
