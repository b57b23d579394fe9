"""Plain-language reasons for infeasibility (Chinese and English).

1. `precheck`: counting conditions that every plan needs (per panel: eligible experts after
   exclusions, per category, tech+industry, field-matched technical, chair-eligible, distinct
   employers; per stage: load capacity vs seats, per category capacity, locks vs caps).
   Any failure is a proof of infeasibility.
2. `core_diagnostics`: when the counts pass but no plan exists, CP-SAT with one assumption literal
   per (family, panel) or (family, stage) returns a sufficient set of clashing groups.
"""
from __future__ import annotations

import numpy as np

from .compile import Compiled
from .model import Diagnostic

FAMILY_ZH = {
    "excluded_pairs": "回避", "panel_size": "专家人数", "category_coverage": "五类专家覆盖",
    "tech_industry_share": "技术+产业专家占比", "field_matched_technical": "领域匹配的技术专家",
    "chair": "组长（高级技术专家）", "one_per_employer": "同一单位至多一人", "expert_load": "专家评审量",
    "locks_and_forbids": "锁定/禁止", "stage_independence": "阶段独立（同一专家不重复评审）",
}


def _counts_by_node(comp: Compiled, mask=None):
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


def precheck(comp: Compiled) -> list:
    p = comp.problem
    lab = p.application_label
    tpl = comp.tpl
    names = p.category_names
    out = list(comp.diagnostics)
    from .compile import required_size
    for s in comp.solve_stages:
        need = required_size(tpl, s)
        n = int(p.stages[s].panel_size)
        if need[0] > n:
            sn = p.stages[s].name
            out.append(Diagnostic("panel_size", s, -1, -1,
                                  f"{sn}：规则自相矛盾——各类专家的最低人数合计需要 {need[0]} 人，而专家组只有 {n} 人"
                                  f"（五类各至少 {tpl.lb[s, 2:2 + tpl.n_cat].tolist()}，技术+产业至少 {tpl.lb[s, 1]}，"
                                  f"领域匹配技术专家至少 {tpl.lb[s, tpl.MATCHED]}）。",
                                  f"{sn}: the rules contradict each other: the category minima need {need[0]} "
                                  f"experts but the panel has {n} (per category {tpl.lb[s, 2:2 + tpl.n_cat].tolist()}, "
                                  f"technical+industry {tpl.lb[s, 1]}, field-matched technical {tpl.lb[s, tpl.MATCHED]}).",
                                  {"required": int(need[0]), "panel_size": n}))
    if out:
        return out
    cnt = _counts_by_node(comp)
    total = cnt[:, 0]
    for i in range(comp.P):
        s, a, n = int(comp.panel_stage[i]), int(comp.panel_app[i]), int(comp.panel_size[i])
        sn = p.stages[s].name
        base = {"eligible": int(total[i]), "panel_size": n}
        if total[i] < n:
            out.append(Diagnostic("panel_size", s, a, -1,
                                  f"{sn}：申请 {lab(a)} 回避与不可用排除后仅有 {total[i]} 名可选专家，需要 {n} 名。",
                                  f"{sn}: application {lab(a)} has only {total[i]} eligible experts after conflicts "
                                  f"and unavailability; the panel needs {n}.", dict(base)))
        for c in range(tpl.n_cat):
            t = 2 + c
            lo = int(tpl.lb[s, t])
            if lo > 0 and cnt[i, t] < lo:
                out.append(Diagnostic("category_coverage", s, a, c,
                                      f"{sn}：申请 {lab(a)} 缺少“{names[c]}”类专家：回避后可选 {cnt[i, t]} 名，需要 {lo} 名"
                                      f"（该申请共有 {total[i]} 名可选专家）。",
                                      f"{sn}: application {lab(a)} lacks category '{names[c]}': {cnt[i, t]} eligible "
                                      f"after conflicts, needs {lo} (it has {total[i]} eligible experts in all).",
                                      dict(base, category_eligible=int(cnt[i, t]), needed=lo)))
        lo = int(tpl.lb[s, tpl.TI])
        if lo > 0 and cnt[i, tpl.TI] < lo:
            out.append(Diagnostic("tech_industry_share", s, a, -1,
                                  f"{sn}：申请 {lab(a)} 的技术+产业类可选专家仅 {cnt[i, tpl.TI]} 名，需要 {lo} 名。",
                                  f"{sn}: application {lab(a)} has {cnt[i, tpl.TI]} eligible technical+industry experts, "
                                  f"needs {lo}.", dict(base, eligible_group=int(cnt[i, tpl.TI]), needed=lo)))
        lo = int(tpl.lb[s, tpl.MATCHED])
        tc = int(p.rules.technical_category)
        if lo > 0 and cnt[i, tpl.MATCHED] < lo:
            out.append(Diagnostic("field_matched_technical", s, a, tc,
                                  f"{sn}：申请 {lab(a)} 专业领域匹配的技术专家仅 {cnt[i, tpl.MATCHED]} 名，需要 {lo} 名。",
                                  f"{sn}: application {lab(a)} has {cnt[i, tpl.MATCHED]} eligible technical experts "
                                  f"matching its field, needs {lo}.",
                                  dict(base, matched_eligible=int(cnt[i, tpl.MATCHED]), needed=lo)))
        lo = int(tpl.lb[s, tpl.CHAIR])
        if lo > 0 and cnt[i, tpl.CHAIR] < lo:
            out.append(Diagnostic("chair", s, a, tc,
                                  f"{sn}：申请 {lab(a)} 没有可担任组长的专家（高级、技术类、领域匹配且无回避）。",
                                  f"{sn}: application {lab(a)} has no eligible chair (senior technical expert matching "
                                  f"its field, without conflict).", dict(base, chair_eligible=int(cnt[i, tpl.CHAIR]))))
    # distinct employers
    if p.rules.one_per_employer and comp.n_cols:
        emp = comp.col_emp
        pe = np.unique(np.stack([comp.col_panel[emp >= 0], emp[emp >= 0]]), axis=1) if (emp >= 0).any() \
            else np.zeros((2, 0), dtype=np.int64)
        distinct = np.bincount(pe[0], minlength=comp.P) + np.bincount(comp.col_panel[emp < 0], minlength=comp.P)
        for i in np.nonzero(distinct < comp.panel_size)[0].tolist():
            s, a, n = int(comp.panel_stage[i]), int(comp.panel_app[i]), int(comp.panel_size[i])
            if total[i] < n:
                continue
            out.append(Diagnostic("one_per_employer", s, a, -1,
                                  f"{p.stages[s].name}：申请 {lab(a)} 的可选专家只来自 {distinct[i]} 个不同单位，"
                                  f"而每单位至多一人、需要 {n} 名。",
                                  f"{p.stages[s].name}: application {lab(a)}'s eligible experts come from only "
                                  f"{distinct[i]} employers (one per employer), the panel needs {n}.",
                                  {"distinct_employers": int(distinct[i]), "panel_size": n}))
    # stage capacity
    E = p.n_experts
    cats = np.asarray(p.expert_category)
    for s in comp.solve_stages:
        m = comp.col_stage == s
        per_e = np.bincount(comp.col_expert[m], minlength=E)
        cap_e = np.minimum(per_e, comp.max_load[s])
        demand = int(comp.panel_size[comp.panel_stage == s].sum())
        sn = p.stages[s].name
        if cap_e.sum() < demand:
            out.append(Diagnostic("expert_load", s, -1, -1,
                                  f"{sn}：专家评审量总上限 {int(cap_e.sum())} 人次，少于所需 {demand} 人次。",
                                  f"{sn}: total expert capacity is {int(cap_e.sum())} seats, less than the "
                                  f"{demand} seats needed.", {"capacity": int(cap_e.sum()), "demand": demand}))
        if comp.min_load[s].sum() > demand:
            out.append(Diagnostic("expert_load", s, -1, -1,
                                  f"{sn}：专家最低评审量合计 {int(comp.min_load[s].sum())}，超过席位总数 {demand}。",
                                  f"{sn}: minimum loads add up to {int(comp.min_load[s].sum())}, more than the "
                                  f"{demand} seats.", {"min_load_sum": int(comp.min_load[s].sum()), "demand": demand}))
        for c in range(tpl.n_cat):
            need = int(tpl.lb[s, 2 + c]) * int((comp.panel_stage == s).sum())
            capc = int(cap_e[cats == c].sum())
            if need > 0 and capc < need:
                out.append(Diagnostic("category_coverage", s, -1, c,
                                      f"{sn}：“{names[c]}”类专家评审量合计 {capc} 人次，少于所需 {need} 人次。",
                                      f"{sn}: category '{names[c]}' experts can fill {capc} seats in all, "
                                      f"{need} are needed.", {"capacity": capc, "demand": need}))
        # locks vs caps
        lk = m & comp.col_lock
        per_lock = np.bincount(comp.col_expert[lk], minlength=E)
        for e in np.nonzero(per_lock > comp.max_load[s])[0].tolist():
            out.append(Diagnostic("locks_and_forbids", s, -1, -1,
                                  f"{sn}：专家 {e} 被锁定 {per_lock[e]} 个席位，超过上限 {comp.max_load[s, e]}。",
                                  f"{sn}: expert {e} is locked on {per_lock[e]} panels, above the maximum "
                                  f"{comp.max_load[s, e]}.", {"expert": e, "locked": int(per_lock[e])}))
    lockcnt = np.bincount(comp.col_panel[comp.col_lock], minlength=comp.P)
    for i in np.nonzero(lockcnt > comp.panel_size)[0].tolist():
        out.append(Diagnostic("locks_and_forbids", int(comp.panel_stage[i]), int(comp.panel_app[i]), -1,
                              f"申请 {lab(comp.panel_app[i])} 锁定了 {lockcnt[i]} 名专家，超过组规模 {comp.panel_size[i]}。",
                              f"Application {lab(comp.panel_app[i])} has {lockcnt[i]} locked experts, more than the "
                              f"panel size {comp.panel_size[i]}.", {"locked": int(lockcnt[i])}))
    return out


