"""`reviewer evaluate` and `reviewer lifecycle`: the annual evaluation and the centres' lives, from files.

Usage (the main app in reviewer/cli/main.py calls :func:`register`; the commands are the module's
:func:`evaluate_cmd` and :func:`lifecycle_cmd`)::

    reviewer evaluate INDICATORS.xlsx|.csv [--centres FILE] [--expert-scores FILE] [--year Y]
                      [--method trimmed|median|...] [--as-of YYYY-MM-DD] [--no-charts]
                      [--policy FILE] [--out DIR] [--allow-partial]
    reviewer lifecycle [CENTRES.xlsx|.csv] [--indicators FILE] [--history FILE]
                       [--event CENTRE,DATE,STATE,REASON[,AMOUNT]]... [--as-of YYYY-MM-DD]
                       [--no-auto-recognise] [--policy FILE] [--out DIR] [--allow-partial]

`evaluate` scores every centre-year (policy [evaluation]: parts, curves, bands), replays the
centres' lives to decide the actions (继续支持 continue / 限期整改 rectify / 撤销 revoke), prints the
annual list and writes OUT/evaluation_scores.{csv,xlsx}, OUT/evaluation_parts.{csv,xlsx},
OUT/annual_list.{csv,xlsx}, OUT/evaluation_report.xlsx (list, scores, parts, trends, states,
transitions, ledger), OUT/trends/<centre>.html and a run record.  Without --centres it looks for
past_centres.xlsx / 试点中心.xlsx beside the indicators file.

`lifecycle` replays each centre (申报 -> 试点 -> 认定 / 撤销 / 国家级) from its build start, its
evaluations (indicators file, default beside the centres file), and explicit events (a history
file: 中心编号, 日期, 状态, 原因, optional 补助金额; or --event), and keeps the subsidy ledger.  With no
CENTRES it runs on the bundled demo round (past_centres.xlsx and indicators.xlsx of reviewer.resources.DEMO_DIR).

Bad rows print one line each (file, sheet, row, column, value, expected) and are left out; the
exit code is 1 when rows were rejected (unless --allow-partial), 2 for a mistake that stops the
run; never a traceback.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.centres.evaluation import Loaded, Scheme, evaluate, load_centres, load_expert_scores, load_indicators
from reviewer.centres.lifecycle import load_history, parse_event, replay
from reviewer.centres.report import annual_list, summary_lines, write_report
from reviewer.cli.common import PolicyOpt, current_user, fail, open_store
from reviewer.errors import UserError
from reviewer.exports import date_text, run_record, write_run_record, write_table
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.store.evaluations import record_evaluations as record_evaluations_in_store

CENTRE_FILES = ("past_centres", "试点中心", "centres")
INDICATOR_FILES = ("indicators", "年度指标")


def register(app: typer.Typer) -> None:
    """Add the `evaluate` and `lifecycle` commands to the main `reviewer` app."""
    app.command("evaluate")(evaluate_cmd)
    app.command("lifecycle")(lifecycle_cmd)


def _beside(path: Path, stems: tuple[str, ...]) -> Path | None:
    folder = path if path.is_dir() else path.parent
    for stem in stems:
        for ext in (".xlsx", ".csv"):
            p = folder / f"{stem}{ext}"
            if p.exists():
                return p
    return None


def _as_of(text: Optional[str], default: dt.date) -> dt.date:
    if text is None:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


def _show(loaded: list[Loaded]) -> int:
    n_err = 0
    for t in loaded:
        typer.echo(f"  {t.summary()}")
        for i in t.issues:
            typer.echo(f"    {i}", err=i.severity == "error")
            n_err += i.severity == "error"
    return n_err


def _finish(n_err: int, allow_partial: bool) -> None:
    if n_err and not allow_partial:
        typer.echo(f"有 {n_err} 条输入错误；结果仅含成功载入的行。修正后重跑，或加 --allow-partial。 / "
                   f"{n_err} input errors: the results cover the loaded rows only. Fix them, or pass --allow-partial.",
                   err=True)
        raise typer.Exit(1)


def _print_lives(rp) -> None:
    """Each centre's state and transitions, the refused events, and the subsidy ledger."""
    typer.echo(f"状态 States as of {rp.as_of.isoformat()}:")
    for c in rp.lives.values():
        last = c.history[-1] if c.history else None
        typer.echo(f"  {c.centre_id} {c.name} [{c.field}]: {c.state.label}"
                   + (f" since {last.date.isoformat()} ({last.cause})" if last else ""))
        for t in c.history:
            typer.echo(f"      {t.date.isoformat()} {t.from_state} -> {t.to_state}: {t.reason}")
        for note in c.notes:
            typer.echo(f"      note: {note}")
    for line in rp.refused:
        typer.echo(f"  拒绝 refused: {line}", err=True)
    ledger = rp.ledger
    typer.echo(f"补助台账 Subsidy ledger: {sum(e.status == 'granted' for e in ledger.entries)} granted, "
               f"{sum(e.status == 'refused' for e in ledger.entries)} refused, total {ledger.total() / 10_000:g}万元")
    for e in ledger.entries:
        typer.echo(f"  {e.date.isoformat()} {e.centre_id} {e.field} {e.kind}: {e.status} "
                   f"{e.amount / 10_000:g}万元 — {e.reason}")
    for r in ledger.totals_by_year().itertuples(index=False):
        typer.echo(f"  {r.year}: {r.total / 10_000:g}万元 ({r.centres} centres)")


