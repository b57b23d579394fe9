"""Row checks of a long score table (issue 11 items 6 and 13), used by
:func:`reviewer.scoring.scoretable.validate_scores`.

Every check names file, row, column, value and what was expected; a bad row is rejected alone
and counts as a rejected row (the commands exit 1 unless --allow-partial):

* a score is a number from 0 to the criterion's maximum; in a table of totals (no criterion
  column) from 0 to the rubric's maximum (the sum of its criteria maxima);
* a criterion is a criterion of the rubric (its id, its name, or both as in "A1 研发投入强度"), or
  a total label (合计 / 总分 / total) whose score is checked against the sum of that expert's
  criterion scores for the application;
* the same expert, application (and criterion, and stage) twice: a repeated identical row is
  rejected and the first kept; different scores reject every copy (which one is right?).

A mistake that would reject most rows is reported once as its cause instead (:class:`UserError`):
a criterion table that lost its criterion column, or a criterion column of another rubric.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.intake.cells import CONTROL_CHARACTERS, shown_value
from reviewer.intake.schema import ID_CHARS, NAME_CHARS
from reviewer.policy import Policy

__all__ = ["TOTAL_LABELS", "is_blank", "number", "cell_text", "criterion_lookup", "check_cells", "check_structure",
           "check_duplicates", "check_total_rows"]

TOTAL_LABELS = ("合计", "总分", "总计", "total", "sum")
TOL = 1e-6


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def number(v: Any) -> float | None:
    """A cell as a number (thousands separators allowed), None when it is not one."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "").replace("，", "")
    try:
        return float(s)
    except ValueError:
        return None


def _key(v: Any) -> str:
    return re.sub(r"[\s_\-（）()]+", "", str(v)).lower()


def criterion_lookup(policy: Policy) -> dict[str, str]:
    """Accepted spellings of each criterion (normalised) -> its id; total labels -> ''."""
    out = {_key(t): "" for t in TOTAL_LABELS}
    for c in policy.rubric.criteria:
        for label in (c.id, c.name, f"{c.id} {c.name}", f"{c.id}{c.name}"):
            out[_key(label)] = c.id
    return out


