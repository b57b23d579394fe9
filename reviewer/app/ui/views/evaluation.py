import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import evaluation as ae
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, guard, header, lang, round_id, table

header("evaluation", "试点中心年度考核评估（百分制；优秀 ≥ 90、良好 ≥ 80、合格 ≥ 60、不合格 < 60）与中心状态"
                     "（试点、认定、撤销：连续两年不合格或建设期满三年未达标即撤销）。默认显示演示数据，可上传本年度指标。",
       "Annual evaluation of pilot centres (100 points; bands) and the centre's state (pilot, recognised, revoked "
       "after two failed years or a 3-year build period without meeting the targets). Demo data by default; upload "
       "this year's indicators.")
policy = svc_rounds.policy_for(round_id())
with st.expander(T("上传年度指标（可选）", "Upload indicators (optional)")):
    c = st.columns(2)
    ind = c[0].file_uploader(T("年度指标（中心编号、年度、各项指标与目标）", "Indicators"), type=["xlsx", "csv"], key="ev_ind")
    cen = c[1].file_uploader(T("试点中心名单（中心编号、名称、领域、建设期起始日期）", "Centres"), type=["xlsx", "csv"],
                             key="ev_cen")
if ind is not None:
    view = guard(ae.evaluate_uploads, (ind.name, ind.getvalue()), (cen.name, cen.getvalue()) if cen else None, policy)
else:
    view = guard(ae.evaluate_demo, policy)
if view is None:
    st.stop()
if not view.issues.empty:
    st.error(T(f"{len(view.issues)} 行数据有问题（已跳过）：", f"{len(view.issues)} rows rejected:"))
    table(view.issues, ["severity", "file", "row", "column", "value", "expected"])
year = st.radio(T("考核年度", "Year"), view.years, index=len(view.years) - 1, horizontal=True, key="ev_year")
if year != view.year:
    view = guard(ae.evaluate_uploads, (ind.name, ind.getvalue()), (cen.name, cen.getvalue()) if cen else None,
                 policy, year) if ind is not None else guard(ae.evaluate_demo, policy, year)
    if view is None:
        st.stop()
lst = view.annual
m = st.columns(4)
for i, b in enumerate(["优秀", "良好", "合格", "不合格"]):
    m[i].metric(b, int((lst["band"] == b).sum()))
left, right = st.columns([2, 3])
left.altair_chart(charts.evaluation_bands(view.bands, lang()), width="stretch")
with right:
    st.subheader(T(f"{view.year} 年度考核名单", f"{view.year} annual list"))
    table(lst, ["centre_id", "name", "field", "score", "band", "action_zh", "state", "reason"],
          config={"centre_id": st.column_config.Column(T("中心编号", "Centre")),
                  "band": st.column_config.Column(T("等次", "Band")),
                  "action_zh": st.column_config.Column(T("处理", "Action")),
                  "state": st.column_config.Column(T("状态", "State")),
                  "reason": st.column_config.TextColumn(T("理由", "Reason"), width="large")})
