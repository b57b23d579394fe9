import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import conflicts as svc_conflicts
from reviewer.app import imports as svc_imports
from reviewer.app.ui.common import T, can_edit, flash, guard, header, lang, read_only_note, round_id, table, text_table, editor_name, chart
from reviewer.conflicts.detector import RULES

header("experts", "专家库按类别和领域的分布；每个申报的回避专家、回避规则（C1–C9）和依据；经批准的豁免。",
       "The pool by category and field; per application the excluded experts with rule (C1–C9) and evidence; waivers.")
rid = round_id()
b = guard(svc_imports.load_bundle, rid)
if b is None or not b.data.experts:
    st.info(T("尚无专家库，请先导入。", "No expert pool yet: import first."))
    st.stop()

# only the open tab's content is made and sent (Streamlit's lazy tabs: a switch reruns the page): the
# 回避 and 豁免 tabs' chart, tables and forms cost the browser and the server on every run otherwise
tab_pool, tab_conf, tab_waive = st.tabs([T("专家库", "Pool"), T("回避", "Conflicts"), T("豁免", "Waivers")],
                                        key="experts_tab", on_change="rerun")
if tab_pool.open is not False:
    with tab_pool:
        c1, c2 = st.columns(2)
        by_category, by_field, pool = svc_conflicts.pool_tables(rid)
        chart(c1, charts.pool_by_category, by_category, lang(), width="stretch")
        chart(c2, charts.pool_by_field, by_field, lang(), width="stretch")
        table(pool, ["expert_id", "name", "category", "title_level", "status", "city", "employer", "fields"], height=320)

t = svc_conflicts.conflicts_table(rid)
names = {a.application_id: a.name for a in b.data.applications}
if tab_conf.open is not False:
    with tab_conf:
        chart(st, charts.conflicts_by_rule, t, lang(), width="stretch")
        # the per-application counts under the chart, full width: a column per rule does not fit beside it
        st.markdown(T("**每个申报的回避专家数与剩余可用专家数**（按规则计数；C7 不可抽取未计入）",
                      "**Excluded and remaining experts per application** (by rule; C7 unavailable not counted)"))
        text_table(svc_conflicts.conflicts_overview(rid), height=360)    # headers wrap: none is cut
        apps = [a.application_id for a in b.data.applications]
        app = st.selectbox(T("查看申报", "Application"), apps, format_func=lambda a: f"{a} {names[a]}")
        hits = svc_conflicts.conflicts_of(rid, app)
        hits = hits[hits["rule"] != "C7"]
        st.caption(T(f"{app} 共 {hits['expert_id'].nunique()} 位专家有回避关系（不含 C7 不可抽取）",
                     f"{app}: {hits['expert_id'].nunique()} experts with a conflict (C7 unavailable not shown)"))
        # the evidence read whole (a static table wraps it; the data grid clipped it)
        text_table(hits, ["expert_id", "expert_name", "rule", "rule_zh", "severity", "excludes", "waived", "evidence"],
                   height=360)

if tab_waive.open is not False:
    with tab_waive:
        read_only_note()
        st.markdown(T(f"可豁免的规则：{', '.join(f'{r} {RULES[r][0]}' for r in b.policy.conflicts.waivable_rules)}。豁免须写明理由，记入操作记录。",
                      f"Waivable rules: {', '.join(b.policy.conflicts.waivable_rules)}. A waiver needs a reason and is audited."))
        cand = t[t["rule"].isin(b.policy.conflicts.waivable_rules) & ~t["waived"]]
        if cand.empty:
            st.caption(T("没有可豁免的回避关系。", "No waivable conflicts."))
        else:
            # the application first, then its conflicts: one list of every waivable pair (~2,000 in the demo
            # round) could not be searched by eye and was sent to the browser on every run of this page
            w_apps = sorted(set(cand["application_id"]))
            w_app = st.selectbox(T("申报（有可豁免回避关系的）", "Application (with waivable conflicts)"), w_apps,
                                 format_func=lambda a: f"{a} {names.get(a, '')}", key="waive_app")
            mine = cand[cand["application_id"] == w_app]
            with st.form("waiver"):
                keys = [f"{a} {e} {r}" for a, e, r in zip(mine.application_id, mine.expert_id, mine.rule)]
                k = st.selectbox(T("回避关系（申报 专家 规则）", "Conflict (application expert rule)"), keys)
                reason = st.text_area(T("豁免理由（必填）", "Reason (required)"))
                ok = st.form_submit_button(T("豁免", "Waive"), type="primary", disabled=not can_edit())
            if ok:
                a, e, r = k.split(" ")
                if guard(svc_conflicts.add_waiver, rid, a, e, r, reason, editor_name()) is not None:
                    flash(T(f"已豁免 {a} – {e}（{r}）", f"Waived {a} – {e} ({r})"))
                    st.rerun()
        w = svc_conflicts.waivers(rid)
        st.markdown(T("**本轮在系统中添加的豁免**", "**Waivers added here**"))
        text_table(w, ["application_id", "expert_id", "rule", "reason", "user", "at"])
        if not w.empty:
            with st.form("waiver_remove"):
                cc = st.columns([2, 2, 1])
                wkeys = [f"{a} {e} {r}" for a, e, r in zip(w.application_id, w.expert_id, w.rule)]
                pick = cc[0].selectbox(T("撤销豁免（申报 专家 规则）", "Withdraw a waiver (application expert rule)"), wkeys)
                why_rm = cc[1].text_input(T("撤销理由（必填）", "Reason (required)"), key="waiver_rm_reason")
                rm = cc[2].form_submit_button(T("撤销豁免", "Withdraw"), disabled=not can_edit())
            if rm:
                a, e, r = pick.split(" ")
                if guard(svc_conflicts.remove_waiver, rid, a, e, r, why_rm, editor_name()) is not None:
                    flash(T(f"已撤销 {a} – {e}（{r}）的豁免；此前的专家组方案已过期，请重新求解。",
                            f"Waiver of {a} – {e} ({r}) withdrawn; earlier plans are out of date: re-plan."))
                    st.rerun()
        inputs = t[t["waived"]]
        if not inputs.empty:
            st.markdown(T("**已生效的全部豁免**", "**All waivers in force**"))
            text_table(inputs, ["application_id", "expert_id", "rule", "rule_zh", "waiver_reason"])
