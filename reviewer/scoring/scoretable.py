"""Long score tables: header mapping (Chinese or English), row validation with one message per bad
cell (the checks are in reviewer.scoring.scorecheck), the stage and field of a table, and
aggregation of a validated table of one stage into one row per application with rank, interval,
family subtotals and the quorum status (reviewer.scoring.quorum).

Used by the CLI (`reviewer aggregate`, `reviewer rank`), the store's aggregation runs, the app and
the demo, so that every path reads and aggregates scores the same way.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.intake.io import discover_sources, read_raw, shown_value
from reviewer.intake.schema import TABLES
from reviewer.policy import Policy
from reviewer.scoring.aggregation import METHODS, add_rank, make_aggregator
from reviewer.scoring.quorum import QUORUM_COLUMNS, STATUS_OK, quorum_table
from reviewer.scoring.ranking import parse_bool
from reviewer.scoring.reliability import flag_outliers
from reviewer.scoring.scorecheck import (cell_text, check_cells, check_duplicates, check_structure, check_total_rows,
                                         is_blank, number)
from reviewer.scoring.scores import APP, PANEL, normalize_scores
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
    "status": ["status", "评分状态"],
    "n_scores": ["n_scores", "有效评分数"],
    "n_required": ["n_required", "法定评分数", "至少评分数"],
    "missing_experts": ["missing_experts", "缺评专家"],
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


def validate_scores(raw: pd.DataFrame, path: Path, policy: Policy, *, source_rows: bool = False
                    ) -> tuple[pd.DataFrame, list[str]]:
    """Row-level checks of a long score table (reviewer.scoring.scorecheck).  Returns (good rows
    with canonical columns, errors: one line per bad cell naming file, row, column, value and
    what was expected).  Total rows (评分项 合计) are checked and dropped; criterion names become
    ids.  A missing column, or a mistake that would reject most rows, is one UserError.
    `source_rows`: the good rows also carry `source_row`, their row in the file (header = row 1),
    so later checks can name it."""
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
            d[c] = [cell_text(v) for v in d[c]]
    if "criterion" in d.columns:
        d["criterion"] = crits
    ok = ~bad
    found += check_duplicates(d, ok, inv)
    more, is_total = check_total_rows(d, ok, inv, raw_scores)
    found += more
    errors = [f"{path}: {w}" for w in warns]
    errors += [f"{path}: row {i + 2}, {m}" for i, m in sorted(found, key=lambda t: t[0])]
    if source_rows:
        d["source_row"] = np.arange(len(d)) + 2
    return d[ok & ~is_total].reset_index(drop=True), errors


def stages_of(df: pd.DataFrame, policy: Policy) -> list[str]:
    """The distinct stages / panels of a score table (policy stage order first)."""
    if PANEL not in df.columns:
        return []
    vals = [str(v) for v in pd.unique(df[PANEL].dropna())]
    order = {s: i for i, s in enumerate(policy.stages.order)}
    return sorted(vals, key=lambda v: (order.get(v, len(order)), v))


def check_one_stage(df: pd.DataFrame, policy: Policy, source: str = "scores") -> None:
    """One ranking is one stage: refuse a table that holds several stages of the policy, or that
    scores an application under two stages / panels (issue 11 item 9). Panels of one stage that
    score different applications (评审组 P1, P2) are one ranking and pass."""
    vals = stages_of(df, policy)
    stages = [v for v in vals if v in policy.stages.order]
    per_app = df.dropna(subset=[PANEL]).groupby(APP)[PANEL].nunique() if vals else pd.Series(dtype=int)
    twice = per_app[per_app > 1]
    if len(stages) <= 1 and twice.empty:
        return
    ex = ""
    if not twice.empty:
        a = twice.index[0]
        ex = f"; e.g. {a} is scored in {stages_of(df[df[APP] == a], policy)}"
    raise UserError(f"{source}: 评分表包含多个阶段 {'、'.join(vals)}，一个排名只能来自一个阶段，请用 --panel 指定 / "
                    f"the table holds several stages ({', '.join(vals)}){ex}: one ranking would mix them; "
                    f"aggregate one stage at a time with --panel STAGE, e.g. --panel {vals[-1]}")


def select_stage(df: pd.DataFrame, panel: str | None, source: Any, policy: Policy) -> pd.DataFrame:
    """The rows of stage `panel` (a clear error when the table has none); without `panel` the
    table must hold one stage (:func:`check_one_stage`)."""
    if panel is None:
        check_one_stage(df, policy, str(source))
        return df
    if PANEL not in df.columns:
        raise UserError(f"--panel {panel}: {source} has no 阶段/panel column")
    have = stages_of(df, policy)
    if panel not in have:
        raise UserError(f"--panel {panel!r}: not in {source}; expected one of {have}")
    return df[df[PANEL] == panel].reset_index(drop=True)


def _configured(method: str, policy: Policy, trim: int | None, decimals: int | None, seed: int,
                slots: int | None, borrow: pd.DataFrame | None = None):
    """The aggregator of `method` with the command's options checked and applied."""
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
    if borrow is not None and method != "calibrated_pooled":
        raise UserError(f"borrowed scores (--borrow) are used by calibrated_pooled only, not {method}")
    if method == "calibrated_pooled":
        over["borrow"] = borrow
    if method == "bayes":
        over["seed"] = seed
        if slots is not None:
            over["n_slots"] = slots
    return make_aggregator(method, policy, **over)


