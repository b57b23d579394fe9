"""Registers that decide (issue 17 part 3): the centre register and the Guangxi technology innovation
centre register, as of a date.

* **Centre register** (制造业创新中心名录): events "from `since` centre X is in state S". As of a day,
  each centre is in the state of its latest event on or before that day; 试点, 认定 and 国家级 occupy the
  centre's field, 撤销 frees it. The recognition ranking reads the occupied fields (一领域一中心,
  reviewer.scoring.ranking) with the register entry as the reason. The life cycle's replay
  (reviewer.centres.lifecycle) gives the register's events of the past centres (:func:`from_replay`).
* **技术创新中心 register**: existing independent-legal-person Guangxi technology innovation centres by
  field, each with its evidence (document number and date); a field listed from a date on gets no
  new-centre subsidy (seed §四(二), reviewer.centres.ledger).

The store keeps both (reviewer.store.registers); these functions are the rules, on plain records.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from reviewer.centres.states import State, parse_state
from reviewer.errors import UserError

OCCUPYING = frozenset({State.PILOT, State.RECOGNISED, State.NATIONAL})


@dataclass(frozen=True)
class CentreEntry:
    """From `since` the centre is in `state` (a register event)."""
    centre_id: str
    name: str
    field: str
    state: str
    since: dt.date
    document_no: str = ""

    def text(self) -> str:
        doc = f"，{self.document_no}" if self.document_no else ""
        return f"中心名录 register: {self.centre_id} {self.name}（{self.state}，自 {self.since.isoformat()}{doc}）"


@dataclass(frozen=True)
class TechCentre:
    """An independent-legal-person Guangxi technology innovation centre in `field`, with its evidence."""
    name: str
    field: str
    document_no: str
    date: dt.date

    def text(self) -> str:
        return f"广西技术创新中心名录: {self.name}，{self.document_no}，{self.date.isoformat()}"


def check_centre_entry(centre_id: str, name: str, field: str, state: str, since: str, known_fields: Iterable[str],
                       document_no: str = "") -> CentreEntry:
    """A register event checked: an id, a key field, a state, a date (clear errors naming the value)."""
    if not centre_id.strip():
        raise UserError("中心编号 centre id: empty; expected an id such as GXMIC-2022-01")
    known = set(known_fields)
    if field not in known:
        raise UserError(f"领域 field {field!r}: not one of the key fields {sorted(known)}")
    st = parse_state(state)
    try:
        day = dt.date.fromisoformat(since)
    except (TypeError, ValueError):
        raise UserError(f"日期 since {since!r}: expected a date like 2025-12-31") from None
    return CentreEntry(centre_id.strip(), name.strip(), field, st.value, day, document_no.strip())


def states_on(entries: Iterable[CentreEntry], as_of: dt.date) -> dict[str, CentreEntry]:
    """centre_id -> its latest register event on or before `as_of` (later-recorded first among the same day)."""
    out: dict[str, CentreEntry] = {}
    for e in sorted((e for e in entries if e.since <= as_of), key=lambda e: e.since):
        out[e.centre_id] = e
    return out


def occupied_fields(entries: Iterable[CentreEntry], as_of: dt.date) -> dict[str, str]:
    """field -> why it is taken (the register entry) as of `as_of`: 试点, 认定 and 国家级 occupy; 撤销 frees."""
    out: dict[str, str] = {}
    for e in sorted(states_on(entries, as_of).values(), key=lambda e: (e.field, e.centre_id)):
        if parse_state(e.state) in OCCUPYING:
            out[e.field] = f"{out[e.field]}；{e.text()}" if e.field in out else e.text()
    return out


def tech_fields(entries: Iterable[TechCentre], as_of: dt.date) -> dict[str, str]:
    """field -> the evidence of its technology innovation centre(s) registered on or before `as_of`."""
    out: dict[str, str] = {}
    for t in sorted((t for t in entries if t.date <= as_of), key=lambda t: (t.field, t.date, t.name)):
        out[t.field] = f"{out[t.field]}；{t.text()}" if t.field in out else t.text()
    return out


def from_replay(lives) -> list[CentreEntry]:
    """The register events of replayed centres (reviewer.centres.lifecycle.Replay.lives): one per transition,
    with its cause as the document reference (the transition's reason holds the evidence)."""
    out = []
    for life in lives.values():
        for t in life.history:
            out.append(CentreEntry(life.centre_id, life.name, life.field, t.to_state, t.date,
                                   t.document_no()))
    return out
