"""verify-draw across lottery versions (issue 14): a draw committed under an earlier lottery version is
recomputed as that version drew it when this program still can (solver.lottery.COMPATIBLE_VERSIONS),
else it is refused with a message naming the version; never a false MATCH or a wall of seat diffs."""
from __future__ import annotations

import pytest

from reviewer.errors import UserError
from reviewer.panels import service
from reviewer.panels.service import PlanParams, lottery_method
from reviewer.store import draws, repo
from solver.lottery import COMPATIBLE_VERSIONS, LOTTERY_VERSION
from tests.test_store_support import demo_store

STAGE = "认定评审"


def _draw_as(monkeypatch, tmp_path, version: str):
    """A committed and revealed draw made by a program whose lottery version is `version`."""
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with monkeypatch.context() as mp:
        mp.setattr(draws, "LOTTERY_VERSION", version)
        mp.setattr(service, "LOTTERY_VERSION", version)
        mp.setattr(service, "lottery_method", lambda v: "fast")
        com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=3)
        run, _res, _seed = draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=3, salt=com.salt)
    return st, com, run


def test_versions_known():
    assert LOTTERY_VERSION not in COMPATIBLE_VERSIONS and lottery_method("fast-3") == "fast"
    assert lottery_method(LOTTERY_VERSION) == "auto"
    rec = PlanParams(stages=(STAGE,), randomize=True).to_record()
    assert rec["lottery_version"] == LOTTERY_VERSION
    assert "lottery_version" not in PlanParams(stages=(STAGE,)).to_record()
    with pytest.raises(UserError, match="old-1"):
        PlanParams(stages=(STAGE,), randomize=True, lottery_version="old-1")


def test_earlier_compatible_version_verifies(monkeypatch, tmp_path):
    st, com, run = _draw_as(monkeypatch, tmp_path, "fast-3")
    assert com.body["lottery_version"] == "fast-3"
    v = draws.verify_draw(st, run.id)
    assert v.ok, v.lines()


def test_unknown_version_is_refused_by_name(monkeypatch, tmp_path):
    st, _com, run = _draw_as(monkeypatch, tmp_path, "old-1")
    with pytest.raises(UserError, match="old-1.*cannot be recomputed"):
        draws.verify_draw(st, run.id)
    with st.read() as s:
        assert repo.get_run(s, run.id).parameters["lottery_version"] == "old-1"
