"""Every staff command tells the truth (issue 11): a decision, waiver, lock, import or token that
cannot be what it says is refused at once with ids; locks can be removed; the reference date of
the file commands is stated; published panels can be listed."""
from __future__ import annotations

import json

import pytest

from reviewer.errors import UserError
from reviewer.store import repo
from tests.test_store_support import demo_store, run_cli


@pytest.fixture
def demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    return url, demo_store(url)


# ---------------------------------------------------------------- item 5: decide only needs-review checks

def test_decide_refuses_a_computed_fail_and_names_its_outcome(demo, capsys):
    url, st = demo
    code, out = run_cli(["decide", "GX2026-002", "E7", "pass", "--round", "2026", "--reason", "核实",
                         "--db", url, "--user", "张三"], capsys)
    assert code == 2 and "GX2026-002 E7" in out and "不通过" in out and "fail" in out
    assert "re-import" in out or "import again" in out
    with st.read() as s:
        assert repo.review_overrides(s, repo.get_round(s, "2026")) == {}


def test_decide_refuses_a_pass_and_an_unknown_check_but_takes_a_needs_review(demo, capsys):
    url, st = demo
    with st.write() as s, pytest.raises(UserError, match="通过.*pass"):
        repo.decide_review(s, repo.get_round(s, "2026"), "GX2026-003", "E1", "fail", reason="x", user="张三")
    with st.write() as s, pytest.raises(UserError, match="unknown check 'E77'"):
        repo.decide_review(s, repo.get_round(s, "2026"), "GX2026-022", "E77", "pass", reason="x", user="张三")
    code, out = run_cli(["decide", "GX2026-022", "E7", "pass", "--round", "2026", "--reason", "核实股东排名",
                         "--db", url, "--user", "张三"], capsys)
    assert code == 0, out
    with st.read() as s:
        assert repo.review_overrides(s, repo.get_round(s, "2026"))[("GX2026-022", "E7")][0] == "pass"


# ---------------------------------------------------------------- item 10: waive / token of what does not exist

def test_waive_refuses_a_conflict_that_does_not_exist(demo, capsys):
    url, st = demo
    code, out = run_cli(["waive", "--round", "2026", "-e", "ZJ0003", "-a", "GX2026-004", "--rule", "C6",
                         "--reason", "申报单位撤回不适宜意见", "--db", url, "--user", "李四"], capsys)
    assert code == 2 and "ZJ0003" in out and "GX2026-004" in out and "no C6 conflict" in out
    code, out = run_cli(["waive", "--round", "2026", "-e", "ZJ0109", "-a", "GX2026-011", "--rule", "C6",
                         "--reason", "申报单位撤回不适宜意见", "--db", url, "--user", "李四"], capsys)
    assert code == 0, out
    with st.read() as s:
        assert [w["expert_id"] for w in repo.waivers(s, repo.get_round(s, "2026"))] == ["ZJ0109"]


def test_token_refuses_an_expert_who_is_not_in_the_round_or_any_round(tmp_path, monkeypatch, capsys):
    from reviewer.app import auth
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    demo_store(f"sqlite:///{tmp_path / 'reviewer.sqlite'}")
    code, out = run_cli(["token", "ZJ9999", "--round", "2026"], capsys)
    assert code == 2 and "ZJ9999" in out and "2026" in out and "?token=" not in out
    code, out = run_cli(["token", "ZJ9999"], capsys)
    assert code == 2 and "ZJ9999" in out and "?token=" not in out
    code, out = run_cli(["token", "ZJ0001", "--round", "2026", "--url", "http://h:1"], capsys)
    assert code == 0 and "http://h:1/?token=" in out
    tok = [x for x in out.splitlines() if "?token=" in x][0].split("token=")[1]
    assert auth.resolve_token(tok).expert_id == "ZJ0001"


# ---------------------------------------------------------------- item 7: an import is all or nothing

def _workbook(tmp_path, name, edit) -> str:
    import openpyxl
    from tests.test_store_support import DEMO
    wb = openpyxl.load_workbook(DEMO / "round2026.xlsx")
    edit(wb)
    path = tmp_path / name
    wb.save(path)
    return str(path)


def _bad_credit_code(wb) -> None:
    ws = wb["申报书"]
    col = [c.value for c in ws[1]].index("牵头单位统一社会信用代码") + 1
    ws.cell(row=5, column=col, value="NOT-A-CODE")


def _drop_application(app_id: str):
    def edit(wb) -> None:
        ws = wb["申报书"]
        ids = [c.value for c in ws["A"]]
        ws.delete_rows(ids.index(app_id) + 1)
    return edit


def _imports(st) -> int:
    from sqlalchemy import func, select
    from reviewer.store.models import ImportSnapshot
    with st.read() as s:
        return int(s.execute(select(func.count()).select_from(ImportSnapshot)).scalar_one())


