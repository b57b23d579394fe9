"""Official documents (issue 17 part 4): every document of the demo round as .docx (opened with
python-docx and checked against the store) and as PDF (LibreOffice; fonts, page numbers, two pages
rendered to PNG in tests/artifacts/), the staff's edited template used by the next generation, and
hostile names that come out literally."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from docx import Document

from reviewer.cli.publication import read_panels
from reviewer.documents.official import KINDS, copy_templates, generate
from reviewer.documents.pdf import to_pdf
from reviewer.policy import load_policy
from reviewer.store import Store, draws, publishing, repo
from reviewer.store.runs import run_aggregation
from tests.test_store_support import AS_OF, DEMO, demo_loaded, run_cli

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCORED = ("现场考察", "认定评审")


def demo_scores() -> pd.DataFrame:
    raw = pd.read_csv(DEMO / "scores.csv", dtype=str)
    return pd.DataFrame({"stage": raw["阶段"], "application_id": raw["申报编号"], "expert_id": raw["专家编号"],
                         "criterion": raw["评分项"], "family": raw["评分项"].str[0],
                         "score": raw["得分"].astype(float), "confidence": None, "void": False})


def scored_round(st: Store, draw_first: bool = True) -> None:
    """初审评估 drawn under a commitment (seed 7) and published; 现场考察 and 认定评审 published from the
    demo panels, scored from the demo scores and aggregated."""
    panels = read_panels(DEMO / "demo_panels.csv")
    run = draws.draw_now(st, "2026", user="张三", stages=["初审评估"], seed=7, time_limit=60)[0] if draw_first else None
    with st.write() as s:
        r = repo.get_round(s, "2026")
        if run is not None:
            publishing.publish_run(s, r, "初审评估", run.id, user="张三", reason="发布")
        for stage in SCORED:
            repo.publish(s, r, stage, panels[panels["stage"] == stage], user="张三", source="demo_panels.csv")
        scores = demo_scores()     # the demo's 初审评估 scores were given on its own panels, not on this draw
        repo.submit_scores(s, r, scores[scores["stage"].isin(SCORED)], user="秘书", source="scores.csv")
    for stage in SCORED:
        run_aggregation(st, "2026", stage, user="张三", resamples=50)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The demo round in a store and every document of it as .docx."""
    from tests.test_store_support import demo_store
    folder = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{folder / 'reviewer.sqlite'}"
    st = demo_store(url)
    scored_round(st)
    res = generate(st, "2026", folder / "out", pdf=False)
    return st, url, res


def text_of(path: Path) -> str:
    d = Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    for sec in d.sections:
        parts += [p.text for p in sec.header.paragraphs]
    return "\n".join(parts)


def one(res, prefix: str) -> Path:
    hits = [p for p in res.docx if p.name.startswith(prefix)]
    assert len(hits) == 1, (prefix, [p.name for p in res.docx])
    return hits[0]


def test_every_document_of_the_demo_round_is_made(made):
    st, _, res = made
    assert res.skipped == []
    names = [p.name for p in res.docx]
    for stage in ("初审评估", *SCORED):
        for kind in ("评审报告", "签到表", "劳务费发放表"):
            assert f"{kind}_2026_{stage}.docx" in names
    with st.read() as s:
        r = repo.get_round(s, "2026")
        n_apps = {stage: repo.published_seats(s, r, stage)["application_id"].nunique() for stage in ("初审评估", *SCORED)}
    for stage, n in n_apps.items():
        assert len([p for p in res.docx if p.parent.name == f"专家组意见表_2026_{stage}"]) == n
    assert "公示_2026.docx" in names and any(p.parent.name == "认定批复_2026" for p in res.docx)
    for p in res.docx:   # no empty-value artefacts anywhere
        t = text_of(p)
        for bad in ("nan", "<NA>", "None", "NaT", "{{", "{%"):
            assert bad not in t, (p.name, bad)


def test_publicity_and_approvals_list_the_recommended_centres_of_the_store(made):
    st, _, res = made
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data = repo.load_data(s, repo.latest_import(s, r).id)
    apps = {a.application_id: a for a in data.applications}
    approvals = sorted(p for p in res.docx if p.parent.name == "认定批复_2026")
    ids = [p.stem.split("_")[1] for p in approvals]
    pub = text_of(one(res, "公示_"))
    assert f"拟认定以下 {len(ids)} 家" in pub
    assert "公示期为 5 个工作日" in pub and "联系人：（未录入）" in pub
    for a in ids:
        assert apps[a].name in pub and apps[a].lead_unit in pub
    t = text_of(approvals[0])
    a = apps[ids[0]]
    assert f"关于认定{a.name}为自治区制造业创新中心试点的批复" in t and t.count(a.lead_unit) >= 1
    assert "建设期不超过 3 年" in t and "公示结果：（未录入）" in t and "代拟稿" in t
    assert all(m.unit_name in t for m in a.members)


