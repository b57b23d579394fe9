import numpy as np
import pandas as pd
import pytest

from reviewer.scoring.aggregation import make_aggregator
from reviewer.scoring.calibration import BayesRank, Calibration, lottery_groups
from reviewer.errors import UserError
from reviewer.policy import load_policy


def simulate(n_apps=200, n_experts=40, k=6, bias_sd=5.0, noise=2.0, seed=1, confidence=False):
    rng = np.random.default_rng(seed)
    bias = rng.normal(0, bias_sd, n_experts)
    val = rng.normal(70, 8, n_apps)
    rows = []
    for a in range(n_apps):
        for e in rng.choice(n_experts, k, replace=False):
            conf = rng.choice([0.5, 1.0, 2.0]) if confidence else 1.0
            rows.append((f"E{e:02d}", f"A{a:03d}", val[a] + bias[e] + rng.normal(0, noise / np.sqrt(conf)), conf))
    df = pd.DataFrame(rows, columns=["expert_id", "application_id", "score", "confidence"])
    if not confidence:
        df = df.drop(columns="confidence")
    return df, bias, val


def test_recovers_planted_leniencies():
    # Tolerance: every estimated leniency within 4 standard errors of the truth (centred), RMSE < 0.6
    # points for bias sd 5, noise sd 2, 6 experts per application, 30 scores per expert.
    df, bias, val = simulate()
    cal = Calibration()
    res = cal.fit(df)
    ex = cal.experts_
    true = bias - bias.mean()
    err = ex.leniency.to_numpy() - true
    assert np.sqrt(np.mean(err**2)) < 0.6
    assert np.all(np.abs(err) < 4 * ex.se.to_numpy())
    assert abs(ex.leniency.sum()) < 1e-8                       # mean-zero constraint
    assert cal.sigma_ == pytest.approx(2.0, rel=0.15)
    # calibrated values track the true values far better than raw means
    raw = df.groupby("application_id").score.mean().to_numpy()
    truth = val + bias.mean()
    assert np.sqrt(np.mean((res.score_raw - truth) ** 2)) < 0.5 * np.sqrt(np.mean((raw - truth) ** 2))
    assert cal.n_components_ == 1 and cal.warnings_ == []
    # coverage of the 95% intervals on the values: roughly 95%
    cover = ((res.ci_low <= truth) & (truth <= res.ci_high)).mean()
    assert 0.88 <= cover <= 0.99


def test_confidence_weights_used():
    df, bias, _ = simulate(confidence=True, seed=4)
    a = Calibration().fit(df)
    b = Calibration(use_confidence=False).fit(df)
    assert not np.allclose(a.score_raw, b.score_raw)
    cal = Calibration()
    cal.fit(df)
    err = cal.experts_.leniency.to_numpy() - (bias - bias.mean())
    assert np.sqrt(np.mean(err**2)) < 0.8


def test_hand_computed_two_by_two_plus_one():
    # Experts a (lenient) and b both score X and Y; a alone scores Z.
    # Complete block X,Y: b_a - b_b = mean over X,Y of (s_a - s_b) = ((84-80) + (74-70)) / 2 = 4 -> b_a = 2, b_b = -2;
    # Z has only a's score, fitted exactly: v_Z = 90 - 2.
    df = pd.DataFrame({"expert_id": ["a", "b", "a", "b", "a"], "application_id": ["X", "X", "Y", "Y", "Z"],
                       "score": [84, 80, 74, 70, 90]})
    cal = Calibration()
    res = cal.fit(df).set_index("application_id")
    assert cal.experts_.set_index("expert_id").leniency.to_dict() == pytest.approx({"a": 2.0, "b": -2.0})
    assert res.score_raw.to_dict() == pytest.approx({"X": 82.0, "Y": 72.0, "Z": 88.0})


def test_disconnected_graph_reported():
    df = pd.DataFrame({"expert_id": ["a", "b", "a", "b", "c", "d", "c", "d"],
                       "application_id": ["X", "X", "Y", "Y", "U", "U", "V", "V"],
                       "score": [80, 70, 60, 55, 90, 88, 85, 80]})
    cal = Calibration()
    res = cal.fit(df).set_index("application_id")
    assert cal.n_components_ == 2
    assert "not comparable" in cal.warnings_[0] or "comparable only within" in cal.warnings_[0]
    assert res.loc["X", "component"] != res.loc["U", "component"]
    assert res.loc["X", "component"] == res.loc["Y", "component"]
    text = "\n".join(cal.warnings_)
    assert "U" in text and "c" in text
    ex = cal.experts_.set_index("expert_id")
    assert ex.loc[["a", "b"], "leniency"].sum() == pytest.approx(0)   # zero within each component
    assert ex.loc[["c", "d"], "leniency"].sum() == pytest.approx(0)


