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
from reviewer.panels.tables import seat_frame
from reviewer.scoring.scoretable import read_table
from reviewer.store import audit, publishing, replacement, repo

def register(app: typer.Typer) -> None:
    """Add `publish`, `replace` and `packs` to the main `reviewer` app."""
    app.command("publish")(publish)
    app.command("replace")(replace)
    app.command("packs")(packs)


def publish(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
            run: Optional[int] = typer.Option(None, "--run", help="Planning run whose seats to publish."),
            from_file: Optional[Path] = typer.Option(None, "--from-file", help="Or a panels table (.csv/.xlsx: "
                                                     "阶段/stage, 申报编号/application_id, 专家编号/expert_id, 角色/role)."),
            reason: str = typer.Option("", "--reason"),
            confirm_stale: bool = typer.Option(False, "--confirm-stale", help="Publish a run made before a later "
                                               "import, lock, forbid, waiver, decision or publication as it is; "
                                               "needs --reason (recorded with the differences)."),
            db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """发布 Publish a stage's assignment (immutable afterwards; changes only by recorded replacements).
    A run that is out of date (已过期) is refused, naming what changed, unless --confirm-stale --reason."""
    if (run is None) == (from_file is None):
        raise UserError("give exactly one of --run RUN_ID or --from-file PANELS")
    if confirm_stale and not reason.strip():
        raise UserError("--confirm-stale 需要用 --reason 说明理由 / --confirm-stale needs --reason (why the out-of-date "
                        "plan is published as it is; recorded in the audit log)")
    try:
        pub, n, anchor, source = _publish(round_, stage, run, from_file, reason, confirm_stale, db, user)
    except publishing.StalePlan as e:
        raise UserError(f"{e}\n重新求解（reviewer run assign）后发布新的运行，或确认按原方案发布：--confirm-stale --reason \"…\" / "
                        "re-plan and publish the new run, or confirm with --confirm-stale --reason \"…\"") from None
    echo(f"发布 published {stage} of round {round_} (#{pub.id}, {n} seats, from {source})")
    echo(f"{anchor}; note it for inspectors (reviewer audit verify --expect-head HASH)")


def _publish(round_: str, stage: str, run: Optional[int], from_file: Optional[Path], reason: str,
             confirm_stale: bool, db: Optional[str], user: Optional[str]):
    """One transaction: publish from the run or the file; (publication, seats, audit anchor, source)."""
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        if run is not None:
            pub = publishing.publish_run(s, r, stage, run, user=current_user(user), reason=reason,
                                         confirm_stale=reason if confirm_stale else "")
            source = f"run #{run}"
        else:
            if not from_file.exists():
                raise UserError(f"{from_file}: 文件不存在 file not found")
            source = str(from_file)
            pub = publishing.publish_file(s, r, stage, read_panels(from_file), source=source,
                                          sha256=hashlib.sha256(from_file.read_bytes()).hexdigest(),
                                          user=current_user(user), reason=reason)
        return pub, len(repo.published_seats(s, r, stage)), audit.anchor_line(s), source


def replace(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
            application: str = typer.Option(..., "--application", "-a"),
            old: str = typer.Option(..., "--old", help="Expert leaving the panel."),
            new: Optional[str] = typer.Option(None, "--new", help="Expert joining the panel; omitted = the "
                                              "solver's repair picks the replacement that changes no other seat."),
            reason: str = ReasonOpt,
            override_rule: list[str] = typer.Option([], "--override-rule", help="Force majeure: a hard-rule id "
                                                    "(e.g. category_coverage) the change may break, recorded with "
                                                    "--reason and shown on the panel (例外). Repeatable."),
            version: Optional[int] = typer.Option(None, "--version", help="Panel version you looked at "
                                                  "(refused if someone changed the panel since)."),
            db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """替换 Replace an expert on a published panel: the round after the change must keep every hard rule,
    checked like a plan (or break only the rules named with --override-rule); a recorded repair, audited."""
    with open_store(db).write() as s:
        r = repo.get_round(s, round_)
        chair_before = replacement.chair_of(s, r, stage, application)
        picked, rep = (None, None) if new is not None else replacement.pick_replacement(s, r, stage, application, old)
        new = new or picked
        if picked is not None and rep is None:   # a site team's seat: kept within the team's route and days
            echo(f"现场考察 考察组路线与日期不变，{new} 接替（同组优先）/ the team's route and days are kept: {new} takes "
                 "the seat (within the team first)")
        elif rep is not None:
            pick = rep.changes[rep.changes["change"] == "added"].iloc[0]
            alts = rep.alternates_of(stage, application, exclude=[old, new])[:5]
            first = f"{pick['expert_id']} {pick['expert_name']} ({pick['category']})"
            echo(f"修复 the solver picks {first if new == pick['expert_id'] else new + ' (候补 alternate: ' + first}"
                 f"{'' if new == pick['expert_id'] else ' breaks a hard rule of the round)'}"
                 f"; 候补 alternates: {', '.join(alts) or 'none'}")
        replacement.replace_expert(s, r, stage, application, old, new, reason=reason, user=current_user(user),
                                   expected_version=version, override_rules=override_rule)
        v = repo.get_panel(s, r, stage, application).version
        chair_after = replacement.chair_of(s, r, stage, application)
        shown = replacement.overrides(s, r, stage)
        shown = shown[shown["application_id"] == application]
    echo(f"替换 {stage} {application}: {old} -> {new} (panel version {v})")
    if chair_before == old and chair_after not in (None, new):
        echo(f"  组长交接 chair handover: {chair_after} 接任组长（{new} 不能任组长）/ {chair_after} takes the chair "
             f"({new} cannot chair this panel)")
    for text in shown["text"]:
        echo(f"  {text}")


def packs(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
          out: Path = typer.Option(Path("packs"), "--out", "-o"), db: Optional[str] = DbOpt) -> None:
    """专家通知 One pack per expert of a published stage, a zip of all packs and a staff summary."""
    res = make_packs(open_store(db), round_, stage, out)
    echo(f"专家通知 {len(res.packs)} packs in {res.zip_path}; staff summary {res.summary_path}")


def read_panels(path: Path) -> pd.DataFrame:
    """A panels table (.csv/.xlsx; Chinese or English headers 阶段/stage, 申报编号/application_id,
    专家编号/expert_id, optional 角色/role) as stage, application_id, expert_id, role (chair/member)."""
    return seat_frame(read_table(path), str(path))
