"""Errors a user can fix. The CLI prints them as plain lines, never as a traceback.

No message shows a secret: a database URL's password (``postgresql+psycopg://user:pw@host/db``,
or ``?password=pw``) is masked by :func:`mask_url` / :func:`redact`, and every `UserError` redacts
its own text, so no caller can print one in clear by mistake.
"""
from __future__ import annotations

import re

MASK = "***"
# user:password@ after a scheme (any URL-like text), and password-like query parameters.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*):(?P<pw>[^\s@'\"]*)@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd|sslpassword)=)(?P<pw>[^&\s'\"]*)", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def mask_url(url: str) -> str:
    """A database URL as it may be shown: its password (also one in the query) replaced by ***. A text
    that is not a URL of the form scheme://user:password@host keeps only what follows its last '@'
    (what precedes may be user:password)."""
    masked = redact(str(url))
    if "@" in masked and not _URL_PASSWORD.match(masked) and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://[^:@/]*@", masked):
        masked = MASK + masked[masked.rindex("@"):]
    return masked


class UserError(Exception):
    """A mistake in the user's input (file, option, policy) with a message that says how to fix it.
    Its text never shows a URL's password (see :func:`redact`)."""

    def __str__(self) -> str:
        return redact(super().__str__())
