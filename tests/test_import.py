"""Import with validation: one clear line per problem, good rows still load."""
import datetime as dt

import pandas as pd
import pytest

from reviewer.intake import schema
from reviewer.intake.credit_code import credit_code_problem, is_valid_credit_code
from reviewer.errors import UserError
from reviewer.intake.io import load_round, load_table, parse_cell, write_template
from tests.factories import CODES, policy

P = policy()


def app_row(i: int, **kw) -> dict:
    row = {"申报编号": f"GX-{i:03d}", "创新中心名称": f"广西中心{i}", "领域": "汽车", "推荐市": "柳州",
           "牵头单位": f"柳州{i}有限公司", "牵头单位统一社会信用代码": CODES[i], "牵头单位所在市": "柳州",
           "近三年销售收入_第1年": 2e8, "近三年销售收入_第2年": 2e8, "近三年销售收入_第3年": 2e8,
           "近三年研发经费_第1年": 1e7, "近三年研发经费_第2年": 1e7, "近三年研发经费_第3年": 1e7,
           "有效发明专利数": 3, "近三年违法失信记录数": 0, "技术方向": "汽车轻量化", "申报日期": "2026-09-01"}
    row.update(kw)
    return row


def test_credit_code_check_digit():
    assert is_valid_credit_code("91350100M000100Y43")  # a published example
    assert "check digit" in credit_code_problem("91350100M000100Y44")
    assert "18" in credit_code_problem("91350100M000100Y4")
    assert "allowed" in credit_code_problem("91350100M000100I43")


def test_wrong_header_text_in_money_duplicate_id_and_bad_code_each_one_line(tmp_path):
    rows = [app_row(1), app_row(2, **{"近三年销售收入_第2年": "约两亿"}), app_row(3), app_row(1, **{"创新中心名称": "重复"}),
            app_row(5, **{"牵头单位统一社会信用代码": "91350100M000100Y44"}), app_row(6)]
    df = pd.DataFrame(rows).rename(columns={"申报日期": "申报日起"})  # an optional column misspelt
    path = tmp_path / "applications.xlsx"
    df.to_excel(path, index=False, sheet_name="申报书")
    t = load_table(path, schema.APPLICATIONS, P)
    lines = [str(i) for i in t.issues]
    assert len(lines) == 4, "\n".join(lines)
    header = [l for l in lines if "申报日起" in l]
    assert len(header) == 1 and "row 1" in header[0] and "did you mean 申报日期" in header[0]
    money = [l for l in lines if "约两亿" in l]
    assert len(money) == 1 and "row 3" in money[0] and "近三年销售收入_第2年" in money[0] and "yuan" in money[0]
    dup = [l for l in lines if "unique" in l]
    assert len(dup) == 1 and "row 5" in dup[0] and "GX-001" in dup[0] and "row 2 has the same" in dup[0]
    code = [l for l in lines if "credit code" in l]
    assert len(code) == 1 and "row 6" in code[0] and "91350100M000100Y44" in code[0] and "expected '3'" in code[0]
    assert all(str(path) in l for l in lines)
    assert [a.application_id for a in t.records] == ["GX-001", "GX-003", "GX-006"]
    assert t.n_rows == 6 and t.n_rejected == 3


def test_unknown_values_negative_money_future_date(tmp_path):
    rows = [app_row(1, **{"领域": "航空航天"}), app_row(2, **{"推荐市": "深圳"}),
            app_row(3, **{"近三年研发经费_第1年": -5}), app_row(4, **{"申报日期": "2027-01-01"}),
            app_row(5, **{"近三年销售收入_第1年": "1.5亿", "近三年销售收入_第2年": "12,000万", "有效发明专利数": 2.5}),
            app_row(6, **{"近三年销售收入_第1年": "1.5亿", "近三年销售收入_第2年": "12,000万"}),
            app_row(7, **{"申报日期": "2026年2月30日"})]
    path = tmp_path / "apps.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    t = load_table(path, schema.APPLICATIONS, P)
    msgs = {i.row: str(i) for i in t.issues}
    assert "one of the 12 key fields" in msgs[2] and "航空航天" in msgs[2]
    assert "one of the 14 cities" in msgs[3]
    assert "non-negative" in msgs[4]
    assert "not after the reference date 2026-11-01" in msgs[5]
    assert "whole number" in msgs[6]
    assert "real calendar date" in msgs[8]
    assert [a.application_id for a in t.records] == ["GX-006"]
    assert t.records[0].revenue_y1 == 150_000_000 and t.records[0].revenue_y2 == 120_000_000


def test_missing_required_column_is_one_line(tmp_path):
    df = pd.DataFrame([app_row(1), app_row(2)]).drop(columns=["领域"])
    path = tmp_path / "a.csv"
    df.to_csv(path, index=False)
    t = load_table(path, schema.APPLICATIONS, P)
    assert len(t.issues) == 1 and "领域" in str(t.issues[0]) and "none of the 2 rows" in str(t.issues[0])
    assert t.records == []


def test_english_aliases_and_gbk_csv(tmp_path):
    df = pd.DataFrame([app_row(1)])
    en = {c.zh: c.key for c in schema.APPLICATIONS.columns}
    path = tmp_path / "a.csv"
    df.rename(columns=en).to_csv(path, index=False, encoding="gbk")
    t = load_table(path, schema.APPLICATIONS, P)
    assert t.issues == [] and t.records[0].field == "汽车"


def test_blank_rows_and_note_columns_are_ignored(tmp_path):
    df = pd.DataFrame([app_row(1), {}, app_row(2)])
    df["备注"] = ["", "", "补交材料"]
    path = tmp_path / "a.xlsx"
    df.to_excel(path, index=False)
    t = load_table(path, schema.APPLICATIONS, P)
    assert t.issues == [] and len(t.records) == 2 and t.records[1].row == 4


