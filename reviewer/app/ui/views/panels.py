import random

import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import imports as svc_imports
from reviewer.app import panels as svc_panels
from reviewer.app.text import summary_item
from reviewer.app.ui import formatting as fmt
from reviewer.app.ui.common import T, can_edit, flash, guard, header, lang, read_only_note, round_id, table, text_table, editor_name, chart

header("panels", "为一个阶段组建专家组：确定性优化或随机抽取（记录随机种子，可复现）；五类专家全覆盖、回避、负载上限；"
                 "可锁定或排除专家、替换请辞专家，无解时说明原因；发布后不可更改。",
       "Build the panels of one stage: optimised or a random draw (seed logged, reproducible); all five categories, "
       "conflicts, load caps; lock or forbid pairs, replace a declining expert, plain reasons when no plan exists; "
       "publish (then immutable).")
rid = round_id()
PANELS_TAB = T("专家组", "Panels")
b = guard(svc_imports.load_bundle, rid)
if b is None or not b.data.applications or not b.data.experts:
    st.info(T("请先导入申报和专家库。", "Import applications and experts first."))
    st.stop()
policy = b.policy
cats = list(policy.panel_rules.categories)
stage = st.radio(T("评审阶段", "Stage"), policy.stages.order, horizontal=True, key="panel_stage",
                 format_func=lambda s: f"{s}（{policy.panel_size(s)}人）")
saved = svc_panels.saved_plan(rid, stage)
published = saved is not None and saved.published

# ---------------------------------------------------------------- solve
with st.container(border=True):
    read_only_note()
    c = st.columns([2, 1, 1, 1])
    mode = c[0].radio(T("方式", "Mode"), ["optimise", "draw"], horizontal=True,
                      format_func=lambda m: {"optimise": T("确定性优化", "deterministic optimum"),
                                             "draw": T("随机抽取（概率上限）", "random draw (capped)")}[m])
    if "seed" not in st.session_state:
        st.session_state["seed"] = int((saved.meta.get("seed") if saved else 0) or 0)
    seed = c[1].number_input(T("随机种子", "Seed"), min_value=0, max_value=2**31 - 1, step=1, key="seed")
    if c[1].button(T("新种子", "New seed"), disabled=not can_edit()):
        st.session_state["seed"] = random.SystemRandom().randrange(1, 10**6)
        st.rerun()
    tl = c[2].number_input(T("时间上限（秒）", "Time limit (s)"), min_value=1, max_value=600, value=30, step=5)
    inc = c[3].checkbox(T("含需复核申报", "Include needs-review"), value=False)
    go = st.button(T("求解", "Solve"), type="primary", disabled=not can_edit() or published)
    if published:
        st.caption(T("本阶段已发布，不可重新求解；如有专家请辞，请用下方“替换专家”。",
                     "Published: no re-solve; replace a declining expert below."))
    if go:
        # A spinner and the solver's own phase lines as they come: the solver cannot say how far it is,
        # so no progress bar is shown (a bar that does not move says nothing true).
        with st.status(T(f"正在求解 {stage}（时间上限 {int(tl)} 秒）…", f"Solving {stage} (limit {int(tl)} s)…"),
                       expanded=True) as status:
            res = guard(svc_panels.plan_stage, rid, stage, randomize=(mode == "draw"), seed=int(seed), time_limit=float(tl),
                        include_review=inc, echo=status.write, user=editor_name())
            if res is None:
                status.update(label=T("求解失败", "Failed"), state="error")
            else:
                word = fmt.VALUE_WORDS.get(res.meta["status"], (res.meta["status"],))[0]   # 最优 / 可行, not OPTIMAL
                status.update(label=T(f"完成：{word}（{res.meta['wall_seconds']:.1f} 秒，种子 {res.meta['seed']}）",
                                      f"Done: {res.meta['status']} ({res.meta['wall_seconds']:.1f} s, seed {res.meta['seed']})"),
                              state="complete" if res.feasible else "error")
                saved = res
                st.session_state["panels_tab"] = PANELS_TAB     # a new plan is looked at first

if saved is None:
    st.info(T("本阶段尚无方案。", "No plan for this stage yet."))
    st.stop()

m = saved.meta
mode_txt = T("随机抽取", "random draw") if m.get("randomize") else T("确定性优化", "optimised")
# the solver's status in words and the stored UTC times in Beijing time, as in the tables
status = fmt.VALUE_WORDS.get(str(m.get("status")), (m.get("status"),) * 2)[0 if lang() == "zh" else 1]
st.markdown(f"**{T('方案', 'Plan')}**：{status} · {mode_txt} · {T('随机种子', 'seed')} **{m.get('seed')}** · "
            f"{T('用时', 'time')} {m.get('wall_seconds')} s · {T('锁定', 'locks')} {m.get('locks', 0)} · "
            f"{T('排除', 'forbids')} {m.get('forbids', 0)} · {fmt.local_stamp(m.get('planned_at', ''))} "
            f"{m.get('planned_by', '')}"
            + (f" · **{T('已发布', 'published')}** {fmt.local_stamp(m.get('published_at', ''))}" if published else ""))
