"""现场考察 teams: who travels each route (CP-SAT, plain arrays); the second step after `site_routes`.

A team is a panel of the site stage for every site it visits. Its members are a **core** that
travels the whole trip, plus **field seats** per site: technical experts matched to that site's
field who join the team on that site's day only. Every site's panel = core + its field seats,
exactly the stage's panel size, and must satisfy every hard family of `solver.families` for that
site's application: five categories, 技术+产业 share, field-matched technical experts, a senior
field-matched chair (from the core or the field seats), one per employer, no excluded or forbidden
pair, load (a core member's load is the number of the trip's sites), stage independence (pairs
seated in other stages are excluded). Why field seats: the fields of the sites on one route differ,
and a core that had to match every field would force one route per field (longer trips, more
expert-days); a team of 5 keeps its non-technical core and swaps only the field-matched chair, as
the 5-person stages' rule asks for one field-matched senior 技术 expert who chairs.

Day rules: no expert is in two places on one day (core of a team active that day, or on a field
seat of another team that day), nor on an unavailable day. Objective (named terms, integers):
expert_days, travel (tenths of hours from and to each member's home plus the route's legs),
affinity (of every seat), distinct_experts, same_city (soft C9). Candidates are pruned (a
heuristic): per team and category the `core_k` best by affinity, per site the `field_k` best
field-matched technical experts (and the `field_k` best possible chairs). CP-SAT's bound is the
bound of this pruned model. Deterministic: one worker, fixed seed, deterministic work limit.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .arrays import per_category
from .model import Plan, StagePlan
from .site_routes import FEASIBLE, INFEASIBLE, OPTIMAL, UNKNOWN

AFFINITY_SCALE = 100   # affinity 0..1 -> integer points


@dataclass
class TeamProblem:
    problem: object              # solver.PanelProblem (the stage's rules, conflicts, affinity, loads)
    stage: int                   # index of the site stage in problem.stages
    routes: list                 # per team: [(site, day), ...]
    site_application: np.ndarray  # int[S]
    site_city: np.ndarray        # int[S]
    home_tenths: np.ndarray      # int[E, C] one-way travel from each expert's home to each city
    travel_tenths: np.ndarray    # int[C, C]
    unavailable: np.ndarray      # bool[E, W]
    w_expert_day: int = 100
    w_travel_hour: int = 10
    w_affinity: int = 30
    w_distinct: int = 20
    w_same_city: int = 20
    core_k: int = 12
    field_k: int = 8
    jitter: float = 0.0          # seed-driven perturbation of the affinity (随机抽取 among near-optimal plans)
    day_ordinal: np.ndarray | None = None      # int[W] calendar day number of each working day
    max_consecutive: np.ndarray | None = None  # int[E] most consecutive calendar days on site (0 = no limit)
    q: float = 0.0               # 随机抽取: each expert is a candidate of each team with probability q (0 = no draw)


@dataclass
class TeamPlan:
    status: str
    core: list = field(default_factory=list)        # per team: expert indices
    field_seats: dict = field(default_factory=dict)  # site -> expert indices joining for it
    chair: dict = field(default_factory=dict)        # site -> chair expert
    objective: float = math.nan
    bound: float = math.nan
    breakdown: dict = field(default_factory=dict)
    wall_time: float = 0.0
    reasons: list = field(default_factory=list)      # (rule, site, day, message_zh, message_en)
    pool: np.ndarray | None = None                   # bool[E, T] the draw's candidates (None: no draw)

    @property
    def feasible(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    @property
    def gap(self) -> float:
        if not self.feasible or not math.isfinite(self.bound) or self.objective == 0:
            return math.nan
        return max(0.0, (self.objective - self.bound) / abs(self.objective))

    def panel(self, team: int, site: int) -> list:
        return sorted(self.core[team] + self.field_seats.get(site, []))


@dataclass
class _Ctx:
    tp: TeamProblem
    m: cp_model.CpModel
    aff: np.ndarray
    core: dict = field(default_factory=dict)       # (e, t) -> var
    seat: dict = field(default_factory=dict)       # (e, s) -> var (field seat)
    chair: dict = field(default_factory=dict)      # (e, s) -> var
    joins: dict = field(default_factory=dict)      # (e, t, d) -> var (field expert with team t on day d)
    terms: dict = field(default_factory=dict)      # name -> linear expression


def _blocked(tp: TeamProblem) -> np.ndarray:
    """bool[E, A]: pairs no seat may use (excluded, forbidden in this stage, seated in another stage)."""
    p = tp.problem
    E, A = len(p.expert_category), np.asarray(p.affinity).shape[1]
    out = np.zeros((E, A), dtype=bool) if p.excluded is None else np.asarray(
        p.excluded.toarray() if hasattr(p.excluded, "toarray") else p.excluded, dtype=bool).copy()
    if p.barred is not None:  # the pool standing (credit penalty, rotation limit) bars these pairs too
        out |= np.asarray(p.barred.toarray() if hasattr(p.barred, "toarray") else p.barred, dtype=bool)
    for s, e, a in p.forbids:
        if int(s) == tp.stage:
            out[int(e), int(a)] = True
    if not p.rules.allow_same_expert_across_stages:
        for s, e, a in p.fixed:
            if int(s) != tp.stage:
                out[int(e), int(a)] = True
    max_load = np.broadcast_to(np.asarray(p.stages[tp.stage].max_load), (E,))
    out[max_load <= 0, :] = True
    return out


def _dense(M, shape, dtype):
    if M is None:
        return np.zeros(shape, dtype=dtype)
    return np.asarray(M.toarray() if hasattr(M, "toarray") else M, dtype=dtype)


DRAW_STREAM = 15   # the draw's own random stream (never the one of the affinity jitter)


def draw_pool(n_experts: int, n_teams: int, q: float, seed: int) -> np.ndarray:
    """随机抽取 for site teams: bool[E, T], each expert a candidate of each team independently with
    probability q. Every seat of a site is taken from its team's candidates, and the routes do not
    depend on the draw, so no expert sits on any application's panel with probability above q: the
    lottery's per-seat cap, by thinning the candidates before the optimiser chooses among them."""
    return np.random.default_rng([int(seed), DRAW_STREAM]).random((n_experts, n_teams)) < q