def record_evaluations(ev, rp, centres_df: pd.DataFrame, db: Optional[str], user: Optional[str]) -> tuple[int, int]:
    """Write each centre-year evaluation (total, band, state, part scores) to the store in one transaction;
    an evaluation already stored for that centre and year is kept (the store refuses to overwrite it)."""
    who = current_user(user)
    names = dict(zip(centres_df["centre_id"], centres_df.get("name", pd.Series([""] * len(centres_df)))))
    states = rp.states() if hasattr(rp, "states") else None
    state_of = {}
    if isinstance(states, pd.DataFrame) and {"centre_id", "state"} <= set(states.columns):
        state_of = dict(zip(states["centre_id"], states["state"]))
    with open_store(db).write() as s:
        return record_evaluations_in_store(s, ev.records, user=who, names=names, states=state_of,
                                  note="reviewer evaluate --record")


def evaluate_cmd(
    indicators: Path = typer.Argument(..., help="Annual indicators (年度指标) .xlsx/.csv: 中心编号, 年度, indicators, "
                                                "建设任务完成率 and the targets 目标_..."),
    centres: Optional[Path] = typer.Option(None, "--centres", help="Pilot centres (试点中心): 中心编号, 中心名称, 领域, "
                                                                   "建设期起始日期 ...; default: past_centres.xlsx beside INDICATORS."),
    expert_scores: Optional[Path] = typer.Option(None, "--expert-scores",
                                                 help="Expert-judged parts (考核专家评分): 中心编号, 年度, 考核项, 专家编号, 得分."),
    year: Optional[int] = typer.Option(None, "--year", help="Year of the annual list (default: the latest)."),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="Aggregation of expert scores (default: policy)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date of the life-cycle replay (default: policy as_of / today)."),
    no_charts: bool = typer.Option(False, "--no-charts", help="Skip the trend charts."),
    policy: Optional[Path] = PolicyOpt,
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for the outputs."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
    record: bool = typer.Option(False, "--record", help="Store each centre-year evaluation in the round store "
                                                        "(audited; years already stored are left as they are)."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL or SQLite file (default: the local store)."),
    user: Optional[str] = typer.Option(None, "--user", help="Who records the evaluations (default: login name)."),
) -> None:
    """考核评估 Annual evaluation: scores, bands 优秀/良好/合格/不合格, actions continue/rectify/revoke, report."""
    started = time.time()
    try:
        pol = load_policy(policy)
        scheme = Scheme.from_policy(pol)
        centres = centres or _beside(indicators, CENTRE_FILES)
        loaded: list[Loaded] = []
        cen = load_centres(centres, pol) if centres else None
        if cen is not None:
            loaded.append(cen)
        ind = load_indicators(indicators, pol, scheme, cen.frame if cen is not None else None)
        loaded.append(ind)
        exp = load_expert_scores(expert_scores, pol, scheme) if expert_scores else None
        if exp is not None:
            loaded.append(exp)
        typer.echo("载入 Loaded:")
        n_err = _show(loaded)
        if cen is None:
            typer.echo("  (no centres file: the build schedule counts from each centre's first year; "
                       "the build-period rule and names need --centres)")
        if ind.frame.empty:
            raise UserError(f"{indicators}: no valid indicator rows ({ind.n_rejected} rejected)")
        ev = evaluate(ind.frame, pol, cen.frame if cen is not None else None,
                      exp.frame if exp is not None else None, scheme, method)
        centres_df = cen.frame if cen is not None else pd.DataFrame(
            {"centre_id": sorted(ind.frame["centre_id"].unique()), "name": "", "field": "", "build_start": None})
        rp = replay(centres_df, ev, pol, _as_of(as_of, pol.as_of_date()), scheme=scheme)
        years = sorted({r.year for r in ev.records})
        if year is not None and year not in years:
            raise UserError(f"--year {year}: no evaluation of that year in {indicators} (years: {years})")
        shown = year or years[-1]
        lst = annual_list(ev, rp, shown, centres_df)
        typer.echo(f"{shown} 年度考核名单 annual list ({len(lst)} centres; scheme {scheme.max_total:g} points, "
                   f"bands {', '.join(f'{b} >= {lo:g}' for b, lo in scheme.bands)}):")
        for line in summary_lines(lst):
            typer.echo(line)
        paths = write_table(ev.scores.assign(evaluation_date=date_text(ev.scores["evaluation_date"])),
                            out, "evaluation_scores", "考核得分")
        paths += write_table(ev.parts, out, "evaluation_parts", "评分明细")
        paths += write_table(annual_list(ev, rp, None, centres_df), out, "annual_list", "年度名单")
        paths += write_report(out, ev, rp, centres_df if cen is not None else None, ind.frame, shown,
                              charts=not no_charts)
        issues = [i.as_dict() for t in loaded for i in t.issues]
        if issues:
            paths += write_table(pd.DataFrame(issues), out, "import_issues", "导入问题")
        write_run_record(run_record("evaluation", [t.input_record() for t in loaded], pol,
                                    {"year": shown, "method": method, "as_of": rp.as_of.isoformat(),
                                     "scheme": scheme.as_dict()}, started,
                                    "partial" if n_err else "ok",
                                    extra={"evaluations": len(ev.records),
                                           "bands": ev.scores["band"].value_counts().to_dict()}), out)
        typer.echo(f"写出 Wrote: {', '.join(str(p) for p in paths[:6])}{' ...' if len(paths) > 6 else ''} "
                   f"({len(paths)} files in {out})")
        if record:
            stored, kept = record_evaluations(ev, rp, centres_df, db, user)
            typer.echo(f"入库 Stored {stored} evaluation(s) in the round store; {kept} already there, left as they are")
    except UserError as e:
        fail(e)
        return
    _finish(n_err, allow_partial)


