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
                                                    help="Import the good rows even when some were rejected (exit 0).")) -> None:
    """导入 Import the round's input files into the store, all or nothing: with rejected rows nothing is
    imported (exit 1) unless --allow-partial; data that would break a published panel is refused."""
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
        try:
            snap = repo.record_import(s, repo.get_round(s, round_), data, report, user=u, source=str(path),
                                      allow_partial=allow_partial)
        except repo.PartialImportError as e:
            echo(str(e))
            raise typer.Exit(1) from None
    echo(f"导入 import #{snap.id} into round {round_}: {snap.n_rows} records, {snap.n_errors} errors "
         f"({st.display_url})")
    if snap.n_errors:
        echo(f"有 {snap.n_errors} 条输入错误；按 --allow-partial 只导入了正确的行。 / {snap.n_errors} input errors: "
             "the good rows were imported (--allow-partial).")
