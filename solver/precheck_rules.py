"""Counting pre-checks of the hard-rule families: conditions every plan needs, in plain words.

Each function yields (stage, application, category, message_zh, message_en, counts) for every
failed condition; any one is a proof that no plan exists. The functions know no family by name:
`solver.diagnose.precheck` runs them over the registry (solver.families) and names them.

Two kinds per family: `rules_check(comp)` (the rules contradict each other, before any counting) and
`precheck(comp, counts)` (eligible experts per panel, capacity per stage). A lock that cannot hold
is reported under the family it would break (a locked seat that is no candidate, see
`locks_that_cannot_sit`; more locks than seats: panel_size; more locks than the maximum load:
expert_load).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .compile import (LOCK_BARRED, LOCK_EXCLUDED, LOCK_FORBIDDEN, LOCK_NOT_IN_STAGE, LOCK_OTHER_STAGE, LOCK_UNAVAILABLE,
                      Compiled, compile_problem, required_size)

LOCK_REASONS = {
    LOCK_NOT_IN_STAGE: ("该申请不在本阶段", "the application is not in this stage"),
    LOCK_UNAVAILABLE: ("该专家本阶段不可用", "the expert is unavailable in this stage"),
    LOCK_FORBIDDEN: ("同一席位既被锁定又被禁止", "the seat is both locked and forbidden"),
    LOCK_EXCLUDED: ("该专家与申请存在回避关系", "the pair is excluded (conflict of interest)"),
    LOCK_BARRED: ("该专家因专家库资格（信用惩戒或轮换限制）不可抽取",
                  "the expert pool's standing bars the expert (credit penalty or rotation limit)"),
    LOCK_OTHER_STAGE: ("该专家已在其他阶段评审该申请", "the expert already sits on this application in another stage"),
}


def counts_by_node(comp: Compiled, mask=None) -> np.ndarray:
    """[P, T] number of candidate columns under each template node of each panel."""
    tpl = comp.tpl
    m = np.ones(comp.n_cols, dtype=bool) if mask is None else mask
    leaf_cnt = np.zeros((comp.P, tpl.T), dtype=np.int64)
    np.add.at(leaf_cnt, (comp.col_panel[m], comp.col_leaf[m]), 1)
    cnt = np.zeros_like(leaf_cnt)
    for leaf, anc in tpl.leaf_anc.items():
        for t in anc:
            cnt[:, t] += leaf_cnt[:, leaf]
    return cnt


def locks_that_cannot_sit(comp: Compiled, reasons):
    """Locked seats that are no candidate at all, for the given compile reasons (LOCK_*)."""
    lab, who = comp.problem.application_label, comp.problem.expert_label
    for s, e, a, why in comp.bad_locks:
        if why in reasons:
            zh, en = LOCK_REASONS[why]
            yield (s, a, -1, f"锁定的专家 {who(e)} 无法评审申请 {lab(a)}：{zh}。",
                   f"Locked expert {who(e)} cannot sit on application {lab(a)}: {en}.", {"expert": who(e)})


def _panels(comp: Compiled):
    """(panel index, stage, application, panel size, stage name) of every panel."""
    p = comp.problem
    for i in range(comp.P):
        s, a, n = int(comp.panel_stage[i]), int(comp.panel_app[i]), int(comp.panel_size[i])
        yield i, s, a, n, p.stages[s].name


def _stage_capacity(comp: Compiled, s: int) -> np.ndarray:
    """Most panels each expert can sit on in stage s: min(candidate panels, max_load)."""
    m = comp.col_stage == s
    per_e = np.bincount(comp.col_expert[m], minlength=comp.problem.n_experts)
    return np.minimum(per_e, comp.max_load[s])


# ---- rules_check: before counting ----

def contradictory_minima(comp: Compiled):
    """The category, tech+industry and field-matched minima together need more experts than a panel has."""
    p, tpl = comp.problem, comp.tpl
    for s in comp.solve_stages:
        need = required_size(tpl, s)
        n = int(p.stages[s].panel_size)
        if need[0] > n:
            sn = p.stages[s].name
            yield (s, -1, -1,
                   f"{sn}：规则自相矛盾——各类专家的最低人数合计需要 {need[0]} 人，而专家组只有 {n} 人"
                   f"（五类各至少 {tpl.lb[s, 2:2 + tpl.n_cat].tolist()}，技术+产业至少 {tpl.lb[s, 1]}，"
                   f"领域匹配技术专家至少 {tpl.lb[s, tpl.MATCHED]}）。",
                   f"{sn}: the rules contradict each other: the category minima need {need[0]} "
                   f"experts but the panel has {n} (per category {tpl.lb[s, 2:2 + tpl.n_cat].tolist()}, "
                   f"technical+industry {tpl.lb[s, 1]}, field-matched technical {tpl.lb[s, tpl.MATCHED]}).",
                   {"required": int(need[0]), "panel_size": n})


# ---- precheck: counts of eligible experts and capacities ----

def panel_seats(comp: Compiled, cnt: np.ndarray):
    """Per panel: enough eligible experts for its seats, and no more locked experts than seats."""
    lab = comp.problem.application_label
    for i, s, a, n, sn in _panels(comp):
        if cnt[i, 0] < n:
            yield (s, a, -1, f"{sn}：申请 {lab(a)} 回避与不可用排除后仅有 {cnt[i, 0]} 名可选专家，需要 {n} 名。",
                   f"{sn}: application {lab(a)} has only {cnt[i, 0]} eligible experts after conflicts "
                   f"and unavailability; the panel needs {n}.", {"eligible": int(cnt[i, 0]), "panel_size": n})
    lockcnt = np.bincount(comp.col_panel[comp.col_lock], minlength=comp.P)
    for i in np.nonzero(lockcnt > comp.panel_size)[0].tolist():
        a = int(comp.panel_app[i])
        yield (int(comp.panel_stage[i]), a, -1,
               f"申请 {lab(a)} 锁定了 {lockcnt[i]} 名专家，超过组规模 {comp.panel_size[i]}。",
               f"Application {lab(a)} has {lockcnt[i]} locked experts, more than the panel size {comp.panel_size[i]}.",
               {"locked": int(lockcnt[i])})


def category_experts(comp: Compiled, cnt: np.ndarray):
    """Per panel: eligible experts of each category; per stage: the category's total capacity."""
    p, tpl = comp.problem, comp.tpl
    lab, names = p.application_label, p.category_names
    for i, s, a, n, sn in _panels(comp):
        for c in range(tpl.n_cat):
            t = 2 + c
            lo = int(tpl.lb[s, t])
            if lo > 0 and cnt[i, t] < lo:
                yield (s, a, c,
                       f"{sn}：申请 {lab(a)} 缺少“{names[c]}”类专家：回避后可选 {cnt[i, t]} 名，需要 {lo} 名"
                       f"（该申请共有 {cnt[i, 0]} 名可选专家）。",
                       f"{sn}: application {lab(a)} lacks category '{names[c]}': {cnt[i, t]} eligible "
                       f"after conflicts, needs {lo} (it has {cnt[i, 0]} eligible experts in all).",
                       {"eligible": int(cnt[i, 0]), "panel_size": n, "category_eligible": int(cnt[i, t]), "needed": lo})
    cats = np.asarray(p.expert_category)
    for s in comp.solve_stages:
        cap_e = _stage_capacity(comp, s)
        sn = p.stages[s].name
        for c in range(tpl.n_cat):
            need = int(tpl.lb[s, 2 + c]) * int((comp.panel_stage == s).sum())
            capc = int(cap_e[cats == c].sum())
            if need > 0 and capc < need:
                yield (s, -1, c, f"{sn}：“{names[c]}”类专家评审量合计 {capc} 人次，少于所需 {need} 人次。",
                       f"{sn}: category '{names[c]}' experts can fill {capc} seats in all, {need} are needed.",
                       {"capacity": capc, "demand": need})


