"""`reviewer import`: a round's input files into the store, in one transaction."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.intake.io import load_round_from
from reviewer.store import repo


def register(app: typer.Typer) -> None:
    """Add the `import` command to the main `reviewer` app."""
    app.command("import")(import_round)


def import_round(path: Path = typer.Argument(..., help="Round workbook, folder, or applications file (as for "
                                                       "reviewer screen / conflicts)."),
                 round_: str = RoundOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt,
                 allow_partial: bool = typer.Option(False, "--allow-partial",
                                                    help="Exit 0 even when some rows were rejected.")) -> None:
    """导入 Import the round's input files into the store (one transaction: all or nothing)."""
    st = open_store(db)
    u = current_user(user)
    with st.read() as s:
        pol = repo.round_policy(repo.get_round(s, round_))
    data, report = load_round_from(path, pol)
    for line in report.summary_lines():
        echo("  " + line)
    for i in report.all_issues:
        echo("    " + str(i))
    with st.write() as s:
        snap = repo.record_import(s, repo.get_round(s, round_), data, report, user=u, source=str(path))
    echo(f"导入 import #{snap.id} into round {round_}: {snap.n_rows} records, {snap.n_errors} errors "
         f"({st.display_url})")
    if snap.n_errors and not allow_partial:
        echo(f"有 {snap.n_errors} 条输入错误；已导入成功载入的行。 / {snap.n_errors} input errors: the good rows were "
             "imported. Fix the file and import again, or pass --allow-partial.")
        raise typer.Exit(1)
