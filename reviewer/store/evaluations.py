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
