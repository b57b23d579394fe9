import streamlit as st

from reviewer.app import packs as svc_packs
from reviewer.app import rounds as svc_rounds
from reviewer.app import auth
from reviewer.app.ui.common import (T, app_address, can_edit, editor_name, flash, guard, header, read_only_note,
                                    round_id, table)
from reviewer.exports import csv_bytes

header("packs", "已发布阶段的专家通知包：每位专家一个文件夹（通知与任务、评分表、保密与回避承诺书、日程 .ics），只含本人任务；"
                "另附工作人员汇总表。也可为专家生成个人链接（随机令牌，有效期可设），专家只能看到自己的任务并上传评分。",
       "Expert packs of a published stage: one folder per expert (notice and tasks, score sheet, pledge, .ics), only "
       "their own tasks; plus the staff summary. Personal links (random, expiring tokens): an expert sees only their "
       "own tasks and uploads scores.")
rid = round_id()
read_only_note()
policy = svc_rounds.policy_for(rid)
published = svc_packs.published_stages(rid, policy.stages.order)
if not published:
    st.warning(T("尚无已发布的专家组。请先在“专家组”页发布。", "No published stage yet: publish on the Panels page."))
    st.stop()
stage = st.radio(T("阶段", "Stage"), published, horizontal=True)

st.subheader(T("专家通知包", "Expert packs"))
if st.button(T("生成通知包", "Make the packs"), type="primary", disabled=not can_edit()):
    out = guard(svc_packs.make_packs, rid, stage, editor_name())
    if out is not None:
        st.session_state["packs"] = (stage, out)
packs = st.session_state.get("packs")
if packs is not None and packs[0] == stage:
    res = packs[1]
    st.success(T(f"已生成 {res['n_experts']} 位专家的通知包。", f"Packs made for {res['n_experts']} experts."))
    c = st.columns(2)
    c[0].download_button(T("下载全部通知包（zip）", "Download all packs (zip)"), data=res["zip"],
                         file_name=res["zip_name"], mime="application/zip")
    c[1].download_button(T("下载工作人员汇总表", "Download the staff summary"), data=res["summary"],
                         file_name=res["summary_name"],
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    table(res["experts"], list(res["experts"].columns), height=300)

st.subheader(T("专家个人链接", "Personal links"))
experts = svc_packs.published_experts(rid, stage)
limits = auth.access()
c = st.columns(3)
days = c[0].number_input(T("有效天数", "Valid for (days)"), min_value=1, max_value=int(limits.expert_link_max_days),
                         value=int(limits.expert_link_days))
base = c[1].text_input(T("系统地址（专家访问用）", "App address (for experts)"), value=app_address())
if c[2].button(T("生成个人链接", "Make links"), disabled=not can_edit()):
    rows = guard(svc_packs.make_links, rid, stage, base, float(days), editor_name())
    if rows is not None:
        st.session_state["links"] = rows
links = st.session_state.get("links")
if links is not None:
    st.caption(T("链接只显示这一次（系统只保存令牌的摘要），请立即下载并分别发送给专家。",
                 "Links are shown once (only a hash is stored): download and send each to its expert."))
    table(links, ["expert_id", "expert_name", "link", "expires"],
          config={"link": st.column_config.LinkColumn(T("个人链接", "Link")),
                  "expires": st.column_config.Column(T("到期", "Expires"))})
    st.download_button(T("下载链接清单（CSV）", "Download the links (CSV)"),
                       data=csv_bytes(links), file_name=f"专家链接_{stage}.csv",
                       mime="text/csv")
else:
    table(experts, ["expert_id", "expert_name", "category", "employer"], height=300)

st.subheader(T("撤销或重新生成个人链接", "Revoke or re-issue links"))
issued = svc_packs.links_issued(rid)
if issued.empty:
    st.caption(T("本轮尚未生成个人链接。", "No link issued in this round yet."))
else:
    table(issued, ["expert_id", "expert_name", "created", "expires", "status_zh"], height=220,
          config={"created": st.column_config.Column(T("生成时间", "Issued")),
                  "expires": st.column_config.Column(T("到期", "Expires")),
                  "status_zh": st.column_config.Column(T("状态", "Status"))})
    with st.form("revoke"):
        cc = st.columns([2, 2, 1, 1])
        valid = sorted(set(issued.loc[issued.status == "valid", "expert_id"]))
        anyone = sorted(set(experts["expert_id"]))
        who = cc[0].selectbox(T("专家", "Expert"), anyone, format_func=lambda e: f"{e} {dict(zip(experts.expert_id, experts.expert_name)).get(e, '')}")
        why = cc[1].text_input(T("理由", "Reason"), placeholder=T("链接误发 / 专家请辞 / 链接丢失", "sent to the wrong person"))
        ok = cc[2].form_submit_button(T("撤销", "Revoke"), disabled=not can_edit() or not valid)
        again = cc[3].form_submit_button(T("重新生成", "Re-issue"), disabled=not can_edit(),
                                         help=T("旧链接立即失效，新链接只显示一次。", "Old links end now; the new one is shown once."))
    if ok:
        n = guard(svc_packs.revoke_links, rid, who, why, editor_name())
        if n is not None:
            flash(T(f"已撤销 {who} 的 {n} 个链接。", f"Revoked {n} link(s) of {who}."))
            st.rerun()
    if again:
        rows = guard(svc_packs.reissue_link, rid, stage, who, base, float(days), why, editor_name())
        if rows is not None:
            st.session_state["links"] = rows
            st.rerun()
