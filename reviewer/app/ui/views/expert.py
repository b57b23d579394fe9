"""The expert's own page, reached by a personal link ?token=... — shows only this expert's seats."""
import streamlit as st

from reviewer.app import expert_view as svc_expert_view
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app.ui.common import guard

lang = st.session_state.get("lang", "zh")


def T(zh: str, en: str) -> str:
    return zh if lang == "zh" else en


st.title("我的评审任务 My assignments")
tok = st.session_state.get("expert_token")
if tok is None:
    st.error(T("链接无效或已过期，请联系工作人员。", "This link is invalid or has expired; please contact the staff."))
    st.stop()
rid = tok.round_id or svc_rounds.last_round()
try:
    info = svc_rounds.round_info(rid)
except Exception:
    st.error(T("链接对应的评审轮次不存在。", "The round of this link does not exist."))
    st.stop()
name = svc_expert_view.expert_name(rid, tok.expert_id)
st.markdown(f"**{name}**（{tok.expert_id}）· {info.name} · {T('链接有效期至', 'link valid until')} {tok.expires:%Y-%m-%d}")
st.caption(T("请遵守保密与回避承诺：如与下列申报有利害关系，请立即告知工作人员。",
             "Keep the review confidential; tell the staff at once if you have a conflict with any application below."))
mine = svc_expert_view.expert_assignments(rid, tok.expert_id)
if mine.empty:
    st.info(T("目前没有已发布的评审任务。", "No published assignment yet."))
    st.stop()
st.dataframe(mine, hide_index=True, width="stretch", column_config={
    "stage": st.column_config.Column(T("阶段", "Stage")), "date": st.column_config.Column(T("日期", "Date")),
    "application_id": st.column_config.Column(T("申报编号", "Application")),
    "name": st.column_config.Column(T("创新中心名称", "Centre")), "field": st.column_config.Column(T("领域", "Field")),
    "lead_city": st.column_config.Column(T("所在市", "City")), "role_zh": st.column_config.Column(T("角色", "Role"))})
for stage in mine["stage"].unique():
    st.download_button(T(f"下载 {stage} 评分表", f"Download the {stage} score sheet"),
                       data=svc_expert_view.expert_score_sheet(rid, tok.expert_id, stage),
                       file_name=f"评分表_{stage}_{tok.expert_id}.xlsx", key=f"sheet_{stage}",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
st.subheader(T("上传已填好的评分表", "Upload your filled score sheet"))
f = st.file_uploader(T("评分表（.xlsx）", "Score sheet (.xlsx)"), type=["xlsx"], key="expert_upload")
if f is not None and st.button(T("提交评分", "Submit scores"), type="primary"):
    out = guard(svc_scores.import_scores, rid, [(f.name, f.getvalue())], only_expert=tok.expert_id)
    if out is not None:
        n, issues = out
        if n:
            st.success(T(f"已提交 {n} 项评分。", f"Submitted {n} scores."))
        if not issues.empty:
            st.error(T("以下问题需要修改：", "Please fix:"))
            st.dataframe(issues[["row", "column", "value", "expected"]], hide_index=True, width="stretch")
