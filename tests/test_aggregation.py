from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from reviewer.scoring.aggregation import (
    HuberM,
    Mean,
    Median,
    TrimmedMean,
    WinsorizedMean,
    add_rank,
    make_aggregator,
    normalize_scores,
    round_half,
    round_rational,
)
from reviewer.errors import UserError
from reviewer.policy import load_policy


def table(groups: dict[str, list]) -> pd.DataFrame:
    rows = []
    for app, scores in groups.items():
        for i, s in enumerate(scores):
            rows.append({"expert_id": f"E{i}", "application_id": app, "score": s})
    return pd.DataFrame(rows)


def one(agg, scores):
    return agg.fit(table({"X": scores})).iloc[0]


# ---------------------------------------------------------------- trimmed mean
def test_trimmed_drops_one_highest_and_one_lowest():
    r = one(TrimmedMean(), [70, 80, 85, 85, 90])
    assert r.score == 83.33 and r.n_scores == 5 and r.n_used == 3
    assert r.rule == "trimmed k=1"


def test_trimmed_ties_drop_exactly_one_instance():
    # two 90s and two 70s: one of each dropped -> (70 + 80 + 90) / 3
    assert one(TrimmedMean(), [90, 90, 70, 70, 80]).score == 80.0
    # all equal
    assert one(TrimmedMean(), [77, 77, 77, 77, 77]).score == 77.0
    agg = TrimmedMean()
    agg.fit(table({"X": [90, 90, 70, 70, 80]}))
    sc = agg.scores_
    assert sc.used.sum() == 3
    # deterministic: the lower expert id among the tied lows and the higher among the tied highs are dropped
    assert set(sc.loc[~sc.used, "expert_id"]) == {"E2", "E1"}


def test_trimmed_below_min_n_uses_median():
    r = one(TrimmedMean(), [70, 80, 90, 100])
    assert r.score == 85.0 and r.rule.startswith("median")
    assert one(TrimmedMean(), [70, 95, 80]).score == 80.0
    assert one(TrimmedMean(fallback="mean"), [70, 80, 90, 100]).score == 85.0
    assert np.isnan(one(TrimmedMean(fallback="nan"), [70, 80]).score)


def test_absent_scores_are_missing_not_zero():
    # 5 experts, one absent -> n = 4 -> median of present scores, not trimmed with a zero
    r = one(TrimmedMean(), [70, 80, np.nan, 90, 100])
    assert r.n_scores == 4 and r.n_absent == 1 and r.score == 85.0
    # 6 experts, one absent -> trim applies to the 5 present
    r = one(TrimmedMean(), [60, 70, 80, np.nan, 90, 100])
    assert r.n_scores == 5 and r.score == 80.0
    r = one(Mean(), [np.nan, np.nan])
    assert r.n_scores == 0 and np.isnan(r.score) and r.rule == "no scores"


def test_trim_k2():
    assert one(TrimmedMean(k=2, min_n=7), [1, 2, 50, 60, 70, 98, 99]).score == 60.0
    # n = 5 < min_n = 7 -> median
    assert one(TrimmedMean(k=2, min_n=7), [1, 2, 50, 98, 99]).score == 50.0


# ---------------------------------------------------------------- rounding
@pytest.mark.parametrize("scores,expected_up,expected_even", [
    ([84.12, 84.13], 84.13, 84.12),       # exact mean 84.125
    ([84.14, 84.15], 84.15, 84.14),       # exact mean 84.145: float round() gives 84.14
    ([84.1, 84.15], 84.13, 84.12),
    ([0, 84.125, 84.125, 84.125, 100], 84.13, 84.12),
    ([1.005, 1.005], 1.01, 1.0),          # 1.005 is 1.00499999... in binary
    ([-1.005, -1.005], -1.01, -1.0),      # half up = away from zero, as decimal.ROUND_HALF_UP
])
def test_rounding_at_half_boundaries(scores, expected_up, expected_even):
    agg = Mean() if len(scores) < 5 else TrimmedMean()
    assert one(agg, scores).score == expected_up
    agg.set_params(rounding="half_even")
    assert one(agg, scores).score == expected_even


def test_round_rational_matches_decimal():
    rng = np.random.default_rng(1)
    num = np.r_[rng.integers(-10**7, 10**7, 2000), [84125, 84145, -1005, 5, 15, 25]]
    den = np.r_[rng.integers(1, 400, 2000), [1000, 1000, 1000, 1000, 1000, 1000]]
    for mode, dm in (("half_up", ROUND_HALF_UP), ("half_even", ROUND_HALF_EVEN)):
        got = round_rational(num, den, 2, mode)
        with localcontext() as ctx:
            ctx.prec = 60
            want = [float((Decimal(int(n)) / Decimal(int(d))).quantize(Decimal("0.01"), rounding=dm))
                    for n, d in zip(num, den)]
        assert np.array_equal(got, np.array(want))


