"""Reports of the annual evaluation (SPEC §7, issue 7 item 5).

* :func:`annual_list` — the department's annual list: every centre's score and band for a year
  with the action (继续支持 continue / 限期整改 rectify / 撤销 revoke) and the reason;
* :func:`trend_frame` / :func:`trend_chart` — per centre, the multi-year trend of each indicator
  against its declared target, and the score against the band thresholds (Altair);
  :func:`save_chart` writes HTML, and PNG only when ``vl-convert-python`` is installed;
* :func:`write_report` — one .xlsx workbook with the list, scores, parts, states, transitions and
  the subsidy ledger with its totals, plus the charts.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
import altair as alt
import pandas as pd

from reviewer.centres.evaluation import Evaluated, EvaluationResult
from reviewer.centres.lifecycle import Replay
from reviewer.centres.states import State
from reviewer.centres.tables import INDICATORS, ZH
from reviewer.exports import date_text, write_xlsx

ACTIONS = {"continue": "继续支持", "rectify": "限期整改", "revoke": "撤销", "pending": "待补评"}

LIST_COLUMNS = ["year", "centre_id", "name", "field", "score", "band", "action", "action_zh", "state", "reason"]


def _action(e: EvaluationResult, replay: Replay | None) -> tuple[str, str, str]:
    """(action, state as of the end of the evaluated year, reason) for one evaluation."""
    life = replay.lives.get(e.centre_id) if replay is not None else None
    state = life.state_on(e.date).value if life is not None else ""
    revoked = next((t for t in life.history if t.to_state == State.REVOKED.value), None) if life else None
    if revoked is not None and revoked.date.year <= e.year:
        when = "" if revoked.date.year == e.year else f"(已于 {revoked.date.isoformat()} 撤销 / revoked earlier) "
        return "revoke", State.REVOKED.value, when + revoked.reason
    if not e.complete:
        return "pending", state, "评分不完整：有专家评议项未评 / incomplete: an expert-judged part has no scores"
    if e.failed:
        nxt = "再次不合格将撤销 / a further consecutive fail revokes"
        return "rectify", state, f"{e.year} 年度考核{e.band} ({e.score:g})，限期整改；{nxt}"
    recog = next((t for t in life.history if t.to_state == State.RECOGNISED.value and t.date.year == e.year), None) \
        if life else None
    if recog is not None:
        return "continue", state, recog.reason
    return "continue", state, f"{e.year} 年度考核{e.band} ({e.score:g}) / evaluation passed"


def annual_list(evaluated: Evaluated, replay: Replay | None = None, year: int | None = None,
                centres: pd.DataFrame | None = None) -> pd.DataFrame:
    """The annual list (年度考核结果名单): one row per centre evaluated in `year` (default: every year),
    best score first within a year."""
    info = {} if centres is None else centres.set_index("centre_id")[["name", "field"]].to_dict("index")
    rows = []
    for e in evaluated.records:
        if year is not None and e.year != year:
            continue
        action, state, reason = _action(e, replay)
        life = replay.lives.get(e.centre_id) if replay else None
        name = info.get(e.centre_id, {}).get("name") or (life.name if life else "")
        fld = info.get(e.centre_id, {}).get("field") or (life.field if life else "")
        rows.append({"year": e.year, "centre_id": e.centre_id, "name": name, "field": fld, "score": e.score,
                     "band": e.band, "action": action, "action_zh": ACTIONS[action], "state": state, "reason": reason})
    df = pd.DataFrame(rows, columns=LIST_COLUMNS)
    if len(df):
        df = df.sort_values(["year", "score", "centre_id"], ascending=[True, False, True], na_position="last",
                            kind="stable").reset_index(drop=True)
    return df


# ----------------------------------------------------------------------------- trends

TREND_COLUMNS = ["centre_id", "year", "indicator", "indicator_zh", "value", "target", "ratio"]


def trend_frame(indicators: pd.DataFrame, evaluated: Evaluated | None = None, centre_id: str | None = None) -> pd.DataFrame:
    """Long table of each targeted indicator's value and target per centre and year; build completion
    is compared with the schedule (share of the build period elapsed) when `evaluated` is given."""
    d = indicators if centre_id is None else indicators[indicators["centre_id"] == centre_id]
    rows = []
    targeted = [c.key[len("target_"):] for c in INDICATORS.columns if c.key.startswith("target_")]
    sched = {} if evaluated is None else {(r.centre_id, r.year): r.schedule for r in evaluated.records}
    for r in d.to_dict("records"):
        for k in targeted:
            if k in r and f"target_{k}" in r and pd.notna(r[k]):
                t = r[f"target_{k}"]
                rows.append({"centre_id": r["centre_id"], "year": int(r["year"]), "indicator": k,
                             "indicator_zh": ZH[k], "value": float(r[k]),
                             "target": None if pd.isna(t) else float(t),
                             "ratio": None if pd.isna(t) or not t else round(float(r[k]) / float(t), 4)})
        if "build_completion" in r and pd.notna(r["build_completion"]):
            s = sched.get((r["centre_id"], int(r["year"])))
            rows.append({"centre_id": r["centre_id"], "year": int(r["year"]), "indicator": "build_completion",
                         "indicator_zh": ZH["build_completion"], "value": float(r["build_completion"]),
                         "target": s, "ratio": None if not s else round(float(r["build_completion"]) / s, 4)})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def trend_chart(centre_id: str, indicators: pd.DataFrame, evaluated: Evaluated, title: str = "") -> alt.VConcatChart:
    """Score per year against the band thresholds, and each indicator (solid) against its target (dashed)."""
    scores = pd.DataFrame([{"year": r.year, "score": r.score, "band": r.band} for r in evaluated.for_centre(centre_id)])
    bands = pd.DataFrame([{"band": b, "threshold": lo} for b, lo in evaluated.scheme.bands if lo > 0])
    x = alt.X("year:O", title="年度 year")
    score_line = alt.Chart(scores).mark_line(point=True).encode(
        x=x, y=alt.Y("score:Q", title="考核得分 score", scale=alt.Scale(domain=[0, 100])),
        tooltip=["year:O", "score:Q", "band:N"])
    rules = alt.Chart(bands).mark_rule(strokeDash=[4, 4], color="gray").encode(y="threshold:Q", tooltip=["band:N", "threshold:Q"])
    labels = alt.Chart(bands).mark_text(align="left", dx=4, dy=-6, color="gray").encode(y="threshold:Q", text="band:N")
    top = alt.layer(rules, labels, score_line).properties(width=420, height=180, title=f"{title or centre_id} 考核得分")

    tf = trend_frame(indicators, evaluated, centre_id)
    long = pd.concat([
        tf.assign(series="实际 value")[["year", "indicator_zh", "series", "value"]],
        tf.dropna(subset=["target"]).assign(series="目标 target", value=lambda d: d["target"])[
            ["year", "indicator_zh", "series", "value"]],
    ], ignore_index=True)
    base = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=["实际 value", "目标 target"],
                                                                range=["#1f77b4", "#d62728"])),
        strokeDash=alt.StrokeDash("series:N", legend=None, scale=alt.Scale(domain=["实际 value", "目标 target"],
                                                                           range=[[1, 0], [5, 3]])),
        tooltip=["year:O", "indicator_zh:N", "series:N", alt.Tooltip("value:Q", format=",.4~g")])
    facets = base.properties(width=180, height=120).facet(
        facet=alt.Facet("indicator_zh:N", title="指标 vs 目标 indicator vs target"), columns=4
    ).resolve_scale(y="independent")
    return alt.vconcat(top, facets).properties(title=f"{centre_id} {title}".strip())


def png_available() -> bool:
    return importlib.util.find_spec("vl_convert") is not None


def save_chart(chart: alt.TopLevelMixin, stem: str | Path) -> list[Path]:
    """Write STEM.html (always) and STEM.png (only when vl-convert-python is installed)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    html = stem.with_suffix(".html")
    chart.save(str(html))
    out = [html]
    if png_available():
        png = stem.with_suffix(".png")
        chart.save(str(png))
        out.append(png)
    return out


