"""专家答复 The response board of a published stage (issue 16): answered, late, open, recusals to
decide, seats waiting for 补抽; staff record answers taken by phone, decide recusals, mark no-replies."""
import streamlit as st

from reviewer.app import responses as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id, table
from reviewer.store.seat_responses import RELATIONS, STATUS_ZH

header("responses", "已发布阶段中每个席位的专家答复：已确认、请假、申请回避、逾期未答复与补抽。专家通过个人链接答复，"
                    "工作人员也可代为登记电话答复。每一步都记入审计日志。",
       "Each published seat's answer: confirmed, declined, recusal, no reply by the deadline, and 补抽 refills. "
       "Experts answer through their personal link; staff may record an answer taken by phone. Every step is audited.")
rid = round_id()
read_only_note()
stages = svc.published_stages(rid)
if not stages:
    st.warning(T("尚无已发布的阶段：发布后即向专家发出邀请。", "No published stage yet: publishing invites the experts."))
    st.stop()
stage = st.radio(T("阶段", "Stage"), stages, horizontal=True, key="resp_stage")
b = svc.board(rid, stage)
n = svc.counts(b)
st.caption(T(f"评审开始：{svc.stage_start_text(rid, stage) or '未排期（在“轮次”页或 reviewer round settings 设置会议时间）'}"
             f" · 补抽方式：{'自动' if svc.refill_mode(rid) == 'automatic' else '人工审核'}",
             f"Stage starts: {svc.stage_start_text(rid, stage) or 'not scheduled'} · refill: {svc.refill_mode(rid)}"))
c = st.columns(6)
for col, key, zh, en in ((c[0], "seats", "席位", "Seats"), (c[1], "confirmed", "已确认", "Confirmed"),
                         (c[2], "open", "待答复", "Open"), (c[3], "late", "逾期", "Late"),
                         (c[4], "needs_refill", "待补抽", "To refill"), (c[5], "replaced", "已替换", "Replaced")):
    col.metric(T(zh, en), n[key])
if n["unavailable"]:
    st.warning(T(f"会议日期调整后，{n['unavailable']} 个席位的专家在新日期不可参加（“标记”列：新日期不可参加）。未评分阶段的"
                 "这些席位记为“日期冲突”并转入补抽（按政策自动，或在下方审核建议）；已评分阶段或回避申请待审核的席位不自动处理。",
                 f"After the meeting date moved, {n['unavailable']} seat(s) belong to experts not available on the new "
                 "day (flag 'unavailable'). In an unscored stage they become 'date conflict' and go to 补抽 (automatic "
                 "per the policy, or approve the proposals below); a scored stage or a pending recusal is left alone."))
if can_edit() and st.button(T("重新检查日期冲突与专家库资格并补抽", "Re-check date conflicts and pool standing, then refill"),
                            key="resp_recheck"):
    _out = guard(svc.recheck, rid, editor_name())
    if _out is not None:
        flash("；".join(_out.lines + _out.pending) or T("没有需要处理的席位。", "No seat needed a change."))
        st.rerun()

show = st.radio(T("显示", "Show"), ["all", "open", "late", "refill", "unavailable", "replaced"], horizontal=True,
                format_func=lambda k: {"all": T("全部", "All"), "open": T("待答复", "Open"), "late": T("逾期", "Late"),
                                       "refill": T("待补抽", "To refill"),
                                       "unavailable": T("新日期不可参加", "Unavailable on the day"),
                                       "replaced": T("已替换", "Replaced")}[k])
view = b
if show == "open":
    view = b[b["open"]]
elif show == "late":
    view = b[b["late"]]
elif show == "refill":
    view = b[b["needs_refill"]]
elif show == "unavailable":
    view = b[b["unavailable"]]
elif show == "replaced":
    view = b[b["status"] == "replaced"]
cfg = {"status_zh": st.column_config.Column(T("状态", "Status")), "role_zh": st.column_config.Column(T("角色", "Role")),
       "deadline_text": st.column_config.Column(T("答复截止", "Deadline")),
       "answered_at_text": st.column_config.Column(T("答复时间", "Answered")),
       "relation_zh": st.column_config.Column(T("回避关系", "Relation")),
       "flags": st.column_config.Column(T("提示", "Flags")),
       "replaced_by": st.column_config.Column(T("替换为", "Replaced by")),
       "note": st.column_config.TextColumn(T("原因与说明", "Reason and notes"), width="medium")}
table(view, ["application_id", "expert_id", "expert_name", "role_zh", "status_zh", "flags", "replaced_by", "note",
             "deadline_text", "answered_at_text"], config=cfg, height=420, key="resp_board")


def done(out) -> None:
    if out is None:
        return
    msg = "；".join(out.lines)
    if out.pending:
        msg += T("。未能自动补抽：", ". Not refilled: ") + "；".join(out.pending)
    flash(msg)
    st.rerun()


