import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from reviewer.cli.scoring import register
from reviewer.scoring.scoretable import SCORE_COLUMNS, map_headers
from reviewer.policy import load_policy

POL = load_policy()


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()

    @a.callback()
    def _cb() -> None:
        pass

    register(a)
    return a


def run(app, *args):
    return CliRunner().invoke(app, [str(x) for x in args])


def write_scores(path, rows, header=("专家编号", "申报编号", "得分")):
    pd.DataFrame(rows, columns=list(header)).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_headers_chinese_english_and_combined():
    m, _ = map_headers(["专家编号", "Application_ID", "得分 score", "阶段", "x"], SCORE_COLUMNS)
    assert m == {"专家编号": "expert_id", "Application_ID": "application_id", "得分 score": "score", "阶段": "panel"}


def test_aggregate_trimmed_csv_out_with_bad_rows(app, tmp_path):
    rows = [("E1", "A1", 80), ("E2", "A1", 85), ("E3", "A1", "abc"), ("E4", "A1", 90), ("E5", "A1", 70),
            ("E6", "A1", 88), ("E1", "A2", 60), ("E2", "A2", ""), ("E3", "A2", 75), ("", "A2", 75), ("E4", "A2", 77)]
    f = write_scores(tmp_path / "s.csv", rows)
    out = tmp_path / "agg.csv"
    r = run(app, "aggregate", f, "--out", out, "--resamples", 50)
    assert r.exit_code == 1, r.output  # rows rejected -> 1, output still written
    assert "row 4, column '得分' (score): value 'abc'; expected a number" in r.stderr
    assert "row 11, column '专家编号' (expert_id): empty" in r.stderr
    assert "Traceback" not in r.output
    res = pd.read_csv(out, encoding="utf-8-sig").set_index("application_id")
    assert res.loc["A1", "score"] == 84.33 and res.loc["A1", "n_scores"] == 5 and res.loc["A1", "rank"] == 1
    assert res.loc["A2", "score"] == 75 and res.loc["A2", "n_absent"] == 1 and res.loc["A2", "rule"].startswith("median")
    assert res.ci_low.notna().all() and "bootstrap" in res.interval.iloc[0]
    rec = json.loads((tmp_path / "agg.csv.run.json").read_text(encoding="utf-8"))
    assert rec["parameters"]["method"] == "trimmed" and rec["inputs"][0]["sha256"]
    r = run(app, "aggregate", f, "--out", out, "--allow-partial", "--no-interval")
    assert r.exit_code == 0


@pytest.mark.parametrize("method", ["median", "mean", "winsorized", "huber", "calibrated", "bayes"])
def test_aggregate_every_method_english_xlsx(app, tmp_path, method):
    rng = np.random.default_rng(0)
    rows = [(f"E{e}", f"A{a}", float(rng.integers(60, 95)), "P1") for a in range(6) for e in range(5)]
    f = tmp_path / "s.xlsx"
    pd.DataFrame(rows, columns=["expert_id", "application_id", "score", "panel"]).to_excel(f, index=False)
    out = tmp_path / "o.xlsx"
    args = ["aggregate", f, "--method", method, "--out", out, "--resamples", 30]
    if method == "bayes":
        args += ["--slots", 2]
    r = run(app, *args)
    assert r.exit_code == 0, r.output
    res = pd.read_excel(out)
    assert len(res) == 6 and set(res.method) == {method}
    assert {"score", "rank", "n_scores", "ci_low", "ci_high"} <= set(res.columns)


def test_aggregate_trim_and_round_options(app, tmp_path):
    rows = [(f"E{e}", "A1", s) for e, s in enumerate([10, 20, 84.12, 84.13, 90, 99, 100])]
    f = write_scores(tmp_path / "s.csv", rows, header=("expert_id", "application_id", "score"))
    r = run(app, "aggregate", f, "--trim", 2, "--round", 1, "--no-interval")
    assert r.exit_code == 0, r.output
    res = pd.read_csv(__import__("io").StringIO(r.stdout))
    # drop 10, 20 and 99, 100 -> mean(84.12, 84.13, 90) = 86.0833 -> 86.1
    assert res.score.iloc[0] == 86.1


