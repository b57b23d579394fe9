"""`reviewer screen|conflicts|assign|repair`: the steps of a round run straight from its files (no store).

Every command reads the policy (`--policy`, default: the bundled policy; `reviewer init` writes an
editable copy), prints what it loaded and every rejected row, writes its tables as CSV and XLSX plus
a run record, and exits 1 when any input row was rejected (unless `--allow-partial`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import (AsOfOpt, OutOpt, PartialOpt, PolicyOpt, echo, echo_wrote, policy_as_of,
                                 reference_date_line)
from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.exports import run_record, write_run_record, write_table
from reviewer.intake.io import ImportReport, load_round_from
from reviewer.panels import service
from reviewer.panels.service import PlanParams
from reviewer.panels.tables import seat_frame
from reviewer.policy import Policy, load_policy
from reviewer.scoring.scoretable import read_table
from reviewer.screening.eligibility import screen as run_screening
from reviewer.store.guards import LockContext, check_locks


def register(app: typer.Typer) -> None:
    """Add `screen`, `conflicts`, `assign` and `repair` to the main `reviewer` app."""
    app.command("screen")(screen)
    app.command("conflicts")(conflicts)
    app.command("assign")(assign)
    app.command("repair")(repair)


def report_import(report: ImportReport) -> None:
    """Print what loaded, table by table, and every issue."""
    for line in report.summary_lines():
        echo("  " + line)
    issues = report.all_issues
    if issues:
        echo(f"  {len(issues)} 条问题 issues:")
        for i in issues:
            echo("    " + str(i))


def load_tables(source: Path, pol: Policy, overrides: dict, need: tuple[str, ...],
                only: tuple[str, ...] | None = None):
    """Load the round's tables, print what loaded and every issue, and insist on the tables `need`s."""
    data, report = load_round_from(source, pol, overrides)
    if only is not None:
        report.tables = {k: v for k, v in report.tables.items() if k in only}
    echo("载入 Loaded:")
    report_import(report)
    for name in need:
        if name not in report.tables:
            raise UserError(f"{source}: no {name} table found (pass it explicitly)")
        if not report.tables[name].records:
            raise UserError(f"{source}: {name} 表没有可用的行（全部被拒，见上） / no {name} row could be loaded "
                            "(every row was rejected: see the issues above)")
    return data, report


def finish(report: ImportReport, allow_partial: bool) -> None:
    """Exit 1 when input rows were rejected, unless `--allow-partial`."""
    if report.has_errors and not allow_partial:
        n = sum(1 for i in report.all_issues if i.severity == "error")
        echo(f"有 {n} 条输入错误；结果仅含成功载入的行。修正后重跑，或加 --allow-partial。 / "
             f"{n} input errors: the results cover the loaded rows only. Fix them, or pass --allow-partial.")
        raise typer.Exit(1)


def screen(
    applications: Path = typer.Argument(..., help="Applications file (.xlsx/.csv), a round workbook, or a folder. "
                                                   "members/platforms are found beside it unless given."),
    members: Optional[Path] = typer.Option(None, help="Member units file (成员单位)."),
    platforms: Optional[Path] = typer.Option(None, help="Innovation platforms file (创新平台)."),
    policy: Optional[Path] = PolicyOpt,
    as_of: Optional[str] = AsOfOpt,
    out: Path = OutOpt,
    allow_partial: bool = PartialOpt,
) -> None:
    """形式审查 Eligibility screening (SPEC §3): pass / fail / needs-review for every check, with evidence."""
    started = time.time()
    pol = policy_as_of(load_policy(policy), as_of)
    echo(reference_date_line(pol, as_of))
    data, report = load_tables(applications, pol, {"members": members, "platforms": platforms}, ("applications",),
                               only=("applications", "members", "platforms"))
    result = run_screening(data, pol)
    counts = result.counts()
    for line in result.report_lines():
        echo(line)
    paths = result.write(out)
    if report.all_issues:
        paths += write_table(report.issues_frame(), out, "import_issues", "导入问题")
    write_run_record(run_record("screening", report.inputs(), pol, {"as_of": pol.as_of_date().isoformat()}, started,
                                extra={"counts": counts}), out)
    echo_wrote(paths)
    finish(report, allow_partial)