if can_edit():
    st.subheader(T("标记逾期未答复", "Mark no replies"))
    st.caption(T("答复截止后仍为“已邀请”的席位记为“未答复”，并按政策补抽。",
                 "Seats still invited after their deadline become no reply and are refilled per the policy."))
    if st.button(T(f"标记未答复（当前逾期 {n['late'] - int((b['status'] == 'no_reply').sum())} 个）",
                   "Mark no replies"), key="resp_expire"):
        done(guard(svc.expire, rid, stage, editor_name()))

    recusals = b[b["status"] == "recusal"]
    if not recusals.empty:
        st.subheader(T("待审核的回避申请", "Recusals to decide"))
        pick = st.selectbox(T("申请", "Request"), list(recusals.index), key="resp_recusal",
                            format_func=lambda i: f"{b.at[i, 'application_id']} · {b.at[i, 'expert_id']} "
                                                  f"{b.at[i, 'expert_name']} · {b.at[i, 'relation_zh']} · {b.at[i, 'reason']}")
        why = st.text_input(T("审核意见（驳回必填）", "Decision note (required to reject)"), key="resp_recusal_why")
        c = st.columns(2)
        st.caption(T("同意后该专家与该申报在所有阶段回避（含已发布阶段，其席位按规则补抽）。",
                     "Accepting forbids the pair in every stage (published ones: the seat is refilled)."))
        for col, accept, label in ((c[0], True, T("同意回避", "Accept")), (c[1], False, T("驳回", "Reject"))):
            if col.button(label, key=f"resp_recusal_{accept}"):
                done(guard(svc.decide_recusal, rid, stage, b.at[pick, "application_id"], b.at[pick, "expert_id"],
                           accept, why, editor_name()))

    waiting = b[b["needs_refill"]]
    if not waiting.empty:
        st.subheader(T("待补抽", "Waiting for 补抽"))
        if st.button(T("计算补抽建议", "Propose replacements"), key="resp_propose"):
            st.session_state["resp_proposals"] = (stage, guard(svc.proposals, rid, stage))
        props = st.session_state.get("resp_proposals")
        if props and props[0] == stage and props[1] is not None:
            p = props[1]
            table(p, ["application_id", "expert_id", "status_zh", "candidate", "how", "why_not"],
                  config={"candidate": st.column_config.Column(T("建议替换为", "Proposed")),
                          "how": st.column_config.Column(T("方式", "How")),
                          "why_not": st.column_config.TextColumn(T("无建议原因", "Why none"), width="large"),
                          "status_zh": st.column_config.Column(T("状态", "Status"))}, key="resp_props")
            ok = p[p["candidate"] != ""]
            if not ok.empty:
                i = st.selectbox(T("批准哪一项", "Approve"), list(ok.index), key="resp_approve_pick",
                                 format_func=lambda k: f"{ok.at[k, 'application_id']}: {ok.at[k, 'expert_id']} → "
                                                       f"{ok.at[k, 'candidate']}")
                if st.button(T("批准补抽", "Approve"), type="primary", key="resp_approve"):
                    st.session_state.pop("resp_proposals", None)
                    done(guard(svc.approve, rid, stage, ok.at[i, "application_id"], ok.at[i, "expert_id"],
                               ok.at[i, "candidate"], editor_name()))

    st.subheader(T("代为登记答复（电话、书面）", "Record an answer taken by phone or letter"))
    live = b[b["status"] != "replaced"]
    with st.form("resp_answer"):
        c = st.columns(3)
        who = c[0].selectbox(T("专家", "Expert"), sorted(set(live["expert_id"])), key="resp_who",
                             format_func=lambda e: f"{e} {live.loc[live['expert_id'] == e, 'expert_name'].iloc[0]}")
        act = c[1].selectbox(T("答复", "Answer"), ["confirm", "decline", "recuse"], key="resp_act",
                             format_func=lambda a: {"confirm": T("确认参加", "Confirm"), "decline": T("请假", "Decline"),
                                                    "recuse": T("申请回避", "Recuse")}[a])
        app = c[2].selectbox(T("申报项目（申请回避时）", "Application (for a recusal)"), [""] + sorted(set(live["application_id"])),
                             key="resp_app")
        rel = st.selectbox(T("回避关系", "Relation"), [""] + list(RELATIONS), key="resp_rel",
                           format_func=lambda k: RELATIONS.get(k, "—"))
        why = st.text_input(T("原因", "Reason"), key="resp_why")
        if st.form_submit_button(T("登记", "Record")):
            done(guard(svc.record_answer, rid, stage, who, act, reason=why, relation=rel,
                       application_id=app or None, user=editor_name()))
st.caption(T("状态说明：", "States: ") + "；".join(f"{v}" for v in STATUS_ZH.values()))
