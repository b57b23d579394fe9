"""The analyst page's services (issue 18): the relation-bias audit, what-if re-ranking and
predictive validity on the app's round (its scores as the app reads them: the store's, and for
the demo round the bundled demo scores). Read-only for the round: a what-if is recorded as an
analyst run and changes no ranking, score or decision."""
from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import pandas as pd

from reviewer.analytics.bias import BiasAudit, audit_bias
from reviewer.analytics.relations import round_relations
from reviewer.analytics.stored import compute_whatif, record_whatif, stored_validity_tables
from reviewer.analytics.tables import seat_totals
from reviewer.analytics.validity import ValidityReport, validity_report
from reviewer.analytics.whatif import Scenario, WhatIfInput, comparison_sheets
from reviewer.app import store as app_store
from reviewer.app.base import acting_user, memo
from reviewer.app.conflicts import conflicts
from reviewer.app.imports import load_bundle
from reviewer.app.ranking import borrowed
from reviewer.app.scores import scores, stage_panels, stage_scores
from reviewer.app.screening import screening
from reviewer.demo.past_rounds import demo_validity_tables
from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.store import repo

__all__ = ["bias_audit", "whatif", "whatif_xlsx", "validity", "whatif_runs"]


def bias_audit(round_id: str, stages: tuple[str, ...] = (), permutations: int = 1999) -> BiasAudit:
    """The audit of the round's scores of `stages` (default all; each stage's panels apart) against
    its relations (reviewer.analytics.relations)."""
    key = ("bias", round_id, stages, permutations, app_store.url(), app_store.scores_version(round_id),
           app_store.version())

    def make() -> BiasAudit:
        sc = scores(round_id)
        if stages:
            sc = sc[sc["panel"].isin(stages)]
        if sc.empty:
            raise UserError("本轮尚无评分 no scores yet: import them on the Scores page")
        b = load_bundle(round_id)
        rel = round_relations(b.data, b.policy, conflicts(round_id))
        return audit_bias(seat_totals(sc), rel, n_permutations=permutations)

    return memo(key, make)


def _input(round_id: str, stage: str) -> WhatIfInput:
    b = load_bundle(round_id)
    d = stage_scores(round_id, stage)
    if d.empty:
        raise UserError(f"{stage}: 尚无评分 no scores yet")
    sc = screening(round_id).summary
    return WhatIfInput(scores=d, fields={a.application_id: a.field for a in b.data.applications},
                       panels=stage_panels(round_id, stage),
                       eligible={x.application_id: (x.outcome == "pass", str(x.reasons or "")) for x in sc.itertuples()},
                       names={a.application_id: a.name for a in b.data.applications})


def whatif(round_id: str, stage: str, scenario: Scenario, *, user: str | None = None, resamples: int = 200,
           record: bool = True) -> tuple[pd.DataFrame, list[str], int | None]:
    """(comparison, notes, analyst run id): the stage as the policy ranks it and as `scenario` does;
    recorded as an analyst run (kind whatif) unless `record` is False. Nothing else is written."""
    inp = _input(round_id, stage)
    pol = load_bundle(round_id).policy
    scenario.check(pol)
    if "calibrated_pooled" in (scenario.method, pol.aggregation.method):   # 跨阶段校准: other stages/rounds
        inp.borrow = borrowed(round_id, stage)
    seed = pol.aggregation.seed
    key = ("whatif", round_id, stage, repr(scenario), resamples, app_store.url(), app_store.scores_version(round_id),
           app_store.version())
    started = time.time()
    cmp_, notes = memo(key, lambda: compute_whatif(inp, pol, scenario, resamples, seed))
    run_id = None
    if record:
        digest = _sha(inp.scores, ["application_id", "expert_id", "criterion"])
        run = record_whatif(app_store.store(), round_id, stage, scenario, cmp_, notes, user=acting_user(user),
                            seed=seed, resamples=resamples, panels=dict(inp.panels), scores_sha256=digest,
                            wall_seconds=time.time() - started,
                            borrow_sha256=None if inp.borrow is None else _sha(inp.borrow, ["panel", "application_id",
                                                                                            "expert_id", "criterion"]))
        run_id = run.id
    return cmp_, notes, run_id


def _sha(df: pd.DataFrame, keys: list[str]) -> str:
    """The hash a run records for a table outside the store (the bundled demo scores)."""
    return hashlib.sha256(df.sort_values([k for k in keys if k in df.columns]).to_csv(index=False).encode("utf-8")
                          ).hexdigest()


def whatif_xlsx(cmp_: pd.DataFrame, title: str, params: dict) -> bytes:
    """The one-page comparison (.xlsx through reviewer.exports: safe cells, Chinese headers)."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_xlsx(comparison_sheets(cmp_, title, params), Path(tmp) / "whatif.xlsx").read_bytes()


def whatif_runs(round_id: str) -> pd.DataFrame:
    """The round's recorded what-if runs, newest first."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        rows = [{"run": x.id, "created_at": x.created_at, "created_by": x.created_by,
                 "stage": (x.parameters or {}).get("stage"), "label": (x.parameters or {}).get("label"),
                 "changed": len((x.summary or {}).get("changed", []))}
                for x in repo.runs_of(s, r) if x.kind == "whatif"]
    return pd.DataFrame(rows, columns=["run", "created_at", "created_by", "stage", "label", "changed"]).iloc[::-1]


def validity(resamples: int = 1000) -> tuple[ValidityReport, str]:
    """(report, source): the store's past recognition scores linked to its annual evaluations when
    there are any, else the demo's past rounds (reviewer.demo.past_rounds)."""
    def make():
        try:
            sc, ev, pol = stored_validity_tables(app_store.store())
            return validity_report(sc, ev, pol, n_resamples=resamples), "store"
        except UserError:
            sc, ev, pol = demo_validity_tables()
            return validity_report(sc, ev, pol, n_resamples=resamples), "demo"

    return memo(("validity", resamples, app_store.url(), app_store.version()), make)
