import datetime as dt

import pandas as pd
import streamlit as st

from reviewer.app import overview as svc_overview
from reviewer.app import round_settings as svc_settings
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, flash, can_edit, guard, header, round_id, table, editor_name

header("round", "本轮评审的进度一览：申报与专家数量、形式审查结果、各阶段专家组与评分状态。",
       "The round at a glance: applications and experts, screening, and per stage the panels and scores.")
rid = round_id()
ov = guard(svc_overview.round_overview, rid)
if ov:
    c = st.columns(6)
    c[0].metric(T("申报", "Applications"), ov["applications"])
    c[1].metric(T("专家（可抽取）", "Experts (drawable)"), f"{ov['experts']} ({ov['drawable']})")
    c[2].metric(T("形式审查通过", "Passed screening"), ov["pass"])
    c[3].metric(T("不通过", "Failed"), ov["fail"])
    c[4].metric(T("需复核", "Needs review"), ov["review"])
    c[5].metric(T("导入错误", "Import errors"), ov["import_errors"])

st.subheader(T("各阶段状态", "Stages"))
table(svc_overview.round_state(rid), ["stage", "planned", "published", "panels", "seed", "scored", "score_rows"])

st.subheader(T("所有轮次", "All rounds"))
rounds = svc_rounds.list_rounds()
table(pd.DataFrame([{"name": r.name, "round_id": r.round_id, "date": r.as_of or "", "created": r.created,
                     "kind": T("演示", "demo") if r.is_demo else ""} for r in rounds]),
      config={"round_id": st.column_config.Column(T("轮次编号", "Round id"))})

with st.expander(T("新建轮次", "New round"), expanded=False):
    with st.form("new_round"):
        name = st.text_input(T("轮次名称", "Name"), placeholder="2027年度制造业创新中心试点")
        as_of = st.date_input(T("基准日（回避三年窗口等以此日计算）", "Reference date (3-year windows)"),
                              value=dt.date.today())
        demo = st.checkbox(T("复制演示数据作为输入", "Start from the demo inputs"))
        ok = st.form_submit_button(T("创建", "Create"), type="primary", disabled=not can_edit())
    if ok:
        info = guard(svc_rounds.create_round, name, as_of, demo, editor_name())
        if info:
            st.session_state["round_id"] = info.round_id
            svc_rounds.remember_round(info.round_id)
            flash(T(f"已创建轮次 {info.name}", f"Created round {info.name}"))
            st.rerun()

with st.expander(T("会议与日程设置（专家组抽取时核对专家可用日期；通知与日程文件使用）",
                   "Meetings and dates (checked against experts' availability when planning; used in notices and .ics)")):
    cur = guard(svc_settings.current, rid)
    if cur:
        settings, version, stage_names = cur
        with st.form("meeting_settings"):
            stage = st.selectbox(T("阶段", "Stage"), stage_names)
            m = (settings.get("meetings") or {}).get(stage, {})
            c = st.columns(3)
            date = c[0].text_input(T("会议日期 YYYY-MM-DD", "Meeting date"), value=m.get("date", ""))
            time_ = c[1].text_input(T("开始时间 HH:MM", "Start time"), value=m.get("time", ""))
            people = c[2].number_input(T("每单位参会人数（答辩）", "Attendees per applicant"), 0, 50,
                                       int(m.get("attendees") or 0))
            place = st.text_input(T("地点", "Place"), value=m.get("place", ""))
            contact = st.text_input(T("联系人及电话", "Contact"), value=m.get("contact", ""))
            c = st.columns(2)
            site_start = c[0].text_input(T("现场考察开始日期", "Site visits from"), value=settings.get("site_start", ""))
            site_end = c[1].text_input(T("现场考察结束日期", "Site visits until"), value=settings.get("site_end", ""))
            saved = st.form_submit_button(T("保存", "Save"), type="primary", disabled=not can_edit())
        done = guard(svc_settings.save, rid, stage=stage,
                     meeting={"date": date, "time": time_, "place": place, "contact": contact,
                              "attendees": int(people) or None},
                     site_start=site_start, site_end=site_end, user=editor_name(), version=version) if saved else None
        if done is not None:
            # a moved meeting: seats of experts unavailable on the new day went to 补抽 (日期冲突)
            flash(T("已保存会议设置", "Meeting settings saved")
                  + ("；" + "；".join(done) if isinstance(done, list) and done else ""))
            st.rerun()

with st.expander(T("操作记录（存证 = 数据库中的哈希链审计日志）", "Audit log (chained = the store's hash-chained log)")):
    log = svc_rounds.audit_log(rid)
    if log.empty:
        st.caption(T("暂无记录", "Nothing yet"))
    else:
        table(log.head(300), ["at", "user", "action", "detail", "source"],
              config={"detail": st.column_config.TextColumn(T("内容", "Detail"), width="large"),
                      "source": st.column_config.Column(T("来源", "Source"))})
