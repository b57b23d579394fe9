"""`reviewer stage advance|show`: stages that gate (issue 17 part 1; reviewer.store.stages).

`advance` aggregates the stage's stored scores with the stage's own instrument (a recorded aggregation
run), shows who the policy's gate ([stages.gates]) would advance and why, and with `--confirm` records
it (audited). Planning the next stage then takes only the applications that advanced.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.documents.defence import schedule_table, write_defence_documents
from reviewer.errors import UserError
from reviewer.store import advancement, repo, round_settings
from reviewer.store import stages as gating

app = typer.Typer(help="晋级 Stages that gate: who advances from one review stage to the next.", no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    """Add the `stage` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="stage")


def _overrule(keep: list[str], drop: list[str]) -> dict[str, tuple[bool, str]]:
    out: dict[str, tuple[bool, str]] = {}
    for flag, values, advances in (("--keep", keep, True), ("--drop", drop, False)):
        for v in values:
            app_id, sep, why = v.partition(":")
            if not sep or not app_id.strip() or not why.strip():
                raise UserError(f"{flag} {v!r}: expected APPLICATION:REASON, e.g. {flag} GX2026-003:材料补正后核实")
            if app_id.strip() in out:
                raise UserError(f"{app_id.strip()} is named twice in --keep/--drop")
            out[app_id.strip()] = (advances, why.strip())
    return out


@app.command("advance")
def stage_advance(round_code: str = RoundOpt,
                  stage: str = typer.Option(..., "--stage", "-s", help="The stage to decide (not the last)."),
                  confirm: bool = typer.Option(False, "--confirm", help="Record the list (otherwise only shown)."),
                  keep: List[str] = typer.Option([], "--keep", help="APPLICATION:REASON advances against the proposal."),
                  drop: List[str] = typer.Option([], "--drop", help="APPLICATION:REASON stays out against the proposal."),
                  method: Optional[str] = typer.Option(None, "--method", help="Aggregation method (default: policy)."),
                  reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log; needed with --confirm)."),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Propose (and with --confirm record) who advances from STAGE, with each application's reason."""
    who = current_user(user)
    overrule = _overrule(keep, drop)
    # the one act the app's 阶段晋级 makes too (reviewer.store.advancement): a recorded aggregation run, the
    # proposal from it and, with --confirm, the decision recorded with the run's id
    adv = advancement.advance(open_store(db), round_code, stage, user=who, method=method, confirm=confirm,
                              reason=reason, overrule=overrule)
    echo(f"{stage} → {adv.next_stage}：{adv.rule}（aggregation run #{adv.run_id}）")
    for x in adv.proposal.itertuples(index=False):
        mark = "晋级" if (overrule.get(x.application_id, (x.advance,))[0]) else "  —"
        note = f"  [工作人员调整 staff: {overrule[x.application_id][1]}]" if x.application_id in overrule else ""
        echo(f"  {mark} {x.application_id} {x.field or ''} {x.outcome_zh}: {x.reason_zh}{note}")
    n = sum(overrule.get(a, (v,))[0] for a, v in zip(adv.proposal["application_id"], adv.proposal["advance"]))
    echo(f"  {n} of {adv.of} advance to {adv.next_stage}")
    if not confirm:
        echo("  (not recorded: add --confirm --reason TEXT to record this list)")
        return
    echo(f"已记录 recorded: {adv.recorded} applications advance from {stage} to {adv.next_stage} (aggregation run "
         f"#{adv.run_id}); planning {adv.next_stage} takes only these")


@app.command("show")
def stage_show(round_code: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s"),
               db: Optional[str] = DbOpt) -> None:
    """The recorded advancement of each stage (or of STAGE) with reasons."""
    with open_store(db).read() as s:
        r = repo.get_round(s, round_code)
        pol = repo.round_policy(r)
        d = gating.decisions(s, r, stage)
        for st in ([stage] if stage else pol.stages.order[:-1]):
            rows = d[d["stage"] == st]
            if rows.empty:
                echo(f"{st}: 晋级名单未确认 advancement not recorded")
                continue
            runs = "、".join(f"#{int(x)}" for x in sorted(rows["run_id"].dropna().unique())) or "—"
            echo(f"{st}: {int(rows['advanced'].sum())} of {len(rows)} advanced "
                 f"(by {rows['decided_by'].iloc[0]}, {rows['decided_at'].iloc[0]:%Y-%m-%d %H:%M} UTC; "
                 f"aggregation run {runs}: reviewer reproduce RUN)")
            for x in rows.itertuples(index=False):
                echo(f"  {'晋级' if x.advanced else '  —'} {x.application_id}: {x.reason}")


@app.command("defence")
def stage_defence(round_code: str = RoundOpt,
                  seed: Optional[int] = typer.Option(None, "--seed", help="Draw the 答辩 order with this seed "
                                                     "(recorded; the same seed gives the same order)."),
                  reason: str = typer.Option("", "--reason", help="Why (needed with --seed; audited)."),
                  out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the schedule, a notice per "
                                                     "applicant and the 签到表 into this folder."),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """认定评审 答辩: draw the defence order (--seed), show the time slots, write the documents (--out)."""
    st = open_store(db)
    if seed is not None:
        if not 0 <= seed <= 2**63 - 1:
            raise UserError(f"--seed {seed}: expected a whole number >= 0")
        with st.write() as s:
            order = gating.draw_defence(s, repo.get_round(s, round_code), seed, user=current_user(user), reason=reason)
        echo(f"答辩顺序已抽取并记录 defence order drawn with seed {seed}: {'、'.join(order)}")
    with st.read() as s:
        r = repo.get_round(s, round_code)
        pol = repo.round_policy(r)
        order, used = gating.defence_order(r.settings)
        if not order:
            raise UserError(f"round {round_code}: 答辩顺序尚未抽取 / the defence order is not drawn yet (--seed N --reason ...)")
        meeting = round_settings.meeting(r.settings, pol.defence.stage)
        data = repo.load_data(s, repo.latest_import(s, r).id)
        seats = repo.published_seats(s, r, pol.defence.stage)
        name = r.name
    apps = {a.application_id: a for a in data.applications}
    table = schedule_table(order, meeting.time, pol.defence, apps)
    echo(f"{pol.defence.stage} 答辩 {meeting.date or '日期待定'} {meeting.place or '地点待定'}（seed {used}）")
    for x in table.itertuples(index=False):
        echo(f"  {x.order:>2}. {x.start}-{x.end} {x.application_id} {x.name} {x.note}")
    if out is not None:
        experts = {e.expert_id: e for e in data.experts}
        ids = sorted(seats["expert_id"].unique()) if not seats.empty else []
        ex = pd.DataFrame([{"专家编号 expert": i, "姓名 name": experts[i].name, "工作单位 employer": experts[i].employer}
                           for i in ids if i in experts])
        paths = write_defence_documents(out, table, meeting, pol.defence, round_code=round_code, round_name=name,
                                        seed=used, experts=ex)
        echo(f"写出 wrote {len(paths)} files to {out}")
