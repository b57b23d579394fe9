"""The planning problem of a round: turns the domain records, conflicts and policy into the
solver's plain arrays (`solver.PanelProblem`), keeping the mapping between positions and ids
(`PlanningInput`); and reads a panels table back into a solver `Plan` (`plan_from_panels`).

The solver never sees a record; the planning service (`reviewer.panels.service`) builds every
problem here, for planning, repair and the check of an imported panels table.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reviewer import home
from reviewer.conflicts.detector import ConflictSet
from reviewer.errors import UserError
from reviewer.intake.model import Application, Expert, RoundData
from reviewer.panels.affinity import AffinityWeights, affinity_matrix, field_match
from reviewer.policy import Policy
from reviewer.pool.standing import barred_matrix
from solver import ObjectiveWeights, PanelProblem, PanelRules, Plan, StagePlan, StageSpec, pick_chairs
from solver.model import FEASIBLE

TABLE_PATH = "table"   # Plan.path of a plan read from a panels table


@dataclass
class PlanningInput:
    """The round's planning problem with the id mappings the tables need."""
    problem: PanelProblem
    experts: list[Expert]
    applications: list[Application]
    stage_names: list[str]
    unavailable: dict[str, list[str]] = field(default_factory=dict)  # stage -> expert ids not available

    def expert_index(self, expert_id: str) -> int:
        for i, e in enumerate(self.experts):
            if e.expert_id == expert_id:
                return i
        raise UserError(f"unknown expert id {expert_id!r}")

    def application_index(self, application_id: str) -> int:
        for j, a in enumerate(self.applications):
            if a.application_id == application_id:
                return j
        raise UserError(f"unknown application id {application_id!r}")

    def stage_index(self, stage: str) -> int:
        if stage not in self.stage_names:
            raise UserError(f"unknown stage {stage!r}; stages are {', '.join(self.stage_names)}")
        return self.stage_names.index(stage)


def panel_rules(policy: Policy) -> PanelRules:
    r = policy.panel_rules
    return PanelRules(
        min_per_category=r.min_per_category,
        tech_industry_categories=r.tech_industry_indices,
        tech_industry_share=r.tech_industry_share,
        technical_category=r.technical_index,
        min_field_matched_technical=r.min_field_matched_technical,
        chair_required=r.chair_required,
        one_per_employer=policy.conflicts.one_per_employer_per_panel,
        allow_same_expert_across_stages=policy.stages.allow_same_expert_across_stages,
    )


def objective_weights(policy: Policy) -> ObjectiveWeights:
    o = policy.objective
    return ObjectiveWeights(affinity=o.affinity, load_balance=o.load_balance, soft_conflict=o.same_city,
                            continuity=o.continuity)


