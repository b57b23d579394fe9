"""The command line on the bundled demo data and on bad input: clear lines, right exit codes."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reviewer.cli.main import main

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_screen_demo_prints_summary_and_reasons(tmp_path, capsys):
    code, out, err = run(["screen", str(DEMO / "applications.xlsx"), "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "40 applications" in out and "不通过 fail" in out
    assert "GX2026-036" in out and "E4" in out  # no valid invention patent
    summary = pd.read_csv(tmp_path / "screening_summary.csv")
    assert len(summary) == 40
    failed = summary[summary["outcome"] == "fail"]
    assert len(failed) >= 8 and failed["reasons"].str.len().gt(0).all()
    assert (tmp_path / "screening_checks.xlsx").exists() and (tmp_path / "run_screening.json").exists()


def test_conflicts_demo(tmp_path, capsys):
    code, out, err = run(["conflicts", str(DEMO), "--out", str(tmp_path)], capsys)
    assert code == 0, err
    t = pd.read_csv(tmp_path / "conflicts.csv")
    assert {"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C9"} <= set(t["rule"])
    assert t["evidence"].str.len().gt(0).all()


def test_bad_rows_exit_1_unless_allow_partial(tmp_path, capsys):
    df = pd.read_excel(DEMO / "applications.xlsx", dtype=object)
    df.loc[3, "近三年销售收入_第1年"] = "很多"
    df.loc[5, "牵头单位统一社会信用代码"] = "123"
    f = tmp_path / "applications.xlsx"
    df.to_excel(f, index=False, sheet_name="申报书")
    for name in ("members", "platforms"):
        (tmp_path / f"{name}.xlsx").write_bytes((DEMO / f"{name}.xlsx").read_bytes())
    code, out, _ = run(["screen", str(f), "--out", str(tmp_path / "o")], capsys)
    assert code == 1
    assert "row 5, column 近三年销售收入_第1年: value '很多'" in out
    assert "row 7, column 牵头单位统一社会信用代码: value '123'" in out
    assert "38 applications" in out
    code, _, _ = run(["screen", str(f), "--out", str(tmp_path / "o"), "--allow-partial"], capsys)
    assert code == 0


def test_user_errors_are_one_line_without_traceback(tmp_path):
    bad_policy = tmp_path / "p.toml"
    bad_policy.write_text((Path(__file__).resolve().parent.parent / "reviewer" / "data" / "policy.toml").read_text(encoding="utf-8")
                          .replace("min_rd_ratio_percent = 2.0", "min_rd_ratio_percent = -2"), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "reviewer.cli.main", "screen", str(DEMO / "applications.xlsx"),
                        "--policy", str(bad_policy), "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "min_rd_ratio_percent" in r.stderr
    r = subprocess.run([sys.executable, "-m", "reviewer.cli.main", "screen", str(tmp_path / "nope.xlsx")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_assign_writes_panels_and_explains_infeasibility(tmp_path, capsys):
    code, out, err = run(["assign", str(DEMO), "--stage", "认定评审", "--out", str(tmp_path), "--time-limit", "20"], capsys)
    assert code == 0, err + out
    panels = pd.read_csv(tmp_path / "panels.csv")
    assert set(panels["stage"]) == {"认定评审"}
    assert panels.groupby("application_id").size().eq(7).all()
    # Remove every 金融 expert: no plan, and the reason names the category.
    experts = pd.read_excel(DEMO / "experts.xlsx", dtype=object)
    experts = experts[experts["专家类别"] != "金融"]
    d = tmp_path / "nofin"
    d.mkdir()
    experts.to_excel(d / "experts.xlsx", index=False, sheet_name="专家库")
    for name in ("applications", "members", "platforms", "expert_history", "declared_conflicts"):
        (d / f"{name}.xlsx").write_bytes((DEMO / f"{name}.xlsx").read_bytes())
    code, out, _ = run(["assign", str(d), "--stage", "初审评估", "--out", str(tmp_path / "o2"), "--allow-partial"], capsys)
    assert code == 1
    assert "金融" in out and "NO PLAN" in out


def test_templates(tmp_path, capsys):
    code, out, _ = run(["templates", str(tmp_path / "t.xlsx")], capsys)
    assert code == 0 and (tmp_path / "t.xlsx").exists()


def test_demo_end_to_end(tmp_path, capsys):
    code, out, err = run(["demo", "--out", str(tmp_path)], capsys)
    assert code in (0, None), err
    for stem in ("screening_summary", "conflicts", "panels", "expert_load", "aggregated_scores", "recognition_ranking"):
        assert (tmp_path / f"{stem}.csv").exists() and (tmp_path / f"{stem}.xlsx").exists(), stem
    panels = pd.read_csv(tmp_path / "panels.csv")
    assert set(panels["stage"]) == {"初审评估", "现场考察", "认定评审"}
    ranking = pd.read_csv(tmp_path / "recognition_ranking.csv")
    rec = ranking[ranking["decision"] == "recommend"]
    assert len(rec) >= 1 and not rec["field"].duplicated().any()   # one centre per field
    assert (rec["score"] >= 75).all() and (rec["B"] >= 15).all()
    inel = ranking[ranking["decision"] == "ineligible"]
    assert len(inel) == 9 and inel["reason_zh"].str.contains("形式审查未通过").all()
    review = ranking[ranking["decision"] == "needs_review"]          # undecided: 待复核, never 未通过 (issue 17)
    assert len(review) == 2 and (review["decision_zh"] == "待复核").all()
    assert not review["reason_zh"].str.contains("未通过").any()
    taken = ranking[ranking["decision"] == "field_has_centre"]      # the register occupies these fields
    assert {"汽车", "机械", "高端有色金属新材料"} <= set(taken["field"]) and taken["reason_zh"].str.contains("中心名录").all()
    assert not set(rec["field"]) & {"汽车", "机械", "高端有色金属新材料"}
    # stages that gate: 初审 → 现场考察 (one planted veto) → 认定评审, counts per stage in the summary
    import json
    stages = json.loads((tmp_path / "run_demo.json").read_text(encoding="utf-8"))["stages"]
    assert [g["stage"] for g in stages] == ["初审评估", "现场考察", "认定评审"]
    assert stages[0]["in"] == 29 and stages[1]["vetoed"] == 1 and stages[2]["in"] == stages[1]["advanced"]
    out_at = ranking[ranking["decision"] == "stage_out"]
    assert len(out_at) == 29 - stages[2]["in"] and out_at["reason_zh"].str.contains("一票否决").sum() == 1
    # stage by stage: 现场考察 planned only for what advanced from 初审, 认定评审 only for what passed the visit
    assert "== 各阶段 Per stage: 初审评估 29 → 现场考察 29 → 认定评审 28 → 建议认定 recommended" in out
    assert set(panels.loc[panels["stage"] == "认定评审", "application_id"]) == set(
        panels.loc[panels["stage"] == "现场考察", "application_id"]) - set(out_at["application_id"])
    assert "评分 scored with 核查表 checklist" in out
    ledger = pd.read_csv(tmp_path / "subsidy_ledger.csv")
    assert not ledger[ledger["status"] == "granted"].duplicated(["centre_id", "kind"]).any()
    assert len(list((tmp_path / "score_sheets" / "认定评审").glob("*.xlsx"))) == panels.loc[
        panels["stage"] == "认定评审", "expert_id"].nunique()
    assert "建议认定 recommended" in out


def test_repair_changes_only_the_declined_seat(tmp_path, capsys):
    code, out, err = run(["assign", str(DEMO), "--stage", "认定评审", "--out", str(tmp_path), "--time-limit", "20"], capsys)
    assert code == 0, err
    panels = pd.read_csv(tmp_path / "panels.csv")
    seat = panels[panels["role"] == "member"].iloc[0]
    code, out, err = run(["repair", str(DEMO), "--panels", str(tmp_path / "panels.csv"), "--decline",
                          f"认定评审,{seat['expert_id']},{seat['application_id']}", "--out", str(tmp_path / "r")], capsys)
    assert code in (0, None), err
    assert "1 seat(s) changed" in out
    after = pd.read_csv(tmp_path / "r" / "panels_repaired.csv")
    key = ["stage", "application_id", "expert_id"]
    kept = panels.merge(after, on=key)
    assert len(kept) == len(panels) - 1
    alts = pd.read_csv(tmp_path / "r" / "alternates.csv")
    assert set(alts["application_id"]) == set(panels["application_id"])
