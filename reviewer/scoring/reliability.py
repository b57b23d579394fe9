"""Outliers, systematic rater deviation and inter-rater reliability (issue 4 item 3).

* :func:`flag_outliers` — single scores more than ``outlier_points`` (policy DEFAULT 15) from
  their panel median, or with a robust z = (score - median) / (1.4826 * MAD) above
  ``outlier_robust_z`` (policy DEFAULT 3.5; Iglewicz & Hoaglin).  "Panel" = the scores of one
  application (in one panel/stage when a ``panel`` column is given).
* :func:`expert_deviation` — per expert, the signed deviation of each of their scores from the
  panel median: mean, a one-sample t test against 0, and how often they gave the highest / lowest
  score.  Flags ``biased`` (p < alpha, at least ``min_groups`` panels) and ``always_highest`` /
  ``always_lowest`` (the strict extreme in every one of at least ``min_groups`` panels).
* :func:`icc` — Shrout & Fleiss (1979) ICC(1,1), ICC(2,1), ICC(3,1) and their k-rater versions
  for a complete targets x raters matrix (crossed design).  :func:`icc_oneway` — ICC(1) for
  nested designs (each application its own experts, unequal numbers allowed, k0 of Snedecor).
* :func:`kendalls_w` — Kendall's coefficient of concordance with the tie correction.
* :func:`krippendorff_alpha` — interval (or nominal / ratio) alpha for incomplete data
  (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").
* :func:`reliability_report` — all of it per panel, choosing the crossed or nested formulas.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.scores import APP, EXPERT, MAD_TO_SD, PANEL, SCORE, group_keys, normalize_scores

__all__ = ["flag_outliers", "expert_deviation", "icc", "icc_oneway", "kendalls_w", "krippendorff_alpha",
           "reliability_report"]


def _totals(df: pd.DataFrame, criteria=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    totals, problems = normalize_scores(df, criteria=criteria)
    return totals[totals[SCORE].notna()].reset_index(drop=True), problems


def flag_outliers(df: pd.DataFrame, policy: Policy, *, points: float | None = None,
                  robust_z: float | None = None) -> pd.DataFrame:
    """One row per score present: panel median, deviation, robust z and the flags with reasons.
    Thresholds default to the policy's [aggregation] outlier_points / outlier_robust_z."""
    agg = policy.aggregation
    points = agg.outlier_points if points is None else float(points)
    robust_z = agg.outlier_robust_z if robust_z is None else float(robust_z)
    t, _ = _totals(df)
    keys = group_keys(t)
    g = t.groupby(keys, observed=True, sort=False)[SCORE]
    med = g.transform("median")
    dev = t[SCORE] - med
    mad = dev.abs().groupby([t[k] for k in keys], observed=True, sort=False).transform("median")
    sd = mad * MAD_TO_SD
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, dev / sd, np.nan)
    out = t[[*keys, EXPERT, SCORE]].copy()
    out["panel_median"] = med
    out["deviation"] = dev
    out["robust_z"] = z
    out["n_scores"] = g.transform("size")
    fp = dev.abs() > points
    fz = np.abs(np.nan_to_num(z)) > robust_z
    out["flag_points"] = fp.to_numpy()
    out["flag_robust_z"] = fz
    out["flagged"] = out.flag_points | out.flag_robust_z
    reason = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(out.flagged.to_numpy()):
        parts = []
        if fp.iat[i]:
            parts.append(f"{dev.iat[i]:+.2f} points from the panel median {med.iat[i]:g} "
                         f"(limit {points:g}) / 偏离评审组中位数 {dev.iat[i]:+.2f} 分（阈值 {points:g}）")
        if fz[i]:
            parts.append(f"robust z {z[i]:+.2f} (limit {robust_z:g}) / 稳健 z 值 {z[i]:+.2f}（阈值 {robust_z:g}）")
        reason[i] = "; ".join(parts)
    out["reason"] = reason
    return out


