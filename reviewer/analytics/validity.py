"""Predictive validity (issue 18 part 3): did the recognition scores of past rounds predict the
centres' later annual evaluations (考核评估)?

Input: the past rounds' recognition-stage scores (long: round, application_id, expert_id,
criterion, score) and the later evaluations (centre_id = the application id it was recognised
under, year, total, band). The outcome of a centre is the mean of its evaluation totals over the
years evaluated (``outcome``), and the worst band it received.

Stated scheme (:data:`VALIDITY_SCHEME`):

* **By method**: each aggregation method (trimmed, median, mean, winsorized, huber, calibrated;
  bayes is left out as its Gibbs sampler is slow and ranks, not scores, are its output) gives each
  centre its recognition score; Spearman's rank correlation with the outcome, with a percentile
  bootstrap interval resampling *centres* (pairs) with replacement.
* **By rubric family**: the same for each family subtotal (the trimmed mean of the experts'
  family sums, as the ranking uses): which families carry the signal (interval above 0).
* **Per expert** (calibration-style diagnostic for the pool record): Spearman of the expert's own
  totals with the outcomes of the centres they scored, and the difference from the panel
  consensus (the trimmed score) on the *same* centres, with a paired bootstrap interval (the same
  resampled centres for both); the difference shrunk by a normal empirical-Bayes prior
  N(mean, tau^2) over the experts (tau^2 by the method of moments, sampling variance the
  bootstrap's). An expert whose interval lies below 0 "predicts worse than the panel consensus".
  Experts with fewer than ``min_centres`` centres are listed without an estimate. A diagnostic
  with its uncertainty, never an automatic rating.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from reviewer.analytics.tables import long_scores, seat_totals
from reviewer.errors import UserError
from reviewer.policy import Policy, load_policy
from reviewer.scoring.scoretable import aggregate_scores, map_headers, read_table

__all__ = ["VALIDITY_SCHEME", "VALIDITY_METHODS", "ValidityReport", "spearman_boot", "validity_report",
           "read_validity_tables", "centre_outcomes"]

VALIDITY_METHODS = ("trimmed", "median", "mean", "winsorized", "huber", "calibrated")
VALIDITY_SCHEME = ("outcome = mean of a centre's later annual evaluation totals; Spearman rank correlation of the "
                   "recognition score (each method, each rubric family) with the outcome, percentile bootstrap "
                   "resampling centres; per expert: Spearman of their totals with the outcomes, bootstrap interval, "
                   "difference from the panel consensus on the same centres (paired bootstrap), empirical-Bayes shrinkage")
EVAL_ALIASES = {"centre_id": ["centre_id", "中心编号", "application_id", "申报编号"], "year": ["year", "年度"],
                "total": ["total", "总分", "考核得分", "得分"], "band": ["band", "等次", "考核等次"]}


@dataclass
class ValidityReport:
    methods: pd.DataFrame
    families: pd.DataFrame
    experts: pd.DataFrame
    centres: pd.DataFrame          # one row per centre: outcome and the score of every method
    n_centres: int
    level: float = 0.95
    outcome_label: str = "历年考核总分均值 mean annual evaluation total"
    notes: list[str] = field(default_factory=list)

    def sheets(self) -> dict[str, pd.DataFrame]:
        method = pd.DataFrame({"项目": ["方法 method", "结果变量 outcome", "中心数 centres"],
                               "内容": [VALIDITY_SCHEME, self.outcome_label, self.n_centres]})
        return {"按汇总方法": self.methods, "按评分分项": self.families, "专家预测诊断": self.experts,
                "中心明细": self.centres, "方法说明": method}


def _rank_rows(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=-1)


def _rowwise_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc ** 2).sum(axis=-1) * (yc ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(axis=-1) / den, np.nan)


def spearman_boot(x: np.ndarray, y: np.ndarray, *, n_resamples: int = 2000, level: float = 0.95,
                  rng: np.random.Generator | None = None) -> tuple[float, float, float, int]:
    """(rho, low, high, n): Spearman's rho of the pairs with both values, and its percentile
    bootstrap interval resampling pairs (vectorised over resamples)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n < 3:
        return np.nan, np.nan, np.nan, n
    rho = float(_rowwise_corr(_rank_rows(x), _rank_rows(y)))
    rng = rng or np.random.default_rng(0)
    idx = rng.integers(0, n, size=(int(n_resamples), n))
    boots = _rowwise_corr(_rank_rows(x[idx]), _rank_rows(y[idx]))
    a = (1 - level) / 2
    lo, hi = np.nanquantile(boots, [a, 1 - a])
    return rho, float(lo), float(hi), n


