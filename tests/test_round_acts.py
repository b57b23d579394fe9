"""Staff acts that the stateful test (tests/test_round_stateful.py) found failing with an internal error
instead of a clear refusal."""
from __future__ import annotations

from reviewer.store import repo
from tests.test_store_support import demo_store, run_cli


def test_waiving_the_same_conflict_twice_is_refused_clearly(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    st = demo_store(url)
    args = ["waive", "--round", "2026", "-e", "ZJ0109", "-a", "GX2026-011", "--rule", "C6", "--reason", "撤回",
            "--db", url]
    code, out = run_cli(args, capsys)
    assert code == 0, out
    code, out = run_cli(args, capsys)
    assert code == 2 and "已豁免" in out and "already waived" in out and "internal error" not in out, out
    with st.read() as s:
        assert len(repo.waivers(s, repo.get_round(s, "2026"))) == 1
