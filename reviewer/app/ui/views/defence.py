import streamlit as st

from reviewer.app import stages as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id, table

header("defence", "答辩安排（认定评审会议）：答辩顺序由随机种子抽取（种子与顺序记入本轮设置和审计日志，同一种子在任何机器上"
                  "得到同一顺序），时间段按会议开始时间、汇报与质询时长、休息和午休排定；可下载答辩日程、每个申报单位的答辩通知"
                  "（时间、地点、汇报时长、参会人数）和签到表。与命令 `reviewer stage defence` 相同。",
       "The defence meeting (认定评审): the order is drawn with a seed (seed and order recorded in the round settings "
       "and the audit log; the same seed gives the same order anywhere); the slots follow from the meeting's start, "
       "presentation and question minutes, breaks and lunch. Download the schedule, a notice per applicant and the "
       "sign-in sheet. The same as `reviewer stage defence`.")
rid = round_id()
read_only_note()
d = guard(svc.defence_state, rid)
if d is None:
    st.stop()
m, rules = d["meeting"], d["rules"]
st.markdown(T(f"**{d['stage']}** 会议：{m.date or '日期待定'} {m.time or '时间待定'}，{m.place or '地点待定'}；"
              f"联系人 {m.contact or '待定'}。每项汇报 {rules.presentation_minutes} 分钟、质询 {rules.questions_minutes} "
              f"分钟；参会人数不超过 {m.attendees or rules.attendees} 人。",
              f"**{d['stage']}** meeting: {m.date or 'date tbd'} {m.time or 'time tbd'}, {m.place or 'place tbd'}; "
              f"contact {m.contact or 'tbd'}. {rules.presentation_minutes} min presentation, {rules.questions_minutes} "
              f"min questions; at most {m.attendees or rules.attendees} attendees."))
if not m.time:
    st.warning(T("会议开始时间未设置：请在“轮次”页的本轮设置中填写认定评审的时间，才能排定时间段。",
                 "The meeting has no start time: set it in the round settings (Round page) to get the time slots."))
if d["applications"]:
    st.caption(T(f"参加答辩的申报（{len(d['applications'])} 项）：", f"Applications that defend ({len(d['applications'])}): ")
               + "、".join(d["applications"]))
else:
    st.info(d["why_none"])

st.subheader(T("抽取答辩顺序", "Draw the order"))
with st.form("defence_draw"):
    seed = st.number_input(T("随机种子（记录在案，可复核）", "Seed (recorded, reproducible)"), min_value=0, value=0, step=1,
                           key="defence_seed")
    reason = st.text_input(T("理由（记入审计日志）", "Reason (audit log)"), key="defence_reason")
    go = st.form_submit_button(T("抽取并记录", "Draw and record"), type="primary",
                               disabled=not can_edit() or not d["applications"])
if go:
    who = editor_name()
    order = guard(svc.draw, rid, int(seed), who, reason)
    if order is not None:
        flash(T(f"答辩顺序已抽取并记录（种子 {int(seed)}）：", f"Order drawn and recorded (seed {int(seed)}): ")
              + "、".join(order))
        st.rerun()

if d["order"]:
    st.subheader(T(f"答辩顺序与时间（种子 {d['seed']}）", f"Order and slots (seed {d['seed']})"))
    if m.time:
        sched = guard(svc.schedule, rid)
        if sched is not None:
            table(sched, ["order", "application_id", "name", "lead_unit", "start", "end", "note"], height=420,
                  config={"order": st.column_config.NumberColumn(T("顺序", "Order"), format="%d"),
                          "lead_unit": st.column_config.Column(T("牵头单位", "Lead unit")),
                          "start": st.column_config.Column(T("开始", "Start")),
                          "end": st.column_config.Column(T("结束", "End")),
                          "note": st.column_config.Column(T("备注", "Note"))})
            z = guard(svc.documents_zip, rid)
            if z is not None:
                st.download_button(T("下载答辩日程、通知与签到表（zip）", "Download schedule, notices and sign-in sheet (zip)"),
                                   z, file_name=f"答辩安排_{rid}.zip", mime="application/zip")
    else:
        st.write(" → ".join(f"{i}. {a}" for i, a in enumerate(d["order"], 1)))