def centre_outcomes(evaluations: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One row per centre: mean evaluation total (``outcome``), years evaluated, worst band."""
    order = {b: i for i, (b, _) in enumerate(sorted(policy.evaluation.bands.items(), key=lambda kv: kv[1]))}
    ev = evaluations.dropna(subset=["total"])
    g = ev.groupby("centre_id")
    out = pd.DataFrame({"outcome": g["total"].mean(), "years": g["year"].nunique()})
    if "band" in ev.columns:
        out["worst_band"] = g["band"].agg(lambda s: min(s.dropna(), key=lambda b: order.get(b, 99), default=None))
    return out.reset_index()


def _method_scores(scores: pd.DataFrame, policy: Policy, notes: list[str]) -> pd.DataFrame:
    """centre_id x (score_<method>, family subtotals of the trimmed mean)."""
    out = None
    for m in VALIDITY_METHODS:
        res, n = aggregate_scores(scores, policy, m, interval=False, quorum=True)
        if m == "calibrated":
            notes += [x for x in n if "component" in x][:1]
        fam = [f.id for f in policy.rubric.families if f.id in res.columns] if m == "trimmed" else []
        part = res[["application_id", "score", *fam]].rename(columns={"score": f"score_{m}"})
        out = part if out is None else out.merge(part, on="application_id", how="outer")
    return out.rename(columns={"application_id": "centre_id"})


def _expert_rows(scores: pd.DataFrame, consensus: pd.Series, outcome: pd.Series, *, n_resamples: int,
                 level: float, seed: int, min_centres: int) -> pd.DataFrame:
    """Per expert: rho of their totals with the outcome, the panel consensus's rho on the same
    centres, the difference with a paired bootstrap interval, and its empirical-Bayes shrunken value."""
    tot = seat_totals(scores)
    tot["outcome"] = tot["application_id"].map(outcome)
    tot["consensus"] = tot["application_id"].map(consensus)
    rows = []
    a = (1 - level) / 2
    for i, (e, g) in enumerate(tot.dropna(subset=["total", "outcome", "consensus"]).groupby("expert_id")):
        n = len(g)
        if n < min_centres:
            rows.append(dict(expert_id=e, n_centres=n))
            continue
        x, c, y = (g[k].to_numpy(float) for k in ("total", "consensus", "outcome"))
        idx = np.random.default_rng([seed, 7, i]).integers(0, n, size=(int(n_resamples), n))
        ry = _rank_rows(y[idx])
        bx, bc = _rowwise_corr(_rank_rows(x[idx]), ry), _rowwise_corr(_rank_rows(c[idx]), ry)
        rho = float(_rowwise_corr(_rank_rows(x), _rank_rows(y)))
        rho_c = float(_rowwise_corr(_rank_rows(c), _rank_rows(y)))
        lo, hi = np.nanquantile(bx, [a, 1 - a])
        dlo, dhi = np.nanquantile(bx - bc, [a, 1 - a])
        rows.append(dict(expert_id=e, n_centres=n, rho=rho, rho_low=lo, rho_high=hi, rho_panel=rho_c,
                         diff=rho - rho_c, diff_low=dlo, diff_high=dhi, diff_se=float(np.nanstd(bx - bc, ddof=1))))
    cols = ["expert_id", "n_centres", "rho", "rho_low", "rho_high", "rho_panel", "diff", "diff_low", "diff_high",
            "diff_se"]
    df = pd.DataFrame(rows, columns=cols)
    est = df["diff"].notna()
    d, v = df.loc[est, "diff"].to_numpy(float), df.loc[est, "diff_se"].to_numpy(float) ** 2
    mu = float(np.mean(d)) if d.size else np.nan
    tau2 = max(0.0, float(np.var(d, ddof=1) - np.mean(v))) if d.size > 1 else 0.0
    w = tau2 / (tau2 + np.maximum(v, 1e-12))
    df.loc[est, "diff_shrunk"] = mu + w * (d - mu)
    df["assessment"] = np.select(
        [~est, df["diff_high"] < 0, df["diff_low"] > 0],
        [f"少于 {min_centres} 个中心，不估计 fewer than {min_centres} centres",
         "预测力低于专家组共识 predicts worse than the panel consensus",
         "预测力高于专家组共识 predicts better than the panel consensus"],
        "与专家组共识无明显差别 no clear difference from the panel consensus")
    return df.sort_values(["diff", "expert_id"], na_position="last", ignore_index=True)


def validity_report(scores: pd.DataFrame, evaluations: pd.DataFrame, policy: Policy, *, n_resamples: int = 2000,
                    level: float = 0.95, seed: int = 0, min_centres: int = 5) -> ValidityReport:
    """The report (module doc). `scores`: panel (the round), application_id, expert_id, criterion,
    score; `evaluations`: centre_id, year, total[, band]."""
    if int(n_resamples) < 1:
        raise UserError(f"--resamples {n_resamples}: expected an integer >= 1")
    outc = centre_outcomes(evaluations, policy)
    linked = scores[scores["application_id"].isin(outc["centre_id"])]
    if linked["application_id"].nunique() < 3:
        raise UserError(f"only {linked['application_id'].nunique()} centres have both recognition scores and a later "
                        "evaluation (centre id = the application id it was recognised under); at least 3 are needed")
    notes: list[str] = []
    per = _method_scores(linked.reset_index(drop=True), policy, notes).merge(outc, on="centre_id", how="inner")
    y = per["outcome"].to_numpy(float)
    mrows = []
    for i, m in enumerate(VALIDITY_METHODS):
        rho, lo, hi, n = spearman_boot(per[f"score_{m}"], y, n_resamples=n_resamples, level=level,
                                       rng=np.random.default_rng([seed, 1, i]))
        mrows.append(dict(method=m, n_centres=n, rho=rho, rho_low=lo, rho_high=hi))
    frows = []
    for i, f in enumerate(policy.rubric.families):
        if f.id not in per.columns:
            continue
        rho, lo, hi, n = spearman_boot(per[f.id], y, n_resamples=n_resamples, level=level,
                                       rng=np.random.default_rng([seed, 2, i]))
        frows.append(dict(family=f.id, family_name=f.name, n_centres=n, rho=rho, rho_low=lo, rho_high=hi,
                          signal=bool(lo > 0)))
    experts = _expert_rows(linked, per.set_index("centre_id")["score_trimmed"], outc.set_index("centre_id")["outcome"],
                           n_resamples=n_resamples, level=level, seed=seed, min_centres=min_centres)
    return ValidityReport(methods=pd.DataFrame(mrows), families=pd.DataFrame(frows), experts=experts, centres=per,
                          n_centres=len(per), level=level, notes=notes)


def read_validity_tables(scores_path: Path, evaluations_path: Path,
                         policy_path: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, Policy]:
    """The two files checked (headers Chinese or English); one clear error for a bad cell."""
    pol = load_policy(policy_path)
    sc = long_scores(read_table(Path(scores_path)), str(scores_path))
    if "criterion" not in sc.columns:
        raise UserError(f"{scores_path}: missing column 评分项/criterion; the families need the criterion scores")
    raw = read_table(Path(evaluations_path))
    mapping, _ = map_headers(list(raw.columns), EVAL_ALIASES)
    ev = raw.rename(columns=mapping)
    miss = [c for c in ("centre_id", "year", "total") if c not in ev.columns]
    if miss:
        raise UserError(f"{evaluations_path}: missing column(s) {miss} (中心编号, 年度, 总分); got {list(raw.columns)}")
    for c in ("year", "total"):
        num = pd.to_numeric(ev[c], errors="coerce")
        bad = num.isna() & ev[c].notna() & (ev[c].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(f"{evaluations_path}: row {i + 2}, column {c}: value {ev[c].iloc[i]!r}; expected a number")
        ev[c] = num
    ev["centre_id"] = ev["centre_id"].astype(str).str.strip()
    return sc, ev, pol

