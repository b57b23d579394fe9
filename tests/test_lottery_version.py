"""Lottery version flow-5 (issue 14 item 2): the staged flow lottery draws the stage with the most seats
first; draws made by flow-4 (largest panels first) are still recomputed exactly — a golden file holds
ten flow-4 draws made by the flow-4 code (tests/golden/lottery_flow4.json)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reviewer.panels import service
from reviewer.panels.service import lottery_build_params
from reviewer.store import draws
from solver.compile import compile_problem
from solver.lottery import COMPATIBLE_VERSIONS, LOTTERY_VERSION, lottery_key
from solver.lottery_staged import StagedLottery, draw_order
from solver.randomized import build_lottery
from solver.synthetic import guangxi_round
from tests.test_store_support import demo_store

GOLDEN = json.loads((Path(__file__).parent / "golden" / "lottery_flow4.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def round_():
    # the golden file's problem: stages of 16 / 8 / 4 applications, panels of 5 / 5 / 7 (80 / 40 / 28 seats)
    return guangxi_round(16, 240, (16, 8, 4), (5, 5, 7), seed=6)


def _seats(lot, seed):
    c = lot.comp
    cols = lot.draw_columns(seed)
    return sorted([int(s), int(e), int(a)] for s, e, a in zip(c.col_stage[cols], c.col_expert[cols], c.col_app[cols]))


def test_versions():
    assert LOTTERY_VERSION == "flow-5" and GOLDEN["version"] == "flow-4"
    assert lottery_build_params("flow-4") == {"method": "auto", "stage_order": "panel_size"}
    assert lottery_build_params(LOTTERY_VERSION) == {"method": "auto"}
    assert lottery_build_params("fast-3") == {"method": "fast"}
    assert set(COMPATIBLE_VERSIONS) == {"fast-3", "flow-4"}


def test_draw_order_most_seats_first_and_flow4_order(round_):
    comp = compile_problem(round_)
    assert draw_order(comp) == [0, 1, 2]  # 80, 40, 28 seats
    assert draw_order(comp, "panel_size") == [2, 0, 1]  # flow-4: the 7-person panels first
    with pytest.raises(ValueError, match="stage_order"):
        draw_order(comp, "random")
    # the two orders are two lotteries: different cache keys
    assert lottery_key(comp, 0.5) != lottery_key(comp, 0.5, stage_order="panel_size")


def test_flow4_draws_recomputed_exactly(round_):
    lot = build_lottery(round_, GOLDEN["q"], stage_order="panel_size")
    assert isinstance(lot, StagedLottery) and lot.order == "panel_size"
    for seed, seats in GOLDEN["draws"].items():
        assert _seats(lot, int(seed)) == seats, seed
    assert lot.expected_value == pytest.approx(GOLDEN["expected_value_units"], rel=1e-12)


def test_flow5_draws_differ_from_flow4_and_meet_the_cap(round_):
    lot = build_lottery(round_, 0.5)
    assert isinstance(lot, StagedLottery) and lot.order == "seats"
    differ = sum(_seats(lot, int(seed)) != seats for seed, seats in GOLDEN["draws"].items())
    assert differ >= 5
    comp = lot.comp
    N = 300
    counts = np.zeros(comp.n_cols)
    for seed in range(N):
        counts[lot.draw_columns(seed)] += 1
    assert counts.max() / N <= 0.5 + 5 * np.sqrt(0.25 / N)


def test_committed_flow4_draw_verifies(monkeypatch, tmp_path):
    """A draw committed and revealed by the flow-4 program verifies with this one (recomputed with
    flow-4's parameters, found from the version recorded with the draw)."""
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with monkeypatch.context() as mp:
        mp.setattr(draws, "LOTTERY_VERSION", "flow-4")
        mp.setattr(service, "LOTTERY_VERSION", "flow-4")
        com = draws.commit_draw(st, "2026", user="张三", stages=["初审评估", "认定评审"], seed=5)
        run, _res, _seed = draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=5, salt=com.salt)
    assert com.body["lottery_version"] == "flow-4"
    v = draws.verify_draw(st, run.id)
    assert v.ok, v.lines()
