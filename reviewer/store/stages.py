"""Stages that gate (issue 17 part 1): the recorded advancement of each stage of a round.

`reviewer stage advance` aggregates a stage's stored scores with the stage's own instrument (a
recorded aggregation run, reviewer.store.runs), proposes who advances (reviewer.scoring.gating: veto
items, quorum, pass line, top-k per field) and, once staff confirm, records one `StageDecision` per
application with its outcome and reason, audited (`stage.advance`). Staff may overrule a row with a
reason (`--keep` / `--drop`); the overrule is part of the recorded reason.

Planning a later stage takes only the applications that advanced from the stage before it
(:func:`planned_applications`); the veto reasons reach the ranking (:func:`exclusions`). The 认定评审
答辩 order is drawn with a seed and recorded (:func:`draw_defence`).
"""
from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.gating import advancement_proposal, vetoes
from reviewer.stage_gates import draw_order
from reviewer.store import audit, repo
from reviewer.store.models import Round, StageDecision

DECISION_COLUMNS = ["stage", "application_id", "advanced", "outcome", "reason", "score", "run_id", "decided_by",
                    "decided_at"]


def next_stage(policy: Policy, stage: str) -> str | None:
    order = policy.stages.order
    i = policy.stage(stage).index
    return order[i + 1] if i + 1 < len(order) else None


def stage_applications(s: Session, r: Round, stage: str) -> list[str]:
    """The applications of `stage`: those of its published panels (the ones that were scored)."""
    seats = repo.published_seats(s, r, stage)
    return sorted(seats["application_id"].unique()) if not seats.empty else []


def proposal(s: Session, r: Round, stage: str, aggregated: pd.DataFrame, scores: pd.DataFrame | None = None,
             applications: Iterable[str] | None = None) -> pd.DataFrame:
    """Who advances from `stage` of round `r`, from the stage's `aggregated` scores (an aggregation run's
    result), its criterion scores (veto items; default the store's) and its applications (default those
    of its published panels)."""
    pol = repo.round_policy(r)
    if next_stage(pol, stage) is None:
        raise UserError(f"{stage} 是最后一个阶段，由排名决定，无晋级 / {stage} is the last stage: its ranking decides, "
                        "nobody advances from it (reviewer rank / the ranking page)")
    scores = repo.scores_frame(s, r, stage) if scores is None else scores
    data = repo.load_data(s, repo.latest_import(s, r).id)
    fields = {a.application_id: a.field for a in data.applications}
    apps = stage_applications(s, r, stage) if applications is None else sorted(applications)
    return advancement_proposal(aggregated, pol, stage, vetoed=vetoes(scores, pol, stage), applications=apps,
                                fields=fields)


def record_advancement(s: Session, r: Round, stage: str, proposed: pd.DataFrame, *, user: str, reason: str,
                       run_id: int | None = None, overrule: Mapping[str, tuple[bool, str]] | None = None
                       ) -> list[StageDecision]:
    """Record the confirmed advancement of `stage` (replacing an earlier one, audited with before and after).
    `overrule`: application -> (advances, why) where staff depart from the proposal; each needs a reason."""
    if not reason.strip():
        raise UserError("确认晋级需要说明理由 / recording an advancement needs a reason (--reason)")
    overrule = dict(overrule or {})
    unknown = sorted(set(overrule) - set(proposed["application_id"]))
    if unknown:
        raise UserError(f"--keep/--drop: {', '.join(unknown)} 不在 {stage} 的申报中 / not an application of {stage}")
    before = decisions(s, r, stage)
    nxt = next_stage(repo.round_policy(r), stage)
    went = {a for a, adv in zip(proposed["application_id"], proposed["advance"]) if overrule.get(a, (adv,))[0]}
    if nxt and repo.publication(s, r, nxt) is not None and went != set(before.loc[before["advanced"], "application_id"]):
        raise UserError(f"{nxt} 已发布，不能改变 {stage} 的晋级名单 / {nxt} is published: the advancement from {stage} "
                        "it was planned from cannot change any more")
    s.execute(delete(StageDecision).where(StageDecision.round_id == r.id, StageDecision.stage == stage))
    rows = []
    for x in proposed.itertuples(index=False):
        advanced, why = bool(x.advance), f"{x.reason_zh} / {x.reason_en}"
        if x.application_id in overrule:
            keep, note = overrule[x.application_id]
            if not note.strip():
                raise UserError(f"{x.application_id}: 改变建议需要理由 / overruling the proposal needs a reason")
            advanced, why = bool(keep), f"工作人员调整 staff decision（{'晋级' if keep else '不晋级'}）：{note}；建议 proposal: {why}"
        score = None if pd.isna(x.score) else float(x.score)
        rows.append(StageDecision(round_id=r.id, stage=stage, application_id=x.application_id, advanced=advanced,
                                  outcome=x.outcome if x.application_id not in overrule else "staff",
                                  reason=why, score=score, run_id=run_id, decided_by=user))
    s.add_all(rows)
    s.flush()
    after = decisions(s, r, stage)
    # the entity names the aggregation run: the audit log leads from the decision to its scores (reproduce)
    entity = f"stage {stage}" + (f" (aggregation run #{run_id})" if run_id is not None else "")
    audit.record(s, user=user, action="stage.advance", reason=reason, round_code=r.code, entity=entity,
                 before=_facts(before), after=_facts(after))
    return rows


