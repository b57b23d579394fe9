"""The analyses on a stored round: the bias audit on its scores and relations, and what-if runs,
each recorded as an analyst run (``runs`` row of kind ``whatif``: the scenario, the seed, the ids
of the scores used and the result hash) that :func:`reproduce_whatif` redoes. Nothing here writes
a ranking, a score or a decision: the recorded ranking stays as it is."""
from __future__ import annotations

import time

import pandas as pd
from sqlalchemy import select

from reviewer.analytics.bias import BiasAudit, audit_bias
from reviewer.analytics.relations import round_relations
from reviewer.analytics.whatif import Scenario, WhatIfInput, compare, rank_scenario
from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.store import repo
from reviewer.store.engine import Store
from reviewer.store.borrow import POOLED, borrowed_scores
from reviewer.store.models import AnnualEvaluation, Round, Run
from reviewer.store.runs import compute_screening, stage_panels

__all__ = ["WHATIF_KIND", "borrowed_scores", "POOLED", "stored_validity_tables", "record_whatif", "compute_whatif", "round_bias", "whatif_input", "run_whatif", "reproduce_whatif", "whatif_digest"]

WHATIF_KIND = "whatif"


def _stage(pol: Policy, stage: str | None) -> str:
    stage = stage or pol.stages.order[-1]
    if stage not in pol.stages.order:
        raise UserError(f"--stage {stage!r}: expected one of {list(pol.stages.order)}")
    return stage


def round_bias(store: Store, code: str, stages: list[str] | None = None, **kw) -> BiasAudit:
    """The bias audit of a stored round: its valid scores of `stages` (default: every scored stage;
    each stage's panels apart) against the relations of its latest import (the conflict detector's
    soft and waived hits, expired history, member city; :mod:`reviewer.analytics.relations`)."""
    with store.read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        for st in stages or []:
            _stage(pol, st)
        scores = repo.scores_frame(s, r)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    if stages:
        scores = scores[scores["stage"].isin(stages)]
    if scores.empty:
        raise UserError(f"round {code} has no valid scores{' for ' + ', '.join(stages) if stages else ''} "
                        "(reviewer scores import ...)")
    g = scores.groupby(["stage", "application_id", "expert_id"], sort=False)["score"]
    totals = g.sum(min_count=1).to_frame("total").reset_index().rename(columns={"stage": "panel"})
    rel = round_relations(data, pol, detect_conflicts(data, pol))
    return audit_bias(totals, rel, **kw)


def whatif_input(s, r, stage: str, score_ids: list[int] | None = None,
                 import_id: int | None = None) -> tuple[WhatIfInput, Policy, list[int]]:
    """A stored stage as the what-if reads it: valid scores (or the recorded `score_ids`), fields,
    names, the published panels (quorum) and screening outcomes with the staff's decisions."""
    pol = repo.round_policy(r)
    stage = _stage(pol, stage)
    if score_ids is None:
        scores = repo.scores_frame(s, r, stage)
    else:
        scores = repo.scores_frame(s, r, include_void=True, ids=score_ids)
    if scores.empty:
        raise UserError(f"round {r.code} has no valid scores for stage {stage} (reviewer scores import ...)")
    data = repo.load_data(s, import_id or repo.latest_import(s, r).id)
    decisions = [{"application_id": a, "rule": k, "decision": d, "reason": why}
                 for (a, k), (d, why) in sorted(repo.review_overrides(s, r).items())]
    summary = compute_screening(data, pol, {"review_decisions": decisions}).summary
    eligible = {x.application_id: (x.outcome == "pass", str(x.reasons or "")) for x in summary.itertuples()}
    df = scores.rename(columns={"stage": "panel"})[["panel", "application_id", "expert_id", "criterion", "score",
                                                    "confidence"]]
    if df["confidence"].isna().all():
        df = df.drop(columns=["confidence"])
    inp = WhatIfInput(scores=df.reset_index(drop=True), fields={a.application_id: a.field for a in data.applications},
                      panels=stage_panels(s, r, stage), eligible=eligible,
                      names={a.application_id: a.name for a in data.applications})
    return inp, pol, [int(i) for i in scores["score_id"]]


