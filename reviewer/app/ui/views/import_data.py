import streamlit as st

from reviewer.app import imports as svc_imports
from reviewer.app.ui.common import (T, can_edit, editor_name, guard, header, lang, prefetch_after_import, read_only_note,
                                    round_id, table)
from reviewer.intake import schema

header("import", "上传申报书、成员单位、创新平台、专家库、专家履历、回避申报（.xlsx 或 .csv，中文表头，英文别名亦可）。"
                 "一个工作簿可包含多张表（每表一个工作表）；单个文件按文件名识别（如 `专家库.xlsx`），也可手动指定表、工作表和表头行。"
                 "错误行单独拒绝，其余行照常导入；一个文件无法读取不影响其他文件。",
       "Upload applications, members, platforms, experts, history and declarations (.xlsx or .csv, Chinese "
       "headers or English aliases). A workbook may hold several tables (one sheet each); a single file is "
       "recognised by its name (e.g. `experts.csv`) or you choose the table, sheet and header row. A bad row is "
       "rejected alone; an unreadable file does not stop the others.")
rid = round_id()
read_only_note()
st.download_button(T("下载空白模板（含列说明）", "Download the blank template (with a column guide)"),
                   data=svc_imports.template_bytes, file_name="导入模板_template.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
ISSUE_COLS = ["severity", "file", "sheet", "row", "column", "value", "expected_zh" if lang() == "zh" else "expected"]
ISSUE_CFG = {"expected_zh": st.column_config.TextColumn(T("应为", "Expected"), width="large"),
             "expected": st.column_config.TextColumn(T("应为", "Expected"), width="large")}

files = st.file_uploader(T("选择文件", "Choose files"), type=["xlsx", "csv"], accept_multiple_files=True,
                         disabled=not can_edit(), key="import_files")
table_for = {}
if files:
    names = {t.name: f"{t.zh} {t.name}" for t in schema.TABLES.values()}
    auto = T("自动识别", "recognise")
    for f in files:
        known = svc_imports.table_of_file(f.name) is not None
        with st.expander(T(f"“{f.name}”：表、工作表和表头行", f"“{f.name}”: table, sheet and header row"),
                         expanded=not known and not f.name.lower().endswith(".xlsx")):
            cc = st.columns([2, 2, 1])
            opts = [""] + list(names)
            pick = cc[0].selectbox(T("是哪张表", "Which table"), opts, key=f"table_for_{f.name}",
                                   format_func=lambda k: auto if k == "" else names[k])
            sheets = svc_imports.sheets_of(f.name, f.getvalue())
            sheet = cc[1].selectbox(T("工作表", "Sheet"), sheets, key=f"sheet_for_{f.name}") if sheets else None
            row = cc[2].number_input(T("表头在第几行", "Header row"), min_value=1, max_value=50, value=1,
                                     key=f"header_for_{f.name}", disabled=not sheets)
            if pick:
                table_for[f.name] = svc_imports.TableChoice(pick, sheet if (sheets and (len(sheets) > 1 or row > 1))
                                                            else None, int(row))
if st.button(T("导入", "Import"), type="primary", disabled=not (files and can_edit())):
    out = guard(svc_imports.import_files, rid, [(f.name, f.getvalue()) for f in files], table_for, editor_name())
    if out is not None:
        st.session_state["last_import"] = out
        prefetch_after_import(rid, lang())   # 形式审查 and 专家与回避 prepared while staff read the report

out = st.session_state.get("last_import")
if out is not None:
    iss = out.issues
    n_err = int((iss["severity"] == "error").sum())
    if n_err or out.skipped:
        st.error(T(f"导入完成，但本次上传有 {n_err} 处错误、{len(out.skipped)} 个文件或表未导入：错误行已拒绝，其余行已导入。"
                   "请修改后重新上传。",
                   f"Imported with {n_err} errors in this upload and {len(out.skipped)} files or tables not imported: "
                   "bad rows were rejected, the rest loaded. Fix and upload again."))
    else:
        st.success(T("导入成功，本次上传没有错误。", "Imported without errors in this upload."))
    for k, why in out.skipped.items():
        label = svc_imports.TABLE_LABELS.get(k, k)
        st.warning(f"{label}：{why}" + T("（可在上方为该文件选择表、工作表和表头行后重新导入）",
                                         " (choose its table, sheet and header row above and import again)"))
    st.subheader(T("本次导入", "This import"))
    table(out.summary, ["table_zh", "file", "sheet", "rows", "loaded", "rejected", "missing_columns"])
    if not iss.empty:
        st.subheader(T("本次上传文件中的错误", "Errors in the files of this upload"))
        table(iss, ISSUE_COLS, config=ISSUE_CFG)
    if out.other_issues:
        st.caption(T(f"此前导入的其他数据另有 {out.other_issues} 处问题，见下方“当前数据中的问题”（不属于本次上传）。",
                     f"Data imported earlier has {out.other_issues} more problems: see the current inputs below "
                     "(not from this upload)."))

st.subheader(T("本轮当前数据", "Current inputs of the round"))
b = guard(svc_imports.load_bundle, rid)
if b is not None:
    if not b.report.tables:
        st.info(T("尚未导入数据。", "Nothing imported yet."))
    else:
        table(svc_imports.import_summary(b.report), ["table_zh", "file", "sheet", "rows", "loaded", "rejected"])
        iss = svc_imports.issues_table(b.report, offsets=svc_imports.current_offsets(rid))
        if not iss.empty:
            with st.expander(T(f"当前数据中的问题（{len(iss)}）", f"Problems in the current inputs ({len(iss)})")):
                table(iss, ISSUE_COLS, config=ISSUE_CFG)
