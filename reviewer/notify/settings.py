"""Where the senders' settings come from: the environment, else `$REVIEWER_HOME/notify.toml`.

    [smtp]                                   environment (wins over the file)
    host = "smtp.example.gov.cn"             REVIEWER_SMTP_HOST
    port = 465                               REVIEWER_SMTP_PORT      (default 587 with starttls, 465 with ssl, 25)
    security = "ssl"                         REVIEWER_SMTP_SECURITY  starttls (default) | ssl | none
    user = "pingshen@example.gov.cn"         REVIEWER_SMTP_USER      (none: no login)
    password = "..."                         REVIEWER_SMTP_PASSWORD
    sender = "评审办 <pingshen@example.gov.cn>"  REVIEWER_SMTP_FROM    (default: user)

    [sms]
    url = "https://sms.example.com/api/send"  REVIEWER_SMS_URL
    key = "..."                               REVIEWER_SMS_KEY
    signature = "广西工信厅"                    REVIEWER_SMS_SIGNATURE

A file that holds a password or key must be private to its user (mode 0600), else it is refused. The
password and key are kept out of every repr, message, log line and the store (the outbox has
addresses only); `scrub` removes them from any error text a server sends back.
"""
from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.errors import UserError
from reviewer.home import default_home

SETTINGS_FILE = "notify.toml"
SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout: float = 30.0

    @property
    def from_address(self) -> str:
        return self.sender or self.user or f"mic-reviewer@{self.host}"


@dataclass(frozen=True)
class SmsSettings:
    url: str
    key: str = field(default="", repr=False)
    signature: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class NotifySettings:
    smtp: SmtpSettings | None
    sms: SmsSettings | None
    source: str   # where they came from (for messages; no secret)

    def secrets(self) -> list[str]:
        return [x for x in ((self.smtp.password if self.smtp else ""), (self.sms.key if self.sms else "")) if x]

    def scrub(self, text: str) -> str:
        """`text` without the password or key (a server may echo what it was sent)."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


def settings_path(home: Path | None = None) -> Path:
    return (home or default_home()) / SETTINGS_FILE


def _read_file(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"{path}: 通知设置文件无法读取 the notification settings file cannot be read: {e}") from None
    secret = (raw.get("smtp") or {}).get("password") or (raw.get("sms") or {}).get("key")
    if secret and os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise UserError(f"{path}: 文件含密码/密钥，只能本人可读 the file holds a password or key but others may read it "
                        f"(mode {stat.S_IMODE(path.stat().st_mode):o}); run: chmod 600 {path}")
    return raw


def _value(env: str, section: dict, key: str, default=""):
    v = os.environ.get(env)
    return v if v not in (None, "") else section.get(key, default)


def load_settings(home: Path | None = None) -> NotifySettings:
    """The SMTP and SMS settings (either may be None: that channel is not configured)."""
    path = settings_path(home)
    raw = _read_file(path)
    smtp_raw, sms_raw = raw.get("smtp") or {}, raw.get("sms") or {}
    smtp = sms = None
    host = str(_value("REVIEWER_SMTP_HOST", smtp_raw, "host") or "")
    if host:
        security = str(_value("REVIEWER_SMTP_SECURITY", smtp_raw, "security", "starttls")).lower()
        if security not in SECURITY:
            raise UserError(f"SMTP security {security!r} (REVIEWER_SMTP_SECURITY or [smtp] security in {path}): "
                            f"expected one of {', '.join(SECURITY)}")
        port = _value("REVIEWER_SMTP_PORT", smtp_raw, "port", DEFAULT_PORTS[security])
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise UserError(f"SMTP port {port!r} (REVIEWER_SMTP_PORT or [smtp] port in {path}): expected a number") from None
        smtp = SmtpSettings(host=host, port=port, security=security, user=str(_value("REVIEWER_SMTP_USER", smtp_raw, "user")),
                            password=str(_value("REVIEWER_SMTP_PASSWORD", smtp_raw, "password")),
                            sender=str(_value("REVIEWER_SMTP_FROM", smtp_raw, "sender")))
    url = str(_value("REVIEWER_SMS_URL", sms_raw, "url") or "")
    if url:
        sms = SmsSettings(url=url, key=str(_value("REVIEWER_SMS_KEY", sms_raw, "key")),
                          signature=str(_value("REVIEWER_SMS_SIGNATURE", sms_raw, "signature")))
    return NotifySettings(smtp, sms, f"environment / {path}")
