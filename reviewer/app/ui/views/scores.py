import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import scores as svc_scores
from reviewer.app.ui.common import (T, can_edit, chart, editor_name, guard, header, lang, prefetch_after_scores, read_only_note,
                                    round_id, table, text_table)

header("scores", "上传专家交回的评分表（系统生成的 .xlsx），或长表（.csv/.xlsx，列：阶段、申报编号、专家编号、评分项、得分）。"
                 "逐行校验；未被分配的专家的评分会被拒绝。下方显示异常分数和评分一致性。",
       "Upload returned score sheets (.xlsx made by the system) or a long table (.csv/.xlsx: stage, application, "
       "expert, criterion, score). Rows are validated; scores by unassigned experts are rejected. Outliers and "
       "reliability below.")
rid = round_id()
read_only_note()
files = st.file_uploader(T("评分文件", "Score files"), type=["xlsx", "csv"], accept_multiple_files=True,
                         disabled=not can_edit(), key="score_files")
if st.button(T("导入评分", "Import scores"), type="primary", disabled=not (files and can_edit())):
    bar = st.progress(0.0, text=T(f"正在读取 0 / {len(files)} 个文件…", f"Reading 0 of {len(files)} files…"))

    def progress(i: int, n: int, name: str) -> None:
        bar.progress(i / n, text=T(f"已读取 {i} / {n} 个文件：{name}", f"Read {i} of {n} files: {name}"))

    out = guard(svc_scores.upload_scores, rid, [(f.name, f.getvalue()) for f in files], editor_name(),
                progress=progress)
    bar.empty()
    if out is not None:
        st.session_state["last_score_import"] = out
        if out.rows:
            prefetch_after_scores(rid)   # 排名 prepared while staff read the per-file report
out = st.session_state.get("last_score_import")
if out is not None:
    n_err = int((out.issues["severity"] == "error").sum()) if not out.issues.empty else 0
    (st.error if n_err else st.success)(T(f"导入 {out.rows} 行评分（{len(out.files)} 个文件）；{n_err} 处错误（错误行已拒绝）。",
                                          f"Imported {out.rows} score rows ({len(out.files)} files); {n_err} errors "
                                          "(bad rows rejected)."))
    st.markdown(T("**逐个文件的结果**", "**Result per file**"))
    table(out.files, ["file", "kind", "rows", "errors", "warnings", "result_zh"], height=min(400, 38 + 35 * len(out.files)),
          config={"kind": st.column_config.Column(T("类型", "Kind"), width="small"),
                  "rows": st.column_config.NumberColumn(T("导入行数", "Rows"), width="small"),
                  "errors": st.column_config.NumberColumn(T("错误", "Errors"), width="small"),
                  "warnings": st.column_config.NumberColumn(T("提示", "Warnings"), width="small"),
                  "result_zh": st.column_config.Column(T("结果", "Result"))})
    if not out.issues.empty:
        st.markdown(T("**逐行问题**", "**Problems by row**"))
        table(out.issues, ["severity", "file", "row", "column", "value", "expected"], height=260)

stages = svc_scores.scored_stages(rid)
if not stages:
    st.info(T("本轮尚无评分。", "No scores yet."))
    st.stop()
stage = st.radio(T("评审阶段", "Stage"), stages, index=len(stages) - 1, horizontal=True, key="score_stage")
d = svc_scores.stage_scores(rid, stage)
c = st.columns(4)
c[0].metric(T("评分行数", "Score rows"), len(d))
c[1].metric(T("申报", "Applications"), d["application_id"].nunique())
c[2].metric(T("专家", "Experts"), d["expert_id"].nunique())
checks = guard(svc_scores.score_checks, rid, stage)
if checks is None:
    st.stop()
fl = checks["outliers"]
c[3].metric(T("异常分数", "Outlier scores"), int(fl["flagged"].sum()))
chart(st, charts.outlier_scatter, fl, lang(), width="stretch")
# the reliability table under the chart, full width: seven columns do not fit beside it at 1440 px
st.markdown(T("**评分一致性**（ICC 组内相关系数、Kendall W、Krippendorff α）",
              "**Reliability** (ICC, Kendall's W, Krippendorff's alpha)"))
table(checks["reliability"], ["panel", "n_applications", "n_experts", "ICC2_1", "ICC2_k", "kendall_W",
                              "krippendorff_alpha"])
st.subheader(T("异常分数", "Flagged scores"))
flagged = fl[fl["flagged"]]
if flagged.empty:
    st.caption(T("没有异常分数。", "No flagged scores."))
else:
    table(flagged, ["application_id", "expert_id", "score", "panel_median", "deviation", "reason"],
          config={"score": st.column_config.NumberColumn(T("总分", "Total"), format="%.1f")})
st.subheader(T("系统性偏高或偏低的专家", "Experts deviating systematically"))
dev = checks["deviation"]
dev = dev[dev["flagged"]]
if dev.empty:
    st.caption(T("没有发现系统性偏离的专家（每位专家参评组数较少时检验力有限）。",
                 "No expert deviates systematically (few panels per expert limit the test)."))
else:
    table(dev, ["expert_id", "n_scores", "n_panels", "mean_deviation", "p_value", "reason"])

st.subheader(T("评审意见与专家组综合意见", "Written opinions and the panels' consensus opinions"))
ops = guard(svc_scores.opinions, rid, stage)
if ops is not None:
    st.caption(T("与专家组中位数相差超过政策规定分值（aggregation.outlier_points）的评分，须在评分表“评审意见”列说明理由，否则整批拒收。",
                 "A total further than the policy's outlier distance from its panel median needs a written "
                 "opinion in the sheet's 评审意见 column; otherwise the upload is refused."))
    if ops["missing"].empty:
        st.caption(T("没有缺少评审意见的偏离评分。", "No outlying total lacks an opinion."))
    else:
        st.warning(T(f"{len(ops['missing'])} 个偏离评分尚无评审意见（后续评分使其成为偏离值），请联系专家补充。",
                     f"{len(ops['missing'])} outlying total(s) have no opinion yet; ask the experts for one."))
        table(ops["missing"], ["application_id", "expert_id", "total", "median", "n"])
    # opinions are read whole (static tables wrap them)
    text_table(ops["opinions"], ["application_id", "expert_id", "opinion", "total_then", "submitted_at"], height=300)
    text_table(ops["panels"], ["application_id", "chair_id", "opinion", "dissent", "dissent_void", "recorded_by",
                               "recorded_at"])
    with st.form("panel_opinion"):
        st.markdown(T("**记录专家组综合意见**（组长；不同意见逐行：专家编号: 意见）",
                      "**Record a panel's consensus opinion** (chair; dissent one per line: EXPERT_ID: text)"))
        app_id = st.selectbox(T("申报", "Application"), sorted(d["application_id"].unique()), key="op_app")
        text = st.text_area(T("专家组综合意见", "Consensus opinion"), key="op_text")
        dissent = st.text_area(T("不同意见（可空）", "Dissent (optional)"), key="op_dissent")
        if st.form_submit_button(T("保存", "Save"), disabled=not can_edit()):
            if guard(svc_scores.record_panel_opinion, rid, stage, app_id, text, dissent, editor_name()) is not None:
                st.rerun()
