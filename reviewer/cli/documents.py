"""`reviewer documents`: the official documents of a stored round (.docx and PDF) from templates staff
can edit (reviewer.documents.official)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, echo, open_store
from reviewer.documents.official import KINDS, copy_templates, generate, override_folder
from reviewer.errors import UserError

KIND_HELP = ", ".join(f"{k.key} ({k.name})" for k in KINDS)


def register(app: typer.Typer) -> None:
    """Add `documents` to the main `reviewer` app."""
    app.command("documents")(documents)


def documents(round_: Optional[str] = typer.Option(None, "--round", "-r", help="Round code (reviewer round list)."),
              stage: list[str] = typer.Option([], "--stage", "-s", help="Published stage(s); default: every "
                                              "published stage. Repeatable."),
              kind: list[str] = typer.Option([], "--kind", "-k", help=f"Document kind(s); default: all. {KIND_HELP}. "
                                             "Repeatable."),
              out: Path = typer.Option(Path("documents"), "--out", "-o", help="Folder for the documents."),
              pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write PDF versions (LibreOffice)."),
              copy: bool = typer.Option(False, "--copy-templates", help="Copy the shipped templates into "
                                        "$REVIEWER_HOME/templates for editing (an edited copy is kept) and stop."),
              db: Optional[str] = DbOpt) -> None:
    """公文 公示、评审报告、专家组意见表、签到表、劳务费发放表、认定批复（.docx 与 PDF）/ Official documents of a round
    from editable templates: a template of the same name in $REVIEWER_HOME/templates replaces the shipped one."""
    if copy:
        folder, made = copy_templates()
        echo(f"模板 templates in {folder} ({len(made)} copied now; edit the wording there, keep the {{{{ }}}} tags; "
             "the next `reviewer documents` uses them)")
        return
    if not round_:
        raise UserError("--round 必填 is required (reviewer round list shows the rounds)")
    res = generate(open_store(db), round_, out, stages=stage or None, kinds=kind or None, pdf=pdf)
    echo(f"公文 {len(res.docx)} .docx" + (f" + {len(res.pdf)} PDF" if pdf else "") + f" in {res.out}")
    for why in res.skipped:
        echo(f"  未生成 skipped: {why}")
    own = override_folder()
    if own.is_dir() and any(own.glob("*.docx")):
        echo(f"  模板 templates: the edited ones in {own} where present, else the shipped ones")
