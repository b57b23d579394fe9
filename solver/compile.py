"""Turn a PanelProblem into flat arrays shared by every solver path.

A *column* is a candidate seat (stage, expert, application). Each panel (stage, application)
has the same small tree of counting constraints (the "template"):

    root (panel_size, exact)
     +-- tech_industry group (>= ceil(share*n))  -- holds the 技术/产业 category nodes
     +-- category c (>= min_per_category[c], <= max)   for every category
           technical category node:
             +-- unmatched technical leaf
             +-- matched technical node (>= min_field_matched_technical)
                   +-- matched, not chair-eligible leaf
                   +-- chair-eligible leaf (>= 1 if chair_required)

Every column falls in exactly one leaf; a constraint on a node counts the columns of the leaves
below it. The family is laminar, so together with the per-expert load it is a network flow;
the employer rule and stage independence are the only families that can break that.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .arrays import per_category, per_expert, values_at
from .model import PanelProblem

# Why a locked seat cannot become a column (compile_problem's `bad_locks`; the diagnostics word it).
LOCK_NOT_IN_STAGE = "application_not_in_stage"
LOCK_UNAVAILABLE = "expert_unavailable"
LOCK_FORBIDDEN = "seat_forbidden"
LOCK_EXCLUDED = "pair_excluded"
LOCK_OTHER_STAGE = "pair_in_other_stage"
LOCK_BARRED = "expert_barred_by_pool"


@dataclass
class Template:
    """The counting tree of every panel. Node indices: 0 = panel (root), TI = technical+industry
    group, 2 + c = category c, then MATCHED, CHAIR, UNMATCHED, MATCHED_OTHER (technical split).
    Which hard-rule family bounds which node is solver.families' business (`tree_nodes`)."""

    names: list
    parent: np.ndarray
    category: np.ndarray  # category of a category node, else -1
    lb: np.ndarray  # [S, T]
    ub: np.ndarray  # [S, T]
    leaf_anc: dict  # leaf node -> list of ancestor nodes (leaf first, root last)
    n_cat: int
    TI: int = 1
    MATCHED: int = -1
    CHAIR: int = -1
    UNMATCHED: int = -1
    MATCHED_OTHER: int = -1

    @property
    def T(self):
        return len(self.names)


def build_template(problem: PanelProblem) -> Template:
    K = len(problem.category_names)
    r = problem.rules
    S = len(problem.stages)
    names = ["panel", "tech_industry"] + [f"category:{c}" for c in range(K)] + [
        "matched_technical", "chair_eligible", "technical_unmatched", "matched_not_chair"]
    MATCHED, CHAIR, UNM, MO = 2 + K, 3 + K, 4 + K, 5 + K
    T = 6 + K
    tech = int(r.technical_category)
    ti = set(int(c) for c in r.tech_industry_categories)
    parent = np.full(T, -1, dtype=np.int64)
    parent[1] = 0
    for c in range(K):
        parent[2 + c] = 1 if c in ti else 0
    if tech >= 0:
        parent[MATCHED] = 2 + tech
        parent[UNM] = 2 + tech
    else:  # PanelProblem refuses field-matched / chair rules without a technical category
        parent[MATCHED] = 0
        parent[UNM] = 0
    parent[CHAIR] = MATCHED
    parent[MO] = MATCHED
    category = np.full(T, -1, dtype=np.int64)
    category[2:2 + K] = np.arange(K)
    lb = np.zeros((S, T), dtype=np.int64)
    ub = np.zeros((S, T), dtype=np.int64)
    for s, st in enumerate(problem.stages):
        rs = st.rules if st.rules is not None else r
        minc = per_category(rs.min_per_category, K, "min_per_category")
        n = int(st.panel_size)
        ub[s, :] = n
        lb[s, 0] = n
        lb[s, 1] = (int(np.ceil(rs.tech_industry_share * n - 1e-9))
                    if (r.tech_industry_categories and rs.tech_industry_share > 0) else 0)
        lb[s, 2:2 + K] = minc
        if rs.max_per_category is not None:
            maxc = per_category(rs.max_per_category, K, "max_per_category")
            ub[s, 2:2 + K] = np.minimum(maxc, n)
        lb[s, MATCHED] = int(rs.min_field_matched_technical) if tech >= 0 else 0
        lb[s, CHAIR] = 1 if (rs.chair_required and tech >= 0) else 0
    leaves = [2 + c for c in range(K) if c != tech] + ([UNM, MO, CHAIR] if tech >= 0 else [])
    leaf_anc = {}
    for leaf in leaves:
        chain, v = [], leaf
        while v >= 0:
            chain.append(v)
            v = int(parent[v])
        leaf_anc[leaf] = chain
    return Template(names, parent, category, lb, ub, leaf_anc, K, 1, MATCHED, CHAIR, UNM, MO)


