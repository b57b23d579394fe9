"""The staff app's annual evaluation view (考核评估, issue 7; issue 13 item 13): plain functions over
reviewer.centres.evaluation and reviewer.centres.lifecycle, no Streamlit.

The page of a real round shows the evaluations stored in the store (`stored_evaluations`) and never
the bundled demo centres; an upload of a year's indicators is evaluated, shown, and recorded in the
store on the staff member's word (`record`: each centre-year once, audited). The bundled demo data
appear only in the demo round. Reports download as Excel (`report_xlsx`, `stored_report_xlsx`)."""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from reviewer.centres.evaluation import Scheme, evaluate, load_centres, load_indicators
from reviewer.centres.lifecycle import replay
from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.centres.report import annual_list, report_sheets
from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.policy import Policy
from reviewer.resources import DEMO_DIR
from reviewer.store import repo
from reviewer.store.evaluations import record_evaluations
from reviewer.store.models import AnnualEvaluation


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
    evaluated: Any = None         # reviewer.centres.evaluation.Evaluated (for recording and the report)
    replay: Any = None            # reviewer.centres.lifecycle.Replay


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
    return EvaluationView(years, shown, lst, ev.scores, bands, _issues(loaded), centres_df, evaluated=ev, replay=rp)


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


# ---------------------------------------------------------------- stored evaluations (the store)

STORED_COLS = ["centre_id", "name", "year", "score", "band", "state", "note", "evaluated_by", "evaluated_at"]
STORED_ZH = {"centre_id": "中心编号", "name": "中心名称", "year": "年度", "score": "得分", "band": "等级",
             "state": "状态", "note": "说明", "evaluated_by": "记录人", "evaluated_at": "记录时间"}


def stored_evaluations(year: int | None = None) -> pd.DataFrame:
    """The annual evaluations in the store (every centre-year recorded by this page or `reviewer
    evaluate --record`), best score first within a year; `year` keeps one year."""
    with app_store.store().read() as s:
        rows = [{"centre_id": e.centre_id, "name": e.centre_name, "year": e.year, "score": e.total, "band": e.band or "",
                 "state": e.state or "", "note": e.note, "evaluated_by": e.evaluated_by,
                 "evaluated_at": e.evaluated_at.isoformat(timespec="seconds") + "Z"}
                for e in s.query(AnnualEvaluation).order_by(AnnualEvaluation.year, AnnualEvaluation.centre_id)]
    df = pd.DataFrame(rows, columns=STORED_COLS)
    if year is not None:
        df = df[df["year"] == year]
    return df.sort_values(["year", "score", "centre_id"], ascending=[True, False, True], na_position="last",
                          ignore_index=True)


def record(view: EvaluationView, user: str | None, round_id: str | None = None) -> tuple[int, int]:
    """Record every centre-year of an evaluated upload in the store (one transaction, audited);
    a centre-year already stored is kept as it is. Returns (stored, kept)."""
    if view.evaluated is None:
        raise UserError("没有可记录的考核结果，请先上传年度指标 / nothing to record: upload the indicators first")
    names = dict(zip(view.centres["centre_id"], view.centres.get("name", pd.Series([""] * len(view.centres)))))
    states = {}
    if view.replay is not None:
        st = view.replay.states()
        if {"centre_id", "state"} <= set(st.columns):
            states = dict(zip(st["centre_id"], st["state"]))
    with app_store.store().write() as s:
        rid = repo.get_round(s, round_id).id if round_id is not None else None
        return record_evaluations(s, view.evaluated.records, user=acting_user(user), names=names,
                                  states=states, round_id=rid, note="系统考核页面记录 recorded in the app")


def report_xlsx(view: EvaluationView) -> bytes:
    """The evaluation report of an upload (annual list, every year, part scores, states, ledger) as .xlsx."""
    if view.evaluated is None:
        raise UserError("没有考核结果 / no evaluation to report")
    sheets = report_sheets(view.evaluated, view.replay, view.centres, year=view.year)
    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx(sheets, Path(tmp) / "evaluation_report.xlsx").read_bytes()


def stored_report_xlsx(year: int | None = None) -> bytes:
    """The stored evaluations (one year, or all) as a Chinese .xlsx."""
    df = stored_evaluations(year)
    if df.empty:
        raise UserError("系统中尚无考核记录 / no evaluation stored yet")
    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx({"考核名单": df.rename(columns=STORED_ZH)}, Path(tmp) / "evaluations.xlsx").read_bytes()


def stored_bands(df: pd.DataFrame) -> pd.DataFrame:
    """year x band counts of stored evaluations (the bands chart's input)."""
    return df[df["band"] != ""].groupby(["year", "band"]).size().rename("n").reset_index()

