"""Panel planning for a round: turns the domain records, conflicts and policy into the solver's
plain arrays (`solver.PanelProblem`), and the solver's `Plan` back into tables with ids and names.

The solver never sees a record; this module keeps the mapping between positions and ids.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reviewer.panels.affinity import AffinityWeights, affinity_matrix, field_match
from reviewer.conflicts.detector import ConflictSet
from reviewer import home
from reviewer.errors import UserError
from reviewer.intake.model import Application, Expert, RoundData
from reviewer.policy import Policy
from solver.model import ObjectiveWeights, PanelProblem, PanelRules, Plan, SolveOptions, StageSpec

ROLE_ZH = {"chair": "组长", "member": "成员"}


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
    cats = list(r.categories)
    return PanelRules(
        min_per_category=r.min_per_category,
        tech_industry_categories=tuple(cats.index(c) for c in r.tech_industry_categories),
        tech_industry_share=r.tech_industry_share,
        technical_category=cats.index("技术") if "技术" in cats else -1,
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
                  cache_dir=None) -> PlanningInput:
    """`stage_applications`: stage -> application ids reviewed in it (default: every application
    of `data` in every stage). locks/forbids/fixed/continuity: (stage, expert_id, application_id)."""
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
    technical = category == (cats.index("技术") if "技术" in cats else -1)
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
    penalties = {"C9": policy.conflicts.same_city_penalty}
    if not policy.conflicts.applicant_declared_hard:
        penalties["C6"] = 1.0
    soft = conflicts.soft_matrix(penalties)

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
        application_labels=tuple(f"{a.application_id} {a.name}" for a in apps))
    return PlanningInput(problem, experts, apps, stage_names, unavailable)


def solve_round(inp: PlanningInput, stages: Iterable[str] | None = None, seed: int = 0, time_limit: float = 30.0,
                progress: Callable[[dict], None] | None = None, workers: int = 2) -> Plan:
    from solver.engine import solve

    idx = tuple(inp.stage_index(s) for s in stages) if stages else None
    opts = SolveOptions(time_limit=time_limit, seed=seed, stages=idx, progress=progress, num_workers=workers,
                        deterministic=workers == 1)
    return solve(inp.problem, opts)


# ---------------------------------------------------------------- tables

def panels_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for r in plan.to_records(inp.problem):
        e, a = inp.experts[r["expert"]], inp.applications[r["application"]]
        rows.append({"stage": r["stage_name"], "application_id": a.application_id, "application_name": a.name,
                     "field": a.field, "lead_city": a.lead_city, "expert_id": e.expert_id, "expert_name": e.name,
                     "category": r["category_name"], "title_level": e.title_level, "employer": e.employer,
                     "expert_city": e.city, "role": r["role"], "role_zh": ROLE_ZH[r["role"]],
                     "affinity": round(r["affinity"], 4), "field_match": r["field_match"],
                     "same_city": r["soft_penalty"] > 0})
    cols = ["stage", "application_id", "application_name", "field", "lead_city", "expert_id", "expert_name",
            "category", "title_level", "employer", "expert_city", "role", "role_zh", "affinity", "field_match",
            "same_city"]
    df = pd.DataFrame(rows, columns=cols)
    if not df.empty:
        order = {s: i for i, s in enumerate(inp.stage_names)}
        df = df.sort_values(["stage", "application_id", "role", "category"],
                            key=lambda c: c.map(order) if c.name == "stage" else c, ignore_index=True)
    return df


def loads_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for r in plan.load_records():
        e = inp.experts[r["expert"]]
        rows.append({"stage": inp.stage_names[r["stage"]], "expert_id": e.expert_id, "expert_name": e.name,
                     "category": e.category, "employer": e.employer, "load": r["load"],
                     "max_load": int(np.asarray(inp.problem.stages[r["stage"]].max_load)[r["expert"]])
                     if np.ndim(inp.problem.stages[r["stage"]].max_load) else int(inp.problem.stages[r["stage"]].max_load)})
    return pd.DataFrame(rows, columns=["stage", "expert_id", "expert_name", "category", "employer", "load", "max_load"])


def summary_table(plan: Plan) -> pd.DataFrame:
    rows = [{"item": "status", "value": plan.status}, {"item": "path", "value": plan.path},
            {"item": "objective", "value": plan.objective}, {"item": "bound", "value": plan.bound},
            {"item": "gap", "value": plan.gap}, {"item": "wall_seconds", "value": round(plan.wall_time, 3)},
            {"item": "seed", "value": plan.seed}]
    rows += [{"item": f"objective.{k}", "value": v} for k, v in plan.breakdown.items()]
    if plan.path == "lp_randomized":  # what the draw was drawn from: the lottery and its guarantees
        rows += [{"item": f"draw.{k}", "value": plan.info[k]} for k in
                 ("q", "support", "plan_index", "expected_ratio", "max_marginal", "forced_above_q",
                  "lottery_build_seconds") if k in plan.info]
    return pd.DataFrame(rows)


def diagnostics_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for d in plan.diagnostics:
        rows.append({"rule": d.rule,
                     "stage": inp.stage_names[d.stage] if 0 <= d.stage < len(inp.stage_names) else "",
                     "application_id": inp.applications[d.application].application_id if d.application >= 0 else "",
                     "category": inp.problem.category_names[d.category] if d.category >= 0 else "",
                     "message_zh": d.message_zh, "message_en": d.message_en,
                     "counts": ", ".join(f"{k}={v}" for k, v in d.counts.items())})
    return pd.DataFrame(rows, columns=["rule", "stage", "application_id", "category", "message_zh", "message_en", "counts"])


def coverage_table(panels: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Experts per category per panel (the heatmap of the app), one row per stage x application."""
    if panels.empty:
        return pd.DataFrame(columns=["stage", "application_id", *categories])
    t = panels.pivot_table(index=["stage", "application_id"], columns="category", values="expert_id",
                           aggfunc="count", fill_value=0)
    return t.reindex(columns=categories, fill_value=0).reset_index()


