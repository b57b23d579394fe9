"""Every staff command tells the truth (issue 11): a decision, waiver, lock, import or token that
cannot be what it says is refused at once with ids; locks can be removed; the reference date of
the file commands is stated; published panels can be listed."""
from __future__ import annotations

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
    expert = seats.loc[seats["application_id"] == app_id, "expert_id"].iloc[0]

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