def test_an_import_with_errors_changes_nothing_unless_allow_partial(demo, tmp_path, capsys):
    url, st = demo
    bad = _workbook(tmp_path, "bad.xlsx", _bad_credit_code)
    code, out = run_cli(["import", "--round", "2026", bad, "--db", url, "--user", "张三"], capsys)
    assert code == 1 and "NOT-A-CODE" in out and "--allow-partial" in out
    assert "未导入" in out and "nothing was imported" in out
    assert _imports(st) == 1
    code, out = run_cli(["import", "--round", "2026", bad, "--allow-partial", "--db", url, "--user", "张三"], capsys)
    assert code == 0 and "import #2" in out
    assert _imports(st) == 2


def test_a_reimport_that_drops_or_breaks_a_published_seat_is_refused_with_the_list(demo, tmp_path, capsys):
    from reviewer.cli.publication import read_panels
    from tests.test_store_support import DEMO
    url, st = demo
    seats = read_panels(DEMO / "demo_panels.csv")
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), "现场考察", seats, user="张三", source="demo_panels.csv")
    app_id = seats.loc[seats["stage"] == "现场考察", "application_id"].iloc[0]
    dropped = _workbook(tmp_path, "dropped.xlsx", _drop_application(app_id))
    for extra in ([], ["--allow-partial"]):
        code, out = run_cli(["import", "--round", "2026", dropped, *extra, "--db", url, "--user", "张三"], capsys)
        assert code == 2 and app_id in out and "published" in out, out
    assert _imports(st) == 1
    site = seats[seats["stage"] == "现场考察"]      # the published stage's seats (demo_panels.csv holds all three)
    expert = site.loc[site["application_id"] == app_id, "expert_id"].iloc[0]

    def unavailable(wb) -> None:
        ws = wb["专家库"]
        head = [c.value for c in ws[1]]
        row = [c.value for c in ws["A"]].index(expert) + 1
        ws.cell(row=row, column=head.index("状态") + 1, value="不可用")
    code, out = run_cli(["import", "--round", "2026", _workbook(tmp_path, "unavail.xlsx", unavailable),
                         "--db", url, "--user", "张三"], capsys)
    assert code == 2 and expert in out and "不可用" in out
    assert _imports(st) == 1
    # the same data again breaks nothing
    code, out = run_cli(["import", "--round", "2026", str(DEMO / "round2026.xlsx"), "--db", url, "--user", "张三"],
                        capsys)
    assert code == 0 and _imports(st) == 2


# ---------------------------------------------------------------- items 3 and 4: locks checked when made; unlock

def _lock(url, capsys, *args, kind="lock"):
    return run_cli([kind, "--round", "2026", *args, "--reason", "领导指定", "--db", url, "--user", "张三"], capsys)


def test_lock_that_no_plan_can_hold_is_refused_at_once_naming_ids(demo, capsys):
    url, st = demo
    # the README's example: ZJ0001 is a 技术 expert of other fields; a 初审评估 panel's only 技术 seat is its chair
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", "ZJ0001", "-a", "GX2026-003")
    assert code == 2 and "ZJ0001" in out and "电子信息" in out and "Traceback" not in out
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", "ZJ0109", "-a", "GX2026-011")
    assert code == 2 and "C6" in out and "conflict of interest" in out
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", "ZJ0002", "-a", "GX2026-002")
    assert code == 2 and "GX2026-002" in out and "failed screening" in out and "not in this stage" not in out
    code, out = _lock(url, capsys, "-s", "初审", "-e", "ZJ0002", "-a", "GX2026-003")
    assert code == 2 and "初审" in out
    with st.read() as s:
        assert repo.seat_rules(s, repo.get_round(s, "2026")) == {"lock": [], "forbid": []}


def _economist(st, app_id: str) -> str:
    from reviewer.conflicts.detector import detect_conflicts
    with st.read() as s:
        r = repo.get_round(s, "2026")
        data, pol = repo.load_data(s, repo.latest_import(s, r).id), repo.round_policy(r)
    cs = detect_conflicts(data, pol)
    app = data.application(app_id)
    return next(e.expert_id for e in data.experts if e.category == "经济" and e.drawable and not cs.pair(
        e.expert_id, app_id) and e.city != app.lead_city and e.available_from is None and e.available_until is None)


