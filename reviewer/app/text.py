"""Bilingual labels of the staff app (Chinese first, English switch) and how values read to staff
(Beijing time). Plain data, no Streamlit."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pandas as pd

from reviewer.conflicts.detector import RULES

LANGS = ("zh", "en")

# column name -> (中文, English)
COLUMNS: dict[str, tuple[str, str]] = {
    # 现场考察 (site visits)
    "team": ("考察组", "Team"), "time": ("开始", "From"), "end_time": ("结束", "To"),
    "contact": ("联系人", "Contact"), "travel_leg": ("行程", "Travel leg"), "chair": ("组长", "Chair"),
    "members": ("成员", "Members"), "seat_zh": ("随组方式", "Seat"),
    "kind_zh": ("输入类型", "Input"), "file_name": ("文件", "File"), "sha256": ("内容哈希", "Content hash"),
    "max_consecutive_days": ("最多连续考察天数", "Most consecutive days"), "visit_length": ("考察时长", "Visit length"),
    "fixed_day": ("锁定日期", "Locked day"), "day_kind": ("类型（休/班）", "Day off / workday"),
    "created_at": ("时间", "Made at"), "created_by": ("操作人", "By"), "seats": ("席位", "Seats"),
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
    # the expert pool page (issue 16 item 6)
    "in_pool": ("在库", "In pool"),
    "standing": ("专家库资格", "Pool standing"),
    "rating": ("平均评价", "Rating"),
    "start": ("起始日期", "Start"),
    "end": ("截止日期", "End"),
    "barred_until": ("不可抽取至", "Barred until"),
    "withdrawn": ("已撤销", "Withdrawn"),
    "flag": ("标记", "Flag"),
    # issue 13 item 16: every key a page shows has a label
    "override": ("例外说明", "Override"),
    "id": ("编号", "No."),
    "channel": ("渠道", "Channel"),
    "recipient_id": ("收件人编号", "Recipient"),
    "recipient_name": ("收件人", "Recipient name"),
    "address": ("地址", "Address"),
    "attempts": ("尝试次数", "Attempts"),
    "sent_at": ("发送时间", "Sent"),
    "last_error": ("最近错误", "Last error"),
    "ICC2_1": ("单人信度 ICC(2,1)", "ICC(2,1)"),
    "ICC2_k": ("平均信度 ICC(2,k)", "ICC(2,k)"),
    "kendall_W": ("一致性 Kendall W", "Kendall W"),
    "krippendorff_alpha": ("一致性 Krippendorff α", "Krippendorff α"),
    "relation": ("关系代码", "Relation code"),
    "relation_zh": ("关系", "Relation"),
    "n_seats": ("席位数", "Seats"),
    "effect": ("效应（分）", "Effect (points)"),
    "p_perm": ("置换检验 p 值", "Permutation p"),
    "q_bh": ("BH 校正 q 值", "BH q-value"),
    "q_value": ("q 值", "q-value"),
    "n_related": ("有关系的评分数", "Related scores"),
    "n_other": ("其他评分数", "Other scores"),
    "mean_related": ("有关系时均值", "Mean related"),
    "mean_other": ("其他均值", "Mean other"),
    "raw_effect": ("原始效应", "Raw effect"),
    "shrunk_effect": ("收缩后效应", "Shrunk effect"),
    "post_low": ("后验下限", "Posterior low"),
    "post_high": ("后验上限", "Posterior high"),
    "n_centres": ("中心数", "Centres"),
    "rho": ("秩相关", "Rank correlation"),
    "rho_low": ("秩相关下限", "Low"),
    "rho_high": ("秩相关上限", "High"),
    "rho_panel": ("同组专家秩相关", "Panel correlation"),
    "diff": ("与同组之差", "Difference"),
    "diff_low": ("差值下限", "Difference low"),
    "diff_high": ("差值上限", "Difference high"),
    "diff_shrunk": ("收缩后差值", "Shrunk difference"),
    "assessment": ("评估", "Assessment"),
    "actor": ("操作人", "By"),
    "detail": ("详情", "Detail"),
    "client": ("客户端地址", "Client"),
    "event": ("事件", "Event"),
    "source": ("来源", "Source"),
    "active": ("启用", "Active"),
    "expires": ("有效期至", "Expires"),
    "link": ("链接", "Link"),
    "status_zh": ("状态", "Status"),
    "scope_zh": ("范围", "Scope"),
    "round_id": ("轮次编号", "Round id"),
    "errors": ("错误", "Errors"),
    "warnings": ("警告", "Warnings"),
    "result_zh": ("结果", "Result"),
    "median": ("中位数", "Median"),
    "opinion": ("意见", "Opinion"),
    "total_then": ("当时总分", "Total then"),
    "submitted_at": ("提交时间", "Submitted"),
    "chair_id": ("组长", "Chair"),
    "dissent": ("不同意见", "Dissent"),
    "dissent_void": ("已作废的不同意见（专家已被替换）", "Voided dissent (member replaced)"),
    "recorded_by": ("记录人", "Recorded by"),
    "recorded_at": ("记录时间", "Recorded"),
    "flags": ("标记", "Flags"),
    "replaced_by": ("替换为", "Replaced by"),
    "note": ("备注", "Note"),
    "candidate": ("候选专家", "Candidate"),
    "how": ("方式", "How"),
    "why_not": ("未补原因", "Why not"),
    "run_id": ("运行编号", "Run"),
    "stages": ("阶段", "Stages"),
    "commitment": ("承诺值", "Commitment"),
    "committed_at": ("承诺时间", "Committed"),
    "seed_mode": ("种子方式", "Seed mode"),
    "public_value": ("公开值", "Public value"),
    "revealed_at": ("揭示时间", "Revealed"),
    "centre_id": ("中心编号", "Centre"),
    "band": ("档次", "Band"),
    "action_zh": ("处理", "Action"),
    "state": ("状态", "State"),
    "year": ("年度", "Year"),
    "evaluated_by": ("考核人", "Evaluated by"),
    "evaluated_at": ("考核时间", "Evaluated"),
    "n_centres_rank": ("中心数", "Centres"),
    "score_base": ("原得分", "Score (base)"),
    "score_alt": ("调整后得分", "Score (what-if)"),
    "rank_overall_base": ("原总排名", "Rank (base)"),
    "rank_overall_alt": ("调整后总排名", "Rank (what-if)"),
    "rank_low_base": ("原排名下限", "Rank low (base)"),
    "rank_high_base": ("原排名上限", "Rank high (base)"),
    "label": ("说明", "Label"),
    "decision_zh_base": ("原结论", "Decision (base)"),
    "decision_zh_alt": ("调整后结论", "Decision (what-if)"),
    "rank_low_alt": ("调整后排名下限", "Rank low (what-if)"),
    "rank_high_alt": ("调整后排名上限", "Rank high (what-if)"),
    "why_zh": ("原因", "Why"),
    "lottery_version": ("抽取程序版本", "Lottery version"),
    "deadline_text": ("答复截止", "Deadline"),
    "answered_at_text": ("答复时间", "Answered"),
    "value_label": ("值", "Value"),
    "order": ("答辩顺序", "Order"),
    "what": ("事项", "What"),
    **{k: (f"{k} {zh}", f"{k} {en}") for k, (zh, en) in RULES.items()},
    # the default rubric's families (the ranking page labels them from the round's policy)
    "A": ("A 创新资源", "A resources"), "B": ("B 核心定位", "B positioning"), "C": ("C 协同化", "C collaboration"),
    "D": ("D 市场化", "D market"), "E": ("E 产业化", "E industrialisation"), "F": ("F 可持续", "F sustainability"),
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
    "documents": ("公文", "Documents"),
    "analysis": ("分析", "Analysis"),   # issue 18: the analyst page
    "draws": ("抽取验证", "Verify draw"),
    "site": ("现场考察", "Site visits"),
    "stages": ("阶段晋级", "Advancement"),          # issue 17: stages that gate
    "defence": ("答辩安排", "Defence schedule"),
    "registers": ("登记册", "Registers"),
    "evaluation": ("考核", "Evaluation"),
    "expert": ("我的评审任务", "My assignments"),
    "responses": ("专家答复", "Responses"),
    "notify": ("消息发送", "Notifications"),
    "pool": ("专家库档案", "Expert pool"),   # issue 16 item 6: the pool across rounds
}

OUTCOME_ZH = {"pass": "通过", "fail": "不通过", "needs-review": "需复核"}
METHOD_LABELS = {"trimmed": ("去掉最高最低分的平均", "trimmed mean"),
                 "calibrated": ("本阶段校准宽严尺度", "rater-calibrated (this stage only)"),
                 "calibrated_pooled": ("跨阶段校准宽严尺度",
                                       "rater-calibrated across stages and rounds"),
                 "bayes": ("贝叶斯", "Bayesian")}
TERM_ZH = {"affinity": "专业匹配", "load_balance": "负载均衡", "soft_conflict": "同城等软回避", "continuity": "连续性"}


SUMMARY_ITEMS = {"status": ("求解状态", "status"), "path": ("求解方式", "path"), "objective": ("目标值", "objective"),
                 "gap": ("与最优的差距", "gap"), "wall_seconds": ("用时（秒）", "time (s)"), "seed": ("随机种子", "seed")}


def summary_item(key: str, lang: str = "zh") -> str:
    """A line of a plan's solver summary in words ("objective.affinity" -> "目标项：专业匹配")."""
    if key.startswith("objective."):
        term = key.split(".", 1)[1]
        return ("目标项：" + TERM_ZH.get(term, term)) if lang == "zh" else "objective: " + term
    zh, en = SUMMARY_ITEMS.get(key, (key, key))
    return zh if lang == "zh" else en


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



