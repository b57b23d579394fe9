"""The policy file: every configurable DEFAULT of the spec, loaded from TOML and validated.

Thresholds, the technical category, the 技术+产业 categories, the soft-rule codes and the
site-inspection stage are policy fields, for the rest of the code base to read rather than
hard-code. Stage names are checked in one place, :meth:`Policy.stage`; the 技术+产业 minimum is
computed in one place, :meth:`Policy.min_tech_industry`.
"""
from __future__ import annotations

import re

import datetime as dt
import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reviewer.errors import UserError
from reviewer.evaluation_scheme import Scheme
from reviewer.stage_gates import Defence, StageGate
from reviewer.policy_documents import Documents
from reviewer.policy_pool import Pool
from reviewer.policy_process import Access, Accounts, Notify, Responses, SiteVisit
# The default policy is package data (reviewer/data/policy.toml); re-exported here.
from reviewer.resources import DEFAULT_POLICY_PATH

RULE_IDS = tuple(f"C{i}" for i in range(1, 10))   # conflict rules of SPEC §4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Strict):
    name: str = ""
    year: int = 2026
    as_of: str = ""

    @field_validator("as_of")
    @classmethod
    def _date(cls, v: str) -> str:
        if v:
            dt.date.fromisoformat(v)
        return v


class Fields(_Strict):
    pillar: list[str]
    emerging: list[str]
    has_recognised_centre: list[str] = []
    has_tech_innovation_centre: list[str] = []

    @property
    def all(self) -> list[str]:
        return [*self.pillar, *self.emerging]

    @model_validator(mode="after")
    def _known(self) -> "Fields":
        known = set(self.all)
        for name in (*self.has_recognised_centre, *self.has_tech_innovation_centre):
            if name not in known:
                raise ValueError(f"field {name!r} is not one of the key fields {sorted(known)}")
        return self


class Cities(_Strict):
    names: list[str]


class Eligibility(_Strict):
    min_avg_revenue: float = Field(ge=0)
    relaxed_avg_revenue: dict[str, float] = {}
    min_rd_ratio_percent: float = Field(ge=0)
    rd_ratio_method: Literal["ratio_of_sums", "mean_of_ratios"] = "ratio_of_sums"
    min_platforms: int = Field(ge=0)
    platform_levels_counted: list[str]
    min_invention_patents: int = Field(ge=0)
    violation_window_years: int = Field(ge=0)
    max_violations: int = Field(ge=0)
    min_founding_units: int = Field(ge=1)
    top_rank: int = Field(ge=1)
    min_top_ranked_members: int = Field(ge=0)
    unknown_rank_needs_review: bool = True

    def revenue_threshold(self, field: str) -> float:
        return self.relaxed_avg_revenue.get(field, self.min_avg_revenue)


class Conflicts(_Strict):
    employment_window_years: int = Field(ge=0)
    board_role_window_years: int = Field(ge=0)
    relation_window_years: int = Field(ge=0)
    same_city_hard: bool = False
    same_city_penalty: float = Field(ge=0, default=1.0)
    applicant_declared_max: int = Field(ge=0, default=3)
    applicant_declared_hard: bool = True
    one_per_employer_per_panel: bool = True
    waivable_rules: list[str] = ["C6", "C9"]
    # Rule ids of the two rules that may be soft (a penalty in the objective instead of an exclusion).
    unsuitable_rule: str = "C6"      # named unsuitable by the applicant (申报单位提出不适宜)
    same_city_rule: str = "C9"       # same city as the lead unit (同城回避)

    @field_validator("waivable_rules")
    @classmethod
    def _rules(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if r not in RULE_IDS]
        if bad:
            raise ValueError(f"rule ids C1..C9, got {bad}")
        return v

    @field_validator("unsuitable_rule", "same_city_rule")
    @classmethod
    def _rule(cls, v: str) -> str:
        if v not in RULE_IDS:
            raise ValueError(f"a rule id C1..C9, got {v!r}")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> "Conflicts":
        if self.unsuitable_rule == self.same_city_rule:
            raise ValueError(f"unsuitable_rule and same_city_rule must differ, both are {self.same_city_rule!r}")
        return self

    def soft_penalties(self) -> dict[str, float]:
        """Objective penalty per soft conflict hit, by rule id: a same-city pair costs
        `same_city_penalty`; a pair named unsuitable costs 1 when that rule is soft."""
        penalties = {self.same_city_rule: self.same_city_penalty}
        if not self.applicant_declared_hard:
            penalties[self.unsuitable_rule] = 1.0
        return penalties


