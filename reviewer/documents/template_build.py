"""Builds the shipped .docx templates of the official documents (reviewer/documents/templates/) with
python-docx: A4, Chinese fonts (宋体 titles and tables, 仿宋 text; LibreOffice maps them to Noto Serif CJK
SC on Debian, see reviewer.documents.pdf), the round in the header, 第 X 页 共 Y 页 in the footer,
tables as wide as the text with a repeated header row and rows that never split across pages.

The templates are docxtpl (Jinja) documents: staff edit the wording in Word or LibreOffice and keep
the {{ … }} and {% … %} tags (the README lists what each template receives). Rebuild the shipped
ones with `python -m reviewer.documents.template_build` after changing this file.
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE_FONT, BODY_FONT, TABLE_FONT, HEAD_FONT = "宋体", "仿宋", "宋体", "黑体"


def _fonts(run_or_style, east_asia: str, size: float | None = None, bold: bool | None = None) -> None:
    font = run_or_style.font
    font.name = "Times New Roman"
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    el = run_or_style.element if hasattr(run_or_style, "element") else run_or_style._element
    rpr = el.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for k in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(k), "Times New Roman")
    fonts.set(qn("w:eastAsia"), east_asia)


def _field(paragraph, code: str) -> None:
    """A field (PAGE, NUMPAGES) in `paragraph`, updated by Word and LibreOffice when shown."""
    run = paragraph.add_run()
    _fonts(run, BODY_FONT, 10.5)
    for kind, text in (("begin", None), (None, f" {code} "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText" if text.strip() == code else "w:t")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


class Builder:
    """One template document: A4, margins, styles, header and footer."""

    def __init__(self, header: str, landscape: bool = False):
        self.doc = Document()
        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = (Cm(29.7), Cm(21.0)) if landscape else (Cm(21.0), Cm(29.7))
        if landscape:
            sec.orientation = WD_ORIENT.LANDSCAPE
        sec.top_margin = sec.bottom_margin = Cm(2.2)
        sec.left_margin = sec.right_margin = Cm(2.0)
        sec.header_distance = sec.footer_distance = Cm(1.2)
        self.width = sec.page_width - sec.left_margin - sec.right_margin
        normal = self.doc.styles["Normal"]
        _fonts(normal, BODY_FONT, 12)
        normal.paragraph_format.space_after = Pt(4)
        normal.paragraph_format.line_spacing = 1.25
        hp = sec.header.paragraphs[0]
        hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(hp.add_run(header), BODY_FONT, 9)
        fp = sec.footer.paragraphs[0]
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(fp.add_run("第 "), BODY_FONT, 10.5)
        _field(fp, "PAGE")
        _fonts(fp.add_run(" 页  共 "), BODY_FONT, 10.5)
        _field(fp, "NUMPAGES")
        _fonts(fp.add_run(" 页"), BODY_FONT, 10.5)

    def title(self, text: str, size: float = 18) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(12)
        _fonts(p.add_run(text), TITLE_FONT, size, True)

    def heading(self, text: str) -> None:
        p = self.doc.add_paragraph()
        p.paragraph_format.space_before = Pt(8)
        p.paragraph_format.keep_with_next = True
        _fonts(p.add_run(text), HEAD_FONT, 13, True)

    def para(self, text: str, indent: bool = True, align=None, size: float | None = None, bold: bool = False):
        p = self.doc.add_paragraph()
        if indent:
            p.paragraph_format.first_line_indent = Pt(24)
        if align is not None:
            p.alignment = align
        _fonts(p.add_run(text), BODY_FONT, size, bold)
        return p

    def tag(self, text: str) -> None:
        """A paragraph holding only a docxtpl block tag ({%p … %}); docxtpl removes the paragraph."""
        p = self.doc.add_paragraph()
        _fonts(p.add_run(text), BODY_FONT, 9)

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def table(self, headers: list[str], cells: list[str], widths: list[float], loop: str, size: float = 10,
              row_cm: float | None = None, right: tuple[int, ...] = ()) -> None:
        """A table: a header row repeated on every page, then one row per item of `loop`
        ("r in rows") with `cells` (Jinja expressions of r); no row splits across pages. Columns
        `right` (indices) hold numbers: right-aligned, so digits line up down the column."""
        t = self.doc.add_table(rows=4, cols=len(headers))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        _widths(t, widths, self.width)
        self._row_text(t.rows[0], headers, size, bold=True)
        _repeat_header(t.rows[0])
        self._row_text(t.rows[1], [f"{{%tr for {loop} %}}"] + [""] * (len(headers) - 1), size)
        self._row_text(t.rows[2], [f"{{{{ {c} }}}}" if c else "" for c in cells], size)
        for i in right:
            t.rows[2].cells[i].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        self._row_text(t.rows[3], ["{%tr endfor %}"] + [""] * (len(headers) - 1), size)
        for row in t.rows:
            _cant_split(row)
        if row_cm:
            t.rows[2].height = Cm(row_cm)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)

    def fixed_table(self, rows: list[list[str]], widths: list[float], size: float = 10.5,
                    height_cm: float | None = None) -> None:
        """A table of fixed rows (labels and values, signature boxes)."""
        t = self.doc.add_table(rows=len(rows), cols=len(rows[0]))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        _widths(t, widths, self.width)
        for row, texts in zip(t.rows, rows):
            self._row_text(row, texts, size, bold=False)
            _cant_split(row)
            if height_cm:
                row.height = Cm(height_cm)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)

    @staticmethod
    def _row_text(row, texts: list[str], size: float, bold: bool = False) -> None:
        for cell, text in zip(row.cells, texts):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            p = cell.paragraphs[0]
            p.paragraph_format.first_line_indent = None
            p.paragraph_format.space_after = Pt(0)
            p.paragraph_format.line_spacing = 1.0
            if bold:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _fonts(p.add_run(text), TABLE_FONT, size, bold)

    def save(self, name: str) -> Path:
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        path = TEMPLATES / name
        self.doc.save(path)
        return path


def _widths(t, widths: list[float], text_width: int) -> None:
    """Column widths in proportion to `widths`, the table as wide as the text (grid and cells: Word
    reads the cells, LibreOffice the grid)."""
    scale = text_width / Cm(sum(widths))
    for i, w in enumerate(widths):
        t.columns[i].width = int(Cm(w) * scale)
        for cell in t.columns[i].cells:
            cell.width = int(Cm(w) * scale)


def _cant_split(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    trpr.append(el)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


SIGN_DATE = "{{ organiser }}\n{{ date_line }}"


def _sign_off(b: Builder) -> None:
    for t in ("{{ organiser }}", "{{ date_line }}"):
        b.para(t, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)


def publicity() -> Builder:
    b = Builder("{{ round_name }} · 拟认定名单公示")
    b.title("关于{{ year }}年自治区制造业创新中心试点拟认定名单的公示")
    b.para("根据《广西壮族自治区制造业创新中心试点建设工作方案》，{{ organiser }}组织经济、技术、产业、管理、金融等领域专家，"
           "对{{ round_name }}的申报进行了{{ stages_text }}。经评审，拟认定以下 {{ n }} 家为自治区制造业创新中心试点，现予以公示。")
    b.table(["序号", "创新中心名称", "领域", "牵头单位", "所在市"], ["r.no", "r.name", "r.field", "r.lead_unit", "r.city"],
            [1.2, 5.5, 2.6, 5.0, 1.8], "r in rows", size=10.5)
    b.para("公示期为 {{ publicity_days }} 个{{ publicity_day_kind }}（{{ period }}）。公示期间，任何单位或个人对公示名单有异议的，"
           "请以书面形式向{{ organiser }}提出，并提供必要的证明材料。以单位名义提出的须加盖单位公章，以个人名义提出的须署真实姓名"
           "并提供联系方式；逾期或匿名的异议不予受理。")
    for t in ("联系人：{{ objection_contact }}", "联系电话：{{ objection_phone }}", "通讯地址：{{ objection_address }}",
              "电子邮箱：{{ objection_email }}"):
        b.para(t)
    _sign_off(b)
    return b


def approval() -> Builder:
    b = Builder("代拟稿（供审核，未签发） · {{ round_name }}")
    b.para("{{ doc_number }}", indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    b.title("关于认定{{ name }}为自治区制造业创新中心试点的批复")
    b.para("{{ lead_unit }}：", indent=False)
    b.para("你单位报送的{{ name }}申报材料收悉。根据《广西壮族自治区制造业创新中心试点建设工作方案》，经组织专家{{ stages_text }}，"
           "并经公示（公示结果：{{ publicity_result }}），现批复如下：")
    b.para("一、同意认定{{ name }}（领域：{{ field }}；{{ stage }}得分 {{ score }} 分，领域内排名第 {{ rank_in_field }}）"
           "为自治区制造业创新中心试点，建设期不超过 {{ build_years }} 年。")
    b.para("二、请你单位会同成员单位{{ members }}，按照建设方案完成新法人单位工商登记注册等筹备工作，健全治理结构，"
           "落实建设任务和运行发展指标。")
    b.para("三、{{ subsidy_text }}。")
    b.para("四、我厅每年对试点建设和运行管理情况进行考核评估；连续 {{ fails }} 次评价不合格或超过建设期限仍未达到考核要求的，"
           "取消其试点资格。")
    b.para("此复。")
    _sign_off(b)
    return b


def report() -> Builder:
    b = Builder("{{ round_name }} · {{ report_title }}")
    b.title("{{ round_name }}\n{{ report_title }}")
    b.heading("一、评审概况")
    b.para("本阶段共评审申报 {{ n_apps }} 项，聘请专家 {{ n_experts }} 人、{{ n_seats }} 人次。专家组名单于 {{ published_at }} "
           "由 {{ published_by }} 发布（来源：{{ publication_source }}）。会议时间：{{ meeting_when }}；"
           "地点：{{ meeting_place }}。")
    b.heading("二、专家组构成")
    b.table(["专家类别", "专家人数", "人次", "任组长人次"], ["r.category", "r.experts", "r.seats", "r.chairs"],
            [4, 3, 3, 3], "r in by_category", right=(1, 2, 3))
    b.table(["申报编号", "创新中心名称", "组长", "成员（类别）"], ["r.id", "r.name", "r.chair", "r.members"],
            [2.4, 4.6, 1.8, 8.2], "r in panels", size=9)
    b.heading("三、评审方法")
    b.para("{{ method_text }}")
    b.heading("四、评分结果")
    b.para("{{ aggregation_note }}")
    b.table(["排名", "申报编号", "创新中心名称", "领域", "有效评分", "汇总得分", "95% 区间", "状态"],
            ["r.rank", "r.id", "r.name", "r.field", "r.n", "r.score", "r.interval", "r.status"],
            [1.1, 2.4, 4.8, 2.4, 1.6, 1.7, 2.6, 1.4], "r in scores", size=9, right=(0, 4, 5))
    b.heading("五、异常评分及专家意见")
    b.table(["申报编号", "专家", "总分", "组中位数", "偏离", "专家说明"],
            ["r.id", "r.expert", "r.score", "r.median", "r.deviation", "r.opinion"], [2.6, 2.2, 1.6, 1.8, 1.6, 7.2],
            "r in outliers", size=9, right=(2, 3, 4))
    b.heading("六、评分一致性")
    b.para("{{ reliability }}")
    b.heading("七、排名与结论")
    b.table(["总排名", "领域内", "申报编号", "创新中心名称", "得分", "结论", "理由"],
            ["r.rank", "r.rank_in_field", "r.id", "r.name", "r.score", "r.decision", "r.reason"],
            [1.2, 1.2, 2.4, 4.0, 1.5, 2.2, 5.5], "r in ranking", size=9, right=(0, 1, 4))
    b.heading("八、回避与利益冲突处理")
    b.para("{{ conflict_check }}")
    b.table(["规则", "名称", "排除的专家—申报对", "软约束（同城等）", "已豁免"],
            ["r.rule", "r.label", "r.excluded", "r.soft", "r.waived"], [1.4, 4, 3, 3, 2], "r in conflict_rules",
            right=(2, 3, 4))
    b.table(["豁免专家", "申报编号", "规则", "理由"], ["r.expert", "r.id", "r.rule", "r.reason"], [2.5, 2.5, 1.5, 9],
            "r in waivers", size=9)
    b.table(["申报编号", "原专家", "接替专家", "理由", "时间"], ["r.id", "r.old", "r.new", "r.reason", "r.at"],
            [2.5, 2, 2, 7, 3], "r in replacements", size=9)
    b.para("例外：{{ overrides_text }}")
    b.heading("九、关系偏差审计")
    b.tag("{%p for line in bias_paras %}")
    b.para("{{ line }}")
    b.tag("{%p endfor %}")
    b.table(["关系", "评分份数", "效应（分）", "95% 区间", "置换 p 值", "BH q 值", "结论"],
            ["r.relation", "r.n", "r.effect", "r.interval", "r.p", "r.q", "r.verdict"],
            [3.6, 1.6, 1.7, 3.0, 1.7, 1.7, 1.6], "r in bias_rows", size=9, right=(1, 2, 4, 5))
    b.heading("十、随机抽取记录")
    b.tag("{%p for line in draw_lines %}")
    b.para("{{ line }}")
    b.tag("{%p endfor %}")
    b.heading("十一、存档信息")
    b.para("政策文件 SHA-256 前 16 位：{{ policy_sha }}；生成时审计日志末条哈希：{{ audit_head }}"
           "（核对：reviewer audit verify --expect-head 该哈希）。")
    b.para("报告人（签字）：______________　审核人（签字）：______________　日期：{{ date_line }}", indent=False)
    return b


def opinion() -> Builder:
    b = Builder("{{ round_name }} · {{ stage }} · 专家组意见表")
    b.title("专家组意见表", 16)
    b.fixed_table([["申报编号", "{{ id }}", "评审阶段", "{{ stage }}"],
                   ["创新中心名称", "{{ name }}", "领域", "{{ field }}"],
                   ["牵头单位", "{{ lead_unit }}", "所在市", "{{ city }}"],
                   ["评审日期", "{{ meeting_date }}", "地点", "{{ meeting_place }}"]], [2.6, 6.4, 2.2, 5.8])
    b.heading("一、专家评分")
    b.table(["序号", "专家", "类别", "角色", "总分", "分项得分", "评审意见"],
            ["r.no", "r.name", "r.category", "r.role", "r.total", "r.families", "r.opinion"],
            [1.2, 1.8, 1.2, 1.2, 1.3, 5.4, 4.9], "r in experts", size=9, right=(4,))
    b.para("汇总得分：{{ score }}（{{ method }}，有效评分 {{ n_scores }} 份）；等级：{{ band }}；本阶段排名：{{ rank }}。")
    b.heading("二、专家组综合意见")
    b.para("{{ consensus }}")
    for _ in range(4):
        b.para("______________________________________________________________", indent=False)
    b.heading("三、专家签字")
    b.table(["姓名", "角色", "签字", "日期"], ["r.name", "r.role", "", ""], [3, 2, 7, 4], "r in experts", size=10.5,
            row_cm=1.0)
    return b


def signin() -> Builder:
    b = Builder("{{ round_name }} · {{ stage }} · 专家签到表")
    b.title("{{ round_name }}\n{{ stage }}专家签到表", 16)
    b.para("时间：{{ meeting_when }}　　地点：{{ meeting_place }}　　联系人：{{ meeting_contact }}", indent=False)
    b.table(["序号", "姓名", "工作单位", "职称", "类别", "本阶段角色", "签到（签字）", "备注"],
            ["r.no", "r.name", "r.employer", "r.title", "r.category", "r.role", "", ""],
            [1.2, 1.8, 4.4, 1.9, 1.2, 2.4, 3.0, 1.4], "r in rows", size=9.5, row_cm=1.0)
    b.para("应到 {{ n }} 人，实到 ______ 人。　　经办人（签字）：______________", indent=False)
    return b


def fees() -> Builder:
    b = Builder("{{ round_name }} · {{ stage }} · 专家劳务费发放表", landscape=True)
    b.title("{{ round_name }}\n{{ stage }}专家劳务费发放表", 16)
    b.para("发放标准：{{ fee_rule }}。标准来源：{{ fee_source }}。", indent=False, size=10.5)
    b.table(["序号", "姓名", "工作单位", "职称", "角色", "天数", "日标准（元）", "应发（元）", "预扣个税（元）", "实发（元）",
             "领款人签字"],
            ["r.no", "r.name", "r.employer", "r.title", "r.role", "r.days", "r.rate", "r.amount", "r.tax", "r.net", ""],
            [1.0, 1.8, 5.0, 2.0, 1.2, 1.1, 1.8, 2.0, 2.0, 2.0, 3.0], "r in rows", size=9.5, row_cm=0.9,
            right=(5, 6, 7, 8, 9))
    b.para("合计：{{ n }} 人，应发 {{ total_amount }} 元，预扣个人所得税 {{ total_tax }} 元，实发 {{ total_net }} 元。",
           indent=False)
    b.para("说明：{{ tax_note }}", indent=False, size=10.5)
    b.para("经办人（签字）：______________　审核人（签字）：______________　负责人（签字）：______________　日期：{{ date_line }}",
           indent=False)
    return b


BUILDERS = {"公示": publicity, "评审报告": report, "专家组意见表": opinion, "签到表": signin, "劳务费发放表": fees,
            "认定批复": approval}


def build_all() -> list[Path]:
    """Write every shipped template (the file name is the document's Chinese name)."""
    return [make().save(f"{name}.docx") for name, make in BUILDERS.items()]


if __name__ == "__main__":
    for p in build_all():
        print(p)
