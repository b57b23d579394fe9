import streamlit as st

from reviewer.app import packs as svc_packs
from reviewer.app import reminders as svc_reminders
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, can_edit, editor_name, guard, header, read_only_note, round_id, table

header("reminders", "每个已发布阶段中尚未交齐评分表的专家（含联系方式）；生成催交名单（Excel，每位专家一条提醒文字）并记入操作记录。",
       "Per published stage, the experts who have not returned all their score sheets (with contact details); "
       "make the reminder list (Excel, one reminder text per expert), recorded in the round's log.")
rid = round_id()
read_only_note()
published = svc_packs.published_stages(rid, svc_rounds.policy_for(rid).stages.order)
if not published:
    st.info(T("尚无已发布的专家组。", "No published stage yet."))
    st.stop()
stage = st.radio(T("阶段", "Stage"), published, horizontal=True, key="remind_stage")
owe = guard(svc_reminders.outstanding, rid, stage)
if owe is None:
    st.stop()
p = svc_reminders.progress(rid, stage)
c = st.columns(3)
c[0].metric(T("应交评分表（席位）", "Sheets owed (seats)"), p["seats"])
c[1].metric(T("已交齐", "Returned"), p["returned"])
c[2].metric(T("未交齐的专家", "Experts owing"), p["experts_owing"])
if p["seats"]:
    st.progress(p["returned"] / p["seats"], text=T(f"已交 {p['returned']} / {p['seats']}", f"{p['returned']} of {p['seats']} in"))
st.subheader(T("通过发件箱发送提醒", "Reminders through the outbox"))
st.caption(T("答复提醒：尚未答复邀请的席位（答复截止前）；催交：已确认参加但评分表未交齐的席位（评分截止前）。每个席位每类每天至多一条；"
             "发送见“通知”页。", "Reply reminders to seats not yet answered (before the answer deadline); score chases to "
             "confirmed seats whose sheets are not complete (before the score deadline). At most one per seat, kind "
             "and day; sending is on the notifications page."))
due = guard(svc_reminders.chase_due, rid, stage)
if due is not None:
    c = st.columns(2)
    c[0].metric(T("待答复提醒（席位）", "Reply reminders due (seats)"), int((due["kind"] == "reply_reminder").sum()))
    c[1].metric(T("待催交（席位）", "Score chases due (seats)"), int((due["kind"] == "score_chase").sum()))
    if st.button(T("加入发件箱", "Queue the reminders"), disabled=not can_edit() or due.empty, key="chase_queue"):
        got = guard(svc_reminders.queue_chase, rid, stage, editor_name())
        if got is not None:
            st.success(T(f"已加入发件箱 {got['queued']} 条消息（答复提醒 {got['reply']} 个席位，催交 {got['score']} 个席位；"
                         "今天已加入的不再重复）。", f"{got['queued']} message(s) queued (reply {got['reply']}, score "
                         f"{got['score']} seats; today's already queued ones are not repeated)."))
if owe.empty:
    st.success(T("本阶段评分表已全部交齐。", "Every sheet of this stage is in."))
    st.stop()
table(owe, list(owe.columns), height=420,
      config={"phone": st.column_config.TextColumn(T("电话", "Phone"), width="small"),
              "email": st.column_config.TextColumn(T("电子邮箱", "E-mail"), width="medium"),
              "n_assigned": st.column_config.NumberColumn(T("应交", "Owed"), width="small"),
              "n_returned": st.column_config.NumberColumn(T("已交", "In"), width="small"),
              "missing": st.column_config.TextColumn(T("未交（申报编号）", "Missing (applications)"), width="large"),
              "incomplete": st.column_config.TextColumn(T("不完整（申报编号）", "Incomplete"), width="medium")})
if st.button(T("生成催交名单", "Make the reminder list"), type="primary", disabled=not can_edit()):
    out = guard(svc_reminders.reminder_list, rid, stage, editor_name())
    if out is not None:
        st.session_state["reminder_list"] = (stage, out)
got = st.session_state.get("reminder_list")
if got is not None and got[0] == stage:
    data, n = got[1]
    st.success(T(f"催交名单已生成（{n} 位专家），已记入操作记录。", f"Reminder list made ({n} experts), logged."))
    st.download_button(T("下载催交名单（Excel）", "Download the reminder list (Excel)"), data=data,
                       file_name=f"催交名单_{stage}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
