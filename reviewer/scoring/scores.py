"""The long score table every estimator reads: column names, validation into expert totals, and
exact decimal rounding.

Shared by the robust estimators (:mod:`reviewer.scoring.aggregation`), the rater-effect models
(:mod:`reviewer.scoring.calibration`), the bootstrap (:mod:`reviewer.scoring.uncertainty`),
reliability and ranking, so that none of them imports another to get them.

Input is a *long* table with columns ``expert_id, application_id, score`` and optional
``criterion``, ``confidence``, ``panel``. When ``criterion`` is present, an expert's total for an
application is the sum of their criterion scores; if one expected criterion is missing the total
is missing (reported as a problem), never a partial sum and never zero. An absent score (blank /
NaN) is missing, never zero.
"""
from __future__ import annotations

from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from reviewer.errors import UserError

APP = "application_id"
EXPERT = "expert_id"
SCORE = "score"
CRITERION = "criterion"
CONFIDENCE = "confidence"
PANEL = "panel"

Rounding = Literal["half_up", "half_even"]
MAD_TO_SD = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal sample -> sigma

__all__ = ["APP", "EXPERT", "SCORE", "CRITERION", "CONFIDENCE", "PANEL", "MAD_TO_SD", "Rounding", "as_id",
           "group_keys", "normalize_scores", "check_rounding", "round_rational", "round_half", "int_scale"]


# --------------------------------------------------------------------------------------
# input normalisation
# --------------------------------------------------------------------------------------
def _problem(kind: str, message: str, **kw: Any) -> dict:
    return {"kind": kind, "panel": kw.get("panel"), EXPERT: kw.get(EXPERT), APP: kw.get(APP),
            CRITERION: kw.get(CRITERION), "value": kw.get("value"), "message": message}


_PROBLEM_COLS = ["kind", PANEL, EXPERT, APP, CRITERION, "value", "message"]


def as_id(s: pd.Series) -> pd.Series:
    """Ids as clean strings (1001 and '1001' and 1001.0 are the same id); missing stays missing."""
    if pd.api.types.is_float_dtype(s):
        s2 = s.astype("Float64")
        if bool(((s2 % 1) == 0).fillna(True).all()):
            return s2.astype("Int64").astype("string").astype(str).where(s.notna())
        return s.astype(str).where(s.notna())
    if pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.astype(str)
    if s.dtype != object and pd.api.types.is_string_dtype(s):
        return s.str.strip()
    def one(v):
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one)


def group_keys(df: pd.DataFrame) -> list[str]:
    """Group key of the aggregation: ``[panel, application_id]`` if panel is given."""
    return [PANEL, APP] if PANEL in df.columns else [APP]