def cell_text(v: Any) -> str | None:
    """A cell as clean text (an id read as 1001.0 is '1001'; control characters dropped, as at every
    import: reviewer.intake.cells.CONTROL_CHARACTERS); None when blank."""
    if is_blank(v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return CONTROL_CHARACTERS.sub("", str(v)).strip() or None


def check_structure(cols: dict[str, list], path: Path, policy: Policy) -> None:
    """One clear error for a mistake that would reject most rows (see the module doc)."""
    n = len(cols["score"])
    if "criterion" in cols:
        look = {k: v for st in policy.stages.order for k, v in criterion_lookup(policy.for_stage(st)).items()}
        look.update(criterion_lookup(policy))
        given = [v for v in cols["criterion"] if not is_blank(v)]
        if given and not any(_key(cell_text(v)) in look for v in given):
            seen = list(dict.fromkeys(cell_text(v) for v in given))[:5]
            ids = ", ".join(c.id for c in policy.rubric.criteria)
            raise UserError(f"{path}: column 评分项/criterion: 没有一项是本评分细则的评分项 / none of its values "
                            f"{seen} is a criterion of the policy's rubric; expected {ids} (or their names)")
        return
    keys = [tuple(cell_text(cols[c][i]) for c in ("panel", "expert_id", "application_id") if c in cols)
            for i in range(n)]
    distinct = len(set(keys))
    if n >= 4 and distinct * 2 <= n:
        first: dict[tuple, int] = {}
        ex = (0, 1)
        for i, k in enumerate(keys):
            if k in first:
                ex = (first[k], i)
                break
            first[k] = i
        raise UserError(f"{path}: 缺少 评分项/criterion 列 / missing column 评分项/criterion: {n} score rows for only "
                        f"{distinct} expert-application pairs (e.g. rows {ex[0] + 2} and {ex[1] + 2}); a table of "
                        f"criterion scores needs its 评分项/criterion column, a table of totals has one row per "
                        f"expert and application")


def check_cells(cols: dict[str, list], inv: dict[str, Any], policy: Policy
                ) -> tuple[list[tuple[int, str]], np.ndarray, np.ndarray, list[str | None], np.ndarray]:
    """Cell checks of every row: (errors as (row index, message), scores, confidences, criterion
    ids ('' for a total row, None without a criterion column), bad-row mask)."""
    n = len(cols["score"])
    seen: dict = {}
    errors: list[tuple[int, str]] = []
    scores, conf = np.full(n, np.nan), np.full(n, np.nan)
    crits: list[str | None] = [None] * n
    bad = np.zeros(n, dtype=bool)
    for i in range(n):
        msgs = [f"column {inv[c]!r} ({c}): empty; expected an id" for c in ("expert_id", "application_id")
                if cell_text(cols[c][i]) is None]
        msgs += [f"column {inv[c]!r} ({c}): value {shown_value(cols[c][i])!r}; expected at most {limit} characters"
                 for c, limit in (("expert_id", ID_CHARS), ("application_id", ID_CHARS), ("panel", NAME_CHARS))
                 if c in cols and len(cell_text(cols[c][i]) or "") > limit]
        look, maxpts, total_max = _instrument_of(policy, cols["panel"][i] if "panel" in cols else None, seen)
        ids = ", ".join(maxpts)
        crit, top = None, total_max
        if "criterion" in cols:
            raw = cell_text(cols["criterion"][i])
            crit = look.get(_key(raw)) if raw is not None else None
            if raw is None:
                msgs.append(f"column {inv['criterion']!r} (criterion): empty; 缺少评分项 / expected a criterion "
                            f"of the rubric ({ids}) or 合计 for the total")
            elif crit is None:
                msgs.append(f"column {inv['criterion']!r} (criterion): value {shown_value(raw)!r}; 不是评分细则中的评分项 / "
                            f"expected a criterion of the rubric ({ids}) or 合计 for the total")
            elif crit:
                top = maxpts[crit]
            crits[i] = crit
        msgs += _score_message(cols["score"][i], inv["score"], crit, top, scores, i)
        if "confidence" in cols and not is_blank(cols["confidence"][i]):
            x = number(cols["confidence"][i])
            if x is None or not (x > 0) or not np.isfinite(x):
                msgs.append(f"column {inv['confidence']!r} (confidence): value {shown_value(cols['confidence'][i])!r}; "
                            f"expected a positive number")
            else:
                conf[i] = x
        if msgs:
            bad[i] = True
            errors += [(i, m) for m in msgs]
    return errors, scores, conf, crits, bad


def _instrument_of(policy: Policy, stage_cell: Any, seen: dict) -> tuple[dict[str, str], dict[str, float], float]:
    """(criterion spellings -> id, criterion id -> max, total) of the instrument the row's stage is scored
    with (policy [stages.gates], reviewer.stage_gates); a row without a known stage: the [rubric]."""
    stage = cell_text(stage_cell)
    stage = stage if stage in policy.stages.order else None
    if stage not in seen:
        p = policy.for_stage(stage) if stage else policy
        seen[stage] = criterion_lookup(p), {c.id: c.max for c in p.rubric.criteria}, p.rubric.total
    return seen[stage]


def _score_message(v: Any, col: Any, crit: str | None, top: float, scores: np.ndarray, i: int) -> list[str]:
    """The score cell's problem, if any; a good score is written to scores[i]."""
    if is_blank(v):
        return []
    x = number(v)
    where = f"column {col!r} (score): value {shown_value(v)!r}; "
    if x is None or not np.isfinite(x):
        return [where + "expected a number (blank = not scored)"]
    if crit:
        if x < 0:
            return [where + "expected a number >= 0"]
        if x > top:
            return [where + f"expected 0..{top:g} for criterion {crit}"]
    elif not 0 <= x <= top:
        return [where + f"总分应在 0 至 {top:g} 之间 / expected a total from 0 to {top:g} (the rubric maximum, "
                        f"the sum of its criteria maxima)"]
    scores[i] = x
    return []


def check_duplicates(d: pd.DataFrame, ok: np.ndarray, inv: dict[str, Any]) -> list[tuple[int, str]]:
    """The same (stage,) expert, application (and criterion) more than once among the rows `ok`
    (updated in place: the rejected copies become not ok)."""
    key = [c for c in ("panel", "expert_id", "application_id", "criterion") if c in d.columns]
    col = "criterion" if "criterion" in d.columns else "expert_id"
    sub = d[ok]
    dup = sub[sub.duplicated(key, keep=False)]
    errors = []
    for _, g in dup.groupby(key, sort=False, dropna=False):
        idx = list(g.index)
        rows = [i + 2 for i in idx]
        vals = g["score"].tolist()
        same = all((np.isnan(a) and np.isnan(b)) or a == b for a, b in zip(vals, vals[1:]))
        for j, i in enumerate(idx):
            if same and j == 0:
                continue
            ok[i] = False
            what = (f"same as row {rows[0]}: 重复的行，保留一行 / a repeated row, kept once" if same else
                    f"重复评分 / {len(idx)} rows with different scores {[f'{v:g}' for v in vals]} for the same expert, "
                    f"application and criterion in rows {rows}: all copies set aside (which one is right?)")
            errors.append((i, f"column {inv[col]!r} ({col}): value {shown_value(d.at[i, col])!r}; {what}"))
    return errors


def check_total_rows(d: pd.DataFrame, ok: np.ndarray, inv: dict[str, Any], raw: list
                     ) -> tuple[list[tuple[int, str]], np.ndarray]:
    """Total rows (criterion '') against the sum of the same expert's criterion scores for the
    application; a mismatch sets the expert's rows for that application aside. `raw`: the score
    cells as read. Returns (errors, mask of the total rows, to drop once checked); `ok` is
    updated in place."""
    is_total = np.asarray(d["criterion"].eq("").fillna(False), dtype=bool) if "criterion" in d.columns \
        else np.zeros(len(d), dtype=bool)
    if not is_total.any():
        return [], is_total
    key = [c for c in ("panel", "expert_id", "application_id") if c in d.columns]
    parts = d[ok & ~is_total]
    sums = parts.groupby(key, dropna=False)["score"].agg(["sum", "count"])
    rows_of = parts.groupby(key, dropna=False).groups
    errors = []
    for i in np.flatnonzero(ok & is_total):
        x = d.at[i, "score"]
        if np.isnan(x):
            continue
        k = tuple(d.loc[i, key])
        k = k if len(key) > 1 else k[0]
        where = f"column {inv['score']!r} (score): value {shown_value(raw[i])!r}; "
        if k not in sums.index or sums.at[k, "count"] == 0:
            ok[i] = False
            errors.append((i, where + "合计行没有对应的评分项 / expected the criterion scores of this expert and "
                                      "application (a total row is only checked against them)"))
        elif abs(sums.at[k, "sum"] - x) > TOL:
            ok[i] = False
            ok[list(rows_of[k])] = False
            rows = sorted(r + 2 for r in rows_of[k])
            errors.append((i, where + f"合计与各评分项之和 {sums.at[k, 'sum']:g} 不符 / expected the sum of the "
                                      f"criterion scores, {sums.at[k, 'sum']:g}, of expert {d.at[i, 'expert_id']} on "
                                      f"{d.at[i, 'application_id']}: its rows {rows[0]}-{rows[-1]} are set aside"))
    return errors, is_total
