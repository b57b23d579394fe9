import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import evaluation as ae
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, lang, read_only_note, round_id, table, chart

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_CONFIG = {"centre_id": st.column_config.Column(T("中心编号", "Centre")),
               "band": st.column_config.Column(T("等次", "Band")),
               "action_zh": st.column_config.Column(T("处理", "Action")),
               "state": st.column_config.Column(T("状态", "State")),
               "year": st.column_config.NumberColumn(T("年度", "Year"), format="%d"),
               "note": st.column_config.TextColumn(T("说明", "Note"), width="medium"),
               "evaluated_by": st.column_config.Column(T("记录人", "By")),
               "evaluated_at": st.column_config.Column(T("记录时间", "Recorded")),
               "reason": st.column_config.TextColumn(T("理由", "Reason"), width="large")}

header("evaluation", "试点中心年度考核评估（百分制；优秀 ≥ 90、良好 ≥ 80、合格 ≥ 60、不合格 < 60）与中心状态"
                     "（试点、认定、撤销：连续两年不合格或建设期满三年未达标即撤销）。上传本年度指标后核对结果，确认后记录到系统；"
                     "下方显示系统中已记录的考核结果。",
       "Annual evaluation of pilot centres (100 points; bands) and the centre's state (pilot, recognised, revoked "
       "after two failed years or a 3-year build period without meeting the targets). Upload this year's "
       "indicators, check the result and record it; the evaluations recorded in the system are shown below.")
rid = round_id()
policy = svc_rounds.policy_for(rid)
demo_round = rid == svc_rounds.DEMO_ROUND_ID
read_only_note()
with st.expander(T("上传年度指标", "Upload indicators"), expanded=not demo_round):
    c = st.columns(2)
    ind = c[0].file_uploader(T("年度指标（中心编号、年度、各项指标与目标）", "Indicators"), type=["xlsx", "csv"], key="ev_ind")
    cen = c[1].file_uploader(T("试点中心名单（中心编号、名称、领域、建设期起始日期）", "Centres"), type=["xlsx", "csv"],
                             key="ev_cen")


def evaluate(year=None):
    if ind is not None:
        return guard(ae.evaluate_uploads, (ind.name, ind.getvalue()), (cen.name, cen.getvalue()) if cen else None,
                     policy, year)
    return guard(ae.evaluate_demo, policy, year) if demo_round else None


def show_view(view) -> None:
    if not view.issues.empty:
        st.error(T(f"{len(view.issues)} 行数据有问题（已跳过）：", f"{len(view.issues)} rows rejected:"))
        table(view.issues, ["severity", "file", "row", "column", "value", "expected"])
    lst = view.annual
    m = st.columns(4)
    for i, b in enumerate(["优秀", "良好", "合格", "不合格"]):
        m[i].metric(b, int((lst["band"] == b).sum()))
    chart(st, charts.evaluation_bands, view.bands, lang(), width="stretch")
    # the list under the chart, full width, so its reasons can be read without scrolling sideways
    st.subheader(T(f"{view.year} 年度考核名单", f"{view.year} annual list"))
    table(lst, ["centre_id", "name", "field", "score", "band", "action_zh", "state", "reason"], config=LIST_CONFIG)


view = evaluate()
if view is not None:
    if ind is None:
        st.caption(T("演示轮次：以下为内置演示数据（不是系统中记录的考核结果）。",
                     "Demo round: bundled demo data below (not evaluations recorded in the system)."))
    year = st.radio(T("考核年度", "Year"), view.years, index=len(view.years) - 1, horizontal=True, key="ev_year")
    if year != view.year:
        view = evaluate(year)
        if view is None:
            st.stop()
    show_view(view)
    c = st.columns([1, 1, 2])
    c[0].download_button(T("下载考核报告（Excel）", "Download the evaluation report (Excel)"),
                         data=lambda: ae.report_xlsx(view), file_name=f"考核评估报告_{view.year}.xlsx", mime=XLSX)
    if ind is not None and c[1].button(T("记录到系统", "Record in the system"), type="primary", disabled=not can_edit(),
                                       help=T("每个中心每年记录一次；已记录的不会被覆盖。",
                                              "Each centre-year is recorded once; a recorded one is never overwritten.")):
        out = guard(ae.record, view, editor_name(), rid)
        if out is not None:
            flash(T(f"已记录 {out[0]} 条考核结果；{out[1]} 条此前已记录，保持不变。",
                    f"Recorded {out[0]} evaluations; {out[1]} were recorded before and kept."))
            st.rerun()

st.subheader(T("系统中已记录的考核结果", "Evaluations recorded in the system"))
stored = ae.stored_evaluations()
if stored.empty:
    st.info(T("系统中尚无考核记录。上传年度指标并“记录到系统”，或使用命令 `reviewer evaluate --record`。",
              "No evaluation recorded yet: upload the indicators and record them, or `reviewer evaluate --record`."))
    st.stop()
years = sorted(stored["year"].unique())
sy = st.radio(T("年度", "Year"), years, index=len(years) - 1, horizontal=True, key="ev_stored_year")
left, right = st.columns([2, 3])
chart(left, charts.evaluation_bands, ae.stored_bands(stored), lang(), width="stretch")
with right:
    table(stored[stored["year"] == sy], ["centre_id", "name", "year", "score", "band", "state", "note", "evaluated_by",
                                          "evaluated_at"], config=LIST_CONFIG)
st.download_button(T(f"下载 {sy} 年度考核名单（Excel）", f"Download the {sy} list (Excel)"),
                   data=lambda: ae.stored_report_xlsx(int(sy)), file_name=f"考核名单_{sy}.xlsx", mime=XLSX)
