"""`reviewer publish|replace|packs`: publishing a stage's panels, recorded replacements, expert packs."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.cli.common import DbOpt, ReasonOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.documents.packs import make_packs
from reviewer.errors import UserError
from reviewer.panels.planning import repair_published
from reviewer.scoring.scoretable import read_table
from reviewer.store import Store, repo

PANEL_HEADERS = {"阶段": "stage", "stage": "stage", "申报编号": "application_id", "application_id": "application_id",
                 "专家编号": "expert_id", "expert_id": "expert_id", "角色": "role", "role": "role"}


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
            rec = repo.get_run(s, run)
            if rec.kind != "planning" or rec.round_id != r.id:
                raise UserError(f"run #{run} is not a planning run of round {round_}")
            if rec.status not in ("OPTIMAL", "FEASIBLE"):
                raise UserError(f"run #{run} found no plan ({rec.status}); nothing to publish")
            seats, source = repo.run_seats(s, run), f"run #{run}"
        else:
            seats, source = read_panels(from_file), str(from_file)
        pub = repo.publish(s, r, stage, seats, user=current_user(user), reason=reason, run_id=run, source=source)
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
    _, rep = repair_published(data, pol, seats, [(stage, old, application)])
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
    raw = read_table(path)
    df = raw.rename(columns={c: PANEL_HEADERS.get(str(c).strip(), c) for c in raw.columns})
    missing = [c for c in ("stage", "application_id", "expert_id") if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected 阶段, 申报编号, 专家编号, 角色")
    if "role" not in df.columns:
        df["role"] = "member"
    df["role"] = df["role"].map(lambda v: {"组长": "chair", "成员": "member"}.get(str(v).strip(), str(v).strip()))
    bad = df[~df["role"].isin(["chair", "member"])]
    if len(bad):
        raise UserError(f"{path}: row {bad.index[0] + 2}, column 角色: {bad['role'].iloc[0]!r}; expected 组长 or 成员")
    return df[["stage", "application_id", "expert_id", "role"]].astype(str)
