"""Robust aggregation of a panel's scores (SPEC §6, issue 4 item 2).

Input everywhere is a *long* table with columns ``expert_id, application_id, score`` and
optional ``criterion``, ``confidence``, ``panel`` (a stage or panel id).

* When ``criterion`` is present, an expert's total for an application is the sum of their
  criterion scores; if one expected criterion is missing the expert's total is missing
  (reported in ``problems_``), never a partial sum and never zero.
* An absent score (blank / NaN) is missing, never zero: the estimators use the scores present.
* Results are per ``application_id`` (per ``panel, application_id`` when a ``panel`` column is
  given), one row each, with ``score`` (rounded by the configured rule), ``score_raw``,
  ``n_scores`` (scores present), ``n_absent``, ``n_used`` (scores that carry weight), ``method``
  and ``rule`` (what the estimator did for that row, e.g. the n < min_n fallback).

Every estimator is a configured object with explicit parameters and ``fit(df) -> DataFrame``
(scikit-learn style: results also kept as ``result_``, per-score weights as ``scores_``,
input problems as ``problems_``). There is no module-level mutable state.

Implementation: all estimators are vectorised over applications.  Scores are sorted once by
(group, score, expert) with ``np.lexsort``; each order-statistic estimator (mean, median,
trimmed, winsorised) is expressed as integer *position weights* ``m`` over the sorted scores and
an integer denominator per group, so that ``estimate = sum(m * x) / den``.  The same code takes
integer multiplicities (used by the bootstrap in :mod:`reviewer.scoring.uncertainty`).  When the scores
have at most 6 decimals they are scaled to int64 and the estimate is an exact rational, rounded
with exact integer arithmetic (ROUND_HALF_UP / ROUND_HALF_EVEN as in :mod:`decimal`), so
84.125 -> 84.13 and 84.145 -> 84.15 regardless of binary floating point.
Ties: a trimmed mean drops exactly one instance of a tied extreme value per k (the lowest,
resp. highest, expert id among the tied experts, for a deterministic audit trail).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.calibration import BayesRank, Calibration
from reviewer.scoring.pooled import PooledCalibration
from reviewer.scoring.scores import (APP, CONFIDENCE, CRITERION, EXPERT, MAD_TO_SD, PANEL, SCORE, Rounding,
                                     check_rounding, group_keys, int_scale, normalize_scores, round_half,
                                     round_rational)

# The score table's names and rounding live in reviewer.scoring.scores; re-exported here.
__all__ = [
    "APP", "EXPERT", "SCORE", "CRITERION", "CONFIDENCE", "PANEL", "MAD_TO_SD", "Rounding",
    "normalize_scores",
    "group_keys",
    "round_half",
    "round_rational",
    "Aggregator",
    "Sorted",
    "sort_groups",
    "factorize_groups",
    "Mean",
    "Median",
    "TrimmedMean",
    "WinsorizedMean",
    "HuberM",
    "make_aggregator",
    "add_rank",
    "METHODS",
]


# --------------------------------------------------------------------------------------
# vectorised machinery over sorted groups
# --------------------------------------------------------------------------------------
@dataclass
class Sorted:
    """Present scores sorted by (group, score, expert)."""
    order: np.ndarray          # positions into the totals table (present rows only)
    x: np.ndarray              # sorted scores
    g: np.ndarray              # group code per sorted score
    starts: np.ndarray         # start index of each group with >= 1 score
    gid: np.ndarray            # group code of each start
    n_groups: int


def sort_groups(codes: np.ndarray, x: np.ndarray, tiebreak: np.ndarray, n_groups: int) -> Sorted:
    present = np.flatnonzero(~np.isnan(x))
    o = np.lexsort((tiebreak[present], x[present], codes[present]))
    order = present[o]
    gs = codes[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]]) if gs.size else np.zeros(0, dtype=np.intp)
    return Sorted(order=order, x=x[order], g=gs, starts=starts, gid=gs[starts] if gs.size else gs,
                   n_groups=n_groups)


def _segment_sum(v: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if v.size == 0:
        return np.zeros(0, dtype=v.dtype)
    return np.add.reduceat(v, starts)


def _expand(per_group: np.ndarray, starts: np.ndarray, size: int) -> np.ndarray:
    """Broadcast a per-(non-empty)-group value to its sorted rows."""
    lens = np.diff(np.r_[starts, size])
    return np.repeat(per_group, lens)


def _window(cstart: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many of a row's expanded positions [cstart, cstart + c) fall in [lo, hi)."""
    return np.maximum(np.minimum(cstart + c, hi) - np.maximum(cstart, lo), 0)


