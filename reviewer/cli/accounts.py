"""`reviewer app`, `reviewer user add/list` and `reviewer token`: the staff app, its accounts and expert links.

    reviewer app [--port 8501] [--address 0.0.0.0] [--demo]                           (starts the app)
    reviewer user add NAME [--role staff|analyst|admin] [--name 显示名] [--replace]   (asks for the password)
    reviewer user passwd NAME                                                          (asks for the new one)
    printf '%s\n' "$PW" | reviewer user add NAME --password-stdin                      (scripts: one line on stdin)
    reviewer user list
    reviewer token EXPERT_ID [--days 14] [--round ROUND] [--url http://host:8501]
    reviewer token revoke EXPERT_ID [--round ROUND]                                  (ends the expert's links)

Everything lives in the home folder ($REVIEWER_HOME, default ~/.local/share/mic-reviewer) beside the
store: passwords as salted scrypt hashes, expert tokens as SHA-256 digests (the link is printed once).
A password is never taken from the command line or an environment variable (both are visible to
other users in `ps` and kept in shell history): it is asked twice without echo, or read from
standard input, and must pass `reviewer.identity.check_password_strength` (policy [accounts]).
The app's rounds are the store's rounds (`reviewer round list`).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

import pandas as pd

from reviewer.app import auth, rounds
from reviewer.app.ui import streamlit_command
from reviewer.cli.common import PolicyOpt, open_store
from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.store import repo


def _start_app(port: Optional[int], address: Optional[str], demo: bool = False) -> None:
    """Replace this process by Streamlit serving the packaged app (so signals reach the server itself).
    `demo`: no sign-in, staff rights for everyone, only on a home without accounts."""
    if demo:
        if auth.has_users():
            raise UserError("演示模式只用于没有账户的数据目录；此目录已有账户，请去掉 --demo 并登录 / --demo is for a home "
                            f"without accounts; {auth.db_path()} has accounts: start without --demo and sign in")
        os.environ[auth.DEMO_ENV] = "1"
    else:
        os.environ.pop(auth.DEMO_ENV, None)
        if not auth.has_users():
            typer.echo("尚无账户：先创建第一个管理员 no account yet: create the first admin with\n"
                       "  reviewer user add NAME --role admin\n"
                       "(or try the app without sign-in: reviewer app --demo)", err=True)
    cmd = streamlit_command(port, address)
    typer.echo("启动 starting: " + " ".join(cmd), err=True)
    if os.name == "posix":
        os.execv(cmd[0], cmd)
    raise typer.Exit(subprocess.call(cmd))


def register(app: typer.Typer) -> None:
    """Add `app`, `user add|list` and `token` to the main `reviewer` app."""
    app.command("app")(app_)
    app.add_typer(user_app, name="user")
    app.command("token")(token)


user_app = typer.Typer(help="工作人员账户 Staff accounts of the app (`reviewer app`).", no_args_is_help=True)


def app_(
    port: Optional[int] = typer.Option(None, "--port", help="Port to serve on (default Streamlit's, 8501)."),
    address: Optional[str] = typer.Option(None, "--address",
                                          help="Address to listen on (default: all; 127.0.0.1 for this machine only)."),
    demo: bool = typer.Option(False, "--demo", help="Demo mode: no sign-in, staff rights for everyone; only on a "
                                                    "home folder without accounts (a trial, never a real round)."),
) -> None:
    """评审系统 Start the staff app (Streamlit) on the store and accounts of the home folder ($REVIEWER_HOME)."""
    _start_app(port, address, demo)


PASSWORD_ENV = "REVIEWER_NEW_PASSWORD"   # the old way; refused, see read_new_password
PasswordStdinOpt = typer.Option(False, "--password-stdin",
                                help="Read the password from the first line of standard input (for scripts).")
RefusedPasswordOpt = typer.Option(None, "--password", hidden=True,
                                  help="Refused: a password on the command line is visible in ps and shell history.")


def read_new_password(password_stdin: bool, refused: Optional[str]) -> str:
    """The new password: the first line of standard input with --password-stdin, else asked twice
    without echo. `--password VALUE` and $REVIEWER_NEW_PASSWORD are refused with the safe ways."""
    safe_ways = ("asked twice without echo when you leave it out, or one line on standard input with "
                 "--password-stdin (e.g. from a password manager)")
    if refused is not None:
        raise UserError("不接受 --password：命令行中的密码会出现在 ps 和命令历史中 / --password is refused: a password on "
                        f"the command line is visible in ps and kept in shell history. The password is {safe_ways}")
    if os.environ.get(PASSWORD_ENV):
        raise UserError(f"不接受环境变量 {PASSWORD_ENV} / ${PASSWORD_ENV} is refused: other processes of the machine can "
                        f"read a process's environment. Unset it; the password is {safe_ways}")
    if password_stdin and not sys.stdin.isatty():   # at a terminal: asked without echo instead
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: 标准输入没有密码 no password on standard input (expected one line)")
        return password
    return typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def add(
    username: str = typer.Argument(..., help="User name (2-64 letters, digits, Chinese characters, _ . @ -)."),
    role: str = typer.Option("staff", "--role", help="staff (may change a round), analyst (read-only) or admin."),
    name: str = typer.Option("", "--name", help="Display name, e.g. 张三."),
    replace: bool = typer.Option(False, "--replace", help="Set a new password for an existing user."),
    password_stdin: bool = PasswordStdinOpt,
    password: Optional[str] = RefusedPasswordOpt,
    policy: Optional[Path] = PolicyOpt,
) -> None:
    """添加账户 Add a staff or analyst account; the password is asked twice (not echoed) or read from
    standard input (--password-stdin), checked against the policy, and stored as a salted scrypt hash."""
    new = read_new_password(password_stdin, password)
    u = auth.add_user(username, new, role=role, display_name=name, replace=replace,
                      min_password_length=load_policy(policy).accounts.min_password_length)
    typer.echo(f"已添加 added {u.username} ({auth.ROLE_ZH[u.role]} {u.role}) in {auth.db_path()}")


@user_app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="User name of an existing, active account."),
    password_stdin: bool = PasswordStdinOpt,
    password: Optional[str] = RefusedPasswordOpt,
    policy: Optional[Path] = PolicyOpt,
) -> None:
    """修改密码 Set a new password for an account (role and display name kept); asked twice or read from
    standard input (--password-stdin), checked against the policy."""
    u = auth.get_user(username)
    if u is None:
        raise UserError(f"没有账户 no active account {username!r} (reviewer user list)")
    new = read_new_password(password_stdin, password)
    auth.add_user(u.username, new, role=u.role, display_name=u.display_name, replace=True,
                  min_password_length=load_policy(policy).accounts.min_password_length)
    typer.echo(f"已修改密码 password changed for {u.username}")


@user_app.command("list")
def list_() -> None:
    """列出账户 List accounts (never passwords)."""
    users = auth.list_users()
    if not users:
        typer.echo("no accounts: create the first admin with `reviewer user add NAME --role admin` "
                   "(`reviewer app --demo` runs a trial without sign-in)")
    for u in users:
        typer.echo(f"{u['username']}\t{u['role']}\t{u['display_name']}\t{u['created']}"
                   + ("" if u["active"] else "\tinactive"))


def token(
    expert_id: str = typer.Argument(..., help="Expert id (专家编号), e.g. ZJ0001; or `revoke` followed by the id."),
    revoke_id: Optional[str] = typer.Argument(None, help="With `revoke`: the expert whose links end now."),
    days: Optional[str] = typer.Option(None, "--days", help="Days the link stays valid (default and maximum: "
                                                            "policy [access] expert_link_days / expert_link_max_days)."),
    round_id: Optional[str] = typer.Option(None, "--round", help="Round code (reviewer round list; "
                                                                 "default: the app's current round)."),
    url: Optional[str] = typer.Option(None, "--url", help="Address of the app as experts reach it (default: "
                                                           "$REVIEWER_APP_URL, else the policy's [access] app_url)."),
) -> None:
    """专家个人链接 A personal link for one expert: shows only their own assignments; expires.
    `reviewer token revoke EXPERT_ID [--round R]` ends that expert's links at once."""
    if expert_id == "revoke":
        if not revoke_id:
            raise UserError("reviewer token revoke EXPERT_ID: expected the expert id")
        n = auth.revoke_tokens(revoke_id.strip(), round_id)
        typer.echo(f"已撤销 revoked {n} link(s) of {revoke_id.strip()}")
        return
    if revoke_id is not None:
        raise UserError(f"unexpected extra argument {revoke_id!r} (to revoke: reviewer token revoke EXPERT_ID)")
    if round_id is not None:
        rounds.require_round(round_id)  # a round of the store (reviewer round create)
    check_token_expert(expert_id.strip(), round_id)
    auth.link_days(days)   # a bad lifetime is named before anything else
    base = (url or "").strip().rstrip("/") or auth.app_url()
    if not base.startswith(("http://", "https://")):
        raise UserError("没有系统地址：请在政策文件 [access] app_url 或环境变量 REVIEWER_APP_URL 中设置专家访问本系统的地址，"
                        "或加 --url https://主机:端口 / no app address: set [access] app_url in the policy or "
                        "$REVIEWER_APP_URL, or pass --url https://host:port")
    tok, expires = auth.issue_token(expert_id, days=days, round_id=round_id)
    typer.echo(f"{base}/?token={tok}")
    typer.echo(f"expert {expert_id}, valid until {expires.isoformat()} (shown once; only a hash is stored)", err=True)


