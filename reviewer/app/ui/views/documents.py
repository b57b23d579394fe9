import streamlit as st

from reviewer.app import documents as svc_docs
from reviewer.app import packs as svc_packs
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, read_only_note, round_id

header("documents", "由模板生成公文（.docx 与 PDF）：拟认定名单公示、各阶段评审报告、专家组意见表、签到表、劳务费发放表、认定批复代拟稿。"
                    "数据取自已发布的专家组、评分与汇总结果；系统尚未记录的内容（如专家意见、会议地点）以“（未录入）”留空，不代填。"
                    "模板可下载后在 Word/WPS 中修改措辞（保留 {{ }} 与 {% %} 标记）再上传，下次生成即使用新模板。",
       "Official documents (.docx and PDF) from templates: the 公示 list, each stage's review report, panel opinion "
       "forms, sign-in sheets, fee sheets and draft approvals. Facts not recorded yet are left as labelled blanks. "
       "Download a template, change its wording (keep the tags) and upload it: the next generation uses it.")
rid = round_id()
read_only_note()
policy = svc_rounds.policy_for(rid)
published = svc_packs.published_stages(rid, policy.stages.order)
if not published:
    st.warning(T("尚无已发布的专家组。请先在“专家组”页发布。", "No published stage yet: publish on the Panels page."))
    st.stop()

st.subheader(T("生成公文", "Generate"))
kinds = svc_docs.kinds()
c = st.columns([2, 3, 1])
stages = c[0].multiselect(T("阶段（默认全部已发布阶段）", "Stages (default: all published)"), published,
                          placeholder=T("请选择（可多选）", "Choose"))
chosen = c[1].multiselect(T("文书（默认全部）", "Documents (default: all)"), [k.key for k in kinds],
                          format_func=lambda k: next(x.name for x in kinds if x.key == k), placeholder=T("请选择（可多选）", "Choose"))
pdf = c[2].checkbox("PDF", value=True, help=T("用 LibreOffice 转换，较慢", "LibreOffice conversion, slower"))
if st.button(T("生成", "Generate"), type="primary", disabled=not can_edit()):
    with st.spinner(T("正在生成……", "Generating…")):
        out = guard(svc_docs.make_documents, rid, stages, chosen, pdf, editor_name())
    if out is not None:
        st.session_state["documents"] = out
res = st.session_state.get("documents")
if res is not None:
    st.success(T(f"已生成 {res['n_docx']} 份 .docx、{res['n_pdf']} 份 PDF。", f"{res['n_docx']} .docx and {res['n_pdf']} PDF made."))
    for why in res["skipped"]:
        st.caption(T("未生成：", "Skipped: ") + why)
    st.download_button(T("下载公文（zip）", "Download (zip)"), data=res["zip"], file_name=res["zip_name"],
                       mime="application/zip")

st.subheader(T("模板", "Templates"))
for t in svc_docs.template_state():
    cc = st.columns([2, 2, 3, 1])
    cc[0].markdown(f"**{t['name']}**")
    cc[1].caption(T("已修改（本机模板）", "edited (local)") if t["edited"] else T("系统自带", "shipped"))
    cc[1].download_button(T("下载模板", "Download"), data=lambda k=t["kind"]: svc_docs.template_bytes(k),
                          file_name=f"{t['name']}.docx", key=f"dl-{t['kind']}",
                          mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    up = cc[2].file_uploader(T("上传修改后的模板", "Upload an edited template"), type=["docx"], key=f"up-{t['kind']}",
                             disabled=not can_edit(), label_visibility="collapsed")
    if up is not None and cc[3].button(T("使用", "Use"), key=f"use-{t['kind']}", disabled=not can_edit()):
        if guard(svc_docs.save_template, t["kind"], up.getvalue()) is not None:
            flash(T(f"已启用修改后的“{t['name']}”模板，下次生成即使用。", f"The edited {t['name']} template is in use."))
            st.rerun()
    if t["edited"] and cc[3].button(T("恢复", "Restore"), key=f"rs-{t['kind']}", disabled=not can_edit()):
        svc_docs.restore_template(t["kind"])
        flash(T(f"已恢复系统自带的“{t['name']}”模板。", f"The shipped {t['name']} template is back."))
        st.rerun()
