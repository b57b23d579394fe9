"""Runs against the store: screening, planning and aggregation from stored data, recorded with
everything needed to reproduce them (import snapshot, policy text, seed, parameters, staff
decisions in force). `compute_*` are pure (no database) and shared with `reviewer.store.reproduce`;
planning goes through the planning service (`reviewer.panels.service.plan`).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import pandas as pd

from sqlalchemy.orm import Session

from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.panels.service import PlanParams, PlanResult, plan
from reviewer.panels.tables import SEAT_COLUMNS, plan_seats
from reviewer.policy import Policy
from reviewer.scoring.quorum import QUORUM_COLUMNS, insufficient_lines
from reviewer.scoring.scoretable import aggregate_scores
from reviewer.screening.eligibility import screen
from reviewer.store.borrow import POOLED, borrowed_scores
from reviewer.store import audit, facts, pool, repo, round_settings
from reviewer.store import stages as stage_gating
from reviewer.store.engine import Store
from reviewer.store.models import ConflictHitRow, RankingRow, Run, RunSeat, ScreeningResult

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- screening

def compute_screening(data: RoundData, policy: Policy, params: dict):
    overrides = {(d["application_id"], d["rule"]): (d["decision"], d["reason"])
                 for d in params.get("review_decisions", [])}
    return screen(data, policy, overrides)


def screening_digest(summary: pd.DataFrame) -> str:
    return repo.seats_digest(summary[["application_id", "outcome"]].itertuples(index=False))


def run_screening(store: Store, code: str, *, user: str) -> tuple[Run, Any]:
    with store.read() as s:
        r = repo.get_round(s, code)
        snap = repo.latest_import(s, r)
        decisions = [{"application_id": a, "rule": k, "decision": d, "reason": why}
                     for (a, k), (d, why) in sorted(repo.review_overrides(s, r).items())]
        params = {"review_decisions": decisions}
        data = repo.load_data(s, snap.id)
        pol = repo.round_policy(r)
        inputs = repo.import_inputs(s, snap.id)
    started = time.time()
    res = compute_screening(data, pol, params)
    with store.write() as s:
        r = repo.get_round(s, code)
        run = Run(round_id=r.id, kind="screening", import_id=snap.id, created_by=user, policy_text=r.policy_text,
                  policy_sha256=pol.sha256, as_of=r.as_of, parameters=params, inputs=inputs, status="ok",
                  wall_seconds=time.time() - started, summary={"counts": res.counts()},
                  result_sha256=screening_digest(res.summary))
        s.add(run)
        s.flush()
        checks = res.checks.groupby("application_id")
        for x in res.summary.itertuples(index=False):
            c = checks.get_group(x.application_id)[["rule", "outcome", "evidence", "threshold", "reason"]]
            s.add(ScreeningResult(run_id=run.id, application_id=x.application_id, outcome=x.outcome,
                                  reasons=x.reasons, checks=c.to_dict(orient="records")))
    return run, res


# ---------------------------------------------------------------- conflicts

def run_conflicts(store: Store, code: str, *, user: str) -> tuple[Run, Any]:
    with store.read() as s:
        r = repo.get_round(s, code)
        snap = repo.latest_import(s, r)
        w = repo.waivers(s, r)
        data = repo.load_data(s, snap.id, w)
        pol = repo.round_policy(r)
        inputs = repo.import_inputs(s, snap.id)
    started = time.time()
    cs = detect_conflicts(data, pol)
    table = cs.table()
    with store.write() as s:
        r = repo.get_round(s, code)
        run = Run(round_id=r.id, kind="conflicts", import_id=snap.id, created_by=user, policy_text=r.policy_text,
                  policy_sha256=pol.sha256, as_of=r.as_of, parameters={"waivers": w}, inputs=inputs,
                  wall_seconds=time.time() - started,
                  summary={"hits": len(table), "excluded_pairs": int(cs.excluded_matrix().sum())},
                  result_sha256=repo.seats_digest(table[["expert_id", "application_id", "rule", "waived"]]
                                                  .itertuples(index=False)))
        s.add(run)
        s.flush()
        repo.insert_rows(s, ConflictHitRow, [
            {"run_id": run.id, "expert_id": h.expert_id, "application_id": h.application_id, "rule": h.rule,
             "severity": h.severity, "evidence": h.evidence, "waived": bool(h.waived)}
            for h in table.itertuples(index=False)])
    return run, cs


# ---------------------------------------------------------------- planning

def compute_plan(data: RoundData, policy: Policy, params: dict, echo: Echo = _quiet) -> PlanResult:
    """Plan panels exactly as recorded in a run's `params` (Run.parameters): the planning service
    with `PlanParams.from_record`. `data` already carries the recorded waivers."""
    return plan(data, policy, PlanParams.from_record(policy, params), echo=echo)


def record_run_seats(s: Session, run_id: int, panels: pd.DataFrame) -> None:
    """Store the seats of a run (RunSeat rows): its result, before any publication."""
    if panels.empty:
        return
    aff = panels["affinity"] if "affinity" in panels.columns else pd.Series(None, index=panels.index)
    cat = panels["category"] if "category" in panels.columns else pd.Series("", index=panels.index)
    repo.insert_rows(s, RunSeat, [
        {"run_id": run_id, "stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id,
         "role": x.role, "category": c, "affinity": _num(a)}
        for x, c, a in zip(panels[list(SEAT_COLUMNS)].itertuples(index=False), cat, aff)])


def record_plan(s: Session, r, run: Run, panels: pd.DataFrame, *, user: str) -> None:
    """Store a planning or imported run's seats and record the run in the audit log (run.plan: its
    result hash and the hash of the seats stored), so seats edited before publication are caught
    by `reviewer audit verify` (reviewer.store.facts)."""
    record_run_seats(s, run.id, panels)
    s.flush()
    audit.record(s, user=user, action="run.plan", reason="", round_code=r.code, entity=f"run #{run.id}",
                 after=facts.run_record(s, run))


def run_planning(store: Store, code: str, *, user: str, stages: list[str] | None = None, seed: int = 0,
                 randomize: bool = False, time_limit: float = 60.0, workers: int = 1, include_review: bool = False,
                 echo: Echo = _quiet, fixed: list | None = None) -> tuple[Run, PlanResult]:
    """Plan from the round's latest import with the staff's locks, forbids, waivers and needs-review
    decisions; record the run (policy text, seed, parameters, solver status, gap, time, breakdown,
    seats and `result_sha256`, the hash of its sorted seats that publishing checks) in one
    transaction. workers=1 makes the solver deterministic, so `reviewer reproduce` gives the same seats.
    `fixed`: (stage, expert_id, application_id) seats of other stages held as they are."""
    with store.read() as s:
        r = repo.get_round(s, code)
        snap = repo.latest_import(s, r)
        w = repo.waivers(s, r)
        rules = repo.seat_rules(s, r)
        decisions = [(a, k, d, why) for (a, k), (d, why) in sorted(repo.review_overrides(s, r).items())]
        data = repo.load_data(s, snap.id, w)
        pol = repo.round_policy(r)
        inputs = repo.import_inputs(s, snap.id)
        stage_list = list(stages) if stages else list(pol.stages.order)
        advanced = tuple((st, tuple(apps)) for st, apps in stage_gating.planned_applications(s, r, pol, stage_list).items())
        dates = tuple(round_settings.meeting_dates(r.settings, pol).items())
        bars = pool.bars_for_round(s, r, pol)   # rule P1 in force now, recorded with the run
    params = PlanParams.for_policy(pol, stages, seed=seed, randomize=randomize, time_limit=time_limit,
                                   workers=workers, include_review=include_review, locks=tuple(rules["lock"]),
                                   forbids=tuple(rules["forbid"]), fixed=tuple(tuple(x) for x in fixed or ()),
                                   review_decisions=tuple(decisions), advanced=advanced, stage_dates=dates,
                                   pool_bars=bars)
    record = {**params.to_record(), "waivers": w}
    res = plan(data, pol, params, echo=echo)
    p = res.plan
    seats = plan_seats(res.panels)
    with store.write() as s:
        r = repo.get_round(s, code)
        run = Run(round_id=r.id, kind="planning", import_id=snap.id, created_by=user, policy_text=r.policy_text,
                  policy_sha256=pol.sha256, as_of=r.as_of, stages=list(params.stages), seed=params.seed,
                  parameters=record, inputs=inputs, status=p.status, solver_path=p.path, objective=_num(p.objective),
                  gap=_num(p.gap), wall_seconds=float(p.wall_time),
                  breakdown={k: float(v) for k, v in p.breakdown.items()},
                  summary={"seats": len(seats), "diagnostics": res.diagnostics.to_dict(orient="records")},
                  result_sha256=repo.seats_digest(seats))
        s.add(run)
        s.flush()
        record_plan(s, r, run, res.panels, user=user)
    return run, res


def _jsonable(v):
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return str(v)
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return None if v != v or v in (float("inf"), float("-inf")) else v
    return None if pd.isna(v) else str(v)


def _num(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if x != x or x in (float("inf"), float("-inf")) else x


# ---------------------------------------------------------------- aggregation

def compute_aggregation(scores: pd.DataFrame, fields: dict[str, str], policy: Policy, params: dict,
                        borrow: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate a stage's stored scores as recorded in a run's `params`. A run recorded with
    `quorum` applies it against the recorded panel (`panels`: application -> the published experts
    at the time of the run); runs recorded before the quorum existed are redone without it.
    `borrow`: calibrated_pooled's borrowed scores (the run's `borrow_ids`, reviewer.store.borrow)."""
    df = scores.rename(columns={"stage": "panel"})[["panel", "application_id", "expert_id", "criterion", "score",
                                                    "confidence"]].copy()
    df["field"] = df["application_id"].map(fields)
    quorum = params.get("quorum", False)
    if params.get("stage") in policy.stages.order:    # the stage's own instrument (policy [stages.gates])
        policy = policy.for_stage(params["stage"])
    res, _notes = aggregate_scores(df, policy, params["method"], seed=params.get("seed"),
                                   resamples=params.get("resamples"), interval=params.get("interval", True),
                                   panels=params.get("panels"), quorum=quorum,
                                   borrow=borrow if params["method"] == POOLED else None)
    if not quorum:   # a run of an older version: no quorum, as it was recorded
        res = res.drop(columns=[c for c in QUORUM_COLUMNS if c in res.columns])
    return res