if m.get("stale"):
    st.warning(T("**方案已过期**：求解之后本轮有以下变化，请重新求解后再发布：",
                 "**Out of date**: the round changed after this plan was made; re-plan before publishing:")
               + "\n" + "\n".join(f"- {x}" for x in m["stale"]))
for o in m.get("overrides", []):
    st.warning(f"{m.get('stage')} {o['application_id']} {o['expert_id']}: {o['text']} ({o['user']}, {fmt.local_stamp(o['at'])})")

if not saved.feasible:
    st.error(T("无法组成符合规则的专家组。原因：", "No panel plan satisfies the rules. Why:"))
    d = saved.diagnostics
    if d.empty:
        st.write(T("求解器未给出具体原因（可能是时间上限太短）。", "No specific reason (the time limit may be too short)."))
    else:
        for _, r in d.iterrows():
            st.markdown(f"- {r['message_zh'] if lang() == 'zh' else r['message_en']}")
        with st.expander(T("明细", "Details")):
            table(d, ["rule", "stage", "application_id", "category", "message_zh", "message_en", "counts"])
    st.stop()

# only the open tab's content is made and sent (Streamlit's lazy tabs: a switch reruns the page): the panel
# table of every seat, the heat map and the charts cost every run of this page otherwise, the solve's and
# the publication's included
tabs = st.tabs([PANELS_TAB, T("类别覆盖", "Coverage"), T("负载", "Load"), T("匹配度", "Affinity"),
                T("目标分解", "Objective"), T("锁定与排除", "Lock / forbid"), T("替换专家", "Replace"), T("发布", "Publish")],
               key="panels_tab", on_change="rerun")
p = saved.panels
if tabs[0].open is not False:
    with tabs[0]:
        apps = sorted(p["application_id"].unique())
        names = dict(zip(p.application_id, p.application_name))
        sel = st.selectbox(T("申报", "Application"), [""] + apps,
                           format_func=lambda a: T("全部", "all") if a == "" else f"{a} {names[a]}")
        view = p if not sel else p[p["application_id"] == sel]
        st.caption(T(f"{p['application_id'].nunique()} 个专家组，{len(p)} 个席位，{p['expert_id'].nunique()} 位专家",
                     f"{p['application_id'].nunique()} panels, {len(p)} seats, {p['expert_id'].nunique()} experts"))
        # a static table: in the grid the thirteen columns' headers and the names were cut
        text_table(view, ["application_id", "application_name", "field", "expert_id", "expert_name", "category",
                          "title_level", "employer", "role_zh", "affinity", "field_match", "same_city", "override"],
                   height=480)
if tabs[1].open is not False:
    with tabs[1]:
        chart(st, charts.coverage_heatmap, svc_panels.coverage_long(saved, cats), cats, lang(),
              height=18 * max(1, p["application_id"].nunique()) + 90)
if tabs[2].open is not False:
    with tabs[2]:
        chart(st, charts.load_histogram, saved.loads, lang(), width="stretch")
        table(saved.loads.sort_values("load", ascending=False), ["expert_id", "expert_name", "category", "employer",
                                                                 "load", "max_load"], height=280)
if tabs[3].open is not False:
    with tabs[3]:
        aff = svc_panels.affinity_by_panel(saved)
        chart(st, charts.affinity_bars, aff, lang(), width="stretch")
if tabs[4].open is not False:
    with tabs[4]:
        chart(st, charts.objective_breakdown, saved.breakdown(), lang(), width="stretch")
        table(saved.summary.assign(item=saved.summary["item"].map(lambda k: summary_item(k, lang()))), ["item", "value"])
