"""Predictive validity (issue 18 part 3) on the demo's past rounds: the analysis recovers the
planted effects within their uncertainty (reviewer.demo.past_rounds documents them)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reviewer.analytics.validity import VALIDITY_METHODS, read_validity_tables, spearman_boot, validity_report
from reviewer.demo.past_rounds import SHARP_EXPERT, SIGNAL_FAMILIES, UNINFORMATIVE_EXPERT, demo_validity_tables, main
from reviewer.errors import UserError


@pytest.fixture(scope="module")
def report():
    sc, ev, pol = demo_validity_tables()
    return validity_report(sc, ev, pol, n_resamples=1000)


def test_every_method_predicts_the_later_evaluations(report):
    m = report.methods.set_index("method")
    assert list(m.index) == list(VALIDITY_METHODS) and report.n_centres == 60
    assert (m["rho_low"] > 0).all() and (m["rho"] < m["rho_high"]).all()


def test_the_planted_signal_families_carry_the_signal_and_only_they(report):
    f = report.families.set_index("family")
    assert set(f.index[f["signal"]]) == set(SIGNAL_FAMILIES) == {"B", "E"}
    others = f.drop(index=list(SIGNAL_FAMILIES))
    assert ((others["rho_low"] <= 0) & (others["rho_high"] >= 0)).all()   # no signal: intervals cover 0


def test_the_uninformative_expert_is_found_and_the_sharp_one_is_not(report):
    e = report.experts.set_index("expert_id")
    u, s = e.loc[UNINFORMATIVE_EXPERT], e.loc[SHARP_EXPERT]
    assert u["rho_low"] <= 0 <= u["rho_high"]                 # true rho 0: inside the interval
    assert u["diff_high"] < 0 and "低于专家组共识" in u["assessment"]
    assert s["diff_high"] > 0 and "低于" not in s["assessment"]
    # shrinkage pulls every difference toward the experts' mean, never past it
    mu = e["diff"].mean()
    assert ((e["diff_shrunk"] - mu).abs() <= (e["diff"] - mu).abs() + 1e-9).dropna().all()


def test_spearman_bootstrap_interval():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    rho, lo, hi, n = spearman_boot(x, x + rng.normal(size=200), n_resamples=500)
    assert n == 200 and lo < rho < hi and 0.55 < rho < 0.8
    assert np.isnan(spearman_boot([1, 2], [2, 1])[0])


def test_files_round_trip_and_clear_errors(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
    sc, ev, pol = read_validity_tables(tmp_path / "past_scores.csv", tmp_path / "past_evaluations.csv")
    assert len(ev) > 100 and sc["panel"].nunique() == 5
    bad = pd.read_csv(tmp_path / "past_evaluations.csv", dtype=str)
    bad.loc[3, "总分"] = "良"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match=r"bad.csv: row 5, column total: value '良'; expected a number"):
        read_validity_tables(tmp_path / "past_scores.csv", tmp_path / "bad.csv")
    with pytest.raises(UserError, match="at least 3 are needed"):
        validity_report(sc, ev.assign(centre_id="X"), pol)