def build_problem(data: RoundData, conflicts: ConflictSet, policy: Policy,
                  stage_applications: dict[str, Iterable[str]] | None = None,
                  locks: Iterable[tuple[str, str, str]] = (), forbids: Iterable[tuple[str, str, str]] = (),
                  fixed: Iterable[tuple[str, str, str]] = (), continuity: Iterable[tuple[str, str, str]] = (),
                  affinity_weights: AffinityWeights = AffinityWeights(),
                  cache_dir=None, bars: Iterable[tuple[str, str, str]] = ()) -> PlanningInput:
    """`stage_applications`: stage -> application ids reviewed in it (default: every application
    of `data` in every stage). locks/forbids/fixed/continuity: (stage, expert_id, application_id).
    bars: rule P1 专家库资格 (expert id, field or "" for all, reason): the solver's `barred` pairs."""
    experts = list(data.experts)
    apps = list(data.applications)
    if not apps:
        raise UserError("no applications to plan panels for")
    if not experts:
        raise UserError("the expert pool is empty")
    if conflicts.expert_ids != [e.expert_id for e in experts] or conflicts.application_ids != [a.application_id for a in apps]:
        raise ValueError("conflicts were computed for other experts or applications")
    e_idx = {e.expert_id: i for i, e in enumerate(experts)}
    a_idx = {a.application_id: j for j, a in enumerate(apps)}
    cats = list(policy.panel_rules.categories)
    category = np.array([cats.index(e.category) for e in experts], dtype=np.int64)
    technical = category == policy.panel_rules.technical_index
    fm = field_match(experts, apps)
    fm = sp.csr_matrix(fm.multiply(technical[:, None]).astype(bool))
    can_chair = technical & np.array([e.title_level in policy.panel_rules.chair_title_levels for e in experts])
    if cache_dir is None:
        cache_dir = home.cache_dir()
    try:
        aff = affinity_matrix(experts, apps, affinity_weights, cache_dir=cache_dir)
    except OSError:  # a read-only home: compute without the cache
        aff = affinity_matrix(experts, apps, affinity_weights)
    excluded = conflicts.excluded_matrix()
    soft = conflicts.soft_matrix(policy.conflicts.soft_penalties())

    stage_names = list(policy.stages.order)
    base_rules = panel_rules(policy)
    stages, unavailable = [], {}
    for s in stage_names:
        ids = list(stage_applications[s]) if stage_applications and s in stage_applications else list(a_idx)
        unknown = [i for i in ids if i not in a_idx]
        if unknown:
            raise UserError(f"stage {s}: unknown application ids {', '.join(unknown)}")
        day = policy.stages.date_of(s)
        max_load = np.array([policy.panel_rules.max_load_per_stage if e.max_load is None else e.max_load
                             for e in experts], dtype=np.int64)
        if day is not None:
            off = np.array([not e.available_on(day) for e in experts])
            max_load[off] = 0
            unavailable[s] = [e.expert_id for e, o in zip(experts, off) if o]
        r = policy.stage_rules(s)
        rules = dataclasses.replace(base_rules, min_per_category=r["min_per_category"],
                                    tech_industry_share=r["tech_industry_share"],
                                    min_field_matched_technical=r["min_field_matched_technical"],
                                    chair_required=r["chair_required"])
        stages.append(StageSpec(s, policy.panel_size(s), np.array([a_idx[i] for i in ids], dtype=np.int64),
                                max_load, policy.panel_rules.min_load_per_stage, rules=rules))

    def seats(items: Iterable[tuple[str, str, str]], what: str) -> tuple:
        out = []
        for stage, expert_id, app_id in items:
            if stage not in stage_names:
                raise UserError(f"{what}: unknown stage {stage!r}")
            if expert_id not in e_idx:
                raise UserError(f"{what}: unknown expert id {expert_id!r}")
            if app_id not in a_idx:
                raise UserError(f"{what}: unknown application id {app_id!r}")
            out.append((stage_names.index(stage), e_idx[expert_id], a_idx[app_id]))
        return tuple(out)

    problem = PanelProblem(
        expert_category=category, category_names=tuple(cats), affinity=aff.toarray(), stages=tuple(stages),
        excluded=excluded, soft_penalty=soft, field_match=fm.toarray(),
        expert_employer=conflicts.employer_groups(), expert_can_chair=can_chair,
        rules=base_rules, weights=objective_weights(policy),
        locks=seats(locks, "lock"), forbids=seats(forbids, "forbid"), fixed=seats(fixed, "fixed seat"),
        continuity=seats(continuity, "continuity wish"),
        application_labels=tuple(f"{a.application_id} {a.name}" for a in apps),
        expert_labels=tuple(f"{e.expert_id} {e.name}" for e in experts),
        barred=barred_matrix(list(bars), [e.expert_id for e in experts], [a.field for a in apps]) if bars else None)
    return PlanningInput(problem, experts, apps, stage_names, unavailable)



def plan_from_panels(inp: PlanningInput, panels: pd.DataFrame) -> Plan:
    """A plan given as a panels table (stage, application_id, expert_id[, role]): a published
    assignment to repair, or an imported file to check with `solver.check_plan`. Chairs come from
    the `role` column when present (else the solver's chair rule picks them). The plan's `path` is
    "table" (it was read, not solved); its status FEASIBLE says nothing until it has been checked."""
    missing = [c for c in ("stage", "application_id", "expert_id") if c not in panels.columns]
    if missing:
        raise UserError(f"panels table: missing column(s) {missing}; expected stage, application_id, expert_id")
    stages = []
    load = np.zeros((len(inp.stage_names), len(inp.experts)), dtype=np.int64)
    for s, name in enumerate(inp.stage_names):
        rows = panels[panels["stage"].astype(str) == name]
        ex = np.array([inp.expert_index(str(e)) for e in rows["expert_id"]], dtype=np.int64)
        ap = np.array([inp.application_index(str(a)) for a in rows["application_id"]], dtype=np.int64)
        order = np.lexsort((ex, ap))
        ex, ap = ex[order], ap[order]
        if "role" in rows.columns and (rows["role"] == "chair").any():
            ch = rows[rows["role"] == "chair"]
            ca = np.array([inp.application_index(str(a)) for a in ch["application_id"]], dtype=np.int64)
            cc = np.array([inp.expert_index(str(e)) for e in ch["expert_id"]], dtype=np.int64)
        else:
            ca, cc = pick_chairs(inp.problem, s, ex, ap)
        stages.append(StagePlan(s, name, ex, ap, ca, cc))
        np.add.at(load[s], ex, 1)
    return Plan(FEASIBLE, TABLE_PATH, tuple(stages), expert_load=load)