# ---------------------------------------------------------------- a whole planning run

@dataclass
class PlanResult:
    inp: PlanningInput
    plan: Plan
    panels: pd.DataFrame
    loads: pd.DataFrame
    summary: pd.DataFrame
    diagnostics: pd.DataFrame
    coverage: pd.DataFrame
    stages: list[str]

    def write(self, out) -> list:
        from reviewer.exports import write_table

        paths = []
        if not self.panels.empty:
            paths += write_table(self.panels, out, "panels", "专家组")
            paths += write_table(self.loads, out, "expert_load", "专家负载")
            paths += write_table(self.coverage, out, "panel_coverage", "类别覆盖")
        paths += write_table(self.summary, out, "plan_summary", "求解概况")
        if not self.diagnostics.empty:
            paths += write_table(self.diagnostics, out, "plan_diagnostics", "无解原因")
        return paths

    def record(self) -> dict:
        p = self.plan
        return {"solver": {"status": p.status, "path": p.path, "objective": p.objective, "bound": p.bound,
                           "gap": p.gap, "wall_seconds": p.wall_time, "seed": p.seed},
                "objective_breakdown": {k: float(v) for k, v in p.breakdown.items()},
                "stages": self.stages, "seats": int(len(self.panels))}


def plan_round(data: RoundData, policy: Policy, stages: list[str] | None = None, seed: int = 0,
               randomize: bool = False, time_limit: float = 30.0, include_review: bool = False,
               locks=(), forbids=(), fixed=(), echo: Callable[[str], None] = lambda s: None,
               screening=None, conflicts: ConflictSet | None = None) -> PlanResult:
    """Screen, find conflicts, build the problem for the eligible applications and solve it."""
    from reviewer.conflicts.detector import detect_conflicts
    from reviewer.screening.eligibility import screen

    screening = screening if screening is not None else screen(data, policy)
    eligible = screening.eligible_ids(include_review=include_review)
    if not eligible:
        raise UserError("no application passed screening, so there is nothing to plan "
                        "(use --include-review to plan those that need review)")
    conflicts = conflicts if conflicts is not None else detect_conflicts(data, policy)
    stages = list(stages or policy.stages.order)
    for s in stages:
        if s not in policy.stages.order:
            raise UserError(f"unknown stage {s!r}; stages are {', '.join(policy.stages.order)}")
    inp = build_problem(data, conflicts, policy, stage_applications={s: eligible for s in policy.stages.order},
                        locks=locks, forbids=forbids, fixed=fixed)
    echo(f"专家组 Planning {', '.join(stages)}: {len(eligible)} applications, {len(inp.experts)} experts, "
         f"{int(inp.problem.excluded.sum())} excluded pairs, seed {seed}"
         + (", 随机抽取 random draw" if randomize else ""))

    def progress(info: dict) -> None:
        echo(f"  … solution {info.get('solutions', '?')}: objective {info.get('objective', float('nan')):.1f}, "
             f"bound {info.get('bound', float('nan')):.1f}, {info.get('wall_time', 0):.1f}s")

    if randomize:
        plan = draw_round(inp, stages, seed, policy.random_draw.max_pair_probability, time_limit)
    else:
        plan = solve_round(inp, stages=stages, seed=seed, time_limit=time_limit, progress=progress)
    panels = panels_table(inp, plan)
    result = PlanResult(inp, plan, panels, loads_table(inp, plan), summary_table(plan), diagnostics_table(inp, plan),
                        coverage_table(panels, list(policy.panel_rules.categories)), stages)
    if plan.feasible:
        # A draw is every rule met by construction, not an optimality claim: say "drawn", not OPTIMAL.
        what = (f"随机抽取 DRAWN (lottery built in {plan.info.get('lottery_build_seconds', 0):.1f}s)"
                if plan.path == "lp_randomized" else plan.status)
        echo(f"  {what} via {plan.path} in {plan.wall_time:.2f}s: {len(panels)} seats, objective "
             f"{plan.objective:.1f} " + (f"(random draw {plan.info.get('plan_index', 0) + 1} of "
                                         f"{plan.info.get('support', '?')} plans, expected objective "
                                         f"{plan.info.get('expected_ratio', float('nan')):.2%} of the optimum, max "
                                         f"seat probability {plan.info.get('max_marginal', float('nan')):.3f}); "
                                         if plan.path == "lp_randomized" else f"(gap {plan.gap:.4%}); ")
             + ", ".join(f"{k} {v:.1f}" for k, v in plan.breakdown.items() if k in ("affinity", "load_balance",
                                                                                    "soft_conflict", "continuity")))
    else:
        echo(f"  无可行方案 NO PLAN ({plan.status}). 原因 Why:")
        for _, d in result.diagnostics.iterrows():
            echo(f"   - {d['message_zh']} / {d['message_en']}")
    return result


