"""Writing files for people and machines, safely: result tables (CSV for machines, XLSX for people),
the run record of each run, and strict JSON.

Every writer of .csv / .xlsx / .json in the program goes through this module:

- **Formula injection** (OWASP "CSV injection"): a text cell that begins with ``=``, ``+``, ``-``, ``@``,
  tab or carriage return would be run as a formula by a spreadsheet. `safe_text` prefixes such text
  with ``'`` (the text stays readable); plain numbers written as text (``-1.5``) are left alone, and
  real numbers stay numbers. In workbooks every text cell is typed as text (``data_type 's'``), so it
  is never parsed as a formula. A formula the program itself writes on purpose is an explicit
  `Formula`, written only through `put`; no text from input can become one.
- **Numbers stay numbers**: NaN, NaT, pd.NA and ±inf are written as empty cells, never as text.
- **Nothing cut silently**: a workbook cell holds at most 32,767 characters (Excel's limit); longer text
  is shortened with a visible note saying how much was left out and that the CSV/JSON export has it whole.
- **Strict JSON**: `dumps_json` / `write_json` turn NaN and ±inf into null and refuse anything else a
  strict parser would reject (``allow_nan=False``).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import platform
import re
import time
import weakref
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from reviewer import __version__
from reviewer.errors import UserError

DANGEROUS_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9][0-9,]*(\.[0-9]+)?")
XLSX_CELL_LIMIT = 32_767   # characters in one cell (Excel's limit; openpyxl would cut silently)
# Cells of each worksheet that hold a program formula (written by `put` with a `Formula`).
_PROGRAM_FORMULAS: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


class Formula(str):
    """A spreadsheet formula the program writes on purpose (e.g. the score sheet's sums). The one way to
    write a live formula (through `put`); it is never made from input text."""

    def __new__(cls, text: str) -> "Formula":
        if not str(text).startswith("="):
            raise ValueError(f"a formula starts with '=': {text!r}")
        return super().__new__(cls, text)


def safe_text(text: str) -> str:
    """`text` as a spreadsheet shows it, never run: prefixed with ``'`` when it begins with ``=``, ``+``,
    ``-``, ``@``, tab or CR (OWASP "CSV injection"), unless it is a plain number such as ``-1.5``;
    CR and CRLF line breaks inside become LF; other control characters (which a workbook cannot hold)
    are dropped."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)    # keeps tab, LF and CR
    if text[:1] in DANGEROUS_LEADS and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    # A bare CR is not quoted by the CSV writer, and a reader takes it as a new row (whose first
    # field could then begin with '='): line breaks inside text are written as LF, which is quoted.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA and ±inf: what a file shows as an empty cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def safe_value(value: Any) -> Any:
    """One cell for a file: missing (NaN, NaT, ±inf, None) → None; text → `safe_text`; numpy scalars →
    Python numbers; everything else as it is. A `Formula` is refused here: only `put` writes one."""
    if isinstance(value, Formula):
        raise TypeError("a Formula is written with exports.put only")
    if is_missing(value):
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def date_text(values: pd.Series) -> pd.Series:
    """Dates as ISO text (2026-11-01) for a table; a missing date stays missing (never "NaT"/"None")."""
    def one(v: Any) -> str | None:
        if is_missing(v):
            return None
        return v.date().isoformat() if isinstance(v, pd.Timestamp) else (
            v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v))
    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` safe to write: headers and text cells through `safe_text`, ±inf and NaN-likes as
    missing in every column; numeric columns keep their numeric type."""
    out = df.copy()
    out.columns = [safe_text(c) if isinstance(c, str) else c for c in out.columns]
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        if pd.api.types.is_float_dtype(col):
            out.isetitem(j, col.replace([np.inf, -np.inf], np.nan))
        elif not pd.api.types.is_numeric_dtype(col):
            out.isetitem(j, pd.Series([safe_value(v) for v in col.astype(object)], index=col.index, dtype=object))
    return out


def fit_cell(value: Any) -> Any:
    """A value a workbook cell can hold whole, or text shortened to Excel's limit with a visible note
    (never silently cut): over-long text is rare — audit-log facts, a hostile input cell."""
    if not isinstance(value, str) or len(value) <= XLSX_CELL_LIMIT:
        return value
    note = (f" …【此处省略 {{n}} 个字符：单元格上限 {XLSX_CELL_LIMIT} 字符，完整内容见 CSV/JSON 导出 / "
            f"{{n}} characters left out (cell limit); the CSV/JSON export has the whole text】")
    keep = XLSX_CELL_LIMIT - len(note.format(n=len(value))) - 2
    return value[:keep] + note.format(n=len(value) - keep)


def seal(ws) -> None:
    """Type every text cell of worksheet `ws` as text (``data_type 's'``) so a reader never parses it as a
    formula or an error code; cells holding a program formula (`put` with a `Formula`) stay formulas."""
    formulas = _PROGRAM_FORMULAS.get(ws, set())
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.coordinate not in formulas:
                cell.data_type = "s"


def put(ws, row: int, column: int, value: Any):
    """Write one cell of an openpyxl worksheet safely and return it: a `Formula` as a live formula (and
    remembered, so `seal` keeps it), anything else through `safe_value`, text typed as text."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, Formula):
        cell.value = str(value)
        _PROGRAM_FORMULAS.setdefault(ws, set()).add(cell.coordinate)
        return cell
    cell.value = fit_cell(safe_value(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def put_row(ws, values: Iterable[Any]) -> int:
    """Append one row below the last used row through `put`; returns its row number."""
    r = ws.max_row + 1 if ws.max_row > 1 or ws.cell(1, 1).value is not None else 1
    for j, v in enumerate(values, start=1):
        if v is not None:
            put(ws, r, j, v)
    return r


def fit_width(header: str, values: list[str]) -> int:
    """The width of a column showing `header` and the texts `values` (a CJK character is about two Latin
    ones wide), between 8 and 60."""
    width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in [header, *values])
    return min(max(8, width + 2), 60)


def _fit_columns(ws, df: pd.DataFrame) -> None:
    """Column widths that fit Chinese text (`fit_width` of the header and the first 200 values)."""
    for i, col in enumerate(df.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = fit_width(str(col),
                                                                     [str(v) for v in df[col].head(200).tolist()])
    ws.freeze_panes = "A2"
    # Printed by staff: landscape A4, all columns on one page width, the header row on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def write_frames_xlsx(xw: pd.ExcelWriter, sheets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Write each frame (made safe by `safe_frame`) on its sheet of an open openpyxl ExcelWriter and
    `seal` it; returns the safe frames by sheet name (sheet names cut to Excel's 31 characters)."""
    written = {}
    for name, df in sheets.items():
        sheet = name[:31]
        safe = safe_frame(df)
        for j in range(safe.shape[1]):   # by position (a header may repeat); DataFrame.apply cost ~10 ms a sheet
            if pd.api.types.is_object_dtype(safe.dtypes.iloc[j]):
                safe.isetitem(j, safe.iloc[:, j].map(fit_cell))
        safe.to_excel(xw, sheet_name=sheet, index=False)
        seal(xw.sheets[sheet])
        written[sheet] = safe
    return written


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """A workbook for people, one sheet per frame, every cell safe (see the module)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for sheet, safe in write_frames_xlsx(xw, sheets).items():
                _fit_columns(xw.sheets[sheet], safe)
    except PermissionError:
        raise UserError(f"{path}: cannot write (is it open in Excel?) / 无法写入（文件是否在 Excel 中打开？）") from None
    return path


def csv_text(df: pd.DataFrame, **to_csv: Any) -> str:
    """`df` as CSV text, every field safe (see the module); missing values are empty fields."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=False, **to_csv)
    return buf.getvalue()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """`df` as a CSV download: UTF-8 with BOM (so Excel shows Chinese), every field safe."""
    return csv_text(df).encode("utf-8-sig")


def write_csv(df: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write `df` as CSV, UTF-8 with BOM so Excel shows Chinese, every field safe (see the module)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        safe_frame(df).to_csv(path, index=False, encoding="utf-8-sig", **to_csv)
    except PermissionError:
        raise UserError(f"{path}: cannot write (is it open in Excel?) / 无法写入（文件是否在 Excel 中打开？）") from None
    return path


# Staff-facing workbooks (write_table's .xlsx): Chinese headers; the English key of every column is on
# the 说明 sheet, and the full table with English keys stays in the .csv for analysts.
COLUMN_ZH: dict[str, str] = {
    "application_id": "申报编号", "name": "名称", "application_name": "创新中心名称", "field": "领域",
    "recommending_city": "推荐市", "lead_unit": "牵头单位", "lead_city": "牵头单位所在市", "outcome": "结果代码",
    "outcome_zh": "审查结果", "failed_rules": "不通过条款", "review_rules": "待核实条款", "reasons": "原因",
    "reason": "原因", "rule": "规则", "check_zh": "审查项", "check_en": "审查项（英文）", "evidence": "依据",
    "threshold": "标准", "expert_id": "专家编号", "expert_name": "专家姓名", "rule_zh": "回避规则",
    "rule_en": "回避规则（英文）", "severity": "性质", "excludes": "是否回避", "waived": "已豁免",
    "waiver_reason": "豁免理由", "excluded_experts": "回避专家数", "eligible_experts": "可选专家数",
    "stage": "阶段", "category": "专家类别", "title_level": "职称级别", "employer": "工作单位",
    "expert_city": "专家所在市", "role": "角色代码", "role_zh": "角色", "affinity": "匹配度",
    "field_match": "领域匹配", "same_city": "同城", "load": "评审数", "max_load": "最多评审数", "item": "项目",
    "value": "值", "score": "汇总得分", "rank": "排名", "n_scores": "评分数", "n_absent": "缺评数",
    "n_used": "计入评分数", "ci_low": "区间下限", "ci_high": "区间上限", "interval": "区间说明",
    "method": "汇总方法", "rank_overall": "总排名", "rank_in_field": "领域内排名", "decision": "结论代码",
    "decision_zh": "结论", "reason_zh": "理由", "subsidy": "建议补助（元）", "funding_note_zh": "补助说明",
    "eligible": "形式审查", "ineligible_reason": "不通过原因", "national": "国家级", "panel_median": "组中位数",
    "deviation": "偏离", "robust_z": "稳健z值", "flagged": "标记", "n_panels": "评审组数",
    "mean_deviation": "平均偏离", "sd_deviation": "偏离标准差", "n_highest": "最高分次数", "n_lowest": "最低分次数",
    "p_value": "p值", "year": "年度", "centre_id": "中心编号", "band": "等次", "action": "处理代码",
    "action_zh": "处理", "state": "状态", "part": "评分项", "max": "满分", "points": "得分", "detail": "说明",
    "total": "合计", "evaluation_date": "考核日期", "file": "文件", "sheet": "工作表", "row": "行",
    "column": "列", "expected": "应为", "problem": "问题", "severity_zh": "性质", "n_outliers": "异常评分数",
    "change": "变更代码", "change_zh": "变更", "can_replace": "可替换", "fraction": "得分率",
    "build_targets": "建设目标", "contract_count": "委托研发合同数", "contract_amount": "委托研发合同金额",
    "ip": "知识产权", "industrialised_count": "产业化成果数", "industrialised_rate": "产业化成功率",
    "rd_talent": "研发人才", "collaboration": "合作与服务", "complete": "数据完整", "failed": "不合格",
    "build_completion": "建设任务完成率", "schedule": "进度", "targets_met": "目标达成",
    "advance": "晋级", "reason_en": "理由（英文）", "kind": "补助类别代码", "kind_zh": "补助类别", "amount": "金额（元）",
    "cap": "上限（元）", "date": "日期", "status": "状态代码",
}
STAFF_COLUMNS: dict[str, list[str]] = {
    "screening_summary": ["application_id", "name", "field", "recommending_city", "lead_unit", "outcome_zh",
                          "failed_rules", "review_rules", "reasons"],
    "screening_checks": ["application_id", "rule", "check_zh", "outcome_zh", "evidence", "threshold", "reason"],
    "conflicts": ["application_id", "expert_id", "rule", "rule_zh", "severity", "excludes", "waived",
                  "waiver_reason", "evidence"],
    "panels": ["stage", "application_id", "application_name", "field", "lead_city", "role_zh", "expert_id",
               "expert_name", "category", "title_level", "employer", "expert_city", "field_match", "same_city"],
    "aggregated_scores": ["rank", "application_id", "field", "score", "ci_low", "ci_high", "A", "B", "C", "D", "E",
                          "F", "n_scores", "n_used", "n_absent", "n_outliers", "method"],
    "recognition_ranking": ["rank_overall", "rank_in_field", "application_id", "name", "field", "score", "ci_low",
                            "ci_high", "A", "B", "C", "D", "E", "F", "decision_zh", "reason_zh", "subsidy",
                            "funding_note_zh", "eligible", "ineligible_reason"],
    "score_outliers": ["application_id", "expert_id", "score", "panel_median", "deviation", "robust_z", "reason"],
    "expert_deviation": ["expert_id", "n_scores", "n_panels", "mean_deviation", "sd_deviation", "n_highest",
                         "n_lowest", "p_value", "flagged", "reason"],
}
STAFF_COLUMNS["advancement_1"] = STAFF_COLUMNS["advancement_2"] = [
    "application_id", "field", "score", "rank_in_field", "advance", "outcome_zh", "reason_zh"]   # stages that gate
STAFF_COLUMNS["subsidy_ledger"] = ["centre_id", "field", "kind_zh", "amount", "cap", "date", "year", "status",
                                   "reason"]
STAFF_COLUMNS["panels_repaired"] = STAFF_COLUMNS["panels"]
STAFF_COLUMNS["aggregated"] = STAFF_COLUMNS["aggregated_scores"]

# 现场考察 site-visit plan tables (issue 15, reviewer.panels.site.outputs).
COLUMN_ZH.update({
    "team": "考察组", "date": "日期", "time": "开始时间", "end_time": "结束时间", "city": "城市", "address": "考察地址",
    "contact": "联系人", "phone": "联系电话", "travel_leg": "行程", "chair": "组长", "members": "专家组成员",
    "seat": "席位代码", "seat_zh": "席位", "notice": "通知内容", "reason_en": "原因（英文）",
    # the stored site inputs (reviewer site-inputs show)
    "visit_length": "考察时长", "fixed_day": "锁定日期", "max_consecutive_days": "最多连续考察天数",
    "day_kind": "类型（休/班）",
})


# What staff read is rounded (the CSV keeps full precision): scores, intervals and most numbers to 0.01;
# money to the yuan; probabilities, rates and affinities to 0.001.
DECIMALS: dict[str, int] = {"subsidy": 0, "amount": 0, "cap": 0, "contract_amount": 0, "affinity": 3, "p_value": 3, "fraction": 3,
                            "industrialised_rate": 3, "p_first_in_field": 3}
DEFAULT_DECIMALS = 2
# Yes/no columns say it in words: (true, false, missing). 形式审查 not yet known is 待定.
YES_NO_ZH: dict[str, tuple[str, str, str]] = {"eligible": ("通过", "不通过", "待定"),
                                              "field_match": ("匹配", "不匹配", ""),
                                              "complete": ("完整", "不完整", "")}
DEFAULT_YES_NO = ("是", "否", "")


def _is_flag(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_))


def staff_values(col: pd.Series, key: str) -> pd.Series:
    """A column as staff read it: true/false as words (`YES_NO_ZH`), floats rounded (`DECIMALS`)."""
    present = col.dropna()
    if len(present) and present.map(_is_flag).all():
        yes, no, unknown = YES_NO_ZH.get(key, DEFAULT_YES_NO)
        return col.map(lambda v: unknown if is_missing(v) else (yes if bool(v) else no)).astype(object)
    if pd.api.types.is_float_dtype(col.dtype):
        return col.round(DECIMALS.get(key, DEFAULT_DECIMALS))
    return col


def staff_view(df: pd.DataFrame, stem: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The staff's copy of table `stem`: the columns a person needs in a sensible order (`STAFF_COLUMNS`,
    else all), as staff read them (`staff_values`: rounded, yes/no in words), under Chinese headers
    (`COLUMN_ZH`, else the key); and its 说明 sheet (中文列名 → English key)."""
    keep = [c for c in STAFF_COLUMNS.get(stem, list(df.columns)) if c in df.columns]
    zh = {c: COLUMN_ZH.get(c, str(c)) for c in keep}
    if len(set(zh.values())) < len(zh):   # two keys with one Chinese name: tell them apart by the key
        zh = {c: (f"{h} {c}" if list(zh.values()).count(h) > 1 else h) for c, h in zh.items()}
    guide = pd.DataFrame({"列名 column": list(zh.values()), "英文键 key": [str(c) for c in keep]})
    note = pd.DataFrame({"列名 column": [f"完整表格（全部列，英文键）见 {stem}.csv"],
                         "英文键 key": [f"the full table with English keys is {stem}.csv"]})
    view = pd.DataFrame({c: staff_values(df[c], str(c)) for c in keep}, index=df.index)
    return view.rename(columns=zh), pd.concat([guide, note], ignore_index=True)


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str, sheet: str | None = None) -> list[Path]:
    """Write `df` as OUT/stem.csv (the full table, English keys, UTF-8 with BOM so Excel shows Chinese) for
    analysts and OUT/stem.xlsx for staff (`staff_view`: Chinese headers, a 说明 sheet with the keys)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    view, guide = staff_view(df, stem)
    return [write_csv(df, out / f"{stem}.csv"),
            write_xlsx({sheet or stem: view, "说明 columns": guide}, out / f"{stem}.xlsx")]


def json_ready(value: Any) -> Any:
    """`value` with JSON's own types only: NaN, ±inf, NaT and pd.NA → None, numpy scalars → Python
    numbers, tuples and sets → lists, mapping keys → text, anything else unknown → its text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if is_missing(value):
        return None
    return str(value)


def dumps_json(obj: Any, **kwargs: Any) -> str:
    """Strict JSON text (RFC 8259: no NaN / Infinity) of `obj` through `json_ready`; Chinese kept as is."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(json_ready(obj), allow_nan=False, **kwargs)


def write_json(obj: Any, path: str | Path, indent: int | None = 2, **kwargs: Any) -> Path:
    """Write `obj` as strict JSON (`dumps_json`), UTF-8."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_json(obj, indent=indent, **kwargs), encoding="utf-8")
    return path


def run_record(kind: str, inputs: list[dict[str, Any]], policy, parameters: dict[str, Any],
               started: float, status: str = "ok", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What makes a run reproducible and auditable: inputs' hashes, policy hash, parameters, seed, time."""
    return {
        "kind": kind,
        "status": status,
        "started_at": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "wall_seconds": round(time.time() - started, 3),
        "software": {"mic-reviewer": __version__, "python": platform.python_version()},
        "policy": {"file": policy.source, "sha256": policy.sha256, "as_of": policy.as_of_date().isoformat()},
        "parameters": parameters,
        "inputs": inputs,
        **(extra or {}),
    }


def write_run_record(record: dict[str, Any], out_dir: str | Path, name: str | None = None) -> Path:
    """The run record as strict JSON (NaN and ±inf are null): OUT/run_<kind>.json or OUT/name."""
    return write_json(record, Path(out_dir) / (name or f"run_{record['kind']}.json"))