def family_subtotals(df: pd.DataFrame, policy: Policy, decimals: int | None = None) -> pd.DataFrame:
    """application_id and the rubric family subtotals (the decision's B minimum and tie-breaks)
    as the policy's trimmed mean of each expert's family sums: what the rater-effect models
    (calibrated, bayes), which model totals only, report beside their score."""
    tr = make_aggregator("trimmed", policy, **({} if decimals is None else {"decimals": decimals}))
    res = tr.fit(df)
    return res[[APP, *[f.id for f in policy.rubric.families if f.id in res.columns]]]


def _estimate(df: pd.DataFrame, agg, policy: Policy, method: str, *, decimals: int | None, seed: int,
              resamples: int | None, interval: bool, fields: pd.Series | None) -> pd.DataFrame:
    """Score, rank and interval of the applications of `df` (all above their quorum)."""
    if method in ("calibrated", "calibrated_pooled", "bayes"):
        res = agg.fit(df).copy()
        if method == "bayes":
            res["rank"] = res["expected_rank"].rank(method="min").astype("Int64")
            res["interval"] = f"posterior {agg.credible:.0%} credible interval"
        elif method == "calibrated_pooled":
            res = add_rank(res)
            res["interval"] = f"{agg.level:.0%} interval (mixed-model prediction error, given the variance components)"
        else:
            res = add_rank(res)
            res["interval"] = f"{agg.level:.0%} confidence interval (WLS standard error)"
        fams = family_subtotals(df, policy, decimals)
        if len(fams.columns) > 1:
            res = res.drop(columns=[c for c in fams.columns[1:] if c in res.columns]).merge(fams, on=APP, how="left")
            res["families_by"] = "trimmed"
        return res
    if interval:
        n = policy.aggregation.bootstrap_resamples if resamples is None else resamples
        return bootstrap(df, agg, n_resamples=n, seed=seed, fields=fields).table
    res = add_rank(agg.fit(df))
    res["ci_low"] = res["ci_high"] = np.nan
    res["interval"] = "none"
    return res


