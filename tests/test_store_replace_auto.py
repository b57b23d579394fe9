"""`reviewer replace` without --new: the solver's minimal-change repair picks the replacement."""
from pathlib import Path

import pytest

from reviewer.cli.main import main

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out + out.err


def test_replace_picks_a_replacement_that_moves_no_other_seat(tmp_path, capsys):
    db = ["--db", tmp_path / "s.sqlite"]
    assert run(["round", "create", "R", "--as-of", "2026-11-01", *db], capsys)[0] in (0, None)
    assert run(["import", "--round", "R", DEMO / "round2026.xlsx", *db], capsys)[0] in (0, None)
    code, out = run(["run", "assign", "--round", "R", "--stage", "认定评审", *db], capsys)
    assert code in (0, None), out
    code, out = run(["publish", "--round", "R", "--stage", "认定评审", "--run", "1", "--reason", "审定", *db], capsys)
    assert code in (0, None), out
    from reviewer.store import repo
    from reviewer.store.engine import open_store
    st = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with st.read() as s:
        before = repo.published_seats(s, repo.get_round(s, "R"), "认定评审")
    seat = before[before["role"] != "chair"].iloc[0]
    code, out = run(["replace", "--round", "R", "-s", "认定评审", "-a", seat["application_id"], "--old",
                     seat["expert_id"], "--reason", "专家因病请假", *db], capsys)
    assert code in (0, None), out
    assert "the solver picks" in out and "alternates" in out
    with st.read() as s:
        after = repo.published_seats(s, repo.get_round(s, "R"), "认定评审")
    key = ["application_id", "expert_id"]
    kept = before.merge(after, on=key)
    assert len(kept) == len(before) - 1 and len(after) == len(before)
    assert not ((after["application_id"] == seat["application_id"]) & (after["expert_id"] == seat["expert_id"])).any()
    st.dispose()
