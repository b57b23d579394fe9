"""The annual evaluation's scoring scheme (考核评估, SPEC §7), built from the policy's [evaluation].

The policy checks its [evaluation] section by building a :class:`Scheme` when it loads, so this
module sits below :mod:`reviewer.policy` and imports nothing of the domain: it holds the
vocabulary of the indicator file (the columns a part may score) and the DEFAULT rule of each
DEFAULT part. Scoring itself is :func:`reviewer.centres.evaluation.evaluate`.

A part is scored by a *rule* (:class:`PartRule`) mapping one or more indicator columns, each
against its declared target, through a curve: ``linear`` (DEFAULT; 0 points at or below ``floor``
x target, full points at ``full`` x target or above), ``step`` (full points when value / target
>= full, else 0) or ``expert`` (judged by experts).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Protocol

import numpy as np

from reviewer.errors import UserError

# Indicator columns (key, Chinese header, type, English aliases, meaning); rates are ratios 0..1.
INDICATOR_VALUES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("contract_count", "委托研发合同数", "int", (), "commissioned R&D contracts signed in the year"),
    ("contract_amount", "委托研发合同金额", "money", (), "their amount, yuan"),
    ("invention_applications", "发明专利申请数", "int", (), "invention patent applications"),
    ("invention_grants", "发明专利授权数", "int", (), "invention patents granted"),
    ("standards", "标准数", "int", (), "standards led or joined"),
    ("industrialised_count", "产业化成果数", "int", (), "results industrialised"),
    ("industrialised_rate", "产业化成功率", "rate", (), "industrialisation success rate, ratio 0..1"),
    ("rd_input", "研发投入", "money", (), "R&D input, yuan"),
    ("rd_staff", "研发人员数", "int", (), "R&D staff"),
    ("collaboration_services", "合作与服务次数", "int", (), "collaboration and services provided"),
)
# Indicators with a declared annual target (column target_<key>).
TARGETED = ("contract_count", "contract_amount", "invention_grants", "standards", "industrialised_count",
            "industrialised_rate", "rd_input", "rd_staff", "collaboration_services")
# The columns of the indicator file a scoring rule may name: its keys, values and targets.
SCORABLE_COLUMNS: tuple[str, ...] = ("centre_id", "year", *(k for k, *_ in INDICATOR_VALUES), "build_completion",
                                     *(f"target_{k}" for k in TARGETED))


@dataclass(frozen=True)
class Input:
    column: str               # indicator column, e.g. contract_count
    target: str               # target column, or "schedule" (share of the build period elapsed)
    weight: float = 1.0


@dataclass(frozen=True)
class PartRule:
    id: str
    name: str
    max: float
    inputs: tuple[Input, ...] = ()
    curve: str = "linear"     # linear | step | expert
    floor: float = 0.2        # share of the target earning 0 points (linear)
    full: float = 1.0         # share of the target earning full points

    def fraction(self, ratio: np.ndarray) -> np.ndarray:
        if self.curve == "step":
            return (ratio >= self.full - 1e-12).astype(float)
        return np.clip((ratio - self.floor) / (self.full - self.floor), 0.0, 1.0)

    def describe(self) -> str:
        if self.curve == "expert":
            return "expert-judged (专家评议)"
        ins = " + ".join(f"{i.weight:g}x {i.column}/{i.target}" for i in self.inputs)
        how = (f"linear {self.floor:g}->{self.full:g} of target" if self.curve == "linear"
               else f"step at {self.full:g} of target")
        return f"{ins}; {how}"


def _inp(column: str, weight: float = 1.0) -> Input:
    return Input(column, f"target_{column}", weight)


# DEFAULT rules of the policy's DEFAULT parts (SPEC §7).  Linear between 20 % and 100 % of the target.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "build_targets": {"inputs": (Input("build_completion", "schedule"),)},
    "contract_count": {"inputs": (_inp("contract_count"),)},
    "contract_amount": {"inputs": (_inp("contract_amount"),)},
    "ip": {"inputs": (_inp("invention_grants", 2.0), _inp("standards", 1.0))},
    "industrialised_count": {"inputs": (_inp("industrialised_count"),)},
    "industrialised_rate": {"inputs": (_inp("industrialised_rate"),)},
    "rd_talent": {"inputs": (_inp("rd_input"), _inp("rd_staff"))},
    "collaboration": {"inputs": (_inp("collaboration_services"),)},
}
DEFAULT_FLOOR = 0.2
DEFAULT_FULL = 1.0
DEFAULT_EVALUATION_MONTH_DAY = "12-31"
DEFAULT_TARGETS_MET_COMPLETION = 1.0


def _opt(obj: Any, key: str, default: Any) -> Any:
    """An optional policy key (attribute of a pydantic model or key of a dict), else `default`."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        v = obj.get(key, default)
    else:
        v = getattr(obj, key, default)
        if v is None:
            extra = getattr(obj, "model_extra", None) or {}
            v = extra.get(key, default)
    if hasattr(v, "model_dump"):
        v = v.model_dump()
    return default if v is None else v


class PolicyLike(Protocol):
    """What a scheme reads of a :class:`reviewer.policy.Policy`: its [evaluation] and [aggregation]."""
    evaluation: Any
    aggregation: Any