# ---------------------------------------------------------------- "应为" (expected) in Chinese

# The intake checks say what a cell should hold in English ("a whole number", "one of the 14 cities: ...");
# staff read it in Chinese. Each rule: the English pattern -> the Chinese text (groups carried over).
# A message no rule knows stays as it is (it still names the file, row, column and value).
EXPECTED_ZH: list[tuple[re.Pattern, str]] = [(re.compile(p), zh) for p, zh in [
    (r"^a column (.+?) \(\w+\); it is missing, so none of the (\d+) rows can load$",
     r"必填列“\1”：文件中没有这一列，本表 \2 行均未导入"),
    (r"^a value: (.+) is required$", r"必填：“\1”不能为空"),
    (r"^a unique (.+?); row (\d+) has the same \(this row was rejected\)$", r"\1不得重复：与第 \2 行相同（本行已拒绝）"),
    (r"^a header for every column that holds data$", "有数据的列须有表头"),
    (r"^a known (.+?) header \(this column was ignored\)(.*)$", r"\1表中可识别的列名（本列已忽略）\2"),
    (r"^one column for (.+?); it already appears as (.+) \(ignored\)$", r"“\1”只能有一列，已有 \2（本列已忽略）"),
    (r"^a header row and rows of (.+?); the file is empty$", r"\1的表头行和数据行（文件为空）"),
    (r"^an application id present in the applications table$", "申报书表中已有的申报编号"),
    (r"^an expert id present in the expert pool$", "专家库中已有的专家编号"),
    (r"^a unit other than the lead unit \(the lead unit is counted already\)$", "牵头单位以外的成员单位（牵头单位已计入）"),
    (r"^a waivable rule: (.+?) \(policy conflicts\.waivable_rules\)$", r"可豁免的回避规则：\1"),
    (r"^a valid 18-character unified social credit code \(GB 32100-2015\): (.*)$",
     r"有效的 18 位统一社会信用代码（GB 32100-2015）：\1"),
    (r"^one of the 12 key fields: (.*)$", r"12 个重点领域之一：\1"),
    (r"^key fields from (.+?); (.+) is not one$", r"重点领域（\1）；\2 不是其中之一"),
    (r"^one of the 14 cities: (.*)$", r"14 个设区市之一：\1"),
    (r"^one of the 14 cities or (.*)$", r"14 个设区市之一或“\1”"),
    (r"^blank, 自治区, or one of the 14 cities$", "空白、自治区或 14 个设区市之一"),
    (r"^one of the expert categories (.*)$", r"专家类别之一：\1"),
    (r"^one of (.+?) \(blank = 可用\)$", r"以下之一：\1（空白即“可用”）"),
    (r"^one of (.+)$", r"以下之一：\1"),
    (r"^a date not after the reference date (.+)$", r"不晚于基准日 \1 的日期"),
    (r"^a year not after (\d+)$", r"不晚于 \1 年的年份"),
    (r"^end date (.+) before start date (.+)$", r"结束日期 \1 早于开始日期 \2"),
    (r"^a (.+) record needs 单位名称 or 单位信用代码$", r"\1记录须填写单位名称或单位信用代码"),
    (r"^a (.+) record needs 关系人 or the unit$", r"\1记录须填写关系人或单位"),
    (r"^a 豁免 \(waiver\) needs a reason \(理由\)$", "豁免须填写理由"),
    (r"^a 豁免 \(waiver\) names the rule it waives \(豁免规则\), e.g. C6$", "豁免须写明所豁免的规则（豁免规则），如 C6"),
    (r"^text of at most (\S+) characters \(this one has (\S+)\)$", r"不超过 \1 个字符的文字（本格 \2 个）"),
    (r"^an amount in yuan \(a number, e\.g\. .*\)( \((.+)\))?$", r"以元为单位的金额（数字，如 120000000、1.2亿 或 12000万）\1"),
    (r"^a non-negative amount in yuan( \((.+)\))?$", r"不小于 0 的金额（元）\1"),
    (r"^a whole number >= 0( \((.+)\))?$", r"不小于 0 的整数\1"),
    (r"^a whole number of at most (\S+)( \((.+)\))?$", r"不超过 \1 的整数\2"),
    (r"^a whole number( \((.+)\))?$", r"整数\1"),
    (r"^是 or 否 \(yes/no\)( \((.+)\))?$", r"“是”或“否”\1"),
    (r"^a real calendar date like (\S+)( \((.+)\))?$", r"真实存在的日期，如 \1\2"),
    (r"^a date like (\S+)( \((.+)\))?$", r"日期，如 \1\2"),
    (r"^a number from 0 to (\S+)$", r"0 到 \1 之间的数"),
    (r"^a score from 0 to (\S+)$", r"0 到 \1 之间的分数"),
    (r"^1 to 5, or blank$", "1 到 5，或空白"),
]]


def expected_zh(text):
    """The expected-value text of an import issue in Chinese (EXPECTED_ZH); unknown text as it is."""
    if not isinstance(text, str):
        return text
    s = text.strip()
    for pat, zh in EXPECTED_ZH:
        m = pat.match(s)
        if m:
            return m.expand(zh)
    return text
