import numpy as np
import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.scoring.reliability import (
    expert_deviation,
    flag_outliers,
    icc,
    icc_oneway,
    kendalls_w,
    krippendorff_alpha,
    reliability_report,
)

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges
SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]

nan = np.nan
# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", 4 observers x 12 units, missing data
KRIPP = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]


def long(matrix, apps=None):
    rows = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            rows.append({"expert_id": f"J{j}", "application_id": f"T{i}" if apps is None else apps[i], "score": v})
    return pd.DataFrame(rows)


def test_icc_shrout_fleiss_published_values():
    r = icc(SF)
    assert (round(r["BMS"], 2), round(r["WMS"], 2), round(r["JMS"], 2), round(r["EMS"], 2)) == (11.24, 6.26, 32.49, 1.02)
    published = {"ICC1_1": .17, "ICC2_1": .29, "ICC3_1": .71, "ICC1_k": .44, "ICC2_k": .62, "ICC3_k": .91}
    for k, v in published.items():
        assert round(r[k], 2) == v, k


def test_icc_oneway_equal_sizes_matches_icc1():
    r = icc_oneway([np.array(row, float) for row in SF])
    assert r["ICC1"] == pytest.approx(icc(SF)["ICC1_1"]) and r["k0"] == 4
    # unequal sizes: k0 = (N - sum n_i^2 / N) / (n - 1)
    r2 = icc_oneway([np.array([1., 2, 3]), np.array([5., 6]), np.array([9., 8, 7, 9])])
    N, sizes = 9, np.array([3, 2, 4])
    assert r2["k0"] == pytest.approx((N - (sizes**2).sum() / N) / 2)
    # hand: means 2, 5.5, 8.25; grand 50/9; SSB, SSW below
    grand = 50 / 9
    ssb = 3 * (2 - grand) ** 2 + 2 * (5.5 - grand) ** 2 + 4 * (8.25 - grand) ** 2
    ssw = 2 + 0.5 + (0.5625 + 0.0625 + 1.5625 + 0.5625)
    bms, wms = ssb / 2, ssw / 6
    assert r2["ICC1"] == pytest.approx((bms - wms) / (bms + (r2["k0"] - 1) * wms))


def test_kendalls_w_with_ties_hand_computed():
    # objects x raters; rater 3 ties objects 1 and 2
    x = np.array([[1, 1, 1], [2, 3, 1], [3, 2, 3], [4, 4, 4]])
    # R = [3.5, 6.5, 8, 12], S = 37.5, T = 2^3 - 2 = 6, W = 12 S / (9 (64 - 4) - 3 * 6) = 450 / 522
    assert kendalls_w(x)["W"] == pytest.approx(450 / 522)
    assert kendalls_w(np.tile(np.arange(5.0)[:, None], (1, 3)))["W"] == pytest.approx(1.0)
    with pytest.raises(UserError):
        kendalls_w([[1, nan], [2, 3]])


def test_krippendorff_published_values():
    assert round(krippendorff_alpha(KRIPP, "interval"), 3) == 0.849
    assert round(krippendorff_alpha(KRIPP, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(KRIPP, "ratio"), 3) == 0.797
    # same from a long table (absent = NaN rows)
    rows = [{"expert_id": f"O{o}", "application_id": f"U{u:02d}", "score": v}
            for o, row in enumerate(KRIPP) for u, v in enumerate(row)]
    assert round(krippendorff_alpha(pd.DataFrame(rows)), 3) == 0.849


def test_flag_outliers_points_and_robust_z():
    pol = load_policy()
    df = long([[80, 82, 79, 81, 60]])  # 60 is 20 below median 80
    out = flag_outliers(df, pol)
    row = out[out.score == 60].iloc[0]
    assert row.flag_points and row.deviation == -20 and row.panel_median == 80
    assert row.flag_robust_z  # MAD = 1 -> z = -20 / 1.4826
    assert "15" in row.reason and "中位数" in row.reason
    assert out.flagged.sum() == 1
    # threshold from the policy, overridable; exactly 15 away is not "more than 15"
    df2 = long([[80, 80, 81, 79, 95]])
    assert not flag_outliers(df2, pol, robust_z=1e9).flag_points.any()
    assert flag_outliers(df2, pol, points=10, robust_z=1e9).flag_points.sum() == 1


def test_expert_deviation_flags_systematic_high_rater():
    rng = np.random.default_rng(0)
    rows = []
    for a in range(8):
        base = rng.normal(70, 5)
        for e in range(5):
            s = base + rng.normal(0, 1) + (12 if e == 0 else 0)
            rows.append({"expert_id": f"E{e}", "application_id": f"A{a}", "score": round(s, 1)})
    out = expert_deviation(pd.DataFrame(rows)).set_index("expert_id")
    assert out.loc["E0", "always_highest"] and out.loc["E0", "biased"] and out.loc["E0", "flagged"]
    assert out.loc["E0", "mean_deviation"] > 8
    assert "highest" in out.loc["E0", "reason"] and "最高分" in out.loc["E0", "reason"]
    assert not out.drop("E0").always_highest.any()
    assert out.loc["E1", "n_panels"] == 8


def test_reliability_report_crossed_and_nested():
    rows = long(SF)
    rows["panel"] = "P1"
    nested = []
    for i, row in enumerate(SF):  # different experts per target -> nested
        for j, v in enumerate(row[: 3 if i % 2 else 4]):
            nested.append({"panel": "P2", "expert_id": f"N{i}_{j}", "application_id": f"S{i}", "score": v})
    rep = reliability_report(pd.concat([rows, pd.DataFrame(nested)])).set_index("panel")
    assert rep.loc["P1", "design"] == "crossed" and round(rep.loc["P1", "ICC2_1"], 2) == 0.29
    assert round(rep.loc["P1", "ICC2_k"], 2) == 0.62 and rep.loc["P1", "kendall_W"] > 0
    assert rep.loc["P2", "design"] == "nested/incomplete" and np.isfinite(rep.loc["P2", "ICC1"])
    assert np.isnan(rep.loc["P2", "ICC2_1"])
    assert "ALL" in rep.index