def _needs_borrow(pol: Policy, scenario: Scenario) -> bool:
    return POOLED in (scenario.method, pol.aggregation.method)


def whatif_digest(cmp_: pd.DataFrame) -> str:
    rows = [(str(x.application_id), str(x.decision_base), str(x.decision_alt),
             None if pd.isna(x.score_alt) else round(float(x.score_alt), 6),
             None if pd.isna(x.rank_overall_alt) else int(x.rank_overall_alt)) for x in cmp_.itertuples()]
    return repo.seats_digest(sorted(rows))


def _compute(inp: WhatIfInput, pol: Policy, scenario: Scenario, resamples: int, seed: int):
    base, _, _ = rank_scenario(inp, pol, Scenario(), resamples=resamples, seed=seed)
    alt, alt_pol, notes = rank_scenario(inp, pol, scenario, resamples=resamples, seed=seed)
    return compare(base, alt), notes


def record_whatif(store: Store, code: str, stage: str, scenario: Scenario, cmp_: pd.DataFrame, notes: list[str], *,
                  user: str, seed: int, resamples: int, panels: dict, score_ids: list[int] | None = None,
                  scores_sha256: str | None = None, wall_seconds: float = 0.0, borrow_ids: list[int] | None = None,
                  borrow_sha256: str | None = None) -> Run:
    """Record a what-if as an analyst run (kind ``whatif``): scenario, seed, resamples, the scores
    used (their ids in the store, else the hash of the score table), for calibrated_pooled the
    borrowed scores (ids, else hash), the panels, the changed decisions and the result hash.
    Writes nothing else."""
    if not user or not user.strip():
        raise UserError("a what-if run is recorded with the analyst who made it (--user NAME)")
    with store.write() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
        snap = repo.latest_import(s, r)
        params = {"stage": stage, "scenario": scenario.record(), "seed": int(seed), "resamples": int(resamples),
                  "score_ids": score_ids, "scores_sha256": scores_sha256,
                  **({"borrow_ids": borrow_ids} if borrow_ids is not None else {}),
                  **({"borrow_sha256": borrow_sha256} if borrow_sha256 is not None else {}),
                  "panels": {a: list(e) for a, e in panels.items()}, "label": scenario.label(pol)}
        changed = cmp_[cmp_["changed"]]
        run = Run(round_id=r.id, kind=WHATIF_KIND, import_id=snap.id, created_by=user.strip(),
                  policy_text=r.policy_text, policy_sha256=pol.sha256, as_of=r.as_of, stages=[stage], seed=int(seed),
                  parameters=params, inputs=repo.import_inputs(s, snap.id), status="ok", wall_seconds=wall_seconds,
                  summary={"changed": [{"application_id": x.application_id, "why": x.why_zh}
                                       for x in changed.itertuples()], "notes": notes},
                  result_sha256=whatif_digest(cmp_))
        s.add(run)
        s.flush()
        s.expunge(run)
    return run


def compute_whatif(inp: WhatIfInput, pol: Policy, scenario: Scenario, resamples: int, seed: int):
    """(comparison, notes): the stage ranked as `pol` says and as `scenario` says, compared."""
    return _compute(inp, pol, scenario, resamples, seed)