def conflicts(
    source: Path = typer.Argument(..., help="A round workbook, or a folder / file beside which experts.xlsx, "
                                            "expert_history.xlsx, declared_conflicts.xlsx, applications.xlsx, members.xlsx are."),
    experts: Optional[Path] = typer.Option(None, help="Expert pool file (专家库)."),
    history: Optional[Path] = typer.Option(None, help="Expert history file (专家履历)."),
    declared: Optional[Path] = typer.Option(None, help="Declared conflicts and waivers (回避申报)."),
    policy: Optional[Path] = PolicyOpt,
    as_of: Optional[str] = AsOfOpt,
    out: Path = OutOpt,
    allow_partial: bool = PartialOpt,
) -> None:
    """回避 Conflicts of interest (SPEC §4): every excluded expert-application pair with rule and evidence."""
    started = time.time()
    pol = policy_as_of(load_policy(policy), as_of)
    echo(reference_date_line(pol, as_of))
    data, report = load_tables(source, pol, {"experts": experts, "expert_history": history,
                                             "declared_conflicts": declared}, ("applications", "experts"))
    cs = detect_conflicts(data, pol)
    table = cs.table()
    hard = table[table["excludes"]]
    echo(f"回避 Conflicts: {len(table)} hits; {hard[['expert_id', 'application_id']].drop_duplicates().shape[0]} "
         f"expert-application pairs excluded; soft {int((table['severity'] == 'soft').sum())}; "
         f"waived {int(table['waived'].sum())}")
    for rule, n in table.groupby("rule").size().items():
        echo(f"  {rule} {table.loc[table['rule'] == rule, 'rule_zh'].iloc[0]}: {n}")
    per_app = cs.per_application()
    thin = per_app.sort_values("eligible_experts").head(3)
    echo("  fewest eligible experts: " + ", ".join(f"{r.application_id} {r.eligible_experts}" for r in thin.itertuples()))
    paths = write_table(table, out, "conflicts", "回避明细")
    paths += write_table(per_app, out, "conflicts_per_application", "各申报可用专家")
    if report.all_issues:
        paths += write_table(report.issues_frame(), out, "import_issues", "导入问题")
    write_run_record(run_record("conflicts", report.inputs(), pol, {"as_of": pol.as_of_date().isoformat()}, started,
                                extra={"hits": len(table), "excluded_pairs": int(cs.excluded_matrix().sum())}), out)
    echo_wrote(paths)
    finish(report, allow_partial)


def parse_seats(items: list[str], what: str) -> list[tuple[str, str, str]]:
    """`--lock` / `--forbid` values STAGE,EXPERT_ID,APPLICATION_ID (a Chinese comma works too)."""
    out = []
    for item in items:
        parts = [x.strip() for x in item.replace("，", ",").split(",")]
        if len(parts) != 3 or not all(parts):
            raise UserError(f"--{what} {item!r}: expected STAGE,EXPERT_ID,APPLICATION_ID (e.g. 初审评估,E0012,GX2026-003)")
        out.append((parts[0], parts[1], parts[2]))
    return out


