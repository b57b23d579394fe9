"""A centre's states (申报, 试点, 认定, 撤销, 国家级) and the transitions allowed between them.

The rules that move a centre between states are in :mod:`reviewer.centres.lifecycle`; the
centres file (:mod:`reviewer.centres.evaluation`) checks its 状态 column with :func:`parse_state`.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from reviewer.errors import UserError


class State(str, Enum):
    APPLIED = "申报"
    PILOT = "试点"
    RECOGNISED = "认定"
    REVOKED = "撤销"
    NATIONAL = "国家级"

    @property
    def en(self) -> str:
        return {"申报": "applied", "试点": "pilot", "认定": "recognised", "撤销": "revoked", "国家级": "national"}[self.value]

    @property
    def label(self) -> str:
        return f"{self.value} {self.en}"


ALLOWED: dict[State, frozenset[State]] = {
    State.APPLIED: frozenset({State.PILOT}),
    State.PILOT: frozenset({State.RECOGNISED, State.REVOKED}),
    State.RECOGNISED: frozenset({State.NATIONAL, State.REVOKED}),
    State.REVOKED: frozenset(),
    State.NATIONAL: frozenset(),
}

_ALIASES = {
    "申报": State.APPLIED, "applied": State.APPLIED, "application": State.APPLIED, "申请": State.APPLIED,
    "试点": State.PILOT, "pilot": State.PILOT, "试点中心": State.PILOT, "建设": State.PILOT,
    "认定": State.RECOGNISED, "recognised": State.RECOGNISED, "recognized": State.RECOGNISED, "正式认定": State.RECOGNISED,
    "撤销": State.REVOKED, "revoked": State.REVOKED, "取消": State.REVOKED, "取消试点资格": State.REVOKED,
    "国家级": State.NATIONAL, "national": State.NATIONAL, "国家制造业创新中心": State.NATIONAL,
}


def parse_state(s: Any) -> State:
    if isinstance(s, State):
        return s
    key = str(s).strip()
    st = _ALIASES.get(key) or _ALIASES.get(key.lower())
    if st is None:
        raise UserError(f"state {s!r}: expected one of 申报/applied, 试点/pilot, 认定/recognised, 撤销/revoked, 国家级/national")
    return st


class IllegalTransition(UserError):
    """A transition the state machine does not allow; the message says what is allowed."""


