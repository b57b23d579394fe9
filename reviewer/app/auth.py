"""Accounts and access for the staff app (SPEC §1 users; issue 6 roles).

* staff and analysts sign in with a user name and password. Only a salted scrypt hash is kept
  (hashlib.scrypt, n=2**14, r=8, p=1, 16-byte random salt); passwords are compared in constant time.
  Roles: ``staff`` (may change a round), ``analyst`` (read-only), ``admin`` (staff + accounts).
* an expert gets a personal link ``?token=...``: a random 32-byte token, scoped to one expert (and
  optionally one round), with an expiry. Only the token's SHA-256 is stored, so a copy of the
  database does not give working links. The expert id always comes from the token, never from the
  URL, so editing the URL cannot reach another expert's assignments.
* a signed-in browser gets a session id (random, expiring; hash stored) that the app keeps in the
  URL, so a refresh keeps the user signed in.

Storage: one SQLite file ``auth.sqlite`` in the home folder (`reviewer.home.default_home()`,
$REVIEWER_HOME). Everything goes through the functions below, so it can move into the round store later.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from reviewer.app.base import home
from reviewer.errors import UserError
from reviewer.home import private_file
from reviewer.identity import check_password_strength
from reviewer.policy import load_policy

ROLES = ("admin", "staff", "analyst")
ROLE_ZH = {"admin": "管理员", "staff": "工作人员", "analyst": "分析人员", "expert": "评审专家"}
EDIT_ROLES = ("admin", "staff")
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}
_USERNAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,64}$")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    display_name: str = ""

    @property
    def can_edit(self) -> bool:
        return self.role in EDIT_ROLES


@dataclass(frozen=True)
class ExpertToken:
    expert_id: str
    round_id: str | None
    expires: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def db_path(folder: str | Path | None = None) -> Path:
    """The account file, created 0600 (in a 0700 folder) before SQLite opens it."""
    p = home() if folder is None else Path(folder)
    return private_file(p / "auth.sqlite")


def _connect(folder: str | Path | None = None) -> sqlite3.Connection:
    con = sqlite3.connect(db_path(folder))
    con.execute("""CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '',
        salt BLOB NOT NULL, hash BLOB NOT NULL, params TEXT NOT NULL, created TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1)""")
    con.execute("""CREATE TABLE IF NOT EXISTS expert_tokens (
        token_sha256 TEXT PRIMARY KEY, expert_id TEXT NOT NULL, round_id TEXT, created TEXT NOT NULL,
        expires TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)""")
    con.execute("""CREATE TABLE IF NOT EXISTS sessions (
        sid_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, created TEXT NOT NULL, expires TEXT NOT NULL)""")
    return con


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes, str]:
    salt = salt if salt is not None else secrets.token_bytes(16)
    h = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    params = f"scrypt:n={_SCRYPT['n']},r={_SCRYPT['r']},p={_SCRYPT['p']},dklen={_SCRYPT['dklen']}"
    return salt, h, params


def _params(s: str) -> dict:
    kv = dict(x.split("=") for x in s.split(":", 1)[1].split(","))
    return {k: int(v) for k, v in kv.items()}


# ---------------------------------------------------------------- staff accounts

def add_user(username: str, password: str, role: str = "staff", display_name: str = "",
             folder: str | Path | None = None, replace: bool = False, min_password_length: int | None = None) -> User:
    if not _USERNAME.match(username or ""):
        raise UserError(f"user name {username!r}: expected 2-64 letters, digits, Chinese characters or _ . @ -")
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    check_password_strength(password, username, min_password_length or load_policy().accounts.min_password_length)
    salt, h, params = hash_password(password)
    with _connect(folder) as con:
        exists = con.execute("SELECT 1 FROM users WHERE username=?", (username,)).fetchone()
        if exists and not replace:
            raise UserError(f"user {username!r} exists already (use --replace to set a new password)")
        con.execute("INSERT OR REPLACE INTO users (username, role, display_name, salt, hash, params, created, active)"
                    " VALUES (?,?,?,?,?,?,?,1)", (username, role, display_name, salt, h, params, _now().isoformat()))
    return User(username, role, display_name)


def list_users(folder: str | Path | None = None) -> list[dict]:
    with _connect(folder) as con:
        rows = con.execute("SELECT username, role, display_name, created, active FROM users ORDER BY username").fetchall()
    return [{"username": r[0], "role": r[1], "display_name": r[2], "created": r[3], "active": bool(r[4])} for r in rows]


def has_users(folder: str | Path | None = None) -> bool:
    with _connect(folder) as con:
        return con.execute("SELECT COUNT(*) FROM users WHERE active=1").fetchone()[0] > 0


def verify(username: str, password: str, folder: str | Path | None = None) -> User | None:
    """The user if the password is right, else None (same work either way)."""
    with _connect(folder) as con:
        r = con.execute("SELECT role, display_name, salt, hash, params, active FROM users WHERE username=?",
                        (username or "",)).fetchone()
    if r is None:
        hash_password(password or "", b"\0" * 16)  # same cost for an unknown name
        return None
    role, name, salt, h, params, active = r
    got = hashlib.scrypt((password or "").encode("utf-8"), salt=salt, **_params(params))
    if not hmac.compare_digest(got, h) or not active:
        return None
    return User(username, role, name)


def get_user(username: str, folder: str | Path | None = None) -> User | None:
    with _connect(folder) as con:
        r = con.execute("SELECT role, display_name FROM users WHERE username=? AND active=1", (username,)).fetchone()
    return None if r is None else User(username, r[0], r[1])


# ---------------------------------------------------------------- browser sessions

def start_session(user: User, hours: float = 12, folder: str | Path | None = None) -> str:
    sid = secrets.token_urlsafe(24)
    now = _now()
    with _connect(folder) as con:
        con.execute("INSERT INTO sessions VALUES (?,?,?,?)",
                    (_sha(sid), user.username, now.isoformat(), (now + dt.timedelta(hours=hours)).isoformat()))
    return sid


def session_user(sid: str | None, folder: str | Path | None = None) -> User | None:
    if not sid:
        return None
    with _connect(folder) as con:
        r = con.execute("SELECT username, expires FROM sessions WHERE sid_sha256=?", (_sha(sid),)).fetchone()
    if r is None or dt.datetime.fromisoformat(r[1]) < _now():
        return None
    return get_user(r[0], folder)


def end_session(sid: str | None, folder: str | Path | None = None) -> None:
    if sid:
        with _connect(folder) as con:
            con.execute("DELETE FROM sessions WHERE sid_sha256=?", (_sha(sid),))


# ---------------------------------------------------------------- expert links

def issue_token(expert_id: str, days: float = 14, round_id: str | None = None,
                folder: str | Path | None = None) -> tuple[str, dt.datetime]:
    """A new personal link token for one expert; returns (token, expiry). Shown once, stored hashed."""
    if not expert_id or not str(expert_id).strip():
        raise UserError("expert id: expected a non-empty id")
    if days <= 0:
        raise UserError(f"--days {days}: expected a positive number of days")
    token = secrets.token_urlsafe(32)
    now = _now()
    expires = now + dt.timedelta(days=days)
    with _connect(folder) as con:
        con.execute("INSERT INTO expert_tokens VALUES (?,?,?,?,?,0)",
                    (_sha(token), str(expert_id).strip(), round_id, now.isoformat(), expires.isoformat()))
    return token, expires


def resolve_token(token: str | None, folder: str | Path | None = None,
                  now: dt.datetime | None = None) -> ExpertToken | None:
    """The expert a token belongs to, or None when unknown, revoked or expired."""
    if not token or len(token) > 200:
        return None
    with _connect(folder) as con:
        r = con.execute("SELECT expert_id, round_id, expires, revoked FROM expert_tokens WHERE token_sha256=?",
                        (_sha(token),)).fetchone()
    if r is None or r[3]:
        return None
    expires = dt.datetime.fromisoformat(r[2])
    if expires < (now or _now()):
        return None
    return ExpertToken(r[0], r[1], expires)


def revoke_tokens(expert_id: str, folder: str | Path | None = None) -> int:
    with _connect(folder) as con:
        return con.execute("UPDATE expert_tokens SET revoked=1 WHERE expert_id=? AND revoked=0", (expert_id,)).rowcount