def test_aggregate_criteria_give_family_subtotals_then_rank(app, tmp_path):
    crit = POL.rubric.criteria
    rows = []
    for a, level in (("A1", 0.9), ("A2", 0.8), ("A3", 0.6)):
        for e in range(5):
            for c in crit:
                rows.append((f"E{e}", a, c.id, round(c.max * level, 1), "汽车" if a != "A3" else "机械"))
    f = tmp_path / "s.csv"
    pd.DataFrame(rows, columns=["专家编号", "申报编号", "评分项", "得分", "领域"]).to_csv(f, index=False)
    agg = tmp_path / "agg.csv"
    r = run(app, "aggregate", f, "--out", agg, "--resamples", 20)
    assert r.exit_code == 0, r.output
    res = pd.read_csv(agg).set_index("application_id")
    assert {"A", "B", "E", "field", "p_first_in_field"} <= set(res.columns)
    assert res.loc["A1", "B"] == pytest.approx(0.9 * 25, abs=0.1)
    out = tmp_path / "rank.xlsx"
    r = run(app, "rank", agg, "--out", out)
    assert r.exit_code == 0, r.output
    rk = pd.read_excel(out).set_index("application_id")
    assert rk.loc["A1", "decision"] == "recommend"
    assert rk.loc["A2", "decision"] == "cultivation"   # passes, but A1 took 汽车
    assert rk.loc["A3", "decision"] == "not_recommended"
    assert rk.loc["A1", "subsidy"] == POL.funding.new_centre_subsidy_cap


def test_aggregate_criterion_over_max_rejected(app, tmp_path):
    rows = [("E1", "A1", "B2", 12), ("E1", "A1", "B1", 5)]
    f = tmp_path / "s.csv"
    pd.DataFrame(rows, columns=["expert_id", "application_id", "criterion", "score"]).to_csv(f, index=False)
    r = run(app, "aggregate", f, "--no-interval")
    assert r.exit_code == 1 and "expected 0..9 for criterion B2" in r.stderr


def test_aggregate_fatal_errors_exit_2_without_traceback(app, tmp_path):
    r = run(app, "aggregate", tmp_path / "missing.csv")
    assert r.exit_code == 2 and "file not found" in r.stderr
    f = tmp_path / "s.csv"
    pd.DataFrame({"who": ["a"], "what": ["b"]}).to_csv(f, index=False)
    r = run(app, "aggregate", f)
    assert r.exit_code == 2 and "missing column" in r.stderr and "专家编号/expert_id" in r.stderr
    f2 = write_scores(tmp_path / "ok.csv", [("E1", "A1", 80)])
    r = run(app, "aggregate", f2, "--method", "best")
    assert r.exit_code == 2 and "expected one of" in r.stderr
    r = run(app, "aggregate", f2, "--out", tmp_path / "x.pdf", "--no-interval")
    assert r.exit_code == 2 and ".pdf" in r.stderr
    r = run(app, "aggregate", f2, "--method", "median", "--trim", "1")
    assert r.exit_code == 2 and "--trim" in r.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    r = run(app, "aggregate", bad)
    assert r.exit_code == 2 and "cannot read" in r.stderr


def test_rank_chinese_headers_bad_rows_kept_out(app, tmp_path):
    df = pd.DataFrame({"申报编号": ["A1", "A2", "A3", "A4"], "总分": [88, "x", 72, 90], "领域": ["汽车", "机械", "机械", "电子信息"],
                       "核心定位": [20, 20, 18, 20], "产业化": [10, 10, 10, 10], "形式审查": ["是", "是", "是", "否"]})
    f = tmp_path / "agg.csv"
    df.to_csv(f, index=False)
    r = run(app, "rank", f)
    assert r.exit_code == 1
    assert "row 3, column '总分' (score): value 'x'; expected a number" in r.stderr
    out = pd.read_csv(__import__("io").StringIO(r.stdout)).set_index("application_id")
    assert "A2" not in out.index
    assert out.loc["A1", "decision_zh"] == "推荐认定" and out.loc["A4", "decision_zh"] == "形式审查未通过"
    assert out.loc["A3", "decision_zh"] == "列入培育名单"
    r = run(app, "rank", f, "--budget", 1000, "--allow-partial")
    assert r.exit_code == 0
    r = run(app, "rank", f, "--budget", -5)
    assert r.exit_code == 2 and "budget" in r.stderr


def test_aggregate_panel_filter_and_fields_file(app, tmp_path):
    rows = [(f"E{e}", a, 70 + i + e, stage) for i, a in enumerate(["A1", "A2"]) for e in range(5)
            for stage in ("初审评估", "认定评审")]
    f = tmp_path / "s.csv"
    pd.DataFrame(rows, columns=["专家编号", "申报编号", "得分", "阶段"]).to_csv(f, index=False)
    fields = tmp_path / "apps.xlsx"
    pd.DataFrame({"申报编号": ["A1", "A2"], "领域": ["汽车", "汽车"], "名称": ["x", "y"]}).to_excel(fields, index=False)
    r = run(app, "aggregate", f, "--panel", "认定评审", "--fields", fields, "--resamples", 20)
    assert r.exit_code == 0, r.output
    res = pd.read_csv(__import__("io").StringIO(r.stdout))
    assert set(res.panel) == {"认定评审"} and len(res) == 2
    assert set(res.field) == {"汽车"} and res.p_first_in_field.sum() == pytest.approx(1.0)
    r = run(app, "aggregate", f, "--panel", "现场考察")
    assert r.exit_code == 2 and "expected one of" in r.stderr