def test_a_good_lock_is_recorded_and_unlock_and_unforbid_remove_with_a_reason(demo, capsys):
    from reviewer.store import audit
    url, st = demo
    e = _economist(st, "GX2026-003")
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", e, "-a", "GX2026-003")
    assert code == 0 and f"初审评估 {e} × GX2026-003" in out, out
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", e, "-a", "GX2026-003")
    assert code == 2 and "already" in out
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", "ZJ0002", "-a", "GX2026-003", kind="forbid")
    assert code == 0
    code, out = run_cli(["unlock", "--round", "2026", "-s", "初审评估", "-e", e, "-a", "GX2026-003", "--reason", "",
                         "--db", url], capsys)
    assert code == 2 and "reason" in out
    code, out = run_cli(["unlock", "--round", "2026", "-s", "初审评估", "-e", "ZJ0002", "-a", "GX2026-003",
                         "--reason", "x", "--db", url], capsys)
    assert code == 2 and "no active lock" in out
    for kind, who in (("unlock", e), ("unforbid", "ZJ0002")):
        code, out = run_cli([kind, "--round", "2026", "-s", "初审评估", "-e", who, "-a", "GX2026-003",
                             "--reason", "领导改变安排", "--db", url, "--user", "李四"], capsys)
        assert code == 0, out
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.seat_rules(s, r) == {"lock": [], "forbid": []}
        df = audit.entries_frame(s)
        assert df["action"].tolist()[-2:] == ["seat_rule.remove"] * 2 and audit.verify(s).ok
        assert [json.loads(b)["kind"] for b in df["before"].tolist()[-2:]] == ["lock", "forbid"]
        assert df["reason"].tolist()[-1] == "领导改变安排"
    code, out = _lock(url, capsys, "-s", "初审评估", "-e", e, "-a", "GX2026-003")   # locking again works
    assert code == 0, out


def test_infeasibility_from_a_lock_names_expert_and_application_by_id_and_name():
    from reviewer.demo.pipeline import demo_policy
    from reviewer.panels.service import PlanParams, plan
    from reviewer.policy import load_policy
    from tests.test_store_support import demo_loaded
    data, _ = demo_loaded()
    pol = demo_policy(load_policy())
    res = plan(data, pol, PlanParams.for_policy(pol, ["初审评估"], locks=[("初审评估", "ZJ0109", "GX2026-011")],
                                                time_limit=10))
    assert not res.plan.feasible
    msgs = " ".join(res.diagnostics["message_zh"]) + " ".join(res.diagnostics["message_en"])
    name = data.expert("ZJ0109").name
    assert "ZJ0109" in msgs and name in msgs and "GX2026-011" in msgs
    assert "专家 0 " not in msgs and "expert 0 " not in msgs


def test_file_assign_refuses_an_impossible_lock_at_once_and_names_unplanned_locks(tmp_path, capsys):
    import time
    from tests.test_store_support import DEMO
    started = time.time()
    code, out = run_cli(["assign", str(DEMO / "round2026.xlsx"), "--lock", "初审评估,ZJ0001,GX2026-003",
                         "--out", str(tmp_path)], capsys)
    assert code == 2 and "ZJ0001" in out and "GX2026-003" in out and "电子信息" in out
    assert time.time() - started < 20
    code, out = run_cli(["assign", str(DEMO / "round2026.xlsx"), "--lock", "初审评估,ZJ0002,GX2026-002",
                         "--out", str(tmp_path)], capsys)
    assert code == 2 and "failed screening" in out


def test_check_locks_notes_a_lock_of_a_stage_not_planned():
    from reviewer.demo.pipeline import demo_policy
    from reviewer.policy import load_policy
    from reviewer.store import guards
    from tests.test_store_support import demo_loaded
    data, _ = demo_loaded()
    pol = demo_policy(load_policy())
    errors, notes = guards.check_locks(data, pol, ["认定评审"], guards.LockContext(
        locks=[("初审评估", "ZJ0001", "GX2026-003")]))
    assert errors == [] and len(notes) == 1 and "初审评估 ZJ0001 × GX2026-003" in notes[0] and "not planned" in notes[0]
    errors, notes = guards.check_locks(data, pol, ["初审评估"], guards.LockContext(
        locks=[("初审评估", "ZJ0001", "GX2026-003")]))
    assert notes == [] and errors and all(e.startswith("锁定 lock 初审评估 ZJ0001 × GX2026-003") for e in errors)


def test_run_assign_rechecks_stored_locks_and_names_those_of_stages_not_planned(demo, tmp_path, capsys):
    url, st = demo
    e = _economist(st, "GX2026-003")
    assert _lock(url, capsys, "-s", "初审评估", "-e", e, "-a", "GX2026-003")[0] == 0
    code, out = run_cli(["run", "assign", "--round", "2026", "--stage", "认定评审", "--time-limit", "30",
                         "--db", url, "--user", "张三"], capsys)
    assert code == 0 and f"初审评估 {e} × GX2026-003" in out and "not planned" in out, out

    def unavailable(wb) -> None:
        ws = wb["专家库"]
        head = [c.value for c in ws[1]]
        ws.cell(row=[c.value for c in ws["A"]].index(e) + 1, column=head.index("状态") + 1, value="不可用")
    code, out = run_cli(["import", "--round", "2026", _workbook(tmp_path, "u.xlsx", unavailable), "--db", url,
                         "--user", "张三"], capsys)
    assert code == 0, out
    code, out = run_cli(["run", "assign", "--round", "2026", "--db", url, "--user", "张三"], capsys)
    assert code == 2 and e in out and "不可用" in out and "nothing planned" in out


