"""`reviewer decide|waive|lock|forbid|unlock|unforbid`: the staff's audited decisions that later runs use."""
from __future__ import annotations

from typing import Optional

import typer

from reviewer.cli.common import DbOpt, ReasonOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.store import repo


def register(app: typer.Typer) -> None:
    """Add `lock`, `forbid`, `unlock`, `unforbid`, `waive` and `decide` to the main `reviewer` app."""
    app.command("lock")(lock)
    app.command("forbid")(forbid)
    app.command("unlock")(unlock)
    app.command("unforbid")(unforbid)
    app.command("waive")(waive)
    app.command("decide")(decide)


def add_seat_rule(kind: str, round_: str, stage: str, expert: str, application: str, reason: str,
                  db: Optional[str], user: Optional[str]) -> None:
    """Record a lock or forbid of one seat (audited; a lock no plan could hold is refused) and say so."""
    notes: list[str] = []
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        x = repo.add_seat_rule(s, r, kind, stage, expert, application, reason=reason, user=current_user(user),
                               notes=notes)
    echo(f"{'锁定 lock' if kind == 'lock' else '禁止 forbid'} #{x.id}: {stage} {expert} × {application} "
         "(applies to the next planning run of this stage)")
    for n in notes:
        echo(f"  注意 note: {n}")


def remove_seat_rule(kind: str, round_: str, stage: str, expert: str, application: str, reason: str,
                     db: Optional[str], user: Optional[str]) -> None:
    """Remove a lock or forbid of one seat (audited, reason required) and say so."""
    with open_store(db).write() as s:
        x = repo.remove_seat_rule(s, repo.get_round(s, round_), kind, stage, expert, application, reason=reason,
                                  user=current_user(user))
    echo(f"{'解除锁定 unlock' if kind == 'lock' else '解除禁止 unforbid'} #{x.id}: {stage} {expert} × {application}")


def lock(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
         expert: str = typer.Option(..., "--expert", "-e"), application: str = typer.Option(..., "--application", "-a"),
         reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """锁定 Force an expert onto an application's panel in the next planning runs (audited)."""
    add_seat_rule("lock", round_, stage, expert, application, reason, db, user)


def forbid(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
           expert: str = typer.Option(..., "--expert", "-e"), application: str = typer.Option(..., "--application", "-a"),
           reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """禁止 Keep an expert off an application's panel in the next planning runs (audited)."""
    add_seat_rule("forbid", round_, stage, expert, application, reason, db, user)


def unlock(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
           expert: str = typer.Option(..., "--expert", "-e"),
           application: str = typer.Option(..., "--application", "-a"),
           reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """解除锁定 Remove a lock (audited, reason required)."""
    remove_seat_rule("lock", round_, stage, expert, application, reason, db, user)


def unforbid(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
             expert: str = typer.Option(..., "--expert", "-e"),
             application: str = typer.Option(..., "--application", "-a"),
             reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """解除禁止 Remove a forbid (audited, reason required)."""
    remove_seat_rule("forbid", round_, stage, expert, application, reason, db, user)


def waive(round_: str = RoundOpt, expert: str = typer.Option(..., "--expert", "-e"),
          application: str = typer.Option(..., "--application", "-a"),
          rule: str = typer.Option(..., "--rule", help="Waivable rule id, e.g. C6."),
          reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """豁免 Waive a waivable conflict for one pair (audited)."""
    with open_store(db).write() as s:
        w = repo.add_waiver(s, repo.get_round(s, round_), expert, application, rule, reason=reason,
                            user=current_user(user))
    echo(f"豁免 waiver #{w.id}: {expert} × {application} {rule}")


def decide(application: str = typer.Argument(...), rule: str = typer.Argument(..., help="Check id, e.g. E7."),
           decision: str = typer.Argument(..., help="pass or fail"), round_: str = RoundOpt,
           reason: str = ReasonOpt, version: Optional[int] = typer.Option(None, "--version"),
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """复核 Decide a needs-review screening check (audited); used by later runs."""
    with open_store(db).write() as s:
        repo.decide_review(s, repo.get_round(s, round_), application, rule, decision, reason=reason,
                           user=current_user(user), expected_version=version)
    echo(f"复核 {application} {rule}: {decision}")