def _candidates(tp: TeamProblem, blocked: np.ndarray, aff: np.ndarray, previous: TeamPlan | None = None,
                pool: np.ndarray | None = None):
    """(core candidates per team, field-seat candidates per site); a repair keeps the previous plan's
    members among them when they may still sit. `pool`: the draw's candidates per team."""
    p = tp.problem
    cat = np.asarray(p.expert_category)
    E, K = len(cat), len(p.category_names)
    tech = int(p.rules.technical_category)
    fm = _dense(p.field_match, blocked.shape, bool)
    can_chair = np.zeros(E, bool) if p.expert_can_chair is None else np.asarray(p.expert_can_chair, bool)
    max_load = np.broadcast_to(np.asarray(p.stages[tp.stage].max_load), (E,))
    core, seats = [], {}
    for r in tp.routes:
        apps = [int(tp.site_application[s]) for s, _ in r]
        days = sorted({d for _, d in r})
        drawn = np.ones(E, bool) if pool is None else pool[:, len(core)]
        ok = ~blocked[:, apps].any(axis=1) & ~tp.unavailable[:, days].any(axis=1) & (max_load >= len(apps)) & drawn
        score = aff[:, apps].sum(axis=1)
        keep = []
        for k in range(K):
            idx = np.nonzero(ok & (cat == k))[0]
            keep += idx[np.argsort(-score[idx], kind="stable")][:tp.core_k].tolist()
        if previous is not None:   # (a repair of a drawn plan keeps its draw: the same seed, the same pool)
            keep += [e for e in previous.core[len(core)] if ok[e]]
        core.append(sorted(set(keep)))
        for s, d in r:
            a = int(tp.site_application[s])
            ok_s = (cat == tech) & fm[:, a] & ~blocked[:, a] & ~tp.unavailable[:, d] & (max_load >= 1) & drawn
            idx = np.nonzero(ok_s)[0]
            best = idx[np.argsort(-aff[idx, a], kind="stable")]
            chairs = [e for e in best if can_chair[e]]
            seats[s] = sorted(set(best[:tp.field_k].tolist()) | set(chairs[:tp.field_k])
                              | ({e for e in previous.field_seats.get(s, []) if ok_s[e]} if previous else set()))
    return core, seats, fm, can_chair