class StageRules(_Strict):
    """Per-stage overrides of [panel_rules] (None = the [panel_rules] value)."""
    min_per_category: int | None = Field(default=None, ge=0)
    tech_industry_share: float | None = Field(default=None, ge=0, le=1)
    min_field_matched_technical: int | None = Field(default=None, ge=0)
    chair_required: bool | None = None


class Stages(_Strict):
    order: list[str]
    allow_same_expert_across_stages: bool = False
    panel: dict[str, int]
    dates: dict[str, str] = {}
    rules: dict[str, StageRules] = {}
    # Per stage: its instrument and advancement rule (reviewer.stage_gates); planning a later stage
    # without a recorded advancement of the stage before it is refused when require_advancement.
    gates: dict[str, StageGate] = {}
    require_advancement: bool = False
    # The stage held at the applicants' sites (inspections at the lead units, grouped by city);
    # not given = "现场考察" when the policy has that stage; "" = none.
    site_stage: str | None = None
    # SPEC §5: panel sizes are odd and at least 5 (Chinese tender law).
    panel_size_odd: bool = True
    min_panel_size: int = Field(ge=1, default=5)

    @property
    def site(self) -> str:
        """The site-inspection stage ("" when there is none)."""
        if self.site_stage is None:
            return "现场考察" if "现场考察" in self.order else ""
        return self.site_stage

    @field_validator("dates")
    @classmethod
    def _dates(cls, v: dict[str, str]) -> dict[str, str]:
        for k, d in v.items():
            if d:
                dt.date.fromisoformat(d)
        return v

    def date_of(self, stage: str) -> dt.date | None:
        d = self.dates.get(stage, "")
        return dt.date.fromisoformat(d) if d else None

    @model_validator(mode="after")
    def _sizes(self) -> "Stages":
        for s in self.order:
            if s not in self.panel:
                raise ValueError(f"stage {s!r} has no panel size in [stages.panel]")
        for s, n in self.panel.items():
            if s not in self.order:
                raise ValueError(f"[stages.panel] names unknown stage {s!r}")
            if n < 1:
                raise ValueError(f"panel size of {s!r} must be >= 1, got {n}")
            if n < self.min_panel_size:
                raise ValueError(f"[stages.panel] {s} = {n}: a panel needs at least {self.min_panel_size} experts "
                                 "([stages] min_panel_size)")
            if self.panel_size_odd and n % 2 == 0:
                raise ValueError(f"[stages.panel] {s} = {n}: panel sizes must be odd ([stages] panel_size_odd = true)")
        for s in (*self.rules, *self.gates):
            if s not in self.order:
                raise ValueError(f"[stages.rules] / [stages.gates] names unknown stage {s!r}")
        if self.site_stage and self.site_stage not in self.order:
            raise ValueError(f"site_stage {self.site_stage!r} is not one of the stages {self.order} (\"\" = none)")
        return self


class PanelRules(_Strict):
    categories: list[str]
    min_per_category: int = Field(ge=0)
    # The category whose experts chair panels and must match the field ("" = none).
    technical_category: str = "技术"
    tech_industry_categories: list[str]
    tech_industry_share: float = Field(ge=0, le=1)
    min_field_matched_technical: int = Field(ge=0)
    chair_required: bool = True
    chair_title_levels: list[str]
    max_load_per_stage: int = Field(ge=1)
    min_load_per_stage: int = Field(ge=0, default=0)

    @model_validator(mode="after")
    def _known_categories(self) -> "PanelRules":
        if self.technical_category and self.technical_category not in self.categories:
            raise ValueError(f"technical_category {self.technical_category!r} is not one of the categories "
                             f"{self.categories} (\"\" = no technical category)")
        return self

    @property
    def technical_index(self) -> int:
        """Position of the technical category in `categories`, -1 when there is none."""
        cats = self.categories
        return cats.index(self.technical_category) if self.technical_category in cats else -1

    @property
    def tech_industry_indices(self) -> tuple[int, ...]:
        """Positions of `tech_industry_categories` in `categories` (checked when the policy loads)."""
        return tuple(self.categories.index(c) for c in self.tech_industry_categories)