def tech_industry_experts(comp: Compiled, cnt: np.ndarray):
    tpl, lab = comp.tpl, comp.problem.application_label
    for i, s, a, n, sn in _panels(comp):
        lo = int(tpl.lb[s, tpl.TI])
        if lo > 0 and cnt[i, tpl.TI] < lo:
            yield (s, a, -1, f"{sn}：申请 {lab(a)} 的技术+产业类可选专家仅 {cnt[i, tpl.TI]} 名，需要 {lo} 名。",
                   f"{sn}: application {lab(a)} has {cnt[i, tpl.TI]} eligible technical+industry experts, "
                   f"needs {lo}.", {"eligible": int(cnt[i, 0]), "panel_size": n,
                                    "eligible_group": int(cnt[i, tpl.TI]), "needed": lo})


def matched_technical_experts(comp: Compiled, cnt: np.ndarray):
    tpl, lab = comp.tpl, comp.problem.application_label
    tc = int(comp.problem.rules.technical_category)
    for i, s, a, n, sn in _panels(comp):
        lo = int(tpl.lb[s, tpl.MATCHED])
        if lo > 0 and cnt[i, tpl.MATCHED] < lo:
            yield (s, a, tc, f"{sn}：申请 {lab(a)} 专业领域匹配的技术专家仅 {cnt[i, tpl.MATCHED]} 名，需要 {lo} 名。",
                   f"{sn}: application {lab(a)} has {cnt[i, tpl.MATCHED]} eligible technical experts "
                   f"matching its field, needs {lo}.",
                   {"eligible": int(cnt[i, 0]), "panel_size": n, "matched_eligible": int(cnt[i, tpl.MATCHED]),
                    "needed": lo})