def draw_round(inp: PlanningInput, stages: list[str], seed: int, q: float, time_limit: float,
               cache_dir=None) -> Plan:
    """随机抽取: one random draw with every seat's probability capped at q. The solver builds a
    lottery over feasible plans (every plan meets every hard rule) and draws one from the seed:
    the same inputs, q and seed give the same plan."""
    from solver.randomized import build_lottery

    idx = tuple(inp.stage_index(s) for s in stages)
    if cache_dir is None:
        cache_dir = home.cache_dir()
    # The lottery depends on the problem and q, not on the seed: cached, a new draw is instant.
    lottery = build_lottery(inp.problem, q=q, options=SolveOptions(stages=idx, seed=0),
                            time_limit=max(time_limit, 1.0), cache_dir=cache_dir)
    if isinstance(lottery, Plan):  # no feasible plan: the deterministic diagnostics explain why
        return lottery
    return lottery.draw(seed)


@dataclass
class RepairResult:
    plan: Plan
    panels: pd.DataFrame
    changes: pd.DataFrame       # seats dropped and added, with names
    alternates: pd.DataFrame    # 候补: ranked alternates per panel
    changed_seats: int


def repair_round(inp: PlanningInput, plan: Plan, removed: Iterable[tuple[str, str, str | None]],
                 time_limit: float = 30.0) -> RepairResult:
    """Replace experts who declined or were found conflicted, changing as few other seats as
    possible. `removed`: (stage, expert_id, application_id or None for the whole stage)."""
    from solver.repair import repair

    seats = []
    for stage, expert_id, app_id in removed:
        seats.append((inp.stage_index(stage), inp.expert_index(expert_id),
                      -1 if app_id in (None, "") else inp.application_index(app_id)))
    new, info = repair(inp.problem, plan, seats, SolveOptions(time_limit=time_limit))
    if not new.feasible:
        raise UserError("no replacement keeps every rule: "
                        + "; ".join(d.message_en for d in new.diagnostics) if new.diagnostics else
                        "no replacement keeps every rule")
    rows = []
    for what, items in (("dropped", info.get("dropped", [])), ("added", info.get("added", []))):
        for s, e, a in items:
            ex, ap = inp.experts[e], inp.applications[a]
            rows.append({"change": what, "change_zh": "撤出" if what == "dropped" else "补入",
                         "stage": inp.stage_names[s], "application_id": ap.application_id,
                         "expert_id": ex.expert_id, "expert_name": ex.name, "category": ex.category})
    alt_rows = []
    for panel in info.get("alternates", []):
        for rank, alt in enumerate(panel["alternates"], start=1):
            ex = inp.experts[alt["expert"]]
            alt_rows.append({"stage": inp.stage_names[panel["stage"]],
                             "application_id": inp.applications[panel["application"]].application_id,
                             "rank": rank, "expert_id": ex.expert_id, "expert_name": ex.name,
                             "category": ex.category, "affinity": round(float(alt["affinity"]), 4),
                             "can_replace": ",".join(inp.experts[m].expert_id for m in alt["can_replace"])})
    return RepairResult(new, panels_table(inp, new), pd.DataFrame(rows, columns=[
        "change", "change_zh", "stage", "application_id", "expert_id", "expert_name", "category"]),
        pd.DataFrame(alt_rows, columns=["stage", "application_id", "rank", "expert_id", "expert_name", "category",
                                        "affinity", "can_replace"]), int(info.get("changed_seats", 0)))


