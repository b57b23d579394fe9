import streamlit as st

from reviewer.app import notify as svc_notify
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, can_edit, editor_name, guard, header, read_only_note, round_id, table

header("notify", "发布专家组、替换专家和提醒时，系统在同一事务中把邀请、补抽通知、现场考察通知和提醒写入发件箱；"
                 "在此发送（邮件、短信）并查看每条消息的状态（待发送 / 发送中 / 已发送 / 失败及原因）。",
       "Publishing panels, replacing experts and reminders write invitations, replacement notices, site-visit notices "
       "and reminders to the outbox in the same transaction; send them here (e-mail, SMS) and see each message's "
       "status (queued / sending / sent / failed with the reason).")
rid = round_id()
read_only_note()
msgs = guard(svc_notify.outbox_table, rid)
if msgs is None:
    st.stop()
counts = msgs["status"].value_counts().to_dict() if not msgs.empty else {}
c = st.columns(4)
for col, (k, zh, en) in zip(c, (("queued", "待发送", "Queued"), ("sending", "发送中", "Sending"),
                                ("sent", "已发送", "Sent"), ("failed", "失败", "Failed"))):
    col.metric(T(zh, en), int(counts.get(k, 0)))
configured = guard(svc_notify.channels_configured) or []
st.caption(T("已配置的发送渠道：", "Channels configured: ") + ("、".join(configured) if configured else
                                                             T("无（见 README“Notifications”）", "none (README \"Notifications\")")))
left, right = st.columns(2)
if left.button(T("发送到期消息", "Send due messages"), type="primary", disabled=not can_edit() or msgs.empty):
    line = guard(svc_notify.send_now, rid)
    if line is not None:
        st.session_state["flash"] = line
        st.rerun()
stages = svc_rounds.policy_for(rid).stages.order
stage = right.selectbox(T("提醒阶段", "Stage to remind"), stages, key="remind_stage")
right.caption(T("答复截止：", "Response deadline: ") + str(guard(svc_notify.deadline_text, rid, stage) or ""))
if right.button(T("加入到期提醒", "Queue due reminders"), disabled=not can_edit()):
    line = guard(svc_notify.queue_reminders, rid, stage, editor_name())
    if line is not None:
        st.session_state["flash"] = line
        st.rerun()
if msgs.empty:
    st.info(T("发件箱为空：发布专家组后，邀请会出现在这里。", "The outbox is empty: invitations appear here once a stage is published."))
    st.stop()
table(msgs, ["id", "kind", "channel", "recipient_id", "recipient_name", "address", "状态", "attempts", "sent_at",
             "last_error"], height=360)
failed = msgs[msgs["status"] == "failed"]
if not failed.empty:
    pick = st.multiselect(T("重新发送失败的消息", "Resend failed messages"), failed["id"].tolist(), key="resend_ids", placeholder=T("请选择（可多选）", "Choose"))
    if st.button(T("重新排队", "Queue again"), disabled=not (pick and can_edit())):
        n = guard(svc_notify.resend_failed, rid, [int(x) for x in pick])
        if n is not None:
            st.session_state["flash"] = T(f"{n} 条消息重新排队", f"{n} message(s) queued again")
            st.rerun()