def test_report_numbers_come_from_the_stored_aggregation(made):
    st, _, res = made
    t = text_of(one(res, "评审报告_2026_认定评审"))
    with st.read() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, "认定评审")
        scores = repo.scores_frame(s, r, "认定评审")
    from reviewer.documents.round_facts import read_round
    agg = read_round(st, "2026").stages["认定评审"].aggregation
    top = agg.sort_values("rank").iloc[0]
    assert f"{top['score']:.2f}" in t and top["application_id"] in t
    assert f"共评审申报 {seats['application_id'].nunique()} 项" in t
    assert f"{seats['expert_id'].nunique()} 人、{len(seats)} 人次" in t
    assert "Krippendorff α" in t and "截尾平均" in t
    assert "专家组由名单文件发布（来源：demo_panels.csv）" in t
    assert len(scores) > 0 and "（未录入）" in t    # outliers' opinions are not stored yet: a labelled blank


def test_report_has_the_relation_bias_audit_and_right_aligned_numbers(made):
    """§九 关系偏差审计 (issue 18): the stage's totals against the soft relations, worded as the analyst's
    `reviewer bias` words them (reviewer.analytics.bias.report_section); numbers right-aligned."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    st, _, res = made
    path = one(res, "评审报告_2026_认定评审")
    t = text_of(path)
    assert "九、关系偏差审计" in t and "十、随机抽取记录" in t and "十一、存档信息" in t
    assert t.index("八、回避与利益冲突处理") < t.index("九、关系偏差审计") < t.index("十、随机抽取记录")
    assert "方法：" in t and "同城回避" in t and "记入专家库备查，不自动扣分" in t
    doc = Document(path)
    bias = next(tb for tb in doc.tables if tb.rows[0].cells[0].text == "关系")
    assert [c.text for c in bias.rows[0].cells][:3] == ["关系", "评分份数", "效应（分）"]
    same_city = next(r for r in bias.rows[1:] if r.cells[0].text == "同城回避")
    assert int(same_city.cells[1].text) > 0 and same_city.cells[6].text in ("显著", "不显著")
    ranking = next(tb for tb in doc.tables if tb.rows[0].cells[0].text == "总排名")
    row = ranking.rows[1]
    assert row.cells[4].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT      # 得分
    assert row.cells[3].paragraphs[0].alignment != WD_ALIGN_PARAGRAPH.RIGHT      # 创新中心名称 (text)


def test_report_of_a_drawn_stage_records_the_seed_and_commitment(made):
    st, _, res = made
    t = text_of(one(res, "评审报告_2026_初审评估"))
    with st.read() as s:
        r = repo.get_round(s, "2026")
        run_id = repo.publication(s, r, "初审评估").run_id
    import json

    from sqlalchemy import select

    from reviewer.store.models import AuditEntry
    with st.read() as s:
        rev = s.execute(select(AuditEntry).where(AuditEntry.action == draws.REVEAL)).scalars().one()
        after = json.loads(rev.after)
    assert after["run_id"] == run_id
    assert "随机种子 7" in t and after["commitment"] in t and f"reviewer verify-draw {run_id}" in t
    assert "本阶段尚无评分" in t


def test_opinion_form_has_the_panel_its_scores_and_blank_consensus(made):
    st, _, res = made
    form = [p for p in res.docx if p.parent.name == "专家组意见表_2026_认定评审"][0]
    app_id = form.stem.split("_")[1]
    t = text_of(form)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, "认定评审")
        scores = repo.scores_frame(s, r, "认定评审")
        data = repo.load_data(s, repo.latest_import(s, r).id)
    names = {e.expert_id: e.name for e in data.experts}
    mine = seats[seats["application_id"] == app_id]
    for e in mine["expert_id"]:
        assert names[e] in t
        total = scores[(scores["application_id"] == app_id) & (scores["expert_id"] == e)]["score"].sum()
        assert f"{total:,.1f}" in t
    assert "专家组综合意见" in t and "（未录入）" in t and "签字" in t


def test_fees_are_days_times_the_policy_rate_less_the_withheld_tax(made):
    st, _, res = made
    pol = load_policy()
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), "认定评审")
    chairs = set(seats.loc[seats["role"] == "chair", "expert_id"])
    experts = seats["expert_id"].unique()
    amount = sum(pol.documents.fee_daily["chair" if e in chairs else "member"] for e in experts)   # 1 day each
    tax = sum(pol.documents.withheld_tax(pol.documents.fee_daily["chair" if e in chairs else "member"]) for e in experts)
    t = text_of(one(res, "劳务费发放表_2026_认定评审"))
    assert f"合计：{len(experts)} 人，应发 {amount:,.2f} 元，预扣个人所得税 {tax:,.2f} 元，实发 {amount - tax:,.2f} 元" in t
    assert "财科教〔2017〕128号" in t and "国家税务总局公告2018年第61号" in t
    site = text_of(one(res, "劳务费发放表_2026_现场考察"))
    assert "天数为本人现场考察的天数" in site


def test_withheld_tax_follows_the_2018_61_table():
    d = load_policy().documents
    assert [d.withheld_tax(x) for x in (500, 1500, 4000, 5000, 30000, 80000)] == [0, 140, 640, 800, 5200, 18600]


def test_sign_in_sheet_lists_every_expert_of_the_stage(made):
    st, _, res = made
    with st.read() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, "现场考察")
        data = repo.load_data(s, repo.latest_import(s, r).id)
    names = {e.expert_id: e.name for e in data.experts}
    t = text_of(one(res, "签到表_2026_现场考察"))
    assert all(names[e] in t for e in seats["expert_id"].unique())
    assert f"应到 {seats['expert_id'].nunique()} 人" in t and "时间：（未录入）" in t


def test_pdf_of_each_kind_has_chinese_fonts_page_numbers_and_is_rendered(made, tmp_path):
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.fail("LibreOffice (soffice) and poppler-utils (pdftoppm) are needed; .ci/run installs them")
    _, _, res = made
    picks = [one(res, "评审报告_2026_认定评审"), one(res, "劳务费发放表_2026_认定评审"), one(res, "公示_"),
             one(res, "签到表_2026_初审评估"),
             sorted(p for p in res.docx if p.parent.name == "专家组意见表_2026_认定评审")[0],
             sorted(p for p in res.docx if p.parent.name == "认定批复_2026")[0]]
    copies = []
    for p in picks:
        dst = tmp_path / p.name
        shutil.copy(p, dst)
        copies.append(dst)
    pdfs = to_pdf(copies)
    for pdf in pdfs:
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "NotoSerifCJK" in fonts or "NotoSansCJK" in fonts, (pdf.name, fonts)
        txt = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", txt), pdf.name
        assert "nan" not in txt and "<NA>" not in txt
    ARTIFACTS.mkdir(exist_ok=True)
    for pdf, name in ((pdfs[0], "评审报告_认定评审"), (pdfs[1], "劳务费发放表_认定评审")):
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / name)],
                       check=True, timeout=120)
        assert list(ARTIFACTS.glob(f"{name}*.png"))


def test_an_edited_template_is_used_by_the_next_generation(made, tmp_path, monkeypatch, capsys):
    _, url, _ = made
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    code, out = run_cli(["documents", "--copy-templates"], capsys)
    assert code == 0 and "templates" in out
    own = tmp_path / "home" / "templates" / "公示.docx"
    assert own.is_file() and len(list(own.parent.glob("*.docx"))) == len(KINDS)
    d = Document(str(own))
    p = next(p for p in d.paragraphs if p.text.startswith("公示期为"))
    for r in p.runs[1:]:
        r.text = ""
    p.runs[0].text = "异议受理期为 {{ publicity_days }} 个{{ publicity_day_kind }}，请向本厅规划处书面反映。"
    d.save(str(own))
    code, out = run_cli(["documents", "--round", "2026", "--db", url, "--kind", "publicity", "--no-pdf",
                         "--out", str(tmp_path / "o")], capsys)
    assert code == 0, out
    t = text_of(tmp_path / "o" / "公示_2026.docx")
    assert "异议受理期为 5 个工作日，请向本厅规划处书面反映。" in t and "公示期为" not in t
    assert copy_templates()[1] == []          # an edited copy is never overwritten


def test_a_broken_template_is_a_clear_error(made, tmp_path, monkeypatch, capsys):
    _, url, _ = made
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    copy_templates()
    own = tmp_path / "home" / "templates" / "签到表.docx"
    d = Document(str(own))
    d.paragraphs[0].runs[0].text = "{{ round_name "
    d.save(str(own))
    code, out = run_cli(["documents", "--round", "2026", "--db", url, "--no-pdf", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "签到表.docx" in out and "模板" in out and "Traceback" not in out


def test_missing_libreoffice_is_a_clear_error_after_the_docx(made, tmp_path, monkeypatch, capsys):
    _, url, _ = made
    monkeypatch.setenv("REVIEWER_SOFFICE", str(tmp_path / "no-soffice"))
    code, out = run_cli(["documents", "--round", "2026", "--db", url, "--kind", "publicity",
                         "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "未找到 LibreOffice" in out and "Traceback" not in out
    assert (tmp_path / "o" / "公示_2026.docx").is_file()


def test_unknown_kind_stage_or_round_is_a_clear_error(made, tmp_path, capsys):
    _, url, _ = made
    for args, want in ((["--kind", "memo"], "unknown document kind"), (["--stage", "答辩"], "unknown stage"),
                       (["--round", "1999"], "1999")):
        a = ["documents", "--round", "2026", "--db", url, "--no-pdf", "--out", str(tmp_path / "o"), *args]
        code, out = run_cli(a, capsys)
        assert code == 2 and want in out, out


HOSTILE = "{{ 7*7 }}{% if 1 %}X{% endif %}=cmd|' /C calc'!A0 <b>&\"'</b> 中心"


def test_hostile_names_come_out_literally(tmp_path):
    wb = openpyxl.load_workbook(DEMO / "round2026.xlsx")
    ws = wb["申报 applications"] if "申报 applications" in wb.sheetnames else wb[wb.sheetnames[0]]
    head = [c.value for c in ws[1]]
    col = next(i for i, h in enumerate(head) if h and ("名称" in str(h) or str(h).lower() == "name")) + 1
    ids = {ws.cell(row=i, column=1).value: i for i in range(2, ws.max_row + 1)}
    panels = read_panels(DEMO / "demo_panels.csv")
    target = panels.loc[panels["stage"] == "认定评审", "application_id"].iloc[0]
    ws.cell(row=ids[target], column=col).value = HOSTILE
    src = tmp_path / "round.xlsx"
    wb.save(src)
    from reviewer.demo.pipeline import demo_policy
    from reviewer.intake.io import load_round_from
    data, report = load_round_from(src, demo_policy(load_policy()))
    assert data.application(target).name == HOSTILE
    st = Store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    with st.write() as s:
        r = repo.create_round(s, "2026", user="张三", as_of=AS_OF)
        repo.record_import(s, r, data, report, user="张三", source=str(src))
    scored_round(st, draw_first=False)
    res = generate(st, "2026", tmp_path / "o", stages=["认定评审"], kinds=["opinion", "report"], pdf=False)
    form = next(p for p in res.docx if p.stem.endswith(target))
    for p in (form, one(res, "评审报告_2026_认定评审")):
        t = text_of(p)
        assert HOSTILE in t and "49X" not in t, p.name     # not evaluated, not escaped twice
    st.dispose()
    assert demo_loaded()   # the shared demo data is untouched


def test_policy_documents_section_is_checked(tmp_path):
    from reviewer.errors import UserError
    base = (Path(load_policy().source)).read_text(encoding="utf-8")
    for bad, want in (("fee_daily = { chair = 2400, member = 1500 }", "fee_daily = { chair = 2400, boss = 1 }"),
                      ("publicity_days = 5", "publicity_days = 0")):
        p = tmp_path / "p.toml"
        p.write_text(base.replace(bad, want), encoding="utf-8")
        with pytest.raises(UserError, match="documents"):
            load_policy(p)


def test_shipped_templates_are_what_the_builder_makes_and_are_package_data(tmp_path, monkeypatch):
    import tomllib

    from reviewer.documents import template_build
    monkeypatch.setattr(template_build, "TEMPLATES", tmp_path)
    template_build.build_all()
    shipped = Path(template_build.__file__).parent / "templates"
    for k in KINDS:
        fresh = Document(str(tmp_path / f"{k.name}.docx")).element.xml
        assert fresh == Document(str(shipped / f"{k.name}.docx")).element.xml, \
            f"{k.name}.docx is stale: run python -m reviewer.documents.template_build"
    conf = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = conf["tool"]["setuptools"]["package-data"]["reviewer.documents"]
    assert {p.name for g in globs for p in shipped.parent.glob(g)} == {f"{k.name}.docx" for k in KINDS}


def test_round_settings_fill_the_meeting_blanks(made, tmp_path, capsys):
    st, url, _ = made
    code, out = run_cli(["round", "settings", "2026", "--stage", "认定评审", "--date", "2026-12-18", "--time", "09:00",
                         "--place", "南宁市民族大道某会议中心", "--db", url, "--user", "秘书"], capsys)
    assert code == 0, out
    res = generate(st, "2026", tmp_path, stages=["认定评审"], kinds=["signin"], pdf=False)
    t = text_of(res.docx[0])
    assert "时间：2026-12-18 09:00" in t and "地点：南宁市民族大道某会议中心" in t and "联系人：（未录入）" in t
