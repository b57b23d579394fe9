"""Input file layouts: one `Table` per kind of file, each column with its Chinese header,
English aliases, type and whether it is required.

The importer (`reviewer.intake.io`) maps headers through these definitions; the README's column
tables and the blank templates are generated from them, so the three never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "int", "money", "float", "date", "bool", "list", "credit_code"]

# Sane domain limits of a cell (issue 12 items 6-7): beyond them a value is a pasting or typing
# accident, not data, and it would break later steps (a 30-digit load overflowed the planner; a
# 5000-character name cannot be a file name: an expert's pack folder is named 专家编号_姓名, and
# a file name holds at most 255 bytes). Text limits count characters after cleaning.
ID_CHARS = 64            # 申报编号, 专家编号: codes, never prose
PERSON_CHARS = 50        # a person's name (minority names with · included are far shorter)
NAME_CHARS = 200         # unit, centre and platform names, labels, cities, titles
TEXT_CHARS = 5000        # free text: technology direction, specialties, reasons, notes
MAX_RANK = 100_000       # a unit's rank among the units of its field
MAX_PATENTS = 1_000_000  # valid invention patents of one unit (the largest holders have ~10^5)
MAX_VIOLATIONS = 1_000   # violation records of one unit in 3 years
MAX_LOAD = 1_000         # applications one expert may review in a stage (a round has tens)
MAX_YEAR = 9_999         # a platform's year (the policy's reference date bounds it further)


@dataclass(frozen=True)
class Column:
    key: str                 # internal (English) name
    zh: str                  # Chinese header, the default in templates
    type: ColumnType = "str"
    required: bool = True
    aliases: tuple[str, ...] = ()
    doc: str = ""            # what it holds (README)
    max_chars: int = NAME_CHARS       # text, list and code columns: longest accepted text
    max_value: int | None = None      # int columns: largest accepted number (money: io.MAX_MONEY)

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.zh, self.key, *self.aliases)


@dataclass(frozen=True)
class Table:
    name: str                # applications, members, ...
    zh: str                  # 申报书, ...
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns whose combination must be unique
    doc: str = ""
    sheet_names: tuple[str, ...] = field(default=())

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


APPLICATIONS = Table(
    name="applications",
    zh="申报书",
    key=("application_id",),
    doc="One row per application (创新中心试点申报).",
    sheet_names=("申报书", "applications"),
    columns=(
        Column("application_id", "申报编号", doc="unique id, e.g. GX2026-001", max_chars=ID_CHARS),
        Column("name", "创新中心名称", doc="proposed centre name"),
        Column("field", "领域", doc="one of the 12 key fields (重点领域)"),
        Column("recommending_city", "推荐市", required=False, aliases=("city",),
               doc="设区市 that recommended it (one of 14); blank fails screening check E8"),
        Column("lead_unit", "牵头单位", doc="lead unit name"),
        Column("lead_credit_code", "牵头单位统一社会信用代码", "credit_code", aliases=("lead_code",),
               doc="18-character unified social credit code (GB 32100-2015)"),
        Column("lead_city", "牵头单位所在市", doc="city of the lead unit"),
        Column("lead_unit_type", "牵头单位类型", required=False,
               doc="企业 (blank) / 高校 / 科研院所 / 其他; the revenue check applies to a lead enterprise"),
        Column("lead_field_rank", "牵头单位领域排名", "int", required=False,
               doc="lead unit's rank in its field (blank = unknown)", max_value=MAX_RANK),
        Column("legal_representative", "法定代表人", required=False, doc="lead unit's legal representative",
               max_chars=PERSON_CHARS),
        Column("centre_head", "中心负责人", required=False, doc="proposed head of the centre",
               max_chars=PERSON_CHARS),
        Column("revenue_y1", "近三年销售收入_第1年", "money", aliases=("revenue_1",), doc="yuan, oldest year"),
        Column("revenue_y2", "近三年销售收入_第2年", "money", aliases=("revenue_2",), doc="yuan"),
        Column("revenue_y3", "近三年销售收入_第3年", "money", aliases=("revenue_3",), doc="yuan, latest year"),
        Column("rd_spend_y1", "近三年研发经费_第1年", "money", aliases=("rd_1",), doc="yuan"),
        Column("rd_spend_y2", "近三年研发经费_第2年", "money", aliases=("rd_2",), doc="yuan"),
        Column("rd_spend_y3", "近三年研发经费_第3年", "money", aliases=("rd_3",), doc="yuan"),
        Column("main_revenue_y1", "近三年主营业务收入_第1年", "money", required=False,
               doc="yuan; blank = same as sales revenue"),
        Column("main_revenue_y2", "近三年主营业务收入_第2年", "money", required=False, doc="yuan"),
        Column("main_revenue_y3", "近三年主营业务收入_第3年", "money", required=False, doc="yuan"),
        Column("invention_patents_valid", "有效发明专利数", "int", aliases=("patents",), doc="count >= 0",
               max_value=MAX_PATENTS),
        Column("violations_3y", "近三年违法失信记录数", "int", aliases=("violations",),
               doc="environment, safety, IP, tax or serious dishonesty violations in the last 3 years",
               max_value=MAX_VIOLATIONS),
        Column("violation_notes", "违法失信说明", required=False, doc="what they were", max_chars=TEXT_CHARS),
        Column("tech_description", "技术方向", aliases=("technology",),
               doc="key common technologies the centre will tackle (free text)", max_chars=TEXT_CHARS),
        Column("submitted_on", "申报日期", "date", required=False, doc="YYYY-MM-DD, not in the future"),
    ),
)

MEMBERS = Table(
    name="members",
    zh="成员单位",
    key=("application_id", "credit_code"),
    doc="Founding units other than the lead unit, one row per unit per application.",
    sheet_names=("成员单位", "members"),
    columns=(
        Column("application_id", "申报编号", max_chars=ID_CHARS),
        Column("unit_name", "单位名称", aliases=("name",)),
        Column("credit_code", "统一社会信用代码", "credit_code", aliases=("code",)),
        Column("role", "角色", doc="核心成员 or 一般成员 (core / ordinary member)"),
        Column("unit_type", "单位类型", aliases=("type",), doc="企业 / 高校 / 科研院所 / 其他"),
        Column("field_rank", "领域排名", "int", required=False, doc="rank in the field, blank = unknown",
               max_value=MAX_RANK),
        Column("is_shareholder", "是否股东", "bool", required=False, doc="是/否; blank = 是"),
        Column("city", "所在地", required=False),
    ),
)

PLATFORMS = Table(
    name="platforms",
    zh="创新平台",
    key=("application_id", "platform_name"),
    doc="Innovation platforms held by the lead unit or a core member.",
    sheet_names=("创新平台", "platforms"),
    columns=(
        Column("application_id", "申报编号", max_chars=ID_CHARS),
        Column("holder_credit_code", "持有单位信用代码", "credit_code", aliases=("holder_code",)),
        Column("platform_name", "平台名称", aliases=("name",)),
        Column("level", "级别", doc="国家级 / 自治区级 / 市级"),
        Column("year", "认定年份", "int", doc="year recognised, not in the future", max_value=MAX_YEAR),
    ),
)

EXPERTS = Table(
    name="experts",
    zh="专家库",
    key=("expert_id",),
    doc="The expert pool, one row per expert.",
    sheet_names=("专家库", "experts"),
    columns=(
        Column("expert_id", "专家编号", max_chars=ID_CHARS),
        Column("name", "姓名", max_chars=PERSON_CHARS),
        Column("category", "专家类别", doc="经济 / 技术 / 产业 / 管理 / 金融"),
        Column("title", "职称", required=False, doc="e.g. 教授级高级工程师"),
        Column("title_level", "职称级别", doc="正高级 / 副高级 / 中级 / 其他"),
        Column("employer", "工作单位"),
        Column("employer_credit_code", "工作单位信用代码", "credit_code", required=False, aliases=("employer_code",)),
        Column("employer_type", "单位类型", required=False, doc="企业 / 高校 / 科研院所 / 政府部门 / 金融机构 / 其他"),
        Column("department", "主管部门任职", required=False,
               doc="blank; 自治区 for staff of the supervising department; or a city name for a city department"),
        Column("city", "所在市", doc="one of the 14 cities, or 区外 (outside Guangxi)"),
        Column("fields", "熟悉领域", "list", doc="key fields, separated by ; or 、", max_chars=TEXT_CHARS),
        Column("specialties", "研究方向", doc="specialty keywords (free text)", max_chars=TEXT_CHARS),
        Column("status", "状态", required=False, doc="可用 (blank) / 不可用 / 信用惩戒"),
        Column("available_from", "可用起始日期", "date", required=False),
        Column("available_until", "可用截止日期", "date", required=False),
        Column("max_load", "每阶段最多评审数", "int", required=False, doc="blank = policy default",
               max_value=MAX_LOAD),
        Column("phone", "手机", required=False),
        Column("email", "邮箱", required=False),
    ),
)

EXPERT_HISTORY = Table(
    name="expert_history",
    zh="专家履历",
    doc=("Employment, board/shareholder roles and personal relations of experts. "
         "kind: 任职 employment, 董监高 director/supervisor/officer, 股东 controlling shareholder, "
         "亲属 relative, 师生 advisor/student, 合作 co-project/co-author."),
    sheet_names=("专家履历", "expert_history"),
    columns=(
        Column("expert_id", "专家编号", max_chars=ID_CHARS),
        Column("kind", "类型", doc="任职 / 董监高 / 股东 / 亲属 / 师生 / 合作"),
        Column("org_name", "单位名称", required=False),
        Column("org_credit_code", "单位信用代码", "credit_code", required=False, aliases=("org_code",)),
        Column("person", "关系人", required=False, doc="for 亲属/师生/合作: the other person's name",
               max_chars=PERSON_CHARS),
        Column("role", "职务", required=False),
        Column("start", "开始日期", "date", required=False),
        Column("end", "结束日期", "date", required=False, doc="blank = ongoing"),
        Column("note", "说明", required=False, max_chars=TEXT_CHARS),
    ),
)

DECLARED_CONFLICTS = Table(
    name="declared_conflicts",
    zh="回避申报",
    key=("application_id", "expert_id", "kind"),
    doc=("Declarations: 不适宜 (the applicant names an unsuitable expert, at most 3), "
         "回避 (the expert or staff declares a conflict), 豁免 (staff waive a waivable conflict; reason required)."),
    sheet_names=("回避申报", "declared_conflicts"),
    columns=(
        Column("application_id", "申报编号", max_chars=ID_CHARS),
        Column("expert_id", "专家编号", max_chars=ID_CHARS),
        Column("kind", "类型", doc="不适宜 / 回避 / 豁免"),
        Column("declared_by", "申报方", required=False, doc="申报单位 / 专家 / 工作人员"),
        Column("reason", "理由", required=False, doc="required for 豁免", max_chars=TEXT_CHARS),
        Column("rule", "豁免规则", required=False, doc="for 豁免: the rule id waived, e.g. C6"),
        Column("date", "日期", "date", required=False),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in
                            (APPLICATIONS, MEMBERS, PLATFORMS, EXPERTS, EXPERT_HISTORY, DECLARED_CONFLICTS)}
