"""Accounts and access for the staff app (SPEC §1 users; issue 6 roles).

* staff and analysts sign in with a user name and password. Only a salted scrypt hash is kept
  (hashlib.scrypt, n=2**14, r=8, p=1, 16-byte random salt); passwords are compared in constant time.
  Roles: ``staff`` (may change a round), ``analyst`` (read-only), ``admin`` (staff + accounts).
* an expert gets a personal link ``?token=...``: a random 32-byte token, scoped to one expert (and
  optionally one round), with an expiry. Only the token's SHA-256 is stored, so a copy of the
  database does not give working links. The expert id always comes from the token, never from the
  URL, so editing the URL cannot reach another expert's assignments.
* a signed-in browser gets a session id (random; hash stored) kept only in that browser's Streamlit
  session, never in a URL: a refresh or a copied address means signing in again. A session ends after
  [access] session_idle_minutes without activity, session_max_hours after sign-in, at sign-out, or
  when the user is signed out everywhere (a new password and deactivation do that too).
* wrong passwords: after [access] login_max_failures failures per user name (client_max_failures per
  client address) within the window, sign-in is locked for login_lockout_minutes; every attempt is
  logged in sign_in_log (never the password).
* no account, no rights: without an active account the app only shows how to create the first admin
  (`reviewer user add NAME --role admin`); demo mode without sign-in needs `reviewer app --demo`.

Storage: one SQLite file ``auth.sqlite`` in the home folder (`reviewer.home.default_home()`,
$REVIEWER_HOME). Everything goes through the functions below, so it can move into the round store later.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import os
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
from reviewer.policy_process import Access

ROLES = ("admin", "staff", "analyst")
ROLE_ZH = {"admin": "管理员", "staff": "工作人员", "analyst": "分析人员", "expert": "评审专家"}
EDIT_ROLES = ("admin", "staff")
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}
_USERNAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,64}$")
DEMO_ENV = "REVIEWER_APP_DEMO"


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
    con.execute("""CREATE TABLE IF NOT EXISTS browser_sessions (
        sid_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, created TEXT NOT NULL, last_seen TEXT NOT NULL)""")
    con.execute("""CREATE TABLE IF NOT EXISTS sign_in_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT NOT NULL, client TEXT NOT NULL,
        event TEXT NOT NULL)""")
    con.execute("""CREATE TABLE IF NOT EXISTS account_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, username TEXT NOT NULL,
        action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')""")
    # sessions of earlier versions travelled in URLs (?sid=): none of them stays valid
    con.execute("DROP TABLE IF EXISTS sessions")
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
    end_all_sessions(username, folder)   # a new password ends the sessions of the old one
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


def set_active(username: str, active: bool, folder: str | Path | None = None) -> None:
    """Deactivate (or reactivate) an account; deactivating signs it out everywhere."""
    with _connect(folder) as con:
        if con.execute("UPDATE users SET active=? WHERE username=?", (int(bool(active)), username)).rowcount == 0:
            raise UserError(f"没有账户 {username} / no account {username!r}")
    if not active:
        end_all_sessions(username, folder)


def demo_mode(folder: str | Path | None = None) -> bool:
    """The app runs without sign-in only when started with `reviewer app --demo` ($REVIEWER_APP_DEMO=1)
    on a home with no active account: never because accounts are missing or were lost."""
    return os.environ.get(DEMO_ENV) == "1" and not has_users(folder)


def get_user(username: str, folder: str | Path | None = None) -> User | None:
    with _connect(folder) as con:
        r = con.execute("SELECT role, display_name FROM users WHERE username=? AND active=1", (username,)).fetchone()
    return None if r is None else User(username, r[0], r[1])


# ---------------------------------------------------------------- signing in (with a wrong-password limit)

def access() -> Access:
    """The [access] values of the policy (reviewer/data/policy.toml): session timeouts, wrong-password
    limits, expert-link lifetimes. Accounts are not a round's, so the program's policy applies."""
    return _ACCESS[0] if _ACCESS else _ACCESS.setdefault(0, load_policy().access)


_ACCESS: dict[int, Access] = {}

APP_URL_ENV = "REVIEWER_APP_URL"


def app_url(seen: str = "") -> str:
    """The app's address for expert links, from the settings: $REVIEWER_APP_URL, else the policy's
    [access] app_url, else `seen` (the address the staff browser reached the app by); "" when none is
    known. Never a guessed localhost."""
    for v in (os.environ.get(APP_URL_ENV, ""), access().app_url, seen):
        if v and v.strip():
            return v.strip().rstrip("/")
    return ""


def _log_event(con: sqlite3.Connection, username: str, client: str, event: str, at: dt.datetime) -> None:
    con.execute("INSERT INTO sign_in_log (at, username, client, event) VALUES (?,?,?,?)",
                (at.isoformat(), username, client, event))