def required_size(tpl: Template, s: int) -> np.ndarray:
    """Fewest experts each template node needs in stage s (max of its bound and its children's needs)."""
    need = tpl.lb[s].copy()
    changed = True
    while changed:
        changed = False
        for t in range(tpl.T):
            kids = np.nonzero(tpl.parent == t)[0]
            v = max(int(tpl.lb[s, t]), int(need[kids].sum()) if len(kids) else 0)
            if v != need[t]:
                need[t] = v
                changed = True
    return need


def group_order(gid: np.ndarray):
    """(column indices ordered by group id, start position of each group in that order) of a
    per-column group id (-1 = in no group)."""
    idx = np.nonzero(gid >= 0)[0]
    o = idx[np.argsort(gid[idx], kind="stable")]
    starts = np.r_[0, np.nonzero(np.diff(gid[o]))[0] + 1] if len(o) else np.zeros(0, dtype=np.int64)
    return o, starts


def split_at(a: np.ndarray, starts) -> list:
    """`a` cut at the positions `starts` (the first is 0): np.split(a, starts[1:]), as plain slices —
    np.split costs microseconds per piece, seconds for the 10^5-10^6 groups of a large round."""
    bounds = np.r_[np.asarray(starts, dtype=np.int64), len(a)].tolist()
    return [a[i:j] for i, j in zip(bounds[:-1], bounds[1:])]


def groups_of(gid: np.ndarray) -> list:
    """Column-index arrays of the groups of a per-column group id (-1 = in no group), by group id."""
    o, starts = group_order(gid)
    return split_at(o, starts) if len(o) else []