# ---------------------------------------------------------------- item 12: the reference date is stated

def test_file_commands_take_as_of_and_state_the_reference_date(tmp_path, capsys):
    from tests.test_store_support import DEMO
    code, out = run_cli(["screen", str(DEMO / "round2026.xlsx"), "--as-of", "2026-11-01", "--out", str(tmp_path)],
                        capsys)
    assert code == 0 and "参考日期 reference date: 2026-11-01 (--as-of)" in out
    assert "通过 pass 29, 不通过 fail 9, 需复核 needs-review 2" in out
    record = json.loads((tmp_path / "run_screening.json").read_text(encoding="utf-8"))
    assert record["parameters"]["as_of"] == "2026-11-01" and record["policy"]["as_of"] == "2026-11-01"
    code, out = run_cli(["conflicts", str(DEMO / "round2026.xlsx"), "--as-of", "2027-06-01", "--out", str(tmp_path)],
                        capsys)
    assert code == 0 and "reference date: 2027-06-01" in out
    assert json.loads((tmp_path / "run_conflicts.json").read_text(encoding="utf-8"))["parameters"]["as_of"] == "2027-06-01"
    # a date before the applications were submitted rejects them all: one clear line, no traceback
    code, out = run_cli(["conflicts", str(DEMO / "round2026.xlsx"), "--as-of", "2020-01-01", "--out", str(tmp_path)],
                        capsys)
    assert code == 2 and "no applications row could be loaded" in out and "Traceback" not in out
    code, out = run_cli(["screen", str(DEMO / "round2026.xlsx"), "--out", str(tmp_path)], capsys)
    assert code == 0 and "reference date:" in out and "today" in out
    code, out = run_cli(["assign", str(DEMO / "round2026.xlsx"), "--as-of", "2026-13-01", "--out", str(tmp_path)],
                        capsys)
    assert code == 2 and "--as-of '2026-13-01'" in out


def test_store_runs_state_the_rounds_reference_date(demo, capsys):
    url, _ = demo
    code, out = run_cli(["run", "screen", "--round", "2026", "--db", url, "--user", "张三"], capsys)
    assert code == 0 and "参考日期 reference date: 2026-11-01 (round --as-of)" in out


# ---------------------------------------------------------------- item 14: reviewer panels

def test_panels_lists_published_panels_with_names_status_and_replacements(demo, tmp_path, capsys):
    import pandas as pd
    from sqlalchemy import select, update
    from reviewer.cli.publication import read_panels
    from reviewer.store.models import Assignment
    from tests.test_store_support import DEMO
    url, st = demo
    code, out = run_cli(["panels", "--round", "2026", "--db", url], capsys)
    assert code == 2 and "no published panels" in out
    seats = read_panels(DEMO / "demo_panels.csv")
    site = seats[seats["stage"] == "现场考察"]
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), "现场考察", seats, user="张三", source="demo_panels.csv")
    first = site.iloc[0]
    with st.write() as s:   # a recorded replacement, as reviewer replace writes it
        old = s.execute(select(Assignment).where(Assignment.application_id == first["application_id"],
                                                 Assignment.expert_id == first["expert_id"])).scalar_one()
        s.execute(update(Assignment).where(Assignment.id == old.id).values(status="replaced"))
        s.add(Assignment(panel_id=old.panel_id, stage="现场考察", application_id=old.application_id,
                         expert_id="ZJ0399", role=old.role, origin="repair", replaces_id=old.id))
    code, out = run_cli(["panels", "--round", "2026", "--stage", "现场考察", "--out", str(tmp_path / "专家组.xlsx"),
                         "--db", url], capsys)
    assert code == 0, out
    with st.read() as s:
        data = repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id)
    name = data.expert(first["expert_id"]).name
    assert f"{first['expert_id']} {name}" in out and data.application(first["application_id"]).name in out
    assert "replaced by ZJ0399" in out and f"replaces {first['expert_id']}" in out
    assert f"{site['application_id'].nunique()} panels, {len(site)} active seats, 1 replaced" in out
    table = pd.read_csv(tmp_path / "专家组.csv", dtype=str)
    assert (tmp_path / "专家组.xlsx").exists() and len(table) == len(site) + 1
    row = table[table["expert_id"] == "ZJ0399"].iloc[0]
    assert row["replaces"] == first["expert_id"] and row["status"] == "active" and row["category"]
    code, out = run_cli(["panels", "--round", "2026", "--stage", "认定评审", "--db", url], capsys)
    assert code == 2 and "认定评审" in out
