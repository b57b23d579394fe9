"""Subsidy ledger (补助台账, seed §四(二), SPEC §6 funding).

Two one-time subsidies exist:

* ``new_centre`` — 新认定自治区制造业创新中心一次性补助, at most ``funding.new_centre_subsidy_cap``
  (DEFAULT 200万元), for a newly recognised autonomous-region centre; **none** when the centre's
  field already has an independent-legal-person Guangxi technology innovation centre
  (``fields.has_tech_innovation_centre``, when ``funding.no_subsidy_if_tech_innovation_centre``):
  对在同一领域已组建独立法人类广西技术创新中心的 ... 不重复补助;
* ``national`` — 获批国家制造业创新中心一次性补助, at most ``funding.national_centre_subsidy_cap``
  (DEFAULT 1000万元), when approved as a national centre.

A centre never receives the same subsidy twice (a grant reversed by staff, :meth:`Ledger.reverse`, no longer
counts: for that rule, the annual budget and the totals).  :meth:`Ledger.grant` raises
:class:`SubsidyRefused` (a :class:`UserError`, one clear line) for a refused grant;
:meth:`Ledger.decide` records the refusal in the ledger instead (amount 0, with the reason), which
is what the life-cycle replay uses so staff see why a centre got nothing.  Entries are frozen
dataclasses that serialise to plain dicts (`as_dict` / `Ledger.from_records`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Iterable, Mapping

import pandas as pd

from reviewer.errors import UserError
from reviewer.policy import Policy


class SubsidyKind(str, Enum):
    NEW_CENTRE = "new_centre"
    NATIONAL = "national"

    @property
    def zh(self) -> str:
        return {"new_centre": "新认定自治区制造业创新中心一次性补助",
                "national": "国家制造业创新中心一次性补助"}[self.value]


STATUS_ZH = {"granted": "已发放", "refused": "不予补助", "reversed": "冲销"}


class SubsidyRefused(UserError):
    """A grant the rules forbid (duplicate, above the cap, field with a technology innovation centre)."""


@dataclass(frozen=True)
class LedgerEntry:
    centre_id: str
    field: str
    kind: str                 # SubsidyKind value
    amount: float             # yuan; 0 for a refusal
    cap: float
    date: dt.date
    status: str               # granted | refused | reversed (amount: minus the reversed grant's)
    reason: str
    document_no: str = ""     # 文号 of the grant or reversal
    entry_id: int | None = None   # the store's row id (reviewer.store.registers); None before it is saved
    reverses: int | None = None   # a reversal: the entry_id of the grant it reverses

    @property
    def year(self) -> int:
        return self.date.year

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        d["year"] = self.year
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LedgerEntry":
        d = {k: v for k, v in d.items() if k != "year"}
        if isinstance(d["date"], str):
            d["date"] = dt.date.fromisoformat(d["date"])
        return cls(**d)


COLUMNS = ["centre_id", "field", "kind", "kind_zh", "amount", "cap", "date", "year", "status", "reason", "document_no",
           "entry_id", "reverses"]


class Ledger:
    """The department's subsidy ledger under a policy's [funding] and [fields] rules."""

    def __init__(self, policy: Policy, entries: Iterable[LedgerEntry] = (),
                 tech_register: Mapping[str, str] | None = None) -> None:
        """`tech_register`: field -> the evidence of its Guangxi technology innovation centre (the
        register, reviewer.centres.register), with the policy's has_tech_innovation_centre."""
        f = policy.funding
        self.caps = {SubsidyKind.NEW_CENTRE: float(f.new_centre_subsidy_cap),
                     SubsidyKind.NATIONAL: float(f.national_centre_subsidy_cap)}
        self.annual_budget = float(f.annual_budget)
        tech = {**{x: "policy fields.has_tech_innovation_centre" for x in policy.fields.has_tech_innovation_centre},
                **(tech_register or {})}
        self.no_dup_fields: dict[str, str] = tech if f.no_subsidy_if_tech_innovation_centre else {}
        self.entries: list[LedgerEntry] = list(entries)

    # ---------------------------------------------------------------- rules
    def active(self) -> list[LedgerEntry]:
        """The grants in force: granted and not reversed."""
        gone = {e.reverses for e in self.entries if e.status == "reversed"}
        return [e for e in self.entries if e.status == "granted" and (e.entry_id is None or e.entry_id not in gone)]

    def granted(self, centre_id: str, kind: SubsidyKind | str) -> LedgerEntry | None:
        kind = SubsidyKind(kind)
        for e in self.active():
            if e.centre_id == centre_id and e.kind == kind.value:
                return e
        return None

    def granted_in(self, year: int) -> float:
        return float(sum(e.amount for e in self.active() if e.year == year))

    def check(self, centre_id: str, field: str, kind: SubsidyKind | str, amount: float | None = None,
              on: dt.date | None = None) -> tuple[float, str | None]:
        """(amount to grant, None) when allowed, else (0, the reason it is refused): never twice per kind,
        no new-centre subsidy in a field with a technology innovation centre, the cap, and (with `on`)
        the annual budget ([funding] annual_budget, 0 = none). The one place these rules are applied."""
        kind = SubsidyKind(kind)
        cap = self.caps[kind]
        prior = self.granted(centre_id, kind)
        if prior is not None:
            return 0.0, (f"【不重复补助】{centre_id} 已于 {prior.date.isoformat()} 获得{kind.zh} {prior.amount / 10_000:g}万元，不重复补助 / "
                         f"{centre_id} already received the {kind.zh} ({prior.amount / 10_000:g}万元 on "
                         f"{prior.date.isoformat()}); a centre never receives the same subsidy twice")
        if kind == SubsidyKind.NEW_CENTRE and field in self.no_dup_fields:
            return 0.0, (f"【技术创新中心领域】同一领域已组建独立法人类广西技术创新中心，不重复补助（{self.no_dup_fields[field]}） / field {field} "
                         f"already has an independent Guangxi technology innovation centre ({self.no_dup_fields[field]}): "
                         "no duplicate subsidy")
        if amount is None:
            amount = cap
        if amount < 0:
            return 0.0, f"金额不能为负 / amount {amount:g}: expected a non-negative amount in yuan"
        if amount > cap + 1e-6:
            return 0.0, (f"【单项上限】金额 {amount / 10_000:g}万元 超过{kind.zh}上限 {cap / 10_000:g}万元 / amount "
                         f"{amount / 10_000:g}万元 is above the cap of {cap / 10_000:g}万元 (policy funding)")
        if on is not None and self.annual_budget > 0:
            left = self.annual_budget - self.granted_in(on.year)
            if amount > left + 1e-6:
                return 0.0, (f"【年度预算】{on.year} 年度补助预算 {self.annual_budget / 10_000:g}万元 仅余 {max(left, 0) / 10_000:g}万元，"
                             f"不足 {amount / 10_000:g}万元 / the {on.year} budget has {max(left, 0):,.0f} CNY left "
                             "([funding] annual_budget)")
        return float(amount), None

    # ---------------------------------------------------------------- recording
    def decide(self, centre_id: str, field: str, kind: SubsidyKind | str, date: dt.date,
               amount: float | None = None, reason: str = "") -> LedgerEntry:
        """Record a grant, or a refusal (amount 0) with its reason; never raises for the rules."""
        kind = SubsidyKind(kind)
        amt, refused = self.check(centre_id, field, kind, amount, date)
        entry = LedgerEntry(centre_id, field, kind.value, amt, self.caps[kind], date,
                            "refused" if refused else "granted", refused or reason or kind.zh)
        self.entries.append(entry)
        return entry

    def refuse(self, centre_id: str, field: str, kind: SubsidyKind | str, date: dt.date, reason: str) -> LedgerEntry:
        """Record a refusal decided outside the ledger's rules (e.g. a ranking's own budget), with its reason."""
        kind = SubsidyKind(kind)
        entry = LedgerEntry(centre_id, field, kind.value, 0.0, self.caps[kind], date, "refused", reason)
        self.entries.append(entry)
        return entry

    def grant(self, centre_id: str, field: str, kind: SubsidyKind | str, date: dt.date,
              amount: float | None = None, reason: str = "", document_no: str = "") -> LedgerEntry:
        """Grant a subsidy (DEFAULT the cap); raise :class:`SubsidyRefused` when the rules forbid it."""
        kind = SubsidyKind(kind)
        amt, refused = self.check(centre_id, field, kind, amount, date)
        if refused:
            raise SubsidyRefused(refused)
        entry = LedgerEntry(centre_id, field, kind.value, amt, self.caps[kind], date, "granted", reason or kind.zh,
                            document_no)
        self.entries.append(entry)
        return entry

    def reverse(self, entry_id: int, date: dt.date, reason: str, document_no: str = "") -> LedgerEntry:
        """冲销 Reverse the stored grant `entry_id` (paid in error, withdrawn) with a reason: an entry of its own,
        minus the amount; the grant stops counting (never twice, the budget, the totals). A refusal, a reversal
        or a grant already reversed cannot be reversed."""
        if not (reason or "").strip():
            raise UserError("冲销需要说明理由 / reversing a ledger entry needs a reason")
        target = next((e for e in self.entries if e.entry_id == entry_id), None)
        if target is None:
            raise UserError(f"补助台账无第 {entry_id} 条记录 / the ledger has no entry #{entry_id}")
        if target.status != "granted":
            raise UserError(f"第 {entry_id} 条记录为“{STATUS_ZH.get(target.status, target.status)}”，只能冲销已发放的补助 / "
                            f"entry #{entry_id} is {target.status}: only a granted subsidy can be reversed")
        prior = next((e for e in self.entries if e.reverses == entry_id), None)
        if prior is not None:
            raise UserError(f"第 {entry_id} 条记录已于 {prior.date.isoformat()} 冲销 / entry #{entry_id} was already "
                            f"reversed on {prior.date.isoformat()}")
        entry = LedgerEntry(target.centre_id, target.field, target.kind, -target.amount, target.cap, date, "reversed",
                            reason.strip(), document_no.strip(), None, entry_id)
        self.entries.append(entry)
        return entry

    # ---------------------------------------------------------------- views
    def frame(self) -> pd.DataFrame:
        rows = [{**e.as_dict(), "kind_zh": SubsidyKind(e.kind).zh} for e in self.entries]
        return pd.DataFrame(rows, columns=COLUMNS)

    def total(self) -> float:
        return float(sum(e.amount for e in self.active()))

    def _totals(self, by: str) -> pd.DataFrame:
        df = pd.DataFrame([e.as_dict() for e in self.active()], columns=COLUMNS)
        if df.empty:
            return pd.DataFrame(columns=[by, "new_centre", "national", "total", "centres"])
        t = df.pivot_table(index=by, columns="kind", values="amount", aggfunc="sum", fill_value=0.0)
        for k in SubsidyKind:
            if k.value not in t.columns:
                t[k.value] = 0.0
        t = t[[k.value for k in SubsidyKind]].astype(float)
        t["total"] = t.sum(axis=1)
        t["centres"] = df.groupby(by)["centre_id"].nunique()
        t.columns.name = None
        return t.reset_index()

    def totals_by_year(self) -> pd.DataFrame:
        """Granted amounts per year: new_centre, national, total (yuan), number of centres."""
        return self._totals("year")

    def totals_by_field(self) -> pd.DataFrame:
        """Granted amounts per field."""
        return self._totals("field")

    def to_records(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.entries]

    @classmethod
    def from_records(cls, policy: Policy, records: Iterable[Mapping[str, Any]]) -> "Ledger":
        return cls(policy, [LedgerEntry.from_dict(r) for r in records])
