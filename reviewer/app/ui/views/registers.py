import streamlit as st

from reviewer.app import registers as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id, table, text_table

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
        table(taken)
    reg = svc.centre_register(rid)
    if not reg.empty:
        text_table(reg, height=360)     # names and 文号 read whole (the grid clipped them)
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
        table(tech)
with tab_l:
    ledger, total = svc.ledger(rid)
    st.metric(T("已发放补助（万元，不含已冲销）", "Granted (10k yuan, reversals excluded)"), f"{total:,.0f}")
    if ledger.empty:
        st.info(T("补助台账为空。", "The ledger is empty."))
    else:
        text_table(ledger)     # dates, centres, kinds and reasons read whole (the grid clipped them)
    # the same store functions as `reviewer register grant|reverse`: the Ledger's rules decide, audited
    centres, reversible = svc.grant_choices(rid)
    c_grant, c_back = st.columns(2)
    with c_grant, st.form("ledger_grant"):
        st.markdown(T("**登记补助发放**（单项上限：新认定 200 万元、国家级 1000 万元；同一中心同一类补助只发一次；"
                      "受年度预算约束）", "**Record a grant** (caps: 200万 new, 1000万 national; never twice per centre "
                      "and kind; the annual budget)"))
        centre = st.selectbox(T("中心", "Centre"), list(centres), format_func=lambda c: centres.get(c, c),
                              key="ledger_centre", index=None, placeholder=T("选择中心", "Choose a centre"))
        kind = st.selectbox(T("补助类别", "Kind"), list(svc.KINDS), format_func=lambda k: svc.KINDS[k], key="ledger_kind")
        amount = st.number_input(T("金额（万元）", "Amount (10k yuan)"), min_value=0.0, value=200.0, step=10.0,
                                 key="ledger_amount")
        day = st.date_input(T("发放日期（计入当年预算）", "Date (counts against that year's budget)"),
                            value=svc.round_day(rid), key="ledger_date")
        doc = st.text_input(T("文号", "Document number"), key="ledger_doc")
        why = st.text_input(T("理由（记入审计日志）", "Reason (recorded in the audit log)"), key="ledger_reason")
        go = st.form_submit_button(T("登记发放", "Record the grant"), type="primary", disabled=not can_edit())
    if go:
        who = editor_name()
        if centre is None:
            st.error(T("请选择中心。", "Choose a centre."))
        else:
            got = guard(svc.record_grant, rid, who, centre_id=centre, kind=kind, amount_wan=amount, date=day.isoformat(),
                        document_no=doc, reason=why)
            if got is not None:
                flash(T(f"已登记：{got['centre_id']} {got['kind']} {got['amount_wan']:g} 万元。",
                        f"Recorded: {got['centre_id']} {got['kind']} {got['amount_wan']:g}万."))
                st.rerun()
    with c_back, st.form("ledger_reverse"):
        st.markdown(T("**冲销一笔已发放的补助**（另记一条冲销记录，原记录不改；须说明理由）",
                      "**Reverse a grant** (an entry of its own, the grant is never edited; a reason is needed)"))
        entry = st.selectbox(T("序号", "Entry"), reversible, key="ledger_entry", index=None,
                             placeholder=T("选择要冲销的记录", "Choose the entry"))
        back_day = st.date_input(T("冲销日期", "Date"), value=svc.round_day(rid), key="ledger_back_date")
        back_doc = st.text_input(T("文号（可选）", "Document number (optional)"), key="ledger_back_doc")
        back_why = st.text_input(T("冲销理由（记入审计日志）", "Reason (recorded in the audit log)"), key="ledger_back_reason")
        back = st.form_submit_button(T("冲销", "Reverse"), disabled=not can_edit() or not reversible)
    if back:
        who = editor_name()
        if entry is None:
            st.error(T("请选择要冲销的记录。", "Choose the entry to reverse."))
        else:
            got = guard(svc.reverse_grant, rid, who, entry_id=entry, date=back_day.isoformat(), reason=back_why,
                        document_no=back_doc)
            if got is not None:
                flash(T(f"已冲销第 {entry} 条：{got['centre_id']} {got['kind']} {got['amount_wan']:g} 万元。",
                        f"Reversed entry {entry}: {got['centre_id']} {got['kind']} {got['amount_wan']:g}万."))
                st.rerun()
