"""`reviewer publish|replace|packs`: publishing a stage's panels, recorded replacements, expert packs."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.cli.common import DbOpt, ReasonOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.documents.packs import make_packs
from reviewer.errors import UserError
from reviewer.panels import service
from reviewer.panels.tables import seat_frame
from reviewer.scoring.scoretable import read_table
from reviewer.store import Store, publishing, repo

def register(app: typer.Typer) -> None:
    """Add `publish`, `replace` and `packs` to the main `reviewer` app."""
    app.command("publish")(publish)
    app.command("replace")(replace)
    app.command("packs")(packs)


def publish(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
            run: Optional[int] = typer.Option(None, "--run", help="Planning run whose seats to publish."),
            from_file: Optional[Path] = typer.Option(None, "--from-file", help="Or a panels table (.csv/.xlsx: "
                                                     "阶段/stage, 申报编号/application_id, 专家编号/expert_id, 角色/role)."),
            reason: str = typer.Option("", "--reason"), db: Optional[str] = DbOpt,
            user: Optional[str] = UserOpt) -> None:
    """发布 Publish a stage's assignment (immutable afterwards; changes only by recorded replacements)."""
    if (run is None) == (from_file is None):
        raise UserError("give exactly one of --run RUN_ID or --from-file PANELS")
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        if run is not None:
            pub, source = publishing.publish_run(s, r, stage, run, user=current_user(user), reason=reason), f"run #{run}"
        else:
            if not from_file.exists():
                raise UserError(f"{from_file}: 文件不存在 file not found")
            source = str(from_file)
            pub = publishing.publish_file(s, r, stage, read_panels(from_file), source=source,
                                          sha256=hashlib.sha256(from_file.read_bytes()).hexdigest(),
                                          user=current_user(user), reason=reason)
        n = len(repo.published_seats(s, r, stage))
    echo(f"发布 published {stage} of round {round_} (#{pub.id}, {n} seats, from {source})")


def replace(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
            application: str = typer.Option(..., "--application", "-a"),
            old: str = typer.Option(..., "--old", help="Expert leaving the panel."),
            new: Optional[str] = typer.Option(None, "--new", help="Expert joining the panel; omitted = the "
                                              "solver's repair picks the replacement that changes no other seat."),
            reason: str = ReasonOpt,
            version: Optional[int] = typer.Option(None, "--version", help="Panel version you looked at "
                                                  "(refused if someone changed the panel since)."),
            db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """替换 Replace an expert on a published panel (a recorded repair; checks conflicts; audited)."""
    if new is None:
        new = pick_replacement(open_store(db), round_, stage, application, old)
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        repo.replace_expert(s, r, stage, application, old, new, reason=reason, user=current_user(user),
                            expected_version=version)
        v = repo.get_panel(s, r, stage, application).version
    echo(f"替换 {stage} {application}: {old} -> {new} (panel version {v})")


def pick_replacement(st: Store, round_: str, stage: str, application: str, old: str) -> str:
    """The solver's minimal-change repair over the round's published seats; only a one-seat change
    is applied automatically (anything larger is shown for staff to apply seat by seat)."""
    with st.read() as s:
        r = repo.get_round(s, round_)
        pol = repo.round_policy(r)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
        seats = pd.concat([repo.published_seats(s, r, stg) for stg in pol.stages.order], ignore_index=True)
    if seats.empty or not ((seats["stage"] == stage) & (seats["application_id"] == application)
                           & (seats["expert_id"] == old)).any():
        raise UserError(f"{old} has no published seat on {application} in {stage}")
    _, rep = service.repair(data, pol, seats, [(stage, old, application)])
    added = rep.changes[rep.changes["change"] == "added"]
    if len(added) != 1 or rep.changed_seats != 1:
        lines = "; ".join(f"{c.change} {c.stage} {c.application_id} {c.expert_id}" for c in rep.changes.itertuples())
        raise UserError(f"no single expert can take the seat without moving others; the minimal repair is: "
                        f"{lines}. Apply it seat by seat with --new")
    pick = added.iloc[0]
    alts = rep.alternates[rep.alternates["application_id"] == application]["expert_id"].head(5).tolist()
    echo(f"修复 the solver picks {pick['expert_id']} {pick['expert_name']} ({pick['category']}); "
         f"候补 alternates: {', '.join(alts) or 'none'}")
    return str(pick["expert_id"])


def packs(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
          out: Path = typer.Option(Path("packs"), "--out", "-o"), db: Optional[str] = DbOpt) -> None:
    """专家通知 One pack per expert of a published stage, a zip of all packs and a staff summary."""
    res = make_packs(open_store(db), round_, stage, out)
    echo(f"专家通知 {len(res.packs)} packs in {res.zip_path}; staff summary {res.summary_path}")


def read_panels(path: Path) -> pd.DataFrame:
    """A panels table (.csv/.xlsx; Chinese or English headers 阶段/stage, 申报编号/application_id,
    专家编号/expert_id, optional 角色/role) as stage, application_id, expert_id, role (chair/member)."""
    return seat_frame(read_table(path), str(path))
