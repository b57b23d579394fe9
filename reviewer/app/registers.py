"""登记册 in the staff app (issue 17 part 3): the registers that decide, as kept in the store
(reviewer.store.registers) and read by the ranking.

* the centre register as of the round date: which fields a 试点, 认定 or 国家级 centre occupies (一领域一中心);
* the 技术创新中心 register (field, document number, date): no new-centre subsidy in those fields;
* the one subsidy ledger of the ranking's and the life cycle's grants (never twice per centre and kind).

Staff keep the ledger here: record a grant (centre, kind, amount, date, 文号, reason) or reverse one with a
reason, by the store functions `reviewer register grant|reverse` use (the rules are the Ledger's: never twice,
the caps, the annual budget; a refusal names the rule and the numbers). Staff may record the demo's past
centres' life cycle into the registers (the same act as `reviewer register lifecycle`: only what is new,
audited). The demo round reads and writes its own registers, loaded when it is made (reviewer.app.rounds).
"""
from __future__ import annotations

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.app.rounds import policy_for
from reviewer.centres.ledger import STATUS_ZH, SubsidyKind
from reviewer.demo.registers import demo_replay
from reviewer.resources import DEMO_DIR
from reviewer.store import registers

CENTRE_COLS = {"centre_id": "中心编号", "name": "中心名称", "field": "领域", "state": "状态", "since": "起始日期",
               "document_no": "文号", "occupies": "占用领域（基准日）"}
TECH_COLS = {"name": "技术创新中心", "field": "领域", "document_no": "认定文号", "date": "认定日期"}
LEDGER_COLS = {"entry_id": "序号", "date": "日期", "centre_id": "中心编号", "field": "领域", "kind": "补助类别",
               "status": "结果", "amount_wan": "金额（万元）", "document_no": "文号", "reason": "依据与理由"}
OCCUPYING = ("试点", "认定", "国家级")
KINDS = {k.value: k.zh for k in SubsidyKind}


def _day(round_id: str):
    return policy_for(round_id).as_of_date()


def round_day(round_id: str):
    """The round's reference date (the ledger form's default date)."""
    return _day(round_id)


def _scope(round_id: str) -> str:
    return registers.scope_of(round_id)


def centre_register(round_id: str) -> pd.DataFrame:
    """Every centre register entry, marked whether it occupies its field on the round's reference date."""
    day = _day(round_id)
    with app_store.store().read() as s:
        rows = registers.centre_entries(s, _scope(round_id))
        taken = registers.occupied(s, day, _scope(round_id))
    df = pd.DataFrame([{"centre_id": e.centre_id, "name": e.name, "field": e.field, "state": e.state,
                        "since": e.since.isoformat(), "document_no": e.document_no or ""} for e in rows],
                      columns=list(CENTRE_COLS)[:-1])
    # the one entry in force for its field (a centre's earlier 试点 entry is history once it is 认定)
    df["occupies"] = ["是" if f in taken and e.centre_id in taken[f] and f"{e.state}，自 {e.since.isoformat()}" in taken[f]
                      else "" for f, e in zip(df["field"], rows)]
    return df.rename(columns=CENTRE_COLS)


def fields_taken(round_id: str) -> pd.DataFrame:
    """field -> the register entry that occupies it on the round date (what the ranking refuses)."""
    with app_store.store().read() as s:
        taken = registers.occupied(s, _day(round_id), _scope(round_id))
    return pd.DataFrame([{"领域": f, "占用依据": why} for f, why in sorted(taken.items())], columns=["领域", "占用依据"])


def tech_register(round_id: str) -> pd.DataFrame:
    with app_store.store().read() as s:
        rows = registers.tech_entries(s, _scope(round_id))
    return pd.DataFrame([{"name": e.name, "field": e.field, "document_no": e.document_no, "date": e.date.isoformat()}
                         for e in rows], columns=list(TECH_COLS)).rename(columns=TECH_COLS)


def ledger(round_id: str) -> tuple[pd.DataFrame, float]:
    """The subsidy ledger (as of the round date) and the total granted (reversed grants not counted), in 万元."""
    pol = policy_for(round_id)
    with app_store.store().read() as s:
        lg = registers.load_ledger(s, pol, pol.as_of_date(), _scope(round_id))
    df = pd.DataFrame([{"entry_id": e.entry_id, "date": str(e.date), "centre_id": e.centre_id, "field": e.field,
                        "kind": SubsidyKind(e.kind).zh,
                        "status": STATUS_ZH.get(e.status, e.status) + (f"（冲销第 {e.reverses} 条）" if e.reverses else ""),
                        "amount_wan": e.amount / 10_000, "document_no": e.document_no, "reason": e.reason}
                       for e in lg.entries],
                      columns=list(LEDGER_COLS))
    return df.rename(columns=LEDGER_COLS), lg.total() / 10_000


def grant_choices(round_id: str) -> tuple[dict[str, str], list[int]]:
    """For the ledger form: centre id -> "id 名称（领域）" of the centres a grant may go to, and the entry
    numbers of the grants in force (what may be reversed)."""
    pol = policy_for(round_id)
    with app_store.store().read() as s:
        known = registers.known_centres(s, _scope(round_id))
        names = {e.centre_id: e.name for e in registers.centre_entries(s, _scope(round_id))}
        lg = registers.load_ledger(s, pol, pol.as_of_date(), _scope(round_id))
    centres = {c: f"{c} {names.get(c, '')}（{f}）".replace("  ", " ") for c, f in sorted(known.items())}
    return centres, [e.entry_id for e in lg.active() if e.entry_id is not None]


def record_grant(round_id: str, user: str | None, *, centre_id: str, kind: str, amount_wan: float, date: str,
                 document_no: str, reason: str) -> dict:
    """Record a grant of `amount_wan` 万元 (audited); refused, recording nothing, when the ledger's rules forbid it."""
    with app_store.store().write() as s:
        e = registers.record_grant(s, policy_for(round_id), centre_id=centre_id, kind=kind,
                                   amount=float(amount_wan) * 10_000, date=str(date), document_no=document_no,
                                   reason=reason, user=acting_user(user), scope=_scope(round_id))
    return {"centre_id": e.centre_id, "kind": SubsidyKind(e.kind).zh, "amount_wan": e.amount / 10_000}


def reverse_grant(round_id: str, user: str | None, *, entry_id: int, date: str, reason: str,
                  document_no: str = "") -> dict:
    """Reverse the grant `entry_id` with a reason (a ledger entry of its own; audited)."""
    with app_store.store().write() as s:
        e = registers.reverse_grant(s, policy_for(round_id), entry_id=int(entry_id), date=str(date), reason=reason,
                                    document_no=document_no, user=acting_user(user), scope=_scope(round_id))
    return {"centre_id": e.centre_id, "kind": SubsidyKind(e.kind).zh, "amount_wan": -e.amount / 10_000}


def record_demo_lifecycle(round_id: str, user: str | None) -> tuple[int, int]:
    """The demo's past centres' life cycle up to the round date into the round's registers and ledger (only what
    is new; audited; reviewer.store.registers.record_replay, as `reviewer register lifecycle`). Returns
    (register events, ledger entries) recorded."""
    pol = policy_for(round_id)
    day = pol.as_of_date()
    rp = demo_replay(DEMO_DIR, pol)
    with app_store.store().write() as s:
        return registers.record_replay(s, pol, rp, user=acting_user(user), source=f"life cycle demo as of {day} (app)",
                                       scope=_scope(round_id))
