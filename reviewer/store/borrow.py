"""The scores calibrated_pooled (跨阶段校准, reviewer.scoring.pooled) borrows from the store: an expert's
scores of the other stages and rounds on the same instrument, by their ids so a run can be redone
with exactly them (a later correction voids a row but keeps it)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from reviewer.policy import Policy
from reviewer.scoring.pooled import instrument_key, source_label
from reviewer.store import repo
from reviewer.store.models import Round, Score

__all__ = ["borrowed_scores", "POOLED"]

POOLED = "calibrated_pooled"
_BORROW_COLS = ["panel", "application_id", "expert_id", "criterion", "score", "confidence"]


def borrowed_scores(s, r: Round | None, stage: str, ids: list[int] | None = None, *, other_rounds_only: bool = False,
                    policy: Policy | None = None) -> tuple[pd.DataFrame, list[int]]:
    """calibrated_pooled's borrowed scores from the store (reviewer.scoring.pooled): every valid score
    of every round's stages scored with `stage`'s instrument (same criteria and maxima), except `stage`
    of round `r` itself: the round's other stages (初审评估) and the other rounds. Source label
    ``ROUND·STAGE``. With `ids` (a recorded run): exactly those scores. `other_rounds_only`: none of
    round `r`'s own stages (the app adds them from its own score table); `r` None: a round not in the
    store, `policy` its policy. Returns (table, score ids)."""
    if ids is not None:
        q = select(Score.id, Round.code, Score.stage, Score.application_id, Score.expert_id, Score.criterion,
                   Score.score, Score.confidence).join(Round, Round.id == Score.round_id).where(Score.id.in_(ids))
        rows = [tuple(x) for x in s.execute(q.order_by(Score.id)).all()]
    else:
        key = instrument_key((policy or repo.round_policy(r)).instrument(stage))
        rows = []
        for other in repo.list_rounds(s):
            pol = repo.round_policy(other)
            mine = r is not None and other.id == r.id
            for st in pol.stages.order:
                if (mine and (other_rounds_only or st == stage)) or instrument_key(pol.instrument(st)) != key:
                    continue
                sc = repo.scores_frame(s, other, st)
                rows += [(int(x.score_id), other.code, st, x.application_id, x.expert_id, x.criterion, x.score,
                          x.confidence) for x in sc.itertuples()]
    df = pd.DataFrame(rows, columns=["score_id", "round", "stage", *_BORROW_COLS[1:]])
    df["panel"] = [source_label(a, b) for a, b in zip(df["round"], df["stage"])]
    if df["confidence"].isna().all():
        df = df.drop(columns=["confidence"])
    return df[[c for c in _BORROW_COLS if c in df.columns]].reset_index(drop=True), [int(i) for i in df["score_id"]]