def _positions(s: Sorted, counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, cstart, n_row): multiplicity, first expanded position of each row within its group,
    group size (expanded) broadcast to rows."""
    size = s.x.size
    c = np.ones(size, dtype=np.int64) if counts is None else counts.astype(np.int64)
    cs = np.cumsum(c)
    tot = _segment_sum(c, s.starts)
    before = cs - c
    gstart = _expand(before[s.starts], s.starts, size)
    cstart = before - gstart
    n_row = _expand(tot, s.starts, size)
    return c, cstart, n_row


class Aggregator:
    """Common fit/predict plumbing.  Subclasses implement ``_weights``."""

    method = "base"

    def __init__(self, *, decimals: int = 2, rounding: Rounding = "half_up") -> None:
        check_rounding(rounding)
        if int(decimals) < 0:
            raise UserError(f"decimals {decimals}: expected an integer >= 0")
        self.decimals = int(decimals)
        self.rounding = rounding
        self.criteria: list[str] | None = None
        self.families: dict[str, str] | None = None

    # -- scikit-learn style -----------------------------------------------------------
    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def set_params(self, **params: Any) -> "Aggregator":
        for k, v in params.items():
            if k not in self.get_params():
                raise UserError(f"{type(self).__name__}: unknown parameter {k!r}; expected one of "
                                f"{sorted(self.get_params())}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k not in ("criteria", "families"))
        return f"{type(self).__name__}({ps})"

    def with_rubric(self, policy: Policy) -> "Aggregator":
        """Use the policy rubric: expected criteria and criterion -> family map."""
        self.criteria = [c.id for c in policy.rubric.criteria]
        self.families = {c.id: f.id for f in policy.rubric.families for c in f.criteria}
        return self

    # -- the per-estimator part ---------------------------------------------------------
    def _weights(self, s: Sorted, c, cstart, n_row):  # pragma: no cover - abstract
        """Integer position weights m (per sorted row), denominators per row, rule codes per row."""
        raise NotImplementedError

    def _rule_names(self) -> dict[int, str]:
        return {0: self.method}

    def raw_estimate(self, s: Sorted, counts: np.ndarray) -> np.ndarray:
        """Unrounded estimate per group for integer multiplicities (bootstrap fast path);
        NaN for groups whose multiplicities are all zero."""
        c, cstart, n_row = _positions(s, counts)
        m, den_row, _ = self._weights(s, c, cstart, n_row)
        out = np.full(s.n_groups, np.nan)
        if s.x.size == 0:
            return out
        den_g = den_row[s.starts]
        num = _segment_sum(m * s.x, s.starts)
        n_g = n_row[s.starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s.gid] = np.where((den_g > 0) & (n_g > 0), num / np.where(den_g > 0, den_g, 1), np.nan)
        return out

    def _estimate(self, s: Sorted, counts: np.ndarray | None = None, exact: bool = True):
        """Per-group (raw float, rounded, n_used, rule code) and per-row float weights."""
        c, cstart, n_row = _positions(s, counts)
        m, den_row, rule_row = self._weights(s, c, cstart, n_row)
        G = s.n_groups
        raw = np.full(G, np.nan)
        rounded = np.full(G, np.nan)
        n_used = np.zeros(G, dtype=np.int64)
        rule = np.full(G, -1, dtype=np.int64)
        if s.x.size == 0:
            return raw, rounded, n_used, rule, np.zeros(0)
        den_g = den_row[s.starts]
        num_f = _segment_sum(m * s.x, s.starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw_g = np.where(den_g > 0, num_f / np.where(den_g > 0, den_g, 1), np.nan)
            w_row = np.where(den_row > 0, m / np.where(den_row > 0, den_row, 1), 0.0)
        d = int_scale(s.x) if exact else None
        if d is not None:
            xi = np.round(s.x * 10.0**d).astype(np.int64)
            num_i = _segment_sum(m.astype(np.int64) * xi, s.starts)
            rnd = round_rational(num_i, den_g.astype(np.int64) * 10**d, self.decimals, self.rounding)
            raw_g = np.where(den_g > 0, num_i / np.where(den_g > 0, den_g * 10.0**d, 1), np.nan)
        else:
            rnd = round_half(raw_g, self.decimals, self.rounding)
        raw[s.gid] = raw_g
        rounded[s.gid] = rnd
        n_used[s.gid] = _segment_sum((m > 0).astype(np.int64), s.starts)
        rule[s.gid] = rule_row[s.starts]
        return raw, rounded, n_used, rule, w_row

    # -- public ------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        """Aggregate a long score table; returns one row per application (per panel)."""
        totals, problems = normalize_scores(df, criteria=self.criteria, families=self.families)
        res, scores = self.fit_totals(totals)
        self.result_, self.scores_, self.problems_, self.totals_ = res, scores, problems, totals
        return res

    def fit_totals(self, totals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Aggregate expert totals already checked by `normalize_scores` (the bootstrap refits
        resamples this way); returns the result table and the per-score weights."""
        keys = group_keys(totals)
        codes, uniq = factorize_groups(totals, keys)
        ecodes = pd.factorize(totals[EXPERT], sort=True)[0]
        x = totals[SCORE].to_numpy(dtype=float)
        G = len(uniq)
        s = sort_groups(codes, x, ecodes, G)
        raw, rounded, n_used, rule, w_row = self._estimate(s)
        n_scores = np.bincount(codes[~np.isnan(x)], minlength=G)
        n_rows = np.bincount(codes, minlength=G)
        res = uniq.copy()
        res[SCORE] = rounded
        res["score_raw"] = raw
        res["n_scores"] = n_scores
        res["n_absent"] = n_rows - n_scores
        res["n_used"] = n_used
        res["method"] = self.method
        names = self._rule_names()
        res["rule"] = [names.get(int(r), "no scores") for r in rule] if G < 50_000 else \
            pd.Series(rule).map(names).fillna("no scores").to_numpy()
        # per-score weights and family subtotals weighted the same way
        weight = np.zeros(len(totals))
        weight[s.order] = w_row
        scores = totals.copy()
        scores["weight"] = weight
        used = weight > 0
        scores["used"] = used
        fams = [c for c in totals.columns if c not in (*keys, EXPERT, SCORE, CONFIDENCE, CRITERION)]
        for f in fams:
            v = np.nan_to_num(totals[f].to_numpy(dtype=float))
            sub = np.bincount(codes, weights=weight * v, minlength=G)
            sub[n_used == 0] = np.nan
            res[f] = round_half(sub, self.decimals, self.rounding)
        return res, scores


