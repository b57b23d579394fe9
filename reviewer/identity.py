"""Who acts: the one rule for the name recorded with every staff act (store rows, audit log, runs),
shared by the command line and the app; and the one rule for how strong a staff password must be
(`check_password_strength`, called wherever an account is created or its password reset)."""
from __future__ import annotations

import getpass
import os
import re

from reviewer.errors import UserError


def acting_user(given: str | None = None, *, fallback: str | None = None) -> str:
    """The name given (`--user`, the app's signed-in user), else ``$REVIEWER_USER``, else the login
    name of the process, else `fallback`; a clear error when none is known."""
    name = (given or "").strip() or os.environ.get("REVIEWER_USER", "").strip()
    if not name:
        try:
            name = getpass.getuser().strip()
        except Exception:  # no login name (some containers): getpass raises various errors
            name = ""
    name = name or (fallback or "").strip()
    if not name:
        raise UserError("请说明操作人 say who you are: --user NAME (or set REVIEWER_USER)")
    return name


# Passwords found first in every leaked-password list (and their Chinese favourites): refused whatever
# their length. Compared ignoring case.
COMMON_PASSWORDS = frozenset({
    "123456", "12345678", "123456789", "1234567890", "0123456789", "password", "password1", "password123",
    "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwerty123", "qwertyuiop", "1qaz2wsx", "1q2w3e4r",
    "1q2w3e4r5t", "qazwsxedc", "zxcvbnm", "abc123", "abc123456", "a123456", "a12345678", "aa123456",
    "abcd1234", "admin", "admin123", "admin@123", "administrator", "root", "welcome", "welcome1",
    "letmein", "iloveyou", "woaini", "woaini1314", "5201314", "1314520", "11111111", "88888888",
    "66666666", "00000000", "12341234", "123123123", "123qwe", "123qweasd", "qweasdzxc", "changeme",
    "secret", "test1234", "guest", "huawei123", "mic-reviewer", "reviewer",
})


def check_password_strength(password: str, username: str, min_length: int) -> None:
    """UserError naming every way `password` is too weak for `username`'s staff account: shorter
    than `min_length` (the policy's [accounts] min_password_length), only digits, one repeated character, a
    common password, or the user name (in any case, also followed by digits or signs)."""
    pw = password or ""
    problems = []
    if len(pw) < min_length:
        problems.append(f"至少 {min_length} 个字符 at least {min_length} characters "
                        "(policy [accounts] min_password_length)")
    if pw.isdigit():
        problems.append("不能全是数字 not only digits")
    if pw and len(set(pw)) == 1:
        problems.append("不能是同一字符重复 not one character repeated")
    if pw.lower() in COMMON_PASSWORDS:
        problems.append("不能是常见密码 not a common password")
    if username and re.sub(r"[\d\W_]+$", "", pw).lower() == username.lower():
        problems.append("不能是用户名（或用户名加数字）not the user name (nor it followed by digits)")
    if problems:
        raise UserError("密码太弱 password too weak: expected " + "; ".join(problems))
