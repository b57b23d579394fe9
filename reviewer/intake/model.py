"""Domain records: applications with their founding units and platforms, experts with their
history, and declarations. Validated with pydantic. (The review stages are the policy's:
`reviewer.policy.Policy.stage`.)

Checks that need the policy (is the field one of the key fields, the city one of the 14, the
category one of the five) run through pydantic's validation context: pass
``context={"policy": policy}`` to ``model_validate``.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reviewer.intake.credit_code import credit_code_problem


class HistoryKind(str, Enum):
    EMPLOYMENT = "任职"
    BOARD = "董监高"
    SHAREHOLDER = "股东"
    RELATIVE = "亲属"
    ADVISOR = "师生"
    COOPERATION = "合作"


class DeclarationKind(str, Enum):
    UNSUITABLE = "不适宜"   # named by the applicant (C6)
    RECUSAL = "回避"        # declared by the expert or staff (C3)
    WAIVER = "豁免"         # staff lift a waivable conflict, with a reason


EXPERT_STATUSES = ("可用", "不可用", "信用惩戒")
TITLE_LEVELS = ("正高级", "副高级", "中级", "其他")
MEMBER_ROLES = ("核心成员", "一般成员")
UNIT_TYPES = ("企业", "高校", "科研院所", "其他")
PLATFORM_LEVELS = ("国家级", "自治区级", "市级", "其他")
OUTSIDE_GUANGXI = "区外"


def _policy(info: ValidationInfo):
    return (info.context or {}).get("policy")


def _as_of(info: ValidationInfo) -> dt.date | None:
    p = _policy(info)
    return p.as_of_date() if p is not None else None


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    row: int | None = Field(default=None, exclude=True, description="source row in the input file")


def _check_code(v: str | None) -> str | None:
    if v is None or v == "":
        return None
    v = v.strip().upper()
    problem = credit_code_problem(v)
    if problem:
        raise ValueError(f"a valid 18-character unified social credit code (GB 32100-2015): {problem}")
    return v


def _one_of(*fields: str, allowed: tuple[str, ...]):
    """A validator that accepts only `allowed` values (blank passes; required-ness is the field's)."""
    def check(cls, v):
        if v is not None and v not in allowed:
            raise ValueError(f"one of {'/'.join(allowed)}")
        return v
    return field_validator(*fields)(classmethod(check))


def _not_future(v: dt.date | None, info: ValidationInfo) -> dt.date | None:
    as_of = _as_of(info)
    if v is not None and as_of is not None and v > as_of:
        raise ValueError(f"a date not after the reference date {as_of.isoformat()}")
    return v


class Member(Record):
    application_id: str
    unit_name: str = Field(min_length=1)
    credit_code: str
    role: str = "一般成员"
    unit_type: str = "企业"
    field_rank: int | None = Field(default=None, ge=1)
    is_shareholder: bool = True
    city: str | None = None

    _code = field_validator("credit_code")(classmethod(lambda cls, v: _check_code(v)))

    _role = _one_of("role", allowed=MEMBER_ROLES)

    _type = _one_of("unit_type", allowed=UNIT_TYPES)

    @property
    def is_core(self) -> bool:
        return self.role == "核心成员"


class Platform(Record):
    application_id: str
    holder_credit_code: str
    platform_name: str = Field(min_length=1)
    level: str
    year: int = Field(ge=1950)

    _code = field_validator("holder_credit_code")(classmethod(lambda cls, v: _check_code(v)))

    _level = _one_of("level", allowed=PLATFORM_LEVELS)

    @field_validator("year")
    @classmethod
    def _year(cls, v: int, info: ValidationInfo) -> int:
        as_of = _as_of(info)
        if as_of is not None and v > as_of.year:
            raise ValueError(f"a year not after {as_of.year}")
        return v


class Application(Record):
    application_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    field: str
    recommending_city: str | None = None
    lead_unit: str = Field(min_length=1)
    lead_credit_code: str
    lead_city: str
    lead_unit_type: str = "企业"
    lead_field_rank: int | None = Field(default=None, ge=1)
    legal_representative: str | None = None
    centre_head: str | None = None
    revenue_y1: float = Field(ge=0)
    revenue_y2: float = Field(ge=0)
    revenue_y3: float = Field(ge=0)
    rd_spend_y1: float = Field(ge=0)
    rd_spend_y2: float = Field(ge=0)
    rd_spend_y3: float = Field(ge=0)
    main_revenue_y1: float | None = Field(default=None, ge=0)
    main_revenue_y2: float | None = Field(default=None, ge=0)
    main_revenue_y3: float | None = Field(default=None, ge=0)
    invention_patents_valid: int = Field(ge=0)
    violations_3y: int = Field(ge=0)
    violation_notes: str | None = None
    tech_description: str = ""
    submitted_on: dt.date | None = None
    # Filled from the other tables after import.
    members: tuple[Member, ...] = ()
    platforms: tuple[Platform, ...] = ()

    _code = field_validator("lead_credit_code")(classmethod(lambda cls, v: _check_code(v)))
    _date = field_validator("submitted_on")(classmethod(lambda cls, v, info: _not_future(v, info)))

    @field_validator("field")
    @classmethod
    def _field(cls, v: str, info: ValidationInfo) -> str:
        p = _policy(info)
        if p is not None and v not in p.fields.all:
            raise ValueError(f"one of the 12 key fields: {'、'.join(p.fields.all)}")
        return v

    @field_validator("recommending_city", "lead_city")
    @classmethod
    def _city(cls, v: str | None, info: ValidationInfo) -> str | None:
        p = _policy(info)
        if v and p is not None and v not in p.cities.names and not (
                info.field_name == "lead_city" and v == OUTSIDE_GUANGXI):
            raise ValueError(f"one of the 14 cities: {'、'.join(p.cities.names)}"
                             + (f" (or {OUTSIDE_GUANGXI})" if info.field_name == "lead_city" else ""))
        return v or None

    _type = _one_of("lead_unit_type", allowed=UNIT_TYPES)

    @property
    def revenues(self) -> tuple[float, float, float]:
        return (self.revenue_y1, self.revenue_y2, self.revenue_y3)

    @property
    def main_revenues(self) -> tuple[float, float, float]:
        """Main business revenue; a blank year falls back to that year's sales revenue."""
        mains = (self.main_revenue_y1, self.main_revenue_y2, self.main_revenue_y3)
        return tuple(m if m is not None else r for m, r in zip(mains, self.revenues))  # type: ignore[return-value]

    @property
    def rd_spends(self) -> tuple[float, float, float]:
        return (self.rd_spend_y1, self.rd_spend_y2, self.rd_spend_y3)

    @property
    def unit_codes(self) -> tuple[str, ...]:
        """Credit codes of every founding unit: the lead unit first, then the members."""
        return (self.lead_credit_code, *(m.credit_code for m in self.members))

    def unit_name(self, code: str) -> str:
        if code == self.lead_credit_code:
            return self.lead_unit
        for m in self.members:
            if m.credit_code == code:
                return m.unit_name
        return code


class HistoryRecord(Record):
    expert_id: str
    kind: HistoryKind
    org_name: str | None = None
    org_credit_code: str | None = None
    person: str | None = None
    role: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    note: str | None = None

    _code = field_validator("org_credit_code")(classmethod(lambda cls, v: _check_code(v)))
    _dates = field_validator("start", "end")(classmethod(lambda cls, v, info: _not_future(v, info)))

    @model_validator(mode="after")
    def _consistent(self) -> "HistoryRecord":
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end date {self.end} before start date {self.start}")
        if self.kind in (HistoryKind.EMPLOYMENT, HistoryKind.BOARD, HistoryKind.SHAREHOLDER):
            if not (self.org_name or self.org_credit_code):
                raise ValueError(f"a {self.kind.value} record needs 单位名称 or 单位信用代码")
        elif not (self.person or self.org_credit_code or self.org_name):
            raise ValueError(f"a {self.kind.value} record needs 关系人 or the unit")
        return self


class Expert(Record):
    expert_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    category: str
    title: str | None = None
    title_level: str
    employer: str = Field(min_length=1)
    employer_credit_code: str | None = None
    employer_type: str | None = None
    department: str | None = None
    city: str
    fields: tuple[str, ...] = ()
    specialties: str = ""
    status: str = "可用"
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    max_load: int | None = Field(default=None, ge=0)
    phone: str | None = None
    email: str | None = None
    history: tuple[HistoryRecord, ...] = ()

    _code = field_validator("employer_credit_code")(classmethod(lambda cls, v: _check_code(v)))

    @field_validator("category")
    @classmethod
    def _category(cls, v: str, info: ValidationInfo) -> str:
        p = _policy(info)
        if p is not None and v not in p.panel_rules.categories:
            raise ValueError(f"one of the expert categories {'/'.join(p.panel_rules.categories)}")
        return v

    _title = _one_of("title_level", allowed=TITLE_LEVELS)

    @field_validator("city")
    @classmethod
    def _city(cls, v: str, info: ValidationInfo) -> str:
        p = _policy(info)
        if p is not None and v not in p.cities.names and v != OUTSIDE_GUANGXI:
            raise ValueError(f"one of the 14 cities or {OUTSIDE_GUANGXI}")
        return v

    @field_validator("department")
    @classmethod
    def _department(cls, v: str | None, info: ValidationInfo) -> str | None:
        p = _policy(info)
        if v and p is not None and v != "自治区" and v not in p.cities.names:
            raise ValueError("blank, 自治区, or one of the 14 cities")
        return v or None

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        p = _policy(info)
        if p is not None:
            bad = [f for f in v if f not in p.fields.all]
            if bad:
                raise ValueError(f"key fields from {'、'.join(p.fields.all)}; {bad[0]!r} is not one")
        return v

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> str:
        if v is None or v == "":
            return "可用"
        if v not in EXPERT_STATUSES:
            raise ValueError(f"one of {'/'.join(EXPERT_STATUSES)} (blank = 可用)")
        return v

    @model_validator(mode="after")
    def _window(self) -> "Expert":
        if self.available_from and self.available_until and self.available_until < self.available_from:
            raise ValueError(f"可用截止日期 {self.available_until} before 可用起始日期 {self.available_from}")
        return self

    @property
    def employer_key(self) -> str:
        """Identity of the employer for the one-per-employer rule: credit code, else normalised name."""
        return self.employer_credit_code or "name:" + "".join(self.employer.split())

    @property
    def drawable(self) -> bool:
        """C7: an expert under a credit ban or marked unavailable is not drawn at all."""
        return self.status == "可用"

    def available_on(self, day: dt.date) -> bool:
        if self.available_from and day < self.available_from:
            return False
        if self.available_until and day > self.available_until:
            return False
        return True


class Declaration(Record):
    application_id: str
    expert_id: str
    kind: DeclarationKind
    declared_by: str | None = None
    reason: str | None = None
    rule: str | None = None
    date: dt.date | None = None

    _date = field_validator("date")(classmethod(lambda cls, v, info: _not_future(v, info)))

    @model_validator(mode="after")
    def _waiver(self) -> "Declaration":
        if self.kind == DeclarationKind.WAIVER:
            if not self.reason:
                raise ValueError("a 豁免 (waiver) needs a reason (理由)")
            if not self.rule:
                raise ValueError("a 豁免 (waiver) names the rule it waives (豁免规则), e.g. C6")
        return self


class RoundData(BaseModel):
    """Everything imported for one review round."""
    model_config = ConfigDict(frozen=True)
    applications: tuple[Application, ...] = ()
    experts: tuple[Expert, ...] = ()
    declarations: tuple[Declaration, ...] = ()

    def application(self, application_id: str) -> Application:
        for a in self.applications:
            if a.application_id == application_id:
                return a
        raise KeyError(application_id)

    def expert(self, expert_id: str) -> Expert:
        for e in self.experts:
            if e.expert_id == expert_id:
                return e
        raise KeyError(expert_id)
