import importlib.util

import pandas as pd
import streamlit as st

from pages.common import T, can_edit, guard, header, read_only_note, round_id, table
from reviewer import app_service as svc
from reviewer import auth

header("packs", "为已发布阶段的每位专家生成个人链接（随机令牌，有效期可设）：专家只能看到自己的评审任务、下载自己的评分表并上传评分。",
       "Personal links for the experts of a published stage (random, expiring tokens): an expert sees only their "
       "own assignments, downloads their score sheet and uploads scores.")
rid = round_id()
read_only_note()
if importlib.util.find_spec("reviewer.packs") is None:
    st.info(T("专家通知包（zip）与工作人员汇总表待“通知包”模块完成后提供；目前可生成专家个人链接。",
              "Expert packs (zip) and the staff summary come with the packs module; personal links work now."))
policy = svc.policy_for(rid)
published = [s for s in policy.stages.order if (p := svc.saved_plan(rid, s)) is not None and p.published]
if not published:
    st.warning(T("尚无已发布的专家组。请先在“专家组”页发布。", "No published stage yet: publish on the Panels page."))
    st.stop()
stage = st.radio(T("阶段", "Stage"), published, horizontal=True)
plan = svc.saved_plan(rid, stage)
experts = plan.panels.drop_duplicates("expert_id")[["expert_id", "expert_name", "category", "employer"]]
c = st.columns(3)
days = c[0].number_input(T("有效天数", "Valid for (days)"), min_value=1, max_value=90, value=14)
base = c[1].text_input(T("系统地址", "App address"), value="http://localhost:8501")
if c[2].button(T("生成个人链接", "Make links"), type="primary", disabled=not can_edit()):
    rows = []
    for r in experts.itertuples(index=False):
        tok, exp = auth.issue_token(r.expert_id, days=float(days), round_id=rid)
        rows.append({"expert_id": r.expert_id, "expert_name": r.expert_name, "link": f"{base.rstrip('/')}/?token={tok}",
                     "expires": exp.isoformat()})
    svc.audit(rid, st.session_state["user"].username, "expert_links", {"stage": stage, "n": len(rows), "days": days})
    st.session_state["links"] = pd.DataFrame(rows)
links = st.session_state.get("links")
if links is not None:
    st.caption(T("链接只显示这一次（系统只保存令牌的摘要），请立即下载并分别发送给专家。",
                 "Links are shown once (only a hash is stored): download and send each to its expert."))
    table(links, ["expert_id", "expert_name", "link", "expires"],
          config={"link": st.column_config.LinkColumn(T("个人链接", "Link")),
                  "expires": st.column_config.Column(T("到期", "Expires"))})
    st.download_button(T("下载链接清单（CSV）", "Download the links (CSV)"),
                       data=links.to_csv(index=False).encode("utf-8-sig"), file_name=f"专家链接_{stage}.csv",
                       mime="text/csv")
else:
    table(experts, ["expert_id", "expert_name", "category", "employer"], height=300)