@dataclass
class Compiled:
    problem: PanelProblem
    tpl: Template
    solve_stages: list
    scale: int
    # panels
    panel_stage: np.ndarray
    panel_app: np.ndarray
    panel_size: np.ndarray
    # columns
    col_stage: np.ndarray
    col_expert: np.ndarray
    col_app: np.ndarray
    col_panel: np.ndarray
    col_leaf: np.ndarray
    col_emp: np.ndarray
    col_aff: np.ndarray
    col_soft: np.ndarray
    col_cont: np.ndarray
    col_cost: np.ndarray  # int64, objective units (affinity - soft + continuity), load balance excluded
    col_lock: np.ndarray
    max_load: np.ndarray  # [S, E]
    min_load: np.ndarray  # [S, E]
    seg_cost: np.ndarray  # int64 [Lmax]: cost of the k-th unit of load (k = 1..)
    fixed: dict  # stage -> (experts, apps)
    bad_locks: list = field(default_factory=list)  # (stage, expert, app, LOCK_* reason): locks that are no column
    # Aggregated problems only (solver.symmetry): expert e of `problem` stands for mult[e] identical experts
    # (its loads bounds are already mult[e] times theirs). None = every expert is one expert.
    mult: np.ndarray | None = None

    @property
    def n_cols(self):
        return len(self.col_expert)

    @property
    def P(self):
        return len(self.panel_stage)

    def _gid(self, key, valid):
        """Group id per column (-1 = not in a group of >= 2 valid columns with the same key)."""
        gid = np.full(self.n_cols, -1, dtype=np.int64)
        idx = np.nonzero(valid)[0]
        if len(idx) == 0:
            return gid
        u, inv, cnt = np.unique(key[idx], return_inverse=True, return_counts=True)
        multi = cnt[inv] > 1
        newid = np.cumsum(cnt > 1) - 1
        gid[idx[multi]] = newid[inv[multi]]
        return gid

    @property
    def indep_gid(self):
        if not hasattr(self, "_indep_gid"):
            if self.problem.rules.allow_same_expert_across_stages or len(self.solve_stages) < 2:
                self._indep_gid = np.full(self.n_cols, -1, dtype=np.int64)
            else:
                key = self.col_expert * self.problem.n_applications + self.col_app
                self._indep_gid = self._gid(key, np.ones(self.n_cols, dtype=bool))
        return self._indep_gid

    @property
    def emp_gid(self):
        if not hasattr(self, "_emp_gid"):
            if not self.problem.rules.one_per_employer:
                self._emp_gid = np.full(self.n_cols, -1, dtype=np.int64)
            else:
                key = self.col_panel * (int(self.col_emp.max(initial=0)) + 1) + self.col_emp
                self._emp_gid = self._gid(key, self.col_emp >= 0)
        return self._emp_gid

    def indep_groups(self):
        """(e, a) keys shared by columns of two or more stages, as a list of column-index arrays."""
        return groups_of(self.indep_gid)

    def employer_groups(self):
        """(panel, employer) groups with >= 2 candidate columns, as column-index arrays."""
        return groups_of(self.emp_gid)

    @property
    def col_ub(self) -> np.ndarray:
        """Most seats a column may take: 1, or for an aggregated class of m identical experts m (each
        member at most once), but 1 under the employer rule (the members share their employer)."""
        if self.mult is None:
            return np.ones(self.n_cols, dtype=np.int64)
        return np.where(self.col_emp >= 0, 1, self.mult[self.col_expert]).astype(np.int64)

    def segment_cost(self, experts: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Cost (units) of the k-th (0-based) unit of load of each expert: seg_cost[k], or for a class of
        m identical experts seg_cost[k // m] (its load split evenly: the cheapest split, as the load
        cost is convex)."""
        if self.mult is None:
            return self.seg_cost[k]
        return self.seg_cost[np.asarray(k) // self.mult[np.asarray(experts)]]

    def _split_loads(self, loads: np.ndarray):
        """(q, r, m) of each (stage, expert) load: a class of m experts with load T = q m + r has r
        members with q + 1 seats and m - r with q (m = 1 for a plain expert)."""
        m = np.ones(loads.shape[1], dtype=np.int64) if self.mult is None else self.mult
        q, r = np.divmod(loads, m[None, :])
        return q, r, m[None, :]

    def load_sq_sum(self, loads: np.ndarray) -> float:
        """Sum of squared loads of the experts (a class's load split evenly among its members)."""
        q, r, m = self._split_loads(loads)
        return float(((m - r) * q.astype(np.float64) ** 2 + r * (q + 1).astype(np.float64) ** 2).sum())

    def load_units(self, loads: np.ndarray) -> int:
        """Load-balance cost (units) of the loads [S, E] (a class's load split evenly)."""
        q, r, m = self._split_loads(loads)
        seg = np.r_[self.seg_cost, 0]
        cum = np.r_[0, np.cumsum(self.seg_cost)]
        return int((cum[q] * m + r * seg[q]).sum())

    def objective_points(self, cols: np.ndarray) -> dict:
        """Breakdown (points) of a set of chosen column indices (a column index repeated k times:
        k seats of an aggregated class)."""
        w = self.problem.weights
        aff = float(self.col_aff[cols].sum())
        soft = float(self.col_soft[cols].sum())
        cont = float(self.col_cont[cols].sum())
        loads = np.zeros((len(self.problem.stages), self.problem.n_experts), dtype=np.int64)
        np.add.at(loads, (self.col_stage[cols], self.col_expert[cols]), 1)
        sq = self.load_sq_sum(loads)
        br = {"affinity": w.affinity * aff, "load_balance": -w.load_balance * sq,
              "soft_conflict": -w.soft_conflict * soft, "continuity": w.continuity * cont,
              "affinity_sum": aff, "soft_penalty_sum": soft, "continuity_kept": cont, "load_sq_sum": sq}
        br["total"] = br["affinity"] + br["load_balance"] + br["soft_conflict"] + br["continuity"]
        return br

    def int_objective(self, cols: np.ndarray) -> int:
        loads = np.zeros((len(self.problem.stages), self.problem.n_experts), dtype=np.int64)
        np.add.at(loads, (self.col_stage[cols], self.col_expert[cols]), 1)
        if self.mult is not None:
            return int(self.col_cost[cols].sum()) - self.load_units(loads)
        cum = np.r_[0, np.cumsum(self.seg_cost)]
        return int(self.col_cost[cols].sum()) - int(cum[loads].sum())


def compile_problem(problem: PanelProblem, scale: int = 1_000_000, stages=None, extra_bonus=None) -> Compiled:
    """Flatten `problem`. `stages`: stage indices to solve (None = all without fixed seats).
    `extra_bonus`: optional dict {(stage, expert, app): int units} added to column costs (repair)."""
    S = len(problem.stages)
    tpl = build_template(problem)
    fixed = _fixed_seats(problem)
    stages = _stages_to_solve(stages, S, fixed)
    max_load, min_load = _load_bounds(problem)
    rules = _PairRules.of(problem, max_load, fixed)
    bad_locks = []
    parts = [_stage_columns(rules, s, bad_locks) for s in stages]
    panel_stage, panel_app, panel_size = _panels(problem, stages)
    col_stage, col_expert, col_app, col_lock = _concat_columns(parts)
    col_panel = _panel_of_columns(problem, panel_stage, panel_app, col_stage, col_app)
    col_leaf = _column_leaves(problem, tpl, col_expert, col_app)
    col_emp = _column_employers(problem, col_expert)
    col_aff = np.asarray(values_at(problem.affinity, col_expert, col_app, 0.0), dtype=np.float64)
    col_soft = np.asarray(values_at(problem.soft_penalty, col_expert, col_app, 0.0), dtype=np.float64)
    col_cont = _continuity_kept(problem, col_stage, col_expert, col_app)
    col_cost = _column_costs(problem, scale, col_aff, col_soft, col_cont)
    if extra_bonus:
        _add_bonus(problem, col_cost, col_stage, col_expert, col_app, extra_bonus)
    seg_cost = _load_segment_costs(problem, scale, max_load)
    order = np.lexsort((-col_cost, col_leaf, col_panel))
    c = Compiled(problem, tpl, stages, int(scale), panel_stage, panel_app, panel_size,
                 col_stage[order], col_expert[order], col_app[order], col_panel[order], col_leaf[order],
                 col_emp[order], col_aff[order], col_soft[order], col_cont[order], col_cost[order],
                 col_lock[order], max_load, min_load, seg_cost, fixed, bad_locks)
    return c


def _fixed_seats(problem: PanelProblem) -> dict:
    """The problem's fixed seats by stage: stage -> (expert indices, application indices)."""
    fixed = {}
    for (s, e, a) in problem.fixed:
        fixed.setdefault(int(s), []).append((int(e), int(a)))
    return {s: (np.array([p[0] for p in v], dtype=np.int64), np.array([p[1] for p in v], dtype=np.int64))
            for s, v in fixed.items()}


def _stages_to_solve(stages, n_stages: int, fixed: dict) -> list:
    """Sorted stage indices to solve: the ones given, else every stage without fixed seats
    (ValueError when an index is out of range)."""
    if stages is None:
        stages = [s for s in range(n_stages) if s not in fixed]
    stages = sorted(int(s) for s in stages)
    if any(not 0 <= s < n_stages for s in stages):
        raise ValueError(f"stages to solve {stages}: a stage index is out of range 0..{n_stages - 1}")
    return stages


def _load_bounds(problem: PanelProblem) -> tuple[np.ndarray, np.ndarray]:
    """(max_load, min_load) of every expert in every stage, int64[S, E]."""
    E, S = problem.n_experts, len(problem.stages)
    max_load = np.zeros((S, E), dtype=np.int64)
    min_load = np.zeros((S, E), dtype=np.int64)
    for s, st in enumerate(problem.stages):
        max_load[s] = per_expert(st.max_load, E, "max_load")
        min_load[s] = per_expert(st.min_load, E, "min_load")
    return max_load, min_load


@dataclass
class _PairRules:
    """What keeps an (expert, application) pair out of a stage's columns: the expert's availability
    (max_load), excluded pairs, forbidden seats and pairs seated in a fixed stage (`block_keys`,
    keys e * A + a). `base`: (experts, applications) of the stored affinity entries when the affinity
    is sparse (only those pairs are candidates), else None."""

    problem: PanelProblem
    max_load: np.ndarray
    forbids: set
    block_keys: np.ndarray
    base: tuple | None

    @classmethod
    def of(cls, problem: PanelProblem, max_load: np.ndarray, fixed: dict) -> _PairRules:
        """The pair rules of `problem` with its load bounds and fixed seats (by stage)."""
        A = problem.n_applications
        forb = {(int(s), int(e), int(a)) for (s, e, a) in problem.forbids}
        base = None
        if sp.issparse(problem.affinity):
            coo = problem.affinity.tocoo()
            base = (coo.row.astype(np.int64), coo.col.astype(np.int64))
        # pairs used in fixed stages block the same pair elsewhere
        block_keys = np.zeros(0, dtype=np.int64)
        if not problem.rules.allow_same_expert_across_stages and fixed:
            block_keys = np.unique(np.concatenate([fe * A + fa for (fe, fa) in fixed.values()]))
        return cls(problem, max_load, forb, block_keys, base)


def _stage_columns(rules: _PairRules, s: int, bad_locks: list) -> tuple:
    """The columns of stage s as (stage, expert, application, locked) arrays: every allowed pair
    of an available expert and an application of the stage, then the locked seats that are not
    among them yet. A lock that cannot be a column is appended to `bad_locks` with its reason."""
    problem = rules.problem
    A = problem.n_applications
    apps = np.unique(np.asarray(problem.stages[s].applications, dtype=np.int64))
    in_stage = np.zeros(A, dtype=bool)
    in_stage[apps] = True
    avail = rules.max_load[s] > 0
    if rules.base is not None:
        base_e, base_a = rules.base
        m = in_stage[base_a] & avail[base_e]
        ce, ca = base_e[m], base_a[m]
    else:
        ee = np.nonzero(avail)[0]
        ce = np.repeat(ee, len(apps))
        ca = np.tile(apps, len(ee))
    keep = np.ones(len(ce), dtype=bool)
    if problem.excluded is not None:
        keep &= ~values_at(problem.excluded, ce, ca, False).astype(bool)
    if problem.barred is not None:
        keep &= ~values_at(problem.barred, ce, ca, False).astype(bool)
    if len(rules.block_keys):
        keep &= ~np.isin(ce * A + ca, rules.block_keys)
    if rules.forbids:
        fs = [(e, a) for (s2, e, a) in rules.forbids if s2 == s]
        if fs:
            fk = np.array([e * A + a for e, a in fs], dtype=np.int64)
            keep &= ~np.isin(ce * A + ca, fk)
    ce, ca, lock_flag = _with_locks(rules, s, ce[keep], ca[keep], in_stage, bad_locks)
    return np.full(len(ce), s, dtype=np.int64), ce, ca, lock_flag


def _with_locks(rules: _PairRules, s: int, ce: np.ndarray, ca: np.ndarray, in_stage: np.ndarray,
                bad_locks: list) -> tuple:
    """(experts, applications, locked) of stage s's candidate pairs with its locks applied: a lock
    on a candidate flags it, any other lock is appended as a locked column unless a rule refuses it
    (then it goes to `bad_locks` as (stage, expert, application, LOCK_* reason))."""
    problem = rules.problem
    A = problem.n_applications
    lock_here = [(int(e), int(a)) for (s2, e, a) in problem.locks if int(s2) == s]
    lock_flag = np.zeros(len(ce), dtype=bool)
    if lock_here:
        keys = ce * A + ca
        for (e, a) in lock_here:
            k = e * A + a
            hit = np.nonzero(keys == k)[0]
            if len(hit):
                lock_flag[hit[0]] = True
                continue
            why = _lock_refusal(rules, s, e, a, in_stage)
            if why is not None:
                bad_locks.append((s, e, a, why))
                continue
            ce = np.r_[ce, e]
            ca = np.r_[ca, a]
            lock_flag = np.r_[lock_flag, True]
    return ce, ca, lock_flag


def _lock_refusal(rules: _PairRules, s: int, e: int, a: int, in_stage: np.ndarray) -> str | None:
    """Why the lock (s, e, a), which is no candidate pair, cannot become a column (a LOCK_*
    reason), or None when it can."""
    problem = rules.problem
    if not in_stage[a]:
        return LOCK_NOT_IN_STAGE
    if rules.max_load[s, e] <= 0:
        return LOCK_UNAVAILABLE
    if (s, e, a) in rules.forbids:
        return LOCK_FORBIDDEN
    if problem.barred is not None and bool(values_at(problem.barred, [e], [a], False)[0]):
        return LOCK_BARRED
    if problem.excluded is not None and bool(values_at(problem.excluded, [e], [a], False)[0]):
        return LOCK_EXCLUDED
    if e * problem.n_applications + a in set(rules.block_keys.tolist()):
        return LOCK_OTHER_STAGE
    return None


def _panels(problem: PanelProblem, stages: list) -> tuple:
    """(stage, application, size) int64 arrays of the panels of `stages`, by stage then application."""
    panel_stage, panel_app, panel_size = [], [], []
    for s in stages:
        st = problem.stages[s]
        for a in np.unique(np.asarray(st.applications, dtype=np.int64)).tolist():
            panel_stage.append(s)
            panel_app.append(a)
            panel_size.append(int(st.panel_size))
    return (np.array(panel_stage, dtype=np.int64), np.array(panel_app, dtype=np.int64),
            np.array(panel_size, dtype=np.int64))


def _concat_columns(parts: list) -> tuple:
    """The per-stage (stage, expert, application, locked) column arrays joined."""
    if parts:
        col_stage = np.concatenate([p[0] for p in parts])
        col_expert = np.concatenate([p[1] for p in parts])
        col_app = np.concatenate([p[2] for p in parts])
        col_lock = np.concatenate([p[3] for p in parts])
    else:
        col_stage = col_expert = col_app = np.zeros(0, dtype=np.int64)
        col_lock = np.zeros(0, dtype=bool)
    return col_stage, col_expert, col_app, col_lock


def _panel_of_columns(problem: PanelProblem, panel_stage, panel_app, col_stage, col_app) -> np.ndarray:
    """Panel index of each column."""
    pan_lookup = np.full((len(problem.stages), problem.n_applications), -1, dtype=np.int64)
    pan_lookup[panel_stage, panel_app] = np.arange(len(panel_stage))
    return pan_lookup[col_stage, col_app]


def _column_leaves(problem: PanelProblem, tpl: Template, col_expert, col_app) -> np.ndarray:
    """Template leaf of each column: its expert's category node, or for a technical expert the
    unmatched / chair-eligible / matched-not-chair leaf."""
    cat = np.asarray(problem.expert_category, dtype=np.int64)  # shapes and ranges: PanelProblem checks them
    can_chair = (np.asarray(problem.expert_can_chair, dtype=bool) if problem.expert_can_chair is not None
                 else np.zeros(problem.n_experts, dtype=bool))
    ccat = cat[col_expert]
    col_leaf = 2 + ccat
    tech = int(problem.rules.technical_category)
    if tech >= 0:
        is_t = ccat == tech
        fm = values_at(problem.field_match, col_expert[is_t], col_app[is_t], False).astype(bool)
        leaf_t = np.where(~fm, tpl.UNMATCHED, np.where(can_chair[col_expert[is_t]], tpl.CHAIR, tpl.MATCHED_OTHER))
        col_leaf[is_t] = leaf_t
    return col_leaf


def _column_employers(problem: PanelProblem, col_expert) -> np.ndarray:
    """Employer group of each column's expert (-1 = none, or the one-per-employer rule is off)."""
    E = problem.n_experts
    emp = (np.asarray(problem.expert_employer, dtype=np.int64) if problem.expert_employer is not None
           else np.full(E, -1, dtype=np.int64))
    return emp[col_expert] if problem.rules.one_per_employer else np.full(len(col_expert), -1, dtype=np.int64)


def _continuity_kept(problem: PanelProblem, col_stage, col_expert, col_app) -> np.ndarray:
    """1.0 for a column that keeps a continuity wish (same expert and application, in the wished
    stage or any stage for stage -1), else 0.0."""
    A = problem.n_applications
    col_cont = np.zeros(len(col_expert), dtype=np.float64)
    if problem.continuity:
        ck = {}
        for (s, e, a) in problem.continuity:
            ck.setdefault(int(e) * A + int(a), set()).add(int(s))
        keys = col_expert * A + col_app
        cand = np.nonzero(np.isin(keys, np.fromiter(ck.keys(), dtype=np.int64)))[0]
        for j in cand.tolist():
            ss = ck[int(keys[j])]
            if -1 in ss or int(col_stage[j]) in ss:
                col_cont[j] = 1.0
    return col_cont


def _column_costs(problem: PanelProblem, scale: int, col_aff, col_soft, col_cont) -> np.ndarray:
    """Integer objective units of each column (affinity - soft conflict + continuity, weighted, times
    `scale`); ValueError on a value that is not finite or too large for exact integer units."""
    w = problem.weights
    units = scale * (w.affinity * col_aff - w.soft_conflict * col_soft + w.continuity * col_cont)
    if not np.all(np.isfinite(units)) or np.abs(units).max(initial=0.0) > 2.0 ** 52:
        raise ValueError("affinity / soft_penalty values (times weights and scale) must be finite and below "
                         "2**52 objective units: NaN, inf or a huge value among the candidate pairs")
    return np.rint(units).astype(np.int64)


def _add_bonus(problem: PanelProblem, col_cost, col_stage, col_expert, col_app, extra_bonus: dict) -> None:
    """Add `extra_bonus` {(stage, expert, app): units} to the costs of those columns, in place."""
    E, A = problem.n_experts, problem.n_applications
    keys = (col_stage * E + col_expert) * A + col_app
    bk = {(int(s) * E + int(e)) * A + int(a): int(v) for (s, e, a), v in extra_bonus.items()}
    hit = np.nonzero(np.isin(keys, np.fromiter(bk.keys(), dtype=np.int64)))[0]
    for j in hit.tolist():
        col_cost[j] += bk[int(keys[j])]


def _load_segment_costs(problem: PanelProblem, scale: int, max_load: np.ndarray) -> np.ndarray:
    """Integer cost of the k-th unit of an expert's load (k = 1..max load): the load-balance weight
    times (2k - 1), so that the costs of the first L units sum to L squared."""
    Lmax = int(max_load.max()) if max_load.size else 0
    return np.rint(scale * problem.weights.load_balance * (2 * np.arange(1, Lmax + 1) - 1)).astype(np.int64)
