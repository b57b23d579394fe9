"""专家库档案 The expert pool across rounds (issue 16 item 6): the merged pool record, credit penalties with
dates, ratings after a round, deviation flags (evidence only), the bars of rule P1 专家库资格 this round
plans under, and the yearly pool report."""
import datetime as dt

import streamlit as st

from reviewer.app import pool as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id, table

header("pool", "专家库跨轮次保存：合并导入更新的专家库文件（按专家编号保留历史）、信用惩戒（起止日期与冷却期）、评审后评价、"
               "偏差标记（仅作记录，不自动惩戒）。受信用惩戒或连续评审轮换限制的专家不参加本轮抽取（规则 P1 专家库资格）。",
       "The pool across rounds: merge an updated pool file (history kept by expert id), credit penalties (dates and "
       "cooling-off), ratings after a round, deviation flags (evidence only, never a penalty). Experts under a "
       "penalty or over the rotation limit are not drawn in this round (rule P1 pool standing).")
rid = round_id()
read_only_note()
o = guard(svc.overview, rid)
if o is None:
    st.stop()
ex = o["experts"]
c = st.columns(4)
c[0].metric(T("在库专家", "In the pool"), int(ex["in_pool"].sum()) if len(ex) else 0)
c[1].metric(T("已退出", "Left"), int((~ex["in_pool"]).sum()) if len(ex) else 0)
c[2].metric(T("本轮不可抽取（P1）", "Barred this round (P1)"), int(o["bars"]["expert_id"].nunique()))
c[3].metric(T("偏差标记", "Flags"), len(o["flags"]))

st.subheader(T(f"本轮专家库资格（P1，参考日期 {o['day']}）", f"Pool standing this round (P1, reference date {o['day']})"))
if o["bars"].empty:
    st.success(T("本轮没有因信用惩戒或轮换限制而不可抽取的专家。", "No expert is barred by a penalty or the rotation limit."))
else:
    table(o["bars"], ["expert_id", "field", "reason"],
          config={"field": st.column_config.TextColumn(T("领域", "Field")),
                  "reason": st.column_config.TextColumn(T("原因", "Why"), width="large")})

if not o["seated"].empty:
    st.warning(T("以下已发布席位的专家现受专家库资格限制（发布后记录的惩戒）。未评分阶段的席位已转入补抽（按政策自动补抽，或在"
                 "“专家答复”页审核建议）；已评分阶段的席位不自动替换，如需替换请用 reviewer replace。",
                 "These published seats hold experts the pool standing now bars (a penalty recorded after publication). "
                 "Seats of unscored stages went to 补抽 (automatic per the policy, or approve the proposal on the "
                 "Responses page); seats of a scored stage are left for the staff (reviewer replace)."))
    table(o["seated"], ["stage", "application_id", "expert_id", "reason"])

st.subheader(T("专家库", "The pool"))
if ex.empty:
    st.info(T("专家库为空：上传专家库文件（与导入页的“专家库”表格式相同）。", "The pool is empty: upload a pool file "
              "(the experts table of the import page)."))
else:
    table(ex, list(ex.columns), height=360,
          config={"standing": st.column_config.TextColumn(T("专家库资格", "Standing"), width="large"),
                  "in_pool": st.column_config.CheckboxColumn(T("在库", "In pool")),
                  "rating": st.column_config.NumberColumn(T("平均评价", "Rating"), format="%.2f"),
                  "flags": st.column_config.NumberColumn(T("偏差标记", "Flags"))})

if not ex.empty:
    pick = st.selectbox(T("查看专家档案", "One expert's record"), [""] + ex["expert_id"].tolist(), key="pool_pick",
                        format_func=lambda e: e and f"{e} {ex.set_index('expert_id').at[e, 'name']}")
    if pick:
        rec = guard(svc.expert_record, pick)
        if rec is not None:
            table(rec, ["at", "what", "detail"],
                  config={"at": st.column_config.DatetimeColumn(T("时间", "When"), format="YYYY-MM-DD HH:mm"),
                          "what": st.column_config.TextColumn(T("事项", "What")),
                          "detail": st.column_config.TextColumn(T("详情", "Detail"), width="large")})