@dataclass(frozen=True)
class Scheme:
    parts: tuple[PartRule, ...]
    bands: tuple[tuple[str, float], ...]          # (name, lower bound), best first
    fail_bands: tuple[str, ...]
    build_period_years: int
    consecutive_fails_to_revoke: int
    evaluation_month_day: tuple[int, int] = (12, 31)
    targets_met_completion: float = 1.0
    decimals: int = 2
    rounding: str = "half_up"

    @property
    def max_total(self) -> float:
        return float(sum(p.max for p in self.parts))

    def part(self, key: str) -> PartRule | None:
        for p in self.parts:
            if key in (p.id, p.name):
                return p
        return None

    def band(self, score: float) -> str:
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return ""
        for name, lo in self.bands:
            if score >= lo - 1e-9:
                return name
        return self.bands[-1][0]

    def is_fail(self, band: str) -> bool:
        return band in self.fail_bands

    def evaluation_date(self, year: int) -> dt.date:
        m, d = self.evaluation_month_day
        try:
            return dt.date(year, m, d)
        except ValueError:
            return dt.date(year, m, 28)

    def value_columns(self) -> list[str]:
        cols = [i.column for p in self.parts if p.curve != "expert" for i in p.inputs]
        cols += [i.target for p in self.parts if p.curve != "expert" for i in p.inputs if i.target != "schedule"]
        return list(dict.fromkeys(cols))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bands"] = dict(self.bands)
        return d

    @classmethod
    def from_policy(cls, policy: PolicyLike, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> "Scheme":
        ev = policy.evaluation
        configured = dict(_opt(ev, "scoring", {}) or {})
        configured.update(overrides or {})
        known = set(SCORABLE_COLUMNS)
        parts = []
        for ind in ev.indicators:
            base = dict(DEFAULT_RULES.get(ind.id, {}))
            conf = dict(configured.get(ind.id, {}) or {})
            if "inputs" in conf:
                ins = []
                for x in conf["inputs"]:
                    x = x.model_dump() if hasattr(x, "model_dump") else x
                    x = dict(x) if isinstance(x, Mapping) else {"column": str(x)}
                    col = x.get("column", "")
                    ins.append(Input(col, x.get("target") or f"target_{col}", float(x.get("weight") or 1.0)))
                base["inputs"] = tuple(ins)
            conf = {k: v for k, v in conf.items() if v is not None}  # a policy model may give None = default
            curve = conf.get("curve", base.get("curve", "linear"))
            if curve not in ("linear", "step", "expert"):
                raise UserError(f"policy [evaluation.scoring.{ind.id}] curve {curve!r}: expected linear, step or expert")
            if curve != "expert" and not base.get("inputs"):
                raise UserError(
                    f"policy [evaluation] indicator {ind.id!r} ({ind.name}) has no scoring rule: add "
                    f"[evaluation.scoring.{ind.id}] with inputs = [{{ column = \"...\", target = \"target_...\" }}] "
                    f"or curve = \"expert\"")
            for i in base.get("inputs", ()):
                if i.column not in known or (i.target != "schedule" and i.target not in known):
                    raise UserError(f"policy [evaluation.scoring.{ind.id}] input {i.column!r}/{i.target!r}: expected "
                                    f"indicator columns of the file, one of {sorted(known - {'centre_id', 'year'})}")
                if i.weight <= 0:
                    raise UserError(f"policy [evaluation.scoring.{ind.id}] weight of {i.column!r} must be > 0")
            floor = float(conf.get("floor", DEFAULT_FLOOR))
            full = float(conf.get("full", DEFAULT_FULL))
            if not 0 <= floor < full:
                raise UserError(f"policy [evaluation.scoring.{ind.id}] floor {floor} and full {full}: "
                                "expected 0 <= floor < full")
            parts.append(PartRule(ind.id, ind.name, float(ind.max), tuple(base.get("inputs", ())), curve, floor, full))
        bands = tuple(sorted(((k, float(v)) for k, v in ev.bands.items()), key=lambda kv: -kv[1]))
        fail_bands = tuple(_opt(ev, "fail_bands", [bands[-1][0]]))
        for b in fail_bands:
            if b not in dict(bands):
                raise UserError(f"policy [evaluation] fail_bands names unknown band {b!r}; bands are {list(dict(bands))}")
        md = str(_opt(ev, "evaluation_month_day", DEFAULT_EVALUATION_MONTH_DAY))
        try:
            m, d = (int(x) for x in md.split("-"))
            dt.date(2000, m, d)
        except ValueError:
            raise UserError(f"policy [evaluation] evaluation_month_day {md!r}: expected MM-DD, e.g. 12-31") from None
        return cls(parts=tuple(parts), bands=bands, fail_bands=fail_bands,
                   build_period_years=ev.build_period_years,
                   consecutive_fails_to_revoke=ev.consecutive_fails_to_revoke,
                   evaluation_month_day=(m, d),
                   targets_met_completion=float(_opt(ev, "targets_met_completion", DEFAULT_TARGETS_MET_COMPLETION)),
                   decimals=policy.aggregation.decimals, rounding=policy.aggregation.rounding)