class Objective(_Strict):
    affinity: int = Field(ge=0)
    load_balance: int = Field(ge=0)
    same_city: int = Field(ge=0)
    continuity: int = Field(ge=0)


class RandomDraw(_Strict):
    enabled: bool = False
    max_pair_probability: float = Field(gt=0, le=1)


class Criterion(_Strict):
    id: str
    name: str
    max: float = Field(gt=0)
    veto: bool = False     # a verification item: scored 0 by the panel = the application is out (reviewer.stage_gates)


class Family(_Strict):
    id: str
    name: str
    criteria: list[Criterion]

    @property
    def max(self) -> float:
        return sum(c.max for c in self.criteria)


class Rubric(_Strict):
    total: float
    families: list[Family]
    bands: dict[str, float]

    @model_validator(mode="after")
    def _sum(self) -> "Rubric":
        s = sum(f.max for f in self.families)
        if abs(s - self.total) > 1e-9:
            raise ValueError(f"rubric criteria add up to {s}, but total is {self.total}")
        ids = [c.id for f in self.families for c in f.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("rubric criterion ids must be unique")
        return self

    @property
    def criteria(self) -> list[Criterion]:
        return [c for f in self.families for c in f.criteria]

    def family_of(self, criterion_id: str) -> str:
        for f in self.families:
            for c in f.criteria:
                if c.id == criterion_id:
                    return f.id
        raise KeyError(criterion_id)

    def band(self, score: float) -> str:
        for name, lo in sorted(self.bands.items(), key=lambda kv: -kv[1]):
            if score >= lo:
                return name
        return ""


class Aggregation(_Strict):
    method: Literal["trimmed", "median", "mean", "winsorized", "huber", "calibrated", "calibrated_pooled",
                    "bayes"] = "trimmed"
    trim_k: int = Field(ge=0, default=1)
    trim_min_n: int = Field(ge=1, default=5)
    trim_fallback: Literal["median", "mean", "nan"] = "median"
    huber_c: float = Field(gt=0, default=1.345)
    bayes_draws: int = Field(ge=100, default=2000)
    bayes_credible: float = Field(gt=0, lt=1, default=0.5)
    expert_bias_alpha: float = Field(gt=0, lt=1, default=0.01)
    expert_bias_min_panels: int = Field(ge=1, default=3)
    decimals: int = Field(ge=0, default=2)
    rounding: Literal["half_up", "half_even"] = "half_up"
    outlier_points: float = Field(gt=0, default=15.0)
    outlier_robust_z: float = Field(gt=0, default=3.5)
    bootstrap_resamples: int = Field(ge=1, default=1000)
    seed: int = 0
    # Quorum (reviewer.scoring.quorum): an application is ranked only with at least min_scores valid
    # expert totals, at least quorum_share of its panel's seats when the panel is known, and always
    # what the estimator needs (2k + 1 for the trimmed / winsorised mean).
    min_scores: int = Field(ge=1, default=3)
    quorum_share: float = Field(ge=0, le=1, default=0.66)

    def required_scores(self, method: str | None = None, *, trim: int | None = None,
                        panel_size: int | None = None) -> int:
        """Valid expert totals an application needs to be ranked with `method` (default: this
        section's): min_scores; 2k + 1 for the trimmed or winsorised mean (k = `trim`, else trim_k);
        ceil(quorum_share x panel_size) when the panel is known. The one place the quorum is computed."""
        method = method or self.method
        need = self.min_scores
        if method in ("trimmed", "winsorized"):
            need = max(need, 2 * (self.trim_k if trim is None else int(trim)) + 1)
        if panel_size:
            need = max(need, math.ceil(self.quorum_share * panel_size - 1e-9))
        return need


class Decision(_Strict):
    recommend_min_score: float
    recommend_min_family: dict[str, float] = {}
    cultivation_min_score: float
    one_per_field: bool = True
    tie_break_families: list[str] = []


class Funding(_Strict):
    new_centre_subsidy_cap: float = Field(ge=0)
    national_centre_subsidy_cap: float = Field(ge=0)
    no_subsidy_if_tech_innovation_centre: bool = True
    total_budget: float = Field(ge=0, default=0)
    annual_budget: float = Field(ge=0, default=0)    # per calendar year, all subsidies of the ledger (0 = none)


class Indicator(_Strict):
    id: str
    name: str
    max: float = Field(gt=0)


class Evaluation(_Strict):
    indicators: list[Indicator]
    bands: dict[str, float]
    build_period_years: int = Field(ge=1, default=3)
    consecutive_fails_to_revoke: int = Field(ge=1, default=2)
    evaluation_month_day: str = "12-31"
    targets_met_completion: float = Field(gt=0, default=1.0)
    fail_bands: list[str] = ["不合格"]
    # Per indicator: inputs (column, target, weight), curve, floor, full; checked by
    # reviewer.evaluation_scheme.Scheme when the policy loads.
    scoring: dict[str, dict] = {}


@dataclass(frozen=True)
class Stage:
    """One review stage of the policy (from :meth:`Policy.stage`)."""
    name: str
    index: int                 # position in [stages] order
    panel_size: int
    date: dt.date | None       # None = not yet scheduled


class Policy(_Strict):
    meta: Meta
    fields: Fields
    cities: Cities
    eligibility: Eligibility
    conflicts: Conflicts
    stages: Stages
    panel_rules: PanelRules
    objective: Objective
    random_draw: RandomDraw
    access: Access = Access()
    responses: Responses = Responses()
    rubric: Rubric
    instruments: dict[str, Rubric] = {}     # per-stage instruments named by [stages.gates] (reviewer.stage_gates)
    aggregation: Aggregation
    defence: Defence = Defence()            # 认定评审 答辩 schedule (reviewer.stage_gates)
    decision: Decision
    funding: Funding
    evaluation: Evaluation
    accounts: Accounts = Accounts()
    documents: Documents = Documents()
    site_visit: SiteVisit = SiteVisit()
    notify: Notify = Notify()
    pool: Pool = Pool()
    source: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _cross(self) -> "Policy":
        known = set(self.fields.all)
        for f in self.eligibility.relaxed_avg_revenue:
            if f not in known:
                raise ValueError(f"[eligibility.relaxed_avg_revenue] names unknown field {f!r}")
        cats = set(self.panel_rules.categories)
        for c in self.panel_rules.tech_industry_categories:
            if c not in cats:
                raise ValueError(f"[panel_rules] tech_industry_categories names unknown category {c!r}")
        for stage in self.stages.order:
            need = self.min_panel_seats(stage)
            if need > self.panel_size(stage):
                r = self.stage_rules(stage)
                ti, tech = "+".join(self.panel_rules.tech_industry_categories), self.panel_rules.technical_category
                raise ValueError(
                    f"stage {stage}: a panel of {self.panel_size(stage)} cannot satisfy its rules, which need at least "
                    f"{need} seats (>= {r['min_per_category']} of each of {len(self.panel_rules.categories)} categories, "
                    f"{ti} >= {self.min_tech_industry(stage)}, >= {r['min_field_matched_technical']} field-matched "
                    f"{tech}); change [stages.panel] or [stages.rules.\"{stage}\"]")
        try:
            Scheme.from_policy(self)
        except UserError as e:
            raise ValueError(str(e)) from None
        fams = {f.id for f in self.rubric.families}
        for f in (*self.decision.recommend_min_family, *self.decision.tie_break_families):
            if f not in fams:
                raise ValueError(f"[decision] names unknown rubric family {f!r}")
        wrong = relation_errors(self) + gate_errors(self)
        if wrong:
            raise ValueError("; ".join(wrong))
        return self

    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.meta.as_of) if self.meta.as_of else dt.date.today()

    def stage(self, name: str) -> Stage:
        """The stage called `name`; a clear error naming the policy's stages when there is none."""
        order = self.stages.order
        if name not in order:
            raise UserError(f"未知阶段 unknown stage {name!r}: expected one of {', '.join(order)}")
        return Stage(name, order.index(name), self.stages.panel[name], self.stages.date_of(name))

    def panel_size(self, stage: str) -> int:
        return self.stage(stage).panel_size

    def gate(self, stage: str) -> StageGate:
        """The instrument and advancement rule of `stage` (DEFAULT: the [rubric], everyone advances)."""
        self.stage(stage)
        return self.stages.gates.get(stage, StageGate())

    def instrument(self, stage: str) -> Rubric:
        """The rubric `stage` is scored with: its [instruments] entry, else [rubric]. The one place this is chosen."""
        name = self.gate(stage).instrument
        return self.instruments[name] if name else self.rubric

    def for_stage(self, stage: str) -> "Policy":
        """This policy with `stage`'s instrument as its rubric: score sheets, score checks and aggregation of
        the stage read `policy.for_stage(stage).rubric`."""
        inst = self.instrument(stage)
        if inst is self.rubric:
            return self
        # The decision's family rules name families of the recognition rubric (B >= 15): a stage scored with
        # another instrument (the 现场考察 checklist) is ranked by its own total, without the rules its
        # families cannot answer (else its ranking would fail on "missing family columns B").
        fams = {f.id for f in inst.families}
        dec = self.decision.model_copy(update={
            "recommend_min_family": {f: v for f, v in self.decision.recommend_min_family.items() if f in fams},
            "tie_break_families": [f for f in self.decision.tie_break_families if f in fams]})
        return self.model_copy(update={"rubric": inst, "decision": dec})

    def stage_rules(self, stage: str) -> dict:
        """The panel rules in force for `stage`: [panel_rules] with [stages.rules.STAGE] applied."""
        self.stage(stage)
        base = {k: getattr(self.panel_rules, k) for k in
                ("min_per_category", "tech_industry_share", "min_field_matched_technical", "chair_required")}
        over = self.stages.rules.get(stage)
        if over is not None:
            base.update({k: v for k, v in over.model_dump().items() if v is not None})
        return base

    def min_tech_industry(self, stage: str) -> int:
        """Fewest experts of the 技术+产业 categories a panel of `stage` needs:
        ceil(panel size x tech_industry_share). The one place this minimum is computed."""
        return math.ceil(self.panel_size(stage) * self.stage_rules(stage)["tech_industry_share"] - 1e-9)

    @model_validator(mode="after")
    def _quorum_fits(self) -> "Policy":
        for stage in self.stages.order:
            size = self.panel_size(stage)
            need = self.aggregation.required_scores(panel_size=size)
            if need > size:
                raise ValueError(
                    f"[aggregation] the quorum ({need} scores: min_scores {self.aggregation.min_scores}, "
                    f"quorum_share {self.aggregation.quorum_share:g}, method {self.aggregation.method}) is more than "
                    f"the {size} seats of stage {stage}: no application of that stage could be ranked")
        return self

    def min_panel_seats(self, stage: str) -> int:
        """Fewest experts a panel of `stage` needs to meet its composition rules."""
        r = self.stage_rules(stage)
        cats, ti = self.panel_rules.categories, self.panel_rules.tech_industry_categories
        m = r["min_per_category"]
        technical = max(m, r["min_field_matched_technical"], 1 if r["chair_required"] else 0)
        ti_seats = sum(technical if c == self.panel_rules.technical_category else m for c in ti)
        ti_seats = max(ti_seats, self.min_tech_industry(stage))
        return (len(cats) - len(ti)) * m + ti_seats


