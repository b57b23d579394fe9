"""What the official documents say, read from the store in one transaction: the round, its policy and
imported data, each stage's published seats (and replaced ones), publication, scores and latest
aggregation run, the screening, waivers, seat overrides, the random draw behind each published run
and the audit log's head. Nothing here writes.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pandas as pd
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reviewer.errors import UserError
from reviewer.intake.model import Application, Expert, RoundData
from reviewer.policy import Policy
from reviewer.screening.eligibility import screen
from reviewer.store import audit, draws, opinions, replacement, repo, site_visits
from reviewer.store.models import AuditEntry, RankingRow, Run


BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class Draw:
    """The random draw (or optimisation) behind a published stage."""
    run_id: int | None
    source: str                       # the publication's source
    randomized: bool = False
    seed: int | None = None
    q: float | None = None
    commitment: str = ""
    commit_entry: int | None = None
    committed_at: str = ""
    seed_mode: str = ""
    revealed_at: str = ""
    public_value: str = ""
    lottery_version: str = ""
    solver_status: str = ""


@dataclass
class StageFacts:
    name: str
    seats: pd.DataFrame                      # active published seats
    replacements: list[dict] = field(default_factory=list)   # recorded replacements: application, old, new, reason, at
    published_at: str = ""
    published_by: str = ""
    publication_source: str = ""
    publication_reason: str = ""
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    aggregation: pd.DataFrame | None = None  # latest aggregation run's rows (RankingRow.data)
    aggregation_run: int | None = None
    aggregation_at: str = ""
    overrides: pd.DataFrame = field(default_factory=pd.DataFrame)
    draw: Draw | None = None
    opinions: dict[tuple[str, str], str] = field(default_factory=dict)        # (application, expert) -> 评审意见
    panel_opinions: dict[str, tuple[str, str]] = field(default_factory=dict)  # application -> (综合意见, dissent)
    visit_days: dict[str, int] = field(default_factory=dict)  # site stage: expert -> days on site (published plan)

    @property
    def published(self) -> bool:
        return not self.seats.empty


@dataclass
class RoundFacts:
    code: str
    name: str
    year: int
    as_of: str
    policy: Policy
    data: RoundData
    settings: dict
    stages: dict[str, StageFacts]
    screening: pd.DataFrame                  # application_id, outcome, outcome_zh, reasons
    waivers: list[dict]
    anchor: dict

    @property
    def apps(self) -> dict[str, Application]:
        return {a.application_id: a for a in self.data.applications}

    @property
    def experts(self) -> dict[str, Expert]:
        return {e.expert_id: e for e in self.data.experts}

    def stage(self, name: str) -> StageFacts:
        self.policy.stage(name)
        return self.stages[name]


def _at(x) -> str:
    """A stored time (UTC) in Beijing time."""
    if x is None:
        return ""
    x = x if x.tzinfo else x.replace(tzinfo=dt.timezone.utc)
    return x.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M（北京时间）")


def _latest_aggregation(s, r, stage: str) -> tuple[pd.DataFrame | None, int | None, str]:
    runs = [x for x in repo.runs_of(s, r) if x.kind == "aggregation" and list(x.stages or []) == [stage]]
    if not runs:
        return None, None, ""
    run = max(runs, key=lambda x: x.id)
    rows = s.execute(select(RankingRow).where(RankingRow.run_id == run.id).order_by(RankingRow.id)).scalars()
    return pd.DataFrame([dict(x.data or {}) for x in rows]), run.id, _at(run.created_at)


def _draw(s, run: Run | None, source: str) -> Draw:
    """The run behind a publication and, when it was a committed random draw, its commitment and reveal."""
    if run is None:
        return Draw(None, source)
    p = dict(run.parameters or {})
    d = Draw(run.id, source, randomized=bool(p.get("randomize")), seed=run.seed, q=p.get("q"),
             solver_status=run.status or "")
    rev = s.execute(select(AuditEntry).where(AuditEntry.action == draws.REVEAL, AuditEntry.entity == f"run #{run.id}")
                    ).scalars().first()
    if rev is not None:
        after = json.loads(rev.after)
        com = s.get(AuditEntry, after.get("commit_entry"))
        body = json.loads(com.after) if com is not None else {}
        d.commitment, d.commit_entry, d.revealed_at = after.get("commitment", ""), after.get("commit_entry"), rev.at
        d.public_value = after.get("public_value") or ""
        d.committed_at = com.at if com is not None else ""
        d.seed_mode = (body.get("body", {}).get("seed") or {}).get("mode", "")
        d.lottery_version = str(body.get("body", {}).get("lottery_version", ""))
        d.seed = after.get("seed", d.seed)
    return d


def _replacements(s, r, stage: str) -> list[dict]:
    out = []
    for e in s.execute(select(AuditEntry).where(AuditEntry.round_code == r.code, AuditEntry.action == "replacement")
                       .order_by(AuditEntry.id)).scalars():
        after, before = json.loads(e.after), json.loads(e.before)
        if after.get("stage") != stage:
            continue
        app = e.entity.split(":")[0].split(" ", 1)[-1]
        old = sorted(set(before.get("panel", [])) - set(after.get("panel", [])))
        new = sorted(set(after.get("panel", [])) - set(before.get("panel", [])))
        out.append({"application_id": app, "old": "、".join(old), "new": "、".join(new), "reason": e.reason,
                    "at": e.at[:16].replace("T", " ")})
    return out


def _stage(s, r, stage: str) -> StageFacts:
    f = StageFacts(stage, repo.published_seats(s, r, stage), _replacements(s, r, stage))
    pub = repo.publication(s, r, stage)
    if pub is None:
        return f
    f.published_at, f.published_by = _at(pub.published_at), pub.published_by
    f.publication_source, f.publication_reason = pub.source or "", pub.reason or ""
    f.scores = repo.scores_frame(s, r, stage)
    f.aggregation, f.aggregation_run, f.aggregation_at = _latest_aggregation(s, r, stage)
    f.overrides = replacement.overrides(s, r, stage)
    run = repo.get_run(s, pub.run_id) if pub.run_id else None
    f.draw = _draw(s, run, pub.source or (f"run #{pub.run_id}" if pub.run_id else ""))
    ops = opinions.opinions_frame(s, r, stage)
    f.opinions = {(x.application_id, x.expert_id): x.opinion for x in ops.itertuples() if x.opinion}
    pan = opinions.panel_opinions_frame(s, r, stage)
    f.panel_opinions = {x.application_id: (x.opinion, x.dissent) for x in pan.itertuples()}
    site_run = site_visits.published_run_id(s, r) if stage == repo.round_policy(r).stages.site else None
    if site_run is not None:   # the published site plan: each expert's distinct days on site
        days = site_visits.plan_table(s, r, site_run, published=True)
        f.visit_days = {e: int(g["date"].nunique()) for e, g in days.groupby("expert_id")}
    return f


def read_round(store, code: str) -> RoundFacts:
    """Everything the documents of round `code` need (a clear error for an unknown round)."""
    with store.read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        try:
            snap = repo.latest_import(s, r)
        except UserError:
            raise UserError(f"批次 {code} 尚未导入申报与专家数据 round {code} has no imported data yet "
                            "(reviewer import ...)") from None
        data = repo.load_data(s, snap.id)
        overrides = repo.review_overrides(s, r)
        stages = {st: _stage(s, r, st) for st in pol.stages.order}
        facts = RoundFacts(r.code, r.name or r.code, int(r.year or pol.meta.year), r.as_of or "", pol, data,
                           dict(r.settings or {}), stages, pd.DataFrame(), repo.waivers(s, r), audit.anchor_facts(s))
    facts.screening = screen(data, pol, overrides=overrides).summary
    return facts
