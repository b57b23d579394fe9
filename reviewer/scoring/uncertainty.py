"""Uncertainty and stability of aggregated scores and ranks (issue 4 item 4).

* :func:`bootstrap` — percentile intervals of each aggregated score and of its rank, by
  resampling *experts within panels*: in every resample each panel draws as many experts as it
  has, with replacement, and every application keeps the scores of the drawn experts (an expert
  drawn twice counts twice; an application none of whose experts is drawn has no score in that
  resample and is left out of that resample's ranks).  Without a ``panel`` column each application
  is its own panel (its scores are resampled).  Vectorised: scores are sorted once; a resample is
  a vector of integer multiplicities fed to the same position-weight code as the point estimate
  (:mod:`reviewer.scoring.aggregation`), so the only Python loop is over resamples, in batches.
  Optionally (``fields``: application -> field) the probability of being first in its field.
* :func:`leave_one_expert_out` — refit without each expert in turn: whose removal changes which
  rank (and score).

Supported estimators: the order-statistic and Huber aggregators of :mod:`reviewer.scoring.aggregation`.
For the calibrated and Bayesian models use their own standard errors / posterior intervals.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from reviewer.errors import UserError
from reviewer.scoring.aggregation import Aggregator, add_rank, factorize_groups, sort_groups
from reviewer.scoring.scores import APP, EXPERT, PANEL, SCORE, group_keys, normalize_scores

__all__ = ["bootstrap", "BootstrapResult", "leave_one_expert_out"]


@dataclass
class BootstrapResult:
    table: pd.DataFrame                    # one row per application (per panel): point, intervals, P(first)
    samples: np.ndarray = field(repr=False)  # (n_resamples, n_groups) raw scores, NaN = not scored in that resample
    n_resamples: int = 0
    seed: int = 0
    level: float = 0.95


def _ranks_desc(scores: np.ndarray) -> np.ndarray:
    """Competition ranks (1 = best) per row of a (B, G) matrix; NaN stays NaN."""
    filled = np.where(np.isnan(scores), -np.inf, scores)
    r = rankdata(-filled, method="min", axis=1).astype(float)
    r[np.isnan(scores)] = np.nan
    return r


def _nanquantile(a: np.ndarray, qs: list[float]) -> list[np.ndarray]:
    """Column quantiles ignoring NaN (linear interpolation, as numpy's default), vectorised."""
    srt = np.sort(a, axis=0)  # NaN sort last
    n = np.sum(~np.isnan(a), axis=0)
    out = []
    cols = np.arange(a.shape[1])
    for q in qs:
        pos = q * np.maximum(n - 1, 0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        frac = pos - lo
        v = srt[lo, cols] * (1 - frac) + srt[hi, cols] * frac
        out.append(np.where(n > 0, v, np.nan))
    return out


def _slots(totals: pd.DataFrame, codes: np.ndarray, ecodes: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resampling slots = (panel unit, expert) pairs, grouped by unit (panel unit = the panel
    column, else the group itself): each slot's unit start and unit size, and each score row's slot."""
    unit = pd.factorize(totals[PANEL])[0] if PANEL in totals.columns else codes
    n_e = int(ecodes.max()) + 1 if ecodes.size else 1
    slot_codes, slot_uniq = pd.factorize(unit.astype(np.int64) * n_e + ecodes)
    slot_unit = np.asarray(slot_uniq) // n_e
    o = np.argsort(slot_unit, kind="stable")          # slots grouped by unit
    inv = np.empty_like(o)
    inv[o] = np.arange(o.size)
    row_slot = inv[slot_codes]                         # slot index (in unit order) of each score row
    su = slot_unit[o]
    S = su.size
    u_start = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
    u_len = np.diff(np.r_[u_start, S])
    slot_start = np.repeat(u_start, u_len)
    slot_len = np.repeat(u_len, u_len)
    return slot_start, slot_len, row_slot


def _p_first_in_field(samples: np.ndarray, f: pd.Series) -> np.ndarray:
    """Per application, the share of resamples in which it is first in its field `f` (ties share)."""
    R, G = samples.shape
    fc, funiq = pd.factorize(f)
    p = np.full(G, np.nan)
    has = fc >= 0
    if has.any():
        filled = np.where(np.isnan(samples), -np.inf, samples)
        fmax = np.full((R, len(funiq)), -np.inf)
        for j in range(len(funiq)):
            cols = np.flatnonzero(fc == j)
            fmax[:, j] = filled[:, cols].max(axis=1)
        is_max = (filled == fmax[:, np.where(has, fc, 0)]) & np.isfinite(filled) & has[None, :]
        n_ties = np.zeros((R, len(funiq)))
        for j in range(len(funiq)):
            n_ties[:, j] = is_max[:, fc == j].sum(axis=1)
        share = np.where(is_max, 1.0 / np.maximum(n_ties[:, np.where(has, fc, 0)], 1), 0.0)
        p[has] = share.mean(axis=0)[has]
    return p


def bootstrap(df: pd.DataFrame, aggregator: Aggregator, *, n_resamples: int = 1000, seed: int = 0,
              level: float = 0.95, fields: Mapping[str, str] | pd.Series | None = None,
              batch: int = 16, n_jobs: int | None = None) -> BootstrapResult:
    """Bootstrap intervals of score and rank (see module doc).  Seeded: same inputs + seed ->
    same intervals, whatever ``n_jobs`` (threads; default: all cores).  ``fields`` maps
    application_id -> field for P(first in field)."""
    if not isinstance(aggregator, Aggregator):
        raise UserError(f"bootstrap: method {getattr(aggregator, 'method', aggregator)!r} is not resampled; "
                        f"use trimmed, median, mean, winsorized or huber (calibrated/bayes give their own intervals)")
    if int(n_resamples) < 1:
        raise UserError(f"bootstrap resamples {n_resamples}: expected an integer >= 1")
    if not 0 < level < 1:
        raise UserError(f"level {level}: expected a number between 0 and 1")
    totals, problems = normalize_scores(df, criteria=aggregator.criteria, families=aggregator.families)
    point, _ = aggregator.fit_totals(totals)
    totals = totals[totals[SCORE].notna()].reset_index(drop=True)
    keys = group_keys(totals)
    codes, uniq = factorize_groups(totals, keys)
    G = len(uniq)
    # keep the point table's group order
    point = point.merge(uniq.assign(_g=np.arange(G)), on=keys, how="left")
    gpos = point["_g"].fillna(-1).to_numpy().astype(np.intp)
    x = totals[SCORE].to_numpy(dtype=float)
    ecodes = pd.factorize(totals[EXPERT], sort=True)[0]
    s = sort_groups(codes, x, ecodes, G)
    slot_start, slot_len, row_slot = _slots(totals, codes, ecodes)
    S = slot_start.size
    rows_sorted_slot = row_slot[s.order]
    R = int(n_resamples)
    samples = np.full((R, G), np.nan)

    def run_batch(b0: int) -> None:
        # one random stream per batch: results do not depend on the number of threads
        rng = np.random.default_rng([int(seed), b0])
        B = min(batch, R - b0)
        draw = slot_start[None, :] + np.floor(rng.random((B, S)) * slot_len[None, :]).astype(np.int64)
        cnt = np.bincount((draw + (np.arange(B) * S)[:, None]).ravel(), minlength=B * S).reshape(B, S)
        cnt = cnt.astype(np.int32)
        for i in range(B):
            samples[b0 + i] = aggregator.raw_estimate(s, cnt[i][rows_sorted_slot])

    starts = list(range(0, R, batch))
    jobs = max(1, min(int(n_jobs or os.cpu_count() or 1), len(starts)))
    if jobs == 1:
        for b0 in starts:
            run_batch(b0)
    else:  # numpy releases the GIL in the heavy kernels: threads overlap well
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            list(ex.map(run_batch, starts))
    samples = np.where(gpos[None, :] >= 0, samples[:, np.maximum(gpos, 0)], np.nan)
    a = (1 - level) / 2
    with np.errstate(all="ignore"):
        lo, hi = _nanquantile(samples, [a, 1 - a])
        se = np.nanstd(samples, axis=0, ddof=1)
    ranks = _ranks_desc(samples)
    table = point.drop(columns="_g")
    table["ci_low"], table["ci_high"], table["se_boot"] = lo, hi, se
    table = add_rank(table)
    with np.errstate(all="ignore"):
        table["rank_low"], table["rank_high"] = _nanquantile(ranks, [a, 1 - a])
        table["rank_mean"] = np.nanmean(ranks, axis=0)
    table["p_first_overall"] = np.nanmean(np.where(np.isnan(ranks), np.nan, ranks == 1), axis=0)
    if fields is not None:
        fmap = pd.Series(fields) if not isinstance(fields, pd.Series) else fields
        f = table[APP].map(fmap)
        table["field"] = f.to_numpy()
        table["p_first_in_field"] = _p_first_in_field(samples, f)
    table["n_resamples"] = R
    table["interval"] = f"bootstrap {level:.0%} (experts resampled within panels)"
    return BootstrapResult(table=table, samples=samples, n_resamples=R, seed=seed, level=level)


def leave_one_expert_out(df: pd.DataFrame, aggregator: Aggregator, *, experts: list[str] | None = None,
                         only_changes: bool = True) -> pd.DataFrame:
    """For each expert (default: all), refit without their scores and compare ranks (competition
    rank on the rounded score, 1 = best) and scores.  Returns one row per (expert, application)
    whose rank changed (all rows if ``only_changes=False``), with the expert's influence summary
    columns ``n_rank_changes`` and ``max_abs_rank_change``."""
    if not isinstance(aggregator, Aggregator):
        raise UserError("leave-one-expert-out: use trimmed, median, mean, winsorized or huber")
    totals, _ = normalize_scores(df, criteria=aggregator.criteria, families=aggregator.families)
    keys = group_keys(totals)
    base, _ = aggregator.fit_totals(totals)
    base = add_rank(base)[[*keys, SCORE, "rank"]]
    ex = sorted(pd.unique(totals[EXPERT])) if experts is None else list(experts)
    out = []
    for e in ex:
        sub = totals[totals[EXPERT] != e]
        res, _ = aggregator.fit_totals(sub)
        res = add_rank(res)[[*keys, SCORE, "rank"]]
        m = base.merge(res, on=keys, how="left", suffixes=("_before", "_after"))
        m.insert(0, EXPERT, e)
        scored = totals.loc[(totals[EXPERT] == e) & totals[SCORE].notna()]
        m["scored_by_expert"] = m.set_index(keys).index.isin(scored.set_index(keys).index)
        m["rank_change"] = (m["rank_after"].astype("Float64") - m["rank_before"].astype("Float64"))
        out.append(m)
    if not out:
        return pd.DataFrame(columns=[EXPERT, *keys, "score_before", "score_after", "rank_before", "rank_after"])
    t = pd.concat(out, ignore_index=True)
    changed = t["rank_change"].fillna(0) != 0
    t["n_rank_changes"] = changed.groupby(t[EXPERT]).transform("sum")
    t["max_abs_rank_change"] = t["rank_change"].abs().fillna(0).groupby(t[EXPERT]).transform("max")
    if only_changes:
        t = t[changed | t["rank_after"].isna()]
    return t.reset_index(drop=True)
