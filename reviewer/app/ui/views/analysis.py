import streamlit as st

from reviewer.analytics import charts
from reviewer.analytics.bias import SCHEME_ZH
from reviewer.analytics.validity import VALIDITY_SCHEME
from reviewer.analytics.whatif import Scenario
from reviewer.app import analysis as svc
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app.text import METHOD_LABELS
from reviewer.app.ui.common import T, guard, header, require_user, round_id, table, chart

header("analysis", "分析人员工具（只读）：关系偏差审计、假设方案重排（不改变已记录的排名）、评分的预测效度。",
       "Analysts' tools (read-only): relation-bias audit, what-if re-ranking (the recorded ranking is never "
       "changed), and the predictive validity of the scores.")
rid = round_id()
pol = svc_rounds.policy_for(rid)
tabs = st.tabs([T("关系偏差审计", "Relation bias"), T("假设方案重排", "What-if"), T("预测效度", "Predictive validity")])

with tabs[0]:
    st.caption(T("方法：", "Method: ") + SCHEME_ZH)
    stages = svc_scores.scored_stages(rid)
    chosen = st.multiselect(T("评审阶段", "Stages"), stages, default=stages, key="bias_stages", placeholder=T("请选择（可多选）", "Choose"))
    audit = guard(svc.bias_audit, rid, tuple(chosen)) if chosen else None
    if audit is not None and audit is not True:
        chart(st, charts.relation_effects, audit.relations, audit.level, width="stretch")
        table(audit.relations, ["relation_zh", "n_seats", "n_experts", "effect", "ci_low", "ci_high",
                                "p_perm", "q_bh", "flagged"])
        rels = audit.relations["relation"].tolist()
        if not audit.experts.empty and rels:
            rel = st.selectbox(T("专家个人效应：关系类型", "Per-expert effects: relation"), rels, key="bias_rel",
                               format_func=dict(zip(audit.relations["relation"], audit.relations["relation_zh"])).get)
            if (audit.experts["relation"] == rel).any():
                chart(st, charts.expert_effects_chart, audit.experts, rel, width="stretch")
            st.caption(T("标记仅作为专家库记录的证据，不自动扣分。", "A flag is evidence for the pool record, never an "
                         "automatic penalty."))
            table(audit.experts[audit.experts["relation"] == rel],
                  ["expert_id", "n_related", "n_other", "raw_effect", "shrunk_effect", "post_low", "post_high",
                   "q_value", "flagged", "evidence"], height=320)