def test_experts_validation(tmp_path):
    base = {"专家编号": "E1", "姓名": "张伟", "专家类别": "技术", "职称级别": "正高级", "工作单位": "广西大学",
            "所在市": "南宁", "熟悉领域": "汽车；机械", "研究方向": "车身轻量化"}
    rows = [base, {**base, "专家编号": "E2", "专家类别": "法律"}, {**base, "专家编号": "E3", "熟悉领域": "汽车;造船"},
            {**base, "专家编号": "E4", "状态": "休假"}, {**base, "专家编号": "E5", "所在市": "区外", "状态": "信用惩戒"}]
    path = tmp_path / "experts.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    t = load_table(path, schema.EXPERTS, P)
    msgs = {i.row: str(i) for i in t.issues}
    assert "经济/技术/产业/管理/金融" in msgs[3] and "专家类别" in msgs[3]
    assert "造船" in msgs[4]
    assert "可用/不可用/信用惩戒" in msgs[5]
    assert [e.expert_id for e in t.records] == ["E1", "E5"]
    assert t.records[0].fields == ("汽车", "机械")


def test_cross_table_checks(tmp_path):
    apps = tmp_path / "applications.csv"
    pd.DataFrame([app_row(1)]).to_csv(apps, index=False)
    members = tmp_path / "members.csv"
    pd.DataFrame([
        {"申报编号": "GX-001", "单位名称": "成员甲", "统一社会信用代码": CODES[40], "角色": "核心成员", "单位类型": "企业"},
        {"申报编号": "GX-999", "单位名称": "成员乙", "统一社会信用代码": CODES[41], "角色": "一般成员", "单位类型": "高校"},
        {"申报编号": "GX-001", "单位名称": "牵头自己", "统一社会信用代码": CODES[1], "角色": "一般成员", "单位类型": "企业"},
    ]).to_csv(members, index=False)
    experts = tmp_path / "experts.csv"
    pd.DataFrame([{"专家编号": f"E{i}", "姓名": f"专家{i}", "专家类别": "技术", "职称级别": "正高级",
                   "工作单位": "广西大学", "所在市": "南宁", "熟悉领域": "汽车", "研究方向": "x"} for i in range(5)]
                 ).to_csv(experts, index=False)
    declared = tmp_path / "declared.csv"
    pd.DataFrame([{"申报编号": "GX-001", "专家编号": f"E{i}", "类型": "不适宜"} for i in range(4)]
                 + [{"申报编号": "GX-001", "专家编号": "E9", "类型": "回避"},
                    {"申报编号": "GX-001", "专家编号": "E0", "类型": "豁免", "理由": "x", "豁免规则": "C1"}]
                 ).to_csv(declared, index=False)
    data, report = load_round({"applications": apps, "members": members, "experts": experts,
                               "declared_conflicts": declared}, P)
    msgs = [str(i) for i in report.issues]
    assert any("GX-999" in m and "application id present" in m for m in msgs)
    assert any("other than the lead unit" in m for m in msgs)
    assert any("at most 3" in m and "row 5" in m for m in msgs)
    assert any("E9" in m and "expert pool" in m for m in msgs)
    assert any("waivable rule" in m for m in msgs)
    assert len(data.applications[0].members) == 1
    assert len(data.declarations) == 3
    assert report.has_errors


def test_parse_cell_dates_and_bools():
    c = schema.EXPERT_HISTORY.column("end")
    assert parse_cell("2024/3/31", c) == dt.date(2024, 3, 31)
    assert parse_cell("2024年3月31日", c) == dt.date(2024, 3, 31)
    assert parse_cell(pd.Timestamp("2024-03-31"), c) == dt.date(2024, 3, 31)
    b = schema.MEMBERS.column("is_shareholder")
    assert parse_cell("是", b) is True and parse_cell("否", b) is False


def test_unreadable_files_are_user_errors(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(UserError, match="not a readable"):
        load_table(bad, schema.APPLICATIONS, P)
    with pytest.raises(UserError, match="not found"):
        load_table(tmp_path / "missing.csv", schema.APPLICATIONS, P)
    with pytest.raises(UserError, match="unsupported"):
        load_table(tmp_path / "x.pdf", schema.APPLICATIONS, P) if (tmp_path / "x.pdf").write_text("x") else None


def test_template_round_trips(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    for t in schema.TABLES.values():
        loaded = load_table(path, t, P)
        assert loaded.issues == [] and loaded.records == []


def test_absurdly_large_numbers_are_rejected_not_stored_as_infinity():
    """A 400-digit amount would become float('inf') and decide screening; a 400-digit count is no
    count. Both are cell errors naming what was expected."""
    from reviewer.intake.io import CellError
    money = schema.Column("revenue_y1", "近三年销售收入_第1年", "money")
    count = schema.Column("invention_patents_valid", "有效发明专利数", "int")
    with pytest.raises(CellError, match="at most"):
        parse_cell("9" * 400, money)
    with pytest.raises(CellError, match="at most"):
        parse_cell("9" * 400, count)
    assert parse_cell("1.2亿", money) == 1.2e8 and parse_cell("12", count) == 12


def test_control_characters_are_removed_from_input_text():
    """Text cells never carry control characters (a terminal escape, BEL, NUL) into the round: they
    would reach the terminal, the app and every output file."""
    name = schema.Column("name", "创新中心名称")
    assert parse_cell("甲\x1b[31m乙\x07\x00", name) == "甲[31m乙"
    assert parse_cell("第一行\n第二行\t备注", name) == "第一行\n第二行\t备注"