def parse_declines(items: list[str]) -> list[tuple[str, str, str | None]]:
    """`--decline` values STAGE,EXPERT_ID[,APPLICATION_ID] (no application = the whole stage)."""
    removed = []
    for item in items:
        parts = [x.strip() for x in item.replace("，", ",").split(",")]
        if len(parts) not in (2, 3) or not all(parts):
            raise UserError(f"--decline {item!r}: expected STAGE,EXPERT_ID[,APPLICATION_ID]")
        removed.append((parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    return removed


def checked_locks(data, pol: Policy, stages, ctx: LockContext) -> None:
    """Refuse at once, naming ids, the locks no plan could hold (`check_locks`); say which locks
    are for a stage this run does not plan."""
    errors, notes = check_locks(data, pol, stages, ctx)
    for n in notes:
        echo(f"  注意 note: {n}")
    if errors:
        raise UserError("锁定无法满足，未规划 / locks no plan can hold, nothing planned:\n  - " + "\n  - ".join(errors))


def assign(
    source: Path = typer.Argument(..., help="A round workbook, or a folder / applications file with the other tables beside it."),
    stage: list[str] = typer.Option([], "--stage", "-s", help="Stage(s) to plan (初审评估/现场考察/认定评审); default all three."),
    seed: int = typer.Option(0, help="Seed (logged; the same seed reproduces the plan)."),
    randomize: bool = typer.Option(False, "--randomize", help="随机抽取: random draw with a cap on each pair's probability."),
    time_limit: float = typer.Option(30.0, "--time-limit", help="Solver time limit in seconds."),
    include_review: bool = typer.Option(False, "--include-review", help="Also plan applications whose screening needs review."),
    lock: list[str] = typer.Option([], "--lock", help="Force a seat: STAGE,EXPERT_ID,APPLICATION_ID (repeatable)."),
    forbid: list[str] = typer.Option([], "--forbid", help="Forbid a seat: STAGE,EXPERT_ID,APPLICATION_ID (repeatable)."),
    policy: Optional[Path] = PolicyOpt,
    as_of: Optional[str] = AsOfOpt,
    out: Path = OutOpt,
    allow_partial: bool = PartialOpt,
) -> None:
    """专家组 Plan expert panels (SPEC §5): conflicts, five categories, loads, chairs; explains infeasibility."""
    started = time.time()
    pol = policy_as_of(load_policy(policy), as_of)
    echo(reference_date_line(pol, as_of))
    data, report = load_tables(source, pol, {}, ("applications", "experts"))
    params = PlanParams.for_policy(pol, stage or None, seed=seed, randomize=randomize, time_limit=time_limit,
                                   workers=2, include_review=include_review, locks=parse_seats(lock, "lock"),
                                   forbids=parse_seats(forbid, "forbid"))
    checked_locks(data, pol, params.stages, LockContext(locks=list(params.locks), forbids=list(params.forbids)))
    result = service.plan(data, pol, params, echo=echo, progress=service.echo_progress(echo))
    for line in service.outcome_lines(result):
        echo(line)
    paths = result.write(out)
    write_run_record(run_record("assignment", report.inputs(), pol,
                                {"stages": stage or pol.stages.order, "seed": seed, "randomize": randomize,
                                 "time_limit": time_limit, "include_review": include_review,
                                 "locks": lock, "forbids": forbid, "as_of": pol.as_of_date().isoformat()}, started,
                                status=result.plan.status, extra=result.record()), out)
    echo_wrote(paths)
    if not result.plan.feasible:
        raise typer.Exit(1)
    finish(report, allow_partial)


def repair(
    source: Path = typer.Argument(..., help="The round's input files (as for assign)."),
    panels: Path = typer.Option(..., "--panels", help="The published panels table (panels.csv/.xlsx from assign)."),
    decline: list[str] = typer.Option(..., "--decline",
                                      help="STAGE,EXPERT_ID[,APPLICATION_ID]: an expert who declined or was found "
                                           "conflicted (no application = the whole stage). Repeatable."),
    time_limit: float = typer.Option(30.0, "--time-limit"),
    policy: Optional[Path] = PolicyOpt,
    out: Path = OutOpt,
) -> None:
    """替换 Replace experts who declined, changing as few other seats as possible; lists alternates (候补)."""
    started = time.time()
    pol = load_policy(policy)
    data, report = load_tables(source, pol, {}, ("applications", "experts"))
    if not panels.exists():
        raise UserError(f"{panels}: file not found")
    published = seat_frame(read_table(panels), str(panels))
    _, res = service.repair(data, pol, published, parse_declines(decline), time_limit=time_limit)
    echo(f"替换 Repair: {res.changed_seats} seat(s) changed ({res.plan.path})")
    for r in res.changes.itertuples():
        echo(f"  {r.change_zh} {r.change}: {r.stage} {r.application_id} {r.expert_id} {r.expert_name} ({r.category})")
    paths = write_table(res.panels, out, "panels_repaired", "专家组(替换后)")
    paths += write_table(res.changes, out, "repair_changes", "替换明细")
    paths += write_table(res.alternates, out, "alternates", "候补专家")
    write_run_record(run_record("repair", report.inputs(), pol, {"panels": str(panels), "decline": decline},
                                started, status=res.plan.status, extra={"changed_seats": res.changed_seats}), out)
    echo_wrote(paths)