with tabs[1]:
    stages = svc_scores.scored_stages(rid)
    if not stages:
        st.info(T("本轮尚无评分。", "No scores yet."))
    else:
        with st.form("whatif"):
            c = st.columns(3)
            stage = c[0].selectbox(T("评审阶段", "Stage"), stages, index=len(stages) - 1)
            methods = ["trimmed", "median", "mean", "winsorized", "huber", "calibrated", "calibrated_pooled", "bayes"]
            method = c[1].selectbox(T("汇总方法", "Method"), methods, index=methods.index(pol.aggregation.method),
                                    format_func=lambda m: f"{m}（{METHOD_LABELS[m][0]}）" if m in METHOD_LABELS else m)
            trim = c[2].number_input(T("去掉最高最低各几个", "Trim k"), 0, 3, pol.aggregation.trim_k)
            c = st.columns(4)
            rec = c[0].number_input(T("推荐线", "Recommend line"), 0.0, 100.0, pol.decision.recommend_min_score)
            cul = c[1].number_input(T("培育线", "Cultivation line"), 0.0, 100.0, pol.decision.cultivation_min_score)
            fam = {k: c[2].number_input(T(f"{k} 类最低分", f"Family {k} minimum"), 0.0, 100.0, float(v))
                   for k, v in pol.decision.recommend_min_family.items()}
            opf = c[3].checkbox(T("一领域一中心", "One centre per field"), pol.decision.one_per_field)
            c = st.columns(3)
            budget = c[0].number_input(T("总预算（元，0 为不限）", "Budget (CNY, 0 = none)"), 0.0, 1e10,
                                       float(pol.funding.total_budget), step=1e6)
            ms = c[1].number_input(T("最少有效评分", "Quorum: min scores"), 1, 15, pol.aggregation.min_scores)
            qs = c[2].number_input(T("到会比例", "Quorum share"), 0.0, 1.0, pol.aggregation.quorum_share)
            go = st.form_submit_button(T("计算并记录分析运行", "Compute and record the analyst run"), type="primary")
        if go:
            sc = Scenario(method=method, trim=int(trim) if method in ("trimmed", "winsorized") else None,
                          recommend_min=rec, cultivation_min=cul, family_min=fam, one_per_field=opf, budget=budget,
                          min_scores=int(ms), quorum_share=qs)
            res = guard(svc.whatif, rid, stage, sc, user=require_user().username)
            if res is not None:
                st.session_state["whatif_result"] = (res, sc.label(pol), stage)
        if "whatif_result" in st.session_state:
            (cmp_, notes, run_id), label, stage_ = st.session_state["whatif_result"]
            st.success(T(f"分析运行 #{run_id}（{stage_}）：{label}。已记录的排名未改变。",
                         f"Analyst run #{run_id} ({stage_}): {label}. The recorded ranking is unchanged."))
            for n in notes[:2]:
                st.caption(n)
            changed = cmp_[cmp_["changed"]]
            st.subheader(T(f"结论变化（{len(changed)}）", f"Changed decisions ({len(changed)})"))
            table(changed, ["application_id", "name", "field", "score_base", "score_alt", "rank_overall_base",
                            "rank_overall_alt", "why_zh"])
            shift = charts.rank_shift(cmp_)
            st.altair_chart(shift, width="content", height=int(shift.height) + 120)
            st.download_button(T("下载一页对比（厅务会）", "Download the one-page comparison"),
                               data=svc.whatif_xlsx(cmp_, f"{stage_}：{label}（分析运行 #{run_id}）",
                                                    {"run": run_id}),
                               file_name=f"假设方案对比_{run_id}.xlsx",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            with st.expander(T("全部申报对比", "Every application")):
                table(cmp_, ["application_id", "name", "score_base", "rank_overall_base", "rank_low_base",
                             "rank_high_base", "decision_zh_base", "score_alt", "rank_overall_alt", "rank_low_alt",
                             "rank_high_alt", "decision_zh_alt"], height=420)
        runs = guard(svc.whatif_runs, rid)
        if runs is not None and runs is not True and len(runs):
            st.caption(T("已记录的分析运行", "Recorded analyst runs"))
            table(runs)

with tabs[2]:
    st.caption(T("方法：", "Method: ") + VALIDITY_SCHEME)
    out = guard(svc.validity)
    if out is not None and out is not True:
        rep, source = out
        st.info(T("数据：数据库中的往年认定评分与年度考核。" if source == "store" else
                  "数据：演示用往年批次（reviewer.demo.past_rounds，含预设效应）。数据库中尚无可关联的年度考核。",
                  "Data: the store's past recognition scores and annual evaluations." if source == "store" else
                  "Data: the demo's past rounds (reviewer.demo.past_rounds, planted effects); the store has no "
                  "linked evaluations yet."))
        st.markdown(T(f"**{rep.n_centres}** 个中心有认定评分和后续考核。", f"**{rep.n_centres}** centres linked."))
        c = st.columns(2)
        chart(c[0], charts.validity_methods, rep.methods, width="stretch")
        chart(c[1], charts.validity_families, rep.families, width="stretch")
        st.subheader(T("专家预测诊断（与专家组共识相比）", "Per-expert diagnostic (vs the panel consensus)"))
        table(rep.experts, ["expert_id", "n_centres", "rho", "rho_low", "rho_high", "rho_panel", "diff", "diff_low",
                            "diff_high", "diff_shrunk", "assessment"], height=360)
