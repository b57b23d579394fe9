"""The staged flow lottery (issue 14 item 2, where employer groups spanning categories and stage
independence break the flow): every draw meets every hard rule, every seat's probability is at most q,
a draw is a function of the inputs and the seed."""
import numpy as np
import pytest

from solver import SolveOptions, check_plan, lottery_from_data, lottery_to_data
from solver.compile import compile_problem
from solver.lottery_staged import StagedLottery, draw_order
from solver.randomized import build_lottery
from solver.synthetic import guangxi_round


@pytest.fixture(scope="module")
def round_():
    return guangxi_round(16, 240, (16, 8, 4), (5, 5, 7), seed=6)


@pytest.fixture(scope="module")
def lot(round_):
    lot = build_lottery(round_, 0.5)
    assert isinstance(lot, StagedLottery)
    return lot


def test_every_draw_meets_every_rule(round_, lot):
    for seed in range(0, 60, 3):
        assert check_plan(round_, lot.draw(seed)) == [], seed


def test_seat_caps_and_frequencies(round_, lot):
    comp = lot.comp
    c0, n = lot.nw.col_arc0, comp.n_cols
    unlocked = ~comp.col_lock.astype(bool)
    assert lot.nw.caps[c0:c0 + n][unlocked].max() <= lot.k  # the first stage's flow caps a seat at q = k/m
    # a later stage's cap c on a seat whose pair the first stage takes with probability j/m: c (1 - j/m) <= q
    first = lot.stages[0]
    j = np.zeros(n, dtype=np.int64)
    j[first.cols] = lot.first_flow[first.col_pos]
    jg = np.zeros(len(lot.indep), dtype=np.int64)
    has = lot.pair_gid >= 0
    np.maximum.at(jg, lot.pair_gid[has], j[has])
    later = has & ~np.isin(np.arange(n), first.cols) & unlocked
    assert np.all(lot.later_caps[later] * (lot.m - jg[lot.pair_gid[later]]) <= lot.k * lot.m)
    assert (lot.later_caps[later] > lot.k).any()  # some are loosened
    assert draw_order(comp)[0] == 0  # the stage with the most seats first (80 of 5-person panels; flow-5)
    N = 400
    counts = np.zeros(n)
    for seed in range(N):
        counts[lot.draw_columns(seed)] += 1
    # a seat drawn more often than q allows: 0.5 + 5 sd of N draws (and the Bonferroni margin over seats)
    assert counts.max() / N <= 0.5 + 5 * np.sqrt(0.25 / N)
    assert counts[lot.cut].sum() == 0


def test_draw_is_a_function_of_the_seed(round_, lot):
    again = build_lottery(round_, 0.5)
    for seed in (0, 5, 2 ** 31 - 1):
        assert np.array_equal(lot.draw_columns(seed), again.draw_columns(seed))
    assert not np.array_equal(lot.draw_columns(0), lot.draw_columns(1))


def test_plain_data_round_trip_and_damage(round_, lot):
    data = lottery_to_data(lot)
    back = lottery_from_data(lot.comp, data)
    assert np.array_equal(back.draw_columns(3), lot.draw_columns(3))
    bad = dict(data, cut=np.zeros_like(data["cut"]))
    bad["cut"][np.nonzero(~lot.cut)[0][:1]] = 1  # cut a seat no restriction removes: rejected
    with pytest.raises(ValueError):
        lottery_from_data(lot.comp, bad)


def test_expected_value_close_to_the_bound(round_, lot):
    comp = compile_problem(round_, SolveOptions().scale, None)
    vals = [comp.int_objective(lot.draw_columns(s)) for s in range(40)]
    assert np.mean(vals) >= 0.9 * lot.upper_bound