def relation_errors(p: Policy) -> list[str]:
    """Relations between fields that no type check sees: thresholds within the rubric, the
    cultivation line below the recommendation line, trimming that leaves scores, loads, bands."""
    out = []
    total, d = p.rubric.total, p.decision
    for key in ("recommend_min_score", "cultivation_min_score"):
        v = getattr(d, key)
        if not 0 <= v <= total:
            out.append(f"[decision] {key} {v:g} is outside 0 to the rubric total {total:g} ([rubric] total)")
    if d.cultivation_min_score > d.recommend_min_score:
        out.append(f"[decision] cultivation_min_score {d.cultivation_min_score:g} is above recommend_min_score "
                   f"{d.recommend_min_score:g}: the 培育 list lies below the recommendation line")
    fam_max = {f.id: f.max for f in p.rubric.families}
    for f, v in d.recommend_min_family.items():
        if f in fam_max and not 0 <= v <= fam_max[f]:
            out.append(f"[decision] recommend_min_family {f} {v:g} is outside 0 to family {f}'s maximum {fam_max[f]:g}")
    for name, v in p.rubric.bands.items():
        if not 0 <= v <= total:
            out.append(f"[rubric.bands] {name} = {v:g} is outside 0 to the rubric total {total:g}")
    a = p.aggregation
    if a.trim_min_n <= 2 * a.trim_k:
        out.append(f"[aggregation] trim_k {a.trim_k} drops {2 * a.trim_k} scores, so trim_min_n {a.trim_min_n} must "
                   f"be above {2 * a.trim_k}")
    pr = p.panel_rules
    if pr.min_load_per_stage > pr.max_load_per_stage:
        out.append(f"[panel_rules] min_load_per_stage {pr.min_load_per_stage} is above max_load_per_stage "
                   f"{pr.max_load_per_stage}")
    top = sum(i.max for i in p.evaluation.indicators)
    for name, v in p.evaluation.bands.items():
        if not 0 <= v <= top:
            out.append(f"[evaluation] bands {name} = {v:g} is outside 0 to the indicators' total {top:g}")
    return out


