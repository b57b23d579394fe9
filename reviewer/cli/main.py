"""The `reviewer` command line: the app object, its command groups, and :func:`main`.

Each command group lives in its own module of reviewer/cli with its commands at module level
(importable and testable alone) and a ``register(app)`` that adds them here:

- files: screen, conflicts, assign, repair (a round straight from its files, no store)
- workspace: init, templates, demo
- scoring: aggregate, rank (from score tables)
- centres: evaluate, lifecycle (the pilot centres after recognition)
- rounds (`round`), imports (`import`), runs (`run`), decisions (lock, forbid, waive, decide),
  publication (publish, replace, packs), panels (`panels`: published panels), audit (`audit`, reproduce),
  scores (`scores`), draws (`draw`, verify-draw): the review store
- accounts: user, token (the app's accounts and expert links)
- responses (`responses`): the experts' answers to a published stage, 补抽
- documents: the official documents (.docx/PDF) of a round
- notify: send, status, remind, resend, host-contact, templates (the outbox's e-mail and SMS)
- pool (`pool`): the expert pool across rounds: merge import, penalties, ratings, flags, P1 bars, yearly report

A user's mistake (:class:`reviewer.errors.UserError`) is one line on standard error and exit code 2;
an unexpected error is one line and exit code 3 (REVIEWER_DEBUG=1 shows the traceback).
"""
from __future__ import annotations

import os
import sys

import typer

from reviewer.cli import (accounts, analytics, audit, centres, decisions, documents, draws, files, imports, notify,
                          panels, pool, publication, registers, responses, rounds, runs, scores, scoring, site, stages,
                          workspace)
from reviewer.errors import UserError, redact
from reviewer.home import restrict_new_files

app = typer.Typer(
    help="制造业创新中心试点 专家评审: 形式审查、回避、专家组、评分与排名 / "
         "Expert review of manufacturing innovation centre pilots: screening, conflicts, panels, scores, rankings.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

for group in (files, workspace, scoring, centres, rounds, imports, runs, decisions, publication, panels, audit, scores,
              accounts, draws, responses, stages, registers, documents, site, analytics, notify, pool):
    group.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; turn a user's mistake into one line and exit code 2, a bug into exit code 3."""
    restrict_new_files()   # what this program writes (store, tables, packs) is private to its user
    try:
        app(args=argv, standalone_mode=True)
    except UserError as e:
        typer.echo(f"错误 error: {e}", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as e:  # a bug, not a user mistake: say so in one line unless debugging
        if os.environ.get("REVIEWER_DEBUG"):
            raise
        typer.echo(f"内部错误 internal error: {type(e).__name__}: {redact(str(e))} (set REVIEWER_DEBUG=1 for details)",
                   err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