def test_round_half_float():
    assert list(round_half([84.125, 84.145, 2.675, 0.5, 1.5, -2.5], 2)) == [84.13, 84.15, 2.68, 0.5, 1.5, -2.5]
    assert list(round_half([0.5, 1.5, 2.5, -2.5], 0)) == [1, 2, 3, -3]
    assert list(round_half([0.5, 1.5, 2.5, -2.5], 0, "half_even")) == [0, 2, 2, -2]
    with pytest.raises(UserError):
        round_half([1.0], 2, "up")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12), st.integers(0, 2), st.integers(0, 3),
       st.sampled_from(["half_up", "half_even"]))
def test_trimmed_matches_exact_reference(tenths, k, decimals, rounding):
    scores = [t / 10 for t in tenths]
    agg = TrimmedMean(k=k, min_n=2 * k + 1, decimals=decimals, rounding=rounding)
    got = one(agg, scores).score
    xs = sorted(Fraction(t, 10) for t in tenths)
    n = len(xs)
    if n >= 2 * k + 1:
        ref = sum(xs[k:n - k], Fraction(0)) / (n - 2 * k)
    else:
        ref = (xs[(n - 1) // 2] + xs[n // 2]) / 2
    q = Decimal(1).scaleb(-decimals)
    mode = ROUND_HALF_UP if rounding == "half_up" else ROUND_HALF_EVEN
    want = (Decimal(ref.numerator) / Decimal(ref.denominator)).quantize(q, rounding=mode)
    assert got == float(want)


# ---------------------------------------------------------------- other estimators
def test_median_mean_winsorized_hand_values():
    s = [70, 80, 85, 85, 90]
    assert one(Median(), s).score == 85
    assert one(Median(), [70, 80, 85, 90]).score == 82.5
    assert one(Mean(), s).score == 82
    # winsorized k=1: 80, 80, 85, 85, 85 -> 83
    assert one(WinsorizedMean(), s).score == 83
    assert one(WinsorizedMean(k=2, min_n=5), [10, 20, 30, 40, 100]).score == 30
    assert one(WinsorizedMean(), [70, 80, 90]).score == 80  # n < 5 -> median


def _huber_reference(x, c=1.345):
    x = np.asarray(x, float)
    med = np.median(x)
    s = np.median(np.abs(x - med)) * 1.482602218505602
    psi = lambda mu: np.clip((x - mu) / s, -c, c).sum()
    return brentq(psi, x.min(), x.max(), xtol=1e-12)


def test_huber_matches_root_of_psi():
    s = [60, 71, 74, 75, 77, 78, 99]
    r = one(HuberM(decimals=6), s)
    assert abs(r.score_raw - _huber_reference(s)) < 1e-8
    # MAD = 0 -> median
    assert one(HuberM(), [80, 80, 80, 95, 50]).score == 80
    # robust: one wild score moves it much less than the mean
    assert abs(one(HuberM(), [75, 76, 74, 75, 5]).score - 75) < 1.5


def test_groups_panels_and_vectorised_equals_per_group():
    rng = np.random.default_rng(3)
    rows = []
    for a in range(40):
        n = rng.integers(1, 9)
        for e in rng.choice(30, n, replace=False):
            rows.append({"panel": f"P{a % 3}", "expert_id": f"E{e}", "application_id": f"A{a}",
                         "score": float(rng.integers(50, 100))})
    df = pd.DataFrame(rows)
    for agg in (TrimmedMean(), Median(), Mean(), WinsorizedMean(), HuberM()):
        res = agg.fit(df)
        assert list(res.columns[:2]) == ["panel", "application_id"]
        assert len(res) == 40
        for _, r in res.iterrows():
            sub = df[df.application_id == r.application_id]
            assert one(agg, sub.score.tolist()).score_raw == pytest.approx(r.score_raw)


def test_criterion_totals_missing_criterion_and_families():
    pol = load_policy()
    crit = [c.id for c in pol.rubric.criteria]
    rows = []
    for e in range(5):
        for c in crit:
            if e == 4 and c == "B2":
                continue  # expert E4 forgot B2
            rows.append({"expert_id": f"E{e}", "application_id": "X", "criterion": c, "score": 3.0 + e * 0.5})
    df = pd.DataFrame(rows)
    agg = make_aggregator("trimmed", pol)
    res = agg.fit(df).iloc[0]
    assert res.n_scores == 4 and res.n_absent == 1  # E4's total is missing, not partial
    assert "B2" in agg.problems_.criterion.iloc[0] and agg.problems_.kind.iloc[0] == "missing_criterion"
    totals = [len(crit) * (3.0 + e * 0.5) for e in range(4)]
    assert res.score == pytest.approx(np.median(totals))
    # family subtotals weighted like the total: B has 3 criteria
    assert res["B"] == pytest.approx(3 * np.median([3.0 + e * 0.5 for e in range(4)]))
    fams = [f.id for f in pol.rubric.families]
    assert res[fams].sum() == pytest.approx(res.score)


def test_criteria_without_rubric_use_table_criteria():
    df = pd.DataFrame({"expert_id": ["a", "a", "b", "b", "c"], "application_id": ["X"] * 5,
                       "criterion": ["q1", "q2", "q1", "q2", "q1"], "score": [1, 2, 3, 4, 5]})
    totals, problems = normalize_scores(df)
    assert totals.set_index("expert_id").score.to_dict() == {"a": 3, "b": 7, "c": pytest.approx(np.nan, nan_ok=True)}
    assert problems.kind.tolist() == ["missing_criterion"]


def test_criteria_only_observed_pairs_count():
    # two panels with different experts: no phantom (expert, application) pairs from other panels
    rows = []
    for panel, experts, app in (("P1", ["a", "b", "c"], "X"), ("P2", ["d", "e", "f"], "Y")):
        for e in experts:
            for c in ("q1", "q2"):
                rows.append({"panel": panel, "expert_id": e, "application_id": app, "criterion": c, "score": 4.0})
    rows.append({"panel": "P1", "expert_id": "g", "application_id": "X", "criterion": "q1", "score": None})
    rows.append({"panel": "P1", "expert_id": "g", "application_id": "X", "criterion": "q2", "score": None})
    res = Mean().fit(pd.DataFrame(rows)).set_index("application_id")
    assert res.loc["X", "n_scores"] == 3 and res.loc["X", "n_absent"] == 1
    assert res.loc["Y", "n_scores"] == 3 and res.loc["Y", "n_absent"] == 0
    assert res.loc["X", "score"] == 8.0


def test_duplicates():
    df = pd.DataFrame({"expert_id": ["a", "a", "b", "b", "c"], "application_id": ["X"] * 5,
                       "score": [80, 80, 70, 75, 90]})
    totals, problems = normalize_scores(df)
    assert sorted(totals.expert_id) == ["a", "c"]  # b's two different scores both excluded
    assert set(problems.kind) == {"duplicate"}
    assert any("b" == p for p in problems.expert_id)


def test_input_errors_name_column_and_value():
    with pytest.raises(UserError, match="missing column"):
        Mean().fit(pd.DataFrame({"expert_id": ["a"], "score": [1]}))
    with pytest.raises(UserError, match="column score: value 'abc'"):
        Mean().fit(pd.DataFrame({"expert_id": ["a"], "application_id": ["X"], "score": ["abc"]}))
    with pytest.raises(UserError, match="confidence"):
        Mean().fit(pd.DataFrame({"expert_id": ["a"], "application_id": ["X"], "score": [1], "confidence": [0]}))
    with pytest.raises(UserError):
        TrimmedMean(k=-1)
    with pytest.raises(UserError):
        make_aggregator("best", load_policy())


def test_ids_normalised():
    df = pd.DataFrame({"expert_id": [1, 2, 3], "application_id": [1001.0, 1001.0, 1001.0], "score": [1, 2, 3]})
    assert Mean().fit(df).application_id.tolist() == ["1001"]


def test_make_aggregator_reads_policy():
    pol = load_policy()
    agg = make_aggregator(None, pol)
    assert isinstance(agg, TrimmedMean)
    assert (agg.k, agg.min_n, agg.decimals, agg.rounding) == (pol.aggregation.trim_k, pol.aggregation.trim_min_n,
                                                               pol.aggregation.decimals, pol.aggregation.rounding)
    assert make_aggregator("trimmed", pol, k=2).k == 2
    for name in ("median", "mean", "winsorized", "huber", "calibrated", "bayes"):
        assert make_aggregator(name, pol).method == name


def test_add_rank_competition():
    r = add_rank(pd.DataFrame({"score": [90, 80, 90, np.nan, 70]}))
    assert r["rank"].tolist()[:3] == [1, 3, 1] and pd.isna(r["rank"].iloc[3]) and r["rank"].iloc[4] == 4
