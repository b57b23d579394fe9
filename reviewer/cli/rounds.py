"""`reviewer round create|list|show|settings`: the review rounds kept in the store.

`app` is the `round` sub-app; the main app adds it with :func:`register`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from sqlalchemy import select

from reviewer.cli.common import POLICY_DEFAULT_HELP, DbOpt, UserOpt, current_user, echo, open_store
from reviewer.store import replacement, repo, seat_obstacles
from reviewer.store import round_settings as round_settings_store
from reviewer.store.models import ImportSnapshot, Publication

app = typer.Typer(help="年度批次 Review rounds in the store: create, list, show, settings.", no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    """Add the `round` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="round")


@app.command("create")
def round_create(code: str = typer.Argument(..., help="Round code, e.g. 2026."),
                 name: str = typer.Option("", help="Display name (default: 'CODE 制造业创新中心试点遴选')."),
                 year: Optional[int] = typer.Option(None, help="Year (default: the policy's meta.year)."),
                 as_of: Optional[str] = typer.Option(None, "--as-of", help="Reference date YYYY-MM-DD for the "
                                                     "3-year windows (default: the policy's, else the day of each run)."),
                 policy: Optional[Path] = typer.Option(None, "--policy", help="Policy file; its text is stored "
                                                       f"with the round; {POLICY_DEFAULT_HELP}."),
                 db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Create a round; the policy text in force is stored with it."""
    st = open_store(db)
    with st.write() as s:
        r = repo.create_round(s, code, user=current_user(user), year=year, name=name, as_of=as_of,
                              policy_path=policy)
    echo(f"批次 round {r.code} created: {r.name}, policy sha256 {r.policy_sha256[:12]}…, store {st.display_url}")


@app.command("list")
def round_list(db: Optional[str] = DbOpt) -> None:
    """List the rounds in the store."""
    st = open_store(db)
    with st.read() as s:
        rounds = repo.list_rounds(s)
        if not rounds:
            echo(f"no rounds in {st.display_url} (reviewer round create CODE)")
        for r in rounds:
            n_imp = len(s.execute(select(ImportSnapshot.id).where(ImportSnapshot.round_id == r.id)).all())
            echo(f"{r.code}\t{r.name}\tyear {r.year}\tas-of {r.as_of or '-'}\timports {n_imp}\t"
                 f"runs {len(repo.runs_of(s, r))}\tcreated {r.created_at:%Y-%m-%d} by {r.created_by}")


@app.command("show")
def round_show(code: str = typer.Argument(...), db: Optional[str] = DbOpt) -> None:
    """Everything recorded for a round: settings, imports, runs, publications, scores."""
    with open_store(db).read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        echo(f"批次 round {r.code}: {r.name} (year {r.year}, reference date {pol.as_of_date()}, version {r.version})")
        echo(f"  policy {r.policy_source} sha256 {r.policy_sha256}")
        echo(f"  settings {json.dumps(r.settings or {}, ensure_ascii=False)}")
        for imp in s.execute(select(ImportSnapshot).where(ImportSnapshot.round_id == r.id)
                             .order_by(ImportSnapshot.id)).scalars():
            echo(f"  import #{imp.id} {imp.created_at:%Y-%m-%d %H:%M} by {imp.created_by}: {imp.source}, "
                 f"{imp.n_rows} records, {imp.n_errors} errors / {imp.n_issues} issues")
            for f in imp.files:
                echo(f"     {f.table_name}: {f.file_name}{' [' + f.sheet + ']' if f.sheet else ''} "
                     f"sha256 {f.sha256[:12]}… {f.loaded}/{f.rows} rows")
        for run in repo.runs_of(s, r):
            echo(_run_line(run))
        for pub in s.execute(select(Publication).where(Publication.round_id == r.id)
                             .order_by(Publication.id)).scalars():
            seats = repo.published_seats(s, r, pub.stage, include_replaced=True)
            echo(f"  published {pub.stage} {pub.published_at:%Y-%m-%d %H:%M} by {pub.published_by}"
                 f"{' from run #' + str(pub.run_id) if pub.run_id else ' from ' + pub.source}: "
                 f"{seats['application_id'].nunique()} panels, {int((seats['status'] == 'active').sum())} active "
                 f"seats, {int((seats['status'] == 'replaced').sum())} replaced")
            for o in replacement.overrides(s, r, pub.stage).itertuples(index=False):
                echo(f"    {o.stage} {o.application_id} {o.expert_id}: {o.text} ({o.user}, {o.at[:16]})")
        sc = repo.scores_frame(s, r, include_void=True)
        if not sc.empty:
            echo(f"  scores: {int((~sc['void']).sum())} valid, {int(sc['void'].sum())} void")


def _run_line(run) -> str:
    """One line of `round show` for a recorded run."""
    extra = ""
    if run.kind == "planning":
        extra = (f" stages {','.join(run.stages)} seed {run.seed} status {run.status} gap "
                 f"{run.gap if run.gap is not None else '-'} {run.wall_seconds or 0:.1f}s seats "
                 f"{run.summary.get('seats')}")
    elif run.kind == "site_plan":
        extra = (f" stage {','.join(run.stages)} {run.parameters.get('start')}–{run.parameters.get('end')} seed "
                 f"{run.seed} status {run.status} teams {run.summary.get('teams')} seats {run.summary.get('seats')}")
    elif run.kind == "aggregation":
        extra = f" stage {','.join(run.stages)} method {run.parameters.get('method')}"
    return (f"  run #{run.id} {run.kind} {run.created_at:%Y-%m-%d %H:%M} by {run.created_by} "
            f"(import #{run.import_id}){extra}")


@app.command("settings")
def round_settings(code: str = typer.Argument(...),
                   stage: Optional[str] = typer.Option(None, "--stage", "-s", help="Stage whose meeting to set."),
                   date: Optional[str] = typer.Option(None, help="Meeting date YYYY-MM-DD."),
                   time_: Optional[str] = typer.Option(None, "--time", help="Start time HH:MM."),
                   place: Optional[str] = typer.Option(None, help="Meeting place."),
                   contact: Optional[str] = typer.Option(None, help="Contact person and phone."),
                   attendees: Optional[int] = typer.Option(None, help="参会人数 people per applicant at the 答辩."),
                   site_start: Optional[str] = typer.Option(None, "--site-start", help="First day of site inspections."),
                   site_end: Optional[str] = typer.Option(None, "--site-end", help="Last day of the site-visit window."),
                   site_per_day: Optional[int] = typer.Option(None, "--site-per-day",
                                                              help="Site inspections per day (same city)."),
                   version: Optional[int] = typer.Option(None, "--version", help="The settings version you "
                                                         "edited (refused if someone changed them since)."),
                   reason: str = typer.Option("", "--reason"), db: Optional[str] = DbOpt,
                   user: Optional[str] = UserOpt) -> None:
    """Meeting date, time, place and contact per stage and the site-visit window: used when planning
    (experts unavailable on the meeting day are not drawn), in the expert packs, notices and .ics."""
    store = open_store(db)
    with store.write() as s:
        r = repo.get_round(s, code)
        changes = round_settings_store.changes(
            r.settings, repo.round_policy(r), stage=stage,
            meeting_values={"date": date, "time": time_, "place": place, "contact": contact, "attendees": attendees},
            site_start=site_start, site_end=site_end, site_per_day=site_per_day)
        if not changes:
            echo(json.dumps(r.settings or {}, ensure_ascii=False, indent=2))
            echo(f"version {r.version}")
            return
        repo.update_round_settings(s, r, changes, user=current_user(user), reason=reason, expected_version=version)
        # a moved meeting: the seats of experts unavailable on the new day go to 补抽 (same transaction)
        obstacles = seat_obstacles.sync_schedule(s, r, user=current_user(user))
    echo(f"批次 round {code}: settings updated")
    for line in seat_obstacles.refill(store, obstacles).lines():
        echo("  " + line)
