"""Written opinions (评审意见) and when one is required (issue 16 item 5).

An expert's total that lies more than the policy's outlier distance (`aggregation.outlier_points`,
the distance at which the outlier check flags a score) from the median of its panel's totals must come
with a written opinion saying why: a deviating score is allowed, an unexplained one is not. The
panel's totals are every current (non-void) total of the panel — those already stored and those
submitted now (a resubmission replaces the expert's stored total). The check runs when scores are
submitted (reviewer.store.opinions.submit_scores_with_opinions, the one path of the CLI and the app);
`required_missing` lists stored totals that became outliers later (when other experts' scores came
in) and still have no opinion.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reviewer.policy import Policy

OPINION_COLUMNS = ["stage", "application_id", "expert_id", "text", "total", "file", "row"]
KEY = ["stage", "application_id", "expert_id"]


def opinion_rule(policy: Policy) -> str:
    """The rule as the sheet and the messages state it."""
    return (f"得分与专家组中位数相差超过 {policy.aggregation.outlier_points:g} 分的，须填写评审意见说明理由 / a total more "
            f"than {policy.aggregation.outlier_points:g} points from the panel median needs a written opinion")


def totals_of(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (stage, application, expert): the total of the valid (non-void) criterion scores."""
    if scores.empty:
        return pd.DataFrame(columns=[*KEY, "total"])
    valid = scores[~scores["void"].astype(bool)] if "void" in scores.columns else scores
    return valid.groupby(KEY, as_index=False).agg(total=("score", "sum"))


def complete_only(totals: pd.DataFrame, scores: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The totals whose scores cover every criterion of their stage's instrument: a partly returned
    sheet has no meaningful total yet, so it is neither an outlier nor a panel member's total for the
    opinion rule (it becomes one when the rest comes in)."""
    if totals.empty or "criterion" not in scores.columns:
        return totals
    valid = scores[~scores["void"].astype(bool)] if "void" in scores.columns else scores
    have = valid.groupby(KEY)["criterion"].agg(lambda c: set(map(str, c))).to_dict()
    need = {st: {c.id for c in policy.instrument(st).criteria} for st in policy.stages.order}
    keep = [need.get(k[0], set()) <= have.get(k, set()) for k in totals[KEY].itertuples(index=False, name=None)]
    return totals[keep].reset_index(drop=True)


def panel_totals(stored: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Every current total: the stored ones, replaced by the new ones of the same key."""
    both = pd.concat([stored[[*KEY, "total"]].assign(_new=False), new[[*KEY, "total"]].assign(_new=True)],
                     ignore_index=True)
    return both.drop_duplicates(KEY, keep="last")


def outliers(totals: pd.DataFrame, points: float) -> pd.DataFrame:
    """The totals more than `points` from their panel's median, with that median and the panel's size."""
    if totals.empty:
        return totals.assign(median=[], n=[])
    t = totals.copy()
    g = t.groupby(["stage", "application_id"])["total"]
    t["median"], t["n"] = g.transform("median"), g.transform("size")
    return t[(t["total"] - t["median"]).abs() > points + 1e-9]


def has_text(value) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and bool(str(value).strip())


def missing_opinion_lines(new_scores: pd.DataFrame, new_opinions: pd.DataFrame, stored_totals: pd.DataFrame,
                          stored_opinions: set[tuple[str, str, str]], policy: Policy) -> list[str]:
    """One refusal line per new total that is an outlier of its panel and has no opinion (neither in
    this submission nor already stored), naming the file, row, expert and application."""
    new_totals = complete_only(totals_of(new_scores), new_scores, policy)
    if new_totals.empty:
        return []
    out_ = outliers(panel_totals(stored_totals, new_totals), policy.aggregation.outlier_points)
    mine = out_.merge(new_totals[KEY], on=KEY)
    given = {tuple(k) for k, text in zip(new_opinions[KEY].itertuples(index=False), new_opinions["text"])
             if has_text(text)} if not new_opinions.empty else set()
    where = {}
    for frame in (new_scores, new_opinions):   # the sheet row of each total (the opinion rows carry it too)
        if {"file", "row"} <= set(frame.columns):
            for x in frame.itertuples(index=False):
                if has_text(x.file):
                    where.setdefault((x.stage, x.application_id, x.expert_id), (Path(str(x.file)).name, x.row))
    lines = []
    for x in mine.itertuples(index=False):
        key = (x.stage, x.application_id, x.expert_id)
        if key in given or key in stored_opinions:
            continue
        f, row = where.get(key, ("", None))
        at = f"{f}: 第 {row} 行 row {row}, " if f else ""
        lines.append(f"{at}专家 expert {x.expert_id}, 申报 application {x.application_id} ({x.stage}): 合计 {x.total:g} 与"
                     f"专家组中位数 {x.median:g} 相差 "
                     f"{abs(x.total - x.median):g} 分，超过 {policy.aggregation.outlier_points:g} 分，须填写评审意见 / the total "
                     f"{x.total:g} is {abs(x.total - x.median):g} from the panel median {x.median:g} (more than "
                     f"{policy.aggregation.outlier_points:g}): the 评审意见 column must say why")
    return lines


OPINION_HEADERS = ("评审意见", "opinion", "意见", "专家意见")


def opinions_from_table(raw: pd.DataFrame, good: pd.DataFrame, path) -> pd.DataFrame:
    """评审意见 of a long score table (a 评审意见/opinion column, any row of the expert × application;
    the first non-blank one counts), for the rows kept in `good` (with `source_row`, `stage`)."""
    col = next((c for c in raw.columns if str(c).strip().lower() in OPINION_HEADERS), None)
    if col is None or good.empty or "source_row" not in good.columns:
        return pd.DataFrame(columns=OPINION_COLUMNS)
    text = raw[col].tolist()
    out: dict[tuple, dict] = {}
    for x in good.itertuples(index=False):
        v = text[int(x.source_row) - 2] if 0 <= int(x.source_row) - 2 < len(text) else None
        key = (x.stage, x.application_id, x.expert_id)
        if has_text(v) and key not in out:
            out[key] = {"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id,
                        "text": str(v).strip(), "total": None, "file": str(path), "row": int(x.source_row)}
    return pd.DataFrame(list(out.values()), columns=OPINION_COLUMNS)