def aggregate_scores(df: pd.DataFrame, policy: Policy, method: str, *, trim: int | None = None,
                     decimals: int | None = None, seed: int | None = None, resamples: int | None = None,
                     slots: int | None = None, interval: bool = True,
                     panels: Mapping[str, Iterable[str]] | None = None,
                     quorum: bool = True, borrow: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The `aggregate` command without the file handling: one row per application with score, rank,
    n_scores, an interval (bootstrap for the robust estimators, +-z*SE for calibrated, posterior
    credible interval for bayes), the family subtotals (every method) and field (when `df` has a
    field column). One stage at a time (:func:`check_one_stage`). Applications below the quorum
    (reviewer.scoring.quorum; `panels`: application_id -> its panel's expert ids, when known) are
    listed with status insufficient_scores, no score and no rank, and left out of the estimate
    (`quorum=False`: every application is estimated, as before the quorum existed; for redoing
    old recorded runs). `borrow`: calibrated_pooled only, the experts' scores elsewhere on the same
    instrument (reviewer.scoring.pooled; panel = source). Returns (table, notes)."""
    check_one_stage(df, policy)
    seed = policy.aggregation.seed if seed is None else seed
    agg = _configured(method, policy, trim, decimals, seed, slots, borrow)
    fields = None
    if "field" in df.columns:
        fields = df.dropna(subset=["field"]).drop_duplicates(APP).set_index(APP)["field"]
    scores = df.drop(columns=["field"], errors="ignore")
    totals, problems = normalize_scores(scores, criteria=agg.criteria, families=agg.families)
    notes = [f"{p.kind}: {p.message}" for p in problems.itertuples()]
    q = quorum_table(totals, policy, method, trim=trim, panels=panels)
    if not quorum:
        q = q.assign(status=STATUS_OK)
    ranked = scores[scores[APP].isin(q.loc[q["status"] == STATUS_OK, APP])]
    res = pd.DataFrame(columns=[APP, "score", "rank"])
    if not ranked.empty:
        res = _estimate(ranked.reset_index(drop=True), agg, policy, method, decimals=decimals, seed=seed,
                        resamples=resamples, interval=interval, fields=fields)
        notes += list(getattr(agg, "warnings_", []))
    return _finish(res, q, scores, policy, method, fields), notes


def _finish(res: pd.DataFrame, q: pd.DataFrame, scores: pd.DataFrame, policy: Policy, method: str,
            fields: pd.Series | None) -> pd.DataFrame:
    """The result with its quorum columns, the applications below the quorum appended, field,
    rank within panel and outlier counts; ranked rows first."""
    extra = [PANEL] if PANEL in q.columns and PANEL not in res.columns else []
    res = res.drop(columns=[c for c in QUORUM_COLUMNS if c in res.columns]).merge(
        q[[APP, *extra, *QUORUM_COLUMNS]], on=APP, how="left")
    low = q[q["status"] != STATUS_OK].assign(method=method, score=np.nan, rule="not ranked: below the quorum")
    if not low.empty:
        res = pd.concat([res.astype({"rank": "Int64"}), low], ignore_index=True)
    res["rank"] = res["rank"].astype("Int64")
    if "n_scores" in res.columns:
        res["n_scores"] = res["n_scores"].astype("Int64")
    if fields is not None:
        res["field"] = res[APP].map(fields)
    if PANEL in res.columns:
        res["rank_in_panel"] = res.groupby(PANEL)["score"].rank(ascending=False, method="min").astype("Int64")
    fl = flag_outliers(scores, policy)
    keys = [k for k in (PANEL, APP) if k in res.columns and k in fl.columns]
    cnt = fl.groupby(keys, observed=True)["flagged"].sum().rename("n_outliers").reset_index()
    res = res.drop(columns=["n_outliers"], errors="ignore").merge(cnt, on=keys, how="left")
    res["n_outliers"] = res["n_outliers"].fillna(0).astype(int)
    first = [c for c in (PANEL, APP, "field", "score", "rank", "status", "n_scores", "n_required", "n_panel",
                         "missing_experts", "n_absent", "n_used", "ci_low", "ci_high", "interval", "method", "rule")
             if c in res.columns]
    res = res[[*first, *[c for c in res.columns if c not in first]]]
    return res.sort_values(["rank", APP], na_position="last", kind="mergesort").reset_index(drop=True)


def read_fields(path: Path) -> pd.Series:
    """application_id -> field from a table with 申报编号/application_id and 领域/field: the
    applications file (its 申报书 sheet in a round workbook), or any such CSV / sheet."""
    raw, _ = read_raw(path, TABLES["applications"])
    mapping, _ = map_headers(list(raw.columns), {"application_id": SCORE_COLUMNS["application_id"],
                                                 "field": SCORE_COLUMNS["field"]})
    if set(mapping.values()) != {"application_id", "field"}:
        raise UserError(f"{path}: expected columns 申报编号/application_id and 领域/field; "
                        f"found {[str(c) for c in raw.columns]}")
    f = raw[list(mapping)].rename(columns=mapping)
    f["application_id"] = [cell_text(v) for v in f["application_id"]]
    f = f.dropna(subset=["application_id"]).drop_duplicates("application_id")
    return f.set_index("application_id")["field"]


def attach_fields(df: pd.DataFrame, score_path: Path, fields_path: Path | None = None
                  ) -> tuple[pd.DataFrame, Path | None, str]:
    """The score rows with a field column, the file it was read from (None: none read) and a note
    saying where it came from: the `fields_path` table (--fields), else the score table's own 领域
    column, else the applications table next to the score file (applications.xlsx / 申报书.csv ...,
    as in the demo round's folder); unchanged when there is none."""
    if fields_path is not None:
        src = fields_path
    elif "field" in df.columns and df["field"].notna().any():
        return df, None, f"领域 field from the 领域 column of {score_path}"
    else:
        src = discover_sources(score_path.parent).get("applications", (None, None))[0]
        if src is None:
            return df, None, (f"{score_path}: 没有领域信息 / no field: pass --fields applications.xlsx, or "
                              f"`reviewer rank` cannot apply one centre per field")
    f = read_fields(src)
    out = df.drop(columns=["field"], errors="ignore").assign(field=df[APP].map(f))
    unknown = sorted(set(out.loc[out["field"].isna(), APP]))
    note = f"领域 field from {src}" + (f"; not in it: {', '.join(unknown[:10])}" if unknown else "")
    return out, src, note


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
        fams = [c for c in missing if c in {f.id for f in policy.rubric.families}]
        hint = (f"（决策规则需要评分细则的分项 {'、'.join(fams)}；以其他评分工具评分的阶段（如现场考察核查表）请用 --stage "
                f"指明阶段，按该阶段自己的总分排名）" if fams else "")
        raise UserError(f"{path}: 缺少列 {'、'.join(missing)}{hint} / missing column(s) {missing}; expected "
                        f"申报编号/application_id, 总分/score, 领域/field and the family subtotals "
                        f"{[f.id for f in policy.rubric.families]} (or their names "
                        f"{[f.name for f in policy.rubric.families]}); found {[str(c) for c in raw.columns]}")
    errors = [f"{path}: {w}" for w in warns]
    keep = np.ones(len(d), dtype=bool)
    numeric = ["score", *[f.id for f in policy.rubric.families if f.id in d.columns]]
    if "requested_subsidy" in d.columns:
        numeric.append("requested_subsidy")
    d = d.copy()
    ids = d["application_id"].map(cell_text)
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
                bad.append(f"column {inv[c]!r} ({c}): value {shown_value(v)!r}; expected a number")
        for c, default in (("eligible", True), ("national", False)):
            if c in d.columns:
                try:
                    parse_bool(d[c].iat[i], column=c, row=row, default=default)
                except UserError:
                    bad.append(f"column {inv[c]!r} ({c}): value {shown_value(d[c].iat[i])!r}; expected yes/no (是/否, true/false, 1/0)")
        if bad:
            keep[i] = False
            errors += [f"{path}: row {row}, {b}" for b in bad]
    d["application_id"] = ids
    for c in numeric:
        d[c] = [np.nan if is_blank(v) or number(v) is None else number(v) for v in d[c]]
    return d[keep].reset_index(drop=True), errors


