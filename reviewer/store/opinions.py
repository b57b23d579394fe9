"""Written opinions in the store: experts' 评审意见 and the chair's 专家组综合意见 with dissent.

    submit_scores_with_opinions(s, round, scores, opinions, user=..., source=...)   the one path of
        submitted scores with their opinions (CLI `scores import`, the app): refused whole when a total
        that lies beyond the policy's outlier distance from its panel median has no opinion
        (reviewer.scoring.opinions), else the scores (reviewer.store.repo.submit_scores) and the
        opinions, each in the audit chain
    record_panel_opinion(s, round, stage, application, text=..., dissent=..., user=...)   the chair's
        consensus opinion; `dissent`: {member: their dissenting opinion}
    opinions_frame / panel_opinions_frame / required_missing                          for views and reports

A later submission of the same expert × application voids the earlier opinion (kept); a later panel
opinion voids the earlier one. Audit actions "opinions" and "panel_opinion" record every row written,
and `audit verify` replays them against the tables (reviewer.store.facts).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.scoring import opinions as rules
from reviewer.store import audit, repo
from reviewer.store.models import Opinion, PanelOpinion, Round, Score

OPINION_FIELDS = ("opinion_id", "stage", "application_id", "expert_id", "text", "void")
CHAIR_ROLES = ("chair", "组长")
PANEL_FIELDS = ("panel_opinion_id", "stage", "application_id", "chair_id", "text", "dissent", "void")


def opinion_record(x: Opinion) -> list:
    return [x.id, x.stage, x.application_id, x.expert_id, x.text, bool(x.void)]


def panel_record(x: PanelOpinion) -> list:
    return [x.id, x.stage, x.application_id, x.chair_id, x.text, list(x.dissent or []), bool(x.void)]


def stored_totals(s: Session, r: Round) -> pd.DataFrame:
    """Every current (non-void) complete expert total of the round (rules.complete_only)."""
    rows = s.execute(select(Score.stage, Score.application_id, Score.expert_id, Score.criterion, Score.score)
                     .where(Score.round_id == r.id, Score.void.is_(False))).all()
    scores = pd.DataFrame(rows, columns=[*rules.KEY, "criterion", "score"])
    return rules.complete_only(rules.totals_of(scores), scores, repo.round_policy(r))


def _current(s: Session, r: Round) -> dict[tuple[str, str, str], Opinion]:
    return {(x.stage, x.application_id, x.expert_id): x for x in s.execute(
        select(Opinion).where(Opinion.round_id == r.id, Opinion.void.is_(False))).scalars()}


def opinion_problems(s: Session, r: Round, scores: pd.DataFrame, opinions: pd.DataFrame) -> list[str]:
    """Why `scores` may not be stored for want of an opinion (one line per outlying total without one)."""
    return rules.missing_opinion_lines(scores, opinions, stored_totals(s, r), set(_current(s, r)), repo.round_policy(r))


def submit_scores_with_opinions(s: Session, r: Round, scores: pd.DataFrame, opinions: pd.DataFrame | None, *,
                                user: str, source: str, as_expert: str | None = None) -> tuple[int, int]:
    """Store submitted scores and their opinions in the caller's transaction (see the module doc);
    returns (score rows, opinions stored)."""
    opinions = opinions if opinions is not None else pd.DataFrame(columns=rules.OPINION_COLUMNS)
    if not scores.empty:
        lines = opinion_problems(s, r, scores[scores["score"].notna()], opinions)
        if lines:
            more = [f"… 另有 {len(lines) - 20} 项 and {len(lines) - 20} more"] if len(lines) > 20 else []
            raise UserError(f"缺少评审意见，未保存任何评分 a required written opinion is missing; nothing was stored "
                            f"({rules.opinion_rule(repo.round_policy(r))}):\n  " + "\n  ".join(lines[:20] + more))
    n = repo.submit_scores(s, r, scores, user=user, source=source, as_expert=as_expert)
    return n, _store_opinions(s, r, opinions, user=user, source=source, as_expert=as_expert)


def _store_opinions(s: Session, r: Round, opinions: pd.DataFrame, *, user: str, source: str,
                    as_expert: str | None) -> int:
    said = [x for x in opinions.itertuples(index=False) if rules.has_text(x.text)]
    if not said:
        return 0
    if as_expert is not None and any(x.expert_id != as_expert for x in said):
        raise UserError(f"expert {as_expert} submitted an opinion for another expert; nothing was stored")
    current = _current(s, r)
    written = []
    for x in said:
        total = None if x.total is None or pd.isna(x.total) else float(x.total)
        new = Opinion(round_id=r.id, stage=x.stage, application_id=x.application_id, expert_id=x.expert_id,
                      text=str(x.text).strip(), total=total, source=source, submitted_by=user)
        s.add(new)
        s.flush()
        old = current.get((x.stage, x.application_id, x.expert_id))
        if old is not None:
            s.execute(update(Opinion).where(Opinion.id == old.id).values(
                void=True, replaced_by_id=new.id, void_reason=f"由 #{new.id} 取代 replaced by submission #{new.id}"))
        current[(x.stage, x.application_id, x.expert_id)] = new
        written.append((new, old.id if old is not None else None))
    audit.record(s, user=user, action="opinions", reason="", round_code=r.code,
                 entity=f"{len(written)} 评审意见 opinions from {source}"[:200],
                 after={"source": source, "rows": [opinion_record(n) for n, _ in written],
                        "voided_ids": [o for _, o in written if o is not None]})
    return len(written)


def record_panel_opinion(s: Session, r: Round, stage: str, application_id: str, *, text: str,
                         dissent: Mapping[str, str], user: str) -> PanelOpinion:
    """专家组综合意见 of the panel of `application_id` in `stage`, by its chair (组长), with each
    dissenting member's opinion; refused when the text is empty, the panel is not published, or a
    dissenter is not an active member of the panel."""
    if not text.strip():
        raise UserError(f"{stage} {application_id}: 专家组综合意见不能为空 the panel's consensus opinion is empty")
    seats = repo.published_seats(s, r, stage)
    panel = seats[seats["application_id"] == application_id]
    if panel.empty:
        raise UserError(f"{stage} {application_id}: 没有已发布的专家组 no published panel for {application_id} in "
                        f"{stage} of round {r.code}")
    chairs = panel.loc[panel["role"].isin(CHAIR_ROLES), "expert_id"].tolist()
    members = set(panel["expert_id"])
    bad = [e for e in dissent if e not in members]
    if bad:
        raise UserError(f"{stage} {application_id}: 持不同意见的专家不在本专家组 dissent by {', '.join(bad)}, who "
                        f"hold no active seat on this panel; members: {', '.join(sorted(members))}")
    empty = [e for e, t in dissent.items() if not str(t).strip()]
    if empty:
        raise UserError(f"{stage} {application_id}: 不同意见须写明内容 the dissent of {', '.join(empty)} is empty")
    new = PanelOpinion(round_id=r.id, stage=stage, application_id=application_id,
                       chair_id=chairs[0] if chairs else "", text=text.strip(),
                       dissent=[{"expert_id": e, "text": str(t).strip()} for e, t in sorted(dissent.items())],
                       recorded_by=user)
    s.add(new)
    s.flush()
    old = s.execute(select(PanelOpinion).where(PanelOpinion.round_id == r.id, PanelOpinion.stage == stage,
                                               PanelOpinion.application_id == application_id,
                                               PanelOpinion.void.is_(False), PanelOpinion.id != new.id)).scalars().all()
    for o in old:
        s.execute(update(PanelOpinion).where(PanelOpinion.id == o.id).values(
            void=True, replaced_by_id=new.id, void_reason=f"由 #{new.id} 取代 replaced by record #{new.id}"))
    audit.record(s, user=user, action="panel_opinion", reason="", round_code=r.code,
                 entity=f"{stage} {application_id}", after={"row": panel_record(new), "voided_ids": [o.id for o in old]})
    return new


def opinions_frame(s: Session, r: Round, stage: str | None = None, include_void: bool = False) -> pd.DataFrame:
    """The current 评审意见 with each expert's total then; `include_void`: the void ones too, with
    columns void and void_reason (superseded, or the expert replaced on the seat)."""
    q = select(Opinion).where(Opinion.round_id == r.id)
    if not include_void:
        q = q.where(Opinion.void.is_(False))
    if stage:
        q = q.where(Opinion.stage == stage)
    cols = ["stage", "application_id", "expert_id", "opinion", "total_then", "submitted_by", "submitted_at"]
    cols += ["void", "void_reason"] if include_void else []
    rows = [{"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id, "opinion": x.text,
             "total_then": x.total, "submitted_by": x.submitted_by, "submitted_at": x.submitted_at,
             "void": bool(x.void), "void_reason": x.void_reason or ""}
            for x in s.execute(q.order_by(Opinion.stage, Opinion.application_id, Opinion.expert_id,
                                          Opinion.id)).scalars()]
    return pd.DataFrame(rows, columns=cols)


def panel_opinions_frame(s: Session, r: Round, stage: str | None = None) -> pd.DataFrame:
    """The current 专家组综合意见 per panel, with the dissent that counts as text lines (`dissent`: what
    the documents print) and the dissent voided because its member was replaced (`dissent_void`,
    labelled 已作废 with the reason: shown to staff, never printed in the documents)."""
    q = select(PanelOpinion).where(PanelOpinion.round_id == r.id, PanelOpinion.void.is_(False))
    if stage:
        q = q.where(PanelOpinion.stage == stage)
    rows = [{"stage": x.stage, "application_id": x.application_id, "chair_id": x.chair_id, "opinion": x.text,
             "dissent": "；".join(f"{d['expert_id']}：{d['text']}" for d in x.dissent or [] if not d.get("void")),
             "dissent_void": "；".join(f"{d['expert_id']}：{d['text']}（已作废 void：{d.get('void_reason', '')}）"
                                      for d in x.dissent or [] if d.get("void")),
             "recorded_by": x.recorded_by, "recorded_at": x.recorded_at}
            for x in s.execute(q.order_by(PanelOpinion.stage, PanelOpinion.application_id)).scalars()]
    return pd.DataFrame(rows, columns=["stage", "application_id", "chair_id", "opinion", "dissent", "dissent_void",
                                       "recorded_by", "recorded_at"])


def required_missing(s: Session, r: Round, stage: str | None = None) -> pd.DataFrame:
    """Stored totals that are outliers of their panel now and have no opinion (they became outliers
    when later scores came in): the experts to ask for one."""
    out = rules.outliers(stored_totals(s, r), repo.round_policy(r).aggregation.outlier_points)
    have = set(_current(s, r))
    # a boolean Series, not a list: an empty list would select no *columns* (KeyError 'stage' below)
    keep = pd.Series([(a, b, c) not in have for a, b, c in zip(out["stage"], out["application_id"],
                                                                out["expert_id"])], index=out.index, dtype=bool)
    out = out[keep]
    return out[out["stage"] == stage] if stage else out
