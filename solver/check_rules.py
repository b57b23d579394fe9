"""The independent checker's rules: one function per hard-rule family, recomputed from the
PanelProblem and a plan's seats.

Deliberately written with plain loops over panels and no code shared with the model (compile,
CP-SAT, LP, flow), so that it can catch modelling mistakes. Each function yields
(stage, application, expert, message) for every breach; it does not know its family's name:
`solver.check.check_plan` runs the checker of every family of the registry and names them.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .model import PanelProblem, PanelRules, Plan, StagePlan


def _cell(M, e, a, default):
    if M is None:
        return default
    if sp.issparse(M):
        return M[e, a]
    return np.asarray(M)[e, a]


def _per_category(x, K):
    arr = np.asarray(x)
    return np.full(K, int(arr)) if arr.ndim == 0 else arr


@dataclass
class StageView:
    """One checked stage: its numeric rules and the plan's panels (application -> members)."""

    stage: int
    rules: PanelRules
    size: int
    applications: list  # sorted application indices of the stage
    panels: dict  # application -> members, in plan order (also applications outside the stage)
    seats: StagePlan | None
    max_load: np.ndarray
    min_load: np.ndarray
    min_per_category: np.ndarray
    max_per_category: np.ndarray | None


@dataclass
class PlanView:
    problem: PanelProblem
    stages: list  # StageView of every checked stage
    seat_stages: dict = field(default_factory=dict)  # (expert, application) -> checked stages with that seat
    field_match: object = None  # problem.field_match, as CSR when sparse

    @property
    def rules(self) -> PanelRules:
        return self.problem.rules

    def panels(self):
        """(StageView, application, members) of every panel the stages must have."""
        for sv in self.stages:
            for a in sv.applications:
                yield sv, a, sv.panels.get(a, [])

    def matched_technical(self, members, a) -> list:
        """Members that are technical and match application a's field."""
        tech = int(self.rules.technical_category)
        cat = np.asarray(self.problem.expert_category)
        return [e for e in members if tech >= 0 and int(cat[e]) == tech and bool(_cell(self.field_match, e, a, False))]


def plan_view(problem: PanelProblem, plan: Plan, stages=None) -> PlanView:
    """`stages`: stage indices to check (default: every stage with at least one seat in the plan)."""
    E, K = problem.n_experts, len(problem.category_names)
    by_stage = {sp_.stage: sp_ for sp_ in plan.stages}
    if stages is None:
        stages = sorted(s for s, x in by_stage.items() if len(x.experts) > 0)
    fm = problem.field_match
    view = PlanView(problem, [], field_match=fm.tocsr() if sp.issparse(fm) else fm)
    seat_stages = defaultdict(list)
    for s in stages:
        st = problem.stages[s]
        rs = st.rules if st.rules is not None else problem.rules
        spn = by_stage.get(s)
        panels = defaultdict(list)
        for e, a in zip([] if spn is None else spn.experts.tolist(), [] if spn is None else spn.applications.tolist()):
            panels[a].append(e)
            seat_stages[(e, a)].append(s)
        view.stages.append(StageView(
            s, rs, int(st.panel_size), sorted(set(int(a) for a in np.asarray(st.applications).tolist())), panels, spn,
            np.broadcast_to(np.asarray(st.max_load), (E,)), np.broadcast_to(np.asarray(st.min_load), (E,)),
            _per_category(rs.min_per_category, K),
            None if rs.max_per_category is None else _per_category(rs.max_per_category, K)))
    view.seat_stages = dict(seat_stages)
    return view


def excluded_pairs(view: PlanView):
    p = view.problem
    exc = p.excluded.tocsr() if sp.issparse(p.excluded) else p.excluded
    aff_csr = p.affinity.tocsr() if sp.issparse(p.affinity) else None
    locks = set(map(tuple, p.locks))
    for sv, a, members in view.panels():
        for e in members:
            if exc is not None and bool(_cell(exc, e, a, False)):
                yield sv.stage, a, e, "excluded pair"
            if aff_csr is not None:
                row = aff_csr.indices[aff_csr.indptr[e]:aff_csr.indptr[e + 1]]
                if a not in set(row.tolist()) and (sv.stage, e, a) not in locks:
                    yield sv.stage, a, e, "pair absent from the sparse affinity"


def pool_standing(view: PlanView):
    """Seats of experts the pool's standing bars from the pair (credit penalty, rotation limit)."""
    p = view.problem
    if p.barred is None:
        return
    bar = p.barred.tocsr() if sp.issparse(p.barred) else p.barred
    for sv, a, members in view.panels():
        for e in members:
            if bool(_cell(bar, e, a, False)):
                yield sv.stage, a, e, "expert barred by the pool standing (credit penalty or rotation limit)"


