import numpy as np
import pandas as pd
import pytest

from reviewer.scoring.aggregation import HuberM, Median, TrimmedMean, WinsorizedMean, sort_groups
from reviewer.scoring.calibration import Calibration
from reviewer.errors import UserError
from reviewer.scoring.uncertainty import bootstrap, leave_one_expert_out


def panel_table(seed=0, n_apps=12, k=7):
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_apps):
        for e in range(k):
            rows.append(dict(panel=f"P{a % 2}", expert_id=f"E{e}{a % 2}", application_id=f"A{a:02d}",
                             score=round(70 + a + rng.normal(0, 4), 1)))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("agg", [TrimmedMean(), Median(), WinsorizedMean(), TrimmedMean(k=2, min_n=7)])
def test_weighted_estimate_equals_expanded_multiset(agg):
    """The multiplicity path used by the bootstrap equals the estimator on the expanded scores."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = rng.integers(1, 9)
        x = np.sort(rng.integers(50, 100, n).astype(float))
        c = rng.integers(0, 3, n)
        if c.sum() == 0:
            continue
        s = sort_groups(np.zeros(n, dtype=np.intp), x, np.arange(n), 1)
        raw = agg._estimate(s, counts=c[s.order], exact=False)[0][0]
        expanded = np.repeat(x, c)
        ref = agg.fit(pd.DataFrame({"expert_id": [f"e{i}" for i in range(expanded.size)],
                                    "application_id": "X", "score": expanded})).score_raw.iloc[0]
        assert raw == pytest.approx(ref)


def test_bootstrap_seeded_and_sane():
    df = panel_table()
    fields = {f"A{a:02d}": f"F{a % 3}" for a in range(12)}
    r1 = bootstrap(df, TrimmedMean(), n_resamples=300, seed=7, fields=fields)
    r2 = bootstrap(df, TrimmedMean(), n_resamples=300, seed=7, fields=fields)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    r3 = bootstrap(df, TrimmedMean(), n_resamples=300, seed=8, fields=fields)
    assert not np.allclose(r1.table.ci_low, r3.table.ci_low)
    t = r1.table
    assert len(t) == 12 and r1.samples.shape == (300, 12)
    assert (t.ci_low <= t.score_raw + 1e-9).all() and (t.score_raw <= t.ci_high + 1e-9).all()
    assert (t.rank_low <= t.rank_high).all() and t.rank_low.min() >= 1 and t.rank_high.max() <= 12
    # P(first in field) sums to 1 in every field
    assert np.allclose(t.groupby("field").p_first_in_field.sum(), 1.0)
    assert t.p_first_overall.sum() >= 1.0 - 1e-9  # ties for first count for each tied application


def test_bootstrap_constant_scores_zero_width_and_no_panel():
    df = pd.DataFrame({"expert_id": list("abcde") * 2, "application_id": ["X"] * 5 + ["Y"] * 5,
                       "score": [80] * 5 + [60, 70, 80, 90, 100]})
    t = bootstrap(df, TrimmedMean(), n_resamples=200, seed=1).table.set_index("application_id")
    assert t.loc["X", "ci_low"] == t.loc["X", "ci_high"] == 80
    assert t.loc["Y", "ci_low"] < 80 < t.loc["Y", "ci_high"]
    assert t.loc["X", "p_first_overall"] > 0.5


def test_bootstrap_rejects_models():
    with pytest.raises(UserError, match="calibrated"):
        bootstrap(panel_table(), Calibration())
    with pytest.raises(UserError):
        bootstrap(panel_table(), TrimmedMean(), n_resamples=0)


def test_bootstrap_huber_runs():
    t = bootstrap(panel_table(), HuberM(), n_resamples=50, seed=1).table
    assert t.ci_low.notna().all()


def test_leave_one_expert_out_hand_case():
    # X: a 70, b 80, c 90 (median 80); Y: a 85, b 79, c 60 (median 79) -> X first.
    # Without c: X 75, Y 82 -> Y first; without a or b nothing changes.
    df = pd.DataFrame({"expert_id": list("abcabc"), "application_id": list("XXXYYY"),
                       "score": [70, 80, 90, 85, 79, 60]})
    loo = leave_one_expert_out(df, TrimmedMean())
    assert set(loo.expert_id) == {"c"}
    row = loo.set_index("application_id").loc["X"]
    assert (row.rank_before, row.rank_after, row.score_after) == (1, 2, 75.0)
    assert row.n_rank_changes == 2 and row.max_abs_rank_change == 1
    full = leave_one_expert_out(df, TrimmedMean(), only_changes=False)
    assert len(full) == 6 and full.scored_by_expert.all()


def test_bootstrap_same_result_whatever_the_threads():
    df = panel_table(seed=3)
    a = bootstrap(df, TrimmedMean(), n_resamples=70, seed=4, batch=8, n_jobs=1)
    b = bootstrap(df, TrimmedMean(), n_resamples=70, seed=4, batch=8, n_jobs=3)
    assert np.array_equal(a.samples, b.samples, equal_nan=True)
