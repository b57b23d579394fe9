import streamlit as st

from reviewer.app import registers as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id

header("registers", "登记册：中心名录（试点、认定、国家级中心占用其领域，撤销则释放；排名据此执行“一领域一中心”）、"
                    "广西技术创新中心名录（所在领域的新认定中心不予补助）和唯一的补助台账（同一中心同一类补助只发一次，"
                    "受单项上限和年度预算约束）。均保存在数据库中，每项记录写入审计日志。",
       "Registers: the centre register (试点, 认定 and 国家级 centres occupy their field, 撤销 frees it; the ranking "
       "applies one centre per field from it), the technology innovation centre register (no new-centre subsidy in "
       "its fields) and the one subsidy ledger (never twice per centre and kind, caps and the annual budget). Kept in "
       "the store; every entry is audited.")
rid = round_id()
read_only_note()
tab_c, tab_t, tab_l = st.tabs([T("中心名录", "Centre register"), T("技术创新中心名录", "Technology innovation centres"),
                               T("补助台账", "Subsidy ledger")])
with tab_c:
    taken = svc.fields_taken(rid)
    st.markdown(T(f"**基准日已占用的领域：{len(taken)} 个**（排名不再推荐这些领域的新中心）",
                  f"**Fields taken on the reference date: {len(taken)}** (the ranking recommends no new centre there)"))
    if taken.empty:
        st.info(T("中心名录为空。演示轮次可用下方按钮导入往年中心的生命周期；也可用命令 `reviewer register centre`。",
                  "The centre register is empty. For the demo round, record the past centres' life cycle below; "
                  "or `reviewer register centre`."))
    else:
        st.dataframe(taken, hide_index=True, width="stretch")
    reg = svc.centre_register(rid)
    if not reg.empty:
        st.dataframe(reg, hide_index=True, width="stretch", height=300)
    if st.button(T("导入演示往年中心的生命周期（仅新增，记入审计）", "Record the demo's past centres' life cycle (new only, audited)"),
                 disabled=not can_edit()):
        who = editor_name()
        got = guard(svc.record_demo_lifecycle, rid, who)
        if got is not None:
            flash(T(f"已记录 {got[0]} 条名录事件、{got[1]} 条补助台账记录。",
                    f"Recorded {got[0]} register events and {got[1]} ledger entries."))
            st.rerun()
with tab_t:
    tech = svc.tech_register(rid)
    if tech.empty:
        st.info(T("技术创新中心名录为空（命令 `reviewer register tech` 录入，须有文号和日期）。",
                  "No technology innovation centre recorded (`reviewer register tech`, with document number and date)."))
    else:
        st.dataframe(tech, hide_index=True, width="stretch")
with tab_l:
    ledger, total = svc.ledger(rid)
    st.metric(T("已发放补助（万元）", "Granted (10k yuan)"), f"{total:,.0f}")
    if ledger.empty:
        st.info(T("补助台账为空。", "The ledger is empty."))
    else:
        st.dataframe(ledger, hide_index=True, width="stretch",
                     column_config={"金额（万元）": st.column_config.NumberColumn(format="%.0f")})
