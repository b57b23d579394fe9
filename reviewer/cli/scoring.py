"""`reviewer aggregate` and `reviewer rank`: rerun scoring and rankings from any long score table.

Usage (the main app in reviewer/cli/main.py calls :func:`register`; the commands are the module's
:func:`aggregate` and :func:`rank`)::

    reviewer aggregate SCORES.csv|.xlsx [--method trimmed|median|mean|winsorized|huber|calibrated|bayes]
                       [--trim K] [--round N] [--out FILE.csv|.xlsx] [--policy FILE] [--seed S]
                       [--resamples R] [--slots N] [--panel STAGE] [--fields APPLICATIONS.xlsx]
                       [--no-interval] [--allow-partial] [--borrow PAST_SCORES.csv ...]
    reviewer rank AGG.csv|.xlsx [--out FILE] [--policy FILE] [--budget YUAN] [--partial-last]

Headers may be Chinese or English (专家编号/expert_id, 申报编号/application_id, 得分/score,
评分项/criterion, 信心/confidence, 阶段/panel; optional 领域/field).
A bad row gives one line naming file, row, column, value and what was expected (a total outside
0..the rubric maximum, a criterion score above its maximum, a criterion not in the rubric, the
same score twice, a 合计 row that is not the sum of its criteria); the good rows are kept and
aggregated.  The exit code is 1 when rows were rejected (the output is still written) unless
--allow-partial; 2 for a mistake that stops the run (missing column, bad option, a table of
several stages without --panel); never a traceback.  Each output gets a run record
FILE.run.json (inputs' hashes, policy hash, parameters, seed).

`aggregate` ranks one stage: a table of several stages needs --panel STAGE.  Applications below
the quorum (policy [aggregation] min_scores, quorum_share; reviewer.scoring.quorum) are listed
as 评分不足 and not ranked.  Its output carries 领域/field (from --fields, the table's 领域 column,
or the applications table next to the score file) and the family subtotals for every method,
which is what `rank` reads: ``reviewer aggregate s.csv --panel 认定评审 --out agg.csv`` then
``reviewer rank agg.csv``.

``--method calibrated_pooled`` (跨阶段校准, reviewer.scoring.pooled) fits each expert's leniency on all
their scores on the stage's instrument: the table's other stages with the same instrument (初审评估
for 认定评审; never the 现场考察 checklist) and every ``--borrow`` table (past rounds: 批次/round,
阶段/panel optional; a stage of another instrument is left out). The run record names the
borrowed files with their hashes.
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
from reviewer.scoring.pooled import instrument_key, same_instrument_stages, source_label
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.quorum import insufficient_lines
from reviewer.scoring.scoretable import (aggregate_scores, attach_fields, read_table, select_stage, validate_ranking,
                                         validate_scores)


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
                                        help="Use only the rows of this panel/stage (e.g. 认定评审); required "
                                             "when the table holds several stages."),
    fields: Optional[Path] = typer.Option(None, "--fields",
                                          help="Table with 申报编号/application_id and 领域/field (e.g. the "
                                               "applications file): adds field and P(first in field). Default: "
                                               "the table's 领域 column, else applications.xlsx beside it."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
    borrow: Optional[list[Path]] = typer.Option(None, "--borrow", help="calibrated_pooled: more scores of the same "
                                                "experts on the same instrument (past rounds; 批次/round and "
                                                "阶段/panel optional). Repeatable."),
) -> None:
    """汇总评分 Aggregate one stage of a long score table: one row per application with score, rank,
    n_scores, interval, family subtotals and field; below the quorum: 评分不足, not ranked."""
    started = time.time()
    try:
        pol = load_policy(policy)
        m = method or pol.aggregation.method
        raw = read_table(scores, sheet)
        df, errors = validate_scores(raw, scores, pol)
        extra, borrow_notes = (_borrowed(df, panel, scores, list(borrow or []), pol) if m == "calibrated_pooled"
                               else (None, []))
        if borrow and m != "calibrated_pooled":
            raise UserError(f"--borrow is used by --method calibrated_pooled only, not {m}")
        df = select_stage(df, panel, scores, pol)
        df, field_src, field_note = attach_fields(df, scores, fields)
        if df.empty:
            raise UserError(f"{scores}: no valid score rows ({len(errors)} rejected)")
        stage_pol = pol.for_stage(panel) if panel in pol.stages.order else pol   # the stage's instrument
        res, notes = aggregate_scores(df, stage_pol, m, trim=trim, decimals=round_, seed=seed, resamples=resamples,
                                      slots=slots, interval=not no_interval, borrow=extra)
        notes = borrow_notes + notes
    except UserError as e:
        fail(e)
        return
    for line in errors:
        typer.echo(line, err=True)
    for line in notes:
        typer.echo(f"{scores}: {line}", err=True)
    typer.echo(field_note, err=True)
    for line in insufficient_lines(res):
        typer.echo(f"评分不足 insufficient scores: {line}", err=True)
    typer.echo(f"载入 loaded {len(df)} score rows from {scores} ({len(errors)} rejected); method {m}; "
               f"{len(res)} applications, {int(res['rank'].notna().sum())} ranked", err=True)
    if out is None:
        typer.echo(csv_text(res))
    else:
        try:
            _write(res, out)
            _record("aggregate", out, [scores, *([field_src] if field_src else []), *(borrow or [])], pol,
                    {"method": m, "trim": trim, "round": round_, "seed": seed, "resamples": resamples,
                     "slots": slots, "interval": not no_interval, "panel": panel,
                     "borrow": [str(p) for p in borrow or []]}, started,
                    "partial" if errors else "ok")
        except UserError as e:
            fail(e)
        typer.echo(f"写出 wrote {out}", err=True)
    if errors and not allow_partial:
        typer.echo(f"有 {len(errors)} 条输入错误，结果仅含有效行 / {len(errors)} input errors: results cover "
                   f"the valid rows only (pass --allow-partial to exit 0)", err=True)
        raise typer.Exit(1)


ROUND_HEADERS = ("批次", "round", "round_code", "年度", "year")


def _borrowed(df: pd.DataFrame, panel: str | None, scores: Path, files: list[Path], pol: Policy
              ) -> tuple[pd.DataFrame, list[str]]:
    """calibrated_pooled's borrowed scores: the table's other stages on `panel`'s instrument, and the
    `--borrow` files' rows (their 批次/round and 阶段/panel name the source) on that instrument."""
    if panel is None or panel not in pol.stages.order:
        stages = [v for v in pd.unique(df["panel"].dropna())] if "panel" in df.columns else []
        panel = panel or (stages[0] if len(stages) == 1 else None)
    key = instrument_key(pol.instrument(panel) if panel in pol.stages.order else pol.rubric)
    same = same_instrument_stages(pol, panel) if panel in pol.stages.order else []
    frames, notes = [], []
    if "panel" in df.columns and same:
        own = df[df["panel"].isin(same)]
        if not own.empty:
            frames.append(own.assign(panel=own["panel"].map(lambda s_: source_label(scores.stem, s_))))
    for path in files:
        raw = read_table(path)
        rows, errors = validate_scores(raw, path, pol, source_rows=True)
        if errors:
            raise UserError(f"--borrow {path}: {len(errors)} bad row(s); first: {errors[0]}")
        rcol = next((c for c in raw.columns if str(c).strip().lower() in ROUND_HEADERS), None)
        rnd = raw[rcol].astype(str).to_numpy()[rows["source_row"].to_numpy() - 2] if rcol is not None else None
        st = rows["panel"] if "panel" in rows.columns else pd.Series([None] * len(rows))
        ok = [(s_ not in pol.stages.order and key == instrument_key(pol.rubric)) or
              (s_ in pol.stages.order and instrument_key(pol.instrument(s_)) == key) for s_ in st]
        if not all(ok):
            notes.append(f"--borrow {path}: {len(ok) - sum(ok)} rows of another instrument left out")
        lab = [source_label(f"{path.stem}" + (f"·{r}" if rnd is not None else ""), s_)
               for r, s_ in zip(rnd if rnd is not None else [None] * len(rows), st)]
        got = rows.assign(panel=lab)[ok].drop(columns=["source_row", "field"], errors="ignore")
        frames.append(got)
    out = pd.concat(frames, ignore_index=True) if frames else None
    n_src = 0 if out is None else out["panel"].nunique()
    notes.append(f"calibrated_pooled: borrowing {0 if out is None else len(out)} score rows from {n_src} other "
                 f"source(s) on the same instrument")
    return out, notes


def _table_stage(raw: pd.DataFrame, pol: Policy) -> str | None:
    """The one stage of the policy an aggregated table names in its 阶段/panel column, if any."""
    for col in ("panel", "阶段", "stage"):
        if col in raw.columns:
            vals = {str(v).strip() for v in raw[col].dropna()} & set(pol.stages.order)
            return vals.pop() if len(vals) == 1 else None
    return None


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
    stage: Optional[str] = typer.Option(None, "--stage", "-s", help="The stage the table aggregates (default: its "
                                        "阶段/panel column when it names one stage); a stage scored with another "
                                        "instrument (现场考察: the checklist) is ranked by its own total and families."),
) -> None:
    """认定排名 Recognition list: decision rules and funding of the policy, with the reason for every row."""
    started = time.time()
    try:
        pol = load_policy(policy)
        raw = read_table(aggregated, sheet)
        stage = stage or _table_stage(raw, pol)
        if stage:
            pol.stage(stage)                  # an unknown stage is a UserError naming the policy's stages
            pol = pol.for_stage(stage)        # its instrument's families and total, not the rubric's
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