def test_exact_and_approximate_se_agree_roughly():
    df, _, _ = simulate(seed=2)
    a, b = Calibration(), Calibration(exact_se_max_experts=0)
    ra, rb = a.fit(df), b.fit(df)
    assert a.experts_.se_method.iloc[0] == "exact" and b.experts_.se_method.iloc[0] == "diagonal approximation"
    assert np.allclose(ra.score_raw, rb.score_raw)
    assert np.allclose(a.experts_.se, b.experts_.se, rtol=0.2)


def test_absent_scores_and_unscored_application():
    df = pd.DataFrame({"expert_id": ["a", "b", "a", "b"], "application_id": ["X", "X", "Y", "Y"],
                       "score": [80, 70, np.nan, np.nan]})
    res = Calibration().fit(df).set_index("application_id")
    assert np.isnan(res.loc["Y", "score"]) and res.loc["Y", "n_absent"] == 2 and res.loc["Y", "rule"] == "no scores"


# ------------------------------------------------------------------ Bayes
def test_bayes_sucra_identity_and_reproducible():
    df, bias, val = simulate(n_apps=60, n_experts=20, k=5, seed=3)
    br = BayesRank(n_slots=10, draws=400, burn=200, seed=11, credible=0.9)
    res = br.fit(df)
    N = len(res)
    assert np.allclose(res.sucra, (N - res.expected_rank) / (N - 1))
    assert res.expected_rank.sum() == pytest.approx(N * (N + 1) / 2)  # ranks are a permutation per draw
    res2 = BayesRank(n_slots=10, draws=400, burn=200, seed=11, credible=0.9).fit(df)
    pd.testing.assert_frame_equal(res, res2)
    assert set(res.group) <= {"funded", "lottery", "not funded"}
    funded = res[res.group == "funded"]
    assert br.funding_line_ == 10.5
    assert (funded.rank_high <= 10).all() and len(funded) <= 10
    lot = res[res.group == "lottery"]
    assert ((lot.rank_low <= 10) & (lot.rank_high > 10)).all()
    assert br.lottery_slots_ == 10 - len(funded) and len(lot) > br.lottery_slots_ > 0
    nf = res[res.group == "not funded"]
    assert (nf.rank_low > 10).all()
    # ranks agree with the truth
    assert np.corrcoef(res.expected_rank, -val)[0, 1] > 0.9
    assert (res.rank_low <= res.rank_high).all() and (res.rank_low >= 1).all() and (res.rank_high <= N).all()


def testlottery_groups_edge_cases():
    er = np.array([1.0, 2.0, 3.0, 4.0])
    ids = np.array(["a", "b", "c", "d"])
    pm = -er
    # degenerate intervals: no draw, best two funded
    g, fl = lottery_groups(er, er, er, pm, ids, 2)
    assert list(g) == ["funded", "funded", "not funded", "not funded"] and fl == 2.5
    # b and c overlap the line at 2: b, c share the second slot
    g, _ = lottery_groups(er, np.array([1, 1.5, 1.8, 4]), np.array([1, 2.5, 3.5, 4]), pm, ids, 2)
    assert list(g) == ["funded", "lottery", "lottery", "not funded"]
    assert list(lottery_groups(er, er, er, pm, ids, 0)[0]) == ["not funded"] * 4
    # slots already filled by certain ones: the crossing candidate is not funded
    g, _ = lottery_groups(er, np.array([1, 1, 2, 4]), np.array([1, 2, 3, 4]), pm, ids, 2)
    assert list(g) == ["funded", "funded", "not funded", "not funded"]
    # exactly as many candidates as slots left: no draw
    g, _ = lottery_groups(er, np.array([1, 1, 3, 4]), np.array([1, 3, 4, 4]), pm, ids, 2)
    assert list(g) == ["funded", "funded", "not funded", "not funded"]
    assert list(lottery_groups(er, er, er, pm, ids, 9)[0]) == ["funded"] * 4


def test_bayes_expert_effects_recovered():
    df, bias, val = simulate(n_apps=100, n_experts=20, k=6, seed=5)
    br = BayesRank(draws=500, burn=300, seed=1)
    br.fit(df)
    est = br.experts_.leniency.to_numpy()
    assert np.corrcoef(est, bias)[0, 1] > 0.95


def test_bayes_bad_params():
    with pytest.raises(UserError):
        BayesRank(credible=1.5)
    with pytest.raises(UserError):
        BayesRank(n_slots=-1)


def test_factory_builds_models():
    pol = load_policy()
    assert isinstance(make_aggregator("calibrated", pol), Calibration)
    b = make_aggregator("bayes", pol, n_slots=3, draws=50, burn=10)
    assert isinstance(b, BayesRank) and b.seed == pol.aggregation.seed and b.n_slots == 3
