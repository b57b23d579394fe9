"""Annual evaluations (考核评估) of pilot centres in the store (re-exported by `reviewer.store.repo`)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store import audit
from reviewer.store.models import AnnualEvaluation


def record_evaluation(s: Session, centre_id: str, year: int, *, user: str, round_id: int | None = None,
                      centre_name: str = "", total: float | None = None, band: str | None = None,
                      state: str | None = None, indicators: dict | None = None, note: str = "") -> AnnualEvaluation:
    """Store one year's evaluation of a centre (the evaluation code writes here); audited."""
    if s.execute(select(AnnualEvaluation).where(AnnualEvaluation.centre_id == centre_id,
                                                AnnualEvaluation.year == year)).scalar_one_or_none():
        raise UserError(f"centre {centre_id} already has an evaluation for {year}")
    ev = AnnualEvaluation(round_id=round_id, centre_id=centre_id, centre_name=centre_name, year=year, total=total,
                          band=band, state=state, indicators=indicators or {}, note=note, evaluated_by=user)
    s.add(ev)
    s.flush()
    audit.record(s, user=user, action="evaluation", reason=note, entity=f"{centre_id} {year}",
                 after={"total": total, "band": band, "state": state, "indicators": indicators or {}})
    return ev


def record_evaluations(s: Session, records, *, user: str, names: dict | None = None, states: dict | None = None,
                       round_id: int | None = None, note: str = "") -> tuple[int, int]:
    """Store every centre-year evaluation of `records` (reviewer.centres EvaluationResult: total, band,
    state, part scores) in the caller's transaction; one already stored for that centre and year is
    kept as it is (never overwritten). Returns (stored, kept). Shared by `reviewer evaluate --record`
    and the app's evaluation page."""
    stored = kept = 0
    for r in records:
        exists = s.execute(select(AnnualEvaluation.id).where(AnnualEvaluation.centre_id == r.centre_id,
                                                             AnnualEvaluation.year == r.year)).scalar_one_or_none()
        if exists is not None:
            kept += 1
            continue
        record_evaluation(s, r.centre_id, r.year, user=user, round_id=round_id,
                          centre_name=str((names or {}).get(r.centre_id, "") or ""), total=r.score,
                          band=r.band or None, state=(states or {}).get(r.centre_id), indicators=r.as_dict(),
                          note=note)
        stored += 1
    return stored, kept