def gate_errors(p: Policy) -> list[str]:
    """Stage gates that name no instrument, pass lines above their instrument's total, a gate on the last stage."""
    out = [f"[defence] stage {p.defence.stage!r} is not one of {p.stages.order}"] if p.defence.stage not in p.stages.order else []
    if p.defence.lunch_start and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", p.defence.lunch_start):
        out.append(f"[defence] lunch_start {p.defence.lunch_start!r}: expected HH:MM, e.g. 12:00 (\"\" = no lunch)")
    for stage, g in p.stages.gates.items():
        if g.instrument and g.instrument not in p.instruments:
            out.append(f"[stages.gates.\"{stage}\"] instrument {g.instrument!r} is not in [instruments] "
                       f"({', '.join(p.instruments) or 'none defined'})")
            continue
        total = (p.instruments[g.instrument] if g.instrument else p.rubric).total
        if g.pass_line is not None and g.pass_line > total:
            out.append(f"[stages.gates.\"{stage}\"] pass_line {g.pass_line:g} is above its instrument's total {total:g}")
        if stage == p.stages.order[-1] and g.has_rule:
            out.append(f"[stages.gates.\"{stage}\"] the last stage advances nobody: its ranking decides "
                       "([decision]); remove pass_line / top_k_per_field there")
    return out


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; errors name the file and the offending key."""
    if path is None:
        path = DEFAULT_POLICY_PATH
    p = Path(path)
    try:
        raw_bytes = p.read_bytes()
    except OSError as e:
        raise UserError(f"policy file {p}: cannot read ({e.strerror})") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"policy file {p}: not valid TOML: {e}") from None
    try:
        return Policy(**raw, source=str(p), sha256=hashlib.sha256(raw_bytes).hexdigest())
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            where = f"[{loc}] " if loc else ""
            value = err.get("input")
            shown = "" if isinstance(value, dict) or not loc else f" (value: {value!r})"
            lines.append(f"policy file {p}: {where}{err['msg'].removeprefix('Value error, ')}{shown}")
        raise UserError("\n".join(lines)) from None
