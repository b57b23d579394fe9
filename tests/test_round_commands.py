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
