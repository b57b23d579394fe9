"""Annual evaluation (考核评估, SPEC §7, seed §三(四)) of manufacturing innovation centre pilots.

Three steps, each a pure function over DataFrames and plain records:

1. **Import** (`load_indicators`, `load_centres`, `load_expert_scores`): one row per centre and year
   with the quantitative indicators (委托研发合同数及金额, 知识产权成果, 产业化数量和成功率, R&D input and
   talent, collaboration and services, cumulative share of the build tasks done) and the build
   targets declared at approval (目标_...).  The layouts and the validated loader are in
   :mod:`reviewer.centres.tables`: every problem is an :class:`reviewer.intake.io.ImportIssue`
   naming file, sheet, row, column, value and what was expected; a bad row is rejected on its own
   and every good row still loads.
2. **Scoring** (`evaluate`): the policy's [evaluation] indicators are the parts of the 100-point
   scheme (id, name, max points; :class:`reviewer.evaluation_scheme.Scheme`, checked when the
   policy loads).  Each part is scored by a *rule* (:class:`PartRule`) mapping one
   or more indicator columns, each against its declared target, through a scoring curve:

   * ``linear`` (DEFAULT): with r = value / target, points = max * clip((r - floor) / (full - floor), 0, 1),
     i.e. 0 points at or below ``floor`` x target, full points at ``full`` x target or above;
   * ``step``: full points when r >= full, else 0.

   Several inputs in one part (IP = invention grants and standards; talent = R&D input and R&D
   staff) are combined as the weighted mean of their curve fractions.  The part ``build_targets``
   compares the cumulative build completion with the *schedule* — the share of the build period
   (``build_period_years``) elapsed at the end of the evaluated year.
   A part may instead be **judged by experts**: rows of an expert score table (centre, year, part,
   expert, score 0..max) replace that part's curve points for that centre-year, aggregated with
   the policy's aggregator (:func:`reviewer.scoring.aggregation.make_aggregator`, DEFAULT trimmed mean).
   A part configured ``curve = "expert"`` with no expert scores leaves the evaluation incomplete
   (never zero).
3. **Bands** from policy ``evaluation.bands`` (优秀 >= 90, 良好 >= 80, 合格 >= 60, 不合格 below);
   the lowest band is a *fail* for the life cycle (:mod:`reviewer.centres.lifecycle`).

Policy keys of the scheme (documented defaults apply when absent)::

    [evaluation]
    evaluation_month_day = "12-31"    # the evaluation of year Y is dated Y-12-31 unless the file says
    targets_met_completion = 1.0      # build completion at which the build targets count as met
    fail_bands = ["不合格"]            # bands that count as a failed evaluation
    [evaluation.scoring.<part id>]    # per part, overriding reviewer.evaluation_scheme.DEFAULT_RULES
    inputs = [{ column = "contract_count", target = "target_contract_count", weight = 1.0 }]
    curve = "linear"                  # linear | step | expert
    floor = 0.2                       # share of the target that earns 0 points
    full = 1.0                        # share of the target that earns full points
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from reviewer.centres.states import parse_state
from reviewer.centres.tables import CENTRES, EXPERT_SCORES, INDICATORS, RATE_KEYS, ZH, Loaded, as_date, load_rows
from reviewer.errors import UserError
from reviewer.evaluation_scheme import DEFAULT_RULES, Input, PartRule, Scheme
from reviewer.policy import Policy
from reviewer.scoring.aggregation import make_aggregator, round_half

# Re-exported: the file layouts, loader and scheme are part of this module's interface.
__all__ = ["CENTRES", "DEFAULT_RULES", "EXPERT_SCORES", "INDICATORS", "RATE_KEYS", "ZH", "Evaluated",
           "EvaluationResult", "Input", "Loaded", "PartResult", "PartRule", "Scheme", "add_years", "build_deadline",
           "evaluate", "load_centres", "load_expert_scores", "load_indicators", "load_rows", "schedule_share"]


# ----------------------------------------------------------------------------- dates

def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def build_deadline(build_start: dt.date, years: int = 3) -> dt.date:
    """Last day of the build period: the build period runs from `build_start` up to and including
    this date, `years` calendar years later (建设期最长不超过 3 年)."""
    return add_years(build_start, years)


def schedule_share(build_start: dt.date | None, year: int, years: int, first_year: int | None = None) -> float:
    """Share of the build period elapsed at the end of `year` (what cumulative completion should be)."""
    end = dt.date(year, 12, 31)
    if build_start is None:
        start_year = first_year if first_year is not None else year
        return min(1.0, max(1, year - start_year + 1) / years)
    total = (build_deadline(build_start, years) - build_start).days
    return float(min(1.0, max((end - build_start).days + 1, 1) / total))


# ----------------------------------------------------------------------------- import

def load_centres(path: str | Path, policy: Policy, sheet: str | None = None) -> Loaded:
    """Pilot centres (试点中心): id, name, field (one of the policy's key fields), build start date."""
    fields = set(policy.fields.all)

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        out = []
        if r.get("field") not in fields:
            out.append(("field", r.get("field"), "one of the key fields (policy fields): " + "、".join(policy.fields.all)))
        if r.get("state") is not None:
            try:
                parse_state(r["state"])
            except UserError:
                out.append(("state", r["state"], "a state: 申报, 试点, 认定, 撤销 or 国家级"))
        b = r.get("build_start")
        if b is not None and not 1990 <= b.year <= 2100:
            out.append(("build_start", b, "a build start date between 1990 and 2100"))
        if b is not None and r.get("approval_year") is not None and not 0 <= b.year - r["approval_year"] <= 2:
            out.append(("build_start", b, f"a build start in or shortly after the approval year {r['approval_year']}"))
        return out

    return load_rows(path, CENTRES, check=check, sheet=sheet)


def load_indicators(path: str | Path, policy: Policy, scheme: Scheme | None = None,
                    centres: pd.DataFrame | None = None, sheet: str | None = None) -> Loaded:
    """Annual indicators (年度指标), validated: every column the scheme scores is required, values
    >= 0, rates 0..1, targets > 0, known centre id (when `centres` is given), a year on or after the
    centre's build start and no later than the policy year."""
    scheme = scheme or Scheme.from_policy(policy)
    starts = {} if centres is None else dict(zip(centres["centre_id"], centres["build_start"].map(as_date)))
    max_year = max(policy.meta.year, policy.as_of_date().year)

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        out: list[tuple[str | None, Any, str]] = []
        y = r["year"]
        if not 1990 <= y <= max_year:
            out.append(("year", y, f"a year between 1990 and {max_year}"))
        if centres is not None:
            if r["centre_id"] not in starts:
                out.append(("centre_id", r["centre_id"], "a centre id present in the centres file (试点中心)"))
            elif starts[r["centre_id"]] is not None and y < starts[r["centre_id"]].year:
                out.append(("year", y, f"a year on or after the build start ({starts[r['centre_id']].isoformat()})"))
        for k in scheme.value_columns():
            if k.startswith("target_") and r.get(k) is not None and r[k] <= 0:
                out.append((k, r[k], f"a target > 0 ({ZH[k]}): a zero target cannot be scored"))
        return out

    return load_rows(path, INDICATORS, required=scheme.value_columns(), check=check, sheet=sheet)


def load_expert_scores(path: str | Path, policy: Policy, scheme: Scheme | None = None,
                       sheet: str | None = None) -> Loaded:
    """Expert scores of expert-judged parts: part id or name of a policy indicator, 0 <= score <= max."""
    scheme = scheme or Scheme.from_policy(policy)

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        p = scheme.part(str(r["part"]))
        if p is None:
            return [("part", r["part"], "a part of the evaluation: " + ", ".join(f"{q.id} {q.name}" for q in scheme.parts))]
        r["part"] = p.id
        if not 0 <= r["score"] <= p.max:
            return [("score", r["score"], f"points between 0 and {p.max:g} ({p.name})")]
        return []

    return load_rows(path, EXPERT_SCORES, check=check, sheet=sheet)


# ----------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class PartResult:
    part: str
    name: str
    max: float
    points: float | None      # None: not scored (expert-judged part without scores)
    fraction: float | None
    method: str               # curve description or "expert: trimmed (n=5)"
    detail: str


@dataclass(frozen=True)
class EvaluationResult:
    """One centre's evaluation of one year; serialises to a plain dict (`as_dict`)."""
    centre_id: str
    year: int
    date: dt.date
    total: float | None       # points, out of the scheme's max_total
    score: float | None       # on the 100-point scale of the bands
    band: str                 # "" when incomplete
    failed: bool
    complete: bool
    build_completion: float | None
    schedule: float | None
    targets_met: bool         # build completion >= targets_met_completion
    parts: tuple[PartResult, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EvaluationResult":
        d = dict(d)
        d["date"] = dt.date.fromisoformat(d["date"]) if isinstance(d["date"], str) else d["date"]
        d["parts"] = tuple(PartResult(**p) for p in d.get("parts", ()))
        return cls(**d)


@dataclass
class Evaluated:
    """Result of :func:`evaluate`: wide scores, long part breakdown and the records."""
    scores: pd.DataFrame       # one row per centre-year: points per part, total, score, band, failed
    parts: pd.DataFrame        # one row per centre-year-part with method and detail
    records: list[EvaluationResult]
    scheme: Scheme

    def for_centre(self, centre_id: str) -> list[EvaluationResult]:
        return sorted((r for r in self.records if r.centre_id == centre_id), key=lambda r: r.year)


def _fmt(x: float) -> str:
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _aggregate_experts(expert_scores: pd.DataFrame, policy: Policy, method: str | None) -> pd.DataFrame:
    """Aggregate expert points per (centre, year, part) with the policy's aggregator."""
    if expert_scores is None or expert_scores.empty:
        return pd.DataFrame(columns=["centre_id", "year", "part", "points", "n", "rule", "method"])
    d = expert_scores.copy()
    d["application_id"] = d["centre_id"].astype(str) + "\x1f" + d["year"].astype(int).astype(str) + "\x1f" + d["part"]
    agg = make_aggregator(method, policy)
    if hasattr(agg, "criteria"):
        agg.criteria, agg.families = None, None   # parts are not rubric criteria
    res = agg.fit(d[["expert_id", "application_id", "score"]])
    keys = res["application_id"].str.split("\x1f", expand=True)
    return pd.DataFrame({"centre_id": keys[0], "year": keys[1].astype(int), "part": keys[2],
                         "points": res["score"].astype(float), "n": res["n_scores"].astype(int),
                         "rule": res["rule"].astype(str), "method": agg.method})


def _score_part(p: PartRule, df: pd.DataFrame, sched: np.ndarray, ex_map: dict, scheme: Scheme
                ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Points, fractions, details and methods of part `p` for every row of `df`: its curve over
    the inputs, replaced by the experts' aggregated points where `ex_map` has them."""
    n = len(df)
    frac = np.full(n, np.nan)
    det = [""] * n
    if p.curve != "expert":
        num = np.zeros(n)
        wsum = sum(i.weight for i in p.inputs)
        parts_txt: list[list[str]] = [[] for _ in range(n)]
        for i in p.inputs:
            v = pd.to_numeric(df[i.column], errors="coerce").to_numpy(dtype=float)
            t = sched if i.target == "schedule" else pd.to_numeric(df[i.target], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(t > 0, v / t, np.nan)
            f = p.fraction(r)
            num = num + i.weight * f
            for j in range(n):
                tname = "schedule" if i.target == "schedule" else "target"
                parts_txt[j].append(f"{i.column} {_fmt(v[j])} / {tname} {_fmt(t[j])} = {r[j]:.2f}")
        frac = num / wsum
        det = ["; ".join(x) for x in parts_txt]
    meth = [p.describe()] * n
    for j in range(n):
        e = ex_map.get((df.at[j, "centre_id"], int(df.at[j, "year"]), p.id))
        if e is not None and not math.isnan(e.points):
            frac[j] = e.points / p.max
            meth[j] = f"expert: {e.method} ({e.rule}, n={e.n})"
            det[j] = f"panel of {e.n} experts: {e.points:g} / {p.max:g}"
    pts = np.where(np.isnan(frac), np.nan, round_half(np.nan_to_num(frac) * p.max, scheme.decimals, scheme.rounding))
    return pts, frac, det, meth


def evaluate(indicators: pd.DataFrame, policy: Policy, centres: pd.DataFrame | None = None,
             expert_scores: pd.DataFrame | None = None, scheme: Scheme | None = None,
             aggregation_method: str | None = None) -> Evaluated:
    """Score every centre-year of `indicators` (canonical columns, e.g. ``load_indicators(...).frame``).

    `centres` gives build start dates for the build-target schedule (without it the schedule counts
    years from each centre's first indicator year).  `expert_scores` (centre_id, year, part,
    expert_id, score) replaces curve points of the parts and centre-years it covers.
    """
    scheme = scheme or Scheme.from_policy(policy)
    df = indicators.reset_index(drop=True).copy()
    missing = [c for c in ("centre_id", "year", *scheme.value_columns()) if c not in df.columns]
    if missing:
        raise UserError(f"indicators: missing column(s) {', '.join(ZH.get(c, c) + ' ' + c for c in missing)}")
    starts = {} if centres is None else dict(zip(centres["centre_id"], centres["build_start"].map(as_date)))
    first_year = df.groupby("centre_id")["year"].transform("min") if len(df) else pd.Series(dtype=int)
    sched = np.array([schedule_share(starts.get(c), int(y), scheme.build_period_years, int(f))
                      for c, y, f in zip(df["centre_id"], df["year"], first_year)], dtype=float)
    experts = _aggregate_experts(expert_scores, policy, aggregation_method)
    ex_map = {(r.centre_id, int(r.year), r.part): r for r in experts.itertuples(index=False)}

    n = len(df)
    points: dict[str, np.ndarray] = {}
    fractions: dict[str, np.ndarray] = {}
    details: dict[str, list[str]] = {}
    methods: dict[str, list[str]] = {}
    for p in scheme.parts:
        points[p.id], fractions[p.id], details[p.id], methods[p.id] = _score_part(p, df, sched, ex_map, scheme)

    out = df[["centre_id", "year"]].copy()
    for p in scheme.parts:
        out[p.id] = points[p.id]
    mat = np.column_stack([points[p.id] for p in scheme.parts]) if scheme.parts else np.zeros((n, 0))
    complete = ~np.isnan(mat).any(axis=1)
    total = np.where(complete, round_half(np.nansum(mat, axis=1), scheme.decimals, scheme.rounding), np.nan)
    score = np.where(complete, round_half(total * 100.0 / scheme.max_total, scheme.decimals, scheme.rounding)
                     if scheme.max_total else np.nan, np.nan)
    bands = [scheme.band(float(s)) if c else "" for s, c in zip(score, complete)]
    if "evaluation_date" in df.columns:
        dates = [(as_date(d) or scheme.evaluation_date(int(y))) for d, y in zip(df["evaluation_date"], df["year"])]
    else:
        dates = [scheme.evaluation_date(int(y)) for y in df["year"]]
    comp = (pd.to_numeric(df["build_completion"], errors="coerce").to_numpy(dtype=float)
            if "build_completion" in df.columns else np.full(n, np.nan))
    out["total"] = total
    out["score"] = score
    out["band"] = bands
    out["failed"] = [scheme.is_fail(b) for b in bands]
    out["complete"] = complete
    out["build_completion"] = comp
    out["schedule"] = np.round(sched, 4)
    out["targets_met"] = np.nan_to_num(comp, nan=-1) >= scheme.targets_met_completion - 1e-12
    out["evaluation_date"] = dates
    out = out.sort_values(["centre_id", "year"], kind="stable").reset_index(drop=True)

    long_rows, records = [], []
    for j in range(n):
        prs = []
        for p in scheme.parts:
            pt, fr = points[p.id][j], fractions[p.id][j]
            pr = PartResult(p.id, p.name, p.max, None if np.isnan(pt) else float(pt),
                            None if np.isnan(fr) else round(float(fr), 4), methods[p.id][j], details[p.id][j])
            prs.append(pr)
            long_rows.append({"centre_id": df.at[j, "centre_id"], "year": int(df.at[j, "year"]), **asdict(pr)})
        c = bool(complete[j])
        records.append(EvaluationResult(
            centre_id=str(df.at[j, "centre_id"]), year=int(df.at[j, "year"]), date=dates[j],
            total=float(total[j]) if c else None, score=float(score[j]) if c else None, band=bands[j],
            failed=scheme.is_fail(bands[j]), complete=c,
            build_completion=None if np.isnan(comp[j]) else float(comp[j]), schedule=round(float(sched[j]), 4),
            targets_met=bool(np.nan_to_num(comp[j], nan=-1) >= scheme.targets_met_completion - 1e-12),
            parts=tuple(prs)))
    records.sort(key=lambda r: (r.centre_id, r.year))
    parts_df = pd.DataFrame(long_rows, columns=["centre_id", "year", "part", "name", "max", "points", "fraction",
                                                "method", "detail"])
    return Evaluated(out, parts_df.sort_values(["centre_id", "year"], kind="stable").reset_index(drop=True),
                     records, scheme)
