"""What the command groups share: the common options, opening the store, who acts, printing,
and turning a user's mistake into one line.

Every command module of reviewer/cli imports from here; nothing here imports a command module.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from reviewer.errors import UserError
from reviewer.identity import acting_user
from reviewer.policy import Policy
from reviewer.store import Store

DbOpt = typer.Option(None, "--db", envvar="REVIEWER_DB_URL",
                     help="Database URL or SQLite file (default: $REVIEWER_HOME/reviewer.sqlite, "
                          "~/.local/share/mic-reviewer/reviewer.sqlite). PostgreSQL: postgresql+psycopg://user@host/db")
UserOpt = typer.Option(None, "--user", "-u", envvar="REVIEWER_USER",
                       help="Who does this (recorded in the audit log); default the login name.")
RoundOpt = typer.Option(..., "--round", "-r", help="Round code (reviewer round list).")
ReasonOpt = typer.Option(..., "--reason", help="Why (recorded in the audit log).")

POLICY_DEFAULT_HELP = "default: the bundled policy (reviewer init writes an editable copy)"
PolicyOpt = typer.Option(None, "--policy", help=f"Policy file (TOML); {POLICY_DEFAULT_HELP}.")
OutOpt = typer.Option(Path("out"), "--out", "-o", help="Folder for the output tables.")
PartialOpt = typer.Option(False, "--allow-partial", help="Exit 0 even when some input rows were rejected.")
AsOfOpt = typer.Option(None, "--as-of", help="Reference date YYYY-MM-DD for the 3-year windows and availability "
                                            "(default: the policy's meta.as_of, else today).")


def echo(msg: str = "") -> None:
    """Print one line to standard output."""
    typer.echo(msg)


def echo_wrote(paths: list[Path]) -> None:
    """The closing line of a command that wrote tables."""
    echo(f"写出 Wrote: {', '.join(str(p) for p in paths)}")


def fail(e: UserError) -> None:
    """Print a user's mistake as one line on standard error and exit 2: what :func:`reviewer.cli.main.main`
    does, for commands that catch their own mistakes (aggregate, rank, evaluate, lifecycle) and so behave
    the same when run alone, e.g. through typer's CliRunner."""
    typer.echo(f"错误 error: {e}", err=True)
    raise typer.Exit(2)


def open_store(db: Optional[str]) -> Store:
    """The review store at `--db` (None: $REVIEWER_DB_URL, else the local SQLite file)."""
    return Store(db)


def current_user(user: Optional[str]) -> str:
    """Who acts (`reviewer.identity.acting_user`): `--user` / $REVIEWER_USER, else the login name; a clear
    error when neither is known."""
    return acting_user(user)


def policy_as_of(policy: Policy, as_of: Optional[str]) -> Policy:
    """`policy` with the reference date `as_of` (YYYY-MM-DD) when given; a bad date is a clear error."""
    if not as_of:
        return policy
    try:
        dt.date.fromisoformat(as_of)
    except ValueError:
        raise UserError(f"--as-of {as_of!r}: expected a date like 2026-11-01") from None
    return policy.model_copy(update={"meta": policy.meta.model_copy(update={"as_of": as_of})})


def reference_date_line(policy: Policy, as_of: Optional[str] = None) -> str:
    """The line every summary prints: the reference date in force and where it comes from."""
    src = ("--as-of" if as_of else "policy meta.as_of" if policy.meta.as_of else "today, 今天 (no --as-of, no meta.as_of)")
    return f"参考日期 reference date: {policy.as_of_date().isoformat()} ({src})"


def check_stage(stage: str, policy: Policy) -> str:
    """`stage` when the policy knows it, else a clear error listing the stages."""
    return policy.stage(stage).name
