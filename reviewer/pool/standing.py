"""Rule P1 专家库资格 (pool standing): who the expert pool's record keeps out of a round.

Two bars, both from the policy's [pool] section (reviewer.policy_pool):

* a credit penalty (信用惩戒) bars its expert from its start date through its end date plus the cooling-off
  months of its kind; a permanent kind bars from the start until withdrawn; a withdrawn penalty bars
  nothing (it is kept, for the record). It bars the expert from a round when it is in force on the
  round's reference date or on the day of one of the round's stages (the meeting dates of the round
  settings over the policy's [stages] dates): a penalty recorded after publication that covers a
  stage's day acts on that round (reviewer.store.seat_obstacles puts the seats into 补抽);
* the rotation limit: an expert who served in each of the `rotation_limit` rounds just before this one
  sits this one out, on that field (scope "field": the applications of that field only) or on every
  panel (scope "pool").

A bar is (expert id, field or "" for every application, reason). The planner turns the bars into the
solver's `barred` matrix (hard rule family "pool_standing", label 专家库资格), and a planning run records
the bars it planned under, so reproducing the run, or verifying a draw, plans under the same bars even
after the pool's record changes. Deviation flags of the bias audit are evidence for staff, never a bar.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from reviewer.errors import UserError
from reviewer.policy_pool import Pool

RULE = "P1"
RULE_ZH = "专家库资格"
RULE_EN = "pool standing"
FAMILY = "pool_standing"      # the solver's hard-rule family (solver.families.POOL_STANDING)
ALL_FIELDS = ""


@dataclass(frozen=True)
class Penalty:
    """A credit penalty as recorded: `end` None only for a permanent kind."""
    expert_id: str
    kind: str
    start: dt.date
    end: dt.date | None
    reason: str = ""
    withdrawn: bool = False
    id: int | None = None


@dataclass(frozen=True)
class Service:
    """The expert sat on a panel of application field `field` in round `round_code` (dated `day`)."""
    expert_id: str
    round_code: str
    day: dt.date
    field: str


@dataclass(frozen=True)
class Bar:
    expert_id: str
    field: str          # "" = every application
    reason: str

    def record(self) -> list[str]:
        return [self.expert_id, self.field, self.reason]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, on the last day of a shorter month (2026-06-30 + 2 = 2026-08-30)."""
    m = day.month - 1 + months
    y, m = day.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def check_penalty(p: Penalty, pool: Pool, where: str = "") -> None:
    """UserError (Chinese first) for a penalty the policy does not allow: unknown kind, no end for a
    kind that needs one, an end before the start."""
    at = f"{where}：" if where else ""
    if p.kind not in pool.cooling_off_months:
        raise UserError(f"{at}惩戒类型 {p.kind!r} 不在政策 [pool] cooling_off_months 中（可用：{'、'.join(pool.kinds)}） / "
                        f"{where + ': ' if where else ''}penalty kind {p.kind!r} is not one of the policy's "
                        f"[pool] kinds: {', '.join(pool.kinds)}")
    if p.end is None and p.kind not in pool.permanent_kinds:
        raise UserError(f"{at}惩戒 {p.kind} 须有截止日期 / a {p.kind} penalty needs an end date "
                        f"(only {', '.join(pool.permanent_kinds) or 'no kind'} is permanent)")
    if p.end is not None and p.end < p.start:
        raise UserError(f"{at}截止日期 {p.end} 早于起始日期 {p.start} / end date {p.end} is before the start {p.start}")


def barred_until(p: Penalty, pool: Pool) -> dt.date | None:
    """Last day the penalty bars (end + cooling-off); None = no end (permanent)."""
    if p.end is None or p.kind in pool.permanent_kinds:
        return None
    return add_months(p.end, pool.cooling_off_months.get(p.kind, 0))


def penalty_bars(p: Penalty, pool: Pool, day: dt.date) -> bool:
    if p.withdrawn or day < p.start:
        return False
    until = barred_until(p, pool)
    return until is None or day <= until


