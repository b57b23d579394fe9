"""Bilingual labels of the staff app (Chinese first, English switch) and how values read to staff
(Beijing time). Plain data, no Streamlit."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pandas as pd

LANGS = ("zh", "en")

# column name -> (中文, English)
COLUMNS: dict[str, tuple[str, str]] = {
    "application_id": ("申报编号", "Application"),
    "name": ("名称", "Name"),
    "application_name": ("创新中心名称", "Centre"),
    "field": ("领域", "Field"),
    "recommending_city": ("推荐市", "Recommended by"),
    "lead_unit": ("牵头单位", "Lead unit"),
    "lead_city": ("牵头单位所在市", "Lead city"),
    "outcome": ("结果代码", "Outcome code"),
    "outcome_zh": ("审查结果", "Outcome"),
    "failed_rules": ("未通过项", "Failed"),
    "review_rules": ("需复核项", "Needs review"),
    "reasons": ("原因", "Reasons"),
    "rule": ("规则", "Rule"),
    "check_zh": ("审查项", "Check"),
    "check_en": ("Check", "Check"),
    "evidence": ("依据", "Evidence"),
    "threshold": ("标准", "Threshold"),
    "reason": ("理由", "Reason"),
    "decision": ("人工结论", "Staff decision"),
    "decision_reason": ("结论理由", "Decision reason"),
    "decided_by": ("决定人", "Decided by"),
    "expert_id": ("专家编号", "Expert"),
    "expert_name": ("专家姓名", "Expert name"),
    "phone": ("电话", "Phone"),
    "email": ("电子邮箱", "E-mail"),
    "n_assigned": ("应交", "Owed"),
    "n_returned": ("已交", "Returned"),
    "missing": ("未交（申报编号）", "Missing"),
    "incomplete": ("不完整（申报编号）", "Incomplete"),
    "category": ("专家类别", "Category"),
    "title_level": ("职称级别", "Title level"),
    "employer": ("工作单位", "Employer"),
    "expert_city": ("专家所在市", "Expert city"),
    "city": ("所在市", "City"),
    "fields": ("熟悉领域", "Fields"),
    "status": ("状态", "Status"),
    "drawable": ("可抽取", "Drawable"),
    "role_zh": ("角色", "Role"),
    "role": ("角色代码", "Role code"),
    "affinity": ("匹配度", "Affinity"),
    "field_match": ("领域匹配", "Field match"),
    "same_city": ("同城", "Same city"),
    "stage": ("阶段", "Stage"),
    "panel": ("阶段", "Stage"),
    "load": ("评审数", "Load"),
    "max_load": ("上限", "Max load"),
    "rule_zh": ("回避规则", "Conflict rule"),
    "rule_en": ("Rule", "Rule"),
    "severity": ("性质", "Severity"),
    "excludes": ("排除", "Excludes"),
    "waived": ("已豁免", "Waived"),
    "waiver_reason": ("豁免理由", "Waiver reason"),
    "excluded_experts": ("回避专家数", "Excluded experts"),
    "eligible_experts": ("可用专家数", "Eligible experts"),
    "table": ("表", "Table"),
    "table_zh": ("表名", "Table"),
    "file": ("文件", "File"),
    "sheet": ("工作表", "Sheet"),
    "rows": ("行数", "Rows"),
    "loaded": ("已导入", "Loaded"),
    "rejected": ("被拒绝", "Rejected"),
    "missing_columns": ("缺少的列", "Missing columns"),
    "row": ("行号", "Row"),
    "column": ("列", "Column"),
    "value": ("值", "Value"),
    "expected": ("应为", "Expected"),
    "planned": ("专家组方案", "Plan"),
    "published": ("发布状态", "Published"),
    "panels": ("专家组数", "Panels"),
    "seed": ("随机种子", "Seed"),
    "scored": ("评分", "Scores"),
    "score_rows": ("评分行数", "Score rows"),
    "kind": ("类型", "Kind"),
    "user": ("操作人", "User"),
    "at": ("时间", "Time"),
    "action": ("操作", "Action"),
    "change_zh": ("变化", "Change"),
    "change": ("变化代码", "Change code"),
    "score": ("得分", "Score"),
    "rank": ("排名", "Rank"),
    "ci_low": ("区间下限", "Low"),
    "ci_high": ("区间上限", "High"),
    "n_scores": ("评分人数", "Scores"),
    "n_used": ("采用人数", "Used"),
    "n_outliers": ("异常分数", "Outliers"),
    "p_first_in_field": ("领域第一概率", "P(first in field)"),
    "p_first_overall": ("总第一概率", "P(first overall)"),
    "rank_overall": ("总排名", "Overall rank"),
    "rank_in_field": ("领域内排名", "Rank in field"),
    "decision_zh": ("结论", "Decision"),
    "reason_zh": ("理由", "Reason"),
    "reason_en": ("Reason", "Reason"),
    "subsidy": ("建议补助（元）", "Subsidy (CNY)"),
    "total": ("总分", "Total"),
    "panel_median": ("组内中位数", "Panel median"),
    "deviation": ("偏离", "Deviation"),
    "flagged": ("标记", "Flagged"),
    "mean_deviation": ("平均偏离", "Mean deviation"),
    "n_panels": ("参评组数", "Panels"),
    "p_value": ("p 值", "p-value"),
    "n_applications": ("申报数", "Applications"),
    "n_experts": ("专家数", "Experts"),
    "date": ("日期", "Date"),
    "username": ("用户名", "User name"),
    "display_name": ("姓名", "Name"),
    "created": ("创建时间", "Created"),
    "mean_affinity": ("平均匹配度", "Mean affinity"),
    "field_matched": ("领域匹配技术专家", "Field-matched technical"),
    "message_zh": ("原因", "Reason"),
    "message_en": ("Reason", "Reason"),
    "counts": ("计数", "Counts"),
    "term": ("目标项", "Term"),
    "item": ("项目", "Item"),
    "n": ("人数", "Count"),
}

PAGES: dict[str, tuple[str, str]] = {
    "round": ("轮次", "Round"),
    "import": ("导入", "Import"),
    "screening": ("形式审查", "Screening"),
    "experts": ("专家与回避", "Experts & conflicts"),
    "panels": ("专家组", "Panels"),
    "packs": ("通知", "Packs"),
    "scores": ("评分", "Scores"),
    "reminders": ("催交", "Reminders"),
    "ranking": ("排名", "Ranking"),
    "evaluation": ("考核", "Evaluation"),
    "expert": ("我的评审任务", "My assignments"),
}

OUTCOME_ZH = {"pass": "通过", "fail": "不通过", "needs-review": "需复核"}
METHOD_LABELS = {"trimmed": ("去掉最高最低分的平均", "trimmed mean"),
                 "calibrated": ("校准宽严尺度", "rater-calibrated"),
                 "bayes": ("贝叶斯", "Bayesian")}
TERM_ZH = {"affinity": "专业匹配", "load_balance": "负载均衡", "soft_conflict": "同城等软回避", "continuity": "连续性"}


def page_title(key: str) -> str:
    zh, en = PAGES[key]
    return f"{zh} {en}"


def column_label(col: str, lang: str = "zh") -> str:
    zh, en = COLUMNS.get(col, (col, col))
    return zh if lang == "zh" else en


_UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)$")
STAFF_TZ = ZoneInfo("Asia/Shanghai")


def local_time(value):
    """A UTC time stamp as staff read it: Beijing time with its zone ("2026-12-02 23:24 北京时间");
    anything that is not a UTC time stamp is returned as it is. Times are stored in UTC."""
    if not isinstance(value, str) or not _UTC_STAMP.match(value.strip()):
        return value
    t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).astimezone(STAFF_TZ)
    return t.strftime("%Y-%m-%d %H:%M") + " 北京时间"


def with_local_times(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text columns show UTC time stamps in Beijing time (`local_time`)."""
    shown = df.copy()
    for c in shown.columns:
        if pd.api.types.is_string_dtype(shown[c]) or pd.api.types.is_object_dtype(shown[c]):
            shown[c] = shown[c].map(local_time)
    return shown

