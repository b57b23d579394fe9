"""The expert pool that remembers across rounds (issue 16 item 6): the merged pool record, credit
penalties with dates, staff ratings after a round, deviation flags kept as evidence, and the bars of
rule P1 专家库资格 (reviewer.pool.standing) a round plans under.

Every act is written in one transaction with its audit entry (pool.import, pool.penalty,
pool.penalty_withdraw, pool.rating, pool.flag). A penalty is withdrawn, never deleted. A flag (e.g. from
the relation-bias audit) is evidence for the staff: it never bars anyone by itself.

Service history for the rotation limit comes from the store's rounds: an expert served in a round when
they hold an active (not replaced) published seat in it, on an application of that round's latest import
(its field). Rounds are ordered by their reference date (`Round.as_of`, else 1 January of `Round.year`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.intake.io import load_table
from reviewer.intake.schema import EXPERTS
from reviewer.policy import Policy
from reviewer.policy_pool import Pool
from reviewer.pool.standing import Penalty, Service, check_penalty, pool_bars
from reviewer.store import audit
from reviewer.store.snapshots import latest_import, load_data
from reviewer.store.models import (Assignment, ImportRow, ImportSnapshot, Panel, PoolChange, PoolExpert, PoolFlag,
                                   PoolPenalty, PoolRating, Round, utcnow)

# Fields of an expert that the merge compares (history rows are the round's business, not the pool's).
SKIP = {"history"}


def _date(value: str | None, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(f"{what} {value!r} 不是日期 is not a date: expected YYYY-MM-DD, e.g. 2026-06-30") from None


def round_day(r: Round) -> dt.date:
    """The round's reference date: the day its pool standing is judged on."""
    return _date(r.as_of, f"round {r.code} as_of") if r.as_of else dt.date(int(r.year), 1, 1)


def known_expert(s: Session, expert_id: str) -> None:
    """UserError unless the expert is in the pool record or in some round's import."""
    if s.execute(select(PoolExpert.id).where(PoolExpert.expert_id == expert_id)).first():
        return
    hit = s.execute(select(ImportRow.id).where(ImportRow.table_name == "experts",
                                               ImportRow.data["expert_id"].as_string() == expert_id).limit(1)).first()
    if hit is None:
        raise UserError(f"专家库中没有专家 {expert_id!r} / no expert {expert_id!r} in the pool or any round "
                        "(reviewer pool import FILE)")


# ---------------------------------------------------------------- merge import

@dataclass
class MergeReport:
    source: str
    sha256: str
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)   # expert id -> changed fields
    left: list[str] = field(default_factory=list)                 # in the pool, not in this file
    returned: list[str] = field(default_factory=list)             # left before, listed again
    unchanged: int = 0

    def lines(self) -> list[str]:
        out = [f"专家库合并 pool merged from {self.source}: 新增 added {len(self.added)}, 变更 changed {len(self.changed)}, "
               f"退出 left {len(self.left)}, 重新入库 returned {len(self.returned)}, 未变 unchanged {self.unchanged}"]
        out += [f"  + {e}" for e in self.added]
        out += [f"  ~ {e}: {', '.join(f)}" for e, f in self.changed.items()]
        out += [f"  - {e}（退出专家库，历史保留 left; history kept）" for e in self.left]
        out += [f"  ↺ {e}" for e in self.returned]
        return out


def _record(expert) -> dict[str, Any]:
    return {k: v for k, v in expert.model_dump(mode="json").items() if k not in SKIP}


def import_pool(s: Session, path: str | Path, policy: Policy, *, user: str, reason: str = "",
                sheet: str | None = None) -> MergeReport:
    """Merge an updated pool file (the 专家库 table) into the pool record by 专家编号: new experts are
    added, changed fields recorded (before/after), experts missing from the file marked as left (their
    record, penalties and ratings stay). Any rejected row refuses the whole file: nothing changes."""
    loaded = load_table(path, EXPERTS, policy, sheet)
    errors = [i for i in loaded.issues if i.severity == "error"]
    if errors:
        shown = "; ".join(f"{i.file} 第 {i.row} 行 row {i.row}, 列 column {i.column}: 值 value {i.value!r}, "
                          f"应为 expected {i.expected}" for i in errors[:5])
        raise UserError(f"专家库文件有 {len(errors)} 处错误，未导入 the pool file has {len(errors)} error(s); nothing was "
                        f"imported: {shown}" + (" …" if len(errors) > 5 else ""))
    if not loaded.records:
        raise UserError(f"{path}: 没有专家记录 no expert rows: nothing to merge")
    return merge_experts(s, loaded.records, str(path), loaded.sha256, user=user, reason=reason)


