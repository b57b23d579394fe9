import streamlit as st

from reviewer.app import imports as svc_imports
from reviewer.app.ui.common import T, can_edit, guard, header, read_only_note, round_id, table, editor_name
from reviewer.intake import schema

header("import", "上传申报书、成员单位、创新平台、专家库、专家履历、回避申报（.xlsx 或 .csv，中文表头，英文别名亦可）。"
                 "一个工作簿可包含多张表（每表一个工作表）；单个文件按文件名识别（如 `专家库.xlsx`），也可手动指定。"
                 "错误行单独拒绝，其余行照常导入。",
       "Upload applications, members, platforms, experts, history and declarations (.xlsx or .csv, Chinese "
       "headers or English aliases). A workbook may hold several tables (one sheet each); a single file is "
       "recognised by its name (e.g. `experts.csv`) or you choose the table. A bad row is rejected alone.")
rid = round_id()
read_only_note()
st.download_button(T("下载空白模板（含列说明）", "Download the blank template (with a column guide)"),
                   data=svc_imports.template_bytes(), file_name="导入模板_template.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

files = st.file_uploader(T("选择文件", "Choose files"), type=["xlsx", "csv"], accept_multiple_files=True,
                         disabled=not can_edit(), key="import_files")
table_for = {}
if files:
    names = {t.name: f"{t.zh} {t.name}" for t in schema.TABLES.values()}
    for f in files:
        if svc_imports.table_of_file(f.name) is None and not f.name.lower().endswith(".xlsx"):
            pick = st.selectbox(T(f"“{f.name}” 是哪张表？", f"Which table is “{f.name}”?"), list(names),
                                format_func=names.get, key=f"table_for_{f.name}")
            table_for[f.name] = pick
if st.button(T("导入", "Import"), type="primary", disabled=not (files and can_edit())):
    out = guard(svc_imports.import_files, rid, [(f.name, f.getvalue()) for f in files], table_for, editor_name())
    if out is not None:
        st.session_state["last_import"] = out

out = st.session_state.get("last_import")
if out is not None:
    n_err = int((out.issues["severity"] == "error").sum())
    if n_err:
        st.error(T(f"导入完成，但有 {n_err} 处错误：错误行已拒绝，其余行已导入。请修改后重新上传。",
                   f"Imported with {n_err} errors: bad rows were rejected, the rest loaded. Fix and upload again."))
    else:
        st.success(T("导入成功，没有错误。", "Imported without errors."))
    for k, why in out.skipped.items():
        st.warning(f"{k}: {why}")
    st.subheader(T("本次导入", "This import"))
    table(out.summary, ["table_zh", "file", "sheet", "rows", "loaded", "rejected", "missing_columns"])
    if not out.issues.empty:
        st.subheader(T("逐行错误", "Row errors"))
        table(out.issues, ["severity", "file", "sheet", "row", "column", "value", "expected"])

st.subheader(T("本轮当前数据", "Current inputs of the round"))
b = guard(svc_imports.load_bundle, rid)
if b is not None:
    if not b.report.tables:
        st.info(T("尚未导入数据。", "Nothing imported yet."))
    else:
        table(svc_imports.import_summary(b.report), ["table_zh", "file", "sheet", "rows", "loaded", "rejected"])
        iss = svc_imports.issues_table(b.report)
        if not iss.empty:
            with st.expander(T(f"当前数据中的问题（{len(iss)}）", f"Problems in the current inputs ({len(iss)})")):
                table(iss, ["severity", "file", "sheet", "row", "column", "value", "expected"])
