import streamlit as st

from reviewer.app import draws as svc_draws
from reviewer.app.ui.common import T, guard, header, round_id, table

header("draws", "随机抽取的公开验证：抽取前记录的承诺（输入数据、规则、参数与种子的 SHA-256），抽取后揭示的种子；"
                "“验证”按存储的输入与揭示的种子重新计算抽取，与承诺、该次运行存储的席位和已发布的专家组逐一比对，"
                "显示一致（MATCH）或不一致（MISMATCH）及不同之处。与命令 `reviewer verify-draw 运行号` 相同。",
       "Public verification of a random draw: the commitment recorded before the draw (SHA-256 of the inputs, "
       "policy, parameters and seed) and the seed revealed after it. Verify recomputes the draw from the stored "
       "inputs and the revealed seed and compares it with the commitment, the run's stored seats and the published "
       "panels: MATCH, or MISMATCH naming what differs. The same check as `reviewer verify-draw RUN_ID`.")
rid = round_id()
runs = svc_draws.drawn_runs(rid)
if runs.empty:
    st.info(T("本轮尚无经承诺的随机抽取（在“专家组”页选择随机抽取，或使用 reviewer draw commit / reveal）。",
              "No committed random draw in this round yet (draw on the Panels page, or reviewer draw commit / reveal)."))
    st.stop()
table(runs, ["run_id", "stages", "commitment", "committed_at", "seed_mode", "seed", "public_value", "revealed_at",
             "lottery_version"], height=220,
      config={"run_id": st.column_config.Column(T("运行", "Run")), "stages": st.column_config.Column(T("阶段", "Stages")),
              "commitment": st.column_config.TextColumn(T("承诺 SHA-256", "Commitment SHA-256"), width="large"),
              "committed_at": st.column_config.Column(T("承诺时间", "Committed")),
              "seed_mode": st.column_config.Column(T("种子来源", "Seed from")),
              "seed": st.column_config.Column(T("揭示的种子", "Revealed seed")),
              "public_value": st.column_config.Column(T("公开数值", "Public value")),
              "revealed_at": st.column_config.Column(T("揭示时间", "Revealed")),
              "lottery_version": st.column_config.Column(T("抽取程序版本", "Lottery version"))})
run_id = st.selectbox(T("要验证的运行", "Run to verify"), runs["run_id"].tolist(), format_func=lambda i: f"#{i}")
if st.button(T("验证", "Verify"), type="primary"):
    with st.spinner(T("正在按存储的输入重新计算抽取……", "Recomputing the draw from the stored inputs…")):
        res = guard(svc_draws.verify, rid, int(run_id))
    if res is not None:
        st.session_state["draw_verification"] = (rid, int(run_id), res)
got = st.session_state.get("draw_verification")
if got is not None and got[0] == rid and got[1] == int(run_id):
    res = got[2]
    row = res["run"]
    st.markdown(f"**{T('承诺', 'Commitment')}**: `{row['commitment']}`  \n"
                f"**{T('揭示的种子', 'Revealed seed')}**: `{row['seed']}` ({row['seed_mode']})")
    (st.success if res["ok"] else st.error)(f"{res['verdict']} — run #{run_id}" + (
        "" if res["ok"] else T(f"：{len(res['differences'])} 处不同", f": {len(res['differences'])} differences")))
    for n in res["notes"]:
        st.caption(n)
    if res["differences"]:
        st.markdown("\n".join(f"- {d}" for d in res["differences"][:60]))
