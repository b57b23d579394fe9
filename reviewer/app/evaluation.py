"""The staff app's annual evaluation view (考核评估, issue 7): plain functions over
reviewer.centres.evaluation and reviewer.centres.lifecycle, no Streamlit."""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reviewer.centres.evaluation import Scheme, evaluate, load_centres, load_indicators
from reviewer.centres.lifecycle import replay
from reviewer.centres.report import annual_list
from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.resources import DEMO_DIR


@dataclass
class EvaluationView:
    years: list[int]
    year: int
    annual: pd.DataFrame          # the annual list of `year`: score, band, action, state, reason
    scores: pd.DataFrame          # every centre-year: points per part, total, band
    bands: pd.DataFrame           # year x band counts
    issues: pd.DataFrame          # import problems (file, row, column, value, expected)
    centres: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _issues(loaded) -> pd.DataFrame:
    rows = [i.as_dict() for t in loaded for i in t.issues]
    df = pd.DataFrame(rows, columns=["severity", "file", "sheet", "row", "column", "value", "expected"])
    df["file"] = df["file"].map(lambda f: Path(str(f)).name if f else f)
    df["row"] = df["row"].astype("Int64")
    return df


def evaluate_files(indicators: str | Path, centres: str | Path | None, policy: Policy, year: int | None = None,
                   as_of: dt.date | None = None) -> EvaluationView:
    scheme = Scheme.from_policy(policy)
    cen = load_centres(centres, policy) if centres else None
    ind = load_indicators(indicators, policy, scheme, cen.frame if cen is not None else None)
    loaded = [x for x in (cen, ind) if x is not None]
    if ind.frame.empty:
        raise UserError(f"{Path(indicators).name}: no valid indicator rows ({ind.n_rejected} rejected)")
    ev = evaluate(ind.frame, policy, cen.frame if cen is not None else None, None, scheme)
    centres_df = cen.frame if cen is not None else pd.DataFrame(
        {"centre_id": sorted(ind.frame["centre_id"].unique()), "name": "", "field": "", "build_start": None})
    rp = replay(centres_df, ev, policy, as_of or policy.as_of_date(), scheme=scheme)
    years = sorted({r.year for r in ev.records})
    if year is not None and year not in years:
        raise UserError(f"year {year}: no evaluation of that year (years: {years})")
    shown = year or years[-1]
    lst = annual_list(ev, rp, shown, centres_df)
    bands = ev.scores.groupby(["year", "band"]).size().rename("n").reset_index()
    return EvaluationView(years, shown, lst, ev.scores, bands, _issues(loaded), centres_df)


def evaluate_demo(policy: Policy, year: int | None = None) -> EvaluationView:
    return evaluate_files(DEMO_DIR / "indicators.xlsx", DEMO_DIR / "past_centres.xlsx", policy, year)


def evaluate_uploads(indicators: tuple[str, bytes], centres: tuple[str, bytes] | None, policy: Policy,
                     year: int | None = None) -> EvaluationView:
    with tempfile.TemporaryDirectory() as tmp:
        ip = Path(tmp) / Path(indicators[0]).name
        ip.write_bytes(indicators[1])
        cp = None
        if centres is not None:
            cp = Path(tmp) / ("centres_" + Path(centres[0]).name)
            cp.write_bytes(centres[1])
        return evaluate_files(ip, cp, policy, year)
