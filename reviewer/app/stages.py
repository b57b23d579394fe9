"""阶段晋级 and 答辩安排 in the staff app (issue 17 parts 1-2): the same acts as `reviewer stage advance`
and `reviewer stage defence`, on the store (reviewer.store.stages).

* Advancement: the proposal of a stage from its aggregated scores with the stage's own instrument (veto
  items, quorum, pass line, top-k per field; reviewer.scoring.gating), each row with its reason; staff
  record it with a reason and may overrule a row with its own reason (audited `stage.advance`). Planning
  the next stage then takes only the applications that advanced.
* Defence (认定评审 答辩): the order drawn with a seed (recorded in the round settings and audited; the
  same seed gives the same order anywhere), the time slots from the meeting's start, and the documents
  (schedule, a notice per applicant, the 签到表) as one zip.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.app.imports import load_bundle
from reviewer.app.ranking import aggregate
from reviewer.app.rounds import DEMO_ROUND_ID, round_info
from reviewer.app.scores import stage_panels, stage_scores
from reviewer.documents.defence import schedule_table, write_defence_documents
from reviewer.errors import UserError
from reviewer.scoring.gating import advancement_proposal, vetoes
from reviewer.store import advancement, repo, round_settings
from reviewer.store import stages as store_stages

DEMO_SCORES_SOURCE = "演示评分 bundled demo scores (reviewer/data/demo/scores.csv)"
PROPOSAL_COLS = ["application_id", "name", "field", "score", "rank_in_field", "outcome_zh", "advance", "reason_zh"]


def gated_stages(round_id: str) -> list[str]:
    """The stages that gate (every stage but the last: its ranking decides)."""
    return list(load_bundle(round_id).policy.stages.order[:-1])


def rule_text(round_id: str, stage: str) -> str:
    pol = load_bundle(round_id).policy
    inst = pol.gate(stage).instrument or "评分细则 rubric"
    nxt = store_stages.next_stage(pol, stage)
    return f"{stage} → {nxt}：{pol.gate(stage).rule_text()}；评分工具 instrument: {inst}"


def proposal(round_id: str, stage: str, method: str | None = None) -> pd.DataFrame:
    """Who advances from `stage`, best first, with reasons (nothing is recorded)."""
    b = load_bundle(round_id)
    pol = b.policy
    if stage not in pol.stages.order:
        raise UserError(f"未知阶段 unknown stage {stage!r}: expected one of {', '.join(pol.stages.order)}")
    if store_stages.next_stage(pol, stage) is None:
        raise UserError(f"{stage} 是最后一个阶段，由排名决定，无晋级 / {stage} is the last stage: its ranking decides")
    agg, _ = aggregate(round_id, stage, method or pol.aggregation.method)
    fields = {a.application_id: a.field for a in b.data.applications}
    prop = advancement_proposal(agg, pol, stage, vetoed=vetoes(stage_scores(round_id, stage), pol, stage),
                                applications=sorted(stage_panels(round_id, stage)), fields=fields)
    names = {a.application_id: a.name for a in b.data.applications}
    return prop.assign(name=prop["application_id"].map(names))


def record(round_id: str, stage: str, user: str | None, reason: str,
           overrule: dict[str, tuple[bool, str]] | None = None, method: str | None = None) -> dict:
    """Record the advancement of `stage` (with staff's overrules, each with its reason) by the one act the CLI
    makes (reviewer.store.advancement.advance): a recorded aggregation run, the proposal from it, the decision
    with the run's id; audited. The next stage's planning then takes only what advanced.
    Returns {"advanced", "of", "next", "run_id"}."""
    pol = load_bundle(round_id).policy
    if stage not in pol.stages.order:
        raise UserError(f"未知阶段 unknown stage {stage!r}: expected one of {', '.join(pol.stages.order)}")
    scores, panels, source = _scores_outside_store(round_id, stage)
    adv = advancement.advance(app_store.store(), round_id, stage, user=acting_user(user), method=method,
                              confirm=True, reason=reason, overrule=overrule or {}, scores=scores, panels=panels,
                              source=source)
    return {"advanced": adv.recorded, "of": adv.of, "next": adv.next_stage, "run_id": adv.run_id}


def _scores_outside_store(round_id: str, stage: str) -> tuple[pd.DataFrame | None, dict | None, str]:
    """The demo round's bundled scores of `stage` with its reference panels when the store has no score of the
    stage (reviewer.app.scores shows them the same way); (None, None, "") otherwise: the store's own."""
    if round_id != DEMO_ROUND_ID:
        return None, None, ""
    stored = app_store.scores_frame(round_id)
    if not stored.empty and (stored["stage"] == stage).any():
        return None, None, ""
    return stage_scores(round_id, stage), stage_panels(round_id, stage), DEMO_SCORES_SOURCE


def decisions(round_id: str) -> pd.DataFrame:
    """Every recorded advancement of the round, with reasons."""
    with app_store.store().read() as s:
        return store_stages.decisions(s, repo.get_round(s, round_id))


# ---------------------------------------------------------------- 答辩 defence

def defence_state(round_id: str) -> dict:
    """The defence stage, its meeting (date, time, place, contact), the recorded order and seed, and the
    applications that would be drawn from."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        pol = repo.round_policy(r)
        order, seed = store_stages.defence_order(r.settings)
        try:
            apps = store_stages.defence_applications(s, r, pol)
        except UserError as e:
            apps, why = [], str(e)
        else:
            why = ""
        meeting = round_settings.meeting(r.settings, pol.defence.stage)
    return {"stage": pol.defence.stage, "order": order, "seed": seed, "applications": apps, "why_none": why,
            "meeting": meeting, "rules": pol.defence}


def draw(round_id: str, seed: int, user: str | None, reason: str) -> list[str]:
    """Draw the 答辩 order with `seed` and record it (audited)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**63 - 1:
        raise UserError(f"随机种子 seed {seed!r}: 应为不小于 0 的整数 / expected a whole number >= 0")
    with app_store.store().write() as s:
        return store_stages.draw_defence(s, repo.get_round(s, round_id), seed, user=acting_user(user), reason=reason)


def schedule(round_id: str) -> pd.DataFrame:
    """The time slots of the recorded order from the meeting's start time."""
    d = defence_state(round_id)
    if not d["order"]:
        raise UserError("答辩顺序尚未抽取 / the defence order is not drawn yet")
    apps = {a.application_id: a for a in load_bundle(round_id).data.applications}
    return schedule_table(d["order"], d["meeting"].time, d["rules"], apps)


def documents_zip(round_id: str) -> bytes:
    """答辩日程, a notice per applicant and the 签到表 (reviewer.documents.defence) as one zip."""
    d = defence_state(round_id)
    table = schedule(round_id)
    b = load_bundle(round_id)
    experts = {e.expert_id: e for e in b.data.experts}
    seats = app_store.published_seats(round_id, d["stage"]) if app_store.publication(round_id, d["stage"]) else None
    ids = sorted(seats["expert_id"].unique()) if seats is not None and not seats.empty else []
    ex = pd.DataFrame([{"专家编号 expert": i, "姓名 name": experts[i].name, "工作单位 employer": experts[i].employer}
                       for i in ids if i in experts])
    with tempfile.TemporaryDirectory(prefix="defence-") as tmp:
        paths = write_defence_documents(tmp, table, d["meeting"], d["rules"], round_code=round_id,
                                        round_name=round_info(round_id).name, seed=d["seed"], experts=ex)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in paths:
                z.write(p, Path(p).name)
    return buf.getvalue()