def _panel_rules(ctx: _Ctx, core_c, seat_c, fm, can_chair) -> None:
    """Every hard family of the stage on every site's panel (core of its team + its field seats)."""
    tp, m, p = ctx.tp, ctx.m, ctx.tp.problem
    st = p.stages[tp.stage]
    rules = st.rules if st.rules is not None else p.rules
    cat = np.asarray(p.expert_category)
    K = len(p.category_names)
    lo = per_category(rules.min_per_category, K, "min_per_category")
    hi = None if rules.max_per_category is None else per_category(rules.max_per_category, K, "max_per_category")
    # the stage's share (its rules), the structural categories from the problem's rules, as check_rules does
    ti_min = math.ceil(rules.tech_industry_share * int(st.panel_size) - 1e-9) if p.rules.tech_industry_categories else 0
    ti_cats = set(int(c) for c in p.rules.tech_industry_categories)
    tech = int(p.rules.technical_category)
    emp = None if p.expert_employer is None or not p.rules.one_per_employer else np.asarray(p.expert_employer)
    for t, r in enumerate(tp.routes):
        for s, _ in r:
            a = int(tp.site_application[s])
            members = [(e, ctx.core[(e, t)]) for e in core_c[t]] + [(e, ctx.seat[(e, s)]) for e in seat_c[s]]
            m.Add(sum(v for _, v in members) == int(st.panel_size))
            for k in range(K):
                inside = [v for e, v in members if cat[e] == k]
                m.Add(sum(inside) >= int(lo[k]))
                if hi is not None:
                    m.Add(sum(inside) <= int(hi[k]))
            if ti_min:
                m.Add(sum(v for e, v in members if int(cat[e]) in ti_cats) >= ti_min)
            matched = [(e, v) for e, v in members if int(cat[e]) == tech and fm[e, a]]
            m.Add(sum(v for _, v in matched) >= int(rules.min_field_matched_technical))
            if rules.chair_required:
                on_panel: dict = {}   # an expert may be a core and a field candidate: one chair variable
                for e, v in matched:
                    if can_chair[e]:
                        on_panel.setdefault(int(e), []).append(v)
                for e, vs in on_panel.items():
                    ch = ctx.chair[(e, s)] = m.NewBoolVar(f"chair{e}_{s}")
                    m.Add(ch <= sum(vs))
                m.Add(sum(ctx.chair[(e, s)] for e in on_panel) == 1)
            if emp is not None:
                groups: dict = {}
                for e, v in members:
                    if emp[e] >= 0:
                        groups.setdefault(int(emp[e]), []).append(v)
                for vs in groups.values():
                    if len(vs) > 1:
                        m.AddAtMostOne(vs)
            for e in set(core_c[t]) & set(seat_c[s]):
                m.AddAtMostOne([ctx.core[(e, t)], ctx.seat[(e, s)]])