def normalize_scores(
    df: pd.DataFrame,
    *,
    criteria: Iterable[str] | None = None,
    families: Mapping[str, str] | None = None,
    source: str = "scores",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check a long score table and collapse criterion rows to expert totals.

    Returns ``(totals, problems)``.  ``totals`` has one row per (panel,) expert, application with
    ``score`` (NaN = absent / incomplete), optional ``confidence`` and, when ``families`` maps
    criterion ids to rubric family ids, one subtotal column per family.  ``problems`` lists what was
    wrong (missing criterion, conflicting duplicates) with the ids involved.

    ``criteria``: the criteria an expert must score (default: every criterion that occurs in the
    table for that panel).  Programmatic mistakes (missing column, non-numeric score) raise
    :class:`UserError`; the CLI validates files row by row before calling this.
    """
    d = _checked_scores(df, source)
    problems: list[dict] = []
    pkeys = [PANEL] if PANEL in d.columns else []
    pair = [*pkeys, EXPERT, APP]
    if CRITERION in d.columns:
        totals = _criterion_totals(d, pair, criteria, families, problems)
    else:
        d, probs = _dedupe(d, pair)
        problems += probs
        totals = d.reset_index(drop=True)
    totals = totals[[c for c in totals.columns]].reset_index(drop=True)
    return totals, pd.DataFrame(problems, columns=_PROBLEM_COLS)


def _checked_scores(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """The score table's columns with clean ids, numeric scores and confidences; a clear error
    for a missing column, an empty id or a value that is not a number."""
    if not isinstance(df, pd.DataFrame):
        raise UserError(f"{source}: expected a table (DataFrame), got {type(df).__name__}")
    missing = [c for c in (EXPERT, APP, SCORE) if c not in df.columns]
    if missing:
        raise UserError(
            f"{source}: missing column(s) {missing}; expected columns expert_id, application_id, score "
            f"(optional criterion, confidence, panel); got {list(df.columns)}"
        )
    cols = [c for c in (PANEL, EXPERT, APP, CRITERION, SCORE, CONFIDENCE) if c in df.columns]
    d = df[cols].copy()
    for c in (PANEL, EXPERT, APP, CRITERION):
        if c in d.columns:
            d[c] = as_id(d[c])
    for c in (EXPERT, APP):
        bad = d[c].isna() | (d[c] == "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(f"{source}: row {d.index[i]!r}, column {c}: empty; expected an id")
    num = pd.to_numeric(d[SCORE], errors="coerce")
    bad = num.isna() & d[SCORE].notna() & (d[SCORE].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"{source}: row {d.index[i]!r}, column score: value {d[SCORE].iloc[i]!r}; "
                        f"expected a number (blank = absent)")
    d[SCORE] = num.astype(float)
    if not np.isfinite(d[SCORE].fillna(0).to_numpy()).all():
        raise UserError(f"{source}: column score: infinite value; expected a finite number")
    if CONFIDENCE in d.columns:
        conf = pd.to_numeric(d[CONFIDENCE], errors="coerce").astype(float)
        badc = (conf.notna() & ~(conf > 0)) | (conf.isna() & d[CONFIDENCE].notna()
                                              & (d[CONFIDENCE].astype(str).str.strip() != ""))
        if badc.any():
            i = int(np.flatnonzero(badc.to_numpy())[0])
            raise UserError(f"{source}: row {d.index[i]!r}, column confidence: value "
                            f"{d[CONFIDENCE].iloc[i]!r}; expected a positive number")
        d[CONFIDENCE] = conf.fillna(1.0)
    return d


def _criterion_totals(d: pd.DataFrame, pair: list[str], criteria: Iterable[str] | None,
                      families: Mapping[str, str] | None, problems: list[dict]) -> pd.DataFrame:
    """Criterion rows -> one total per (panel,) expert, application (NaN when an expected criterion
    is missing) with family subtotals; appends what was wrong to `problems`."""
    pkeys = pair[:-2]
    d = d[d[CRITERION].notna()]
    d, probs = _dedupe(d, [*pair, CRITERION])
    problems += probs
    expected_all = list(dict.fromkeys(criteria)) if criteria is not None else None
    if expected_all is not None and not set(d[CRITERION].unique()) & set(expected_all):
        problems.append(_problem("unknown_criterion", f"no criterion of the table is in the rubric "
                                 f"{expected_all}; using the criteria found in the table"))
        expected_all = None
    # observed (expert, application) pairs only; a pair whose scores are all blank stays (absent)
    wide = d.set_index([*pair, CRITERION])[SCORE].unstack(CRITERION).sort_index()
    wide = wide.reindex(columns=sorted(wide.columns, key=str))
    if expected_all is not None:
        extra = [c for c in wide.columns if c not in set(expected_all)]
        for c in extra:
            problems.append(_problem("unknown_criterion", f"criterion {c!r} is not in the rubric "
                                     f"{expected_all}; ignored", **{CRITERION: c}))
        wide = wide.reindex(columns=expected_all)
    # expected criteria per panel (default: those present in that panel's rows)
    if expected_all is None and pkeys:
        present = d.groupby(PANEL, observed=True)[CRITERION].unique()
        exp_mask = np.zeros(wide.shape, dtype=bool)
        panels = wide.index.get_level_values(PANEL)
        colpos = {c: j for j, c in enumerate(wide.columns)}
        for p, crits in present.items():
            rows = np.asarray(panels == p)
            for c in crits:
                exp_mask[rows, colpos[c]] = True
    else:
        exp_mask = np.ones(wide.shape, dtype=bool)
    vals = wide.to_numpy(dtype=float)
    miss = np.isnan(vals) & exp_mask
    total = np.where(exp_mask, np.nan_to_num(vals), 0.0).sum(axis=1)
    incomplete = miss.any(axis=1)
    # a pair where every expected criterion is blank is simply absent, not incomplete
    all_blank = miss.sum(axis=1) == exp_mask.sum(axis=1)
    total[incomplete] = np.nan
    for i in np.flatnonzero(incomplete & ~all_blank):
        key = dict(zip(pair, wide.index[i] if len(pair) > 1 else (wide.index[i],)))
        crit = [str(c) for c, m in zip(wide.columns, miss[i]) if m]
        problems.append(_problem(
            "missing_criterion",
            f"expert {key[EXPERT]} on application {key[APP]}: no score for criterion "
            f"{', '.join(crit)}; the expert's total is missing (not counted), not a partial sum",
            **key, **{CRITERION: ",".join(crit)}))
    out = wide.index.to_frame(index=False)
    out[SCORE] = total
    if families:
        fam_of = {c: families.get(c) for c in wide.columns}
        unknown = sorted(str(c) for c, f in fam_of.items() if f is None)
        if unknown and expected_all is None:
            problems.append(_problem("unknown_criterion", f"criteria {unknown} have no rubric family; "
                                     f"left out of the family subtotals"))
        for fam in dict.fromkeys(f for f in fam_of.values() if f is not None):
            idx = [j for j, c in enumerate(wide.columns) if fam_of[c] == fam]
            sub = np.where(exp_mask[:, idx], np.nan_to_num(vals[:, idx]), 0.0).sum(axis=1)
            sub[incomplete] = np.nan
            out[fam] = sub
    if CONFIDENCE in d.columns:
        conf = d.groupby(pair, observed=True, sort=True)[CONFIDENCE].mean()
        out[CONFIDENCE] = conf.reindex(wide.index).to_numpy()
    return out


def _dedupe(d: pd.DataFrame, key: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """Identical duplicates: keep one.  Conflicting duplicates: exclude all copies, report."""
    dup = d.duplicated(key, keep=False)
    if not dup.any():
        return d, []
    problems = []
    dd = d[dup]
    nuniq = dd.groupby(key, observed=True, dropna=False)[SCORE].nunique(dropna=False)
    conflicting = nuniq[nuniq > 1]
    for k in conflicting.index:
        kk = dict(zip(key, k if isinstance(k, tuple) else (k,)))
        vals = dd.loc[(dd[key] == pd.Series(kk)).all(axis=1), SCORE].tolist()
        problems.append(_problem("duplicate", f"{len(vals)} different scores {vals} for the same "
                                 f"{', '.join(f'{a}={b}' for a, b in kk.items())}; all excluded "
                                 f"(cannot tell which is right)", value=str(vals), **kk))
    n_ident = int(len(nuniq) - len(conflicting))
    if n_ident:
        problems.append(_problem("duplicate", f"{n_ident} identical duplicate score row(s) kept once"))
    keep = ~d.duplicated(key, keep="first")
    if len(conflicting):
        ck = pd.MultiIndex.from_frame(conflicting.index.to_frame(index=False)) if len(key) > 1 \
            else pd.Index(conflicting.index)
        idx = pd.MultiIndex.from_frame(d[key]) if len(key) > 1 else pd.Index(d[key[0]])
        keep &= ~np.asarray(idx.isin(ck))
    return d[keep], problems


# --------------------------------------------------------------------------------------
# exact rounding
# --------------------------------------------------------------------------------------
def check_rounding(rounding: str) -> None:
    """A clear error unless `rounding` is one of the rules ROUND_HALF_UP / ROUND_HALF_EVEN."""
    if rounding not in ("half_up", "half_even"):
        raise UserError(f"rounding {rounding!r}: expected 'half_up' or 'half_even'")


def round_rational(num: np.ndarray, den: np.ndarray, decimals: int, rounding: Rounding = "half_up") -> np.ndarray:
    """Round the exact rationals num/den (int arrays, den > 0) to ``decimals`` places.

    half_up rounds halves away from zero (decimal.ROUND_HALF_UP), half_even to the even digit.
    Returns floats (the nearest double to the rounded decimal); NaN where den == 0.
    """
    check_rounding(rounding)
    num = np.asarray(num)
    den = np.asarray(den)
    ok = den > 0
    scale = 10 ** int(decimals)
    big = num.size and (np.abs(num).max(initial=0) > (2**62) // max(2 * scale, 1))
    dt = object if big else np.int64
    n = num.astype(dt) * scale
    dd = np.where(ok, den, 1).astype(dt)
    a = np.abs(n)
    q, r = a // dd, a % dd
    twice = 2 * r
    if rounding == "half_up":
        up = twice >= dd
    else:
        up = (twice > dd) | ((twice == dd) & (q % 2 == 1))
    q = q + up.astype(dt)
    out = (np.sign(n).astype(float) * q.astype(float)) / scale
    return np.where(ok, out, np.nan)


def round_half(x: np.ndarray | float, decimals: int, rounding: Rounding = "half_up") -> np.ndarray:
    """Round floats by a decimal rule.  Values within 1e-6 of a unit of the last kept place of a
    half are treated as the half (so float noise such as 84.12499999999999 for 84.125 rounds up)."""
    check_rounding(rounding)
    x = np.asarray(x, dtype=float)
    scale = 10.0 ** int(decimals)
    y = x * scale
    snapped = np.round(y * 1e6) / 1e6
    a = np.abs(snapped)
    if rounding == "half_up":
        q = np.floor(a + 0.5)
    else:
        q = np.round(a)  # numpy rounds halves to even
    return np.sign(snapped) * q / scale


def int_scale(x: np.ndarray, max_decimals: int = 6) -> int | None:
    """Smallest d <= max_decimals with x * 10**d integral (within float noise), else None."""
    if x.size == 0:
        return 0
    for d in range(max_decimals + 1):
        y = x * 10.0**d
        if np.all(np.abs(y - np.round(y)) <= 1e-7 * np.maximum(1.0, np.abs(y))) and np.abs(y).max() < 2**40:
            return d
    return None
