"""Stages that gate (issue 17 part 1): per-stage instruments with veto items, the advancement proposal,
its recorded and audited confirmation, and planning that takes only the applications that advanced."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.resources import DEFAULT_POLICY_PATH
from reviewer.scoring.gating import advancement_proposal, vetoes
from tests.test_store_support import demo_store, run_cli

SITE = "现场考察"
FIRST = "初审评估"


def checklist_policy_text(**gate) -> str:
    """The bundled policy with 现场考察 scored by the verification checklist (and `gate` overrides)."""
    text = Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8")
    block = '[stages.gates."现场考察"]'
    head, tail = text.split(block, 1)
    body, rest = tail.split("\n\n", 1)                  # the 现场考察 gate's lines
    body = body.replace('instrument = ""', 'instrument = "现场考察核查表"', 1)
    for k, v in gate.items():
        body = re.sub(rf"(?m)^{k} = .*$", "", body) + f"\n{k} = {v}"
    return head + block + body + "\n\n" + rest


@pytest.fixture(scope="module")
def checklist_policy(tmp_path_factory):
    p = tmp_path_factory.mktemp("pol") / "policy.toml"
    p.write_text(checklist_policy_text(), encoding="utf-8")
    return load_policy(p)


def sheet_rows(policy, stage: str, seats: pd.DataFrame, quality: dict[str, float], zero: dict | None = None):
    """Criterion scores of every seat: each criterion at `quality[app]` of its maximum; `zero`:
    {(app, expert): [criterion ids scored 0]}."""
    inst = policy.for_stage(stage).rubric
    rows = []
    for x in seats.itertuples(index=False):
        for c in inst.criteria:
            v = round(c.max * quality.get(x.application_id, 0.8), 1)
            if zero and c.id in zero.get((x.application_id, x.expert_id), ()):
                v = 0.0
            rows.append({"stage": stage, "application_id": x.application_id, "expert_id": x.expert_id,
                         "criterion": c.id, "family": inst.family_of(c.id), "score": v})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- policy

def test_each_stage_has_its_instrument(checklist_policy):
    pol = checklist_policy
    assert pol.for_stage(FIRST).rubric is pol.rubric                       # DEFAULT: the recognition rubric
    site = pol.for_stage(SITE).rubric
    assert [c.id for c in site.criteria if c.veto] == ["V1", "V2", "V3", "V4"]
    assert site.total == 100 and pol.for_stage("认定评审").rubric.total == 100
    assert pol.gate(FIRST).pass_line == 60 and pol.gate("认定评审").has_rule is False


@pytest.mark.parametrize("change, message", [
    ({"instrument": '"没有这个"'}, "is not in [instruments]"),
    ({"pass_line": "120.0"}, "above its instrument's total"),
])
def test_gate_mistakes_are_named(tmp_path, change, message):
    p = tmp_path / "p.toml"
    p.write_text(checklist_policy_text(**change), encoding="utf-8")
    with pytest.raises(UserError, match=re.escape(message)):
        load_policy(p)


def test_the_last_stage_has_no_gate(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8") +
                 '\n[stages.gates."认定评审"]\npass_line = 70.0\n', encoding="utf-8")
    with pytest.raises(UserError, match="the last stage advances nobody"):
        load_policy(p)


def test_score_table_rows_are_checked_against_their_stage_instrument(checklist_policy, tmp_path):
    from reviewer.scoring.scoretable import validate_scores
    raw = pd.DataFrame({"阶段": [SITE, SITE, FIRST, FIRST], "申报编号": ["A", "A", "A", "A"],
                        "专家编号": ["E1", "E1", "E1", "E1"], "评分项": ["V1", "A1", "A1", "V1"],
                        "得分": [10, 5, 5, 3]})
    good, errors = validate_scores(raw, tmp_path / "s.csv", checklist_policy)
    assert list(good["criterion"]) == ["V1", "A1"]
    assert len(errors) == 2 and "row 3," in errors[0] and "V1, V2, V3, V4, S1, S2, S3" in errors[0]
    assert "row 5," in errors[1] and "A1, A2" in errors[1]


# ---------------------------------------------------------------- the proposal

def test_proposal_pass_line_top_k_quorum_and_veto(checklist_policy, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(checklist_policy_text(top_k_per_field="1"), encoding="utf-8")
    pol = load_policy(p)
    agg = pd.DataFrame({"application_id": ["A", "B", "C", "D", "E"], "score": [90.0, 85.0, 59.9, 95.0, float("nan")],
                        "field": ["汽车", "汽车", "机械", "机械", "机械"],
                        "status": ["ok", "ok", "ok", "ok", "insufficient_scores"]})
    out = advancement_proposal(agg, pol, SITE, vetoed={"D": "核查项不属实，一票否决 / vetoed"}, applications=["F"])
    got = dict(zip(out["application_id"], out["outcome"]))
    assert got == {"A": "advance", "B": "outside_top_k", "C": "below_pass_line", "D": "vetoed",
                   "E": "insufficient_scores", "F": "not_scored"}
    assert out.loc[out["application_id"] == "C", "reason_zh"].item() == "得分 59.9 < 晋级线 60"
    assert out["advance"].sum() == 1


def test_veto_needs_more_than_the_share_of_sheets(checklist_policy):
    seats = pd.DataFrame({"application_id": ["A"] * 5 + ["B"] * 5, "expert_id": [f"E{i}" for i in range(10)]})
    zero = {("A", "E0"): ["V1"], ("A", "E1"): ["V1"], ("A", "E2"): ["V1"],   # 3 of 5 say 材料不实
            ("B", "E5"): ["V2"], ("B", "E6"): ["V2"]}                           # 2 of 5: not a majority
    v = vetoes(sheet_rows(checklist_policy, SITE, seats, {}, zero), checklist_policy, SITE)
    assert list(v) == ["A"] and "申报材料真实完整" in v["A"] and "3/5" in v["A"]
    assert vetoes(sheet_rows(checklist_policy, FIRST, seats, {}), checklist_policy, FIRST) == {}


# ---------------------------------------------------------------- the store: advance, audit, plan the next stage

def _plan_publish(st, stage: str, seed: int = 3):
    from reviewer.store import publishing, repo
    from reviewer.store.runs import run_planning
    with st.read() as s:   # the other stages' published seats are held as they are
        held = repo.active_published_seats(s, repo.get_round(s, "2026"))
    fixed = [(x.stage, x.expert_id, x.application_id) for x in held.itertuples(index=False) if x.stage != stage]
    run, _ = run_planning(st, "2026", user="张三", stages=[stage], seed=seed, time_limit=60, workers=1, fixed=fixed)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        publishing.publish_run(s, r, stage, run.id, user="张三", reason="发布")
        return run, repo.published_seats(s, r, stage)


@pytest.fixture(scope="module")
def gated_store(tmp_path_factory):
    """The demo round: 初审评估 planned, published and scored (three applications below 60)."""
    from reviewer.store import repo
    folder = tmp_path_factory.mktemp("gated")
    st = demo_store(f"sqlite:///{folder / 'r.sqlite'}")
    run, seats = _plan_publish(st, FIRST)
    apps = sorted(seats["application_id"].unique())
    quality = {a: (0.5 if i < 3 else 0.7 + 0.01 * i) for i, a in enumerate(apps)}
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.submit_scores(s, r, sheet_rows(repo.round_policy(r), FIRST, seats, quality), user="张三", source="t")
    st.dispose()
    return folder / "r.sqlite", apps


def test_advance_proposes_records_and_gates_planning(gated_store, tmp_path, capsys, monkeypatch):
    import shutil

    from sqlalchemy import select

    from reviewer.store import Store, repo
    from reviewer.store import stages as gating
    from reviewer.store.models import AuditEntry
    path = tmp_path / "s.sqlite"
    shutil.copy(gated_store[0], path)
    db = f"sqlite:///{path}"
    apps = gated_store[1]
    code, out = run_cli(["stage", "advance", "--round", "2026", "--stage", FIRST, "--db", db, "--user", "李四"], capsys)
    assert code == 0, out
    assert f"{len(apps) - 3} of {len(apps)} advance to {SITE}" in out and "未达晋级分数线" in out
    assert "not recorded" in out
    st = Store(db)
    with st.read() as s:
        assert gating.advanced_from(s, repo.get_round(s, "2026"), FIRST) is None
    code, out = run_cli(["stage", "advance", "--round", "2026", "--stage", FIRST, "--db", db, "--user", "李四",
                         "--confirm"], capsys)
    assert code == 2 and "needs a reason" in out
    keep = apps[0]
    code, out = run_cli(["stage", "advance", "--round", "2026", "--stage", FIRST, "--db", db, "--user", "李四",
                         "--confirm", "--reason", "初审会议确认", "--keep", f"{keep}:材料补正后复核通过"], capsys)
    assert code == 0, out
    with st.read() as s:
        r = repo.get_round(s, "2026")
        went = gating.advanced_from(s, r, FIRST)
        assert len(went) == len(apps) - 2 and keep in went and apps[1] not in went
        why = gating.exclusions(s, r)
        assert set(why) == {apps[1], apps[2]} and why[apps[1]].startswith(f"{FIRST}未晋级：得分")
        logged = [e for e in s.execute(select(AuditEntry).where(AuditEntry.action == "stage.advance")).scalars()]
        assert len(logged) == 1 and logged[0].reason == "初审会议确认" and "材料补正后复核通过" in logged[0].after
        run_id = int(out.split("aggregation run #")[1].split("）")[0])   # the decision names its aggregation run
        assert set(gating.decisions(s, r, FIRST)["run_id"]) == {run_id} and f"run #{run_id}" in logged[0].entity
    code, out = run_cli(["reproduce", str(run_id), "--db", db], capsys)
    assert code == 0 and "IDENTICAL" in out, out
    code, out = run_cli(["audit", "verify", "--db", db], capsys)
    assert code == 0, out
    code, out = run_cli(["stage", "show", "--round", "2026", "--db", db], capsys)
    assert f"{FIRST}: {len(apps) - 2} of {len(apps)} advanced" in out and "工作人员调整" in out
    assert f"{SITE}: 晋级名单未确认" in out
    run, seats = _plan_publish(st, SITE)
    assert set(seats["application_id"]) == set(went)
    assert dict(run.parameters["advanced"])[SITE] == went
    code, out = run_cli(["reproduce", str(run.id), "--db", db], capsys)
    assert code == 0, out      # the gated run reproduces from what it recorded
    st.dispose()


def test_require_advancement_refuses_an_undecided_stage(tmp_path):
    from reviewer.store import repo
    from reviewer.store.runs import run_planning
    p = tmp_path / "p.toml"
    p.write_text(Path(DEFAULT_POLICY_PATH).read_text(encoding="utf-8").replace(
        "require_advancement = false", "require_advancement = true"), encoding="utf-8")
    from reviewer.store import Store
    st = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    from tests.test_store_support import demo_loaded
    data, report = demo_loaded()
    with st.write() as s:
        r = repo.create_round(s, "2026", user="张三", as_of="2026-11-01", policy_path=p)
        repo.record_import(s, r, data, report, user="张三", source="demo")
    with pytest.raises(UserError, match="advancement from 初审评估 is not recorded"):
        run_planning(st, "2026", user="张三", stages=[SITE], time_limit=10)
    st.dispose()


def test_score_sheets_differ_per_stage_and_read_back_with_their_instrument(checklist_policy, tmp_path):
    import random

    from openpyxl import load_workbook

    from reviewer.scoring.scoresheets import SHEET, read_score_sheet, write_score_sheet
    from tests.factories import fill_score_sheet
    apps = pd.DataFrame({"application_id": ["GX2026-003"], "name": ["某中心"], "field": ["汽车"]})
    site = write_score_sheet(tmp_path / "site.xlsx", checklist_policy, "ZJ0001", "张三", SITE, apps)
    final = write_score_sheet(tmp_path / "final.xlsx", checklist_policy, "ZJ0001", "张三", "认定评审", apps)
    head = [c.value for c in load_workbook(site)[SHEET][2]]
    assert any(str(h).startswith("V1 申报材料真实完整") and "否决项" in str(h) for h in head)
    assert not any(str(h).startswith("A1") for h in head)
    assert any(str(h).startswith("A1") for h in [c.value for c in load_workbook(final)[SHEET][2]])
    fill_score_sheet(site, random.Random(1), checklist_policy.for_stage(SITE))
    got = read_score_sheet(site, checklist_policy)
    assert not got.has_errors and set(got.scores["criterion"]) == {"V1", "V2", "V3", "V4", "S1", "S2", "S3"}
    assert set(got.scores["family"]) == {"V", "S"}


def test_advancement_cannot_change_once_the_next_stage_is_published(gated_store, tmp_path, capsys):
    import shutil

    from reviewer.store import Store
    path = tmp_path / "s.sqlite"
    shutil.copy(gated_store[0], path)
    db = f"sqlite:///{path}"
    args = ["stage", "advance", "--round", "2026", "--stage", FIRST, "--db", db, "--user", "李四", "--confirm",
            "--reason", "初审会议确认"]
    assert run_cli(args, capsys)[0] == 0
    st = Store(db)
    _plan_publish(st, SITE)
    st.dispose()
    assert run_cli(args, capsys)[0] == 0                              # the same list again: fine
    code, out = run_cli([*args, "--keep", f"{gated_store[1][0]}:复核"], capsys)
    assert code == 2 and "is published" in out
