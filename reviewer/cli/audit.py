"""`reviewer audit verify|export` and `reviewer reproduce`: checking what the store recorded.

`app` is the `audit` sub-app; :func:`register` adds it and the `reproduce` command to the main app.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, echo, open_store
from reviewer.store import audit
from reviewer.store.reproduce import reproduce as reproduce_run
from reviewer.store.reproduce import verify_inputs

app = typer.Typer(help="审计日志 The tamper-evident audit log: verify, export.", no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    """Add `reproduce` and the `audit` sub-app to the main `reviewer` app."""
    main_app.command("reproduce")(reproduce)
    main_app.command("verify-inputs")(verify_inputs_cmd)
    main_app.add_typer(app, name="audit")


@app.command("verify")
def audit_verify(db: Optional[str] = DbOpt,
                 expect_head: Optional[str] = typer.Option(None, "--expect-head", help="A head hash noted "
                                                           "earlier: it must still be in the chain.")) -> None:
    """Check the keyed hash chain and its anchor, and compare the seats, scores, stored inputs and
    policy with what the chain records; name each entry or row that was changed, inserted or removed."""
    with open_store(db).read() as s:
        v = audit.verify(s, expect_head)
    for note in v.notes[:5]:
        echo(f"  注 note: {note}")
    if v.ok:
        echo(f"审计日志完好 audit log OK: {v.entries} entries, head hash {v.head}; seats, scores, inputs and policy "
             "match the audited record, and so do the registers, ledger, advancement, evaluations, pool and site "
             "routes")
        return
    echo(f"审计日志被篡改 AUDIT LOG TAMPERED ({len(v.problems)} problems): first bad {v.first_bad}")
    for p in v.problems[1:30]:
        echo(f"  also {p}")
    if len(v.problems) > 30:
        echo(f"  … {len(v.problems) - 30} more (reviewer audit export FILE lists the entries)")
    raise typer.Exit(1)


@app.command("export")
def audit_export(out: Path = typer.Argument(..., help="File to write: .csv, .xlsx or .json."),
                 round_: Optional[str] = typer.Option(None, "--round", "-r", help="Only this round's entries."),
                 db: Optional[str] = DbOpt) -> None:
    """Write the audit log for inspectors (with the chain verification)."""
    with open_store(db).read() as s:
        path = audit.export(s, out, round_)
        v = audit.verify(s)
    echo(f"写出 wrote {path} ({v.entries} entries, chain {'OK' if v.ok else 'BROKEN at ' + str(v.first_bad)})")


def reproduce(run_id: int = typer.Argument(..., help="Run id (reviewer round show ROUND)."),
              files: Optional[Path] = typer.Option(None, "--files", help="Folder with the original input files: "
                                                   "re-hash them against the hashes the run recorded."),
              db: Optional[str] = DbOpt) -> None:
    """复现 Rerun a recorded planning / aggregation / screening run from the store and compare
    (with --files DIR: first check that the original files are the ones the run read)."""
    st = open_store(db)
    files_ok = True
    if files is not None:
        files_ok, lines = verify_inputs(st, run_id, files)
        for line in lines:
            echo(line)
    rep = reproduce_run(st, run_id)
    for line in rep.lines():
        echo(line)
    if not rep.identical or not files_ok:
        raise typer.Exit(1)


def verify_inputs_cmd(run_id: int = typer.Argument(..., help="Run id (reviewer round show ROUND)."),
                      files: Path = typer.Argument(..., help="Folder with the original input files."),
                      db: Optional[str] = DbOpt) -> None:
    """核对输入文件 Re-hash the original input files of a run and name each changed or missing one."""
    ok, lines = verify_inputs(open_store(db), run_id, files)
    for line in lines:
        echo(line)
    echo(f"输入文件一致 inputs OK: the files are the ones run #{run_id} read" if ok else
         f"输入文件不一致 INPUTS CHANGED: the files in {files} are not all the ones run #{run_id} read")
    if not ok:
        raise typer.Exit(1)