def import_from_round(s: Session, r: Round, *, user: str, reason: str = "") -> MergeReport:
    """Merge the experts of round `r`'s latest import into the pool (the same merge as a pool file)."""
    snap = latest_import(s, r)
    data = load_data(s, snap.id, [])
    if not data.experts:
        raise UserError(f"批次 {r.code} 的导入没有专家 round {r.code}'s import has no experts: nothing to merge")
    return merge_experts(s, data.experts, f"round {r.code} import #{snap.id}", "", user=user,
                         reason=reason or f"由批次 {r.code} 的导入建立/更新专家库 pool from round {r.code}")


def merge_experts(s: Session, experts, source: str, sha256: str, *, user: str, reason: str = "") -> MergeReport:
    """The merge by 专家编号 (see `import_pool`), audited as pool.import."""
    path = Path(source)
    rep = MergeReport(source, sha256)
    now = utcnow()
    current = {x.expert_id: x for x in s.execute(select(PoolExpert)).scalars()}
    seen = set()

    def change(expert_id: str, kind: str, before: dict, after: dict) -> None:
        s.add(PoolChange(expert_id=expert_id, change=kind, before=before, after=after, source=source,
                         sha256=sha256, created_by=user, created_at=now))

    for e in experts:
        rec = _record(e)
        seen.add(e.expert_id)
        old = current.get(e.expert_id)
        if old is None:
            s.add(PoolExpert(expert_id=e.expert_id, name=e.name, data=rec, active=True, first_seen=now, updated_at=now))
            change(e.expert_id, "added", {}, rec)
            rep.added.append(e.expert_id)
            continue
        diff = sorted(k for k in set(rec) | set(old.data) if rec.get(k) != old.data.get(k))
        if not old.active:
            rep.returned.append(e.expert_id)
            change(e.expert_id, "returned", {k: old.data.get(k) for k in diff}, {k: rec.get(k) for k in diff})
        elif diff:
            rep.changed[e.expert_id] = diff
            change(e.expert_id, "changed", {k: old.data.get(k) for k in diff}, {k: rec.get(k) for k in diff})
        else:
            rep.unchanged += 1
            continue
        old.data, old.name, old.active, old.updated_at, old.version = rec, e.name, True, now, old.version + 1
    for expert_id, old in sorted(current.items()):
        if expert_id not in seen and old.active:
            old.active, old.updated_at, old.version = False, now, old.version + 1
            change(expert_id, "left", {"active": True}, {"active": False})
            rep.left.append(expert_id)
    s.flush()
    audit.record(s, user=user, action="pool.import", reason=reason or "专家库更新 pool file merged",
                 entity=f"pool {path.name}",
                 after={"source": source, "sha256": sha256, "added": rep.added, "changed": rep.changed,
                        "left": rep.left, "returned": rep.returned, "unchanged": rep.unchanged})
    return rep


def pool_experts(s: Session, include_left: bool = True) -> list[PoolExpert]:
    q = select(PoolExpert).order_by(PoolExpert.expert_id)
    if not include_left:
        q = q.where(PoolExpert.active.is_(True))
    return list(s.execute(q).scalars())


def changes_of(s: Session, expert_id: str | None = None) -> list[PoolChange]:
    q = select(PoolChange).order_by(PoolChange.id)
    if expert_id:
        q = q.where(PoolChange.expert_id == expert_id)
    return list(s.execute(q).scalars())


# ---------------------------------------------------------------- penalties

def as_penalty(row: PoolPenalty) -> Penalty:
    return Penalty(row.expert_id, row.kind, _date(row.start, "start"), _date(row.end, "end"), row.reason,
                   bool(row.withdrawn), row.id)