if tabs[5].open is not False:
    with tabs[5]:
        st.markdown(T("锁定：强制某专家进入某申报的专家组；排除：不得进入。人工指定须写明理由（随机抽取规则）。"
                      "新发现的利害关系（如与申报单位有合作项目）请选“回避（全部阶段）”，写明依据：该专家在所有未发布阶段都不会进入该申报的专家组。"
                      "修改后方案即过期，请重新求解。",
                      "Lock forces a pair, forbid excludes it; a manual pick needs a reason. A newly found relation is a "
                      "conflict of the pair: choose 'conflict (all stages)' with the evidence. The plan is then out of "
                      "date: re-solve."))
        con = svc_panels.constraints(rid, stage)
        text_table(con, ["kind", "scope_zh", "expert_id", "application_id", "reason", "user", "at"])
        kinds = {"forbid_pair": T("回避（全部阶段，新发现关系）", "conflict (all stages)"),
                 "forbid": T("排除（仅本阶段）", "forbid (this stage only)"), "lock": T("锁定（仅本阶段）", "lock (this stage)")}
        with st.form("constraint"):
            cc = st.columns([1.4, 1, 1, 2])
            kind = cc[0].selectbox(T("类型", "Kind"), list(kinds), format_func=kinds.get)
            eid = cc[1].text_input(T("专家编号", "Expert id"))
            aid = cc[2].selectbox(T("申报编号", "Application"), sorted(p["application_id"].unique()))
            why = cc[3].text_input(T("理由 / 依据", "Reason / evidence"))
            ok = st.form_submit_button(T("添加", "Add"), disabled=not can_edit())
        if ok:
            notes = guard(svc_panels.set_constraint, rid, stage, "lock" if kind == "lock" else "forbid", eid.strip(), aid,
                          why, editor_name(), all_stages=(kind == "forbid_pair"))
            if notes is not None:
                flash(T("已添加，请重新求解。", "Added: re-solve now.")
                      + ("" if notes is True else " " + "；".join(notes)))
                st.rerun()
        if not con.empty:
            with st.form("constraint_remove"):
                cc = st.columns([2, 2, 1])
                keys = [f"{r.kind} {r.expert_id} × {r.application_id}" for r in con.itertuples()]
                pick = cc[0].selectbox(T("撤销", "Withdraw"), range(len(keys)), format_func=lambda i: keys[i])
                why_rm = cc[1].text_input(T("撤销理由", "Reason"), key="rm_reason")
                rm = cc[2].form_submit_button(T("撤销", "Withdraw"), disabled=not can_edit() or published)
            if rm:
                r = con.iloc[int(pick)]
                if guard(svc_panels.remove_constraint, rid, stage, r.expert_id, r.application_id, editor_name(),
                         why_rm) is not None:
                    flash(T("已撤销，请重新求解。", "Withdrawn: re-solve now."))
                    st.rerun()
if tabs[6].open is not False:
    with tabs[6]:
        st.markdown(T("专家请辞或无法参加：已发布的阶段只替换其席位，其余席位保持不变，每项变更记入操作记录；"
                      "尚未发布的方案则记录排除（附理由）并按原种子重新求解。",
                      "An expert declines: on a published stage only their seats change (audited); on a draft the "
                      "seats are forbidden (with the reason) and the stage is re-planned with the same seed."))
        with st.form("replace"):
            cc = st.columns([1, 1, 2])
            eids = sorted(p["expert_id"].unique())
            enames = dict(zip(p.expert_id, p.expert_name))
            eid = cc[0].selectbox(T("请辞专家", "Declining expert"), eids, format_func=lambda e: f"{e} {enames[e]}")
            scope = cc[1].selectbox(T("范围", "Scope"), ["", *sorted(p["application_id"].unique())],
                                    format_func=lambda a: T("本阶段全部", "whole stage") if a == "" else a)
            why = cc[2].text_input(T("理由", "Reason"), placeholder="专家因故无法参加")
            ok = st.form_submit_button(T("替换", "Replace"), type="primary", disabled=not can_edit())
        if ok:
            out = guard(svc_panels.replace_expert, rid, stage, eid, scope or None, why, float(tl), editor_name())
            if out is not None:
                st.session_state["last_changes"] = out[1]
        ch = st.session_state.get("last_changes")
        if ch is not None:
            st.success(T(f"变更：{int((ch.change == 'removed').sum())} 个席位移出，{int((ch.change == 'added').sum())} 个席位补入，其余不变。",
                         f"Changed: {int((ch.change == 'removed').sum())} seats out, {int((ch.change == 'added').sum())} in; the rest unchanged."))
            table(ch, ["change_zh", "stage", "application_id", "expert_id", "expert_name", "category", "role_zh"])
if tabs[7].open is not False:
    with tabs[7]:
        if published:
            when = fmt.local_stamp(m.get("published_at", ""))     # stored in UTC, shown in Beijing time
            st.success(T(f"已于 {when} 由 {m.get('published_by')} 发布，方案不可更改。",
                         f"Published {when} by {m.get('published_by')}; the plan is immutable."))
        else:
            sure = st.checkbox(T("我已核对专家组，确认发布（发布后不可更改）", "I checked the panels; publish (immutable)"))
            confirm = ""
            if m.get("stale"):
                st.error(T("方案已过期，应先重新求解。如确需按此方案发布，请写明理由（连同差异记入操作记录）。",
                           "The plan is out of date: re-solve first. To publish it anyway, give a reason (audited "
                           "with the differences)."))
                confirm = st.text_input(T("按过期方案发布的理由", "Reason to publish the out-of-date plan"))
            if st.button(T("发布", "Publish"), type="primary",
                         disabled=not (sure and can_edit()) or bool(m.get("stale") and not confirm.strip())):
                if guard(svc_panels.publish, rid, stage, editor_name(), confirm_stale=confirm) is not None:
                    flash(T(f"{stage} 专家组已发布。", f"{stage} published."))
                    st.rerun()