def _facts(d: pd.DataFrame) -> list:
    return [[x.application_id, bool(x.advanced), x.outcome, x.reason] for x in d.itertuples(index=False)]


def decisions(s: Session, r: Round, stage: str | None = None) -> pd.DataFrame:
    """The recorded advancement decisions of the round (of `stage`)."""
    q = select(StageDecision).where(StageDecision.round_id == r.id)
    if stage is not None:
        q = q.where(StageDecision.stage == stage)
    rows = [[getattr(x, c) for c in DECISION_COLUMNS] for x in s.execute(q.order_by(StageDecision.stage,
                                                                                     StageDecision.application_id)).scalars()]
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def advanced_from(s: Session, r: Round, stage: str) -> list[str] | None:
    """The applications that advanced from `stage`; None when its advancement is not recorded."""
    d = decisions(s, r, stage)
    return None if d.empty else sorted(d.loc[d["advanced"], "application_id"])


def planned_applications(s: Session, r: Round, policy: Policy, stages: Iterable[str]) -> dict[str, list[str]]:
    """Per stage to plan (after the first): the applications that advanced from the stage before it. A
    stage whose predecessor is undecided is left out of the dict (every eligible application) unless the
    policy's [stages] require_advancement, which refuses it."""
    out: dict[str, list[str]] = {}
    order = policy.stages.order
    for st in stages:
        i = policy.stage(st).index
        if i == 0:
            continue
        prev = order[i - 1]
        went = advanced_from(s, r, prev)
        if went is None:
            if policy.stages.require_advancement:
                raise UserError(f"{prev} 的晋级名单尚未确认，不能组建 {st} 专家组 / the advancement from {prev} is not "
                                f"recorded, so {st} cannot be planned (reviewer stage advance --round {r.code} "
                                f"--stage {prev})")
            continue
        if not went:
            raise UserError(f"{prev} 无申报晋级，{st} 无可组建的专家组 / nothing advanced from {prev}: nothing to plan "
                            f"in {st}")
        out[st] = went
    return out


def exclusions(s: Session, r: Round) -> dict[str, str]:
    """application_id -> why it left the round at a stage (vetoed, below the line, ...), for the ranking:
    the first stage it did not advance from, with that stage's recorded reason."""
    out: dict[str, str] = {}
    d = decisions(s, r)
    pol = repo.round_policy(r)
    rank = {st: i for i, st in enumerate(pol.stages.order)}
    d = d.assign(k=d["stage"].map(rank)).sort_values(["k", "application_id"])
    for x in d[~d["advanced"]].itertuples(index=False):
        out.setdefault(x.application_id, f"{x.stage}未晋级：{x.reason}")
    return out


# ---------------------------------------------------------------- 认定评审 答辩 order

def defence_applications(s: Session, r: Round, policy: Policy) -> list[str]:
    """The applications that defend: those that advanced to the defence stage when recorded, else the
    stage's published panels."""
    st = policy.defence.stage
    i = policy.stage(st).index
    went = advanced_from(s, r, policy.stages.order[i - 1]) if i > 0 else None
    apps = went if went is not None else stage_applications(s, r, st)
    if not apps:
        raise UserError(f"{st}: 无参加答辩的申报 / no application defends yet: record the advancement from the stage "
                        f"before it (reviewer stage advance) or publish {st}'s panels")
    return apps


def draw_defence(s: Session, r: Round, seed: int, *, user: str, reason: str) -> list[str]:
    """Draw the 答辩 order with `seed` (reviewer.stage_gates.draw_order) and record it in the round settings
    (seed, the applications drawn from, the order; audited as a settings change). Drawing again replaces it
    (the audit log keeps every draw)."""
    if not reason.strip():
        raise UserError("抽取答辩顺序需要说明理由 / drawing the defence order needs a reason (--reason)")
    pol = repo.round_policy(r)
    apps = defence_applications(s, r, pol)
    order = draw_order(apps, seed)
    repo.update_round_settings(s, r, {"defence": {"seed": int(seed), "applications": sorted(apps), "order": order,
                                                  "drawn_by": user}}, user=user, reason=f"答辩顺序抽取 defence order: {reason}")
    return order


def defence_order(settings: Mapping | None) -> tuple[list[str], int | None]:
    """The recorded 答辩 order and its seed ([], None when not drawn); a recorded order that its seed does not
    give is refused (the settings were edited around the draw)."""
    d = (settings or {}).get("defence") or {}
    if not d.get("order"):
        return [], None
    if draw_order(list(d.get("applications") or []), int(d["seed"])) != list(d["order"]):
        raise UserError("答辩顺序与其随机种子不符 / the recorded defence order is not the one its seed gives: draw it "
                        "again (reviewer stage defence --seed N)")
    return list(d["order"]), int(d["seed"])
