"""`reviewer panels`: a stored round's published panels, seat by seat, with names and replacements."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from sqlalchemy import select

from reviewer.cli.common import DbOpt, RoundOpt, check_stage, echo, echo_wrote, open_store
from reviewer.errors import UserError
from reviewer.exports import write_table
from reviewer.panels.tables import ROLE_ZH
from reviewer.store import repo
from reviewer.store.models import Assignment, Panel

STATUS_ZH = {"active": "在任", "replaced": "已替换"}
COLUMNS = ["stage", "application_id", "application_name", "expert_id", "expert_name", "category", "role", "role_zh",
           "status", "status_zh", "replaces", "replaced_by", "panel_version"]


def register(app: typer.Typer) -> None:
    """Add the `panels` command to the main `reviewer` app."""
    app.command("panels")(panels)


def published_table(s, r, stages: list[str]) -> pd.DataFrame:
    """Every published seat of `stages` (active and replaced) with application and expert names,
    category, role, status and the replacement (who replaced whom)."""
    data = repo.load_data(s, repo.latest_import(s, r).id)
    apps = {a.application_id: a.name for a in data.applications}
    experts = {e.expert_id: e for e in data.experts}
    frames = [repo.published_seats(s, r, st, include_replaced=True) for st in stages if repo.publication(s, r, st)]
    seats = pd.concat(frames, ignore_index=True) if frames else repo.published_seats(s, r, "")
    links = dict(s.execute(select(Assignment.id, Assignment.replaces_id).join(Panel, Panel.id == Assignment.panel_id)
                           .where(Panel.round_id == r.id, Assignment.replaces_id.is_not(None))).all())
    by_id = dict(zip(seats["assignment_id"], seats["expert_id"]))
    replaced_by = {old: by_id.get(new, "") for new, old in links.items()}
    rows = []
    for x in seats.itertuples(index=False):
        e = experts.get(x.expert_id)
        rows.append({"stage": x.stage, "application_id": x.application_id,
                     "application_name": apps.get(x.application_id, ""), "expert_id": x.expert_id,
                     "expert_name": e.name if e else "", "category": e.category if e else "", "role": x.role,
                     "role_zh": ROLE_ZH.get(x.role, x.role), "status": x.status,
                     "status_zh": STATUS_ZH.get(x.status, x.status),
                     "replaces": by_id.get(links.get(x.assignment_id), ""),
                     "replaced_by": replaced_by.get(x.assignment_id, ""), "panel_version": x.panel_version})
    return pd.DataFrame(rows, columns=COLUMNS)


def panels(round_: str = RoundOpt,
           stage: Optional[str] = typer.Option(None, "--stage", "-s", help="One stage (default: every published stage)."),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table: FILE.csv and FILE.xlsx."),
           db: Optional[str] = DbOpt) -> None:
    """专家组 The round's published panels: application, expert, category, role, status and replacements."""
    with open_store(db).read() as s:
        r = repo.get_round(s, round_)
        pol = repo.round_policy(r)
        stages = [check_stage(stage, pol)] if stage else list(pol.stages.order)
        if not any(repo.publication(s, r, st) for st in stages):
            raise UserError(f"批次 {r.code} 的 {'、'.join(stages)} 尚未发布专家组 / round {r.code} has no published "
                            f"panels for {', '.join(stages)} (reviewer publish)")
        table = published_table(s, r, stages)
    for (st, app_id), g in table.groupby(["stage", "application_id"], sort=False):
        echo(f"{st} {app_id} {g['application_name'].iloc[0]} (version {g['panel_version'].iloc[0]})")
        for x in g.itertuples(index=False):
            change = (f"  替换了 replaces {x.replaces}" if x.replaces and x.replaces != x.expert_id else "") + \
                     (f"  由 {x.replaced_by} 替换 replaced by {x.replaced_by}"
                      if x.replaced_by and x.replaced_by != x.expert_id else "") + \
                     ("  组长交接 chair handover" if x.replaces == x.expert_id else "") + \
                     ("  改任组长 became chair" if x.replaced_by == x.expert_id else "")
            echo(f"  {x.expert_id} {x.expert_name} [{x.category}] {x.role_zh} {x.role} {x.status_zh} {x.status}{change}")
    active = int((table["status"] == "active").sum())
    echo(f"{table[['stage', 'application_id']].drop_duplicates().shape[0]} panels, {active} active seats, "
         f"{len(table) - active} replaced")
    if out:
        echo_wrote(write_table(table, out.parent, out.stem, "专家组"))
