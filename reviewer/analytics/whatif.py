"""What-if re-ranking (issue 18 part 2): the same scores under other rules, side by side.

A :class:`Scenario` changes any of: the aggregation method and trimming, the thresholds (推荐线
recommend_min_score, family minima such as B >= 15, 培育线 cultivation_min_score), one centre per
field, the total budget and the quorum (min_scores, quorum_share). :func:`rank_scenario` applies
it to a copy of the policy — the recorded ranking and the round's policy are never touched — and
gives the recognition list (reviewer.scoring.ranking) with each application's rank interval;
:func:`compare` lists, application by application, the baseline and the scenario and why a
decision changed.

Rank intervals: for the order-statistic and Huber methods the bootstrap of
:mod:`reviewer.scoring.uncertainty` (experts resampled within panels); for calibrated and bayes, which
give their own score intervals, ranks of normal draws from each score's interval (score ± z·se,
se = interval half-width / z), so every method is shown with an interval of the same kind.
calibrated_pooled (跨阶段校准, reviewer.scoring.pooled) reads ``WhatIfInput.borrow``: the experts'
scores of the other stages / rounds on the same instrument; the stored run records their ids.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.aggregation import METHODS
from reviewer.scoring.ranking import DECISION_LABELS, recognition_ranking
from reviewer.scoring.scoretable import aggregate_scores

__all__ = ["Scenario", "WhatIfInput", "rank_scenario", "compare", "comparison_sheets", "CHANGE_COLUMNS_ZH"]


# the two calibrations, named apart in a scenario's label (the app's labels: reviewer.app.text.METHOD_LABELS)
CALIBRATION_ZH = {"calibrated": "本阶段校准宽严尺度", "calibrated_pooled": "跨阶段校准宽严尺度"}


@dataclass(frozen=True)
class Scenario:
    """What to change; None = as the round's policy says."""
    method: str | None = None
    trim: int | None = None
    recommend_min: float | None = None
    cultivation_min: float | None = None
    family_min: Mapping[str, float] | None = None
    one_per_field: bool | None = None
    budget: float | None = None
    min_scores: int | None = None
    quorum_share: float | None = None

    def record(self) -> dict:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items() if v is not None}

    def check(self, policy: Policy) -> None:
        if self.method is not None and self.method not in METHODS:
            raise UserError(f"--method {self.method!r}: expected one of {list(METHODS)}")
        if self.trim is not None and self.trim < 0:
            raise UserError(f"--trim {self.trim}: expected an integer >= 0")
        for name, v in (("--recommend-min", self.recommend_min), ("--cultivation-min", self.cultivation_min)):
            if v is not None and not 0 <= v <= policy.rubric.total:
                raise UserError(f"{name} {v:g}: expected a score between 0 and {policy.rubric.total:g}")
        fams = {f.id for f in policy.rubric.families}
        for fid, v in (self.family_min or {}).items():
            if fid not in fams:
                raise UserError(f"--family-min {fid}={v}: family {fid!r} not in the rubric; expected one of {sorted(fams)}")
        if self.budget is not None and self.budget < 0:
            raise UserError(f"--budget {self.budget:g}: expected >= 0 yuan (0 = no limit)")
        if self.min_scores is not None and self.min_scores < 1:
            raise UserError(f"--min-scores {self.min_scores}: expected an integer >= 1")
        if self.quorum_share is not None and not 0 <= self.quorum_share <= 1:
            raise UserError(f"--quorum-share {self.quorum_share:g}: expected a share between 0 and 1")

    def apply(self, policy: Policy) -> Policy:
        """A copy of `policy` with this scenario's changes (the round's policy is never modified)."""
        self.check(policy)
        dec, agg, fun = policy.decision, policy.aggregation, policy.funding
        d: dict[str, Any] = {}
        if self.recommend_min is not None:
            d["recommend_min_score"] = float(self.recommend_min)
        if self.cultivation_min is not None:
            d["cultivation_min_score"] = float(self.cultivation_min)
        if self.family_min is not None:
            d["recommend_min_family"] = {k: float(v) for k, v in self.family_min.items()}
        if self.one_per_field is not None:
            d["one_per_field"] = bool(self.one_per_field)
        a: dict[str, Any] = {}
        if self.method is not None:
            a["method"] = self.method
        if self.trim is not None:
            a["trim_k"] = int(self.trim)
        if self.min_scores is not None:
            a["min_scores"] = int(self.min_scores)
        if self.quorum_share is not None:
            a["quorum_share"] = float(self.quorum_share)
        f = {"total_budget": float(self.budget)} if self.budget is not None else {}
        return policy.model_copy(update={"decision": dec.model_copy(update=d),
                                         "aggregation": agg.model_copy(update=a),
                                         "funding": fun.model_copy(update=f)})

    def label(self, policy: Policy) -> str:
        """The changes in words (Chinese), against `policy`."""
        p = self.apply(policy)
        parts = []
        if p.aggregation.method != policy.aggregation.method or self.trim is not None:
            parts.append(f"汇总方法 {policy.aggregation.method}→{p.aggregation.method}"
                         + (f"（{CALIBRATION_ZH[p.aggregation.method]}）" if p.aggregation.method in CALIBRATION_ZH else "")
                         + (f"（去掉最高最低各 {p.aggregation.trim_k}）" if self.trim is not None else ""))
        for zh, a, b in (("推荐线", policy.decision.recommend_min_score, p.decision.recommend_min_score),
                         ("培育线", policy.decision.cultivation_min_score, p.decision.cultivation_min_score),
                         ("总预算(元)", policy.funding.total_budget, p.funding.total_budget),
                         ("最少有效评分", policy.aggregation.min_scores, p.aggregation.min_scores),
                         ("到会比例", policy.aggregation.quorum_share, p.aggregation.quorum_share)):
            if a != b:
                parts.append(f"{zh} {a:g}→{b:g}")
        if p.decision.recommend_min_family != policy.decision.recommend_min_family:
            parts.append(f"分项最低分 {policy.decision.recommend_min_family}→{p.decision.recommend_min_family}")
        if p.decision.one_per_field != policy.decision.one_per_field:
            parts.append("一领域一中心 " + ("开→关" if policy.decision.one_per_field else "关→开"))
        return "；".join(parts) or "与现行规则相同 same as the policy"


