"""The [pool] section of the policy: the expert pool's standing (rule P1 专家库资格, issue 16 item 6).

A credit penalty (信用惩戒) bars an expert from its start date to its end date plus the cooling-off of
its kind; a permanent kind (取消资格) bars until staff withdraw it. The rotation limit keeps an expert who
served in `rotation_limit` consecutive rounds (on the same field, or at all) out of the next round.
Defaults apply to a stored round policy written before this section existed.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_COOLING = {"通报批评": 0, "暂停抽取": 2, "取消资格": 0}


class Pool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Months after a penalty's end date during which the expert is still not drawn, per penalty kind;
    # the kinds listed here are the only kinds staff can record.
    cooling_off_months: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_COOLING))
    # Kinds with no end: the expert is barred from the start until the penalty is withdrawn.
    permanent_kinds: list[str] = ["取消资格"]
    # An expert who served in this many consecutive rounds sits the next one out (0 = no limit).
    rotation_limit: int = Field(3, ge=0, le=20)
    # "field": consecutive rounds on applications of the same field bar that field only; "pool": any panel.
    rotation_scope: Literal["field", "pool"] = "field"
    # The yearly report lists experts whose record is older than this as due for renewal (换届).
    renewal_years: int = Field(5, ge=1, le=20)

    @model_validator(mode="after")
    def _kinds(self) -> "Pool":
        if not self.cooling_off_months:
            raise ValueError("[pool] cooling_off_months: name at least one penalty kind, e.g. 暂停抽取 = 2")
        for kind, months in self.cooling_off_months.items():
            if not kind.strip():
                raise ValueError("[pool] cooling_off_months: a penalty kind has an empty name")
            if not 0 <= months <= 120:
                raise ValueError(f"[pool] cooling_off_months.{kind} = {months}: expected 0..120 months")
        unknown = [k for k in self.permanent_kinds if k not in self.cooling_off_months]
        if unknown:
            raise ValueError(f"[pool] permanent_kinds names {', '.join(unknown)}, which cooling_off_months does not "
                             f"list (kinds: {', '.join(self.cooling_off_months)})")
        return self

    @property
    def kinds(self) -> list[str]:
        return list(self.cooling_off_months)
