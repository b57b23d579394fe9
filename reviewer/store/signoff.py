"""Ranking sign-off (确认发布, issue 13 item 12): a stage's ranking frozen as a recorded, immutable
publication in the store.

A freeze stores the ranking table exactly as published (JSON rows), the SHA-256 of its canonical
JSON (`table_digest`), the aggregation method, who and when, in one transaction with its audit entry.
Rows are never changed: the table's triggers (migration 0009) refuse UPDATE and DELETE. Freezing a
stage again needs a reason and writes a new row naming the one it supersedes; the newest row of a
stage is the ranking in force (`current`), the older ones stay as history. `verify` recomputes the
digest of a stored table, so an edit made in the database outside the program is seen.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store import audit
from reviewer.store.facts import canonical
from reviewer.store.models import RankingPublication, Round
from reviewer.store.repo import round_policy


def json_value(v: Any) -> Any:
    """A cell as plain JSON: NaN/NA become null, numpy numbers Python numbers, anything else text."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)):   # numpy scalar
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, int):
        return v
    try:
        if v != v:   # pandas NA / NaT
            return None
    except (TypeError, ValueError):
        return None
    return str(v)


def clean_rows(rows: list[dict]) -> list[dict]:
    return [{str(k): json_value(v) for k, v in r.items()} for r in rows]


def table_digest(rows: list[dict]) -> str:
    """SHA-256 of the ranking table's canonical JSON (keys sorted, no spaces, UTF-8)."""
    return hashlib.sha256(canonical(clean_rows(rows)).encode("utf-8")).hexdigest()


def current(s: Session, r: Round, stage: str) -> RankingPublication | None:
    """The ranking of `stage` in force: its newest freeze (every later freeze supersedes the one before)."""
    return s.execute(select(RankingPublication).where(RankingPublication.round_id == r.id,
                                                      RankingPublication.stage == stage)
                     .order_by(RankingPublication.id.desc()).limit(1)).scalar_one_or_none()


def history(s: Session, r: Round, stage: str | None = None) -> list[RankingPublication]:
    q = select(RankingPublication).where(RankingPublication.round_id == r.id)
    if stage is not None:
        q = q.where(RankingPublication.stage == stage)
    return list(s.execute(q.order_by(RankingPublication.id)).scalars())


def verify(pub: RankingPublication) -> bool:
    """True when the stored table still gives the digest recorded when it was frozen."""
    return table_digest(pub.table) == pub.table_sha256


def freeze_ranking(s: Session, r: Round, stage: str, method: str, rows: list[dict], *, user: str,
                   reason: str = "") -> RankingPublication:
    """Freeze `rows` (the ranking table as shown and exported) as the published ranking of `stage`.
    The first freeze of a stage may go without a reason; a later one needs one, supersedes the one in
    force, and is refused when the table and method are unchanged (nothing to supersede)."""
    round_policy(r).stage(stage)
    if not rows:
        raise UserError(f"{stage}：排名为空，不能确认发布 / the ranking is empty: nothing to publish")
    if not (user or "").strip():
        raise UserError("确认发布须记录操作人 / a sign-off needs the user who did it")
    s.execute(select(Round.id).where(Round.id == r.id).with_for_update())   # one freeze of a round at a time
    rows = clean_rows(rows)
    digest = table_digest(rows)
    before = current(s, r, stage)
    if before is not None:
        if not (reason or "").strip():
            raise UserError(f"{stage} 的排名已于 {before.published_at:%Y-%m-%d %H:%M} UTC 由 {before.published_by} 确认发布；"
                            f"重新确认发布须写明理由（新版本取代旧版本，旧版本保留） / already signed off: freezing again "
                            "needs a reason (the new version supersedes, the old one is kept)")
        if before.table_sha256 == digest and before.method == method:
            raise UserError(f"{stage}：排名与已发布版本（#{before.id}）完全相同，无需重新发布 / the ranking is "
                            f"unchanged since publication #{before.id}")
    pub = RankingPublication(round_id=r.id, stage=stage, method=method, table_sha256=digest, table=rows,
                             n_rows=len(rows), published_by=user.strip(), reason=(reason or "").strip(),
                             supersedes_id=before.id if before is not None else None)
    s.add(pub)
    s.flush()
    audit.record(s, user=user, action="ranking.publish", reason=pub.reason, round_code=r.code,
                 entity=f"{stage} ranking #{pub.id}",
                 before=None if before is None else {"id": before.id, "table_sha256": before.table_sha256},
                 after={"id": pub.id, "stage": stage, "method": method, "table_sha256": digest, "rows": len(rows),
                        "supersedes": pub.supersedes_id})
    return pub