def lifecycle_cmd(
    centres: Optional[Path] = typer.Argument(None, help="Pilot centres (试点中心) .xlsx/.csv; default: the bundled demo."),
    indicators: Optional[Path] = typer.Option(None, "--indicators",
                                              help="Annual indicators; default: indicators.xlsx beside CENTRES."),
    history: Optional[Path] = typer.Option(None, "--history", help="Explicit events (状态变更): 中心编号, 日期, 状态, 原因, "
                                                                   "optional 补助金额."),
    event: list[str] = typer.Option([], "--event", help="An explicit event CENTRE_ID,YYYY-MM-DD,STATE,REASON[,AMOUNT] "
                                                        "(repeatable), e.g. GXMIC-2022-01,2026-09-30,国家级,工信部批复."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Replay up to this date (default: policy as_of / today)."),
    no_auto_recognise: bool = typer.Option(False, "--no-auto-recognise",
                                           help="Do not take a passing evaluation with the build targets met as the "
                                                "final assessment; recognition then needs an explicit 认定 event."),
    policy: Optional[Path] = PolicyOpt,
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for the outputs."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
) -> None:
    """试点生命周期 Replay the centres' lives (申报 -> 试点 -> 认定 / 撤销 / 国家级) with reasons, and the subsidy ledger."""
    started = time.time()
    try:
        pol = load_policy(policy)
        scheme = Scheme.from_policy(pol)
        if centres is None:
            centres = DEMO_DIR / "past_centres.xlsx"
            typer.echo(f"演示 Demo: {centres}")
        indicators = indicators or _beside(centres, INDICATOR_FILES)
        events = [parse_event(e) for e in event]
        loaded: list[Loaded] = []
        cen = load_centres(centres, pol)
        loaded.append(cen)
        ind = load_indicators(indicators, pol, scheme, cen.frame) if indicators else None
        if ind is not None:
            loaded.append(ind)
        if history is not None:
            hist, hist_events = load_history(history)
            loaded.append(hist)
            events = hist_events + events
        typer.echo("载入 Loaded:")
        n_err = _show(loaded)
        if cen.frame.empty:
            raise UserError(f"{centres}: no valid centre rows ({cen.n_rejected} rejected)")
        ev = evaluate(ind.frame, pol, cen.frame, scheme=scheme) if ind is not None and not ind.frame.empty else None
        if ev is None:
            typer.echo("  (no indicators: only explicit events and the build-period rule apply)")
        rp = replay(cen.frame, ev, pol, _as_of(as_of, pol.as_of_date()), events,
                    auto_recognise=not no_auto_recognise, scheme=scheme)
        _print_lives(rp)
        ledger = rp.ledger
        counts = rp.states()["state"].value_counts().to_dict()
        paths = write_table(rp.states(), out, "centre_states", "状态")
        paths += write_table(rp.transitions(), out, "centre_transitions", "状态变迁")
        paths += write_table(ledger.frame(), out, "subsidy_ledger", "补助台账")
        paths += write_table(ledger.totals_by_year(), out, "subsidy_by_year", "补助按年")
        paths += write_table(ledger.totals_by_field(), out, "subsidy_by_field", "补助按领域")
        issues = [i.as_dict() for t in loaded for i in t.issues]
        if issues:
            paths += write_table(pd.DataFrame(issues), out, "import_issues", "导入问题")
        write_run_record(run_record("lifecycle", [t.input_record() for t in loaded], pol,
                                    {"as_of": rp.as_of.isoformat(), "auto_recognise": not no_auto_recognise,
                                     "events": [e.as_dict() for e in events]}, started,
                                    "partial" if n_err or rp.refused else "ok",
                                    extra={"states": counts, "refused": rp.refused,
                                           "ledger_total": ledger.total()}), out)
        typer.echo(f"写出 Wrote: {', '.join(str(p) for p in paths[:4])} ... ({len(paths)} files in {out})")
    except UserError as e:
        fail(e)
        return
    if rp.refused and not allow_partial:
        typer.echo(f"{len(rp.refused)} 条状态变更被拒绝 / {len(rp.refused)} events refused (not applied); "
                   "fix the history, or pass --allow-partial.", err=True)
        raise typer.Exit(1)
    _finish(n_err, allow_partial)