def chair_eligible_experts(comp: Compiled, cnt: np.ndarray):
    tpl, lab = comp.tpl, comp.problem.application_label
    tc = int(comp.problem.rules.technical_category)
    for i, s, a, n, sn in _panels(comp):
        lo = int(tpl.lb[s, tpl.CHAIR])
        if lo > 0 and cnt[i, tpl.CHAIR] < lo:
            yield (s, a, tc, f"{sn}：申请 {lab(a)} 没有可担任组长的专家（高级、技术类、领域匹配且无回避）。",
                   f"{sn}: application {lab(a)} has no eligible chair (senior technical expert matching "
                   f"its field, without conflict).",
                   {"eligible": int(cnt[i, 0]), "panel_size": n, "chair_eligible": int(cnt[i, tpl.CHAIR])})


def distinct_employers(comp: Compiled, cnt: np.ndarray):
    p = comp.problem
    if not p.rules.one_per_employer or not comp.n_cols:
        return
    lab = p.application_label
    emp = comp.col_emp
    pe = np.unique(np.stack([comp.col_panel[emp >= 0], emp[emp >= 0]]), axis=1) if (emp >= 0).any() \
        else np.zeros((2, 0), dtype=np.int64)
    distinct = np.bincount(pe[0], minlength=comp.P) + np.bincount(comp.col_panel[emp < 0], minlength=comp.P)
    for i, s, a, n, sn in _panels(comp):
        if distinct[i] >= n or cnt[i, 0] < n:
            continue
        yield (s, a, -1, f"{sn}：申请 {lab(a)} 的可选专家只来自 {distinct[i]} 个不同单位，而每单位至多一人、需要 {n} 名。",
               f"{sn}: application {lab(a)}'s eligible experts come from only {distinct[i]} employers "
               f"(one per employer), the panel needs {n}.", {"distinct_employers": int(distinct[i]), "panel_size": n})


def stage_capacity(comp: Compiled, cnt: np.ndarray):
    """Per stage: the experts' total load capacity against the seats, minimum loads against the
    seats, and no expert locked on more panels than their maximum."""
    p = comp.problem
    for s in comp.solve_stages:
        cap = int(_stage_capacity(comp, s).sum())
        demand = int(comp.panel_size[comp.panel_stage == s].sum())
        sn = p.stages[s].name
        if cap < demand:
            yield (s, -1, -1, f"{sn}：专家评审量总上限 {cap} 人次，少于所需 {demand} 人次。",
                   f"{sn}: total expert capacity is {cap} seats, less than the {demand} seats needed.",
                   {"capacity": cap, "demand": demand})
        min_sum = int(comp.min_load[s].sum())
        if min_sum > demand:
            yield (s, -1, -1, f"{sn}：专家最低评审量合计 {min_sum}，超过席位总数 {demand}。",
                   f"{sn}: minimum loads add up to {min_sum}, more than the {demand} seats.",
                   {"min_load_sum": min_sum, "demand": demand})
        lk = (comp.col_stage == s) & comp.col_lock
        per_lock = np.bincount(comp.col_expert[lk], minlength=p.n_experts)
        for e in np.nonzero(per_lock > comp.max_load[s])[0].tolist():
            yield (s, -1, -1, f"{sn}：专家 {p.expert_label(e)} 被锁定 {per_lock[e]} 个席位，超过上限 {comp.max_load[s, e]}。",
                   f"{sn}: expert {p.expert_label(e)} is locked on {per_lock[e]} panels, above the maximum {comp.max_load[s, e]}.",
                   {"expert": p.expert_label(e), "locked": int(per_lock[e])})


def barred_experts_bind(comp: Compiled, cnt: np.ndarray):
    """Per panel short of eligible experts under some node of its template (in all, of a category,
    technical+industry, field-matched, chair) where the experts the pool standing bars would close the
    gap: the bar binds. Counted again on the problem without the bars (one more compilation, only on
    this diagnostic path)."""
    p = comp.problem
    if p.barred is None or not comp.P:
        return
    free = compile_problem(replace(p, barred=None), comp.scale, comp.solve_stages)
    cnt0 = counts_by_node(free)
    lab, who, tpl = p.application_label, p.expert_label, comp.tpl
    for i, s, a, n, sn in _panels(comp):
        need = tpl.lb[s].copy()
        need[0] = n
        binds = np.nonzero((cnt[i] < need) & (cnt0[i] >= need))[0]
        if not len(binds):
            continue
        barred = sorted(set(free.col_expert[free.col_panel == i].tolist()) - set(comp.col_expert[comp.col_panel == i].tolist()))
        names = "、".join(who(e) for e in barred[:10]) + (" 等" if len(barred) > 10 else "")
        yield (s, a, -1, f"{sn}：申请 {lab(a)} 的可选专家不足，{len(barred)} 名专家因专家库资格（信用惩戒冷却期或"
                         f"连续评审轮换限制）不可抽取，否则足够：{names}。",
               f"{sn}: application {lab(a)} is short of eligible experts; {len(barred)} more are barred by the pool "
               f"standing (credit penalty cooling-off or rotation limit), without whom it would have enough: {names}.",
               {"barred": len(barred), "eligible": int(cnt[i, 0]), "panel_size": n})
