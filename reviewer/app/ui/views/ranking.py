import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import ranking as svc_ranking
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app import signoff as svc_signoff
from reviewer.app.charts import METHOD_SHORT
from reviewer.app.text import METHOD_LABELS
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, lang, read_only_note, round_id, table, text_table, chart

header("ranking", "汇总得分（含区间）、四种汇总方法对比、推荐认定名单与培育名单（逐条给出理由）及补助建议；可导出 Excel 和可打印的报告。",
       "Aggregated scores with intervals, four methods side by side, the recognition and cultivation lists with "
       "reasons, and funding; export Excel and a printable report.")
rid = round_id()
if svc_ranking.register_empty(rid):   # never recommend silently into fields the register would have refused
    st.warning(T(svc_ranking.REGISTER_EMPTY_ZH, svc_ranking.REGISTER_EMPTY_EN))
stages = svc_scores.scored_stages(rid)
if not stages:
    st.info(T("本轮尚无评分，请先在“评分”页导入。", "No scores yet: import them on the Scores page."))
    st.stop()
c = st.columns([2, 3])
stage = c[0].radio(T("评审阶段", "Stage"), stages, index=len(stages) - 1, horizontal=True, key="rank_stage")
method = c[1].radio(T("用于结论的汇总方法", "Method for the decision"), list(svc_ranking.RANK_METHODS), horizontal=True,
                    format_func=lambda m: METHOD_LABELS[m][0 if lang() == "zh" else 1], key="rank_method")
rk = guard(svc_ranking.ranking, rid, stage, method)
if rk is None:
    st.stop()
_, notes = svc_ranking.aggregate(rid, stage, method)
rec = rk[rk["decision"] == "recommend"]
cul = rk[rk["decision"] == "cultivation"]
m = st.columns(4)
m[0].metric(T("推荐认定", "Recommended"), len(rec))
m[1].metric(T("培育名单", "Cultivation"), len(cul))
m[2].metric(T("不予推荐或不符合条件", "Others"), len(rk) - len(rec) - len(cul))
m[3].metric(T("建议补助合计（万元）", "Subsidy total (10k CNY)"), f"{rk['subsidy'].sum() / 1e4:,.0f}")

# only the open tab's content is made and sent (Streamlit's lazy tabs: a switch reruns the page): the four
# methods side by side and the intervals cost ~1 s the first time after new scores, for a tab not opened
tabs = st.tabs([T("推荐与培育名单", "Lists"), T("方法对比", "Methods side by side"), T("各领域得分区间", "Intervals per field"),
                T("全部排名", "Full ranking"), T("确认发布", "Sign-off"), T("导出", "Export")],
               key="ranking_tab", on_change="rerun")
cols = ["rank_overall", "application_id", "name", "field", "score", "decision_zh",
        "reason_zh" if lang() == "zh" else "reason_en", "subsidy"]
if tabs[0].open is not False:
    with tabs[0]:
        st.subheader(T(f"推荐认定名单（{len(rec)}）", f"Recommended for recognition ({len(rec)})"))
        text_table(rec, cols)     # the reasons read whole (a static table wraps them; the grid clipped them)
        st.subheader(T(f"培育名单（{len(cul)}）", f"Cultivation list ({len(cul)})"))
        text_table(cul, cols)
if tabs[1].open is not False:
    with tabs[1]:
        st.markdown(T("同一批评分用四种方法汇总：去掉最高最低分的平均（默认）、本阶段校准专家宽严尺度、跨阶段校准"
                      "（专家宽严尺度按其在同一评分表上的全部评分估计：本轮其他阶段和往届批次）、贝叶斯。排名差异大的申报值得复核。",
                      "The same scores under four methods: trimmed mean (default), rater-calibrated on this stage only, "
                      "calibrated across stages and rounds (each expert's leniency from all their scores on the same "
                      "instrument), Bayesian. Large rank differences deserve a second look."))
        cmp_ = guard(svc_ranking.compare_methods, rid, stage)
        if cmp_ is not None:
            heads = {}
            for mm in svc_ranking.RANK_METHODS:
                lab = METHOD_SHORT[mm][0 if lang() == "zh" else 1]
                heads[f"score_{mm}"] = f"{lab} {T('得分', 'score')}"
                heads[f"rank_{mm}"] = f"{lab} {T('排名', 'rank')}"
            # a static table: the grid cut the method headers ("去高低分平均 排名") and long field names
            text_table(cmp_, ["application_id", "field", *[f"{k}_{mm}" for mm in svc_ranking.RANK_METHODS
                                                            for k in ("score", "rank")]], labels=heads, height=460)
        for n in notes[:3]:
            st.caption(n)