def _day_rules(ctx: _Ctx, seat_c) -> dict:
    """One place a day per expert, field joins, loads; returns expert -> vars that use them."""
    tp, m, p = ctx.tp, ctx.m, ctx.tp.problem
    E = len(p.expert_category)
    max_load = np.broadcast_to(np.asarray(p.stages[tp.stage].max_load), (E,))
    per_day: dict = {}
    load: dict = {}
    uses: dict = {}
    for t, r in enumerate(tp.routes):
        days = sorted({d for _, d in r})
        for (e, t2), v in ctx.core.items():
            if t2 == t:
                for d in days:
                    per_day.setdefault((e, d), []).append(v)
                load.setdefault(e, []).append(len(r) * v)
                uses.setdefault(e, []).append(v)
        for d in days:
            for s in [s for s, x in r if x == d]:
                for e in seat_c[s]:
                    key = (e, t, d)
                    if key not in ctx.joins:
                        ctx.joins[key] = m.NewBoolVar(f"join{e}_{t}_{d}")
                        per_day.setdefault((e, d), []).append(ctx.joins[key])
                        uses.setdefault(e, []).append(ctx.joins[key])
                    m.AddImplication(ctx.seat[(e, s)], ctx.joins[key])
                    load.setdefault(e, []).append(ctx.seat[(e, s)])
    for vs in per_day.values():
        if len(vs) > 1:
            m.AddAtMostOne(vs)
    for e, terms in load.items():
        m.Add(sum(terms) <= int(max_load[e]))
    _consecutive_days(ctx, per_day)
    return uses


def consecutive_windows(day_ordinal, limit: int) -> list[list[int]]:
    """The runs of limit+1 working days that are consecutive calendar days (any such run on site
    breaks a limit of `limit` consecutive days)."""
    o = [int(x) for x in day_ordinal]
    return [list(range(w, w + limit + 1)) for w in range(len(o) - limit) if o[w + limit] - o[w] == limit]


def _consecutive_days(ctx: _Ctx, per_day: dict) -> None:
    """max_consecutive: no expert on site on more than L consecutive calendar days, over every team."""
    tp, m = ctx.tp, ctx.m
    if tp.max_consecutive is None or tp.day_ordinal is None:
        return
    by_expert: dict = {}
    for (e, d), vs in per_day.items():
        by_expert.setdefault(e, {})[d] = vs
    for e, days in by_expert.items():
        limit = int(tp.max_consecutive[e])
        if limit <= 0 or len(days) <= limit:
            continue
        for window in consecutive_windows(tp.day_ordinal, limit):
            if all(d in days for d in window):   # one place a day: each day's variables sum to at most 1
                m.Add(sum(v for d in window for v in days[d]) <= limit)


def _objective(ctx: _Ctx, core_c, seat_c, uses):
    tp, m, p = ctx.tp, ctx.m, ctx.tp.problem
    soft = _dense(p.soft_penalty, ctx.aff.shape, float)
    days_terms, travel_terms, aff_terms, soft_terms = [], [], [], []
    for t, r in enumerate(tp.routes):
        days = sorted({d for _, d in r})
        first, last = int(tp.site_city[r[0][0]]), int(tp.site_city[r[-1][0]])
        legs = sum(int(tp.travel_tenths[tp.site_city[a], tp.site_city[b]]) for (a, _), (b, _) in zip(r, r[1:]))
        apps = [int(tp.site_application[s]) for s, _ in r]
        for e in core_c[t]:
            v = ctx.core[(e, t)]
            days_terms.append(len(days) * v)
            travel_terms.append((int(tp.home_tenths[e, first]) + int(tp.home_tenths[e, last]) + legs) * v)
            aff_terms.append(int(round(AFFINITY_SCALE * ctx.aff[e, apps].sum())) * v)
            soft_terms.append(int(round(AFFINITY_SCALE * soft[e, apps].sum())) * v)
        for s, d in r:
            a = int(tp.site_application[s])
            for e in seat_c[s]:
                aff_terms.append(int(round(AFFINITY_SCALE * ctx.aff[e, a])) * ctx.seat[(e, s)])
                soft_terms.append(int(round(AFFINITY_SCALE * soft[e, a])) * ctx.seat[(e, s)])
    for (e, t, d), v in ctx.joins.items():
        city = int(tp.site_city[next(s for s, x in tp.routes[t] if x == d)])
        days_terms.append(v)
        travel_terms.append(2 * int(tp.home_tenths[e, city]) * v)
    used = []
    for e, vs in uses.items():
        u = m.NewBoolVar(f"used{e}")
        for v in vs:
            m.AddImplication(v, u)
        used.append(u)
    ctx.terms = {"expert_days": sum(days_terms), "travel_tenths": sum(travel_terms),
                 "affinity_points": sum(aff_terms), "distinct_experts": sum(used), "same_city_points": sum(soft_terms)}
    t = ctx.terms
    return (AFFINITY_SCALE * tp.w_expert_day * t["expert_days"] + AFFINITY_SCALE // 10 * tp.w_travel_hour
               * t["travel_tenths"] - tp.w_affinity * t["affinity_points"] + AFFINITY_SCALE * tp.w_distinct
               * t["distinct_experts"] + tp.w_same_city * t["same_city_points"])


