import pandas as pd
import streamlit as st

from reviewer.app import stages as svc
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id, text_table

header("stages", "阶段晋级：初审评估 → 现场考察 → 认定评审，每个阶段用本阶段的评分工具（现场考察为核查表，核查项评 0 分"
                 "即“材料不实”一票否决）汇总后，按晋级规则（分数线、每领域前 k 名）提出晋级建议，每项附理由。"
                 "工作人员确认后记录（写入审计日志），下一阶段的专家组只为晋级的申报组建。可逐项调整，须说明理由。"
                 "与命令 `reviewer stage advance` 相同。",
       "Advancement between stages: each stage is aggregated with its own instrument (现场考察: the verification "
       "checklist; a veto item scored 0 = materials untrue, out), and its rule (pass line, best k per field) proposes "
       "who advances, each with a reason. Staff record it (audited); the next stage is planned only for what "
       "advanced. A row may be overruled with a reason. The same as `reviewer stage advance`.")
rid = round_id()
read_only_note()
stages = svc.gated_stages(rid)
if not stages:
    st.info(T("本轮政策只有一个阶段，无晋级。", "The policy has one stage only: nothing advances."))
    st.stop()
recorded = set(svc.decisions(rid)["stage"])
# open on the first stage still to decide (all decided: the last one), where the work is
start = next((i for i, x in enumerate(stages) if x not in recorded), len(stages) - 1)
stage = st.selectbox(T("阶段", "Stage"), stages, index=start, key="adv_stage")
st.caption(svc.rule_text(rid, stage))
prop = guard(svc.proposal, rid, stage)
if prop is None:
    st.stop()
n_adv, n_veto = int(prop["advance"].sum()), int((prop["outcome"] == "vetoed").sum())
c = st.columns(3)
c[0].metric(T("参评申报", "Applications"), len(prop))
c[1].metric(T("建议晋级", "Proposed to advance"), n_adv)
c[2].metric(T("一票否决", "Vetoed"), n_veto)
# a static table the browser wraps: in the grid a long reason (a veto's evidence, a line and rank) was clipped
text_table(prop, svc.PROPOSAL_COLS, height=420,
           labels={"score": T("得分", "Score"), "rank_in_field": T("领域内排名", "Rank in field"),
                   "outcome_zh": T("建议", "Proposal"), "advance": T("晋级", "Advances"), "reason_zh": T("理由", "Reason")})

st.subheader(T("确认并记录晋级名单", "Record the advancement"))
with st.form("advance_form"):
    ids = prop["application_id"].tolist()
    keep = st.multiselect(T("调整为晋级（须说明理由）", "Advance against the proposal (reason needed)"),
                          [a for a, adv in zip(ids, prop["advance"]) if not adv], key="adv_keep", placeholder=T("请选择（可多选）", "Choose"))
    drop = st.multiselect(T("调整为不晋级（须说明理由）", "Keep out against the proposal (reason needed)"),
                          [a for a, adv in zip(ids, prop["advance"]) if adv], key="adv_drop", placeholder=T("请选择（可多选）", "Choose"))
    why_change = st.text_input(T("调整理由", "Reason for the changes"), key="adv_change_reason")
    reason = st.text_input(T("确认理由（记入审计日志）", "Reason (recorded in the audit log)"), key="adv_reason")
    go = st.form_submit_button(T("确认晋级名单", "Record the advancement"), type="primary", disabled=not can_edit())
if go:
    who = editor_name()
    if (keep or drop) and not why_change.strip():
        st.error(T("调整建议须说明理由。", "Changing the proposal needs a reason."))
    else:
        over = {a: (True, why_change) for a in keep} | {a: (False, why_change) for a in drop}
        res = guard(svc.record, rid, stage, who, reason, over)
        if res is not None:
            flash(T(f"已记录：{res['advanced']}/{res['of']} 项晋级至{res['next']}，{res['next']}的专家组只为这些申报组建"
                    f"（依据汇总运行 #{res['run_id']}）。",
                    f"Recorded: {res['advanced']} of {res['of']} advance to {res['next']}; {res['next']} is planned "
                    f"for these only (aggregation run #{res['run_id']})."))
            st.rerun()

st.subheader(T("已记录的晋级", "Recorded advancement"))
dec = svc.decisions(rid)
if dec.empty:
    st.info(T("尚未记录任何阶段的晋级名单。", "No advancement recorded yet."))
else:
    # the aggregation run each decision came from: `reviewer reproduce RUN` recomputes its scores
    runs = dec.groupby("stage", sort=False)["run_id"].agg(lambda x: "、".join(f"#{int(v)}" for v in sorted(x.dropna().unique())))
    st.caption(T("依据的汇总运行（可用 `reviewer reproduce 运行号` 复算其得分）：", "Aggregation runs decided from "
                 "(`reviewer reproduce RUN` recomputes their scores): ")
               + "；".join(f"{k} {v or '—'}" for k, v in runs.items()))
    dec = dec.assign(result=dec["advanced"].map({True: T("晋级", "advances"), False: T("未晋级", "stays out")}),
                     run=[f"#{int(x)}" if pd.notna(x) else "—" for x in dec["run_id"]])
    text_table(dec, ["stage", "application_id", "result", "reason", "run", "decided_by"], height=300,
               labels={"stage": T("阶段", "Stage"), "application_id": T("申报编号", "Application"),
                       "result": T("结果", "Result"), "reason": T("理由", "Reason"),
                       "run": T("汇总运行", "Aggregation run"), "decided_by": T("记录人", "By")})
