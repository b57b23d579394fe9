"""The README's store walkthrough, run exactly as written in a fresh home: every command line of the
"Store, audit and packs" block, from `round create` through `packs`, `scores import`, `scores correct`,
`run aggregate` to `reproduce` and `audit verify`. The lines are read from README.md itself, so the
README and the program cannot drift apart.

Between `packs` and `scores import` the test does what the README says the experts do: it fills the
packs' score sheets (plausible scores within the rubric). One expert returns a blank sheet and two
experts leave one application unscored, so the ranking must list that application as 评分不足 with
both of them named, and every other application that passed 形式审查 must be ranked."""
from __future__ import annotations

import glob
import random
import shlex
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from reviewer.cli.main import main
from reviewer.resources import DEMO_DIR
from reviewer.scoring.quorum import STATUS_INSUFFICIENT
from reviewer.screening.eligibility import screen
from reviewer.store import Store, repo
from reviewer.store.models import RankingRow, Run
from tests.factories import fill_score_sheet

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
STAGE = "现场考察"
CORRECTED = ("GX2026-003", "ZJ0284")        # the README's `scores correct` line: that score must exist


def walkthrough_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("reviewer round create 2026 --as-of 2026-11-01            #")
    block = text[start:text.index("```", start)]
    commands = []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if not line.startswith("reviewer "):
            continue
        for part in line.split(" | "):            # `a | b` in the README means: a, then b
            args = shlex.split(part.replace("reviewer/data/demo/", f"{DEMO_DIR}/"))[1:]
            commands.append(args)
    return commands


def shell_glob(args: list[str]) -> list[str]:
    """What the shell does to `packs/*/*/评分表_*.xlsx`: the matching files, sorted."""
    out = []
    for a in args:
        out += sorted(glob.glob(a)) or [a] if "*" in a else [a]
    return out


def experts_return_their_sheets(store: Store, packs: Path) -> tuple[str, list[str], set[str]]:
    """Fill every score sheet of the packs as its expert would; returns (the application two of its
    experts left unscored, those two experts, the experts whose sheets came back blank: the one who
    scored nothing, and a skipper whose only task was that application)."""
    with store.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    target = sorted(set(seats["application_id"]) - {CORRECTED[0]})[0]
    skippers = sorted(seats.loc[seats["application_id"] == target, "expert_id"])[:2]
    apps_of = seats.groupby("expert_id")["application_id"].agg(set)
    blank = next(e for e, apps in sorted(apps_of.items()) if not apps & {target, CORRECTED[0]})
    rng = random.Random(2026)
    sheets = sorted(packs.glob("*/*/评分表_*.xlsx"))
    assert len(sheets) == seats["expert_id"].nunique()
    for sheet in sheets:
        expert = sheet.name.split("_")[1]
        if expert != blank:
            fill_score_sheet(sheet, rng, skip=(target,) if expert in skippers else ())
    return target, skippers, {blank} | {e for e in skippers if apps_of[e] == {target}}


def test_the_walkthrough_lines_are_literal_commands():
    cmds = walkthrough_commands()
    firsts = [c[0] for c in cmds]
    assert firsts[:2] == ["round", "import"] and firsts[-1] == "audit"
    heads = [c[:2] for c in cmds]
    assert heads.index(["packs", "--round"]) < heads.index(["scores", "import"]) < heads.index(["run", "aggregate"])
    assert not any("|" in a or a.startswith("[") for c in cmds for a in c)   # nothing left to interpret


def run_line(args: list[str], capsys) -> str:
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    assert code == 0, f"reviewer {' '.join(args)} exited {code}:\n{out.out[-1500:]}\n{out.err[-1500:]}"
    return out.out


def test_the_store_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REVIEWER_USER", "张三")
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'home' / 'reviewer.sqlite'}")
    outputs = {}
    for args in walkthrough_commands():
        out = run_line(shell_glob(args), capsys)
        outputs[" ".join(args[:2])] = out
        if args[0] == "packs":
            target, skippers, blank = experts_return_their_sheets(store, tmp_path / "packs")
        if args[0] == "reproduce":
            assert "IDENTICAL" in out
        if args[:2] == ["audit", "verify"]:
            assert "OK" in out.upper() or "完好" in out
    assert (tmp_path / "packs" / f"专家通知_2026_{STAGE}.zip").exists()
    assert f"{len(blank)} 张评分表未填写" in outputs["scores import"]
    assert all(f"{e} (评分表_{e}_{STAGE}.xlsx)" in outputs["scores import"] for e in blank)
    assert f"{target}: 评分不足" in outputs["run aggregate"]
    assert all(e in outputs["run aggregate"] for e in skippers)
    with store.read() as s:
        r = repo.get_round(s, "2026")     # 形式审查 with the staff's decisions in force (the README decides one)
        passed = set(screen(repo.load_data(s, repo.latest_import(s, r).id), repo.round_policy(r),
                            repo.review_overrides(s, r)).eligible_ids())
        ranking_run = s.execute(select(Run).where(Run.kind == "aggregation")).scalars().one()
        ranking = {x.application_id: x for x in s.execute(
            select(RankingRow).where(RankingRow.run_id == ranking_run.id)).scalars()}
    assert set(ranking) == passed
    for app, x in ranking.items():
        if x.rank is None:
            assert x.data["status"] == STATUS_INSUFFICIENT and x.data["missing_experts"], app
    assert ranking[target].rank is None and set(ranking[target].data["missing_experts"].split(";")) == set(skippers)
    assert sum(x.rank is not None for x in ranking.values()) == len(passed) - 1
    book = load_workbook(tmp_path / "排名" / "aggregated.xlsx")     # the staff's copy: Chinese, rounded
    ws = book.worksheets[0]
    head = [c.value for c in ws[1]]
    assert {"申报编号", "汇总得分", "区间下限", "区间上限"} <= set(head)
    lows = [ws.cell(r, head.index("区间下限") + 1).value for r in range(2, ws.max_row + 1)]
    assert all(x is None or round(x, 2) == x for x in lows)
    store.dispose()