def _keep_previous(ctx: _Ctx, previous: TeamPlan):
    """The number of the previous plan's seats not kept (a repair changes as few as it can)."""
    old = [ctx.core.get((e, t)) for t, es in enumerate(previous.core) for e in es]
    old += [ctx.seat.get((e, s)) for s, es in previous.field_seats.items() for e in es]
    kept = [v for v in old if v is not None]
    ctx.terms["changed_seats"] = len(old) - sum(kept)
    return ctx.terms["changed_seats"]


def precheck(tp: TeamProblem, seat_c, core_c) -> list:
    """Sites that cannot have a chair at all (no available senior field-matched technical expert)."""
    out = []
    p = tp.problem
    can_chair = np.zeros(len(p.expert_category), bool) if p.expert_can_chair is None else np.asarray(p.expert_can_chair)
    st = p.stages[tp.stage]
    rules = st.rules if st.rules is not None else p.rules
    for t, r in enumerate(tp.routes):
        for s, d in r:
            if rules.chair_required and not any(can_chair[e] for e in seat_c[s]):
                out.append(("chair", s, d, "当日没有可担任组长的领域匹配正高级技术专家（回避、不可用日期或评审量上限）",
                            "no senior field-matched technical expert can chair it that day (conflicts, "
                            "unavailable dates or loads)"))
    return out


CHANGE_WEIGHT = 10**9   # a repair: every changed seat costs more than any plan's other terms


def solve_teams(tp: TeamProblem, seed: int = 0, work_limit: float = 20.0, safety_seconds: float = 600.0,
                previous: TeamPlan | None = None) -> TeamPlan:
    """The teams of tp.routes (see the module). `previous`: repair that plan, changing as few seats as
    possible (its routes stay; experts who declined are unavailable in `tp`)."""
    started = time.time()
    p = tp.problem
    aff = _dense(p.affinity, (len(p.expert_category), np.asarray(p.affinity).shape[1]), float)
    if tp.jitter > 0:
        aff = aff + tp.jitter * np.random.default_rng(seed).random(aff.shape)
    blocked = _blocked(tp)
    pool = draw_pool(len(p.expert_category), len(tp.routes), tp.q, seed) if tp.q > 0 else None
    core_c, seat_c, fm, can_chair = _candidates(tp, blocked, aff, previous, pool)
    reasons = precheck(tp, seat_c, core_c)
    if reasons:
        if pool is not None:
            reasons = [(*x[:3], x[3] + f"（随机抽取：每位专家以概率 {tp.q:g} 成为各考察组候选）",
                        x[4] + f" (random draw: each expert a candidate of each team with probability {tp.q:g})")
                       for x in reasons]
        return TeamPlan(INFEASIBLE, reasons=reasons, wall_time=time.time() - started, pool=pool)
    m = cp_model.CpModel()
    ctx = _Ctx(tp, m, aff)
    for t, es in enumerate(core_c):
        for e in es:
            ctx.core[(e, t)] = m.NewBoolVar(f"core{e}_{t}")
    for s, es in seat_c.items():
        for e in es:
            ctx.seat[(e, s)] = m.NewBoolVar(f"seat{e}_{s}")
    _panel_rules(ctx, core_c, seat_c, fm, can_chair)
    uses = _day_rules(ctx, seat_c)
    objective = _objective(ctx, core_c, seat_c, uses)
    if previous is not None:
        objective = objective + CHANGE_WEIGHT * _keep_previous(ctx, previous)
        _hint_previous(ctx, previous)
    m.Minimize(objective)
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers, prm.random_seed, prm.max_deterministic_time = 1, int(seed), float(work_limit)
    prm.max_time_in_seconds = float(safety_seconds)
    prm.linearization_level = 2   # the LP of every constraint: closes the demo's staffing gap (35% -> proven optimal)
    status = solver.Solve(m)
    name = {cp_model.OPTIMAL: OPTIMAL, cp_model.FEASIBLE: FEASIBLE, cp_model.INFEASIBLE: INFEASIBLE}.get(status, UNKNOWN)
    plan = TeamPlan(name, wall_time=time.time() - started, pool=pool)
    if not plan.feasible:
        plan.reasons = [("expert_load", -1, -1, "考察组无法在规则内配齐（候选专家的回避、不可用日期、同日不能分身或评审量上限"
                         "相互冲突）；可延长窗口、放宽每日考察点数或增加候选数", "the teams cannot all be staffed "
                         "within the rules (conflicts, unavailable dates, one place a day, loads)")]
        if pool is not None:
            plan.reasons = [(*x[:3], x[3] + f"；随机抽取后每组候选约为专家库的 {tp.q:.0%}，可换种子或提高 max_pair_probability",
                             x[4] + f"; after the random draw each team's candidates are about {tp.q:.0%} of the pool "
                             "(another seed, or a higher max_pair_probability)") for x in plan.reasons]
        return plan
    plan.core = [[e for e in es if solver.Value(ctx.core[(e, t)])] for t, es in enumerate(core_c)]
    plan.field_seats = {s: [e for e in es if solver.Value(ctx.seat[(e, s)])] for s, es in seat_c.items()}
    plan.chair = {s: e for (e, s), v in ctx.chair.items() if solver.Value(v)}
    plan.objective, plan.bound = solver.ObjectiveValue(), solver.BestObjectiveBound()
    plan.breakdown = {k: float(solver.Value(v)) for k, v in ctx.terms.items()}
    plan.breakdown["deterministic_time"] = solver.deterministic_time
    return plan