def run_whatif(store: Store, code: str, stage: str | None, scenario: Scenario, *, user: str,
               resamples: int = 400, seed: int | None = None) -> tuple[Run, pd.DataFrame, list[str]]:
    """Rank the stored stage as the policy says and as `scenario` says, compare, and record the
    analyst run (kind ``whatif``). Returns (run, comparison, notes)."""
    if not user or not user.strip():
        raise UserError("a what-if run is recorded with the analyst who made it (--user NAME)")
    if int(resamples) < 1:
        raise UserError(f"--resamples {resamples}: expected an integer >= 1")
    with store.read() as s:
        r = repo.get_round(s, code)
        stage = _stage(repo.round_policy(r), stage)
        inp, pol, ids = whatif_input(s, r, stage)
        borrow_ids = None
        if _needs_borrow(pol, scenario):
            inp.borrow, borrow_ids = borrowed_scores(s, r, stage)
    scenario.check(pol)
    seed = pol.aggregation.seed if seed is None else int(seed)
    started = time.time()
    cmp_, notes = _compute(inp, pol, scenario, int(resamples), seed)
    run = record_whatif(store, code, stage, scenario, cmp_, notes, user=user, seed=seed, resamples=int(resamples),
                        panels=dict(inp.panels), score_ids=ids, wall_seconds=time.time() - started,
                        borrow_ids=borrow_ids)
    return run, cmp_, notes


def reproduce_whatif(store: Store, run_id: int) -> tuple[bool, pd.DataFrame, list[str]]:
    """Redo a recorded what-if run from the store (the recorded scores, policy text, scenario and
    seed); (identical, comparison, differences)."""
    with store.read() as s:
        run = repo.get_run(s, run_id)
        if run.kind != WHATIF_KIND:
            raise UserError(f"run #{run_id} is a {run.kind} run, not a what-if run")
        p = dict(run.parameters)
        if not p.get("score_ids"):
            raise UserError(f"run #{run_id} was made on scores outside the store (the app's bundled demo scores, "
                            f"sha256 {str(p.get('scores_sha256'))[:12]}…); redo it in the app with the same settings")
        r = s.get(Round, run.round_id)
        inp, pol, ids = whatif_input(s, r, p["stage"], p["score_ids"], run.import_id)
        pol = repo.policy_from_text(run.policy_text, run.as_of, f"run #{run_id} policy")
        want = run.result_sha256
        if p.get("borrow_ids") is not None:     # calibrated_pooled: exactly the scores it borrowed
            inp.borrow, got_b = borrowed_scores(s, r, p["stage"], p["borrow_ids"])
            if len(got_b) != len(p["borrow_ids"]):
                raise UserError(f"run #{run_id}: {len(p['borrow_ids']) - len(got_b)} of its borrowed scores (other "
                                "stages / rounds) are missing from the store")
    if len(ids) != len(p["score_ids"]):
        raise UserError(f"run #{run_id}: {len(p['score_ids']) - len(ids)} of its scores are missing from the store")
    inp.panels = p.get("panels", inp.panels)     # the panels as they were at the time of the run
    sc = dict(p["scenario"])
    cmp_, _ = _compute(inp, pol, Scenario(**sc), int(p["resamples"]), int(p["seed"]))
    got = whatif_digest(cmp_)
    diffs = [] if got == want else [f"result hash {got[:12]}… differs from the recorded {str(want)[:12]}…"]
    return not diffs, cmp_, diffs


def stored_validity_tables(store: Store) -> tuple[pd.DataFrame, pd.DataFrame, Policy]:
    """Every stored round's recognition-stage (last stage) valid scores, the round code as `panel`,
    and every stored annual evaluation (centre_id = the application id it was recognised under);
    the policy of the newest round."""
    frames, pol = [], None
    with store.read() as s:
        for r in repo.list_rounds(s):
            pol = repo.round_policy(r)
            sc = repo.scores_frame(s, r, pol.stages.order[-1])
            if not sc.empty:
                frames.append(sc.assign(panel=r.code)[["panel", "application_id", "expert_id", "criterion", "score"]])
        ev = pd.DataFrame([(e.centre_id, e.year, e.total, e.band) for e in s.execute(select(AnnualEvaluation)).scalars()],
                          columns=["centre_id", "year", "total", "band"])
    if pol is None or not frames:
        raise UserError("the store has no round with recognition-stage scores; import past rounds' scores, or use "
                        "--scores/--evaluations files, or --demo")
    if ev.empty:
        raise UserError("the store has no annual evaluations (reviewer evaluate ... --record); nothing to link")
    return pd.concat(frames, ignore_index=True), ev, pol
