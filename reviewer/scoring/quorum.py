"""Quorum of a panel's scores (issue 11 item 8): an application is ranked only when enough of its
experts returned a valid total; below the quorum it is listed as 评分不足 (insufficient scores)
with who is missing, and kept out of the ranking and the recognition decision.

The number of valid totals an application needs (:func:`required_scores`) is the largest of

* ``[aggregation] min_scores`` (the count rule, applies everywhere);
* what the estimator needs: the trimmed and winsorised means drop k highest and k lowest, so
  they need 2k + 1 scores;
* ``ceil(quorum_share x seats)`` when the application's panel is known (in the store: the
  published, active seats of the stage); for a score file the panel is unknown and only the
  two rules above apply.

A valid total is an expert's complete total (:func:`reviewer.scoring.scores.normalize_scores`):
an expert with a missing criterion counts as missing, never as a partial score.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from reviewer.policy import Policy
from reviewer.scoring.scores import APP, EXPERT, PANEL, SCORE

__all__ = ["STATUS_OK", "STATUS_INSUFFICIENT", "STATUS_ZH", "QUORUM_COLUMNS", "required_scores",
           "quorum_table", "insufficient_lines"]

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_scores"
STATUS_ZH = {STATUS_OK: "有效 ok", STATUS_INSUFFICIENT: "评分不足 insufficient scores"}
QUORUM_COLUMNS = ["status", "status_zh", "n_panel", "n_required", "missing_experts", "quorum_note"]


def required_scores(policy: Policy, method: str, *, trim: int | None = None, panel_size: int | None = None) -> int:
    """Valid expert totals an application needs to be ranked (see the module doc; computed by
    :meth:`reviewer.policy.Aggregation.required_scores`)."""
    return policy.aggregation.required_scores(method, trim=trim, panel_size=panel_size)


def quorum_table(totals: pd.DataFrame, policy: Policy, method: str, *, trim: int | None = None,
                 panels: Mapping[str, Iterable[str]] | None = None) -> pd.DataFrame:
    """One row per application of `totals` (expert totals, NaN = absent or incomplete) and of
    `panels` (application_id -> the expert ids of its panel; None when unknown): application_id,
    the panel column when `totals` has one, n_scores and the QUORUM_COLUMNS."""
    panels = {str(k): sorted({str(e) for e in v}) for k, v in (panels or {}).items()}
    valid = totals[totals[SCORE].notna()]
    scorers = valid.groupby(APP, observed=True)[EXPERT].agg(lambda s: set(map(str, s))).to_dict()
    apps = sorted({*map(str, totals[APP].unique()), *panels})
    stage = None
    if PANEL in totals.columns:
        stage = totals.drop_duplicates(APP).set_index(APP)[PANEL].to_dict()
    rows = []
    for app in apps:
        have = scorers.get(app, set())
        seats = panels.get(app)
        need = required_scores(policy, method, trim=trim, panel_size=len(seats) if seats else None)
        missing = [e for e in seats if e not in have] if seats else []
        ok = len(have) >= need
        row = {APP: app, "n_scores": len(have), "status": STATUS_OK if ok else STATUS_INSUFFICIENT,
               "status_zh": STATUS_ZH[STATUS_OK if ok else STATUS_INSUFFICIENT],
               "n_panel": len(seats) if seats else np.nan, "n_required": need,
               "missing_experts": ";".join(missing), "quorum_note": _note(len(have), need, seats, missing, ok)}
        if stage is not None:
            row[PANEL] = stage.get(app, next(iter(stage.values()), None))
        rows.append(row)
    cols = [*([PANEL] if stage is not None else []), APP, "n_scores", *QUORUM_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def _note(n: int, need: int, seats: list[str] | None, missing: list[str], ok: bool) -> str:
    of = f"{n}/{len(seats)}" if seats else f"{n}"
    if ok:
        return f"{of} 份有效评分，达到法定人数 {need} / {of} valid scores, quorum {need} met"
    who_zh = f"；缺评专家 {'、'.join(missing)}" if missing else ""
    who_en = f"; missing: {', '.join(missing)}" if missing else ""
    return (f"评分不足：{of} 份有效评分，至少需要 {need} 份，不予排名{who_zh} / insufficient scores: {of} valid, "
            f"at least {need} needed; not ranked{who_en}")


def insufficient_lines(res: pd.DataFrame) -> list[str]:
    """One line per application of an aggregation result that is below its quorum."""
    if "status" not in res.columns:
        return []
    low = res[res["status"] == STATUS_INSUFFICIENT]
    return [f"{x[APP]}: {x['quorum_note']}" for x in low.to_dict(orient="records")]