# ----------------------------------------------------------------------------- workbook

def _zh_headers(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    return df.rename(columns={k: f"{v} {k}" for k, v in names.items() if k in df.columns})


LIST_ZH = {"year": "年度", "centre_id": "中心编号", "name": "中心名称", "field": "领域", "score": "得分", "band": "等级",
           "action": "处理", "action_zh": "处理意见", "state": "状态", "reason": "理由"}


def report_sheets(evaluated: Evaluated, replay: Replay | None = None, centres: pd.DataFrame | None = None,
                  indicators: pd.DataFrame | None = None, year: int | None = None) -> dict[str, pd.DataFrame]:
    sheets: dict[str, pd.DataFrame] = {}
    years = sorted({r.year for r in evaluated.records})
    latest = year if year is not None else (years[-1] if years else None)
    full = annual_list(evaluated, replay, None, centres)
    if latest is not None:
        sheets[f"{latest}年度名单"] = _zh_headers(full[full["year"] == latest].reset_index(drop=True), LIST_ZH)
    sheets["历年名单 all years"] = _zh_headers(full, LIST_ZH)
    sc = evaluated.scores.copy()
    sc["evaluation_date"] = date_text(sc["evaluation_date"])
    sheets["各项得分 scores"] = sc.rename(columns={p.id: f"{p.name} {p.id} ({p.max:g})" for p in evaluated.scheme.parts})
    sheets["评分明细 parts"] = evaluated.parts
    if indicators is not None:
        sheets["指标趋势 trends"] = trend_frame(indicators, evaluated)
    if replay is not None:
        sheets["状态 states"] = replay.states()
        sheets["状态变迁 transitions"] = replay.transitions()
        sheets["补助台账 ledger"] = replay.ledger.frame()
        sheets["补助按年 by year"] = replay.ledger.totals_by_year()
        sheets["补助按领域 by field"] = replay.ledger.totals_by_field()
        if replay.refused:
            sheets["拒绝的变更 refused"] = pd.DataFrame({"message": replay.refused})
    sheets["评分规则 scheme"] = pd.DataFrame([{"part": p.id, "name": p.name, "max": p.max, "rule": p.describe()}
                                           for p in evaluated.scheme.parts])
    return sheets


def write_report(out: str | Path, evaluated: Evaluated, replay: Replay | None = None,
                 centres: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None,
                 year: int | None = None, charts: bool = True) -> list[Path]:
    """OUT/evaluation_report.xlsx (annual list and everything behind it) and OUT/trends/<centre>.html."""
    out = Path(out)
    paths = [write_xlsx(report_sheets(evaluated, replay, centres, indicators, year), out / "evaluation_report.xlsx")]
    if charts and indicators is not None:
        names = {} if centres is None else dict(zip(centres["centre_id"], centres["name"]))
        for cid in sorted({r.centre_id for r in evaluated.records}):
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in cid)
            paths += save_chart(trend_chart(cid, indicators, evaluated, names.get(cid, "")), out / "trends" / safe)
    return paths


def summary_lines(lst: pd.DataFrame) -> list[str]:
    """Plain lines of an annual list for the terminal."""
    return [f"  {r.centre_id} {r.name} {'' if pd.isna(r.score) else f'{r.score:g}'} {r.band} -> "
            f"{r.action_zh} {r.action}: {r.reason}" for r in lst.itertuples(index=False)]
