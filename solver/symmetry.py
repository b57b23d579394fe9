"""Identical experts solved as one class (issue 14 item 0: tie-heavy rounds proven optimal fast).

When many experts are interchangeable (a pool with copies, or experts who share category, employer,
fields, specialties and history), the plain model has a huge number of equivalent optima: the LP
optimum is fractional among the copies and the integer solve spends minutes permuting them. Here
experts identical in every datum the model reads — affinity row (and which pairs are candidates),
excluded / soft-penalty / field-match rows, category, chair eligibility, employer group, load bounds
of every stage — form a class; an expert named by a lock, forbid, fixed seat or continuity wish is a
class of its own. The aggregated model has one expert per class with m = its size:

* a seat (stage, class, application) takes up to m experts (1 under the employer rule: the members
  share their employer), stage independence lets a class take a pair in up to m stages in all;
* the class's load bounds are m times its members' and its load cost is that of the even split
  (the k-th unit of class load costs what the ceil(k / m)-th unit of one member's load costs).

Why the aggregated model gives a proven optimum of the original one:
* every original plan (integral or fractional) maps to an aggregated one of at least its value: sum
  the members' seats; the even split is the cheapest load split because the load cost is convex;
* every aggregated fractional solution maps back to an original one of the same value: divide each
  class seat and load evenly among the members (x / m <= 1; a member's fractional load cost is the
  same piecewise-linear interpolation); so the two LP relaxations have the same optimum, and any
  bound of the aggregated model (LP, Lagrangian, MIP dual bound) bounds the original one;
* every aggregated integral plan splits into an original plan of the same value (`split_seats`): for
  each class an equitable edge colouring (de Werra) of the bipartite multigraph applications x
  stage-chunks with m colours (members): each member takes an application at most once (in any
  stage, when stages are independent), and each member's load in a stage is floor or ceil of the
  class load / m — within its bounds, at the even split's cost.
So an aggregated optimum is an original optimum; the split plan then goes through the independent
checker (solver.check.check_plan) like every plan.

    expert_classes(problem) -> ExpertClasses
    aggregate(problem, classes) -> PanelProblem      one expert per class, loads times m
    split_seats(...)                                 the equitable colouring
    aggregated(problem, options) -> (classes, compiled aggregated problem) | None (no two experts alike)
    split_plan(problem, classes, comp, aggregated plan, t0) -> Plan | None   (None: no plan to split)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from .arrays import per_expert
from .check import check_plan
from .compile import Compiled, compile_problem
from .model import FEASIBLE, OPTIMAL, PanelProblem, Plan, SolveOptions, StagePlan
from .plans import pick_chairs


@dataclass(frozen=True)
class ExpertClasses:
    """of_expert[e]: class of expert e (classes numbered by their lowest expert); members[c]: the
    sorted experts of class c."""

    of_expert: np.ndarray
    members: tuple

    @property
    def mult(self) -> np.ndarray:
        return np.array([len(m) for m in self.members], dtype=np.int64)

    @property
    def reps(self) -> np.ndarray:
        return np.array([m[0] for m in self.members], dtype=np.int64)

    @property
    def trivial(self) -> bool:
        return len(self.members) == len(self.of_expert)


def _bits(values: np.ndarray) -> np.ndarray:
    """The values as uint64 words, equal exactly when the values are equal (-0.0 taken as 0.0)."""
    v = np.asarray(values)
    if v.dtype.kind == "f":
        return (v.astype(np.float64) + 0.0).view(np.uint64)
    return v.astype(np.int64).view(np.uint64)


def _row_keys(M, E: int) -> np.ndarray:
    """A 64-bit key per row of an (E, A) matrix, equal for equal rows: a weighted sum of the row's
    words (sparse: of its stored entries and their positions, so that which pairs are candidates counts
    too) in wrapping integer arithmetic, which does not depend on the order of summation. Different
    rows almost never share a key; `expert_classes` compares the rows of a shared key exactly."""
    if M is None:
        return np.zeros(E, dtype=np.int64)
    A = int(M.shape[1])
    rng = np.random.default_rng(20261203)
    w = rng.integers(1, 2**62, size=A, dtype=np.int64).view(np.uint64) | np.uint64(1)
    w2 = rng.integers(1, 2**62, size=A, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        if sp.issparse(M):
            M = sp.csr_matrix(M)
            ent = _bits(M.data) * w[M.indices] + w2[M.indices]
            cs = np.r_[np.uint64(0), np.cumsum(ent, dtype=np.uint64)]
            return (cs[M.indptr[1:]] - cs[M.indptr[:-1]]).view(np.int64)
        X = np.asarray(M)
        if X.ndim != 2 or A == 0:
            return np.zeros(E, dtype=np.int64)
        return (_bits(X) * w[None, :]).sum(axis=1, dtype=np.uint64).view(np.int64)


def _row_bytes(M, e: int) -> bytes:
    """The exact content of row e (sparse: its stored positions and values)."""
    if M is None:
        return b""
    if sp.issparse(M):
        row = sp.csr_matrix(M[e])
        row.sort_indices()
        return row.indices.astype(np.int64).tobytes() + b"|" + _bits(row.data).tobytes()
    return _bits(np.asarray(M)[e]).tobytes()


def expert_classes(problem: PanelProblem) -> ExpertClasses:
    """The classes of experts the model cannot tell apart (module docstring). Fast when all differ:
    row keys first; only experts sharing every key are compared row by row."""
    E = problem.n_experts
    feats = [np.asarray(problem.expert_category, dtype=np.int64),
             (np.asarray(problem.expert_can_chair, dtype=bool).astype(np.int64) if problem.expert_can_chair is not None
              else np.zeros(E, dtype=np.int64)),
             (np.asarray(problem.expert_employer, dtype=np.int64) if problem.expert_employer is not None
              else np.full(E, -1, dtype=np.int64))]
    for st in problem.stages:
        feats.append(per_expert(st.max_load, E, "max_load").astype(np.int64))
        feats.append(per_expert(st.min_load, E, "min_load").astype(np.int64))
    mats = (problem.affinity, problem.excluded, problem.soft_penalty, problem.field_match)
    for M in mats:
        feats.append(_row_keys(M, E))
    # an expert named by a seat rule is told apart from every other one
    own = np.full(E, -1, dtype=np.int64)
    for seats in (problem.locks, problem.forbids, problem.fixed, problem.continuity):
        for (_s, e, _a) in seats:
            own[int(e)] = int(e)
    feats.append(own)
    _, inv, cnt = np.unique(np.stack(feats, axis=1), axis=0, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    if len(cnt) == E:
        return ExpertClasses(np.arange(E, dtype=np.int64), tuple(np.arange(E, dtype=np.int64).reshape(E, 1)))
    # experts sharing every key: equal rows, checked exactly (a key collision splits the group)
    group = inv.copy()
    nxt = len(cnt)
    for g in np.nonzero(cnt > 1)[0].tolist():
        ids: dict = {}
        for e in np.nonzero(inv == g)[0].tolist():
            sub = ids.setdefault(tuple(_row_bytes(M, e) for M in mats), len(ids))
            if sub:
                group[e] = nxt + sub - 1
        nxt += max(0, len(ids) - 1)
    _, first, inv = np.unique(group, return_index=True, return_inverse=True)
    # number the classes by their lowest expert (deterministic, and the identity when all are distinct)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    of_expert = rank[inv.reshape(-1)]
    srt = np.argsort(of_expert, kind="stable")
    members = tuple(np.split(srt, np.cumsum(np.bincount(of_expert, minlength=len(order)))[:-1]))
    return ExpertClasses(of_expert, members)


def _rows(M, idx):
    if M is None:
        return None
    return sp.csr_matrix(M)[idx] if sp.issparse(M) else np.asarray(M)[idx]


def aggregate(problem: PanelProblem, classes: ExpertClasses) -> PanelProblem:
    """The problem with one expert per class (its lowest expert's data), load bounds times its size,
    seat rules renamed to the classes."""
    reps, mult = classes.reps, classes.mult
    E = problem.n_experts
    stages = tuple(replace(st, max_load=per_expert(st.max_load, E, "max_load")[reps].astype(np.int64) * mult,
                           min_load=per_expert(st.min_load, E, "min_load")[reps].astype(np.int64) * mult)
                   for st in problem.stages)
    cls = classes.of_expert

    def ren(seats):
        return tuple((int(s), int(cls[int(e)]), int(a)) for (s, e, a) in seats)

    labels = tuple(problem.expert_label(int(e)) for e in reps) if problem.expert_labels else ()
    return PanelProblem(
        expert_category=np.asarray(problem.expert_category)[reps], category_names=problem.category_names,
        affinity=_rows(problem.affinity, reps), stages=stages, excluded=_rows(problem.excluded, reps),
        soft_penalty=_rows(problem.soft_penalty, reps), field_match=_rows(problem.field_match, reps),
        expert_employer=None if problem.expert_employer is None else np.asarray(problem.expert_employer)[reps],
        expert_can_chair=None if problem.expert_can_chair is None else np.asarray(problem.expert_can_chair)[reps],
        rules=problem.rules, weights=problem.weights, locks=ren(problem.locks), forbids=ren(problem.forbids),
        fixed=ren(problem.fixed), continuity=ren(problem.continuity),
        application_labels=problem.application_labels, expert_labels=labels)


def edge_colouring(left: np.ndarray, right: np.ndarray, k: int) -> np.ndarray:
    """A proper edge colouring with k colours of the bipartite multigraph with edges (left[i],
    right[i]) (left and right vertex ids are separate ranges), every vertex of degree <= k (König):
    colour each edge in turn; when no colour is free at both ends, swap two colours along an
    alternating path (which cannot reach the other end, the graph being bipartite)."""
    n = len(left)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    nl = int(left.max()) + 1
    ends = np.stack([left, nl + right], axis=1).astype(np.int64)
    nv = nl + int(right.max()) + 1
    slot = np.full((nv, k), -1, dtype=np.int64)  # slot[v, c]: the edge of colour c at v
    colour = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        u, v = int(ends[i, 0]), int(ends[i, 1])
        a = int(np.argmax(slot[u] < 0))
        if slot[v, a] >= 0:
            b = int(np.argmax(slot[v] < 0))
            path, x, c = [], v, a  # the a/b path from v: swap a and b on it
            while slot[x, c] >= 0:
                e = int(slot[x, c])
                path.append(e)
                x = int(ends[e, 0] if ends[e, 1] == x else ends[e, 1])
                c = b if c == a else a
            for e in path:
                for w in ends[e]:
                    slot[w, colour[e]] = -1
            for e in path:
                colour[e] = b if colour[e] == a else a
                for w in ends[e]:
                    slot[w, colour[e]] = e
        colour[i] = a
        slot[u, a] = i
        slot[v, a] = i
    return colour


def split_seats(members: np.ndarray, stages: np.ndarray, apps: np.ndarray, independent: bool) -> np.ndarray:
    """The member of a class taking each of its seats (stage, application; a seat repeated for each
    member it takes): an equitable colouring (de Werra) — the seats of a stage, by application, cut
    into chunks of m; each chunk and each application (each (stage, application) when stages are not
    independent) gets distinct members. So a member sits on an application once (in one stage when
    independent) and every member's load in a stage is floor or ceil of the class's load / m."""
    m = len(members)
    if m == 1 or len(stages) == 0:
        return np.full(len(stages), members[0], dtype=np.int64)
    order = np.lexsort((apps, stages))
    s_o, a_o = stages[order], apps[order]
    _, left = np.unique(a_o if independent else s_o * (int(a_o.max()) + 1) + a_o, return_inverse=True)
    pos = np.arange(len(s_o)) - np.searchsorted(s_o, s_o)  # position within its stage
    _, right = np.unique(s_o * (len(s_o) + 1) + pos // m, return_inverse=True)
    col = edge_colouring(left.reshape(-1), right.reshape(-1), m)
    out = np.empty(len(stages), dtype=np.int64)
    out[order] = members[col]
    return out


# Share of the time limit the aggregated solve gets; the plain solve gets what is left if it finds no plan
AGGREGATED_TIME_SHARE = 0.7


def aggregated(problem: PanelProblem, options: SolveOptions) -> tuple[ExpertClasses, Compiled] | None:
    """(classes, the compiled aggregated problem) when two or more experts are identical, else None.
    The engine (solver.engine.solve) solves it and calls `split_plan`."""
    classes = expert_classes(problem)
    if classes.trivial:
        return None
    comp = compile_problem(aggregate(problem, classes), options.scale, options.stages)
    comp.mult = classes.mult
    return classes, comp


def split_plan(problem: PanelProblem, classes: ExpertClasses, comp: Compiled, ap: Plan, t0: float) -> Plan | None:
    """The aggregated plan `ap` split back to the experts, or None when it is no plan or the split
    plan fails the independent checker (it should not: the caller then solves the plain problem)."""
    if ap.status not in (OPTIMAL, FEASIBLE):
        return None
    independent = not problem.rules.allow_same_expert_across_stages and len(comp.solve_stages) > 1
    plan = _split_plan(problem, classes, comp, ap, independent)
    plan.info["symmetry"] = {"experts": problem.n_experts, "classes": len(classes.members),
                             "largest_class": int(classes.mult.max()), "aggregated_columns": comp.n_cols,
                             "split_seconds": plan.wall_time}
    if check_plan(problem, plan):
        return None
    return replace(plan, wall_time=time.perf_counter() - t0)


def _split_plan(problem: PanelProblem, classes: ExpertClasses, comp, ap: Plan, independent: bool) -> Plan:
    """The original problem's Plan of the aggregated plan `ap` (fixed stages as they are)."""
    t = time.perf_counter()
    S, E = len(problem.stages), problem.n_experts
    cls_s, cls_a, cls_c = [], [], []
    for s in comp.solve_stages:
        st = ap.stages[s]
        cls_s.append(np.full(len(st.experts), s, dtype=np.int64))
        cls_a.append(st.applications)
        cls_c.append(st.experts)
    cs = np.concatenate(cls_s) if cls_s else np.zeros(0, dtype=np.int64)
    ca = np.concatenate(cls_a) if cls_a else np.zeros(0, dtype=np.int64)
    cc = np.concatenate(cls_c) if cls_c else np.zeros(0, dtype=np.int64)
    expert = np.empty(len(cc), dtype=np.int64)
    for c in np.unique(cc).tolist():
        at = np.nonzero(cc == c)[0]
        expert[at] = split_seats(classes.members[c], cs[at], ca[at], independent)
    fixed = {}
    for (s, e, a) in problem.fixed:
        fixed.setdefault(int(s), []).append((int(e), int(a)))
    stages, load = [], np.zeros((S, E), dtype=np.int64)
    for s in range(S):
        if s in comp.solve_stages:
            ex, apps = expert[cs == s], ca[cs == s]
        elif s in fixed:
            ex = np.array([p[0] for p in fixed[s]], dtype=np.int64)
            apps = np.array([p[1] for p in fixed[s]], dtype=np.int64)
        else:
            ex = apps = np.zeros(0, dtype=np.int64)
        o = np.lexsort((ex, apps))
        ex, apps = ex[o], apps[o]
        chair_apps, chairs = pick_chairs(problem, s, ex, apps)
        stages.append(StagePlan(s, problem.stages[s].name, ex, apps, chair_apps, chairs))
        np.add.at(load[s], ex, 1)
    br = dict(ap.breakdown)
    if br:
        solved = list(comp.solve_stages)
        sq = float((load[solved].astype(np.float64) ** 2).sum())  # = the even split's, by the colouring
        w = problem.weights
        br["load_sq_sum"] = sq
        br["load_balance"] = -w.load_balance * sq
        br["total"] = br["affinity"] + br["load_balance"] + br["soft_conflict"] + br["continuity"]
    obj = br.get("total", float("nan"))
    gap = ap.gap if ap.status != OPTIMAL else 0.0
    if ap.status != OPTIMAL and np.isfinite(ap.bound) and np.isfinite(obj):
        gap = max(0.0, (ap.bound - obj) / max(1e-9, abs(ap.bound)))
    return Plan(ap.status, ap.path, tuple(stages), obj, ap.bound if ap.status != OPTIMAL else max(ap.bound, obj),
                gap, br, load, time.perf_counter() - t, ap.seed, None, (), dict(ap.info))
