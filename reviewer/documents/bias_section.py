"""§九 关系偏差审计 of the 评审报告 (issue 18 part 1): the stage's expert totals against the round's soft
relations (same city as the lead unit, expired history, member-unit city: reviewer.analytics.relations),
audited by reviewer.analytics.bias and worded by its `report_section`, so the report and the analyst's
`reviewer bias` say the same thing."""
from __future__ import annotations

import math

import pandas as pd

from reviewer.analytics.bias import audit_bias, report_section
from reviewer.analytics.relations import round_relations
from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError

# Permutations of the report's audit: enough for p-values to 0.001 at the 5% level, quick enough to
# generate the documents of a round in seconds (the analyst's `reviewer bias` may run more).
PERMUTATIONS = 999


def _num(x, digits: int, sign: bool = False) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v):
        return "—"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def bias_context(data, policy, stage: str, totals: pd.DataFrame) -> dict:
    """bias_paras (lines) and bias_rows (one per relation type) of `stage` from its expert `totals`
    (application_id, expert_id, total)."""
    if totals.empty:
        return {"bias_paras": ["本阶段尚无有效评分，未做关系偏差审计。"], "bias_rows": []}
    try:
        rel = round_relations(data, policy, detect_conflicts(data, policy))
        audit = audit_bias(totals[["application_id", "expert_id", "total"]].assign(panel=stage), rel,
                           n_permutations=PERMUTATIONS)
    except UserError as e:
        return {"bias_paras": [f"未做关系偏差审计：{e}"], "bias_rows": []}
    _, paras, _ = report_section(audit)
    rows = [{"relation": str(x.relation_zh), "n": str(int(x.n_seats)), "effect": _num(x.effect, 2, True),
             "interval": (f"[{_num(x.ci_low, 2, True)}, {_num(x.ci_high, 2, True)}]"
                          if not (pd.isna(x.ci_low) or pd.isna(x.ci_high)) else "—（评分过少）"),
             "p": _num(x.p_perm, 3), "q": _num(x.q_bh, 3), "verdict": "显著" if x.flagged else "不显著"}
            for x in audit.relations.itertuples()]
    if not rows:
        rows = [{"relation": "本阶段无软关系", "n": "0", "effect": "—", "interval": "—", "p": "—", "q": "—",
                 "verdict": "—"}]
    return {"bias_paras": paras, "bias_rows": rows}
