"""Issue 11: importing score sheets into a stored round. A sheet that comes back blank (the expert
has not scored yet) is named, never silently stored as 0 rows; when nothing at all was filled
the import fails (exit 1) and stores nothing."""
from __future__ import annotations

import random

import pandas as pd

from reviewer.policy import load_policy
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.store import keys, repo
from tests.factories import fill_score_sheet
from tests.test_store_support import DEMO, demo_store, run_cli

POL = load_policy()
STAGE = "现场考察"


def published_site_round(tmp_path):
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    st = demo_store(url)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    site = panels[panels["stage"] == STAGE]
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), STAGE, site, user="张三", source="demo_panels.csv")
    return url, st, site


def sheets_of(tmp_path, site, experts):
    paths = []
    for e in experts:
        apps = pd.DataFrame({"application_id": sorted(site.loc[site["expert_id"] == e, "application_id"]),
                             "name": "中心", "field": "汽车"})
        paths.append(write_score_sheet(tmp_path / f"评分表_{e}_{STAGE}.xlsx", POL, e, f"专家{e}", STAGE, apps,
                                       sheet_key=keys.round_sheet_key("2026"), round_code="2026"))
    return paths


def test_blank_sheets_are_named_and_filled_ones_stored(tmp_path, capsys):
    url, st, site = published_site_round(tmp_path)
    experts = sorted(site["expert_id"].unique())[:3]
    paths = sheets_of(tmp_path, site, experts)
    filled = fill_score_sheet(paths[0], random.Random(3), POL.for_stage(STAGE))
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", url, *map(str, paths)], capsys)
    assert code == 0, out
    assert "2 张评分表未填写" in out and experts[1] in out and experts[2] in out, out
    assert f"stored {filled * len(POL.for_stage(STAGE).rubric.criteria)} score rows" in out
    with st.read() as s:
        stored = repo.scores_frame(s, repo.get_round(s, "2026"), STAGE)
    assert set(stored["expert_id"]) == {experts[0]}


def test_only_blank_sheets_fail_and_store_nothing(tmp_path, capsys):
    url, st, site = published_site_round(tmp_path)
    paths = sheets_of(tmp_path, site, sorted(site["expert_id"].unique())[:2])
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", url, *map(str, paths)], capsys)
    assert code == 1, out
    assert "2 张评分表未填写" in out and "stored 0" not in out
    with st.read() as s:
        assert repo.scores_frame(s, repo.get_round(s, "2026"), STAGE).empty


def test_a_table_whose_every_row_is_rejected_names_the_rows(tmp_path, capsys):
    """Found by the stateful test: a long table with a 阶段 column whose rows are all out of range was
    reported as "no 阶段 column; pass --stage" (exit 2); it names the rejected rows (exit 1)."""
    url, st, site = published_site_round(tmp_path)
    x = site.iloc[0]
    path = tmp_path / "too_high.csv"
    pd.DataFrame([(STAGE, x["application_id"], x["expert_id"], c.id, c.max + 1) for c in POL.for_stage(STAGE).rubric.criteria],
                 columns=["阶段", "申报编号", "专家编号", "评分项", "得分"]).to_csv(path, index=False)
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", url, str(path)], capsys)
    assert code == 1, out
    assert "pass --stage" not in out and "row 2" in out and "nothing imported" in out
