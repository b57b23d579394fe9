"""Issue 16 item 5: written opinions. A sheet's 评审意见 round-trips into the store; a total more than
the policy's outlier distance from its panel median without an opinion is refused naming file, row,
expert and application; the chair's 专家组综合意见 with recorded dissent; all in the audit chain."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from reviewer.app import scores as svc_scores
from reviewer.app import store as app_store
from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.scoring.scoresheets import COMMENT, SHEET, criterion_header, read_score_sheet, write_score_sheet
from reviewer.store import audit, keys, opinions, repo
from tests.test_store_support import DEMO, demo_store, run_cli

POL = load_policy()
STAGE = "现场考察"


@pytest.fixture
def site(tmp_path):
    """The demo round with 现场考察 published from the demo panels (no planning: fast)."""
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    st = demo_store(url)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    seats = panels[panels["stage"] == STAGE]
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), STAGE, seats, user="张三", source="demo_panels.csv")
    yield url, st, seats
    st.dispose()


def sheet(tmp_path, seats, expert, share: float, opinion: str | None = None, only: str | None = None):
    """`expert`'s signed sheet with every criterion at `share` of its maximum (total = share x 100) on
    application `only` (default: their first), with the 评审意见 `opinion`."""
    apps = sorted(seats.loc[seats["expert_id"] == expert, "application_id"])
    path = write_score_sheet(tmp_path / f"评分表_{expert}.xlsx", POL, expert, f"专家{expert}", STAGE,
                             pd.DataFrame({"application_id": apps, "name": "中心", "field": "汽车"}),
                             sheet_key=keys.round_sheet_key("2026"), round_code="2026")
    wb = load_workbook(path)
    ws = wb[SHEET]
    header = [c.value for c in ws[2]]
    row = 3 + apps.index(only or apps[0])
    for c in POL.for_stage(STAGE).rubric.criteria:
        ws.cell(row, header.index(criterion_header(c)) + 1).value = round(c.max * share * 2) / 2
    if opinion is not None:
        ws.cell(row, header.index(COMMENT) + 1).value = opinion
    wb.save(path)
    return path, row


def panel_of(seats):
    app = sorted(seats["application_id"])[0]
    return app, sorted(seats.loc[seats["application_id"] == app, "expert_id"])


def imp(url, paths, capsys):
    return run_cli(["scores", "import", "--round", "2026", "--db", url, *map(str, paths)], capsys)


def test_the_sheet_states_the_rule_and_its_opinion_round_trips_into_the_store(site, tmp_path, capsys):
    url, st, seats = site
    app, experts = panel_of(seats)
    path, row = sheet(tmp_path, seats, experts[0], 0.8, "技术路线清晰，产业化基础较好。", only=app)
    ws = load_workbook(path)[SHEET]
    assert any("须填写评审意见" in str(c.value) and f"{POL.aggregation.outlier_points:g} 分" in str(c.value)
               for r in ws.iter_rows() for c in r if c.value)
    res = read_score_sheet(path, POL, keys.round_sheet_key("2026"))
    assert res.opinions.to_dict("records")[0]["text"] == "技术路线清晰，产业化基础较好。"
    code, out = imp(url, [path], capsys)
    assert code == 0 and "1 评审意见" in out, out
    with st.read() as s:
        got = opinions.opinions_frame(s, repo.get_round(s, "2026"), STAGE)
    assert got[["application_id", "expert_id", "opinion"]].values.tolist() == [[app, experts[0],
                                                                                "技术路线清晰，产业化基础较好。"]]
    assert got["total_then"].iloc[0] == pytest.approx(sum(round(c.max * 0.8 * 2) / 2 for c in POL.for_stage(STAGE).rubric.criteria))
    code, out = run_cli(["scores", "opinions", "--round", "2026", "--db", url], capsys)
    assert code == 0 and "技术路线清晰" in out


def test_an_outlying_total_without_an_opinion_is_refused_naming_file_row_expert_application(site, tmp_path, capsys):
    url, st, seats = site
    app, experts = panel_of(seats)
    ok = [sheet(tmp_path, seats, e, 0.8, only=app)[0] for e in experts[:3]]
    code, out = imp(url, ok, capsys)
    assert code == 0, out                                 # three totals of 80: no outlier, no opinion needed
    low, row = sheet(tmp_path, seats, experts[3], 0.5, only=app)   # 50: 30 points below the median
    code, out = imp(url, [low], capsys)
    assert code == 2 and "缺少评审意见，未保存任何评分" in out
    assert low.name in out and f"第 {row} 行" in out and experts[3] in out and app in out
    assert "中位数 80" in out and "须填写评审意见" in out
    with st.read() as s:
        assert experts[3] not in set(repo.scores_frame(s, repo.get_round(s, "2026"), STAGE)["expert_id"])
    low, _ = sheet(tmp_path, seats, experts[3], 0.5, "核心技术依赖外部授权，自主创新不足，故打分偏低。", only=app)
    code, out = imp(url, [low], capsys)
    assert code == 0, out
    # a total that was fine when stored but is an outlier once later scores arrive is listed for follow-up
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert opinions.required_missing(s, r, STAGE).empty
        with pytest.raises(UserError, match="缺少评审意见"):
            opinions.submit_scores_with_opinions(
                s, r, pd.DataFrame([{"stage": STAGE, "application_id": app, "expert_id": experts[4], "criterion": c.id,
                                     "family": POL.for_stage(STAGE).rubric.family_of(c.id), "score": 0.0, "confidence": None,
                                     "void": False} for c in POL.for_stage(STAGE).rubric.criteria]), None, user="张三", source="t")


def test_the_chairs_consensus_opinion_with_recorded_dissent(site, capsys):
    url, st, seats = site
    app, experts = panel_of(seats)
    args = ["scores", "opinion", "--round", "2026", "--db", url, "--stage", STAGE, "--application", app]
    code, out = run_cli(args + ["--text", "同意推荐。", "--dissent", "NOBODY=不同意"], capsys)
    assert code == 2 and "NOBODY" in out and "hold no active seat" in out
    code, out = run_cli(args + ["--text", "  "], capsys)
    assert code == 2 and "不能为空" in out
    code, out = run_cli(args + ["--text", "同意推荐。", "--dissent", f"{experts[1]}=产业化前景不明，不同意推荐。"], capsys)
    assert code == 0 and "1 条不同意见" in out, out
    code, out = run_cli(args + ["--text", "经讨论，同意推荐。", "--dissent", f"{experts[1]}=保留意见。",
                                "--dissent", f"{experts[2]}=资金安排不足。"], capsys)
    assert code == 0
    with st.read() as s:
        df = opinions.panel_opinions_frame(s, repo.get_round(s, "2026"), STAGE)
    chair = seats[(seats["application_id"] == app) & (seats["role"].isin(["chair", "组长"]))]["expert_id"].iloc[0]
    assert df.values.tolist()[0][:5] == [STAGE, app, chair, "经讨论，同意推荐。",
                                         f"{experts[1]}：保留意见。；{experts[2]}：资金安排不足。"]
    assert len(df) == 1                                   # the earlier record is kept but void


def test_opinions_are_in_the_audit_chain_and_an_edit_with_sql_is_caught(site, tmp_path, capsys):
    url, st, seats = site
    app, experts = panel_of(seats)
    imp(url, [sheet(tmp_path, seats, experts[0], 0.8, "原始意见。", only=app)[0]], capsys)
    run_cli(["scores", "opinion", "--round", "2026", "--db", url, "--stage", STAGE, "--application", app,
             "--text", "同意。", "--dissent", f"{experts[1]}=不同意。"], capsys)
    with st.read() as s:
        v = audit.verify(s)
        assert v.ok, [str(p) for p in v.problems]
        assert {e.action for e in s.execute(text("SELECT action FROM audit_log")).all()} >= {"opinions",
                                                                                              "panel_opinion"}
    with st.engine.begin() as c:
        c.execute(text("UPDATE opinions SET text = '篡改后的意见。'"))
        c.execute(text("UPDATE panel_opinions SET dissent = '[]'"))
    with st.read() as s:
        v = audit.verify(s)
    found = " ".join(str(p) for p in v.problems)
    assert not v.ok and "opinions #1" in found and "panel_opinions #1" in found


def test_the_apps_score_upload_keeps_the_opinion_and_refuses_an_outlier_without_one(site, tmp_path, monkeypatch):
    url, st, seats = site
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    app_store._STORES.clear()
    try:
        app, experts = panel_of(seats)
        files = [(p.name, p.read_bytes()) for p in (sheet(tmp_path, seats, e, 0.8, only=app)[0] for e in experts[:3])]
        n, issues = svc_scores.import_scores("2026", files, "张三")
        assert n > 0 and issues.empty, issues
        low, row = sheet(tmp_path, seats, experts[3], 0.4, only=app)
        with pytest.raises(UserError, match=f"(?s)缺少评审意见.*第 {row} 行.*{experts[3]}.*{app}"):
            svc_scores.import_scores("2026", [(low.name, low.read_bytes())], "张三")
        low, _ = sheet(tmp_path, seats, experts[3], 0.4, "申报材料与现场情况不符。", only=app)
        svc_scores.import_scores("2026", [(low.name, low.read_bytes())], "张三")
        got = svc_scores.opinions("2026", STAGE)["opinions"]
        assert got.set_index("expert_id").loc[experts[3], "opinion"] == "申报材料与现场情况不符。"
        svc_scores.record_panel_opinion("2026", STAGE, app, "同意。", f"{experts[3]}：不同意推荐。", "张三")
        assert svc_scores.opinions("2026", STAGE)["panels"]["dissent"].tolist() == [f"{experts[3]}：不同意推荐。"]
        with pytest.raises(UserError, match="dissent line 1"):
            svc_scores.record_panel_opinion("2026", STAGE, app, "同意。", "没有冒号", "张三")
    finally:
        app_store._STORES.clear()


def test_required_missing_without_any_outlier_is_an_empty_table_not_a_crash(site, tmp_path, capsys):
    """The 评分 page crashed with KeyError 'stage' when no stored total was an outlier (no scores yet, or
    every panel in agreement): the empty outlier table lost its columns when filtered."""
    url, st, seats = site
    with st.read() as s:
        r = repo.get_round(s, "2026")
        for stage in (None, STAGE):
            got = opinions.required_missing(s, r, stage)
            assert got.empty and {"stage", "application_id", "expert_id"} <= set(got.columns)
    app, experts = panel_of(seats)
    code, out = imp(url, [sheet(tmp_path, seats, e, 0.8, only=app)[0] for e in experts[:3]], capsys)
    assert code == 0, out                                  # three equal totals: no outlier
    with st.read() as s:
        got = opinions.required_missing(s, repo.get_round(s, "2026"), STAGE)
        assert got.empty and "expert_id" in got.columns