def panel_size(view: PlanView):
    for sv in view.stages:
        in_stage = set(sv.applications)
        for a in sv.panels:
            if a not in in_stage:
                yield sv.stage, a, -1, "seats on an application not in this stage"
        for a in sv.applications:
            members = sv.panels.get(a, [])
            if len(members) != sv.size:
                yield sv.stage, a, -1, f"{len(members)} experts, need {sv.size}"
            if len(set(members)) != len(members):
                yield sv.stage, a, -1, "an expert sits twice on the panel"


def category_coverage(view: PlanView):
    p = view.problem
    cat = np.asarray(p.expert_category)
    for sv, a, members in view.panels():
        cc = Counter(int(cat[e]) for e in members)
        for c in range(len(p.category_names)):
            if cc[c] < int(sv.min_per_category[c]):
                yield sv.stage, a, -1, f"{cc[c]} of category {p.category_names[c]}, need {int(sv.min_per_category[c])}"
            if sv.max_per_category is not None and cc[c] > int(sv.max_per_category[c]):
                yield sv.stage, a, -1, f"{cc[c]} of category {p.category_names[c]}, max {int(sv.max_per_category[c])}"


def tech_industry_share(view: PlanView):
    r = view.rules
    cat = np.asarray(view.problem.expert_category)
    for sv, a, members in view.panels():
        if r.tech_industry_categories and sv.rules.tech_industry_share > 0:
            need = math.ceil(sv.rules.tech_industry_share * sv.size - 1e-9)
            cc = Counter(int(cat[e]) for e in members)
            got = sum(cc[int(c)] for c in r.tech_industry_categories)
            if got < need:
                yield sv.stage, a, -1, f"{got} tech+industry, need {need}"


def field_matched_technical(view: PlanView):
    if int(view.rules.technical_category) < 0:
        return
    for sv, a, members in view.panels():
        matched = view.matched_technical(members, a)
        if len(matched) < int(sv.rules.min_field_matched_technical):
            yield (sv.stage, a, -1,
                   f"{len(matched)} field-matched technical, need {sv.rules.min_field_matched_technical}")


def chair(view: PlanView):
    if int(view.rules.technical_category) < 0:
        return
    can_chair = view.problem.expert_can_chair
    chair_ok = None if can_chair is None else np.asarray(can_chair)
    for sv, a, members in view.panels():
        if not sv.rules.chair_required:
            continue
        ch = sv.seats.chair_of(a) if sv.seats is not None else -1
        ok = (ch in members and ch in view.matched_technical(members, a) and chair_ok is not None
              and bool(chair_ok[ch]))
        if not ok:
            yield sv.stage, a, ch, "no valid chair (senior, technical, field-matched, on the panel)"
        n_chairs = int(np.sum(np.asarray(sv.seats.chair_applications) == a)) if sv.seats is not None else 0
        if n_chairs > 1:   # one 组长 per panel: a second one (e.g. from a panels file) is no chair rule kept
            yield sv.stage, a, -1, f"{n_chairs} chairs (组长) on the panel, need exactly 1"


def one_per_employer(view: PlanView):
    if not view.rules.one_per_employer or view.problem.expert_employer is None:
        return
    emp = np.asarray(view.problem.expert_employer)
    for sv, a, members in view.panels():
        ce = Counter(int(emp[e]) for e in members if int(emp[e]) >= 0)
        for g, k in ce.items():
            if k > 1:
                yield sv.stage, a, -1, f"{k} experts of employer {g}"


def expert_load(view: PlanView):
    for sv in view.stages:
        load = Counter(e for members in sv.panels.values() for e in members)
        for e in range(view.problem.n_experts):
            if load[e] > int(sv.max_load[e]):
                yield sv.stage, -1, e, f"load {load[e]} > max {int(sv.max_load[e])}"
            if load[e] < int(sv.min_load[e]):
                yield sv.stage, -1, e, f"load {load[e]} < min {int(sv.min_load[e])}"


def locks_and_forbids(view: PlanView):
    p = view.problem
    for sv in view.stages:
        for (s2, e, a) in p.locks:
            if int(s2) == sv.stage and e not in sv.panels.get(int(a), []):
                yield sv.stage, int(a), int(e), "locked seat missing"
        for (s2, e, a) in p.forbids:
            if int(s2) == sv.stage and e in sv.panels.get(int(a), []):
                yield sv.stage, int(a), int(e), "forbidden seat used"


def stage_independence(view: PlanView):
    if view.rules.allow_same_expert_across_stages:
        return
    checked = {sv.stage for sv in view.stages}
    seat_stages = defaultdict(list, {k: list(v) for k, v in view.seat_stages.items()})
    for (s, e, a) in view.problem.fixed:
        if int(s) not in checked:
            seat_stages[(int(e), int(a))].append(int(s))
    for (e, a), ss in seat_stages.items():
        if len(set(ss)) > 1:
            yield min(ss), a, e, f"same expert on the application in stages {sorted(set(ss))}"
