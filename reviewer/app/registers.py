"""登记册 in the staff app (issue 17 part 3): the registers that decide, as kept in the store
(reviewer.store.registers) and read by the ranking.

* the centre register as of the round date: which fields a 试点, 认定 or 国家级 centre occupies (一领域一中心);
* the 技术创新中心 register (field, document number, date): no new-centre subsidy in those fields;
* the one subsidy ledger of the ranking's and the life cycle's grants (never twice per centre and kind).

Staff may record the demo's past centres' life cycle into the registers (the same act as
`reviewer register lifecycle`: only what is new, audited).
"""
from __future__ import annotations

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import acting_user
from reviewer.app.rounds import policy_for
from reviewer.centres.ledger import SubsidyKind
from reviewer.demo.registers import demo_replay
from reviewer.resources import DEMO_DIR
from reviewer.store import registers

CENTRE_COLS = {"centre_id": "中心编号", "name": "中心名称", "field": "领域", "state": "状态", "since": "起始日期",
               "document_no": "文号", "occupies": "占用领域（基准日）"}
TECH_COLS = {"name": "技术创新中心", "field": "领域", "document_no": "认定文号", "date": "认定日期"}
LEDGER_COLS = {"date": "日期", "centre_id": "中心编号", "field": "领域", "kind": "补助类别", "status": "结果",
               "amount_wan": "金额（万元）", "reason": "依据与理由"}
OCCUPYING = ("试点", "认定", "国家级")
STATUS_ZH = {"granted": "已发放", "refused": "不予补助"}


def _day(round_id: str):
    return policy_for(round_id).as_of_date()


def centre_register(round_id: str) -> pd.DataFrame:
    """Every centre register entry, marked whether it occupies its field on the round's reference date."""
    day = _day(round_id)
    with app_store.store().read() as s:
        rows = registers.centre_entries(s)
        taken = registers.occupied(s, day)
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
        taken = registers.occupied(s, _day(round_id))
    return pd.DataFrame([{"领域": f, "占用依据": why} for f, why in sorted(taken.items())], columns=["领域", "占用依据"])


def tech_register(round_id: str) -> pd.DataFrame:
    with app_store.store().read() as s:
        rows = registers.tech_entries(s)
    return pd.DataFrame([{"name": e.name, "field": e.field, "document_no": e.document_no, "date": e.date.isoformat()}
                         for e in rows], columns=list(TECH_COLS)).rename(columns=TECH_COLS)


def ledger(round_id: str) -> tuple[pd.DataFrame, float]:
    """The subsidy ledger (as of the round date) and the total granted, in 万元."""
    pol = policy_for(round_id)
    with app_store.store().read() as s:
        lg = registers.load_ledger(s, pol, pol.as_of_date())
    df = pd.DataFrame([{"date": str(e.date), "centre_id": e.centre_id, "field": e.field, "kind": SubsidyKind(e.kind).zh,
                        "status": STATUS_ZH.get(e.status, e.status), "amount_wan": e.amount / 10_000, "reason": e.reason}
                       for e in lg.entries],
                      columns=list(LEDGER_COLS))
    return df.rename(columns=LEDGER_COLS), lg.total() / 10_000


def record_demo_lifecycle(round_id: str, user: str | None) -> tuple[int, int]:
    """The demo's past centres' life cycle up to the round date into the registers and the ledger (only what
    is new; audited). Returns (register events, ledger entries) recorded."""
    pol = policy_for(round_id)
    day = pol.as_of_date()
    rp = demo_replay(DEMO_DIR, pol)
    who = acting_user(user)
    with app_store.store().write() as s:
        n = registers.sync_from_replay(s, pol, rp.lives, user=who)
        lg = registers.load_ledger(s, pol, day)
        start = len(lg.entries)
        for e in rp.ledger.entries:
            if e.status == "granted" and lg.granted(e.centre_id, e.kind) is None:
                lg.decide(e.centre_id, e.field, e.kind, e.date, e.amount, e.reason)
        m = registers.save_ledger(s, lg, start, source=f"life cycle demo as of {day} (app)", user=who)
    return n, m