if tabs[2].open is not False:
    with tabs[2]:
        st.markdown(T("每个领域一张图：点为汇总得分，线为区间（去掉最高最低分：自助法 95%；本阶段校准：±1.96 标准误，"
                      "各申报评审专家互不重叠时无法估计；跨阶段校准：混合模型预测误差 ±1.96 倍；贝叶斯：后验区间）。一领域只认定一个中心。",
                      "One plot per field: dot = score, line = interval (trimmed: bootstrap 95%; calibrated: ±1.96 SE, "
                      "not estimable when panels share no expert; calibrated across stages: ±1.96 mixed-model prediction "
                      "error; Bayes: posterior interval). One centre per field."))
        iv = svc_ranking.intervals_long(rid, stage)
        order = rk.sort_values("score", ascending=False)["application_id"].tolist()
        flds = [f for f in svc_rounds.policy_for(rid).fields.all if f in set(iv["field"])]
        grid = st.columns(3)
        for i, f in enumerate(flds):
            chart(grid[i % 3], charts.score_intervals, iv, f, lang(), order, width="stretch")
if tabs[3].open is not False:
    with tabs[3]:
        # the reasons read whole beside the decision; the criterion scores (A–F) in a sortable grid below — all in
        # one table would be wider than the page
        text_table(rk, ["rank_overall", "rank_in_field", "application_id", "name", "field", "score", "decision_zh",
                        "reason_zh" if lang() == "zh" else "reason_en", "subsidy"], height=560)
        st.markdown(T("**各项得分（A–F）**", "**Scores per criterion (A–F)**"))
        table(rk, ["rank_overall", "application_id", "name", "field", "score", "A", "B", "C", "D", "E", "F"], height=420)
if tabs[4].open is not False:
    with tabs[4]:
        read_only_note()
        st.markdown(T("确认发布：把本阶段当前的排名表（按所选汇总方法）冻结为正式版本，记录表格的 SHA-256、确认人和时间，"
                      "之后不可修改；如需更正，再次确认发布并写明理由，新版本取代旧版本（旧版本保留）。打印报告注明所印版本。",
                      "Sign-off freezes this stage's ranking table (the chosen method) as the official version: its "
                      "SHA-256, who and when are recorded and it cannot change; to correct it, sign off again with a "
                      "reason (the new version supersedes, the old one is kept). The printed report names its version."))
        cur, same = svc_signoff.draft_state(rid, stage, method)
        if cur is None:
            st.info(T("本阶段排名尚未确认发布（草稿）。", "Not signed off yet (draft)."))
        elif same:
            st.success(T(f"当前显示的排名即已确认发布的第 {cur['id']} 号版本（{cur['by']}，SHA-256 {cur['sha256'][:16]}…）。",
                         f"This ranking is signed-off version #{cur['id']} ({cur['by']}, SHA-256 {cur['sha256'][:16]}…)."))
        else:
            st.warning(T(f"当前显示的排名与已确认发布的第 {cur['id']} 号版本不同（汇总方法或评分已变化）；以已确认发布版本为准。",
                         f"This ranking differs from signed-off version #{cur['id']} (method or scores changed); "
                         "the signed-off version stands."))
        with st.form("signoff"):
            sure = st.checkbox(T(f"我已核对 {stage} 排名（{METHOD_LABELS[method][0]}），确认发布",
                                 f"I checked the {stage} ranking ({METHOD_LABELS[method][1]}); sign it off"))
            why = st.text_input(T("理由（再次确认发布时必填）", "Reason (required when signing off again)"))
            ok = st.form_submit_button(T("确认发布", "Sign off"), type="primary", disabled=not can_edit())
        if ok:
            if not sure:
                st.error(T("请先勾选确认。", "Tick the confirmation first."))
            elif guard(svc_signoff.freeze, rid, stage, method, editor_name(), why) is not None:
                flash(T(f"{stage} 排名已确认发布。", f"{stage} ranking signed off."))
                st.rerun()
        hist = svc_signoff.signoffs_table(rid, stage)
        if not hist.empty:
            st.markdown(T("**确认发布记录**", "**Sign-offs**"))
            text_table(hist)
if tabs[5].open is not False:
    with tabs[5]:
        st.download_button(T("下载 Excel 排名报告", "Download the Excel report"),
                           data=lambda: svc_signoff.export_ranking_xlsx(rid, stage, method), file_name=f"认定排名_{stage}_{method}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        st.download_button(T("下载可打印报告（HTML，浏览器打印为 PDF）", "Download the printable report (HTML → print to PDF)"),
                           data=lambda: svc_signoff.export_ranking_html(rid, stage, method).encode("utf-8"),
                           file_name=f"认定排名_{stage}_{method}.html", mime="text/html")
