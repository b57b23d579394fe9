"""晋级 One act for the CLI (`reviewer stage advance`) and the app (阶段晋级): aggregate a stage with its own
instrument as a recorded aggregation run, propose who advances from it and, when confirmed, record the
advancement with that run's id (reviewer.store.stages.record_advancement).

Every recorded decision names the aggregation run it came from (`StageDecision.run_id`, and the audit entry
`stage.advance` names it too), so `reviewer reproduce RUN` recomputes the scores behind the decision, whoever
made it and wherever.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import pandas as pd

from reviewer.errors import UserError
from reviewer.store import repo
from reviewer.store import stages as gating
from reviewer.store.engine import Store
from reviewer.store.runs import run_aggregation


@dataclass
class Advancement:
    stage: str
    next_stage: str
    rule: str                 # the gate's rule in words
    run_id: int               # the aggregation run the proposal was made from
    proposal: pd.DataFrame    # reviewer.scoring.gating.advancement_proposal, staff overrules not applied
    recorded: int | None      # how many advanced, when recorded (None: shown only)
    of: int


def advance(store: Store, code: str, stage: str, *, user: str, method: str | None = None, confirm: bool = False,
            reason: str = "", overrule: Mapping[str, tuple[bool, str]] | None = None,
            scores: pd.DataFrame | None = None, panels: Mapping[str, list[str]] | None = None,
            source: str = "") -> Advancement:
    """Aggregate `stage` of round `code` (a recorded run), propose who advances and, with `confirm`, record it
    with the run's id (audited). `overrule`: application -> (advances, why). `scores`/`panels`/`source`: scores
    the store does not hold (the app's demo round: the bundled demo scores), recorded in the run itself."""
    with store.read() as s:
        pol = repo.round_policy(repo.get_round(s, code))
        nxt = gating.next_stage(pol, stage)
    if nxt is None:
        raise UserError(f"{stage} 是最后一个阶段，由排名决定 / {stage} is the last stage: its ranking decides")
    if confirm and not reason.strip():   # before the run: a refused act records nothing
        raise UserError("确认晋级需要说明理由 / recording an advancement needs a reason (--reason)")
    run, agg = run_aggregation(store, code, stage, user=user, method=method, scores=scores,
                               panels=dict(panels) if panels is not None else None, source=source)
    apps: Iterable[str] | None = sorted(panels) if panels is not None else None
    with store.write() as s:
        r = repo.get_round(s, code)
        prop = gating.proposal(s, r, stage, agg, scores=_long(scores, stage), applications=apps)
        over = dict(overrule or {})
        went = sum(over.get(a, (adv,))[0] for a, adv in zip(prop["application_id"], prop["advance"]))
        if confirm:
            gating.record_advancement(s, r, stage, prop, user=user, reason=reason, run_id=run.id, overrule=over)
    return Advancement(stage, nxt, pol.gate(stage).rule_text(), run.id, prop, int(went) if confirm else None,
                       len(prop))


def _long(scores: pd.DataFrame | None, stage: str) -> pd.DataFrame | None:
    """The caller's scores of `stage` as the veto check reads them (expert, application, criterion, score)."""
    if scores is None:
        return None
    d = scores.rename(columns={"panel": "stage"})
    return d[d["stage"] == stage].reset_index(drop=True) if "stage" in d.columns else d
