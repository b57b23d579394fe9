"""The app's 专家库档案 page (issue 16 item 6): the expert pool across rounds through reviewer.store.pool
(merge import, credit penalties, ratings, flags) and the bars of rule P1 专家库资格 the selected round
plans under. Every act goes through the same store functions as `reviewer pool`, audited."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.pool.standing import barred_until
from reviewer.store import pool, pool_report, repo, seat_obstacles


def round_bars(round_id: str) -> tuple[tuple[str, str, str], ...]:
    """Rule P1's bars in force for the round (what its planning, repairs and checks apply)."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        return pool.bars_for_round(s, r, repo.round_policy(r))


def overview(round_id: str) -> dict:
    """The pool as tables, with the round's P1 bars: experts, bars, penalties, flags, penalty kinds."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        pol = repo.round_policy(r)
        bars = pool.bars_for_round(s, r, pol)
        seated = pool.seated_but_barred(s, r, pol)
        barred = {}
        for e, f, why in bars:
            barred.setdefault(e, []).append(why if not f else f"（{f}）{why}")
        ratings: dict[str, list[int]] = {}
        for x in pool.ratings(s):
            ratings.setdefault(x.expert_id, []).append(x.rating)
        flags = pool.flags(s)
        n_flags = pd.Series([x.expert_id for x in flags]).value_counts().to_dict() if flags else {}
        experts = pd.DataFrame([{
            "expert_id": x.expert_id, "name": x.name, "category": x.data.get("category", ""),
            "fields": "、".join(x.data.get("fields") or []), "city": x.data.get("city", ""), "in_pool": x.active,
            "standing": "；".join(barred.get(x.expert_id, [])) or "可抽取",
            "rating": round(sum(ratings[x.expert_id]) / len(ratings[x.expert_id]), 2) if x.expert_id in ratings else None,
            "flags": int(n_flags.get(x.expert_id, 0))} for x in pool.pool_experts(s)],
            columns=["expert_id", "name", "category", "fields", "city", "in_pool", "standing", "rating", "flags"])
        penalties = pd.DataFrame([{
            "id": p.id, "expert_id": p.expert_id, "kind": p.kind, "start": p.start, "end": p.end or "",
            "barred_until": str(barred_until(pool.as_penalty(p), pol.pool) or "撤销为止"), "reason": p.reason,
            "evidence": p.evidence, "withdrawn": p.withdrawn} for p in pool.penalties(s)],
            columns=["id", "expert_id", "kind", "start", "end", "barred_until", "reason", "evidence", "withdrawn"])
        return {"experts": experts, "penalties": penalties, "kinds": pol.pool.kinds, "day": pool.round_day(r),
                "bars": pd.DataFrame([{"expert_id": e, "field": f or "全部 all", "reason": why} for e, f, why in bars],
                                     columns=["expert_id", "field", "reason"]),
                "flags": pd.DataFrame([{"expert_id": x.expert_id, "round": x.round_code, "source": x.source,
                                        "flag": x.flag} for x in flags], columns=["expert_id", "round", "source", "flag"]),
                "seated": pd.DataFrame([{"stage": st, "application_id": a, "expert_id": e, "reason": why}
                                        for st, a, e, why in seated],
                                       columns=["stage", "application_id", "expert_id", "reason"]),
                "year": int(r.year)}


def expert_record(expert_id: str) -> pd.DataFrame:
    """One expert's history in the pool, oldest first: merge changes, penalties, ratings and flags."""
    rows = []
    with app_store.store().read() as s:
        pool.known_expert(s, expert_id)
        for c in pool.changes_of(s, expert_id):
            what = {"added": "入库", "changed": "信息变更", "left": "退出专家库", "returned": "重新入库"}.get(c.change, c.change)
            rows.append({"at": c.created_at, "what": what,
                         "detail": "；".join(f"{k}: {c.before.get(k)} → {c.after.get(k)}" for k in c.after)
                         if c.change in ("changed", "returned") else Path(c.source).name})
        for p in pool.penalties(s, expert_id):
            rows.append({"at": p.created_at, "what": f"信用惩戒 #{p.id} {p.kind}",
                         "detail": f"{p.start}..{p.end or '撤销为止'}：{p.reason}"
                                   + (f"（已撤销：{p.withdrawn_reason}）" if p.withdrawn else "")})
        for x in pool.ratings(s, expert_id):
            rows.append({"at": x.created_at, "what": f"评价 {x.round_code}", "detail": f"{x.rating}/5 {x.note}"})
        for x in pool.flags(s, expert_id):
            rows.append({"at": x.created_at, "what": f"偏差标记 {x.round_code}", "detail": f"{x.source}：{x.flag}"})
    return pd.DataFrame(rows, columns=["at", "what", "detail"]).sort_values("at", kind="stable", ignore_index=True)


def merge(round_id: str, file_name: str, data: bytes, user: str) -> list[str]:
    """Merge an uploaded pool file (the round's policy checks the rows); the report's lines."""
    suffix = Path(file_name).suffix.lower() or ".xlsx"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{Path(file_name).stem or 'pool'}{suffix}"
        path.write_bytes(data)
        with app_store.store().write() as s:
            pol = repo.round_policy(repo.get_round(s, round_id))
            rep = pool.import_pool(s, path, pol, user=user, reason=f"专家库文件 {file_name}")
    rep.source = file_name
    return rep.lines()


def merge_round(round_id: str, user: str) -> list[str]:
    """Merge the experts of the round's latest import into the pool; the report's lines."""
    with app_store.store().write() as s:
        return pool.import_from_round(s, repo.get_round(s, round_id), user=user).lines()


def add_penalty(round_id: str, *, expert_id: str, kind: str, start: dt.date, end: dt.date | None, reason: str,
                evidence: str, user: str) -> tuple[int, list[str]]:
    """Record a penalty; the published seats rule P1 now bars go to 补抽 (reviewer.store.seat_obstacles).
    Returns (penalty id, what happened to the seats, as lines)."""
    with app_store.store().write() as s:
        pol = repo.round_policy(repo.get_round(s, round_id))
        pid = pool.add_penalty(s, pol.pool, expert_id=expert_id.strip(), kind=kind, start=start.isoformat(),
                               end=end.isoformat() if end else None, reason=reason, evidence=evidence, user=user).id
    return pid, [x for rep in seat_obstacles.after_penalty(app_store.store(), pid, user=user) for x in rep.lines()]


def withdraw(penalty_id: int, reason: str, user: str) -> list[str]:
    """Withdraw a penalty; seats it had put into 补抽 and not yet refilled are restored (lines)."""
    with app_store.store().write() as s:
        pool.withdraw_penalty(s, int(penalty_id), reason=reason, user=user)
    return [x for rep in seat_obstacles.after_penalty(app_store.store(), int(penalty_id), user=user)
            for x in rep.lines()]


def rate(round_id: str, expert_id: str, rating: int, note: str, user: str) -> None:
    with app_store.store().write() as s:
        pool.rate(s, expert_id=expert_id.strip(), round_code=round_id, rating=int(rating), note=note, user=user)


def report_bytes(round_id: str, year: int) -> bytes:
    """The yearly pool report (.xlsx, formula-safe) with gaps against this round's applications."""
    with app_store.store().read() as s:
        pol = repo.round_policy(repo.get_round(s, round_id))
        sheets = pool_report.yearly_report(s, year, pol, round_id)
    with tempfile.TemporaryDirectory() as d:
        path = pool_report.write_report(sheets, Path(d) / "pool_report.xlsx")
        return path.read_bytes()