def _hint_previous(ctx: _Ctx, previous: TeamPlan) -> None:
    # CP-SAT takes one hint per variable: hint the previous seats true, every other seat false.
    ctx.m.ClearHints()
    old_core = {(e, t) for t, es in enumerate(previous.core) for e in es}
    old_seat = {(e, s) for s, es in previous.field_seats.items() for e in es}
    for k, v in ctx.core.items():
        ctx.m.AddHint(v, k in old_core)
    for k, v in ctx.seat.items():
        ctx.m.AddHint(v, k in old_seat)


def repair_teams(tp: TeamProblem, previous: TeamPlan, declined: list, seed: int = 0,
                 work_limit: float = 20.0) -> TeamPlan:
    """Replace experts who declined, keeping the routes and as many seats as possible (within the team
    first: a core member of the team may take a field seat, and the other way round)."""
    off = tp.unavailable.copy()
    off[list(declined), :] = True
    return solve_teams(dataclasses.replace(tp, unavailable=off), seed=seed, work_limit=work_limit, previous=previous)


def as_plan(tp: TeamProblem, plan: TeamPlan):
    """The teams as a solver Plan of the site stage (one panel per site), for `solver.check_plan`."""
    p = tp.problem
    ex, ap, ca, cc = [], [], [], []
    for t, r in enumerate(tp.routes):
        for s, _ in r:
            a = int(tp.site_application[s])
            for e in plan.panel(t, s):
                ex.append(e)
                ap.append(a)
            if s in plan.chair:
                ca.append(a)
                cc.append(plan.chair[s])
    stages = []
    for k, st in enumerate(p.stages):
        if k == tp.stage:
            stages.append(StagePlan(k, st.name, np.array(ex, np.int64), np.array(ap, np.int64), np.array(ca, np.int64),
                                    np.array(cc, np.int64)))
        else:
            empty = np.zeros(0, np.int64)
            stages.append(StagePlan(k, st.name, empty, empty, empty, empty))
    return Plan(plan.status, "site_teams", tuple(stages))