def penalty_text(p: Penalty, pool: Pool) -> str:
    until = barred_until(p, pool)
    cool = pool.cooling_off_months.get(p.kind, 0)
    span = (f"{p.start}起，至撤销为止 from {p.start} until withdrawn" if until is None else
            f"{p.start}..{p.end}" + (f"，冷却期 {cool} 个月至 {until} (cooling-off to {until})" if cool else ""))
    return f"信用惩戒 credit penalty {p.kind} {span}" + (f"：{p.reason}" if p.reason else "")


def rotation_bars(service: Iterable[Service], pool: Pool, day: dt.date, round_code: str = "") -> list[Bar]:
    """Experts who served in each of the `rotation_limit` rounds before `day` (rounds ordered by date,
    the round `round_code` itself left out)."""
    n = pool.rotation_limit
    if n <= 0:
        return []
    rounds: dict[str, dt.date] = {}
    served: dict[str, set[tuple[str, str]]] = {}
    for x in service:
        if x.round_code == round_code or x.day >= day:
            continue
        rounds[x.round_code] = min(rounds.get(x.round_code, x.day), x.day)
        key = ALL_FIELDS if pool.rotation_scope == "pool" else x.field
        served.setdefault(x.round_code, set()).add((x.expert_id, key))
    last = sorted(rounds, key=lambda c: (rounds[c], c))[-n:]
    if len(last) < n:
        return []
    common = set.intersection(*(served[c] for c in last))
    names = "、".join(last)
    out = []
    for expert_id, fld in sorted(common):
        where = f"领域“{fld}”" if fld else "专家组"
        out.append(Bar(expert_id, fld, f"轮换限制 rotation limit：已连续 {n} 轮（{names}）参加{where}评审 / served in "
                                       f"{n} consecutive rounds ({', '.join(last)})"
                                       + (f" on field {fld}" if fld else "")))
    return out


def pool_bars(penalties: Iterable[Penalty], service: Iterable[Service], pool: Pool, day: dt.date,
              round_code: str = "", stage_days: Iterable[dt.date] = ()) -> list[Bar]:
    """Every bar in force for a round of reference date `day`, sorted: penalties in force on `day` or on
    one of `stage_days` (the round's stage days), then rotation (judged on `day`)."""
    days = [day, *stage_days]
    out = [Bar(p.expert_id, ALL_FIELDS, penalty_text(p, pool)) for p in penalties
           if any(penalty_bars(p, pool, d) for d in days)]
    out += rotation_bars(service, pool, day, round_code)
    return sorted(set(out), key=lambda b: (b.expert_id, b.field, b.reason))


def bars_from_record(value) -> tuple[tuple[str, str, str], ...]:
    """The bars a run records ([[expert id, field, reason], ...]), checked."""
    out = []
    for x in value or ():
        if not isinstance(x, (list, tuple)) or len(x) != 3 or not all(isinstance(v, str) for v in x) or not x[0]:
            raise UserError(f"专家库资格记录有误 invalid pool bar {x!r}: expected (expert id, field or '', reason)")
        out.append((x[0], x[1], x[2]))
    return tuple(out)


def barred_matrix(bars: Iterable[Sequence[str]], expert_ids: Sequence[str], application_fields: Sequence[str]) -> np.ndarray:
    """bool[E, A]: the pairs the bars keep apart (an expert not in the round is ignored)."""
    e_idx = {e: i for i, e in enumerate(expert_ids)}
    fields = np.asarray(application_fields, dtype=object)
    m = np.zeros((len(expert_ids), len(fields)), dtype=bool)
    for expert_id, fld, _ in bars:
        i = e_idx.get(expert_id)
        if i is None:
            continue
        m[i] |= True if not fld else (fields == fld)
    return m


def bar_lines(bars: Iterable[Sequence[str]]) -> list[str]:
    """One line per bar, for the planning echo and reports."""
    return [f"{RULE} {RULE_ZH}: {e}{'（' + f + '）' if f else ''} {why}" for e, f, why in bars]
