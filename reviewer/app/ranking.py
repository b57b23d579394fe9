"""Ranking in the staff app: aggregated scores (four methods, with intervals), the recognition and
cultivation lists with reasons and funding (reviewer.scoring.ranking). The reports and the sign-off
(确认发布) are in `reviewer.app.signoff`."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select

from reviewer.app import store as app_store
from reviewer.app.base import memo
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import fingerprint, policy_for
from reviewer.app.scores import scores, stage_panels, stage_scores
from reviewer.app.screening import screening
from reviewer.centres.ledger import Ledger
from reviewer.errors import UserError
from reviewer.store.borrow import borrowed_scores
from reviewer.scoring.pooled import same_instrument_stages, source_label
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.scoretable import aggregate_scores
from reviewer.store import registers, stages
from reviewer.store.models import Round

RANK_METHODS = ("trimmed", "calibrated", "calibrated_pooled", "bayes")
QUORUM_CARRIED = ("status", "n_scores", "n_required", "missing_experts")


def borrowed(round_id: str, stage: str) -> pd.DataFrame:
    """What calibrated_pooled (跨阶段校准, reviewer.scoring.pooled) borrows for `stage`: the round's other
    stages scored with the same instrument, as the app reads its scores (the demo round: the bundled
    demo scores), and the store's other rounds on that instrument. Source label ROUND·STAGE."""
    key = ("borrow", round_id, stage, app_store.url(), app_store.scores_version(round_id), app_store.version())

    def make() -> pd.DataFrame:
        pol = policy_for(round_id)
        sc = scores(round_id)
        own = sc[sc["panel"].isin(same_instrument_stages(pol, stage))]
        own = own.assign(panel=[source_label(round_id, x) for x in own["panel"]])
        with app_store.store().read() as s:
            r = s.execute(select(Round).where(Round.code == round_id)).scalar_one_or_none()
            other, _ = borrowed_scores(s, r, stage, other_rounds_only=True, policy=pol)
        cols = ["panel", "application_id", "expert_id", "criterion", "score"]
        out = pd.concat([x[cols] for x in (own, other) if not x.empty], ignore_index=True) \
            if not (own.empty and other.empty) else pd.DataFrame(columns=cols)
        return out

    return memo(key, make)