with st.expander(T("合并导入专家库文件", "Merge a pool file"), expanded=ex.empty):
    up = st.file_uploader(T("专家库文件（.xlsx / .csv）", "Pool file (.xlsx / .csv)"), type=["xlsx", "csv"], key="pool_file")
    if st.button(T("合并导入", "Merge"), disabled=not can_edit() or up is None, key="pool_merge"):
        lines = guard(svc.merge, rid, up.name, up.getvalue(), editor_name())
        if lines is not None:
            flash("\n\n".join(lines[:30]))
            st.rerun()
    st.caption(T("或者用本轮已导入的专家库建立/更新专家库（同样按专家编号合并，保留历史）。",
                 "Or merge the experts of this round's import (the same merge by expert id, history kept)."))
    if st.button(T("由本轮导入数据合并", "Merge this round's experts"), disabled=not can_edit(), key="pool_merge_round"):
        lines = guard(svc.merge_round, rid, editor_name())
        if lines is not None:
            flash("\n\n".join(lines[:30]))
            st.rerun()

st.subheader(T("信用惩戒", "Credit penalties"))
if not o["penalties"].empty:
    table(o["penalties"], list(o["penalties"].columns),
          config={"barred_until": st.column_config.TextColumn(T("不可抽取至", "Barred until")),
                  "withdrawn": st.column_config.CheckboxColumn(T("已撤销", "Withdrawn"))})
with st.form("pool_penalty"):
    f = st.columns(3)
    who = f[0].text_input(T("专家编号", "Expert id"))
    kind = f[1].selectbox(T("惩戒类型", "Kind"), o["kinds"])
    evidence = f[2].text_input(T("证据（文号等）", "Evidence (document no.)"))
    d = st.columns(3)
    start = d[0].date_input(T("起始日期", "Start"), value=dt.date.today())
    has_end = d[1].checkbox(T("有截止日期", "Has an end date"), value=True)
    end = d[2].date_input(T("截止日期", "End"), value=dt.date.today() + dt.timedelta(days=365))
    reason = st.text_input(T("理由（必填）", "Reason (required)"))
    if st.form_submit_button(T("记录惩戒", "Record the penalty"), disabled=not can_edit()):
        done = guard(svc.add_penalty, rid, expert_id=who, kind=kind, start=start, end=end if has_end else None,
                     reason=reason, evidence=evidence, user=editor_name())
        if done is not None:
            pid, lines = done   # the seats rule P1 now bars went to 补抽 (a scored stage is left, reported)
            flash(T(f"已记录惩戒 #{pid}（已记入审计日志）。", f"Penalty #{pid} recorded (audited).")
                  + ("；" + "；".join(lines) if lines else ""))
            st.rerun()
open_ids = o["penalties"].loc[~o["penalties"]["withdrawn"], "id"].tolist() if not o["penalties"].empty else []
if open_ids:
    w = st.columns([1, 3, 1])
    pid = w[0].selectbox(T("撤销惩戒编号", "Withdraw #"), open_ids, key="pool_withdraw_id")
    why = w[1].text_input(T("撤销理由", "Reason"), key="pool_withdraw_reason")
    if w[2].button(T("撤销", "Withdraw"), disabled=not can_edit(), key="pool_withdraw"):
        done = guard(svc.withdraw, pid, why, editor_name())
        if done is not None:
            flash(T(f"惩戒 #{pid} 已撤销。", f"Penalty #{pid} withdrawn.")
                  + ("；" + "；".join(done) if isinstance(done, list) and done else ""))
            st.rerun()

st.subheader(T("本轮评审后评价", "Rate an expert's work in this round"))
with st.form("pool_rate"):
    r = st.columns([2, 1, 3])
    who_r = r[0].text_input(T("专家编号", "Expert id"), key="pool_rate_expert")
    stars = r[1].number_input(T("评价（1-5）", "Rating (1-5)"), min_value=1, max_value=5, value=4)
    note = r[2].text_input(T("说明", "Note"))
    if st.form_submit_button(T("保存评价", "Save the rating"), disabled=not can_edit()):
        if guard(svc.rate, rid, who_r, int(stars), note, editor_name()) is not None:
            flash(T("评价已保存（已记入审计日志）。", "Rating saved (audited)."))
            st.rerun()

if not o["flags"].empty:
    st.subheader(T("偏差标记（仅作记录，不自动惩戒）", "Deviation flags (evidence only, never a penalty)"))
    table(o["flags"], list(o["flags"].columns))

st.subheader(T("年度专家库报告", "Yearly pool report"))
year = st.number_input(T("年度", "Year"), min_value=2000, max_value=2100, value=o["year"], key="pool_year")
if st.button(T("生成年度报告", "Make the report"), key="pool_report_make"):
    data = guard(svc.report_bytes, rid, int(year))
    if data is not None:
        st.session_state["pool_report"] = (int(year), data)
got = st.session_state.get("pool_report")
if got is not None:
    st.download_button(T(f"下载 {got[0]} 年度专家库报告（Excel）", f"Download the {got[0]} pool report (Excel)"), data=got[1],
                       file_name=f"专家库年度报告_{got[0]}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
