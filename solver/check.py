"""Independent checker: recomputes every hard rule from the PanelProblem and the plan's seats.

Deliberately written with plain loops over panels (no shared code with the model) so that it can
catch modelling mistakes.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import scipy.sparse as sp

from .model import PanelProblem, Plan, Violation


def _cell(M, e, a, default):
    if M is None:
        return default
    if sp.issparse(M):
        return M[e, a]
    return np.asarray(M)[e, a]


def check_plan(problem: PanelProblem, plan: Plan, stages=None) -> list:
    """List of Violation for every hard rule the plan breaks (empty list = valid).

    `stages`: stage indices to check (default: every stage of the problem with at least one seat
    in the plan, plus every stage the plan says it solved).
    """
    v = []
    r = problem.rules
    E, A = problem.n_experts, problem.n_applications
    cat = np.asarray(problem.expert_category)
    emp = None if problem.expert_employer is None else np.asarray(problem.expert_employer)
    chair_ok = None if problem.expert_can_chair is None else np.asarray(problem.expert_can_chair)
    K = len(problem.category_names)
    aff_csr = problem.affinity.tocsr() if sp.issparse(problem.affinity) else None
    exc = problem.excluded.tocsr() if sp.issparse(problem.excluded) else problem.excluded
    fm = problem.field_match.tocsr() if sp.issparse(problem.field_match) else problem.field_match
    by_stage = {sp_.stage: sp_ for sp_ in plan.stages}
    if stages is None:
        stages = sorted(s for s, x in by_stage.items() if len(x.experts) > 0)
    seat_stages = defaultdict(list)  # (e, a) -> stages
    for s in stages:
        st = problem.stages[s]
        rs = st.rules if st.rules is not None else r
        minc = np.asarray(rs.min_per_category)
        minc = np.full(K, int(minc)) if minc.ndim == 0 else minc
        maxc = None
        if rs.max_per_category is not None:
            maxc = np.asarray(rs.max_per_category)
            maxc = np.full(K, int(maxc)) if maxc.ndim == 0 else maxc
        spn = by_stage.get(s)
        ex = [] if spn is None else spn.experts.tolist()
        ap = [] if spn is None else spn.applications.tolist()
        n = int(st.panel_size)
        apps = set(int(a) for a in np.asarray(st.applications).tolist())
        panels = defaultdict(list)
        for e, a in zip(ex, ap):
            panels[a].append(e)
            seat_stages[(e, a)].append(s)
        mx = np.broadcast_to(np.asarray(st.max_load), (E,))
        mn = np.broadcast_to(np.asarray(st.min_load), (E,))
        load = Counter(ex)
        for e in range(E):
            if load[e] > int(mx[e]):
                v.append(Violation("expert_load", s, -1, e, f"load {load[e]} > max {int(mx[e])}"))
            if load[e] < int(mn[e]):
                v.append(Violation("expert_load", s, -1, e, f"load {load[e]} < min {int(mn[e])}"))
        for a in panels:
            if a not in apps:
                v.append(Violation("panel_size", s, a, -1, "seats on an application not in this stage"))
        for a in sorted(apps):
            members = panels.get(a, [])
            if len(members) != n:
                v.append(Violation("panel_size", s, a, -1, f"{len(members)} experts, need {n}"))
            if len(set(members)) != len(members):
                v.append(Violation("panel_size", s, a, -1, "an expert sits twice on the panel"))
            for e in members:
                if exc is not None and bool(_cell(exc, e, a, False)):
                    v.append(Violation("excluded_pairs", s, a, e, "excluded pair"))
                if aff_csr is not None:
                    row = aff_csr.indices[aff_csr.indptr[e]:aff_csr.indptr[e + 1]]
                    if a not in set(row.tolist()) and (s, e, a) not in set(map(tuple, problem.locks)):
                        v.append(Violation("excluded_pairs", s, a, e, "pair absent from the sparse affinity"))
            cc = Counter(int(cat[e]) for e in members)
            for c in range(K):
                if cc[c] < int(minc[c]):
                    v.append(Violation("category_coverage", s, a, -1,
                                       f"{cc[c]} of category {problem.category_names[c]}, need {int(minc[c])}"))
                if maxc is not None and cc[c] > int(maxc[c]):
                    v.append(Violation("category_coverage", s, a, -1,
                                       f"{cc[c]} of category {problem.category_names[c]}, max {int(maxc[c])}"))
            if r.tech_industry_categories and rs.tech_industry_share > 0:
                need = math.ceil(rs.tech_industry_share * n - 1e-9)
                got = sum(cc[int(c)] for c in r.tech_industry_categories)
                if got < need:
                    v.append(Violation("tech_industry_share", s, a, -1, f"{got} tech+industry, need {need}"))
            tech = int(r.technical_category)
            matched = [e for e in members if tech >= 0 and int(cat[e]) == tech and bool(_cell(fm, e, a, False))]
            if tech >= 0 and len(matched) < int(rs.min_field_matched_technical):
                v.append(Violation("field_matched_technical", s, a, -1,
                                   f"{len(matched)} field-matched technical, need {rs.min_field_matched_technical}"))
            if rs.chair_required and tech >= 0:
                ch = spn.chair_of(a) if spn is not None else -1
                ok = (ch in members and ch in matched and chair_ok is not None and bool(chair_ok[ch]))
                if not ok:
                    v.append(Violation("chair", s, a, ch, "no valid chair (senior, technical, field-matched, on the panel)"))
            if r.one_per_employer and emp is not None:
                ce = Counter(int(emp[e]) for e in members if int(emp[e]) >= 0)
                for g, k in ce.items():
                    if k > 1:
                        v.append(Violation("one_per_employer", s, a, -1, f"{k} experts of employer {g}"))
        for (s2, e, a) in problem.locks:
            if int(s2) == s and e not in panels.get(int(a), []):
                v.append(Violation("locks_and_forbids", s, int(a), int(e), "locked seat missing"))
        for (s2, e, a) in problem.forbids:
            if int(s2) == s and e in panels.get(int(a), []):
                v.append(Violation("locks_and_forbids", s, int(a), int(e), "forbidden seat used"))
    if not r.allow_same_expert_across_stages:
        for (s, e, a) in problem.fixed:
            if int(s) not in stages:
                seat_stages[(int(e), int(a))].append(int(s))
        for (e, a), ss in seat_stages.items():
            if len(set(ss)) > 1:
                v.append(Violation("stage_independence", min(ss), a, e, f"same expert on the application in stages {sorted(set(ss))}"))
    return v
