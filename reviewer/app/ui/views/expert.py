"""The expert's own page, reached by a personal link ?token=... — only this expert's seats: answer the
invitation (确认参加 / 请假 / 申请回避), the deadline and meeting, notice, pledge, score sheet, upload."""
import streamlit as st

from reviewer.app import expert_view as svc_expert_view
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app.ui import formatting as fmt
from reviewer.app.ui.common import guard, table
from reviewer.store.seat_responses import RELATIONS

lang = st.session_state.get("lang", "zh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
msg = st.session_state.pop("expert_flash", None)
if msg:
    st.success(msg)
if svc_expert_view.replaced_only(rid, tok.expert_id):
    st.warning("您已被替换，本轮无需参加评审。感谢您的支持！ You were replaced: you have no seat in this review.")
    st.stop()
name = svc_expert_view.expert_name(rid, tok.expert_id)
st.markdown(f"**{name}**（{tok.expert_id}）· {info.name} · {T('链接有效期至', 'link valid until')} "
            f"{fmt.local_stamp(tok.expires.isoformat())}")
stages = svc_expert_view.my_stages(rid, tok.expert_id)
if not stages:
    st.info(T("目前没有已发布的评审任务。", "No published assignment yet."))
    st.stop()


def answer(stage: str, act: str, **kw) -> None:
    with st.spinner(T("正在提交…", "Sending…")):
        out = guard(svc_expert_view.answer, rid, tok.expert_id, stage, act, **kw)
    if out is not None:
        st.session_state["expert_flash"] = out
        st.rerun()


for si in stages:
    st.header(si.stage)
    m = si.meeting
    c = st.columns(3)
    c[0].markdown(f"**{T('评审开始', 'Starts')}**  \n{si.start or T('待定', 'to be announced')}")
    c[1].markdown(f"**{T('答复截止', 'Answer by')}**  \n{si.deadline or T('评审开始前', 'before the start')}")
    c[2].markdown(f"**{T('地点 / 联系人', 'Place / contact')}**  \n{m.get('place') or T('待定', 'tba')}"
                  f"{' · ' + m['contact'] if m.get('contact') else ''}")
    # the staff tables' formatting (labels, "—" for nothing, fitted widths); the expert's own words for three
    table(si.seats, ["application_id", "name", "field", "lead_city", "role_zh", "status_zh", "reason"], config={
        "name": {"label": T("创新中心名称", "Centre")}, "lead_city": {"label": T("所在市", "City")},
        "status_zh": {"label": T("我的答复", "My answer")}, "reason": {"label": T("说明", "Note")}},
        key=f"seats_{si.stage}")
    if si.submitted:
        st.success(T(f"已提交 submitted：本阶段已收到您的 {si.submitted} 项评分。",
                     f"Submitted: {si.submitted} of your scores are in for this stage."))
    if not si.open_for_answers:
        st.info(T("评审已开始，如需变更请直接联系工作人员。", "The stage has started: please call the staff for any change."))
    else:
        st.caption(T("如与下列申报有利害关系，请申请回避；如不能参加，请请假并说明原因。",
                     "If you have a conflict with an application, ask to recuse; if you cannot attend, decline "
                     "with a reason."))
        c = st.columns(3)
        if c[0].button(T("确认参加", "Confirm"), type="primary", key=f"confirm_{si.stage}"):
            answer(si.stage, "confirm")
        with c[1].popover(T("请假", "Decline")):
            why = st.text_input(T("请假原因", "Reason"), key=f"why_decline_{si.stage}")
            if st.button(T("提交请假", "Send decline"), key=f"decline_{si.stage}"):
                answer(si.stage, "decline", reason=why)
        with c[2].popover(T("申请回避", "Ask to recuse")):
            app = st.selectbox(T("申报项目", "Application"), list(si.seats["application_id"]), key=f"rec_app_{si.stage}")
            rel = st.selectbox(T("回避关系", "Relation"), list(RELATIONS), key=f"rec_rel_{si.stage}",
                               format_func=lambda k: RELATIONS[k])
            why = st.text_input(T("具体说明", "Details"), key=f"rec_why_{si.stage}")
            if st.button(T("提交回避申请", "Send recusal request"), key=f"recuse_{si.stage}"):
                answer(si.stage, "recuse", application_id=app, relation=rel, reason=why)
    c = st.columns(3)
    c[0].download_button(T("下载评审通知", "Download the notice"), key=f"notice_{si.stage}",
                         data=lambda si=si: svc_expert_view.notice_text(rid, tok.expert_id, si).encode("utf-8-sig"),
                         file_name=f"评审通知_{si.stage}_{tok.expert_id}.txt", mime="text/plain")
    c[1].download_button(T("下载保密与回避承诺书", "Download the pledge"), key=f"pledge_{si.stage}",
                         data=lambda si=si: svc_expert_view.pledge_text(rid, tok.expert_id, si.stage).encode("utf-8-sig"),
                         file_name=f"保密与回避承诺书_{si.stage}_{tok.expert_id}.txt", mime="text/plain")
    c[2].download_button(T("下载评分表", "Download the score sheet"), key=f"sheet_{si.stage}",
                         data=lambda si=si: svc_expert_view.expert_score_sheet(rid, tok.expert_id, si.stage),
                         file_name=f"评分表_{si.stage}_{tok.expert_id}.xlsx", mime=XLSX)

st.subheader(T("上传已填好的评分表", "Upload your filled score sheet"))
f = st.file_uploader(T("评分表（.xlsx）", "Score sheet (.xlsx)"), type=["xlsx"], key="expert_upload")
if f is not None and st.button(T("提交评分", "Submit scores"), type="primary"):
    out = guard(svc_scores.import_scores, rid, [(f.name, f.getvalue())], only_expert=tok.expert_id)
    if out is not None:
        n, issues = out
        if n:
            st.session_state["expert_flash"] = T(f"已提交 submitted：{n} 项评分。", f"Submitted {n} scores.")
        if not issues.empty:
            st.error(T("以下问题需要修改：", "Please fix:"))
            table(issues, ["row", "column", "value", "expected"])
        elif n:
            st.rerun()