def factorize_groups(df: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    if len(keys) == 1:
        codes, uniq = pd.factorize(df[keys[0]], sort=True)
        return codes.astype(np.intp), pd.DataFrame({keys[0]: np.asarray(uniq, dtype=object)})
    gb = df.groupby(keys, sort=True, observed=True, dropna=False)
    codes = gb.ngroup().to_numpy().astype(np.intp)
    uniq = gb.size().index.to_frame(index=False)[keys]
    return codes, uniq.astype(object)


class Mean(Aggregator):
    """Arithmetic mean of the scores present."""

    method = "mean"

    def _weights(self, s, c, cstart, n_row):
        return c.copy(), n_row, np.zeros_like(n_row)


class Median(Aggregator):
    """Median of the scores present (mean of the two middle ones for an even count)."""

    method = "median"

    def _weights(self, s, c, cstart, n_row):
        return _median_weights(c, cstart, n_row), np.full_like(n_row, 2), np.zeros_like(n_row)


def _median_weights(c, cstart, n_row):
    a = (n_row - 1) // 2
    b = n_row // 2
    return _window(cstart, c, a, a + 1) + _window(cstart, c, b, b + 1)


_FALLBACKS = ("median", "mean", "nan")


class TrimmedMean(Aggregator):
    """Drop the ``k`` highest and ``k`` lowest scores, average the rest (去掉最高分和最低分).

    Trims only when n >= ``min_n`` (and n > 2k); below that uses ``fallback``
    ('median' DEFAULT, 'mean', or 'nan' = no score).  Ties: exactly one instance is dropped per k.
    """

    method = "trimmed"

    def __init__(self, k: int = 1, min_n: int = 5, fallback: str = "median", *, decimals: int = 2,
                 rounding: Rounding = "half_up") -> None:
        super().__init__(decimals=decimals, rounding=rounding)
        if int(k) < 0:
            raise UserError(f"trim k {k}: expected an integer >= 0")
        if int(min_n) < 1:
            raise UserError(f"min_n {min_n}: expected an integer >= 1")
        if fallback not in _FALLBACKS:
            raise UserError(f"fallback {fallback!r}: expected one of {list(_FALLBACKS)}")
        self.k = int(k)
        self.min_n = int(min_n)
        self.fallback = fallback

    def _rule_names(self):
        return {0: f"trimmed k={self.k}", 1: f"{self.fallback} (n<{max(self.min_n, 2 * self.k + 1)})"}

    def _trim_ok(self, n_row):
        return (n_row >= self.min_n) & (n_row > 2 * self.k)

    def _fallback(self, c, cstart, n_row, ok=None):
        if ok is not None and bool(ok.all()):  # every group trimmed: the fallback weights are not needed
            return np.zeros_like(c), np.zeros_like(n_row)
        if self.fallback == "median":
            return _median_weights(c, cstart, n_row), np.full_like(n_row, 2)
        if self.fallback == "mean":
            return c.copy(), n_row
        return np.zeros_like(c), np.zeros_like(n_row)

    def _weights(self, s, c, cstart, n_row):
        k = self.k
        ok = self._trim_ok(n_row)
        m_t = _window(cstart, c, np.full_like(n_row, k), n_row - k)
        m_f, den_f = self._fallback(c, cstart, n_row, ok)
        m = np.where(ok, m_t, m_f)
        den = np.where(ok, n_row - 2 * k, den_f)
        return m, den, np.where(ok, 0, 1)


class WinsorizedMean(TrimmedMean):
    """Replace the k lowest (highest) scores by the next one up (down), then average.
    Same min_n / fallback rule as :class:`TrimmedMean`."""

    method = "winsorized"

    def _rule_names(self):
        return {0: f"winsorized k={self.k}", 1: f"{self.fallback} (n<{max(self.min_n, 2 * self.k + 1)})"}

    def _weights(self, s, c, cstart, n_row):
        k = self.k
        ok = self._trim_ok(n_row)
        kk = np.full_like(n_row, k)
        m_w = (_window(cstart, c, kk, n_row - k) + k * _window(cstart, c, kk, kk + 1)
               + k * _window(cstart, c, n_row - k - 1, n_row - k))
        m_f, den_f = self._fallback(c, cstart, n_row, ok)
        return np.where(ok, m_w, m_f), np.where(ok, n_row, den_f), np.where(ok, 0, 1)


class HuberM(Aggregator):
    """Huber M-estimate of location with tuning constant ``c`` (DEFAULT 1.345, 95% efficiency at
    the normal) and a fixed scale = MAD * 1.4826 of the group, solved by iteratively reweighted
    means (vectorised over groups).  Groups with MAD = 0 or n < ``min_n`` get the median."""

    method = "huber"

    def __init__(self, c: float = 1.345, scale: str = "MAD", min_n: int = 3, max_iter: int = 100,
                 tol: float = 1e-10, *, decimals: int = 2, rounding: Rounding = "half_up") -> None:
        super().__init__(decimals=decimals, rounding=rounding)
        if not float(c) > 0:
            raise UserError(f"huber c {c}: expected a positive number")
        if scale != "MAD":
            raise UserError(f"huber scale {scale!r}: expected 'MAD'")
        self.c = float(c)
        self.scale = scale
        self.min_n = int(min_n)
        self.max_iter = int(max_iter)
        self.tol = float(tol)

    def _rule_names(self):
        return {0: f"huber c={self.c:g}", 1: "median (MAD=0 or n<min_n)"}

    def raw_estimate(self, s, counts):
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._estimate(s, counts=counts, exact=False)[0]

    def _estimate(self, s, counts=None, exact=True):
        G = s.n_groups
        size = s.x.size
        c_, cstart, n_row = _positions(s, counts)
        med_m = _median_weights(c_, cstart, n_row)
        med = _segment_sum(med_m * s.x, s.starts) / 2.0 if size else np.zeros(0)
        # MAD: median of |x - med| within group (re-sort by absolute deviation)
        dev = np.abs(s.x - _expand(med, s.starts, size))
        o = np.lexsort((dev, s.g))
        dev_s, c_s = dev[o], c_[o]
        cs2 = np.cumsum(c_s)
        before = cs2 - c_s
        cstart2 = before - _expand(before[s.starts], s.starts, size)
        mad = _segment_sum(_median_weights(c_s, cstart2, n_row) * dev_s, s.starts) / 2.0 if size else med
        scale = mad * MAD_TO_SD
        n_g = n_row[s.starts] if size else np.zeros(0, dtype=np.int64)
        ok = (scale > 0) & (n_g >= self.min_n)
        mu = med.copy()
        sc_row = _expand(np.where(ok, scale, 1.0), s.starts, size)
        w = c_.astype(float)
        for _ in range(self.max_iter):
            r = np.abs(s.x - _expand(mu, s.starts, size)) / sc_row
            w = c_ * np.minimum(1.0, self.c / np.maximum(r, 1e-300))
            new = _segment_sum(w * s.x, s.starts) / _segment_sum(w, s.starts)
            new = np.where(ok, new, med)
            done = np.max(np.abs(new - mu), initial=0.0) <= self.tol * max(1.0, np.max(np.abs(mu), initial=1.0))
            mu = new
            if done:
                break
        ok_row = _expand(ok, s.starts, size)
        w_row = np.where(ok_row, w, med_m / 2.0 * 1.0)
        tot = _segment_sum(w_row, s.starts)
        w_row = w_row / _expand(tot, s.starts, size)
        raw = np.full(G, np.nan)
        rounded = np.full(G, np.nan)
        n_used = np.zeros(G, dtype=np.int64)
        rule = np.full(G, -1, dtype=np.int64)
        raw[s.gid] = mu
        rounded[s.gid] = round_half(mu, self.decimals, self.rounding)
        n_used[s.gid] = _segment_sum((w_row > 0).astype(np.int64), s.starts) if size else 0
        rule[s.gid] = np.where(ok, 0, 1)
        return raw, rounded, n_used, rule, w_row


METHODS = ("trimmed", "median", "mean", "winsorized", "huber", "calibrated", "calibrated_pooled", "bayes")


def make_aggregator(name: str | None, policy: Policy, **overrides: Any):
    """Build a configured aggregator from the policy's [aggregation] section plus overrides.

    ``name``: one of METHODS (None: policy.aggregation.method).  ``policy``: the round's
    :class:`reviewer.policy.Policy` (required: there is no hidden default).  Overrides are the
    estimator's own parameters (e.g. ``k=2``, ``decimals=1``, ``seed=7``).  When the policy has a
    rubric, the aggregator expects its criteria and reports family subtotals.
    """
    a = policy.aggregation
    name = name or a.method
    common = {"decimals": a.decimals, "rounding": a.rounding}
    if name == "trimmed":
        params = {"k": a.trim_k, "min_n": a.trim_min_n, "fallback": a.trim_fallback, **common}
        cls: Any = TrimmedMean
    elif name == "winsorized":
        params = {"k": a.trim_k, "min_n": a.trim_min_n, "fallback": a.trim_fallback, **common}
        cls = WinsorizedMean
    elif name == "median":
        params, cls = dict(common), Median
    elif name == "mean":
        params, cls = dict(common), Mean
    elif name == "huber":
        params, cls = {**common, "c": a.huber_c}, HuberM
    elif name == "calibrated":
        params, cls = dict(common), Calibration
    elif name == "calibrated_pooled":     # borrows the experts' other scores: pass borrow=DataFrame
        params, cls = dict(common), PooledCalibration
    elif name == "bayes":
        params, cls = {**common, "seed": a.seed, "draws": a.bayes_draws, "credible": a.bayes_credible}, BayesRank
    else:
        raise UserError(f"aggregation method {name!r}: expected one of {list(METHODS)}")
    params.update(overrides)
    try:
        agg = cls(**params)
    except TypeError as e:
        raise UserError(f"aggregation method {name!r}: {e}") from None
    if hasattr(agg, "with_rubric"):
        agg.with_rubric(policy)
    return agg


def add_rank(res: pd.DataFrame, score: str = SCORE, by: str | None = None, name: str = "rank") -> pd.DataFrame:
    """Competition rank (1 = highest; equal scores share the better rank, '1224'), optionally within
    groups ``by``.  Missing scores get no rank."""
    out = res.copy()
    if by is None:
        out[name] = out[score].rank(ascending=False, method="min").astype("Int64")
    else:
        out[name] = out.groupby(by, observed=True)[score].rank(ascending=False, method="min").astype("Int64")
    return out
