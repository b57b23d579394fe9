"""The yearly pool report (年度专家库报告, issue 16 item 6): per expert, participation in the year's rounds,
answers (confirmed / declined / recusal / no reply), penalties, staff ratings and deviation flags; coverage
of the drawable pool by category × field × city; gaps against the next round's applications; experts due
for renewal. Written as .xlsx through reviewer.exports (text cells made safe against formula injection).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.exports import write_xlsx
from reviewer.policy import Policy
from reviewer.pool.standing import barred_until, penalty_bars
from reviewer.store import pool
from reviewer.store.models import Assignment, Panel, Round, SeatResponse

ANSWERS = ("confirmed", "declined", "recusal", "recused", "no_reply")
ANSWER_ZH = {"confirmed": "确认", "declined": "请假", "recusal": "申请回避", "recused": "回避", "no_reply": "未答复"}


def _rounds_of_year(s: Session, year: int) -> list[Round]:
    return list(s.execute(select(Round).where(Round.year == year).order_by(Round.id)).scalars())


def experts_table(s: Session, year: int, policy: Policy) -> pd.DataFrame:
    """One row per expert of the pool record (and every expert seated or answering in the year)."""
    rounds = _rounds_of_year(s, year)
    ids = [r.id for r in rounds]
    seats, rounds_in = Counter(), defaultdict(set)
    code = {r.id: r.code for r in rounds}
    if ids:
        for e, rid in s.execute(select(Assignment.expert_id, Panel.round_id).join(Panel, Panel.id == Assignment.panel_id)
                                .where(Panel.round_id.in_(ids), Assignment.status == "active")).all():
            seats[e] += 1
            rounds_in[e].add(code[rid])
    answers: dict[str, Counter] = defaultdict(Counter)
    if ids:
        for x in s.execute(select(SeatResponse).where(SeatResponse.round_id.in_(ids))).scalars():
            st = x.last_answer if x.status == "replaced" else x.status
            answers[x.expert_id][st] += 1
    year_end = dt.date(year, 12, 31)
    pens = defaultdict(list)
    for p in pool.penalties(s):
        pens[p.expert_id].append(pool.as_penalty(p))
    rates = defaultdict(list)
    for x in pool.ratings(s):
        rates[x.expert_id].append(x.rating)
    flags = Counter(x.expert_id for x in pool.flags(s) if x.round_code in code.values())
    members = {x.expert_id: x for x in pool.pool_experts(s)}
    renew_before = dt.datetime(year - policy.pool.renewal_years, 12, 31, 23, 59)
    rows = []
    for e in sorted(set(members) | set(seats) | set(answers)):
        m = members.get(e)
        d = m.data if m else {}
        in_force = [p for p in pens.get(e, []) if penalty_bars(p, policy.pool, year_end)]
        a = answers.get(e, Counter())
        rows.append({
            "expert_id": e, "name": (m.name if m else ""), "category": d.get("category", ""),
            "fields": "；".join(d.get("fields") or []), "city": d.get("city", ""),
            "in_pool": bool(m and m.active), "rounds": "、".join(sorted(rounds_in.get(e, ()))), "seats": seats.get(e, 0),
            "invited": sum(a.values()), **{k: a.get(k, 0) for k in ANSWERS},
            "penalties": len(pens.get(e, [])),
            "barred_at_year_end": "；".join(f"{p.kind} 至 {barred_until(p, policy.pool) or '撤销为止'}" for p in in_force),
            "rating_mean": round(sum(rates[e]) / len(rates[e]), 2) if rates.get(e) else None,
            "flags": flags.get(e, 0),
            "due_for_renewal": bool(m and m.first_seen <= renew_before),
        })
    cols = ["expert_id", "name", "category", "fields", "city", "in_pool", "rounds", "seats", "invited", *ANSWERS,
            "penalties", "barred_at_year_end", "rating_mean", "flags", "due_for_renewal"]
    return pd.DataFrame(rows, columns=cols)


def coverage_table(experts: pd.DataFrame) -> pd.DataFrame:
    """Drawable experts (in the pool, not barred at the year's end) by category × field × city."""
    ok = experts[experts["in_pool"] & (experts["barred_at_year_end"] == "")]
    rows = Counter()
    for x in ok.itertuples(index=False):
        for f in (x.fields.split("；") if x.fields else ["（无）"]):
            rows[(x.category, f, x.city)] += 1
    return pd.DataFrame([{"category": c, "field": f, "city": ci, "experts": n} for (c, f, ci), n in sorted(rows.items())],
                        columns=["category", "field", "city", "experts"])


def gaps_table(s: Session, experts: pd.DataFrame, next_round: str | None, policy: Policy) -> pd.DataFrame:
    """Per field of the next round's applications: field-matched technical seats its panels need at
    least (applications × the largest per-panel minimum over the stages), against the drawable
    technical experts of that field. A rough floor, not a plan: the planner decides."""
    cols = ["field", "applications", "seats_needed", "technical_experts", "gap"]
    if not next_round:
        return pd.DataFrame(columns=cols)
    r = s.execute(select(Round).where(Round.code == next_round)).scalar_one_or_none()
    if r is None:
        raise UserError(f"没有批次 no round {next_round!r} (--next: the coming round, with its applications imported)")
    per_field = Counter(pool.application_fields(s, r).values())
    if not per_field:
        raise UserError(f"批次 {next_round} 尚未导入申报 round {next_round} has no imported applications")
    need = max(int(policy.stage_rules(st)["min_field_matched_technical"]) for st in policy.stages.order)
    tech = policy.panel_rules.technical_category
    ok = experts[experts["in_pool"] & (experts["barred_at_year_end"] == "") & (experts["category"] == tech)]
    rows = []
    for f, n in sorted(per_field.items()):
        have = int(ok["fields"].map(lambda x, f=f: f in x.split("；")).sum())
        rows.append({"field": f, "applications": n, "seats_needed": n * need, "technical_experts": have,
                     "gap": max(0, n * need - have)})
    return pd.DataFrame(rows, columns=cols)


def penalties_table(s: Session, policy: Policy) -> pd.DataFrame:
    rows = [{"id": p.id, "expert_id": p.expert_id, "kind": p.kind, "start": p.start, "end": p.end or "",
             "barred_until": str(barred_until(pool.as_penalty(p), policy.pool) or "撤销为止 until withdrawn"),
             "reason": p.reason, "evidence": p.evidence, "withdrawn": p.withdrawn, "withdrawn_reason": p.withdrawn_reason,
             "created_by": p.created_by} for p in pool.penalties(s)]
    return pd.DataFrame(rows, columns=["id", "expert_id", "kind", "start", "end", "barred_until", "reason", "evidence",
                                       "withdrawn", "withdrawn_reason", "created_by"])


def flags_table(s: Session) -> pd.DataFrame:
    rows = [{"id": x.id, "expert_id": x.expert_id, "round": x.round_code, "source": x.source, "flag": x.flag}
            for x in pool.flags(s)]
    return pd.DataFrame(rows, columns=["id", "expert_id", "round", "source", "flag"])


ZH = {"expert_id": "专家编号", "name": "姓名", "category": "专家类别", "fields": "熟悉领域", "city": "所在市",
      "in_pool": "在库", "rounds": "参加批次", "seats": "评审席位", "invited": "邀请", "confirmed": "确认",
      "declined": "请假", "recusal": "申请回避", "recused": "回避", "no_reply": "未答复", "penalties": "惩戒记录",
      "barred_at_year_end": "年末仍受惩戒", "rating_mean": "平均评价", "flags": "偏差标记", "due_for_renewal": "应换届复核",
      "field": "领域", "experts": "专家数", "applications": "申报数", "seats_needed": "至少需要领域技术专家席位",
      "technical_experts": "可抽取领域技术专家", "gap": "缺口", "kind": "惩戒类型", "start": "起始", "end": "截止",
      "barred_until": "不可抽取至", "reason": "理由", "evidence": "证据", "withdrawn": "已撤销",
      "withdrawn_reason": "撤销理由", "created_by": "记录人", "round": "批次", "source": "来源", "flag": "标记"}


def yearly_report(s: Session, year: int, policy: Policy, next_round: str | None = None) -> dict[str, pd.DataFrame]:
    experts = experts_table(s, year, policy)
    return {"专家参与 experts": experts, "覆盖 coverage": coverage_table(experts),
            "缺口 gaps": gaps_table(s, experts, next_round, policy),
            "惩戒 penalties": penalties_table(s, policy), "标记 flags": flags_table(s)}


def write_report(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """The report as .xlsx with Chinese headers; every text cell is made safe (reviewer.exports)."""
    return write_xlsx({name: df.rename(columns=ZH) for name, df in sheets.items()}, path)