def aggregate(round_id: str, stage: str, method: str = "trimmed", resamples: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    panels = stage_panels(round_id, stage)
    key = ("agg", stage, method, resamples, *fingerprint(round_id, "sources.json"), app_store.url(),
           app_store.scores_version(round_id),
           tuple((a, tuple(e)) for a, e in sorted(panels.items())))

    def make():
        d = stage_scores(round_id, stage)
        if d.empty:
            raise UserError(f"{stage}: no scores yet; import score sheets first")
        policy = policy_for(round_id)
        fields = {a.application_id: a.field for a in load_bundle(round_id).data.applications}
        d = d.assign(field=d["application_id"].map(fields))
        n = resamples if resamples is not None else min(policy.aggregation.bootstrap_resamples, 400)
        res, notes = aggregate_scores(d, policy.for_stage(stage), method, resamples=n, panels=panels,
                                      borrow=borrowed(round_id, stage) if method == "calibrated_pooled" else None)
        res["field"] = res["application_id"].map(fields)
        return res, notes

    return memo(key, make)


def ranking(round_id: str, stage: str, method: str = "trimmed", budget: float | None = None) -> pd.DataFrame:
    """Recognition and cultivation lists with reasons and funding (reviewer.scoring.ranking), on the
    aggregated score of `method`; family subtotals (for the B minimum and tie-breaks) come with it
    (for calibrated and bayes: the trimmed mean of each expert's family sums). Applications below
    the quorum are listed as 评分不足; applications that failed screening stay in the list. Memoised
    under the store's version and the inputs' file times (a copy is returned: the page and the
    exports each ask for it, several times per rerun)."""
    key = ("ranking", round_id, stage, method, budget, *fingerprint(round_id, "sources.json"), app_store.url(),
           app_store.version())
    return memo(key, lambda: _ranking(round_id, stage, method, budget)).copy()


def _ranking(round_id: str, stage: str, method: str, budget: float | None) -> pd.DataFrame:
    b = load_bundle(round_id)
    agg, _ = aggregate(round_id, stage, method)
    pol = b.policy.for_stage(stage)     # a checklist stage ranks by its own total and families
    fam = [f.id for f in pol.rubric.families]
    sc = screening(round_id).summary.set_index("application_id")
    register, ledger, left = registers_of(round_id, b.policy)
    rows = []
    by_id = agg.set_index("application_id")
    for a in b.data.applications:
        r = {"application_id": a.application_id, "name": a.name, "field": a.field,
             "eligible": bool(sc.loc[a.application_id, "outcome"] == "pass"),
             "screening": sc.loc[a.application_id, "outcome"],     # needs-review undecided: 待复核
             "ineligible_reason": sc.loc[a.application_id, "reasons"] or sc.loc[a.application_id, "outcome_zh"],
             "stage_exclusion": left.get(a.application_id, "")}
        if a.application_id in by_id.index:
            x = by_id.loc[a.application_id]
            r["score"] = x["score"]
            for f in fam:
                r[f] = x.get(f, np.nan)
            for c in ("ci_low", "ci_high", *QUORUM_CARRIED):
                r[c] = x.get(c, np.nan)
        else:
            r["score"] = np.nan
            for f in fam:
                r[f] = np.nan
        rows.append(r)
    df = pd.DataFrame(rows)
    out = recognition_ranking(df, pol, total_budget=budget, register=register, ledger=ledger,
                              on=b.policy.as_of_date())
    extra = df[["application_id", "name", *[c for c in ("ci_low", "ci_high") if c in df.columns]]]
    out = out.drop(columns=[c for c in ("name", "ci_low", "ci_high") if c in out.columns]).merge(extra, on="application_id", how="left")
    return out


def registers_of(round_id: str, policy) -> tuple[dict[str, str], Ledger, dict[str, str]]:
    """The centre register as of the round date, the subsidy ledger (a copy: the page shows what a grant
    would be; the page records nothing) and why applications left at an earlier stage."""
    as_of = policy.as_of_date()
    with app_store.store().read() as s:
        r = s.execute(select(Round).where(Round.code == round_id)).scalar_one_or_none()
        scope = registers.scope_of(round_id)     # the demo round reads its own registers
        return (registers.occupied(s, as_of, scope), registers.load_ledger(s, policy, as_of, scope),
                stages.exclusions(s, r) if r is not None else {})


def register_empty(round_id: str) -> bool:
    """Whether the round's centre register has no entry at all: the ranking then cannot apply 一领域一中心 and
    the page says so (a real round's register is empty until staff import it on 登记册 or with `reviewer register`)."""
    with app_store.store().read() as s:
        return not registers.centre_entries(s, registers.scope_of(round_id))


REGISTER_EMPTY_ZH = ("中心登记册为空：一领域一中心未核对。推荐名单未排除已有中心的领域，请先在“登记册”页导入或登记往年中心"
                     "（或命令 `reviewer register centre|lifecycle`）。")
REGISTER_EMPTY_EN = ("The centre register is empty: one centre per field was not checked. The list does not leave out "
                     "fields that already have a centre; import or record the past centres on the Registers page first "
                     "(or `reviewer register centre|lifecycle`).")


def compare_methods(round_id: str, stage: str, methods: Iterable[str] = RANK_METHODS) -> pd.DataFrame:
    """One row per application: score, interval and rank under each method, side by side."""
    out = None
    for m in methods:
        r, _ = aggregate(round_id, stage, m)
        part = r[["application_id", "field", "score", "rank", "ci_low", "ci_high"]].rename(
            columns={"score": f"score_{m}", "rank": f"rank_{m}", "ci_low": f"low_{m}", "ci_high": f"high_{m}"})
        out = part if out is None else out.merge(part.drop(columns=["field"]), on="application_id", how="outer")
    return out.sort_values(f"rank_{list(methods)[0]}", ignore_index=True)


def intervals_long(round_id: str, stage: str, methods: Iterable[str] = RANK_METHODS) -> pd.DataFrame:
    frames = []
    for m in methods:
        r, _ = aggregate(round_id, stage, m)
        frames.append(pd.DataFrame({"application_id": r.application_id, "field": r.field, "method": m,
                                    "score": r.score, "low": r.ci_low, "high": r.ci_high}))
    return pd.concat(frames, ignore_index=True)


RANKING_EXPORT_COLS = ["rank_overall", "rank_in_field", "application_id", "name", "field", "score", "ci_low",
                       "ci_high", "A", "B", "C", "D", "E", "F", "decision_zh", "reason_zh", "subsidy"]
RANKING_HEADERS_ZH = {"rank_overall": "总排名", "rank_in_field": "领域内排名", "application_id": "申报编号",
                      "name": "创新中心名称", "field": "领域", "score": "汇总得分", "ci_low": "区间下限",
                      "ci_high": "区间上限", "decision_zh": "结论", "reason_zh": "理由", "subsidy": "建议补助（元）",
                      "A": "A 创新资源", "B": "B 核心定位", "C": "C 协同化", "D": "D 市场化", "E": "E 产业化",
                      "F": "F 可持续"}