@dataclass
class WhatIfInput:
    """A stage's scores and what the decision needs beyond them."""
    scores: pd.DataFrame                      # panel, application_id, expert_id, criterion, score[, confidence]
    fields: Mapping[str, str]                 # application_id -> field
    panels: Mapping[str, list[str]] = field(default_factory=dict)   # application_id -> its experts (quorum)
    eligible: Mapping[str, tuple[bool, str]] = field(default_factory=dict)  # application_id -> (passed, reason)
    names: Mapping[str, str] = field(default_factory=dict)
    # calibrated_pooled only: the experts' scores elsewhere on the same instrument (other stages of the
    # round, past rounds; panel = source label, reviewer.scoring.pooled); None = none
    borrow: pd.DataFrame | None = None


def _rank_interval_normal(res: pd.DataFrame, level: float, seed: int, draws: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Rank intervals from normal draws of each score within its interval (calibrated, bayes)."""
    z = stats.norm.ppf(0.5 + level / 2)
    score = res["score"].to_numpy(float)
    se = (res["se"].to_numpy(float) if "se" in res.columns else
          (res["ci_high"].to_numpy(float) - res["ci_low"].to_numpy(float)) / (2 * z))
    ok = np.isfinite(score)
    has_se = np.isfinite(se)
    se = np.where(has_se, se, 0.0)
    rng = np.random.default_rng(seed)
    sims = score[None, :] + rng.standard_normal((draws, score.size)) * se[None, :]
    sims[:, ~ok] = -np.inf
    ranks = stats.rankdata(-sims, axis=1, method="min").astype(float)
    a = (1 - level) / 2
    lo, hi = np.quantile(ranks, [a, 1 - a], axis=0, method="inverted_cdf")   # ranks that occur: whole numbers
    ok &= has_se          # no standard error (e.g. calibrated, scores not comparable): no interval
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def rank_scenario(inp: WhatIfInput, policy: Policy, scenario: Scenario, *, resamples: int = 400,
                  seed: int | None = None, level: float = 0.95) -> tuple[pd.DataFrame, Policy, list[str]]:
    """The recognition list of `inp` under `scenario` (module doc), with rank intervals; the
    scenario's policy; and the aggregation's notes (e.g. calibrated scores not comparable).
    Scores of one stage of the policy (column panel) are ranked with that stage's instrument."""
    stages = ([v for v in pd.unique(inp.scores["panel"].dropna()) if v in policy.stages.order]
              if "panel" in inp.scores.columns else [])
    if len(stages) == 1:          # e.g. 现场考察 by its checklist: its own total, no rubric family rules
        policy = policy.for_stage(str(stages[0]))
    pol = scenario.apply(policy)
    method = pol.aggregation.method
    seed = pol.aggregation.seed if seed is None else seed
    df = inp.scores.assign(field=inp.scores["application_id"].map(inp.fields))
    agg, notes = aggregate_scores(df, pol, method, trim=scenario.trim, resamples=resamples, seed=seed,
                                  panels=inp.panels or None,
                                  borrow=inp.borrow if method == "calibrated_pooled" else None)
    if "rank_low" not in agg.columns:
        ranked = agg["score"].notna()
        lo, hi = _rank_interval_normal(agg[ranked], level, seed)
        agg.loc[ranked, "rank_low"], agg.loc[ranked, "rank_high"] = lo, hi
    fam = [f.id for f in pol.rubric.families]
    keep = ["application_id", "score", *[f for f in fam if f in agg.columns], "ci_low", "ci_high", "rank_low",
            "rank_high", *[c for c in ("status", "n_scores", "n_required", "missing_experts") if c in agg.columns]]
    apps = sorted(set(inp.fields) | set(agg["application_id"]))
    base = pd.DataFrame({"application_id": apps})
    base["field"] = base["application_id"].map(inp.fields)
    base["eligible"] = [inp.eligible.get(a, (True, ""))[0] for a in apps]
    base["ineligible_reason"] = [inp.eligible.get(a, (True, ""))[1] for a in apps]
    d = base.merge(agg[keep], on="application_id", how="left")
    out = recognition_ranking(d, pol)
    out["name"] = out["application_id"].map(inp.names)
    return out, pol, list(dict.fromkeys(notes))


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _why(b: pd.Series, a: pd.Series) -> str:
    """Why the decision (or rank) moved, in Chinese: the scores and ranks on both sides and the rule now."""
    sb, sa = _num(b["score"]), _num(a["score"])
    parts = [f"{DECISION_LABELS[b['decision']][0]}→{DECISION_LABELS[a['decision']][0]}"]
    if np.isfinite(sb) or np.isfinite(sa):
        parts.append(f"汇总得分 {sb:.2f}→{sa:.2f}" if np.isfinite(sb) and np.isfinite(sa) else
                     f"汇总得分 {'—' if not np.isfinite(sb) else f'{sb:.2f}'}→{'—' if not np.isfinite(sa) else f'{sa:.2f}'}")
    rb, ra = b["rank_overall"], a["rank_overall"]
    if not (pd.isna(rb) and pd.isna(ra)):
        parts.append(f"排名 {'—' if pd.isna(rb) else int(rb)}→{'—' if pd.isna(ra) else int(ra)}")
    parts.append(f"现：{a['reason_zh']}")
    return "；".join(parts)


def compare(base: pd.DataFrame, alt: pd.DataFrame) -> pd.DataFrame:
    """One row per application: baseline and scenario score, rank (with interval), decision and
    subsidy; ``changed`` when the decision or the subsidy differs, with the reason (Chinese)."""
    cols = ["application_id", "field", "score", "rank_overall", "rank_low", "rank_high", "decision", "decision_zh",
            "reason_zh", "subsidy"]
    b = base[[c for c in cols if c in base.columns] + ["name"]].set_index("application_id")
    a = alt[[c for c in cols if c in alt.columns]].set_index("application_id")
    m = b.join(a.drop(columns=["field"]).add_suffix("_alt"), how="outer").rename(
        columns={c: f"{c}_base" for c in b.columns if c in a.columns})
    changed, why = [], []
    for app in m.index:
        xb, xa = base.set_index("application_id").loc[app], alt.set_index("application_id").loc[app]
        ch = xb["decision"] != xa["decision"] or not np.isclose(_num(xb["subsidy"]), _num(xa["subsidy"]))
        changed.append(bool(ch))
        why.append(_why(xb, xa) if ch else "")
    m["changed"] = changed
    m["why_zh"] = why
    m = m.reset_index()
    return m.sort_values(["changed", "rank_overall_alt", "application_id"], ascending=[False, True, True],
                         na_position="last", ignore_index=True)


CHANGE_COLUMNS_ZH = {
    "application_id": "申报编号", "name": "创新中心名称", "field": "领域",
    "score_base": "现行得分", "rank_overall_base": "现行排名", "rank_low_base": "现行排名区间下限",
    "rank_high_base": "现行排名区间上限", "decision_zh_base": "现行结论", "subsidy_base": "现行补助(元)",
    "score_alt": "方案得分", "rank_overall_alt": "方案排名", "rank_low_alt": "方案排名区间下限",
    "rank_high_alt": "方案排名区间上限", "decision_zh_alt": "方案结论", "subsidy_alt": "方案补助(元)",
    "changed": "结论变化", "why_zh": "变化原因",
}


def comparison_sheets(cmp_: pd.DataFrame, title: str, params: dict) -> dict[str, pd.DataFrame]:
    """The one-page comparison for the leadership meeting (厅务会): the changed decisions first, then
    every other application; and the parameters (what was changed, the run id)."""
    cols = [c for c in CHANGE_COLUMNS_ZH if c in cmp_.columns]
    view = cmp_[cols].copy()
    view["changed"] = view["changed"].map({True: "是", False: ""})
    page = view.rename(columns=CHANGE_COLUMNS_ZH)
    head = pd.DataFrame({"项目": ["方案", *params.keys()], "内容": [title, *map(str, params.values())]})
    return {"方案对比": page, "参数": head}