def _locked_until(con: sqlite3.Connection, column: str, value: str, limit: int, a: Access,
                  now: dt.datetime) -> dt.datetime | None:
    """When `limit` failures of this user name / client fell within the window (since its last
    success), it is locked until the last of them plus the lock-out time."""
    since = (now - dt.timedelta(minutes=a.login_failure_window_minutes + a.login_lockout_minutes)).isoformat()
    last_ok = con.execute(f"SELECT MAX(at) FROM sign_in_log WHERE {column}=? AND event='ok'", (value,)).fetchone()[0]
    rows = [dt.datetime.fromisoformat(r[0]) for r in con.execute(
        f"SELECT at FROM sign_in_log WHERE {column}=? AND event='fail' AND at>=? AND at>? ORDER BY at",
        (value, since, last_ok or ""))]
    window = dt.timedelta(minutes=a.login_failure_window_minutes)
    for i in range(len(rows) - limit + 1):
        if rows[i + limit - 1] - rows[i] <= window:
            until = rows[-1] + dt.timedelta(minutes=a.login_lockout_minutes)
            return until if until > now else None
    return None


def sign_in(username: str, password: str, client: str = "", folder: str | Path | None = None,
            limits: Access | None = None, now: dt.datetime | None = None) -> User:
    """The user for a right password, else UserError (the same message for an unknown name and a wrong
    password). After [access] login_max_failures wrong passwords for one user name (or
    client_max_failures from one client address) within the window, sign-in is refused for the
    lock-out time, even with the right password. Every attempt is logged (sign_in_log: time, name,
    client, ok/fail/locked), never the password."""
    a = limits or access()
    now = now or _now()
    username, client = (username or "").strip()[:64], (client or "")[:64]
    with _connect(folder) as con:
        locked = [t for t in (_locked_until(con, "username", username, a.login_max_failures, a, now),
                              _locked_until(con, "client", client, a.client_max_failures, a, now) if client else None)
                  if t is not None]
        if locked:
            _log_event(con, username, client, "locked", now)
    if locked:   # raised after the with block, so the log entry is committed
        minutes = max(1, int((max(locked) - now).total_seconds() // 60) + 1)
        raise UserError(f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。"
                            f" Too many failed sign-ins: locked, try again in {minutes} min.")
    u = verify(username, password, folder)
    with _connect(folder) as con:
        _log_event(con, username, client, "fail" if u is None else "ok", now)
    if u is None:
        raise UserError("用户名或密码不正确。 Wrong user name or password.")
    return u


def log_account_act(actor: str, username: str, action: str, detail: str = "",
                    folder: str | Path | None = None) -> None:
    """Record an act on an account (added, password reset, deactivated, signed out everywhere ...)."""
    with _connect(folder) as con:
        con.execute("INSERT INTO account_log (at, actor, username, action, detail) VALUES (?,?,?,?,?)",
                    (_now().isoformat(), actor, username, action, detail))


def account_log(folder: str | Path | None = None, limit: int = 200) -> list[dict]:
    with _connect(folder) as con:
        rows = con.execute("SELECT at, actor, username, action, detail FROM account_log ORDER BY id DESC LIMIT ?",
                           (int(limit),)).fetchall()
    return [{"at": r[0], "actor": r[1], "username": r[2], "action": r[3], "detail": r[4]} for r in rows]


def sign_in_log(folder: str | Path | None = None, limit: int = 200) -> list[dict]:
    """The newest sign-in attempts (time, user name, client, ok/fail/locked)."""
    with _connect(folder) as con:
        rows = con.execute("SELECT at, username, client, event FROM sign_in_log ORDER BY id DESC LIMIT ?",
                           (int(limit),)).fetchall()
    return [{"at": r[0], "username": r[1], "client": r[2], "event": r[3]} for r in rows]


# ---------------------------------------------------------------- browser sessions

def start_session(user: User, folder: str | Path | None = None, now: dt.datetime | None = None) -> str:
    """A new session for a signed-in browser: a random id kept only in that browser's Streamlit
    session (never in a URL or a file); the database keeps its SHA-256."""
    sid = secrets.token_urlsafe(32)
    now = now or _now()
    with _connect(folder) as con:
        con.execute("INSERT INTO browser_sessions VALUES (?,?,?,?)",
                    (_sha(sid), user.username, now.isoformat(), now.isoformat()))
    return sid


def session_user(sid: str | None, folder: str | Path | None = None, now: dt.datetime | None = None,
                 limits: Access | None = None) -> User | None:
    """The active user of a session, or None when it is unknown, ended, idle longer than [access]
    session_idle_minutes or older than session_max_hours (an ended session is deleted). A valid
    session's last activity becomes now."""
    if not sid or len(sid) > 200:
        return None
    a, now = limits or access(), now or _now()
    with _connect(folder) as con:
        r = con.execute("SELECT username, created, last_seen FROM browser_sessions WHERE sid_sha256=?",
                        (_sha(sid),)).fetchone()
        if r is None:
            return None
        created, seen = dt.datetime.fromisoformat(r[1]), dt.datetime.fromisoformat(r[2])
        if now - seen > dt.timedelta(minutes=a.session_idle_minutes) \
                or now - created > dt.timedelta(hours=a.session_max_hours):
            con.execute("DELETE FROM browser_sessions WHERE sid_sha256=?", (_sha(sid),))
            return None
        con.execute("UPDATE browser_sessions SET last_seen=? WHERE sid_sha256=?", (now.isoformat(), _sha(sid)))
    return get_user(r[0], folder)


def end_session(sid: str | None, folder: str | Path | None = None) -> None:
    if sid:
        with _connect(folder) as con:
            con.execute("DELETE FROM browser_sessions WHERE sid_sha256=?", (_sha(sid),))


def end_all_sessions(username: str, folder: str | Path | None = None) -> int:
    """Sign a user out everywhere (every browser); returns how many sessions ended."""
    with _connect(folder) as con:
        return con.execute("DELETE FROM browser_sessions WHERE username=?", (username,)).rowcount


# ---------------------------------------------------------------- expert links

def link_days(days: float | str | None, limits: Access | None = None) -> float:
    """A link lifetime in days: [access] expert_link_days when not given; more than 0 and at most
    expert_link_max_days (so no 365000, inf or nan)."""
    a = limits or access()
    if days is None:
        return float(a.expert_link_days)
    try:
        d = float(days)
    except (TypeError, ValueError):
        d = float("nan")
    if not math.isfinite(d) or not 0 < d <= a.expert_link_max_days:
        raise UserError(f"有效天数 {days}：应为大于 0、不超过 {a.expert_link_max_days:g} 的天数（政策 [access] "
                        f"expert_link_max_days） / --days {days}: expected more than 0 and at most "
                        f"{a.expert_link_max_days:g} days")
    return d


def issue_token(expert_id: str, days: float | None = None, round_id: str | None = None,
                folder: str | Path | None = None, limits: Access | None = None) -> tuple[str, dt.datetime]:
    """A new personal link token for one expert; returns (token, expiry). Shown once, stored hashed.
    Whether the expert exists is checked by the caller against the round (reviewer.app.links)."""
    return issue_tokens([expert_id], days, round_id, folder, limits)[0]


def issue_tokens(expert_ids: list[str], days: float | None = None, round_id: str | None = None,
                 folder: str | Path | None = None, limits: Access | None = None) -> list[tuple[str, dt.datetime]]:
    """`issue_token` for many experts in ONE transaction (one disk sync instead of one per expert:
    a stage's ~70 links took seconds of waiting for the disk); all or none are stored."""
    ids = [str(e).strip() if e is not None else "" for e in expert_ids]
    if not all(ids):
        raise UserError("专家编号不能为空 / expert id: expected a non-empty id")
    d = link_days(days, limits)
    now = _now()
    expires = now + dt.timedelta(days=d)
    out = [(secrets.token_urlsafe(32), expires) for _ in ids]
    with _connect(folder) as con:
        con.executemany("INSERT INTO expert_tokens VALUES (?,?,?,?,?,0)",
                        [(_sha(tok), e, round_id, now.isoformat(), expires.isoformat()) for (tok, _), e in zip(out, ids)])
    return out


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


def revoke_tokens(expert_id: str, round_id: str | None = None, folder: str | Path | None = None) -> int:
    """Revoke an expert's links (of one round, or all); returns how many were still valid."""
    q = "UPDATE expert_tokens SET revoked=1 WHERE expert_id=? AND revoked=0"
    args: tuple = (expert_id,)
    if round_id is not None:
        q, args = q + " AND round_id IS ?", (expert_id, round_id)
    with _connect(folder) as con:
        return con.execute(q, args).rowcount


def expert_links(round_id: str | None = None, folder: str | Path | None = None) -> list[dict]:
    """The links issued (never the tokens): expert, round, issued, expiry, revoked."""
    q = "SELECT expert_id, round_id, created, expires, revoked FROM expert_tokens"
    args: tuple = ()
    if round_id is not None:
        q, args = q + " WHERE round_id IS ?", (round_id,)
    with _connect(folder) as con:
        rows = con.execute(q + " ORDER BY created DESC", args).fetchall()
    now = _now()
    return [{"expert_id": r[0], "round_id": r[1], "created": r[2], "expires": r[3],
             "status": "revoked" if r[4] else ("expired" if dt.datetime.fromisoformat(r[3]) < now else "valid")}
            for r in rows]
