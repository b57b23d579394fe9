"""Past recognition rounds and the centres' later annual evaluations, for the predictive-validity
analysis (issue 18 part 3; reviewer.analytics.validity). Synthetic, seeded, with planted effects:

* rounds 2019-2023, ``CENTRES_PER_ROUND`` recognised centres each (application ids GX<year>-R<nn>),
  recognition-stage panels of ``PANEL_SIZE`` experts drawn from a pool of ``POOL`` past experts
  (ids PZ001..), scored on the policy's rubric;
* every centre has a latent **capability** z ~ N(0, 1) and an unrelated **presentation** p ~ N(0, 1).
  The criteria of the families in ``SIGNAL_FAMILIES`` (B 核心定位, E 产业化) reflect capability:
  share of the maximum = 0.74 + 0.07 z; the other families (A, C, D, F) reflect presentation only:
  0.74 + 0.03 p. Plus each expert's leniency ~ N(0, 0.02) and noise sd 0.05 per criterion;
* planted experts: ``UNINFORMATIVE_EXPERT`` scores from a private draw of capability and
  presentation (their scores carry no signal); ``SHARP_EXPERT`` has noise sd 0.01 (the most
  predictive); both sit on about three times as many panels as the others;
* the annual evaluations (考核评估) of the years after recognition up to 2025 depend on capability
  only: total = clip(78 + 8 z + N(0, 4), 30, 100), banded by the policy's evaluation bands.

So the analysis should find: every aggregation method predicts the outcome (rho > 0), families
B and E carry the signal and A, C, D, F do not, the uninformative expert's rho interval covers 0.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from reviewer.exports import write_csv
from reviewer.policy import Policy, load_policy

__all__ = ["past_rounds", "demo_validity_tables", "SIGNAL_FAMILIES", "UNINFORMATIVE_EXPERT", "SHARP_EXPERT"]

YEARS = (2019, 2020, 2021, 2022, 2023)
CENTRES_PER_ROUND = 12
PANEL_SIZE = 7
POOL = 30
SIGNAL_FAMILIES = ("B", "E")
UNINFORMATIVE_EXPERT = "PZ001"
SHARP_EXPERT = "PZ002"
LAST_EVALUATED_YEAR = 2025
DEFAULT_SEED = 18


def _band(total: float, bands: dict[str, float]) -> str:
    for name, low in sorted(bands.items(), key=lambda kv: -kv[1]):
        if total >= low:
            return name
    return min(bands, key=bands.get)


def past_rounds(policy: Policy, seed: int = DEFAULT_SEED) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(scores: round, application_id, expert_id, criterion, score; evaluations: centre_id, year,
    total, band; planted: what was planted), see the module doc."""
    rng = np.random.default_rng(seed)
    experts = [f"PZ{i:03d}" for i in range(1, POOL + 1)]
    weight = np.ones(POOL)
    weight[:2] = 3.0                                   # the two planted experts sit on more panels
    leniency = rng.normal(0, 0.02, POOL)
    crit = policy.rubric.criteria
    fam = np.array([policy.rubric.family_of(c.id) in SIGNAL_FAMILIES for c in crit])
    maxes = np.array([c.max for c in crit])
    rows, evals, truth = [], [], {}
    for year in YEARS:
        for k in range(1, CENTRES_PER_ROUND + 1):
            app = f"GX{year}-R{k:02d}"
            z, p = rng.normal(), rng.normal()
            truth[app] = round(float(z), 4)
            panel = rng.choice(POOL, size=PANEL_SIZE, replace=False, p=weight / weight.sum())
            for j in panel:
                eid = experts[j]
                zz, pp = (rng.normal(), rng.normal()) if eid == UNINFORMATIVE_EXPERT else (z, p)
                sd = 0.01 if eid == SHARP_EXPERT else 0.05
                share = 0.74 + np.where(fam, 0.07 * zz, 0.03 * pp) + leniency[j] + rng.normal(0, sd, len(crit))
                score = np.round(np.clip(share, 0, 1) * maxes, 1)
                rows += [(str(year), app, eid, c.id, float(s)) for c, s in zip(crit, score)]
            for ey in range(year + 1, LAST_EVALUATED_YEAR + 1):
                total = float(np.clip(78 + 8 * z + rng.normal(0, 4), 30, 100))
                evals.append((app, ey, round(total, 1), _band(total, policy.evaluation.bands)))
    scores = pd.DataFrame(rows, columns=["panel", "application_id", "expert_id", "criterion", "score"])
    ev = pd.DataFrame(evals, columns=["centre_id", "year", "total", "band"])
    planted = {"seed": seed, "signal_families": list(SIGNAL_FAMILIES), "uninformative_expert": UNINFORMATIVE_EXPERT,
               "sharp_expert": SHARP_EXPERT, "capability": truth,
               "outcome_model": "total = clip(78 + 8 z + N(0, 4), 30, 100)"}
    return scores, ev, planted


def demo_validity_tables(seed: int = DEFAULT_SEED) -> tuple[pd.DataFrame, pd.DataFrame, Policy]:
    """The demo's past rounds as `reviewer validity --demo` reads them (the bundled policy)."""
    pol = load_policy(None)
    scores, ev, _ = past_rounds(pol, seed)
    return scores, ev, pol


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reviewer.demo.past_rounds",
                                 description="Write the demo's past recognition scores and later evaluations (CSV).")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    scores, ev, _ = past_rounds(load_policy(None), args.seed)
    zh = {"panel": "批次", "application_id": "申报编号", "expert_id": "专家编号", "criterion": "评分项", "score": "得分"}
    write_csv(scores.rename(columns=zh), Path(args.out) / "past_scores.csv")
    write_csv(ev.rename(columns={"centre_id": "中心编号", "year": "年度", "total": "总分", "band": "等次"}),
              Path(args.out) / "past_evaluations.csv")
    print(f"written to {args.out}: past_scores.csv ({len(scores)} rows), past_evaluations.csv ({len(ev)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