def core_diagnostics(comp: Compiled, time_limit=20.0) -> list:
    """CP-SAT assumption core over (family, key) literals, as Diagnostics."""
    from .cpsat import build_model, solve_model

    ctx = build_model(comp, diagnose=True)
    res = solve_model(ctx, time_limit=time_limit, assumptions=True)
    p = comp.problem
    lab = p.application_label
    out = []
    if res.status != "INFEASIBLE":
        return out
    for fam, key in res.core:
        zh = FAMILY_ZH.get(fam, fam)
        if fam in ("expert_load",):
            s = int(key)
            out.append(Diagnostic(fam, s, -1, -1, f"{p.stages[s].name}：{zh}约束与其他规则冲突。",
                                  f"{p.stages[s].name}: the {fam} rule clashes with the other rules.", {}))
        elif fam == "stage_independence":
            a = int(key)
            out.append(Diagnostic(fam, -1, a, -1, f"申请 {lab(a)}：{zh}约束与其他规则冲突。",
                                  f"Application {lab(a)}: the stage-independence rule clashes with the other rules.", {}))
        else:
            i = int(key)
            s, a = int(comp.panel_stage[i]), int(comp.panel_app[i])
            n_el = int((comp.col_panel == i).sum())
            out.append(Diagnostic(fam, s, a, -1,
                                  f"{p.stages[s].name}：申请 {lab(a)} 的“{zh}”规则无法与其他规则同时满足（可选专家 {n_el} 名）。",
                                  f"{p.stages[s].name}: application {lab(a)}: the {fam} rule cannot hold together with "
                                  f"the others ({n_el} eligible experts).", {"eligible": n_el}))
    if not out:
        out.append(Diagnostic("unknown", -1, -1, -1, "规则组合无解，但未能定位具体原因。",
                              "The rules have no solution together; no smaller cause was found.", {}))
    return out