def penalties(s: Session, expert_id: str | None = None) -> list[PoolPenalty]:
    q = select(PoolPenalty).order_by(PoolPenalty.id)
    if expert_id:
        q = q.where(PoolPenalty.expert_id == expert_id)
    return list(s.execute(q).scalars())


def add_penalty(s: Session, pool: Pool, *, expert_id: str, kind: str, start: str, end: str | None, reason: str,
                evidence: str = "", user: str) -> PoolPenalty:
    """Record a credit penalty (checked against the policy's [pool] kinds), audited."""
    if not reason or not reason.strip():
        raise UserError("信用惩戒须写明理由 a credit penalty needs a reason (--reason)")
    known_expert(s, expert_id)
    p = Penalty(expert_id, kind, _date(start, "--start"), _date(end, "--end"), reason.strip())
    if p.start is None:
        raise UserError("信用惩戒须有起始日期 a credit penalty needs a start date (--start YYYY-MM-DD)")
    check_penalty(p, pool)
    row = PoolPenalty(expert_id=expert_id, kind=kind, start=p.start.isoformat(),
                      end=p.end.isoformat() if p.end else None, reason=p.reason, evidence=evidence or "",
                      created_by=user)
    s.add(row)
    s.flush()
    audit.record(s, user=user, action="pool.penalty", reason=p.reason, entity=f"penalty #{row.id} {expert_id}",
                 after={"id": row.id, "expert_id": expert_id, "kind": kind, "start": row.start, "end": row.end,
                        "evidence": row.evidence})
    return row


def withdraw_penalty(s: Session, penalty_id: int, *, reason: str, user: str) -> PoolPenalty:
    if not reason or not reason.strip():
        raise UserError("撤销惩戒须写明理由 withdrawing a penalty needs a reason (--reason)")
    row = s.get(PoolPenalty, penalty_id)
    if row is None:
        raise UserError(f"没有编号为 {penalty_id} 的惩戒 no penalty #{penalty_id} (reviewer pool penalty list)")
    if row.withdrawn:
        raise UserError(f"惩戒 #{penalty_id} 已于 {row.withdrawn_at:%Y-%m-%d} 撤销 penalty #{penalty_id} is already "
                        f"withdrawn ({row.withdrawn_reason})")
    row.withdrawn, row.withdrawn_reason, row.withdrawn_by, row.withdrawn_at = True, reason.strip(), user, utcnow()
    s.flush()
    audit.record(s, user=user, action="pool.penalty_withdraw", reason=reason.strip(),
                 entity=f"penalty #{row.id} {row.expert_id}", before={"id": row.id, "withdrawn": False},
                 after={"id": row.id, "withdrawn": True})
    return row


# ---------------------------------------------------------------- ratings and flags

def rate(s: Session, *, expert_id: str, round_code: str, rating: int, note: str = "", user: str) -> PoolRating:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise UserError(f"评价 rating {rating!r}: 应为 1 到 5 的整数 expected a whole number from 1 to 5")
    r = s.execute(select(Round).where(Round.code == round_code)).scalar_one_or_none()
    if r is None:
        raise UserError(f"没有批次 no round {round_code!r}")
    known_expert(s, expert_id)
    row = PoolRating(expert_id=expert_id, round_code=round_code, rating=rating, note=note or "", created_by=user)
    s.add(row)
    s.flush()
    audit.record(s, user=user, action="pool.rating", reason=note or "", round_code=round_code,
                 entity=f"rating #{row.id} {expert_id}", after={"expert_id": expert_id, "rating": rating})
    return row


def ratings(s: Session, expert_id: str | None = None) -> list[PoolRating]:
    q = select(PoolRating).order_by(PoolRating.id)
    if expert_id:
        q = q.where(PoolRating.expert_id == expert_id)
    return list(s.execute(q).scalars())


