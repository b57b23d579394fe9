"""Accounts in the staff app (issue 13 item 8): an admin adds staff, analyst and admin accounts, resets
passwords, deactivates or reactivates an account and signs a user out everywhere. Every act is logged
in the accounts database (reviewer.app.auth.account_log, never a password). Only an admin may do any
of it, checked here whatever the page shows. The first admin is made once on the server:
`reviewer user add NAME --role admin` (there is no default password)."""
from __future__ import annotations

import pandas as pd

from reviewer.app import auth
from reviewer.app.auth import ROLE_ZH, User
from reviewer.errors import UserError

USER_COLS = ["username", "display_name", "role", "role_zh", "created", "active"]


def _admin(actor: User | None) -> str:
    if actor is None or actor.role != "admin":
        raise UserError("只有管理员可以管理账户 / only an admin manages accounts")
    return actor.username


def users() -> pd.DataFrame:
    df = pd.DataFrame(auth.list_users(), columns=["username", "role", "display_name", "created", "active"])
    df["role_zh"] = df["role"].map(ROLE_ZH)
    return df[USER_COLS]


def add_account(actor: User | None, username: str, role: str, display_name: str, password: str,
                again: str) -> User:
    who = _admin(actor)
    if password != again:
        raise UserError("两次输入的密码不一致 / the two passwords differ")
    u = auth.add_user((username or "").strip(), password, role=role, display_name=(display_name or "").strip())
    auth.log_account_act(who, u.username, "add", f"role={u.role}")
    return u


def reset_password(actor: User | None, username: str, password: str, again: str) -> None:
    """A new password (the user's sessions end)."""
    who = _admin(actor)
    if password != again:
        raise UserError("两次输入的密码不一致 / the two passwords differ")
    cur = {u["username"]: u for u in auth.list_users()}.get(username)
    if cur is None:
        raise UserError(f"没有账户 {username} / no account {username!r}")
    auth.add_user(username, password, role=cur["role"], display_name=cur["display_name"], replace=True)
    auth.log_account_act(who, username, "password_reset")


def set_active(actor: User | None, username: str, active: bool) -> None:
    """Deactivate (signs out everywhere) or reactivate an account; an admin cannot deactivate the
    last active admin (nobody could manage accounts then)."""
    who = _admin(actor)
    if not active:
        admins = [u for u in auth.list_users() if u["role"] == "admin" and u["active"]]
        if [u["username"] for u in admins] == [username]:
            raise UserError("不能停用最后一个管理员账户 / cannot deactivate the last active admin")
    auth.set_active(username, active)
    auth.log_account_act(who, username, "activate" if active else "deactivate")


def sign_out_everywhere(actor: User | None, username: str) -> int:
    who = _admin(actor)
    n = auth.end_all_sessions(username)
    auth.log_account_act(who, username, "sign_out_everywhere", f"sessions={n}")
    return n


def activity() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(account acts, sign-in attempts), newest first."""
    return (pd.DataFrame(auth.account_log(), columns=["at", "actor", "username", "action", "detail"]),
            pd.DataFrame(auth.sign_in_log(), columns=["at", "username", "client", "event"]))