def demo_expert_ids() -> set[str]:
    """The experts of the bundled demo round (the app's round when none is chosen)."""
    return set(pd.read_excel(DEMO_DIR / "round2026.xlsx", sheet_name="专家库", usecols=["专家编号"], dtype=str)["专家编号"])


def check_token_expert(expert_id: str, round_id: Optional[str]) -> None:
    """UserError unless `expert_id` is an expert of the round's latest import (a round without data
    yet: a warning), or, without a round, of some round of the store or of the bundled demo round."""
    with open_store(None).read() as s:
        if round_id is not None:
            ids = repo.known_ids(s, repo.get_round(s, round_id))
            if ids is None:
                typer.echo(f"注意 warning: 批次 {round_id} 尚未导入数据，无法核对专家 {expert_id} / round {round_id} has no "
                           f"imported data yet: expert {expert_id} cannot be checked", err=True)
            elif expert_id not in ids[0]:
                raise UserError(f"批次 {round_id} 的专家库中没有专家 {expert_id} / no expert {expert_id} in round "
                                f"{round_id} (its latest import)")
            return
        found = repo.rounds_with_expert(s, expert_id)
    if not found and expert_id not in demo_expert_ids():
        raise UserError(f"任何批次的专家库中都没有专家 {expert_id} / no expert {expert_id} in any round of the store "
                        "(nor in the demo round); check the id, or pass --round")