def expert_deviation(df: pd.DataFrame, *, alpha: float = 0.01, min_groups: int = 3) -> pd.DataFrame:
    """Per expert: systematic deviation from panel medians and extreme-score counts (see module doc)."""
    t, _ = _totals(df)
    keys = group_keys(t)
    grp = [t[k] for k in keys]
    g = t.groupby(keys, observed=True, sort=False)[SCORE]
    n = g.transform("size")
    dev = t[SCORE] - g.transform("median")
    mx, mn = g.transform("max"), g.transform("min")
    n_at_max = (t[SCORE] == mx).groupby(grp, observed=True, sort=False).transform("sum")
    n_at_min = (t[SCORE] == mn).groupby(grp, observed=True, sort=False).transform("sum")
    multi = n >= 2
    d = pd.DataFrame({EXPERT: t[EXPERT], "dev": dev.where(multi),
                      "highest": multi & (t[SCORE] == mx) & (n_at_max == 1) & (mx > mn),
                      "lowest": multi & (t[SCORE] == mn) & (n_at_min == 1) & (mx > mn),
                      "multi": multi})
    e = d.groupby(EXPERT, observed=True, sort=True).agg(
        n_scores=("multi", "size"), n_panels=("multi", "sum"), mean_deviation=("dev", "mean"),
        sd_deviation=("dev", "std"), n_highest=("highest", "sum"), n_lowest=("lowest", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = e.sd_deviation / np.sqrt(e.n_panels)
        tt = np.where(se > 0, e.mean_deviation / se, np.where(e.mean_deviation.abs() > 0, np.inf, 0.0))
    e["t"] = tt
    dfree = (e.n_panels - 1).clip(lower=1)
    e["p_value"] = np.where(e.n_panels >= 2, 2 * stats.t.sf(np.abs(tt), dfree), np.nan)
    enough = e.n_panels >= min_groups
    e["biased"] = enough & (e.p_value < alpha)
    e["always_highest"] = enough & (e.n_highest == e.n_panels)
    e["always_lowest"] = enough & (e.n_lowest == e.n_panels)
    reasons = []
    for r in e.itertuples():
        parts = []
        if r.biased:
            word_en = "higher" if r.mean_deviation > 0 else "lower"
            word_zh = "偏高" if r.mean_deviation > 0 else "偏低"
            parts.append(f"scores {word_en} than the panel median by {abs(r.mean_deviation):.2f} on average over "
                         f"{r.n_panels} panels (p = {r.p_value:.2g}) / 平均{word_zh} {abs(r.mean_deviation):.2f} 分"
                         f"（{r.n_panels} 个评审组，p = {r.p_value:.2g}）")
        if r.always_highest:
            parts.append(f"gave the highest score in all {r.n_panels} panels / 在全部 {r.n_panels} 个评审组中均打最高分")
        if r.always_lowest:
            parts.append(f"gave the lowest score in all {r.n_panels} panels / 在全部 {r.n_panels} 个评审组中均打最低分")
        reasons.append("; ".join(parts))
    e["flagged"] = e.biased | e.always_highest | e.always_lowest
    e["reason"] = reasons
    return e.reset_index()


# ---------------------------------------------------------------------------- ICC
def _matrix(x) -> np.ndarray:
    m = np.asarray(x, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise UserError(f"reliability: expected a targets x raters table with at least 2 x 2 scores, got shape {m.shape}")
    if np.isnan(m).any():
        raise UserError("reliability: this statistic needs a complete table (every rater scores every target)")
    return m


def icc(x) -> dict[str, float]:
    """Shrout & Fleiss (1979) intraclass correlations of a complete n targets x k raters matrix.

    Returns ICC1 (one-way random), ICC2 (two-way random, absolute agreement), ICC3 (two-way mixed,
    consistency), each for a single rater (``ICC2_1``) and the mean of k raters (``ICC2_k``).
    """
    m = _matrix(x)
    n, k = m.shape
    grand = m.mean()
    ss_t = k * np.sum((m.mean(axis=1) - grand) ** 2)
    ss_r = n * np.sum((m.mean(axis=0) - grand) ** 2)
    ss_tot = np.sum((m - grand) ** 2)
    ss_w = ss_tot - ss_t
    ss_e = ss_tot - ss_t - ss_r
    bms = ss_t / (n - 1)
    wms = ss_w / (n * (k - 1))
    jms = ss_r / (k - 1)
    ems = ss_e / ((n - 1) * (k - 1))

    def div(a, b):
        return float(a / b) if b != 0 else float("nan")

    return {
        "n_targets": n, "n_raters": k, "BMS": bms, "WMS": wms, "JMS": jms, "EMS": ems,
        "ICC1_1": div(bms - wms, bms + (k - 1) * wms),
        "ICC2_1": div(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3_1": div(bms - ems, bms + (k - 1) * ems),
        "ICC1_k": div(bms - wms, bms),
        "ICC2_k": div(bms - ems, bms + (jms - ems) / n),
        "ICC3_k": div(bms - ems, bms),
    }


def icc_oneway(groups: list[np.ndarray] | pd.Series) -> dict[str, float]:
    """ICC(1) for a nested design: each target rated by its own raters (sizes may differ).
    ``groups``: list of score arrays, or a Series of scores indexed by target."""
    if isinstance(groups, pd.Series):
        groups = [np.asarray(v, dtype=float) for _, v in groups.groupby(level=0, observed=True)]
    groups = [np.asarray(g, dtype=float) for g in groups]
    groups = [g[~np.isnan(g)] for g in groups]
    groups = [g for g in groups if g.size >= 1]
    n = len(groups)
    sizes = np.array([g.size for g in groups])
    N = sizes.sum()
    if n < 2 or N - n < 1:
        return {"ICC1": float("nan"), "ICC1_k": float("nan"), "k0": float("nan"), "n_targets": n}
    grand = np.concatenate(groups).mean()
    means = np.array([g.mean() for g in groups])
    ssb = np.sum(sizes * (means - grand) ** 2)
    ssw = sum(np.sum((g - g.mean()) ** 2) for g in groups)
    bms = ssb / (n - 1)
    wms = ssw / (N - n)
    k0 = (N - np.sum(sizes**2) / N) / (n - 1)
    icc1 = (bms - wms) / (bms + (k0 - 1) * wms) if (bms + (k0 - 1) * wms) != 0 else float("nan")
    icc1k = (bms - wms) / bms if bms != 0 else float("nan")
    return {"ICC1": float(icc1), "ICC1_k": float(icc1k), "k0": float(k0), "n_targets": n,
            "BMS": float(bms), "WMS": float(wms)}


def kendalls_w(x) -> dict[str, float]:
    """Kendall's W of a complete n objects x m raters matrix, ties corrected:
    W = 12 S / (m^2 (n^3 - n) - m sum_j T_j), T_j = sum over tie groups of (t^3 - t).
    Also the chi-square test m (n - 1) W on n - 1 degrees of freedom."""
    m_ = _matrix(x)
    n, m = m_.shape
    ranks = np.column_stack([stats.rankdata(m_[:, j]) for j in range(m)])
    R = ranks.sum(axis=1)
    S = np.sum((R - R.mean()) ** 2)
    T = 0.0
    for j in range(m):
        _, counts = np.unique(m_[:, j], return_counts=True)
        T += np.sum(counts**3 - counts)
    den = m**2 * (n**3 - n) - m * T
    W = 12 * S / den if den > 0 else float("nan")
    chi2 = m * (n - 1) * W
    return {"W": float(W), "chi2": float(chi2), "df": n - 1, "p_value": float(stats.chi2.sf(chi2, n - 1)),
            "n_objects": n, "n_raters": m}


def krippendorff_alpha(data, metric: str = "interval") -> float:
    """Krippendorff's alpha of a raters x units table (NaN = not rated), or of a long DataFrame with
    columns expert_id, application_id, score.  Units with fewer than two values are not pairable and
    are left out.  metric: 'interval' (DEFAULT), 'ratio' or 'nominal'."""
    if isinstance(data, pd.DataFrame):
        t, _ = _totals(data)
        units = [v.to_numpy(dtype=float) for _, v in t.groupby(group_keys(t), observed=True)[SCORE]]
    else:
        arr = np.asarray(data, dtype=float)
        units = [col[~np.isnan(col)] for col in arr.T]
    units = [u for u in units if u.size >= 2]
    if not units:
        return float("nan")
    vals = np.concatenate(units)
    n = vals.size
    if metric == "interval":
        def pair_sum(v):  # sum over ordered pairs c != k of (v_c - v_k)^2
            return 2 * (v.size * np.sum(v**2) - np.sum(v) ** 2)
        Do = sum(pair_sum(u) / (u.size - 1) for u in units)
        De = pair_sum(vals) / (n - 1)
    elif metric in ("nominal", "ratio"):
        if metric == "nominal":
            def delta(a, b):
                return (a[:, None] != b[None, :]).astype(float)
        else:
            def delta(a, b):
                s = a[:, None] + b[None, :]
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.where(s != 0, ((a[:, None] - b[None, :]) / s) ** 2, 0.0)
        Do = sum(delta(u, u).sum() / (u.size - 1) for u in units)
        De = delta(vals, vals).sum() / (n - 1)
    else:
        raise UserError(f"krippendorff metric {metric!r}: expected 'interval', 'ratio' or 'nominal'")
    return float(1 - Do / De) if De > 0 else float("nan")


def reliability_report(df: pd.DataFrame) -> pd.DataFrame:
    """Inter-rater reliability per panel (and 'ALL').  A panel whose experts all scored all its
    applications is *crossed*: ICC(2,1), ICC(2,k) and Kendall's W; otherwise *nested/incomplete*:
    ICC(1) (one-way, k0).  Krippendorff's interval alpha is reported for every panel."""
    t, _ = _totals(df)
    if PANEL not in t.columns:
        t = t.assign(**{PANEL: "ALL"})
        panels = [("ALL", t)]
    else:
        panels = [(p, sub) for p, sub in t.groupby(PANEL, observed=True, sort=True)] + [("ALL", t)]
    rows = []
    for p, sub in panels:
        wide = sub.pivot_table(index=APP, columns=EXPERT, values=SCORE, aggfunc="first")
        complete = wide.notna().all().all() and wide.shape[0] >= 2 and wide.shape[1] >= 2
        row: dict[str, Any] = {PANEL: p, "n_applications": wide.shape[0], "n_experts": wide.shape[1],
                               "n_scores": int(wide.notna().sum().sum())}
        row["design"] = "crossed" if complete else "nested/incomplete"
        if complete:
            r = icc(wide.to_numpy())
            row.update({"ICC2_1": r["ICC2_1"], "ICC2_k": r["ICC2_k"], "ICC1": r["ICC1_1"],
                        "kendall_W": kendalls_w(wide.to_numpy())["W"]})
        else:
            r1 = icc_oneway([v[~np.isnan(v)] for v in wide.to_numpy(dtype=float)])
            row.update({"ICC2_1": np.nan, "ICC2_k": np.nan, "ICC1": r1["ICC1"], "kendall_W": np.nan})
        row["krippendorff_alpha"] = krippendorff_alpha(wide.to_numpy(dtype=float).T)
        rows.append(row)
    return pd.DataFrame(rows)