def record_flags(s: Session, round_code: str, source: str, flags: list[tuple[str, str, dict]], *,
                 user: str) -> list[PoolFlag]:
    """Keep deviation flags (expert id, flag text, evidence) of a round on the experts' records; a flag
    already kept (same expert, round, source and text) is not added twice. Evidence only: no penalty."""
    have = {(x.expert_id, x.flag) for x in s.execute(select(PoolFlag).where(
        PoolFlag.round_code == round_code, PoolFlag.source == source)).scalars()}
    new = []
    for expert_id, flag, evidence in flags:
        if (expert_id, flag) in have:
            continue
        have.add((expert_id, flag))
        row = PoolFlag(expert_id=expert_id, round_code=round_code, source=source, flag=flag, evidence=evidence,
                       created_by=user)
        s.add(row)
        new.append(row)
    s.flush()
    if new:
        audit.record(s, user=user, action="pool.flag", reason=f"{source}：仅作记录，不自动惩戒 evidence, not a penalty",
                     round_code=round_code, entity=f"flags {source}",
                     after=[{"id": x.id, "expert_id": x.expert_id, "flag": x.flag} for x in new])
    return new


def flags(s: Session, expert_id: str | None = None, round_code: str | None = None) -> list[PoolFlag]:
    q = select(PoolFlag).order_by(PoolFlag.id)
    if expert_id:
        q = q.where(PoolFlag.expert_id == expert_id)
    if round_code:
        q = q.where(PoolFlag.round_code == round_code)
    return list(s.execute(q).scalars())


# ---------------------------------------------------------------- service history and the bars of a round

def application_fields(s: Session, r: Round) -> dict[str, str]:
    """application id -> field, from the round's latest import (empty without one)."""
    snap = s.execute(select(func.max(ImportSnapshot.id)).where(ImportSnapshot.round_id == r.id)).scalar()
    if snap is None:
        return {}
    rows = s.execute(select(ImportRow.data).where(ImportRow.import_id == snap,
                                                  ImportRow.table_name == "applications")).scalars()
    return {str(d.get("application_id")): str(d.get("field") or "") for d in rows}


def service(s: Session, exclude_round: Round | None = None) -> list[Service]:
    """Who sat on which field in which round: active published seats of every round (but one)."""
    out = []
    for r in s.execute(select(Round).order_by(Round.id)).scalars():
        if exclude_round is not None and r.id == exclude_round.id:
            continue
        fields_ = application_fields(s, r)
        day = round_day(r)
        seats = s.execute(select(Assignment.expert_id, Assignment.application_id).where(
            Assignment.status == "active",
            Assignment.panel_id.in_(select(Panel.id).where(Panel.round_id == r.id)))).all()
        out += sorted({Service(e, r.code, day, fields_.get(a, "")) for e, a in seats},
                      key=lambda x: (x.expert_id, x.field))
    return out


def bars_for_round(s: Session, r: Round, policy: Policy) -> tuple[tuple[str, str, str], ...]:
    """Rule P1's bars in force for round `r`: credit penalties (with cooling-off) in force on its
    reference date or on one of its stage days (`policy`: the round's, dated by its settings), and the
    rotation limit over the rounds before it. A planning run records these."""
    days = [d for d in (policy.stages.date_of(st) for st in policy.stages.order) if d is not None]
    bars = pool_bars([as_penalty(x) for x in penalties(s)], service(s, r), policy.pool, round_day(r), r.code,
                     stage_days=days)
    return tuple((b.expert_id, b.field, b.reason) for b in bars)


def seated_but_barred(s: Session, r: Round, policy: Policy) -> list[tuple[str, str, str, str]]:
    """Published active seats whose expert the round's bars now exclude (a penalty recorded after the
    publication): (stage, application id, expert id, reason). The seat stays until staff replace it
    (reviewer replace / 补抽); the checker then refuses to seat the expert anywhere the bar covers."""
    bars = bars_for_round(s, r, policy)
    if not bars:
        return []
    fields_ = application_fields(s, r)
    rows = s.execute(select(Assignment.stage, Assignment.application_id, Assignment.expert_id).where(
        Assignment.status == "active", Assignment.panel_id.in_(select(Panel.id).where(Panel.round_id == r.id)))
        .order_by(Assignment.stage, Assignment.application_id, Assignment.expert_id)).all()
    out = []
    for stage, app, expert in rows:
        for e, fld, why in bars:
            if e == expert and (not fld or fields_.get(app) == fld):
                out.append((stage, app, expert, why))
                break
    return out
