"""Where a submitted score belongs (issue 12): the rule the store's one score writer
(`reviewer.store.repo.submit_scores`, and `correct_score`) applies before anything is stored."""
from __future__ import annotations

import pandas as pd

from reviewer.errors import UserError
from reviewer.policy import Policy

SCORE_REFUSED = "评分被拒绝，未保存任何评分 scores refused, nothing was stored"


def seat_problems(pol: Policy, published: set[str], seats: dict[tuple[str, str, str], str], scores: pd.DataFrame,
                  *, as_expert: str | None = None) -> list[str]:
    """Why rows of `scores` (stage, application_id, expert_id, criterion, score, void) may not be
    stored, one line per problem: a score belongs to a seat of a PUBLISHED stage (`published`) that
    the expert holds (`seats`: (stage, application, expert) -> active / replaced; a replaced seat's
    scores only as void), to a criterion of its stage's instrument (policy [stages.gates]), within 0..its maximum; with
    `as_expert` (an expert submitting for themselves) every row must be theirs."""
    crits = {st: {c.id: c for c in pol.instrument(st).criteria} for st in pol.stages.order}   # each stage's instrument
    out = []
    for k, row in enumerate(scores.itertuples(index=False), start=1):
        where = f"row {k}: {row.stage} {row.application_id} {row.expert_id} {row.criterion}"
        status = seats.get((row.stage, row.application_id, row.expert_id))
        if row.stage not in pol.stages.order:
            out.append(f"{where}: 未知阶段 unknown stage {row.stage!r}; expected one of {', '.join(pol.stages.order)}")
        elif row.stage not in published:
            out.append(f"{where}: 阶段未发布 stage {row.stage} is not published: scores are accepted only for "
                       "published panels")
        elif status is None:
            out.append(f"{where}: 非该专家的席位 expert {row.expert_id} holds no seat on {row.application_id} in "
                       f"{row.stage}")
        elif status == "replaced" and not bool(getattr(row, "void", False)):
            out.append(f"{where}: 该席位已被替换 expert {row.expert_id} was replaced on this panel: their scores are "
                       "kept only as void")
        if as_expert is not None and row.expert_id != as_expert:
            out.append(f"{where}: submitted by expert {as_expert} for another expert")
        c = crits.get(row.stage, {c.id: c for c in pol.rubric.criteria}).get(row.criterion)
        if c is None:
            out.append(f"{where}: 未知评分项 unknown criterion {row.criterion!r}")
        elif not (isinstance(row.score, (int, float)) and 0 <= float(row.score) <= c.max):
            out.append(f"{where}: score {row.score!r}: expected a number from 0 to {c.max:g}")
    return out


def refuse(problems: list[str]) -> None:
    """UserError listing the problems (the first 20), when there are any."""
    if problems:
        more = [f"… 另有 {len(problems) - 20} 项 and {len(problems) - 20} more"] if len(problems) > 20 else []
        raise UserError(f"{SCORE_REFUSED}:\n  " + "\n  ".join(problems[:20] + more))
