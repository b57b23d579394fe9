"""The analysts' commands on a stored round (issue 18): `reviewer whatif` (recorded analyst run,
changed decisions with reasons, one-page comparison, reproducible, the recorded ranking untouched),
`reviewer bias --round` and `reviewer validity` from the store."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.store import repo
from reviewer.store.evaluations import record_evaluation
from reviewer.store.models import RankingRow, Run
from reviewer.store.runs import run_aggregation
from tests.test_store_support import DEMO, demo_store, run_cli

STAGES = ("现场考察", "认定评审")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The demo round stored with its demo panels published and the demo scores of both stages."""
    from reviewer.cli.publication import read_panels
    path = tmp_path_factory.mktemp("analytics") / "reviewer.sqlite"
    url = f"sqlite:///{path}"
    st = demo_store(url)
    raw = pd.read_csv(DEMO / "scores.csv", dtype=str)
    scores = pd.DataFrame({"stage": raw["阶段"], "application_id": raw["申报编号"], "expert_id": raw["专家编号"],
                           "criterion": raw["评分项"], "family": raw["评分项"].str[0],
                           "score": pd.to_numeric(raw["得分"]), "confidence": None, "void": False})
    scores = scores.dropna(subset=["score"])
    panels = read_panels(DEMO / "demo_panels.csv")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        for stage in STAGES:
            repo.publish(s, r, stage, panels, user="张三", source="demo_panels.csv")
            repo.submit_scores(s, r, scores[scores["stage"] == stage], user="秘书", source="scores.csv")
    return url, st


def _rankings(st) -> list[tuple]:
    with st.read() as s:
        return sorted((x.run_id, x.application_id, x.score, x.rank) for x in s.execute(select(RankingRow)).scalars())


def test_whatif_trimmed_to_calibrated_lists_changed_decisions_with_reasons(scored, tmp_path, capsys):
    url, st = scored
    run_aggregation(st, "2026", "认定评审", user="张三", resamples=50)
    before = _rankings(st)
    out = tmp_path / "对比.xlsx"
    # 认定评审 (现场考察 is scored with the verification checklist since stages17b)
    code, text = run_cli(["whatif", "--round", "2026", "--stage", "认定评审", "--method", "calibrated",
                          "--resamples", "100", "--out", str(out), "--db", url, "--user", "分析员"], capsys)
    assert code == 0, text
    assert "汇总方法 trimmed→calibrated" in text and "记录的排名不变" in text
    assert "结论变化 changed decisions: 2" in text
    assert "GX2026-012" in text and "不予推荐→列入培育名单" in text and "得分 70.1 在培育区间 [70, 75)" in text
    # the recorded ranking is untouched; the what-if is an analyst run of its own
    assert _rankings(st) == before
    with st.read() as s:
        run = s.execute(select(Run).where(Run.kind == "whatif")).scalars().all()[-1]
        assert run.created_by == "分析员" and run.parameters["scenario"] == {"method": "calibrated"}
        assert run.summary["changed"][0]["application_id"] == "GX2026-012"
        assert len(run.parameters["score_ids"]) > 0 and run.result_sha256
    page = pd.read_excel(out, sheet_name=None)
    assert list(page) == ["方案对比", "参数"]
    top = page["方案对比"].iloc[0]
    assert top["申报编号"] == "GX2026-012" and top["结论变化"] == "是" and "列入培育名单" in top["变化原因"]
    assert {"现行排名区间下限", "方案排名区间上限"} <= set(page["方案对比"].columns)
    # reproducible from the store
    code, text = run_cli(["whatif", "--reproduce", str(run.id), "--db", url], capsys)
    assert code == 0 and "IDENTICAL" in text, text


def test_whatif_thresholds_field_rule_and_budget(scored, capsys):
    url, _ = scored
    code, text = run_cli(["whatif", "--round", "2026", "--recommend-min", "78", "--no-one-per-field",
                          "--budget", "6000000", "--resamples", "50", "--db", url, "--user", "分析员"], capsys)
    assert code == 0, text
    assert "推荐线 75→78" in text and "一领域一中心 开→关" in text and "总预算(元) 0→6e+06" in text
    # 认定评审 (demo data of stages17b): GX2026-005 (76.94) is below the raised line of 78
    assert "GX2026-005" in text and "推荐认定→列入培育名单" in text and "在培育区间 [70, 78)" in text


def test_whatif_mistakes_are_one_line(scored, capsys):
    url, _ = scored
    for args, msg in ((["--method", "best"], "--method 'best'"), (["--family-min", "Z=3"], "family 'Z'"),
                      (["--family-min", "B15"], "expected FAMILY=POINTS"), (["--stage", "初赛"], "--stage '初赛'"),
                      (["--recommend-min", "120"], "between 0 and 100"), (["--out", "x.csv"], "expected an .xlsx")):
        code, text = run_cli(["whatif", "--round", "2026", *args, "--db", url, "--user", "分析员"], capsys)
        assert code == 2 and msg in text and "Traceback" not in text, (args, text)


def test_bias_audit_of_the_stored_round_finds_same_city(scored, tmp_path, capsys):
    url, _ = scored
    code, text = run_cli(["bias", "--round", "2026", "--permutations", "999", "--out", str(tmp_path), "--db", url],
                         capsys)
    assert code == 0, text
    line = next(x for x in text.splitlines() if x.startswith("C9 "))
    assert "13 份评分" in line and "标记 flagged" in line    # the stored 现场考察 and 认定评审 seats
    assert "member_city" in text and "不自动扣分" in text
    sheets = pd.read_excel(tmp_path / "bias_audit.xlsx", sheet_name=None)
    assert list(sheets) == ["关系效应", "专家个人效应", "评分偏离", "方法说明"]


def test_validity_from_the_store_links_scores_and_evaluations(scored, capsys):
    url, st = scored
    code, text = run_cli(["validity", "--db", url], capsys)
    assert code == 2 and "no annual evaluations" in text
    # the 2026 round's recognised applications evaluated later (a synthetic outcome: their score + noise)
    with st.read() as s:
        sc = repo.scores_frame(s, repo.get_round(s, "2026"), "认定评审")
    tot = sc.groupby(["application_id", "expert_id"])["score"].sum().groupby("application_id").mean()
    with st.write() as s:
        for i, (app, t) in enumerate(sorted(tot.items())):
            record_evaluation(s, app, 2027, user="张三", total=round(float(t) + (i % 5 - 2) * 1.5, 1), band="良好")
    code, text = run_cli(["validity", "--db", url, "--resamples", "200"], capsys)
    assert code == 0, text
    assert f"{len(tot)} 个中心" in text
    rho = float(re.search(r"方法 trimmed: Spearman rho = ([-+.0-9]+), 95% bootstrap \[([-+.0-9]+)", text).group(2))
    assert rho > 0.5          # the lower end of the interval: the outcome was made from the scores
