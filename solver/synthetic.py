"""Seeded synthetic PanelProblems (tests and benchmarks only; no file access)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .model import ObjectiveWeights, PanelProblem, PanelRules, StageSpec

CATEGORIES = ("经济", "技术", "产业", "管理", "金融")
TECH, INDUSTRY = 1, 2


def five_person_rules() -> PanelRules:
    """Bounds used for 5-person panels: SPEC §5 read literally needs >= 6 experts for a panel of 5
    (one per category + tech/industry >= 3 + >= 2 matched technical), so a 5-person panel keeps one
    expert of each category, technical+industry >= 2 and >= 1 field-matched technical (the chair)."""
    return PanelRules(min_per_category=1, tech_industry_share=0.4, min_field_matched_technical=1,
                      chair_required=True)


def guangxi_rules(allow_same=False) -> PanelRules:
    """The SPEC §5 defaults."""
    return PanelRules(min_per_category=1, tech_industry_categories=(TECH, INDUSTRY), tech_industry_share=0.5,
                      technical_category=TECH, min_field_matched_technical=2, chair_required=True,
                      one_per_employer=True, allow_same_expert_across_stages=allow_same)


def guangxi_round(n_apps=150, n_experts=3000, stage_apps=(150, 60, 20), panel_sizes=(5, 5, 7), seed=0,
                  n_fields=None, exclusion_rate=0.03, max_load=6, shared_employer_share=0.4,
                  weights: ObjectiveWeights | None = None, rules: PanelRules | None = None,
                  relax_small_panels=True) -> PanelProblem:
    """A round shaped like a Guangxi selection: 5 categories, field-matched technical experts,
    chairs, shared employers, ~3% exclusions, same-city soft penalties, three nested stages."""
    rng = np.random.default_rng(seed)
    E, A = n_experts, n_apps
    n_fields = n_fields or max(3, min(12, E // 100))
    cat = rng.choice(5, size=E, p=[0.14, 0.36, 0.24, 0.12, 0.14])
    app_field = rng.integers(n_fields, size=A)
    spec1 = rng.integers(n_fields, size=E)
    spec2 = np.where(rng.random(E) < 0.5, rng.integers(n_fields, size=E), spec1)
    fm = (cat[:, None] == TECH) & ((spec1[:, None] == app_field[None, :]) | (spec2[:, None] == app_field[None, :]))
    can_chair = (cat == TECH) & (rng.random(E) < 0.4)
    emp = np.full(E, -1, dtype=np.int64)
    shared = rng.random(E) < shared_employer_share
    n_groups = max(1, int(shared.sum() // 3))
    emp[shared] = rng.integers(n_groups, size=int(shared.sum()))
    text = rng.beta(1.2, 4.0, size=(E, A))
    sector = rng.integers(n_fields, size=E)
    aff = 0.35 * text + 0.15 * (sector[:, None] == app_field[None, :]) + 0.5 * fm
    aff = np.round(aff, 4)
    excluded = rng.random((E, A)) < exclusion_rate
    city_e = rng.integers(14, size=E)
    city_a = rng.integers(14, size=A)
    soft = (city_e[:, None] == city_a[None, :]).astype(np.float64)
    apps = np.arange(A)
    stages = []
    names = ("初审评估", "现场考察", "认定评审")
    current = apps
    for k, (na, n) in enumerate(zip(stage_apps, panel_sizes)):
        if k > 0:
            current = np.sort(rng.choice(current, size=min(na, len(current)), replace=False))
        else:
            current = apps[:na]
        stages.append(StageSpec(names[k % 3], int(n), current, max_load, 0,
                                five_person_rules() if (n < 6 and relax_small_panels) else None))
    return PanelProblem(expert_category=cat, category_names=CATEGORIES, affinity=aff, stages=tuple(stages),
                        excluded=excluded, soft_penalty=soft, field_match=fm, expert_employer=emp,
                        expert_can_chair=can_chair, rules=rules or guangxi_rules(),
                        weights=weights or ObjectiveWeights())


def small_random(rng: np.random.Generator, E=None, A=None, n_stages=None, rules_on=True) -> PanelProblem:
    """Small random instance for property tests (usually, not always, feasible)."""
    E = E or int(rng.integers(40, 70))
    A = A or int(rng.integers(3, 8))
    n_stages = n_stages or int(rng.integers(1, 4))
    sizes = [5, 5, 7][:n_stages]
    stage_apps = [A, max(1, A // 2), max(1, A // 3)][:n_stages]
    p = guangxi_round(A, E, tuple(stage_apps), tuple(sizes), seed=int(rng.integers(1 << 30)), n_fields=3,
                      exclusion_rate=0.05, max_load=int(rng.integers(2, 5)), shared_employer_share=0.5)
    if not rules_on:
        p = replace(p, rules=PanelRules(allow_same_expert_across_stages=bool(rng.random() < 0.5)),
                    stages=tuple(replace(s, rules=None) for s in p.stages))
    return p
