import streamlit as st

from reviewer.app import charts as charts
from reviewer.app import screening as svc_screening
from reviewer.app.ui.common import T, flash, can_edit, guard, header, read_only_note, round_id, text_table, editor_name, lang, chart

header("screening", "每个申报逐项审查（E1–E9）：通过、不通过或需复核，并给出依据和规则。不通过的申报保留在名单中，并写明原因。",
       "Every application is checked (E1–E9): pass, fail or needs review, with evidence and rule. "
       "Failed applications stay in the list with their reasons.")
rid = round_id()
res = guard(svc_screening.screening, rid)
if res is None or res.summary.empty:
    st.info(T("尚无申报数据，请先导入。", "No applications yet: import first."))
    st.stop()

left, right = st.columns([1, 2])
with left:
    chart(st, charts.screening_outcomes, res.summary, lang(), width="stretch")
with right:
    pick = st.multiselect(T("显示结果", "Show"), ["通过", "需人工复核", "不通过"], default=["通过", "需人工复核", "不通过"],
                          placeholder=T("请选择（可多选）", "Choose"))
view = res.summary[res.summary["outcome_zh"].isin(pick)]
# the table under the chart, full width: beside it the ids and reasons would be squeezed into narrow lines
text_table(view, ["application_id", "name", "field", "outcome_zh", "failed_rules", "review_rules", "reasons"], height=420)

st.subheader(T("逐项明细", "Checks of one application"))
names = dict(zip(res.summary["application_id"], res.summary["name"]))   # (not a pandas lookup per option)
app = st.selectbox(T("申报", "Application"), res.summary["application_id"].tolist(),
                   format_func=lambda a: f"{a} {names[a]}")
text_table(res.checks[res.checks["application_id"] == app], ["rule", "check_zh", "outcome_zh", "evidence", "threshold", "reason"])

st.subheader(T("需复核事项", "Needs-review items"))
read_only_note()
items = svc_screening.review_items(rid)
if items.empty:
    st.caption(T("没有需复核的事项。", "Nothing needs review."))
else:
    text_table(items, ["application_id", "rule", "check_zh", "evidence", "reason", "decision", "decision_reason", "decided_by"])
    with st.form("review"):
        keys = [f"{a} {r}" for a, r in zip(items.application_id, items.rule)]
        k = st.selectbox(T("事项", "Item"), keys)
        outcome = st.radio(T("结论", "Decision"), ["pass", "fail"], horizontal=True,
                           format_func=lambda o: {"pass": T("通过", "pass"), "fail": T("不通过", "fail")}[o])
        reason = st.text_area(T("理由（必填，记入操作记录）", "Reason (required, audited)"))
        ok = st.form_submit_button(T("保存结论", "Save decision"), type="primary", disabled=not can_edit())
    if ok:
        a, r = k.split(" ", 1)
        if guard(svc_screening.decide_review, rid, a, r, outcome, reason, editor_name()) is not None:
            flash(T(f"已保存 {a} {r} 的复核结论，并记入操作记录。", f"Saved the decision on {a} {r} (audited)."))
            st.rerun()
