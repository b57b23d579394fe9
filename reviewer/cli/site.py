"""`reviewer site-plan`, `site-repair` and `site-templates`: 现场考察 visiting teams and routes from the round's files.

The plan's outputs (README "现场考察 site-visit routes"): site_itinerary, site_expert_visits, site_panels
(the stage's panels: stage, application_id, expert_id, role), calendars/EXPERT.ics, host_notices/APP.txt,
site_host_notices, site_summary, site_metrics.json and a run record; site_diagnostics when there is no plan.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import (AsOfOpt, DbOpt, OutOpt, PartialOpt, PolicyOpt, UserOpt, current_user, echo, echo_wrote,
                                 open_store, policy_as_of)
from reviewer.cli import site_inputs
from reviewer.cli.files import finish, load_tables
from reviewer.errors import UserError
from reviewer.exports import run_record, write_run_record, write_table
from reviewer.panels.site.inputs import (SiteInputs, read_holidays, read_sites, read_travel_limits, read_unavailable,
                                         write_site_templates)
from reviewer.panels.site.outputs import outcome_lines, write_site_plan
from reviewer.panels.site.planner import SitePlanParams, plan_sites
from reviewer.panels.site.repair import read_site_plan, repair_site_plan
from reviewer.panels.tables import seat_frame
from reviewer.policy import Policy, load_policy
from reviewer.policy_process import VISIT_LENGTHS
from reviewer.scoring.scoretable import read_table
from reviewer.store.site_visits import run_site_plan


def register(app: typer.Typer) -> None:
    site_inputs.register(app)
    app.command("site-plan")(site_plan)
    app.command("site-templates")(site_templates)
    app.command("site-repair")(site_repair)


def _day(value: Optional[str], fallback: str, what: str) -> dt.date:
    text = value or fallback
    if not text:
        raise UserError(f"缺少考察窗口{what}：用 --{what} YYYY-MM-DD 或政策文件 [site_visit] window_{what} 给出 / "
                        f"the inspection window needs --{what} YYYY-MM-DD (or [site_visit] window_{what})")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--{what} {text!r}: 应为日期 expected a date like 2026-12-07") from None


def read_inputs(pol: Policy, data, unavailable: Optional[Path], sites: Optional[Path],
                holidays: Optional[Path], travel_limits: Optional[Path] = None) -> SiteInputs:
    out = SiteInputs()
    if travel_limits:
        out.max_consecutive = read_travel_limits(travel_limits, {e.expert_id for e in data.experts})
    if unavailable:
        out.unavailable = read_unavailable(unavailable, {e.expert_id for e in data.experts})
    if sites:
        out.sites = read_sites(sites, {a.application_id for a in data.applications},
                               1 + VISIT_LENGTHS.index(pol.site_visit.visit_length))
    if holidays:
        out.holidays = read_holidays(holidays)
    out.files = [{"role": k, "file": str(v)} for k, v in (("unavailable", unavailable), ("sites", sites),
                                                          ("holidays", holidays), ("travel_limits", travel_limits)) if v]
    return out


def other_stage_seats(pol: Policy, panels: Optional[Path]) -> tuple:
    """Seats of the other stages (stage independence) from a panels table."""
    if panels is None:
        return ()
    seats = seat_frame(read_table(panels))
    return tuple((r.stage, r.expert_id, r.application_id) for r in seats.itertuples() if r.stage != pol.stages.site)


def site_plan(
    source: Optional[Path] = typer.Argument(None, help="A round workbook, or a folder / applications file with the other tables beside it (file mode; omit with --round)."),
    start: Optional[str] = typer.Option(None, "--start", help="First day of the inspection window (YYYY-MM-DD)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day of the inspection window (YYYY-MM-DD)."),
    unavailable: Optional[Path] = typer.Option(None, "--unavailable", help="专家不可用日期 file (专家编号, 不可用日期[, 截止日期])."),
    sites: Optional[Path] = typer.Option(None, "--sites", help="考察点 file (申报编号, 考察时长, 考察地址, 联系人, 联系电话, 锁定日期)."),
    holidays: Optional[Path] = typer.Option(None, "--holidays", help="节假日 file for a year the calendar does not cover (日期, 类型 休/班)."),
    travel_limits: Optional[Path] = typer.Option(None, "--travel-limits", help="专家出行限制 file (专家编号, 最多连续考察天数): per expert, over the policy's max_consecutive_travel_days."),
    panels: Optional[Path] = typer.Option(None, "--panels", help="Panels of the other stages (panels.csv): no expert sees an application twice."),
    seed: int = typer.Option(0, help="Seed (logged): CP-SAT's seed and the 随机抽取 perturbation of affinities."),
    work_limit: Optional[float] = typer.Option(None, "--work-limit", help="CP-SAT work limit per step (deterministic units; default the policy's)."),
    include_review: bool = typer.Option(False, "--include-review", help="Also visit applications whose screening needs review."),
    policy: Optional[Path] = PolicyOpt,
    as_of: Optional[str] = AsOfOpt,
    out: Path = OutOpt,
    allow_partial: bool = PartialOpt,
    round_: Optional[str] = typer.Option(None, "--round", "-r", help="Store mode: plan the stored round's 现场考察 stage and record the run."),
    randomize: bool = typer.Option(False, "--randomize", help="随机抽取 (store mode): each expert is a candidate of a team with the policy's per-seat probability cap."),
    lock: list[str] = typer.Option([], "--lock", help="Store mode: APPLICATION_ID=YYYY-MM-DD, a site locked to a day (repeatable)."),
    db: Optional[str] = DbOpt,
    user: Optional[str] = UserOpt,
) -> None:
    """现场考察 Plan visiting teams: multi-day routes over the 14 cities on working days, each team a valid panel for every site it visits."""
    started = time.time()
    if round_:
        given = [o for o, v in (("--unavailable", unavailable), ("--sites", sites), ("--holidays", holidays),
                                ("--travel-limits", travel_limits), ("--panels", panels), ("SOURCE", source)) if v]
        if given:   # a store run is reproduced from the store alone: files it did not keep are refused
            raise UserError(f"库模式 (--round) 只使用库中的数据，不读取 {', '.join(given)}；请先用 reviewer site-inputs import "
                            f"--round {round_} 存入现场考察输入 / store mode reads the store only (so `reviewer reproduce` "
                            f"can rerun it): store the files first with `reviewer site-inputs import --round {round_} "
                            f"--unavailable F --sites F ...`; {', '.join(given)} are file-mode options here")
        return _site_plan_store(round_, start, end, seed, work_limit, include_review, randomize, lock, out, db, user)
    if source is None:
        raise UserError("缺少输入：给出轮次文件（文件模式）或 --round 批次编号（库模式） / give the round's files, or --round CODE")
    if randomize or lock:
        raise UserError("--randomize 与 --lock 只用于库模式 (--round) / --randomize and --lock need --round (store mode)")
    pol = policy_as_of(load_policy(policy), as_of)
    data, report = load_tables(source, pol, {}, ("applications", "experts"))
    if work_limit is not None and not 0 < work_limit <= 10_000:
        raise UserError(f"--work-limit {work_limit}: expected a number above 0 and at most 10000")
    params = SitePlanParams(_day(start, pol.site_visit.window_start, "start"), _day(end, pol.site_visit.window_end, "end"),
                            seed=seed, work_limit=work_limit, include_review=include_review,
                            fixed=other_stage_seats(pol, panels))
    inputs = read_inputs(pol, data, unavailable, sites, holidays, travel_limits)
    echo(f"现场考察 Site plan {params.start}–{params.end}, seed {seed}")
    sp = plan_sites(data, pol, params, inputs)
    for line in outcome_lines(sp):
        echo(line)
    paths = write_site_plan(sp, out, pol.meta.name)
    write_run_record(run_record("site_plan", report.inputs() + inputs.files, pol, params.to_record(), started,
                                status=sp.teams.status if sp.teams else sp.routes.status), out)
    echo_wrote(paths)
    if not sp.feasible or sp.violations or sp.day_violations:
        raise typer.Exit(1)
    finish(report, allow_partial)


def parse_locks(lock: list[str]) -> tuple:
    out = []
    for x in lock:
        a_id, _, day = x.partition("=")
        try:
            dt.date.fromisoformat(day.strip())
        except ValueError:
            raise UserError(f"--lock {x!r}: 应为 申报编号=日期 expected APPLICATION_ID=YYYY-MM-DD") from None
        out.append((a_id.strip(), day.strip()))
    return tuple(out)


def _site_plan_store(code, start, end, seed, work_limit, include_review, randomize, lock, out, db, user) -> None:
    """Store mode: plan from the stored round, record the run and its routes, write the outputs."""
    if work_limit is not None and not 0 < work_limit <= 10_000:
        raise UserError(f"--work-limit {work_limit}: expected a number above 0 and at most 10000")
    run, sp = run_site_plan(open_store(db), code, user=current_user(user), start=start, end=end, seed=seed,
                            randomize=randomize, work_limit=work_limit, include_review=include_review,
                            fixed_days=parse_locks(lock), echo=echo)
    for line in outcome_lines(sp):
        echo(line)
    echo(f"run #{run.id} site_plan: status {run.status}, {run.summary.get('teams', 0)} teams, "
         f"{run.summary.get('seats', 0)} seats (publish: reviewer publish --round {code} --stage {sp.stage} "
         f"--run {run.id}; reproduce: reviewer reproduce {run.id})")
    echo_wrote(write_site_plan(sp, out, sp.policy.meta.name))
    if not sp.feasible or sp.violations or sp.day_violations:
        raise typer.Exit(1)


def site_templates(path: Path = typer.Argument(Path("site_templates.xlsx"), help="Where to write the blank workbook.")) -> None:
    """Blank 现场考察 input workbook: 专家不可用日期, 考察点, 节假日, with a column guide."""
    echo_wrote([write_site_templates(path)])


def site_repair(
    source: Path = typer.Argument(..., help="The round's input files (as for site-plan)."),
    plan: Path = typer.Option(..., "--plan", help="The site plan to repair: site_panels.csv written by site-plan."),
    decline: list[str] = typer.Option(..., "--decline", help="Expert id who declined (repeatable)."),
    unavailable: Optional[Path] = typer.Option(None, "--unavailable", help="专家不可用日期 file (as for site-plan)."),
    sites: Optional[Path] = typer.Option(None, "--sites", help="考察点 file (as for site-plan)."),
    holidays: Optional[Path] = typer.Option(None, "--holidays", help="节假日 file (as for site-plan)."),
    travel_limits: Optional[Path] = typer.Option(None, "--travel-limits", help="专家出行限制 file (as for site-plan)."),
    panels: Optional[Path] = typer.Option(None, "--panels", help="Panels of the other stages (stage independence)."),
    seed: int = typer.Option(0, help="Seed (logged)."),
    work_limit: Optional[float] = typer.Option(None, "--work-limit", help="CP-SAT work limit (deterministic units)."),
    policy: Optional[Path] = PolicyOpt,
    as_of: Optional[str] = AsOfOpt,
    out: Path = OutOpt,
) -> None:
    """替换 Replace experts who declined a site visit: routes and days stay, as few seats as possible change."""
    started = time.time()
    pol = policy_as_of(load_policy(policy), as_of)
    data, report = load_tables(source, pol, {}, ("applications", "experts"))
    inputs = read_inputs(pol, data, unavailable, sites, holidays, travel_limits)
    fixed = other_stage_seats(pol, panels)
    sp = read_site_plan(data, pol, read_table(plan), inputs, fixed=fixed)
    new, changes = repair_site_plan(data, pol, sp, list(decline), seed=seed, work_limit=work_limit, fixed=fixed)
    for line in outcome_lines(new):
        echo(line)
    paths = write_site_plan(new, out, pol.meta.name)
    if not changes.empty:
        paths += write_table(changes, out, "site_repair_changes", "替换变更")
        echo(f"  替换 {int((changes['change'] == 'added').sum())} 个席位 seats changed hands "
             f"({', '.join(decline)} replaced; routes and days unchanged)")
    write_run_record(run_record("site_repair", report.inputs() + inputs.files + [{"role": "plan", "file": str(plan)}],
                                pol, {"decline": list(decline), "seed": seed, "work_limit": work_limit}, started,
                                status=new.teams.status if new.teams else "INFEASIBLE"), out)
    echo_wrote(paths)
    if not new.feasible or new.violations or new.day_violations:
        raise typer.Exit(1)
