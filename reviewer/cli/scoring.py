"""`reviewer aggregate` and `reviewer rank`: rerun scoring and rankings from any long score table.

Usage (the main app in reviewer/cli/main.py calls :func:`register`)::

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
import re
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import typer

from reviewer.scoring.aggregation import METHODS, add_rank, make_aggregator
from reviewer.errors import UserError
from reviewer.policy import Policy, load_policy

SCORE_COLUMNS: dict[str, list[str]] = {
    "expert_id": ["expert_id", "expert", "专家编号", "专家", "专家id", "专家代码", "评审专家", "评审专家编号"],
    "application_id": ["application_id", "application", "app_id", "申报编号", "申报id", "项目编号", "申报单位编号", "申报"],
    "score": ["score", "得分", "分数", "评分", "分值"],
    "criterion": ["criterion", "criterion_id", "评分项", "评分指标", "指标", "评分项目"],
    "confidence": ["confidence", "信心", "置信度", "把握程度", "熟悉程度"],
    "panel": ["panel", "stage", "panel_id", "阶段", "评审阶段", "评审组", "专家组"],
    "field": ["field", "领域", "重点领域", "所属领域"],
}
RANK_COLUMNS: dict[str, list[str]] = {
    "application_id": SCORE_COLUMNS["application_id"],
    "score": ["score", "得分", "总分", "汇总得分", "综合得分"],
    "field": SCORE_COLUMNS["field"],
    "eligible": ["eligible", "形式审查", "资格", "是否通过形式审查", "形式审查结果"],
    "ineligible_reason": ["ineligible_reason", "不通过原因", "形式审查意见"],
    "national": ["national", "国家级", "国家级中心"],
    "requested_subsidy": ["requested_subsidy", "申请补助", "申请补助金额", "申请金额"],
    "name": ["name", "名称", "申报名称", "中心名称"],
}


def _norm(h: Any) -> str:
    return re.sub(r"[\s_\-（）()]+", "", str(h)).lower()


def map_headers(columns: list[Any], aliases: dict[str, list[str]], extra: dict[str, str] | None = None
                ) -> tuple[dict[Any, str], list[str]]:
    """Map raw headers to canonical names.  A header matches if it, or one of its space/slash
    separated parts (e.g. '得分 score'), is an alias.  Returns (mapping, duplicate warnings)."""
    table = {_norm(a): canon for canon, al in aliases.items() for a in al}
    for k, v in (extra or {}).items():
        table.setdefault(_norm(k), v)
    mapping: dict[Any, str] = {}
    warnings = []
    for h in columns:
        cands = [str(h)] + re.split(r"[\s/|、]+", str(h).strip())
        canon = next((table[_norm(c)] for c in cands if _norm(c) in table), None)
        if canon is None:
            continue
        if canon in mapping.values():
            warnings.append(f"column {h!r} also means {canon}; the first such column is used")
            continue
        mapping[h] = canon
    return mapping, warnings


def read_table(path: Path, sheet: Optional[str] = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or GBK) or an Excel sheet with every cell as text/raw value."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    suf = path.suffix.lower()
    try:
        if suf in (".csv", ".txt"):
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
                except UnicodeDecodeError:
                    continue
            raise UserError(f"{path}: cannot decode; expected UTF-8 or GBK text")
        if suf in (".xlsx", ".xlsm"):
            return pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
    except UserError:
        raise
    except ValueError as e:
        raise UserError(f"{path}: cannot read ({e})") from None
    except Exception as e:  # malformed file: one line, no traceback
        raise UserError(f"{path}: cannot read as {suf} ({type(e).__name__}: {e})") from None
    raise UserError(f"{path}: unsupported file type {suf!r}; expected .csv or .xlsx")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _num(v: Any) -> float | None:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "").replace("，", "")
    try:
        return float(s)
    except ValueError:
        return None


def validate_scores(raw: pd.DataFrame, path: Path, policy: Policy) -> tuple[pd.DataFrame, list[str]]:
    """Row-level checks of a long score table.  Returns (good rows with canonical columns, errors)."""
    mapping, warns = map_headers(list(raw.columns), SCORE_COLUMNS)
    missing = [c for c in ("expert_id", "application_id", "score") if c not in mapping.values()]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected headers 专家编号/expert_id, "
                        f"申报编号/application_id, 得分/score (optional 评分项/criterion, 信心/confidence, "
                        f"阶段/panel); found {[str(c) for c in raw.columns]}")
    inv = {v: k for k, v in mapping.items()}
    d = raw[list(mapping)].rename(columns=mapping)
    maxpts = {c.id: c.max for c in policy.rubric.criteria}
    errors = [f"{path}: {w}" for w in warns]
    keep = np.ones(len(d), dtype=bool)
    cols = {c: d[c].tolist() for c in d.columns}
    scores = np.full(len(d), np.nan)
    conf = np.full(len(d), np.nan)
    for i in range(len(d)):
        row = i + 2  # header is row 1
        bad = []
        for c in ("expert_id", "application_id"):
            if _blank(cols[c][i]):
                bad.append(f"column {inv[c]!r} ({c}): empty; expected an id")
        v = cols["score"][i]
        if not _blank(v):
            x = _num(v)
            crit = None if "criterion" not in cols or _blank(cols["criterion"][i]) else str(cols["criterion"][i]).strip()
            if x is None or not np.isfinite(x):
                bad.append(f"column {inv['score']!r} (score): value {v!r}; expected a number (blank = not scored)")
            elif x < 0:
                bad.append(f"column {inv['score']!r} (score): value {v!r}; expected a number >= 0")
            elif crit in maxpts and x > maxpts[crit]:
                bad.append(f"column {inv['score']!r} (score): value {v!r}; expected 0..{maxpts[crit]:g} for criterion {crit}")
            else:
                scores[i] = x
        if "confidence" in cols and not _blank(cols["confidence"][i]):
            x = _num(cols["confidence"][i])
            if x is None or not (x > 0) or not np.isfinite(x):
                bad.append(f"column {inv['confidence']!r} (confidence): value {cols['confidence'][i]!r}; "
                           f"expected a positive number")
            else:
                conf[i] = x
        if bad:
            keep[i] = False
            errors += [f"{path}: row {row}, {b}" for b in bad]
    d = d.copy()
    d["score"] = scores
    if "confidence" in d.columns:
        d["confidence"] = conf
    for c in ("expert_id", "application_id", "criterion", "panel", "field"):
        if c in d.columns:
            d[c] = [None if _blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
                    for v in d[c]]
    return d[keep].reset_index(drop=True), errors


def _write(df: pd.DataFrame, out: Path) -> None:
    suf = out.suffix.lower()
    if suf not in (".csv", ".xlsx"):
        raise UserError(f"--out {out}: unsupported file type {suf!r}; expected .csv or .xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suf == ".csv":
            df.to_csv(out, index=False, encoding="utf-8-sig")
        else:
            from reviewer.exports import write_xlsx
            write_xlsx({out.stem[:31] or "result": df}, out)
    except PermissionError:
        raise UserError(f"{out}: cannot write (is it open in Excel?)") from None


def _record(kind: str, out: Path, inputs: list[Path], policy: Policy, params: dict, started: float,
            status: str) -> None:
    from reviewer.exports import run_record, write_run_record
    ins = [{"file": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in inputs]
    rec = run_record(kind, ins, policy, params, started, status=status)
    write_run_record(rec, out.parent, name=out.name + ".run.json")


def _fail(e: UserError) -> None:
    typer.echo(f"错误 error: {e}", err=True)
    raise typer.Exit(2)


def aggregate_scores(df: pd.DataFrame, policy: Policy, method: str, *, trim: int | None = None,
                     decimals: int | None = None, seed: int | None = None, resamples: int | None = None,
                     slots: int | None = None, interval: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """The `aggregate` command without the file handling: one row per application with score, rank,
    n_scores and an interval (bootstrap for the robust estimators, +-z*SE for calibrated, posterior
    credible interval for bayes).  Returns (table, notes)."""
    if method not in METHODS:
        raise UserError(f"--method {method!r}: expected one of {list(METHODS)}")
    over: dict[str, Any] = {}
    if trim is not None:
        if method not in ("trimmed", "winsorized"):
            raise UserError(f"--trim applies to trimmed or winsorized, not {method}")
        if trim < 0:
            raise UserError(f"--trim {trim}: expected an integer >= 0")
        over["k"] = trim
    if decimals is not None:
        if decimals < 0:
            raise UserError(f"--round {decimals}: expected an integer >= 0")
        over["decimals"] = decimals
    seed = policy.aggregation.seed if seed is None else seed
    if method == "bayes":
        over["seed"] = seed
        if slots is not None:
            over["n_slots"] = slots
    agg = make_aggregator(method, policy, **over)
    fields = None
    if "field" in df.columns:
        f = df.dropna(subset=["field"]).drop_duplicates("application_id").set_index("application_id")["field"]
        fields = f
    res = agg.fit(df.drop(columns=["field"], errors="ignore"))
    notes = [f"{p.kind}: {p.message}" for p in agg.problems_.itertuples()]
    notes += list(getattr(agg, "warnings_", []))
    if method in ("calibrated", "bayes"):
        res = res.copy()
        if method == "bayes":
            res["rank"] = res["expected_rank"].rank(method="min").astype("Int64")
            res["interval"] = f"posterior {agg.credible:.0%} credible interval"
        else:
            res = add_rank(res)
            res["interval"] = f"{agg.level:.0%} confidence interval (WLS standard error)"
        if fields is not None:
            res["field"] = res["application_id"].map(fields)
    elif interval:
        from reviewer.scoring.uncertainty import bootstrap
        n = policy.aggregation.bootstrap_resamples if resamples is None else resamples
        res = bootstrap(df.drop(columns=["field"], errors="ignore"), agg, n_resamples=n, seed=seed,
                        fields=fields).table
    else:
        res = add_rank(res)
        res["ci_low"] = res["ci_high"] = np.nan
        res["interval"] = "none"
    if "panel" in res.columns:
        res["rank_in_panel"] = res.groupby("panel")["score"].rank(ascending=False, method="min").astype("Int64")
    # outlier flags per application
    from reviewer.scoring.reliability import flag_outliers
    fl = flag_outliers(df.drop(columns=["field"], errors="ignore"), policy)
    keys = [k for k in ("panel", "application_id") if k in res.columns and k in fl.columns]
    cnt = fl.groupby(keys, observed=True)["flagged"].sum().rename("n_outliers").reset_index()
    res = res.merge(cnt, on=keys, how="left")
    res["n_outliers"] = res["n_outliers"].fillna(0).astype(int)
    first = [c for c in ("panel", "application_id", "field", "score", "rank", "n_scores", "n_absent", "n_used",
                         "ci_low", "ci_high", "interval", "method", "rule") if c in res.columns]
    res = res[[*first, *[c for c in res.columns if c not in first]]]
    res = res.sort_values(["rank", "application_id"], na_position="last", kind="mergesort").reset_index(drop=True)
    return res, notes


def validate_ranking(raw: pd.DataFrame, path: Path, policy: Policy) -> tuple[pd.DataFrame, list[str]]:
    fam = {f.id: f.id for f in policy.rubric.families}
    fam.update({f.name: f.id for f in policy.rubric.families})
    extra = {k: v for k, v in fam.items()}
    mapping, warns = map_headers(list(raw.columns), RANK_COLUMNS, extra)
    d = raw[list(mapping)].rename(columns=mapping)
    inv = {v: k for k, v in mapping.items()}
    need = ["application_id", "score", "field",
            *dict.fromkeys([*policy.decision.recommend_min_family, *policy.decision.tie_break_families])]
    missing = [c for c in need if c not in d.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected 申报编号/application_id, 总分/score, 领域/field "
                        f"and the family subtotals {[f.id for f in policy.rubric.families]} (or their names "
                        f"{[f.name for f in policy.rubric.families]}); found {[str(c) for c in raw.columns]}")
    from reviewer.scoring.ranking import parse_bool
    errors = [f"{path}: {w}" for w in warns]
    keep = np.ones(len(d), dtype=bool)
    numeric = ["score", *[f.id for f in policy.rubric.families if f.id in d.columns]]
    if "requested_subsidy" in d.columns:
        numeric.append("requested_subsidy")
    d = d.copy()
    ids = d["application_id"].map(lambda v: None if _blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()))
    dup = ids.duplicated(keep=False) & ids.notna()
    for i in range(len(d)):
        row = i + 2
        bad = []
        if ids.iat[i] is None:
            bad.append(f"column {inv['application_id']!r} (application_id): empty; expected an id")
        elif dup.iat[i]:
            bad.append(f"column {inv['application_id']!r} (application_id): {ids.iat[i]!r} appears more than once; "
                       f"expected one row per application (all copies set aside)")
        for c in numeric:
            v = d[c].iat[i]
            if not _blank(v) and (_num(v) is None or not np.isfinite(_num(v))):
                bad.append(f"column {inv[c]!r} ({c}): value {v!r}; expected a number")
        for c, default in (("eligible", True), ("national", False)):
            if c in d.columns:
                try:
                    parse_bool(d[c].iat[i], column=c, row=row, default=default)
                except UserError:
                    bad.append(f"column {inv[c]!r} ({c}): value {d[c].iat[i]!r}; expected yes/no (是/否, true/false, 1/0)")
        if bad:
            keep[i] = False
            errors += [f"{path}: row {row}, {b}" for b in bad]
    d["application_id"] = ids
    for c in numeric:
        d[c] = [np.nan if _blank(v) or _num(v) is None else _num(v) for v in d[c]]
    return d[keep].reset_index(drop=True), errors


def _attach_fields(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    raw = read_table(path)
    mapping, _ = map_headers(list(raw.columns), {"application_id": SCORE_COLUMNS["application_id"],
                                                 "field": SCORE_COLUMNS["field"]})
    if set(mapping.values()) != {"application_id", "field"}:
        raise UserError(f"--fields {path}: expected columns 申报编号/application_id and 领域/field; "
                        f"found {[str(c) for c in raw.columns]}")
    f = raw[list(mapping)].rename(columns=mapping)
    f["application_id"] = [None if _blank(v) else str(v).strip() for v in f["application_id"]]
    f = f.dropna(subset=["application_id"]).drop_duplicates("application_id")
    out = df.drop(columns=["field"], errors="ignore").merge(f, on="application_id", how="left")
    return out


def register(app: typer.Typer) -> None:
    """Add the `aggregate` and `rank` commands to the main `reviewer` app."""

    @app.command("aggregate")
    def aggregate(
        scores: Path = typer.Argument(..., help="Long score table (.csv/.xlsx): 专家编号/expert_id, 申报编号/application_id, "
                                                 "得分/score; optional 评分项/criterion, 信心/confidence, 阶段/panel, 领域/field."),
        method: Optional[str] = typer.Option(None, "--method", "-m",
                                             help=f"One of {', '.join(METHODS)} (default: policy [aggregation] method)."),
        trim: Optional[int] = typer.Option(None, "--trim", help="Drop K highest and K lowest (trimmed/winsorized)."),
        round_: Optional[int] = typer.Option(None, "--round", help="Decimals of the published score (rule from the policy)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (.csv or .xlsx); default: print."),
        policy: Optional[Path] = typer.Option(None, "--policy", help="Policy file (TOML); default reviewer/data/policy.toml."),
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
            _fail(e)
            return
        for line in errors:
            typer.echo(line, err=True)
        for line in notes:
            typer.echo(f"{scores}: {line}", err=True)
        typer.echo(f"载入 loaded {len(df)} score rows from {scores} ({len(errors)} rejected); method {m}; "
                   f"{len(res)} applications", err=True)
        if out is None:
            typer.echo(res.to_csv(index=False))
        else:
            try:
                _write(res, out)
                _record("aggregate", out, [scores, *([fields] if fields else [])], pol,
                        {"method": m, "trim": trim, "round": round_, "seed": seed, "resamples": resamples,
                         "slots": slots, "interval": not no_interval, "panel": panel}, started,
                        "partial" if errors else "ok")
            except UserError as e:
                _fail(e)
            typer.echo(f"写出 wrote {out}", err=True)
        if errors and not allow_partial:
            typer.echo(f"有 {len(errors)} 条输入错误，结果仅含有效行 / {len(errors)} input errors: results cover "
                       f"the valid rows only (pass --allow-partial to exit 0)", err=True)
            raise typer.Exit(1)

    @app.command("rank")
    def rank(
        aggregated: Path = typer.Argument(..., help="Aggregated table (.csv/.xlsx): 申报编号/application_id, 总分/score, "
                                                     "领域/field, family subtotals A..F (or their names); optional "
                                                     "形式审查/eligible, 国家级/national, 申请补助/requested_subsidy."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (.csv or .xlsx); default: print."),
        policy: Optional[Path] = typer.Option(None, "--policy", help="Policy file (TOML); default reviewer/data/policy.toml."),
        budget: Optional[float] = typer.Option(None, "--budget", help="Total subsidy budget in yuan (default: policy; 0 = none)."),
        partial_last: bool = typer.Option(False, "--partial-last", help="Give the first cut application the budget remainder."),
        sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the first)."),
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 even when some rows were rejected."),
    ) -> None:
        """认定排名 Recognition list: decision rules and funding of the policy, with the reason for every row."""
        from reviewer.scoring.ranking import recognition_ranking
        started = time.time()
        try:
            pol = load_policy(policy)
            raw = read_table(aggregated, sheet)
            df, errors = validate_ranking(raw, aggregated, pol)
            res = recognition_ranking(df, pol, total_budget=budget, partial_last=partial_last)
        except UserError as e:
            _fail(e)
            return
        for line in errors:
            typer.echo(line, err=True)
        counts = res["decision_zh"].value_counts()
        typer.echo("；".join(f"{k} {v}" for k, v in counts.items()) + f"; subsidy total {res['subsidy'].sum():,.0f} CNY",
                   err=True)
        if out is None:
            cols = ["application_id", "field", "score", "rank_overall", "rank_in_field", "decision_zh", "reason_zh",
                    "reason_en", "subsidy"]
            typer.echo(res[cols].to_csv(index=False))
        else:
            try:
                _write(res, out)
                _record("rank", out, [aggregated], pol, {"budget": budget, "partial_last": partial_last}, started,
                        "partial" if errors else "ok")
            except UserError as e:
                _fail(e)
            typer.echo(f"写出 wrote {out}", err=True)
        if errors and not allow_partial:
            typer.echo(f"有 {len(errors)} 条输入错误 / {len(errors)} input errors (pass --allow-partial to exit 0)", err=True)
            raise typer.Exit(1)
