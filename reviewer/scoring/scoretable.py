"""Long score tables: header mapping (Chinese or English), row validation with one message per bad
cell, and aggregation of a validated table into one row per application with rank and interval.

Used by the CLI (`reviewer aggregate`, `reviewer rank`), the store's aggregation runs, the app and
the demo, so that every path reads and aggregates scores the same way.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.aggregation import METHODS, add_rank, make_aggregator
from reviewer.scoring.ranking import parse_bool
from reviewer.scoring.reliability import flag_outliers
from reviewer.scoring.scorecheck import (check_cells, check_duplicates, check_structure, check_total_rows, is_blank,
                                         number)
from reviewer.scoring.uncertainty import bootstrap

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


def validate_scores(raw: pd.DataFrame, path: Path, policy: Policy) -> tuple[pd.DataFrame, list[str]]:
    """Row-level checks of a long score table (reviewer.scoring.scorecheck).  Returns (good rows
    with canonical columns, errors: one line per bad cell naming file, row, column, value and
    what was expected).  Total rows (评分项 合计) are checked and dropped; criterion names become
    ids.  A missing column, or a mistake that would reject most rows, is one UserError."""
    mapping, warns = map_headers(list(raw.columns), SCORE_COLUMNS)
    missing = [c for c in ("expert_id", "application_id", "score") if c not in mapping.values()]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected headers 专家编号/expert_id, "
                        f"申报编号/application_id, 得分/score (optional 评分项/criterion, 信心/confidence, "
                        f"阶段/panel); found {[str(c) for c in raw.columns]}")
    inv = {v: k for k, v in mapping.items()}
    d = raw[list(mapping)].rename(columns=mapping).reset_index(drop=True)
    cols = {c: d[c].tolist() for c in d.columns}
    check_structure(cols, path, policy)
    found, scores, conf, crits, bad = check_cells(cols, inv, policy)
    raw_scores = cols["score"]
    d = d.copy()
    d["score"] = scores
    if "confidence" in d.columns:
        d["confidence"] = conf
    for c in ("expert_id", "application_id", "panel", "field"):
        if c in d.columns:
            d[c] = [None if is_blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
                    for v in d[c]]
    if "criterion" in d.columns:
        d["criterion"] = crits
    ok = ~bad
    found += check_duplicates(d, ok, inv)
    more, is_total = check_total_rows(d, ok, inv, raw_scores)
    found += more
    errors = [f"{path}: {w}" for w in warns]
    errors += [f"{path}: row {i + 2}, {m}" for i, m in sorted(found, key=lambda t: t[0])]
    return d[ok & ~is_total].reset_index(drop=True), errors


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
    errors = [f"{path}: {w}" for w in warns]
    keep = np.ones(len(d), dtype=bool)
    numeric = ["score", *[f.id for f in policy.rubric.families if f.id in d.columns]]
    if "requested_subsidy" in d.columns:
        numeric.append("requested_subsidy")
    d = d.copy()
    ids = d["application_id"].map(lambda v: None if is_blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()))
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
            if not is_blank(v) and (number(v) is None or not np.isfinite(number(v))):
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
        d[c] = [np.nan if is_blank(v) or number(v) is None else number(v) for v in d[c]]
    return d[keep].reset_index(drop=True), errors


