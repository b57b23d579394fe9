"""The hard rules of a panel plan, as one registry: one `Family` record per rule family.

Every part of the solver that handles a hard rule loops over `FAMILIES` instead of naming rules:
the CP-SAT model (`cpsat.build_model`), the LP rows (`lp.build_linear`), the flow (`flow.non_flow_parts`),
the independent checker (`check.check_plan`) and the diagnostics (`diagnose.precheck`,
`diagnose.core_diagnostics`). A family's name is written here and nowhere else in the solver.

How each family reaches the exact models:
* `tree_nodes`: counting bounds on nodes of the per-panel template tree (compile.Template): CP-SAT
  linear constraints, LP rows, flow arcs with lower/upper bounds.
* `group_ids`: at most one chosen seat per group: CP-SAT at-most-one, LP rows; the flow keeps a
  group as a capacity-1 node when all its seats go to one template leaf of one panel, otherwise
  drops it and the caller verifies the flow's answer (`flow.violates`).
* `load_rows`: the per (stage, expert) load rows (LP), source arcs (flow).
* none of these: the rule is applied when compiling (excluded pairs and forbidden seats never become
  candidate seats; locked seats get a lower bound of 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import check_rules, cpsat_rules, precheck_rules
from .compile import LOCK_BARRED, LOCK_EXCLUDED, LOCK_FORBIDDEN, LOCK_NOT_IN_STAGE, LOCK_OTHER_STAGE, LOCK_UNAVAILABLE

CORE_SCOPES = ("panel", "stage", "application")


@dataclass(frozen=True)
class Family:
    """One hard-rule family.

    name: the id used in Violation.rule, Diagnostic.rule and the CP-SAT literals.
    label_zh / label_en: what the staff read. justification: why the rule exists (SPEC §5 / policy).
    cpsat: builder(ctx, family) adding the family's CP-SAT constraints (solver.cpsat_rules).
    check: checker(view) yielding (stage, application, expert, message) per breach (solver.check_rules).
    precheck: counting pre-check(comp, counts) yielding findings (solver.precheck_rules), or None.
    rules_check: pre-check(comp) run before any counting (contradictory rules), or None.
    lock_reasons: compile reasons (compile.LOCK_*) for which a locked seat would break this family;
        such a lock is reported under this family's name (a lock that cannot hold is always reported
        under the rule it would break).
    tree_nodes / group_ids / load_rows: how the family enters the LP and the flow (module docstring).
    per_expert: every group of `group_ids` holds the seats of one expert, so in a problem aggregated by
        solver.symmetry (one class of m identical experts) the group may take m seats, one per member.
    core_scope: what a CP-SAT assumption key of this family names: a panel, a stage or an application.
    """

    name: str
    label_zh: str
    label_en: str
    justification: str
    cpsat: Callable
    check: Callable
    precheck: Callable | None = None
    rules_check: Callable | None = None
    lock_reasons: tuple = ()
    tree_nodes: Callable | None = None
    group_ids: Callable | None = None
    load_rows: bool = False
    core_scope: str = "panel"
    per_expert: bool = False  # a group is one expert's seats: an aggregated class of m experts may take m

    def __post_init__(self):
        if self.core_scope not in CORE_SCOPES:
            raise ValueError(f"family {self.name}: core_scope must be one of {CORE_SCOPES}")


EXCLUDED_PAIRS = Family(
    "excluded_pairs", "回避", "excluded pairs",
    "An expert never reviews an application they have a conflict of interest with or are banned from "
    "(SPEC §4 conflicts); with a sparse affinity only the stored pairs are candidates.",
    cpsat=cpsat_rules.no_constraint, check=check_rules.excluded_pairs, lock_reasons=(LOCK_EXCLUDED,))

POOL_STANDING = Family(
    "pool_standing", "专家库资格", "pool standing",
    "An expert under a credit penalty (until its end plus the policy's cooling-off) or over the rotation limit "
    "(served in the policy's number of consecutive rounds) is not drawn (issue 16 item 6, policy [pool]); "
    "the bars in force are recorded with each planning run.",
    cpsat=cpsat_rules.no_constraint, check=check_rules.pool_standing, precheck=precheck_rules.barred_experts_bind,
    lock_reasons=(LOCK_BARRED,))

PANEL_SIZE = Family(
    "panel_size", "专家人数", "panel size",
    "Every panel has exactly its stage's number of experts (5 / 5 / 7: odd and >= 5 under Chinese tender "
    "law, SPEC §5).",
    cpsat=cpsat_rules.tree_bounds, check=check_rules.panel_size, precheck=precheck_rules.panel_seats,
    rules_check=precheck_rules.contradictory_minima, lock_reasons=(LOCK_NOT_IN_STAGE,),
    tree_nodes=lambda tpl: [0])

CATEGORY_COVERAGE = Family(
    "category_coverage", "五类专家覆盖", "category coverage",
    "Every panel covers all five expert categories, at least one of each (SPEC §5), within any "
    "per-category maximum of the policy.",
    cpsat=cpsat_rules.tree_bounds, check=check_rules.category_coverage, precheck=precheck_rules.category_experts,
    tree_nodes=lambda tpl: list(range(2, 2 + tpl.n_cat)) + [tpl.UNMATCHED])

TECH_INDUSTRY_SHARE = Family(
    "tech_industry_share", "技术+产业专家占比", "technical + industry share",
    "技术 + 产业 experts are at least ceil(share x panel size) of a panel (SPEC §5: half; 2 of 5 on the "
    "5-person stages by the 2026-12 decision).",
    cpsat=cpsat_rules.tree_bounds, check=check_rules.tech_industry_share,
    precheck=precheck_rules.tech_industry_experts, tree_nodes=lambda tpl: [tpl.TI])

FIELD_MATCHED_TECHNICAL = Family(
    "field_matched_technical", "领域匹配的技术专家", "field-matched technical experts",
    "Enough technical experts whose specialties match the application's field judge it (SPEC §5: >= 2; "
    "1 on 5-person panels).",
    cpsat=cpsat_rules.tree_bounds, check=check_rules.field_matched_technical,
    precheck=precheck_rules.matched_technical_experts, tree_nodes=lambda tpl: [tpl.MATCHED, tpl.MATCHED_OTHER])

CHAIR = Family(
    "chair", "组长（高级技术专家）", "chair",
    "A senior (正高级) technical expert matching the field chairs every panel and records its opinion (SPEC §5).",
    cpsat=cpsat_rules.tree_bounds, check=check_rules.chair, precheck=precheck_rules.chair_eligible_experts,
    tree_nodes=lambda tpl: [tpl.CHAIR])

ONE_PER_EMPLOYER = Family(
    "one_per_employer", "同一单位至多一人", "one expert per employer",
    "At most one expert of an employer group sits on a panel, so no unit weighs twice in one opinion "
    "(policy conflicts.one_per_employer_per_panel).",
    cpsat=cpsat_rules.at_most_one_per_group, check=check_rules.one_per_employer,
    precheck=precheck_rules.distinct_employers, group_ids=lambda comp: comp.emp_gid)

EXPERT_LOAD = Family(
    "expert_load", "专家评审量", "expert load",
    "An expert sits on at most max_load panels per stage (DEFAULT 6) and none when unavailable on the "
    "stage's dates (SPEC §5), and on at least min_load when the policy asks.",
    cpsat=cpsat_rules.expert_load, check=check_rules.expert_load, precheck=precheck_rules.stage_capacity,
    lock_reasons=(LOCK_UNAVAILABLE,), load_rows=True, core_scope="stage")

LOCKS_AND_FORBIDS = Family(
    "locks_and_forbids", "锁定/禁止", "locks and forbids",
    "Staff can force (lock) or forbid a seat; every other hard rule still holds around it (SPEC §5).",
    cpsat=cpsat_rules.locked_seats, check=check_rules.locks_and_forbids, lock_reasons=(LOCK_FORBIDDEN,))

STAGE_INDEPENDENCE = Family(
    "stage_independence", "阶段独立（同一专家不重复评审）", "stage independence",
    "No expert sits on the same application in two stages, so each stage is an independent judgement "
    "(SPEC §5, DEFAULT independent stages; policy stages.allow_same_expert_across_stages).",
    cpsat=cpsat_rules.at_most_one_per_group, check=check_rules.stage_independence,
    lock_reasons=(LOCK_OTHER_STAGE,), group_ids=lambda comp: comp.indep_gid, core_scope="application",
    per_expert=True)

FAMILIES = (EXCLUDED_PAIRS, POOL_STANDING, PANEL_SIZE, CATEGORY_COVERAGE, TECH_INDUSTRY_SHARE, FIELD_MATCHED_TECHNICAL, CHAIR,
            ONE_PER_EMPLOYER, EXPERT_LOAD, LOCKS_AND_FORBIDS, STAGE_INDEPENDENCE)
HARD_FAMILIES = tuple(f.name for f in FAMILIES)
BY_NAME = {f.name: f for f in FAMILIES}


def family(name: str) -> Family:
    """The record of a family name (KeyError naming the known ones)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown hard-rule family {name!r}; known: {', '.join(HARD_FAMILIES)}") from None


def node_families(tpl) -> list:
    """Family name of every template node (each node is bounded by exactly one tree family)."""
    out = [None] * tpl.T
    for f in FAMILIES:
        for t in (f.tree_nodes(tpl) if f.tree_nodes is not None else ()):
            if out[t] is not None:
                raise ValueError(f"template node {t} claimed by {out[t]} and {f.name}")
            out[t] = f.name
    missing = [t for t, n in enumerate(out) if n is None]
    if missing:
        raise ValueError(f"template nodes {missing} belong to no family")
    return out


def group_families() -> tuple:
    """Families that allow at most one seat per group (they have `group_ids`), in registry order."""
    return tuple(f for f in FAMILIES if f.group_ids is not None)


def load_family() -> Family:
    """The family whose rows are the per (stage, expert) loads."""
    return next(f for f in FAMILIES if f.load_rows)