def plan_from_panels(inp: PlanningInput, panels: pd.DataFrame) -> Plan:
    """A published plan read back from its panels table (stage, application_id, expert_id[, role]),
    for repair or checking. Chairs come from the `role` column when present."""
    from solver.engine import pick_chairs
    from solver.model import FEASIBLE, StagePlan

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
    return Plan(FEASIBLE, "published", tuple(stages), expert_load=load)


def repair_published(data: RoundData, policy: Policy, panels: pd.DataFrame,
                     removed: Iterable[tuple[str, str, str | None]], time_limit: float = 30.0,
                     locks=(), forbids=(), conflicts: ConflictSet | None = None) -> tuple[PlanResult, RepairResult]:
    """Repair a plan given as its panels table (every stage that has seats): the seats of `removed`
    experts are refilled with the fewest changes to all other seats (solver.repair). Returns the
    repaired plan as a PlanResult (the same tables as a planning run) and the repair details."""
    from reviewer.conflicts.detector import detect_conflicts

    conflicts = conflicts if conflicts is not None else detect_conflicts(data, policy)
    every = sorted(set(panels["application_id"].astype(str)))
    stage_apps = {s: sorted(set(panels.loc[panels["stage"].astype(str) == s, "application_id"].astype(str))) or every
                  for s in policy.stages.order}
    inp = build_problem(data, conflicts, policy, stage_applications=stage_apps, locks=locks, forbids=forbids)
    res = repair_round(inp, plan_from_panels(inp, panels), removed, time_limit=time_limit)
    stages = [s for s in policy.stages.order if (panels["stage"].astype(str) == s).any()]
    result = PlanResult(inp, res.plan, res.panels, loads_table(inp, res.plan), summary_table(res.plan),
                        diagnostics_table(inp, res.plan),
                        coverage_table(res.panels, list(policy.panel_rules.categories)), stages)
    return result, res