def stage_panels(s: Session, r, stage: str) -> dict[str, list[str]]:
    """application_id -> the expert ids of its published, active seats in `stage` (empty when the
    stage is not published)."""
    seats = repo.published_seats(s, r, stage)
    return {a: sorted(g["expert_id"]) for a, g in seats.groupby("application_id")}


def ranking_rows(res: pd.DataFrame) -> list[tuple]:
    return sorted((str(x.get("panel", "")), str(x["application_id"]), None if pd.isna(x["score"]) else round(float(x["score"]), 6),
                   None if pd.isna(x["rank"]) else int(x["rank"])) for x in res.to_dict(orient="records"))


def run_aggregation(store: Store, code: str, stage: str, *, user: str, method: str | None = None,
                    seed: int | None = None, resamples: int | None = None, interval: bool = True,
                    scores: pd.DataFrame | None = None, panels: dict[str, list[str]] | None = None,
                    source: str = "") -> tuple[Run, pd.DataFrame]:
    """Aggregate `stage`'s scores and record the run (its rows, parameters and result hash).

    By default the store's valid scores (recorded by id, so `reviewer reproduce` re-reads them) against
    the published panels. `scores` (stage, application_id, expert_id, criterion, score[, confidence]) and
    `panels` are given instead for scores the store does not hold (the app's demo round reads the bundled
    demo scores): the run then records the score rows themselves and `source`, so it reproduces alike."""
    with store.read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        if scores is None:
            scores = repo.scores_frame(s, r, stage)
            outside = False
        else:
            outside = True
        snap = repo.latest_import(s, r)
        data = repo.load_data(s, snap.id)
        panels = stage_panels(s, r, stage) if panels is None else {a: sorted(map(str, e)) for a, e in panels.items()}
        borrow, borrow_ids = (borrowed_scores(s, r, stage) if (method or pol.aggregation.method) == POOLED
                              else (None, None))
    if scores.empty:
        raise UserError(f"round {code} has no valid scores for stage {stage} (reviewer scores import ...)")
    fields = {a.application_id: a.field for a in data.applications}
    params = {"stage": stage, "method": method or pol.aggregation.method,
              "seed": pol.aggregation.seed if seed is None else int(seed),
              "resamples": resamples, "interval": bool(interval), "fields": fields,
              "quorum": True, "panels": panels,
              **({"borrow_ids": borrow_ids} if borrow_ids is not None else {})}
    if outside:
        scores = external_scores(scores, stage)
        params["score_rows"] = [list(x) for x in scores[list(SCORE_ROW_COLUMNS)].itertuples(index=False)]
        params["score_source"] = source or "scores given by the caller"
        inputs = [{"table": f"scores ({params['score_source']})"[:200], "rows": len(scores),
                   "sha256": repo.seats_digest(params["score_rows"])}]
    else:
        params["score_ids"] = [int(i) for i in scores["score_id"]]
        inputs = [{"table": "scores", "rows": len(scores),
                   "sha256": repo.seats_digest(scores[["score_id", "score"]].itertuples(index=False))}]
    started = time.time()
    res = compute_aggregation(scores, fields, pol, params, borrow)
    with store.write() as s:
        r = repo.get_round(s, code)
        run = Run(round_id=r.id, kind="aggregation", import_id=snap.id, created_by=user, policy_text=r.policy_text,
                  policy_sha256=pol.sha256, as_of=r.as_of, stages=[stage], seed=params["seed"], parameters=params,
                  inputs=inputs, status="ok", wall_seconds=time.time() - started,
                  summary={"applications": len(res), "ranked": int(res["rank"].notna().sum()),
                           "insufficient_scores": insufficient_lines(res)},
                  result_sha256=repo.seats_digest(ranking_rows(res)))
        s.add(run)
        s.flush()
        for x in res.to_dict(orient="records"):
            s.add(RankingRow(run_id=run.id, stage=stage, application_id=str(x["application_id"]),
                             score=_num(x["score"]), rank=None if pd.isna(x["rank"]) else int(x["rank"]),
                             data={k: _jsonable(v) for k, v in x.items()}))
    return run, res


SCORE_ROW_COLUMNS = ("application_id", "expert_id", "criterion", "score", "confidence")


def external_scores(scores: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Score rows not held by the store in the frame `compute_aggregation` reads (its `stage` column, a
    numeric score, confidence or None), sorted so the recorded rows do not depend on the caller's order."""
    d = scores.rename(columns={"panel": "stage"}).copy()
    d = d[d["stage"] == stage] if "stage" in d.columns else d.assign(stage=stage)
    if "confidence" not in d.columns:
        d["confidence"] = None
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    d = d[d["score"].notna()]
    d["confidence"] = [None if c is None or pd.isna(c) else float(c) for c in d["confidence"]]
    for c in ("application_id", "expert_id", "criterion"):
        d[c] = d[c].astype(str)
    return d.sort_values(["application_id", "expert_id", "criterion"], ignore_index=True)


def recorded_scores(params: dict) -> pd.DataFrame:
    """The score rows an aggregation run recorded itself (`score_rows`), as `compute_aggregation` reads them."""
    d = pd.DataFrame(params["score_rows"], columns=list(SCORE_ROW_COLUMNS))
    return d.assign(stage=params["stage"])
