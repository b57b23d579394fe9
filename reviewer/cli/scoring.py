"""`reviewer aggregate` and `reviewer rank`: rerun scoring and rankings from any long score table.

Usage (the main app in reviewer/cli/main.py calls :func:`register`; the commands are the module's
:func:`aggregate` and :func:`rank`)::

    reviewer aggregate SCORES.csv|.xlsx [--method trimmed|median|mean|winsorized|huber|calibrated|bayes]
                       [--trim K] [--round N] [--out FILE.csv|.xlsx] [--policy FILE] [--seed S]
                       [--resamples R] [--slots N] [--panel STAGE] [--fields APPLICATIONS.xlsx]
                       [--no-interval] [--allow-partial]
    reviewer rank AGG.csv|.xlsx [--out FILE] [--policy FILE] [--budget YUAN] [--partial-last]

Headers may be Chinese or English (专家编号/expert_id, 申报编号/application_id, 得分/score,
评分项/criterion, 信心/confidence, 阶段/panel; optional 领域/field for P(first in field)).
A bad row gives one line naming file, row, column, value and what was expected; the good rows
are kept and aggregated.  The exit code is 1 when rows were rejected (the output is still
written) unless --allow-partial; 2 for a mistake that stops the run (missing column, bad
option); never a traceback.  Each output gets a run record FILE.run.json (inputs' hashes,
policy hash, parameters, seed).
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.cli.common import PolicyOpt, fail
from reviewer.errors import UserError
from reviewer.exports import csv_text, run_record, write_csv, write_run_record, write_xlsx
from reviewer.policy import Policy, load_policy
from reviewer.scoring.aggregation import METHODS
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.scoretable import (SCORE_COLUMNS, aggregate_scores, is_blank, map_headers, read_table,
                                         validate_ranking, validate_scores)


def register(app: typer.Typer) -> None:
    """Add the `aggregate` and `rank` commands to the main `reviewer` app."""
    app.command("aggregate")(aggregate)
    app.command("rank")(rank)


def _write(df: pd.DataFrame, out: Path) -> None:
    suf = out.suffix.lower()
    if suf not in (".csv", ".xlsx"):
        raise UserError(f"--out {out}: unsupported file type {suf!r}; expected .csv or .xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suf == ".csv":
            write_csv(df, out)
        else:
            write_xlsx({out.stem[:31] or "result": df}, out)
    except PermissionError:
        raise UserError(f"{out}: cannot write (is it open in Excel?)") from None


def _record(kind: str, out: Path, inputs: list[Path], policy: Policy, params: dict, started: float,
            status: str) -> None:
    ins = [{"file": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in inputs]
    rec = run_record(kind, ins, policy, params, started, status=status)
    write_run_record(rec, out.parent, name=out.name + ".run.json")


def _attach_fields(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    raw = read_table(path)
    mapping, _ = map_headers(list(raw.columns), {"application_id": SCORE_COLUMNS["application_id"],
                                                 "field": SCORE_COLUMNS["field"]})
    if set(mapping.values()) != {"application_id", "field"}:
        raise UserError(f"--fields {path}: expected columns 申报编号/application_id and 领域/field; "
                        f"found {[str(c) for c in raw.columns]}")
    f = raw[list(mapping)].rename(columns=mapping)
    f["application_id"] = [None if is_blank(v) else str(v).strip() for v in f["application_id"]]
    f = f.dropna(subset=["application_id"]).drop_duplicates("application_id")
    out = df.drop(columns=["field"], errors="ignore").merge(f, on="application_id", how="left")
    return out


def aggregate(
    scores: Path = typer.Argument(..., help="Long score table (.csv/.xlsx): 专家编号/expert_id, 申报编号/application_id, "
                                             "得分/score; optional 评分项/criterion, 信心/confidence, 阶段/panel, 领域/field."),
    method: Optional[str] = typer.Option(None, "--method", "-m",
                                         help=f"One of {', '.join(METHODS)} (default: policy [aggregation] method)."),
    trim: Optional[int] = typer.Option(None, "--trim", help="Drop K highest and K lowest (trimmed/winsorized)."),
    round_: Optional[int] = typer.Option(None, "--round", help="Decimals of the published score (rule from the policy)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (.csv or .xlsx); default: print."),
    policy: Optional[Path] = PolicyOpt,
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the bootstrap / sampler (default: policy)."),
    resamples: Optional[int] = typer.Option(None, "--resamples", help="Bootstrap resamples (default: policy)."),
    slots: Optional[int] = typer.Option(None, "--slots", help="bayes: number of fundable slots (the funding line)."),
    no_interval: bool = typer.Option(False, "--no-interval", help="Skip the bootstrap."),
    panel: Optional[str] = typer.Option(None, "--panel", "--stage",
                                        help="Use only the rows of this panel/stage (e.g. 认定评审)."),
    fields: Optional[Path] = typer.Option(None, "--fields",
                                          help="Table with 申报编号/application_id and 领域/field (e.g. the "
                                               "applications file): adds field and P(first in field)."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
) -> None:
    """汇总评分 Aggregate a long score table: one row per application with score, rank, n_scores, interval."""
    started = time.time()
    try:
        pol = load_policy(policy)
        m = method or pol.aggregation.method
        raw = read_table(scores, sheet)
        df, errors = validate_scores(raw, scores, pol)
        if panel is not None:
            if "panel" not in df.columns:
                raise UserError(f"--panel {panel}: {scores} has no 阶段/panel column")
            have = sorted(df["panel"].dropna().unique())
            if panel not in have:
                raise UserError(f"--panel {panel!r}: not in {scores}; expected one of {have}")
            df = df[df["panel"] == panel].reset_index(drop=True)
        if fields is not None:
            df = _attach_fields(df, fields)
        if df.empty:
            raise UserError(f"{scores}: no valid score rows ({len(errors)} rejected)")
        res, notes = aggregate_scores(df, pol, m, trim=trim, decimals=round_, seed=seed, resamples=resamples,
                                      slots=slots, interval=not no_interval)
    except UserError as e:
        fail(e)
        return
    for line in errors:
        typer.echo(line, err=True)
    for line in notes:
        typer.echo(f"{scores}: {line}", err=True)
    typer.echo(f"载入 loaded {len(df)} score rows from {scores} ({len(errors)} rejected); method {m}; "
               f"{len(res)} applications", err=True)
    if out is None:
        typer.echo(csv_text(res))
    else:
        try:
            _write(res, out)
            _record("aggregate", out, [scores, *([fields] if fields else [])], pol,
                    {"method": m, "trim": trim, "round": round_, "seed": seed, "resamples": resamples,
                     "slots": slots, "interval": not no_interval, "panel": panel}, started,
                    "partial" if errors else "ok")
        except UserError as e:
            fail(e)
        typer.echo(f"写出 wrote {out}", err=True)
    if errors and not allow_partial:
        typer.echo(f"有 {len(errors)} 条输入错误，结果仅含有效行 / {len(errors)} input errors: results cover "
                   f"the valid rows only (pass --allow-partial to exit 0)", err=True)
        raise typer.Exit(1)


def rank(
    aggregated: Path = typer.Argument(..., help="Aggregated table (.csv/.xlsx): 申报编号/application_id, 总分/score, "
                                                 "领域/field, family subtotals A..F (or their names); optional "
                                                 "形式审查/eligible, 国家级/national, 申请补助/requested_subsidy."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (.csv or .xlsx); default: print."),
    policy: Optional[Path] = PolicyOpt,
    budget: Optional[float] = typer.Option(None, "--budget", help="Total subsidy budget in yuan (default: policy; 0 = none)."),
    partial_last: bool = typer.Option(False, "--partial-last", help="Give the first cut application the budget remainder."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
) -> None:
    """认定排名 Recognition list: decision rules and funding of the policy, with the reason for every row."""
    started = time.time()
    try:
        pol = load_policy(policy)
        raw = read_table(aggregated, sheet)
        df, errors = validate_ranking(raw, aggregated, pol)
        res = recognition_ranking(df, pol, total_budget=budget, partial_last=partial_last)
    except UserError as e:
        fail(e)
        return
    for line in errors:
        typer.echo(line, err=True)
    counts = res["decision_zh"].value_counts()
    typer.echo("；".join(f"{k} {v}" for k, v in counts.items()) + f"; subsidy total {res['subsidy'].sum():,.0f} CNY",
               err=True)
    if out is None:
        cols = ["application_id", "field", "score", "rank_overall", "rank_in_field", "decision_zh", "reason_zh",
                "reason_en", "subsidy"]
        typer.echo(csv_text(res[cols]))
    else:
        try:
            _write(res, out)
            _record("rank", out, [aggregated], pol, {"budget": budget, "partial_last": partial_last}, started,
                    "partial" if errors else "ok")
        except UserError as e:
            fail(e)
        typer.echo(f"写出 wrote {out}", err=True)
    if errors and not allow_partial:
        typer.echo(f"有 {len(errors)} 条输入错误 / {len(errors)} input errors (pass --allow-partial to exit 0)", err=True)
        raise typer.Exit(1)
