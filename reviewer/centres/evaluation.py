"""Annual evaluation (考核评估, SPEC §7, seed §三(四)) of manufacturing innovation centre pilots.

Three steps, each a pure function over DataFrames and plain records:

1. **Import** (`load_indicators`, `load_centres`, `load_expert_scores`): one row per centre and year
   with the quantitative indicators (委托研发合同数及金额, 知识产权成果, 产业化数量和成功率, R&D input and
   talent, collaboration and services, cumulative share of the build tasks done) and the build
   targets declared at approval (目标_...).  Every problem is an :class:`reviewer.intake.io.ImportIssue`
   naming file, sheet, row, column, value and what was expected; a bad row is rejected on its own
   and every good row still loads.
2. **Scoring** (`evaluate`): the policy's [evaluation] indicators are the parts of the 100-point
   scheme (id, name, max points).  Each part is scored by a *rule* (:class:`PartRule`) mapping one
   or more indicator columns, each against its declared target, through a scoring curve:

   * ``linear`` (DEFAULT): with r = value / target, points = max * clip((r - floor) / (full - floor), 0, 1),
     i.e. 0 points at or below ``floor`` x target, full points at ``full`` x target or above;
   * ``step``: full points when r >= full, else 0.

   Several inputs in one part (IP = invention grants and standards; talent = R&D input and R&D
   staff) are combined as the weighted mean of their curve fractions.  The part ``build_targets``
   compares the cumulative build completion with the *schedule* — the share of the build period
   (``build_period_years``) elapsed at the end of the evaluated year.
   A part may instead be **judged by experts**: rows of an expert score table (centre, year, part,
   expert, score 0..max) replace that part's curve points for that centre-year, aggregated with
   the policy's aggregator (:func:`reviewer.scoring.aggregation.make_aggregator`, DEFAULT trimmed mean).
   A part configured ``curve = "expert"`` with no expert scores leaves the evaluation incomplete
   (never zero).
3. **Bands** from policy ``evaluation.bands`` (优秀 >= 90, 良好 >= 80, 合格 >= 60, 不合格 below);
   the lowest band is a *fail* for the life cycle (:mod:`reviewer.centres.lifecycle`).

Optional policy keys read here (not yet in the policy model; documented defaults apply when absent)::

    [evaluation]
    evaluation_month_day = "12-31"    # the evaluation of year Y is dated Y-12-31 unless the file says
    targets_met_completion = 1.0      # build completion at which the build targets count as met
    fail_bands = ["不合格"]            # bands that count as a failed evaluation
    [evaluation.scoring.<part id>]    # per part, overriding DEFAULT_RULES below
    inputs = [{ column = "contract_count", target = "target_contract_count", weight = 1.0 }]
    curve = "linear"                  # linear | step | expert
    floor = 0.2                       # share of the target that earns 0 points
    full = 1.0                        # share of the target that earns full points
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from reviewer.scoring.aggregation import round_half
from reviewer.errors import UserError
from reviewer.intake.io import CellError, ImportIssue, header_map, is_blank, normalise_header, parse_cell, read_raw
from reviewer.policy import Policy
from reviewer.intake.schema import Column, Table

# ----------------------------------------------------------------------------- file layouts

# (key, Chinese header, type, English aliases, meaning); rates are ratios 0..1 ("56%" accepted).
_VALUES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
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
_TARGETED = ("contract_count", "contract_amount", "invention_grants", "standards", "industrialised_count",
             "industrialised_rate", "rd_input", "rd_staff", "collaboration_services")
RATE_KEYS = {"industrialised_rate", "target_industrialised_rate", "build_completion"}


def _col(key: str, zh: str, typ: str, aliases: tuple[str, ...] = (), doc: str = "", required: bool = False) -> Column:
    return Column(key, zh, "float" if typ == "rate" else typ, required, aliases, doc)  # type: ignore[arg-type]


INDICATORS = Table(
    name="indicators", zh="年度指标", key=("centre_id", "year"), sheet_names=("年度指标", "indicators"),
    doc="One row per centre and evaluated year: indicators and the build targets declared at approval.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), "centre id, e.g. GXMIC-2022-01", required=True),
        _col("year", "年度", "int", ("evaluation_year",), "evaluated year", required=True),
        *(_col(k, zh, t, a, d) for k, zh, t, a, d in _VALUES),
        _col("build_completion", "建设任务完成率", "rate", (), "cumulative share of the build tasks done, 0..1"),
        *(_col(f"target_{k}", f"目标_{zh}", t, (f"目标{zh}",), f"declared annual target: {d}")
          for k, zh, t, _a, d in _VALUES if k in _TARGETED),
        _col("evaluation_date", "评估日期", "date", (), "date of the evaluation (default: policy month-day of the year)"),
    ))

CENTRES = Table(
    name="past_centres", zh="试点中心", key=("centre_id",), sheet_names=("试点中心", "centres", "past_centres"),
    doc="One row per pilot centre.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), required=True),
        _col("name", "中心名称", "str", (), required=True),
        _col("field", "领域", "str", (), required=True),
        _col("city", "所在市", "str"),
        _col("lead_unit", "牵头单位", "str"),
        _col("lead_credit_code", "牵头单位统一社会信用代码", "credit_code", ("lead_code",)),
        _col("approval_year", "批复年度", "int"),
        _col("build_start", "建设期起始日期", "date", (), "start of the build period", required=True),
        _col("state", "状态", "str", (), "state as recorded (申报/试点/认定/撤销/国家级)"),
    ))

EXPERT_SCORES = Table(
    name="evaluation_expert_scores", zh="考核专家评分", key=("centre_id", "year", "part", "expert_id"),
    sheet_names=("考核专家评分", "expert_scores"),
    doc="Expert-judged parts of the evaluation: one row per centre, year, part and expert.",
    columns=(
        _col("centre_id", "中心编号", "str", ("centre",), required=True),
        _col("year", "年度", "int", (), required=True),
        _col("part", "考核项", "str", ("indicator", "评分项", "指标"), "part id or name of policy evaluation.indicators",
             required=True),
        _col("expert_id", "专家编号", "str", ("expert",), required=True),
        _col("score", "得分", "float", (), "points, 0..the part's max", required=True),
    ))

ZH = {c.key: c.zh for t in (INDICATORS, CENTRES, EXPERT_SCORES) for c in t.columns}


# ----------------------------------------------------------------------------- generic validated loader

@dataclass
class Loaded:
    """Rows that loaded (canonical keys plus ``row``, the Excel row number) and every issue."""
    table: str
    file: str
    sheet: str | None
    sha256: str
    n_rows: int
    frame: pd.DataFrame
    issues: list[ImportIssue] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)   # required columns absent: no row loads

    @property
    def n_rejected(self) -> int:
        if self.missing_columns:
            return self.n_rows
        return len({i.row for i in self.issues if i.severity == "error" and i.row is not None and i.row > 1})

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def summary(self) -> str:
        return (f"{self.table}: {self.file}{' [' + self.sheet + ']' if self.sheet else ''}: "
                f"{len(self.frame)} loaded, {self.n_rejected} rejected of {self.n_rows} rows")

    def input_record(self) -> dict[str, Any]:
        return {"table": self.table, "file": self.file, "sheet": self.sheet, "sha256": self.sha256,
                "rows": self.n_rows, "loaded": len(self.frame)}


RowCheck = Callable[[dict[str, Any]], list[tuple[str | None, Any, str]]]


def _parse(v: Any, c: Column) -> Any:
    if c.key in RATE_KEYS and isinstance(v, str) and v.strip().endswith(("%", "％")):
        try:
            x = float(v.strip()[:-1].replace(",", "")) / 100
        except ValueError:
            raise CellError("a ratio between 0 and 1, or a percentage like 56%") from None
    else:
        x = parse_cell(v, c)
    if x is None:
        return None
    if c.type in ("float", "money") and not math.isfinite(x):
        raise CellError("a finite number")
    if c.key in RATE_KEYS and not 0 <= x <= 1:
        raise CellError("a ratio between 0 and 1, or a percentage like 56%")
    if c.type in ("float",) and c.key != "score" and x < 0:
        raise CellError("a number >= 0")
    return x


def load_rows(path: str | Path, table: Table, *, required: Iterable[str] = (), check: RowCheck | None = None,
              sheet: str | None = None) -> Loaded:
    """Read `path` (.xlsx/.csv, Chinese or English headers) into validated rows of `table`.

    `required`: column keys needed beyond the table's own required columns.  `check(row)` returns
    extra (column key, value, expected) problems of a parsed row; any problem rejects the row.
    """
    path = Path(path)
    raw, sheet = read_raw(path, table, sheet)
    out = Loaded(table.zh + " " + table.name, str(path), sheet, hashlib.sha256(path.read_bytes()).hexdigest(), 0,
                 pd.DataFrame())
    add = lambda row, col, value, expected, sev="error": out.issues.append(  # noqa: E731
        ImportIssue(str(path), sheet, row, col, value, expected, sev))
    hmap = header_map(table)
    colmap: dict[Any, Column] = {}
    seen: dict[str, str] = {}
    for h in raw.columns:
        if str(h).startswith("Unnamed:"):
            if not raw[h].map(is_blank).all():
                add(1, f"(column {list(raw.columns).index(h) + 1})", None, "a header for every column that holds data")
            continue
        n = normalise_header(h)
        if n in {"备注", "remarks", "remark", "notes", "序号", "no", "no."}:
            continue
        c = hmap.get(n)
        if c is None:
            add(1, str(h), None, f"a known {table.zh} header (this column was ignored)", "warning")
            continue
        if c.key in seen:
            add(1, str(h), None, f"one column for {c.zh}; it already appears as {seen[c.key]!r} (ignored)", "warning")
            continue
        colmap[h] = c
        seen[c.key] = str(h)
    need = [c for c in table.columns if (c.required or c.key in set(required))]
    missing = [c for c in need if c.key not in seen]
    blank = raw.apply(lambda r: all(is_blank(x) for x in r), axis=1) if len(raw.columns) else pd.Series([], dtype=bool)
    out.n_rows = int((~blank).sum()) if len(blank) else 0
    out.missing_columns = [c.zh for c in missing]
    for c in missing:
        add(1, c.zh, None, f"a column {c.zh} ({c.key}); it is missing, so none of the {out.n_rows} rows can load")
    rows: list[dict[str, Any]] = []
    first: dict[tuple, int] = {}
    for i, (_, r) in enumerate(raw.iterrows()):
        if len(blank) and blank.iloc[i]:
            continue
        rowno = i + 2
        values: dict[str, Any] = {"row": rowno}
        bad = False
        for h, c in colmap.items():
            try:
                values[c.key] = _parse(r[h], c)
            except CellError as e:
                add(rowno, str(h), r[h], f"{e} ({c.zh})")
                bad = True
                continue
            if values[c.key] is None and (c.required or c.key in set(required)):
                add(rowno, str(h), None, f"a value: {c.zh} is required")
                bad = True
        if missing or bad:
            continue
        if check is not None:
            problems = check(values)
            for key, value, expected in problems:
                add(rowno, seen.get(key, ZH.get(key, key)) if key else None, value, expected)
            if problems:
                continue
        if table.key:
            k = tuple(values.get(c) for c in table.key)
            if k in first:
                add(rowno, seen.get(table.key[-1]), " / ".join(map(str, k)),
                    f"a unique {'+'.join(table.column(c).zh for c in table.key)}; row {first[k]} has the same "
                    "(this row was rejected)")
                continue
            first[k] = rowno
        rows.append(values)
    cols = ["row", *[c.key for c in table.columns]]
    out.frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    return out


# ----------------------------------------------------------------------------- the scheme

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
    def from_policy(cls, policy: Policy, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> "Scheme":
        ev = policy.evaluation
        configured = dict(_opt(ev, "scoring", {}) or {})
        configured.update(overrides or {})
        known = {c.key for c in INDICATORS.columns} - {"evaluation_date"}
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


# ----------------------------------------------------------------------------- dates

def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def build_deadline(build_start: dt.date, years: int = 3) -> dt.date:
    """Last day of the build period: the build period runs from `build_start` up to and including
    this date, `years` calendar years later (建设期最长不超过 3 年)."""
    return add_years(build_start, years)


def schedule_share(build_start: dt.date | None, year: int, years: int, first_year: int | None = None) -> float:
    """Share of the build period elapsed at the end of `year` (what cumulative completion should be)."""
    end = dt.date(year, 12, 31)
    if build_start is None:
        start_year = first_year if first_year is not None else year
        return min(1.0, max(1, year - start_year + 1) / years)
    total = (build_deadline(build_start, years) - build_start).days
    return float(min(1.0, max((end - build_start).days + 1, 1) / total))


# ----------------------------------------------------------------------------- import

def _as_date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    return v


def load_centres(path: str | Path, policy: Policy, sheet: str | None = None) -> Loaded:
    """Pilot centres (试点中心): id, name, field (one of the policy's key fields), build start date."""
    fields = set(policy.fields.all)
    from reviewer.centres.lifecycle import parse_state

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        out = []
        if r.get("field") not in fields:
            out.append(("field", r.get("field"), "one of the key fields (policy fields): " + "、".join(policy.fields.all)))
        if r.get("state") is not None:
            try:
                parse_state(r["state"])
            except UserError:
                out.append(("state", r["state"], "a state: 申报, 试点, 认定, 撤销 or 国家级"))
        b = r.get("build_start")
        if b is not None and not 1990 <= b.year <= 2100:
            out.append(("build_start", b, "a build start date between 1990 and 2100"))
        if b is not None and r.get("approval_year") is not None and not 0 <= b.year - r["approval_year"] <= 2:
            out.append(("build_start", b, f"a build start in or shortly after the approval year {r['approval_year']}"))
        return out

    return load_rows(path, CENTRES, check=check, sheet=sheet)


def load_indicators(path: str | Path, policy: Policy, scheme: Scheme | None = None,
                    centres: pd.DataFrame | None = None, sheet: str | None = None) -> Loaded:
    """Annual indicators (年度指标), validated: every column the scheme scores is required, values
    >= 0, rates 0..1, targets > 0, known centre id (when `centres` is given), a year on or after the
    centre's build start and no later than the policy year."""
    scheme = scheme or Scheme.from_policy(policy)
    starts = {} if centres is None else dict(zip(centres["centre_id"], centres["build_start"].map(_as_date)))
    max_year = max(policy.meta.year, policy.as_of_date().year)

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        out: list[tuple[str | None, Any, str]] = []
        y = r["year"]
        if not 1990 <= y <= max_year:
            out.append(("year", y, f"a year between 1990 and {max_year}"))
        if centres is not None:
            if r["centre_id"] not in starts:
                out.append(("centre_id", r["centre_id"], "a centre id present in the centres file (试点中心)"))
            elif starts[r["centre_id"]] is not None and y < starts[r["centre_id"]].year:
                out.append(("year", y, f"a year on or after the build start ({starts[r['centre_id']].isoformat()})"))
        for k in scheme.value_columns():
            if k.startswith("target_") and r.get(k) is not None and r[k] <= 0:
                out.append((k, r[k], f"a target > 0 ({ZH[k]}): a zero target cannot be scored"))
        return out

    return load_rows(path, INDICATORS, required=scheme.value_columns(), check=check, sheet=sheet)


def load_expert_scores(path: str | Path, policy: Policy, scheme: Scheme | None = None,
                       sheet: str | None = None) -> Loaded:
    """Expert scores of expert-judged parts: part id or name of a policy indicator, 0 <= score <= max."""
    scheme = scheme or Scheme.from_policy(policy)

    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        p = scheme.part(str(r["part"]))
        if p is None:
            return [("part", r["part"], "a part of the evaluation: " + ", ".join(f"{q.id} {q.name}" for q in scheme.parts))]
        r["part"] = p.id
        if not 0 <= r["score"] <= p.max:
            return [("score", r["score"], f"points between 0 and {p.max:g} ({p.name})")]
        return []

    return load_rows(path, EXPERT_SCORES, check=check, sheet=sheet)


# ----------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class PartResult:
    part: str
    name: str
    max: float
    points: float | None      # None: not scored (expert-judged part without scores)
    fraction: float | None
    method: str               # curve description or "expert: trimmed (n=5)"
    detail: str


@dataclass(frozen=True)
class EvaluationResult:
    """One centre's evaluation of one year; serialises to a plain dict (`as_dict`)."""
    centre_id: str
    year: int
    date: dt.date
    total: float | None       # points, out of the scheme's max_total
    score: float | None       # on the 100-point scale of the bands
    band: str                 # "" when incomplete
    failed: bool
    complete: bool
    build_completion: float | None
    schedule: float | None
    targets_met: bool         # build completion >= targets_met_completion
    parts: tuple[PartResult, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EvaluationResult":
        d = dict(d)
        d["date"] = dt.date.fromisoformat(d["date"]) if isinstance(d["date"], str) else d["date"]
        d["parts"] = tuple(PartResult(**p) for p in d.get("parts", ()))
        return cls(**d)


@dataclass
class Evaluated:
    """Result of :func:`evaluate`: wide scores, long part breakdown and the records."""
    scores: pd.DataFrame       # one row per centre-year: points per part, total, score, band, failed
    parts: pd.DataFrame        # one row per centre-year-part with method and detail
    records: list[EvaluationResult]
    scheme: Scheme

    def for_centre(self, centre_id: str) -> list[EvaluationResult]:
        return sorted((r for r in self.records if r.centre_id == centre_id), key=lambda r: r.year)


def _fmt(x: float) -> str:
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _aggregate_experts(expert_scores: pd.DataFrame, policy: Policy, method: str | None) -> pd.DataFrame:
    """Aggregate expert points per (centre, year, part) with the policy's aggregator."""
    from reviewer.scoring.aggregation import make_aggregator

    if expert_scores is None or expert_scores.empty:
        return pd.DataFrame(columns=["centre_id", "year", "part", "points", "n", "rule", "method"])
    d = expert_scores.copy()
    d["application_id"] = d["centre_id"].astype(str) + "\x1f" + d["year"].astype(int).astype(str) + "\x1f" + d["part"]
    agg = make_aggregator(method, policy)
    if hasattr(agg, "criteria"):
        agg.criteria, agg.families = None, None   # parts are not rubric criteria
    res = agg.fit(d[["expert_id", "application_id", "score"]])
    keys = res["application_id"].str.split("\x1f", expand=True)
    return pd.DataFrame({"centre_id": keys[0], "year": keys[1].astype(int), "part": keys[2],
                         "points": res["score"].astype(float), "n": res["n_scores"].astype(int),
                         "rule": res["rule"].astype(str), "method": agg.method})


def evaluate(indicators: pd.DataFrame, policy: Policy, centres: pd.DataFrame | None = None,
             expert_scores: pd.DataFrame | None = None, scheme: Scheme | None = None,
             aggregation_method: str | None = None) -> Evaluated:
    """Score every centre-year of `indicators` (canonical columns, e.g. ``load_indicators(...).frame``).

    `centres` gives build start dates for the build-target schedule (without it the schedule counts
    years from each centre's first indicator year).  `expert_scores` (centre_id, year, part,
    expert_id, score) replaces curve points of the parts and centre-years it covers.
    """
    scheme = scheme or Scheme.from_policy(policy)
    df = indicators.reset_index(drop=True).copy()
    missing = [c for c in ("centre_id", "year", *scheme.value_columns()) if c not in df.columns]
    if missing:
        raise UserError(f"indicators: missing column(s) {', '.join(ZH.get(c, c) + ' ' + c for c in missing)}")
    starts = {} if centres is None else dict(zip(centres["centre_id"], centres["build_start"].map(_as_date)))
    first_year = df.groupby("centre_id")["year"].transform("min") if len(df) else pd.Series(dtype=int)
    sched = np.array([schedule_share(starts.get(c), int(y), scheme.build_period_years, int(f))
                      for c, y, f in zip(df["centre_id"], df["year"], first_year)], dtype=float)
    experts = _aggregate_experts(expert_scores, policy, aggregation_method)
    ex_map = {(r.centre_id, int(r.year), r.part): r for r in experts.itertuples(index=False)}

    n = len(df)
    points: dict[str, np.ndarray] = {}
    fractions: dict[str, np.ndarray] = {}
    details: dict[str, list[str]] = {}
    methods: dict[str, list[str]] = {}
    for p in scheme.parts:
        frac = np.full(n, np.nan)
        det = [""] * n
        if p.curve != "expert":
            num = np.zeros(n)
            wsum = sum(i.weight for i in p.inputs)
            parts_txt: list[list[str]] = [[] for _ in range(n)]
            for i in p.inputs:
                v = pd.to_numeric(df[i.column], errors="coerce").to_numpy(dtype=float)
                t = sched if i.target == "schedule" else pd.to_numeric(df[i.target], errors="coerce").to_numpy(dtype=float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.where(t > 0, v / t, np.nan)
                f = p.fraction(r)
                num = num + i.weight * f
                for j in range(n):
                    tname = "schedule" if i.target == "schedule" else "target"
                    parts_txt[j].append(f"{i.column} {_fmt(v[j])} / {tname} {_fmt(t[j])} = {r[j]:.2f}")
            frac = num / wsum
            det = ["; ".join(x) for x in parts_txt]
        meth = [p.describe()] * n
        for j in range(n):
            e = ex_map.get((df.at[j, "centre_id"], int(df.at[j, "year"]), p.id))
            if e is not None and not math.isnan(e.points):
                frac[j] = e.points / p.max
                meth[j] = f"expert: {e.method} ({e.rule}, n={e.n})"
                det[j] = f"panel of {e.n} experts: {e.points:g} / {p.max:g}"
        pts = np.where(np.isnan(frac), np.nan, round_half(np.nan_to_num(frac) * p.max, scheme.decimals, scheme.rounding))
        points[p.id], fractions[p.id], details[p.id], methods[p.id] = pts, frac, det, meth

    out = df[["centre_id", "year"]].copy()
    for p in scheme.parts:
        out[p.id] = points[p.id]
    mat = np.column_stack([points[p.id] for p in scheme.parts]) if scheme.parts else np.zeros((n, 0))
    complete = ~np.isnan(mat).any(axis=1)
    total = np.where(complete, round_half(np.nansum(mat, axis=1), scheme.decimals, scheme.rounding), np.nan)
    score = np.where(complete, round_half(total * 100.0 / scheme.max_total, scheme.decimals, scheme.rounding)
                     if scheme.max_total else np.nan, np.nan)
    bands = [scheme.band(float(s)) if c else "" for s, c in zip(score, complete)]
    if "evaluation_date" in df.columns:
        dates = [(_as_date(d) or scheme.evaluation_date(int(y))) for d, y in zip(df["evaluation_date"], df["year"])]
    else:
        dates = [scheme.evaluation_date(int(y)) for y in df["year"]]
    comp = (pd.to_numeric(df["build_completion"], errors="coerce").to_numpy(dtype=float)
            if "build_completion" in df.columns else np.full(n, np.nan))
    out["total"] = total
    out["score"] = score
    out["band"] = bands
    out["failed"] = [scheme.is_fail(b) for b in bands]
    out["complete"] = complete
    out["build_completion"] = comp
    out["schedule"] = np.round(sched, 4)
    out["targets_met"] = np.nan_to_num(comp, nan=-1) >= scheme.targets_met_completion - 1e-12
    out["evaluation_date"] = dates
    out = out.sort_values(["centre_id", "year"], kind="stable").reset_index(drop=True)

    long_rows, records = [], []
    for j in range(n):
        prs = []
        for p in scheme.parts:
            pt, fr = points[p.id][j], fractions[p.id][j]
            pr = PartResult(p.id, p.name, p.max, None if np.isnan(pt) else float(pt),
                            None if np.isnan(fr) else round(float(fr), 4), methods[p.id][j], details[p.id][j])
            prs.append(pr)
            long_rows.append({"centre_id": df.at[j, "centre_id"], "year": int(df.at[j, "year"]), **asdict(pr)})
        c = bool(complete[j])
        records.append(EvaluationResult(
            centre_id=str(df.at[j, "centre_id"]), year=int(df.at[j, "year"]), date=dates[j],
            total=float(total[j]) if c else None, score=float(score[j]) if c else None, band=bands[j],
            failed=scheme.is_fail(bands[j]), complete=c,
            build_completion=None if np.isnan(comp[j]) else float(comp[j]), schedule=round(float(sched[j]), 4),
            targets_met=bool(np.nan_to_num(comp[j], nan=-1) >= scheme.targets_met_completion - 1e-12),
            parts=tuple(prs)))
    records.sort(key=lambda r: (r.centre_id, r.year))
    parts_df = pd.DataFrame(long_rows, columns=["centre_id", "year", "part", "name", "max", "points", "fraction",
                                                "method", "detail"])
    return Evaluated(out, parts_df.sort_values(["centre_id", "year"], kind="stable").reset_index(drop=True),
                     records, scheme)
