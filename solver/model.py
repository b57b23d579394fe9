"""Plain-data input and output of the panel optimiser.

Everything here is numpy / scipy.sparse arrays, tuples and frozen dataclasses. Indices are
0-based positions: expert ``e`` in ``range(E)``, application ``a`` in ``range(A)``, stage ``s``
in ``range(len(stages))``. The domain layer keeps the mapping from these positions to its ids.

Matrices of shape ``(E, A)`` (rows = experts, columns = applications) may be dense numpy arrays
or any ``scipy.sparse`` matrix:

* ``affinity``: float >= 0. **Dense**: every pair is a candidate. **Sparse**: only the stored
  entries are candidates (an explicit stored 0 is a candidate with affinity 0; an absent entry is
  *not allowed*). Use sparse for top-k candidate graphs at conference scale.
* ``excluded``: bool; True = hard exclusion (conflict rules, bans, unavailability). Sparse: the
  stored non-zeros are excluded.
* ``soft_penalty``: float >= 0, e.g. 1.0 for a same-city pair; subtracted with weight
  ``weights.soft_conflict``.
* ``field_match``: bool; True = the expert is technical and their specialties match the
  application's field (used by ``min_field_matched_technical`` and the chair rule).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .arrays import values_at

# Names of the objective terms (the plan's breakdown). The hard rules are the registry in
# solver.families (solver.HARD_FAMILIES is the tuple of their names).
OBJECTIVE_TERMS = ("affinity", "load_balance", "soft_conflict", "continuity")
METHODS = ("auto", "min_cost_flow", "cp_sat")

OPTIMAL = "OPTIMAL"
FEASIBLE = "FEASIBLE"
INFEASIBLE = "INFEASIBLE"
UNKNOWN = "UNKNOWN"
MODEL_INVALID = "MODEL_INVALID"


@dataclass(frozen=True, eq=False)
class StageSpec:
    """One review stage.

    name: display name (e.g. "初审评估").
    panel_size: exact number of experts on each panel of this stage (5, 5, 7 by default).
    applications: int array of application indices reviewed in this stage (one panel each).
    max_load: int or int[E]: most panels an expert sits on in this stage (0 = unavailable).
    min_load: int or int[E]: fewest panels per expert in this stage (0 = no minimum).
    rules: optional PanelRules for this stage's numeric bounds (min/max per category,
        tech_industry_share, min_field_matched_technical, chair_required); the structural fields
        (technical_category, tech_industry_categories, one_per_employer, allow_same_...) always come
        from PanelProblem.rules. None = PanelProblem.rules.
    """

    name: str
    panel_size: int
    applications: Any
    max_load: Any = 6
    min_load: Any = 0
    rules: Any = None


@dataclass(frozen=True)
class PanelRules:
    """Hard composition rules of every panel. Defaults = no rule (plain b-matching).

    min_per_category: >= this many experts of every category per panel (int, or tuple per category).
    max_per_category: optional upper bound per category (int, tuple or None).
    tech_industry_categories: category indices whose sum is bounded below (技术, 产业).
    tech_industry_share: that sum >= ceil(share * panel_size) (0.5 -> 3 of 5, 4 of 7).
    technical_category: index of the technical category (技术), -1 = none.
    min_field_matched_technical: >= this many technical experts with field_match per panel.
    chair_required: every panel needs a chair: can_chair and field-matched technical.
    one_per_employer: at most one expert per employer group per panel.
    allow_same_expert_across_stages: False = an expert sits on one application in at most one stage.
    """

    min_per_category: Any = 0
    max_per_category: Any = None
    tech_industry_categories: tuple = ()
    tech_industry_share: float = 0.0
    technical_category: int = -1
    min_field_matched_technical: int = 0
    chair_required: bool = False
    one_per_employer: bool = False
    allow_same_expert_across_stages: bool = False

    def tech_industry_min(self, panel_size: int) -> int:
        if not self.tech_industry_categories or self.tech_industry_share <= 0:
            return 0
        return int(math.ceil(self.tech_industry_share * panel_size - 1e-9))


@dataclass(frozen=True)
class ObjectiveWeights:
    """Integer weights of the soft terms (policy file [objective]).

    affinity: points per unit of affinity of a chosen pair (maximised).
    load_balance: points per unit of sum over (expert, stage) of load**2 (minimised: spreads load).
    soft_conflict: points per unit of soft_penalty of a chosen pair (minimised; policy same_city).
    continuity: points per kept continuity pair (maximised).
    """

    affinity: float = 100
    load_balance: float = 5
    soft_conflict: float = 20
    continuity: float = 10


@dataclass(frozen=True, eq=False)
class PanelProblem:
    """The whole assignment problem, as arrays. See the module docstring for matrix semantics.

    expert_category: int[E], index into category_names.
    category_names: e.g. ("经济", "技术", "产业", "管理", "金融").
    affinity: float[E, A] dense or sparse (sparse = only stored pairs are candidates).
    stages: tuple of StageSpec.
    excluded, soft_penalty, field_match: optional (E, A) matrices (None = all False / 0).
    expert_employer: optional int[E] employer group id (-1 = no group).
    expert_can_chair: optional bool[E] (senior technical expert: may chair).
    rules, weights: see PanelRules, ObjectiveWeights.
    locks: ((stage, expert, application), ...) forced seats. forbids: same shape, forbidden seats.
    fixed: ((stage, expert, application), ...) published seats of stages that are not re-solved;
        they are copied into the plan and (unless allowed) block the same pair in other stages.
    continuity: ((stage, expert, application), ...) seats wished kept (stage -1 = any stage).
    application_labels: optional names of the applications (position -> text) for the plain-language
        diagnostics; without them an application is named by its position.
    expert_labels: the same for the experts (e.g. "ZJ0001 张三").
    barred: optional (E, A) bool matrix: pairs the expert pool's standing bars (a credit penalty with its
        cooling-off, a rotation limit: the pool_standing family). Applied like `excluded` but reported
        under its own rule, so a plan, the checker and the diagnostics name the pool standing.

    Checked when built (shapes, index ranges, sizes, rule bounds): ValueError names the field. Whether
    the rules can all hold is not checked here: that is the solver's diagnostics.
    """

    expert_category: Any
    category_names: tuple
    affinity: Any
    stages: tuple
    excluded: Any = None
    soft_penalty: Any = None
    field_match: Any = None
    expert_employer: Any = None
    expert_can_chair: Any = None
    rules: PanelRules = field(default_factory=PanelRules)
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    locks: tuple = ()
    forbids: tuple = ()
    fixed: tuple = ()
    continuity: tuple = ()
    application_labels: tuple = ()
    expert_labels: tuple = ()
    barred: Any = None

    def __post_init__(self):
        _validate_problem(self)

    def application_label(self, a: int) -> str:
        a = int(a)
        return str(self.application_labels[a]) if 0 <= a < len(self.application_labels) else str(a)

    def expert_label(self, e: int) -> str:
        e = int(e)
        return str(self.expert_labels[e]) if 0 <= e < len(self.expert_labels) else str(e)

    @property
    def n_experts(self) -> int:
        return int(self.affinity.shape[0])

    @property
    def n_applications(self) -> int:
        return int(self.affinity.shape[1])

    @staticmethod
    def plain(affinity, demand: int, max_load, excluded=None, min_load=0, weights=None) -> "PanelProblem":
        """Plain reviewer assignment (b-matching): every column gets `demand` rows, load <= max_load."""
        E, A = affinity.shape
        return PanelProblem(
            expert_category=np.zeros(E, dtype=np.int64),
            category_names=("all",),
            affinity=affinity,
            stages=(StageSpec("assignment", int(demand), np.arange(A), max_load, min_load),),
            excluded=excluded,
            weights=weights or ObjectiveWeights(affinity=1, load_balance=0, soft_conflict=0, continuity=0),
        )


@dataclass(frozen=True)
class SolveOptions:
    """How to solve.

    method: "auto" (exact min-cost flow when the active rules keep the problem a network flow or the
        flow relaxation's answer already satisfies the other rules; otherwise the LP-guided exact
        path: column-generation LP (HiGHS), then HiGHS MIP with reduced-cost fixing if the LP is
        fractional), "min_cost_flow" (error if not applicable) or "cp_sat" (plain CP-SAT model with
        the flow relaxation as hint; weaker, kept for comparison and for the assumption cores).
    time_limit: seconds for CP-SAT (wall). num_workers: CP-SAT workers.
    seed: CP-SAT random_seed and the seed of a randomized draw.
    deterministic: CP-SAT with 1 worker and a deterministic time limit (same seed -> same plan).
    scale: integer units per objective point (costs are int(round(points * scale))).
    stages: indices of the stages to solve (None = every stage without `fixed` seats).
    lp_guide: None = auto (LP-guided unless method == "cp_sat"), True/False to force.
    lp_guide_min_columns: unused (kept for compatibility).
    progress: optional callable(dict) called on each improving CP-SAT solution
        (keys: objective, bound, wall_time, solutions) and once per LP-guided phase
        (keys: phase, wall_time, and bound/objective when known).
    diagnose: on infeasibility, run the counting pre-check and CP-SAT assumptions.
    symmetry: solve identical experts as one class and split the plan back (solver.symmetry; method
        "auto" only). False = the plain model (for comparison).

    Checked when built: ValueError names the field (an unknown method lists the allowed ones).
    """

    method: str = "auto"
    time_limit: float = 30.0
    num_workers: int = 2
    seed: int = 0
    deterministic: bool = False
    scale: int = 1_000_000
    stages: tuple | None = None
    lp_guide: bool | None = None
    lp_guide_min_columns: int = 40_000
    progress: Callable | None = None
    diagnose: bool = True
    log: bool = False
    symmetry: bool = True

    def __post_init__(self):
        _validate_options(self)


@dataclass(frozen=True)
class Diagnostic:
    """One plain-language reason why no plan exists (or a warning).

    rule: family name (see solver.families.FAMILIES), or "unknown" when no smaller cause was found.
    stage / application: indices or -1. category: category index or -1. counts: numbers behind the message (eligible, needed, ...).
    """

    rule: str
    stage: int
    application: int
    category: int
    message_zh: str
    message_en: str
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    """A hard rule broken by a plan (from check_plan)."""

    rule: str
    stage: int
    application: int
    expert: int
    message: str


@dataclass(frozen=True, eq=False)
class StagePlan:
    """Seats of one stage: parallel arrays `experts[i]` sits on `applications[i]`;
    `chairs[k]` chairs `chair_applications[k]` (-1 = no chair)."""

    stage: int
    name: str
    experts: np.ndarray
    applications: np.ndarray
    chair_applications: np.ndarray
    chairs: np.ndarray

    def panel(self, application: int) -> np.ndarray:
        return np.sort(self.experts[self.applications == application])

    def chair_of(self, application: int) -> int:
        k = np.nonzero(self.chair_applications == application)[0]
        return int(self.chairs[k[0]]) if len(k) else -1

    def pairs(self) -> set:
        return set(zip(self.experts.tolist(), self.applications.tolist()))


@dataclass(frozen=True, eq=False)
class Plan:
    """Result of solve / draw / repair.

    status: OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN. path: how the plan was found:
    "min_cost_flow" (exact flow), "lp_integral" (the LP relaxation was integral: proven optimal),
    "milp_highs" / "milp_highs+lp_guide" (the HiGHS MIP after a fractional LP), "lp_guided" (the LP found
    no plan), "cp_sat" (the CP-SAT model), "precheck"
    (infeasible before solving: the counting pre-check), "lp_randomized" (a draw from a lottery),
    "repair:<path>" (a minimal-change repair); the domain adds "table" for a plan read from a panels table.
    stages: one StagePlan per stage of the problem (empty arrays for stages not solved).
    objective / bound in objective points (higher is better); gap = (bound - objective)/|bound|.
    breakdown: points per objective term (affinity, load_balance, soft_conflict, continuity)
        plus raw sums ("affinity_sum", ...).
    expert_load: int[S, E]. wall_time: seconds. seed: seed used.
    marginals: for randomized plans, {stage: csr float[E, A]} probability of each seat.
    diagnostics: reasons when INFEASIBLE (Diagnostic). info: extra numbers (sizes, timings; "symmetry" when
        identical experts were solved as one class: experts, classes, largest class, aggregated columns).
    """

    status: str
    path: str
    stages: tuple
    objective: float = float("nan")
    bound: float = float("nan")
    gap: float = float("nan")
    breakdown: dict = field(default_factory=dict)
    expert_load: Any = None
    wall_time: float = 0.0
    seed: int = 0
    marginals: dict | None = None
    diagnostics: tuple = ()
    info: dict = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    def to_records(self, problem: PanelProblem | None = None) -> list[dict]:
        """One dict per seat: stage, stage_name, application, expert, role (chair/member),
        and with `problem`: category index/name, affinity, soft_penalty, field_match."""
        out = []
        for stp in self.stages:
            if len(stp.experts) == 0:
                continue
            order = np.lexsort((stp.experts, stp.applications))
            ex, ap = stp.experts[order], stp.applications[order]
            chair = dict(zip(stp.chair_applications.tolist(), stp.chairs.tolist()))
            extra = {}
            if problem is not None:
                extra["affinity"] = values_at(problem.affinity, ex, ap, 0.0)
                extra["soft_penalty"] = values_at(problem.soft_penalty, ex, ap, 0.0)
                extra["field_match"] = values_at(problem.field_match, ex, ap, False)
            for i, (e, a) in enumerate(zip(ex.tolist(), ap.tolist())):
                rec = {"stage": stp.stage, "stage_name": stp.name, "application": a, "expert": e,
                       "role": "chair" if chair.get(a, -1) == e else "member"}
                if problem is not None:
                    c = int(np.asarray(problem.expert_category)[e])
                    rec["category"] = c
                    rec["category_name"] = problem.category_names[c]
                    rec["affinity"] = float(extra["affinity"][i])
                    rec["soft_penalty"] = float(extra["soft_penalty"][i])
                    rec["field_match"] = bool(extra["field_match"][i])
                out.append(rec)
        return out

    def load_records(self) -> list[dict]:
        """One dict per (stage, expert) with load > 0."""
        if self.expert_load is None:
            return []
        s, e = np.nonzero(self.expert_load)
        return [{"stage": int(a), "expert": int(b), "load": int(self.expert_load[a, b])} for a, b in zip(s, e)]


# ---- validation (one place: the dataclasses' __post_init__) ---------------------------------

def _fail(where: str, what: str):
    raise ValueError(f"{where}: {what}")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _int_at_least(x, lo: int, where: str):
    if not _is_int(x) or x < lo:
        _fail(where, f"expected an integer >= {lo}, got {x!r}")


def _ints(x, where: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        _fail(where, f"expected integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _in_range(arr: np.ndarray, lo: int, hi: int, where: str):
    """Every value of `arr` in [lo, hi)."""
    if arr.size and (arr.min() < lo or arr.max() >= hi):
        bad = arr[(arr < lo) | (arr >= hi)][0]
        _fail(where, f"index {int(bad)} out of range {lo}..{hi - 1}")


def _shape(M, shape: tuple, where: str):
    if M is None:
        return
    got = M.shape if sp.issparse(M) else np.shape(M)
    if tuple(got) != shape:
        _fail(where, f"shape {tuple(got)}, expected {shape}")


def _per_expert_or_int(x, E: int, where: str):
    arr = _ints(x, where)
    if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape != (E,)):
        _fail(where, f"expected an int or {E} ints (one per expert), got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        _fail(where, "must be >= 0")


def _per_category_or_int(x, K: int, where: str):
    arr = _ints(x, where)
    if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape != (K,)):
        _fail(where, f"expected an int or {K} ints (one per category), got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        _fail(where, "must be >= 0")


def _validate_rules(r, K: int, where: str):
    if not isinstance(r, PanelRules):
        _fail(where, f"expected PanelRules, got {type(r).__name__}")
    _per_category_or_int(r.min_per_category, K, f"{where}.min_per_category")
    if r.max_per_category is not None:
        _per_category_or_int(r.max_per_category, K, f"{where}.max_per_category")
    _in_range(_ints(list(r.tech_industry_categories), f"{where}.tech_industry_categories"), 0, K,
              f"{where}.tech_industry_categories")
    if not 0.0 <= float(r.tech_industry_share) <= 1.0:
        _fail(f"{where}.tech_industry_share", f"expected a share in [0, 1], got {r.tech_industry_share!r}")
    _int_at_least(r.min_field_matched_technical, 0, f"{where}.min_field_matched_technical")


def _validate_stage(st, s: int, E: int, A: int, K: int, technical: int):
    where = f"PanelProblem.stages[{s}]"
    if not isinstance(st, StageSpec):
        _fail(where, f"expected StageSpec, got {type(st).__name__}")
    _int_at_least(st.panel_size, 1, f"{where}.panel_size")
    apps = _ints(st.applications, f"{where}.applications")
    if apps.ndim != 1:
        _fail(f"{where}.applications", f"expected a 1-D array of application indices, got shape {apps.shape}")
    _in_range(apps, 0, A, f"{where}.applications")
    _per_expert_or_int(st.max_load, E, f"{where}.max_load")
    _per_expert_or_int(st.min_load, E, f"{where}.min_load")
    if st.rules is not None:
        _validate_rules(st.rules, K, f"{where}.rules")
        if technical < 0 and (st.rules.min_field_matched_technical > 0 or st.rules.chair_required):
            _fail(f"{where}.rules", "field-matched and chair rules need rules.technical_category >= 0")


def _validate_seats(seats, S: int, E: int, A: int, where: str, any_stage: bool = False):
    for i, seat in enumerate(seats):
        if len(seat) != 3 or not all(_is_int(v) for v in seat):
            _fail(f"{where}[{i}]", f"expected (stage, expert, application) integers, got {seat!r}")
        s, e, a = (int(v) for v in seat)
        if not (-1 if any_stage else 0) <= s < S:
            _fail(f"{where}[{i}]", f"stage {s} out of range 0..{S - 1}" + (" (or -1 = any)" if any_stage else ""))
        if not 0 <= e < E:
            _fail(f"{where}[{i}]", f"expert {e} out of range 0..{E - 1}")
        if not 0 <= a < A:
            _fail(f"{where}[{i}]", f"application {a} out of range 0..{A - 1}")


def _validate_problem(p: "PanelProblem"):
    shape = p.affinity.shape if sp.issparse(p.affinity) else np.shape(p.affinity)
    if len(shape) != 2:
        _fail("PanelProblem.affinity", f"expected an (experts, applications) matrix, got shape {tuple(shape)}")
    E, A = (int(x) for x in shape)
    K = len(p.category_names)
    if K < 1:
        _fail("PanelProblem.category_names", "needs at least one category")
    cat = _ints(p.expert_category, "PanelProblem.expert_category")
    if cat.shape != (E,):
        _fail("PanelProblem.expert_category", f"expected {E} entries (one per expert), got shape {cat.shape}")
    _in_range(cat, 0, K, "PanelProblem.expert_category")
    for name in ("excluded", "soft_penalty", "field_match", "barred"):
        _shape(getattr(p, name), (E, A), f"PanelProblem.{name}")
    for name in ("expert_employer", "expert_can_chair"):
        _shape(getattr(p, name), (E,), f"PanelProblem.{name}")
    _validate_rules(p.rules, K, "PanelProblem.rules")
    tech = p.rules.technical_category
    if not _is_int(tech) or not -1 <= tech < K:
        _fail("PanelProblem.rules.technical_category", f"expected -1 (none) or a category index 0..{K - 1}, got {tech!r}")
    if tech < 0 and (p.rules.min_field_matched_technical > 0 or p.rules.chair_required):
        _fail("PanelProblem.rules", "field-matched and chair rules need rules.technical_category >= 0")
    if not isinstance(p.weights, ObjectiveWeights):
        _fail("PanelProblem.weights", f"expected ObjectiveWeights, got {type(p.weights).__name__}")
    if len(p.stages) < 1:
        _fail("PanelProblem.stages", "needs at least one stage")
    for s, st in enumerate(p.stages):
        _validate_stage(st, s, E, A, K, tech)
    S = len(p.stages)
    for name in ("locks", "forbids", "fixed"):
        _validate_seats(getattr(p, name), S, E, A, f"PanelProblem.{name}")
    _validate_seats(p.continuity, S, E, A, "PanelProblem.continuity", any_stage=True)


def _validate_options(o: "SolveOptions"):
    if o.method not in METHODS:
        _fail("SolveOptions.method", f"{o.method!r} is not one of {', '.join(repr(m) for m in METHODS)}")
    if not isinstance(o.time_limit, numbers.Real) or not o.time_limit > 0:  # also rejects NaN
        _fail("SolveOptions.time_limit", f"expected seconds > 0, got {o.time_limit!r}")
    _int_at_least(o.num_workers, 1, "SolveOptions.num_workers")
    _int_at_least(o.seed, 0, "SolveOptions.seed")
    _int_at_least(o.scale, 1, "SolveOptions.scale")
    _int_at_least(o.lp_guide_min_columns, 0, "SolveOptions.lp_guide_min_columns")
    if o.stages is not None:
        if isinstance(o.stages, (str, bytes)) or not all(_is_int(s) and s >= 0 for s in o.stages):
            _fail("SolveOptions.stages", f"expected None or stage indices >= 0, got {o.stages!r}")
        object.__setattr__(o, "stages", tuple(int(s) for s in o.stages))
    if o.lp_guide is not None and not isinstance(o.lp_guide, bool):
        _fail("SolveOptions.lp_guide", f"expected None, True or False, got {o.lp_guide!r}")
    if not isinstance(o.symmetry, bool):
        _fail("SolveOptions.symmetry", f"expected True or False, got {o.symmetry!r}")
    if o.progress is not None and not callable(o.progress):
        _fail("SolveOptions.progress", "expected None or a callable(dict)")
