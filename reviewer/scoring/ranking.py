"""Recognition ranking and funding recommendation (SPEC §6, policy [decision] [funding] [fields]).

Input: one row per application with ``application_id``, ``score`` (aggregated total), ``field`` and
the rubric family subtotals (columns named by family id, e.g. ``A``..``F``, or by family name,
e.g. ``核心定位``).  Optional: ``eligible`` (screening result; false = ineligible), ``ineligible_reason``,
``national`` (approved as a national centre -> the national subsidy cap), ``requested_subsidy``.

Decision rules, in order (every row gets a decision and its reason in Chinese and English):

1. ``ineligible`` — failed screening (``eligible`` false), or the field is not a key field.
2. ``insufficient_scores`` (评分不足) — the application is below the quorum of its panel (column
   ``status``, from the aggregation; reviewer.scoring.quorum): the reason names the count and who is
   missing. ``not_scored`` — no aggregated score.
3. ``field_has_centre`` — the field already has a recognised centre ([fields] has_recognised_centre):
   no new centre there (一领域一中心), whatever the score; the row says what the score alone would give.
4. ``recommend`` — score >= recommend_min_score and every family minimum (recommend_min_family)
   met, and (one_per_field) the best such application of its field.
5. ``cultivation`` (培育) — either cultivation_min_score <= score < recommend_min_score; or the score
   passes but a family minimum fails (if score >= cultivation_min_score); or it passes every test
   but loses its field to a better-ranked application (one centre per field): it met the standard,
   so it is kept in the pipeline, and the row names the application that took the field.
6. ``not_recommended`` — everything else (score below cultivation_min_score).

Order: score (descending), then the tie_break_families subtotals in order (DEFAULT B then E,
descending), then — the stated deterministic fallback — application_id ascending.  Ranks are
strict positions 1..n (overall and within field) among eligible scored applications; a row whose
order was decided by a tie-break says so.

Funding (recommended rows only): subsidy = min(requested_subsidy if given, cap) where cap is
new_centre_subsidy_cap (national_centre_subsidy_cap if ``national``); 0 when the field is in
has_tech_innovation_centre and no_subsidy_if_tech_innovation_centre.  With a total budget > 0
(policy total_budget or the ``total_budget`` argument) subsidies are allocated in overall rank
order; the first one that does not fit, and every one after it, is cut (no leapfrogging by a
cheaper lower-ranked one), or with ``partial_last=True`` the first one gets the remainder.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.scoring.quorum import STATUS_INSUFFICIENT, STATUS_ZH
from reviewer.scoring.scores import APP, SCORE, as_id

__all__ = ["recognition_ranking", "DECISION_LABELS", "parse_bool", "fund_from_ledger"]

DECISION_LABELS = {
    "recommend": ("推荐认定", "recommend for recognition"),
    "cultivation": ("列入培育名单", "cultivation list"),
    "not_recommended": ("不予推荐", "not recommended"),
    "field_has_centre": ("该领域已有认定中心，不再新增", "field already has a centre"),
    "ineligible": ("形式审查未通过", "ineligible"),
    "not_scored": ("无有效评分", "no valid score"),
    "insufficient_scores": ("评分不足", "insufficient scores"),
    "needs_review": ("待复核", "needs review"),
    "stage_out": ("未通过前序阶段", "out at an earlier stage"),
}
# Screening outcomes (column `screening`) that are undecided: such a row is 待复核, never 形式审查未通过.
NEEDS_REVIEW = {"needs-review", "needs_review", "review", "待复核", "需复核"}

_TRUE = {"true", "1", "yes", "y", "t", "是", "通过", "合格", "pass", "passed", "eligible", "符合"}
_FALSE = {"false", "0", "no", "n", "f", "否", "未通过", "不合格", "fail", "failed", "ineligible", "不符合"}


def parse_bool(v: Any, *, column: str, row: Any, default: bool) -> bool:
    """Yes/no cell (English or Chinese).  Blank = default; anything else raises a UserError."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
        return default
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return bool(v)
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise UserError(f"row {row}, column {column}: value {v!r}; expected yes/no (true/false, 1/0, 是/否)")


def _fmt(x: float) -> str:
    return f"{x:g}" if np.isfinite(x) else "—"


def _money(x: float) -> str:
    return f"{x / 10_000:g}万元"


def recognition_ranking(agg: pd.DataFrame, policy: Policy, *, total_budget: float | None = None,
                        partial_last: bool = False, register: Mapping[str, str] | None = None,
                        tech_register: Mapping[str, str] | None = None, ledger: Any = None,
                        on: dt.date | None = None) -> pd.DataFrame:
    """Apply the decision and funding rules of `policy` (required: there is no hidden default);
    one row per application, best first (see module doc). `register`: field -> the centre register's
    entry that occupies it as of the round date (reviewer.centres.register; with the policy's
    has_recognised_centre). `tech_register`: field -> the technology innovation centre register's
    evidence. `ledger`: the subsidy ledger (reviewer.centres.ledger.Ledger) that decides every grant
    (caps, never twice, tech centres, annual budget), dated `on`."""
    register = {**{f: "政策文件所列 policy [fields] has_recognised_centre" for f in policy.fields.has_recognised_centre},
                **(register or {})}
    tech_register = {**{f: "政策文件所列 policy [fields] has_tech_innovation_centre"
                        for f in policy.fields.has_tech_innovation_centre}, **(tech_register or {})}
    d = _ranking_input(agg, policy)
    decision, rzh, ren = _screen_out(d, policy)
    r, tie = _order(d, decision == "", list(policy.decision.tie_break_families))
    _decide(d, r, tie, policy, decision, rzh, ren, register)
    d["decision"] = decision
    d["decision_zh"] = [DECISION_LABELS[x][0] for x in decision]
    d["reason_zh"] = rzh
    d["reason_en"] = ren
    d["field_has_centre"] = [f in register for f in d["field"]]
    d["field_has_tech_centre"] = [f in tech_register for f in d["field"]]
    d["tech_centre_evidence"] = [tech_register.get(f, "") for f in d["field"]]
    if ledger is not None:
        fund_from_ledger(d, decision, policy, ledger, on or policy.as_of_date(), total_budget)
    else:
        _fund(d, decision, policy, total_budget, partial_last)
    d = d.sort_values(["rank_overall", APP], na_position="last", kind="mergesort").reset_index(drop=True)
    fam_ids = [f.id for f in policy.rubric.families]
    front = [APP, "field", SCORE, *[f for f in fam_ids if f in d.columns], "rank_overall", "rank_in_field",
             "decision", "decision_zh", "reason_zh", "reason_en", "subsidy", "subsidy_cap",
             "funding_note_zh", "funding_note_en", "tie_broken_by", "field_has_centre", "field_has_tech_centre",
             "eligible", "national"]
    return d[[*front, *[c for c in d.columns if c not in front]]]


def _ranking_input(agg: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The ranking table checked and typed: family names -> ids, clean ids, numbers, booleans."""
    dec = policy.decision
    fam_ids = [f.id for f in policy.rubric.families]
    fam_by_name = {f.name: f.id for f in policy.rubric.families}
    d = agg.copy()
    d = d.rename(columns={n: i for n, i in fam_by_name.items() if n in d.columns and i not in d.columns})
    need = [APP, SCORE, "field", *dict.fromkeys([*dec.recommend_min_family, *dec.tie_break_families])]
    miss = [c for c in need if c not in d.columns]
    if miss:
        raise UserError(f"ranking input: missing column(s) {miss}; expected application_id, score, field and the "
                        f"family subtotals {fam_ids} (family ids or names {list(fam_by_name)}); got {list(d.columns)}")
    d[APP] = as_id(d[APP])
    if d[APP].duplicated().any():
        dup = d.loc[d[APP].duplicated(), APP].iloc[0]
        raise UserError(f"ranking input: application_id {dup!r} appears more than once; expected one row per application")
    for c in [SCORE, *[f for f in fam_ids if f in d.columns], *(["requested_subsidy"] if "requested_subsidy" in d else [])]:
        num = pd.to_numeric(d[c], errors="coerce")
        bad = num.isna() & d[c].notna() & (d[c].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(f"ranking input: row {i + 2}, column {c}: value {d[c].iloc[i]!r}; expected a number")
        d[c] = num.astype(float)
    d["field"] = d["field"].astype(object).where(d["field"].notna(), None)
    d["field"] = [None if f is None else str(f).strip() for f in d["field"]]
    elig = [parse_bool(v, column="eligible", row=i + 2, default=True)
            for i, v in enumerate(d["eligible"] if "eligible" in d else [None] * len(d))]
    national = [parse_bool(v, column="national", row=i + 2, default=False)
                for i, v in enumerate(d["national"] if "national" in d else [None] * len(d))]
    d["eligible"] = elig
    d["national"] = national
    return d


def _screen_out(d: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decision and reasons (zh, en) of the rows that take no rank: ineligible, unknown field, no score;
    "" for the rows that are ranked."""
    known = set(policy.fields.all)
    n = len(d)
    insufficient = (d["status"].astype(str).str.strip().isin([STATUS_INSUFFICIENT, STATUS_ZH[STATUS_INSUFFICIENT]])
                    .to_numpy() if "status" in d.columns else np.zeros(n, dtype=bool))
    decision = np.full(n, "", dtype=object)
    rzh = np.full(n, "", dtype=object)
    ren = np.full(n, "", dtype=object)
    review = (d["screening"].astype(str).str.strip().isin(NEEDS_REVIEW).to_numpy() if "screening" in d.columns
              else np.zeros(n, dtype=bool))
    for i in range(n):
        f = d["field"].iat[i]
        out_at = _text(d, "stage_exclusion", i)
        if review[i]:
            why = _text(d, "ineligible_reason", i)
            decision[i] = "needs_review"
            rzh[i] = "形式审查待复核（尚未决定）" + (f"：{why}" if why else "")
            ren[i] = "screening needs review (not yet decided)" + (f": {why}" if why else "")
        elif out_at:
            decision[i] = "stage_out"
            rzh[i], ren[i] = out_at.split(" / ")[0], out_at.split(" / ")[-1]
        elif not d["eligible"].iat[i]:
            why = str(d["ineligible_reason"].iat[i]) if "ineligible_reason" in d and pd.notna(d["ineligible_reason"].iat[i]) else ""
            decision[i] = "ineligible"
            rzh[i] = "形式审查未通过" + (f"：{why}" if why else "")
            ren[i] = "failed eligibility screening" + (f": {why}" if why else "")
        elif f not in known:
            decision[i] = "ineligible"
            rzh[i] = f"领域“{f}”不是重点领域"
            ren[i] = f"field {f!r} is not one of the key fields"
        elif insufficient[i]:
            decision[i] = "insufficient_scores"
            rzh[i], ren[i] = _insufficient_reason(d.iloc[i])
        elif not np.isfinite(d[SCORE].iat[i]):
            decision[i] = "not_scored"
            rzh[i] = "无有效汇总得分"
            ren[i] = "no aggregated score"
    return decision, rzh, ren


def _text(d: pd.DataFrame, column: str, i: int) -> str:
    """The cell as text ("" when the column is absent or the cell blank)."""
    if column not in d.columns:
        return ""
    v = d[column].iat[i]
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()


def _insufficient_reason(x: pd.Series) -> tuple[str, str]:
    """Why an application below the quorum takes no rank (reviewer.scoring.quorum), zh and en."""
    def cell(name: str) -> str:
        v = x.get(name)
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()

    n, need, missing = cell("n_scores"), cell("n_required"), cell("missing_experts")
    counts_zh = f"：{n} 份有效评分，至少需要 {need} 份" if n and need else ""
    counts_en = f": {n} valid scores, at least {need} needed" if n and need else ""
    who = missing.replace(";", "、")
    return (f"评分不足{counts_zh}，不予排名和推荐" + (f"；缺评专家 {who}" if who else ""),
            f"insufficient scores{counts_en}; not ranked or decided" + (f"; missing: {missing}" if missing else ""))


def _order(d: pd.DataFrame, ranked: np.ndarray, tb: list[str]) -> tuple[pd.DataFrame, dict]:
    """Rank the `ranked` rows (score, then the tie-break families, then id); sets rank_overall,
    rank_in_field and tie_broken_by on `d`. Returns the ranked rows in order and how each tie
    with a neighbour was decided."""
    r = d[ranked].copy()
    sort_cols = [SCORE, *tb, APP]
    r = r.sort_values(sort_cols, ascending=[False] * (1 + len(tb)) + [True], kind="mergesort",
                      na_position="last")
    r["rank_overall"] = np.arange(1, len(r) + 1)
    r["rank_in_field"] = r.groupby("field", sort=False).cumcount() + 1
    # how the order against the neighbours was decided
    tie = {}
    rows = r[[SCORE, *tb]].to_numpy(dtype=float)
    ids = r.index.to_list()
    for j in range(len(r)):
        notes = []
        for nb in (j - 1, j + 1):
            if 0 <= nb < len(r) and rows[j, 0] == rows[nb, 0]:
                by = next((tb[t] for t in range(len(tb)) if rows[j, t + 1] != rows[nb, t + 1]), None)
                notes.append(by or APP)
        if notes:
            tie[ids[j]] = notes[0] if len(set(notes)) == 1 else "/".join(dict.fromkeys(notes))
    d["rank_overall"] = r["rank_overall"].reindex(d.index).astype("Int64")
    d["rank_in_field"] = r["rank_in_field"].reindex(d.index).astype("Int64")
    d["tie_broken_by"] = pd.Series(tie, dtype=object).reindex(d.index)
    return r, tie


def _decide(d: pd.DataFrame, r: pd.DataFrame, tie: dict, policy: Policy, decision: np.ndarray, rzh: np.ndarray,
            ren: np.ndarray, register: Mapping[str, str]) -> None:
    """Decisions and reasons of the ranked rows `r`, field by field in rank order (in place)."""
    dec = policy.decision
    has_centre = register
    rec_min, cul_min = dec.recommend_min_score, dec.cultivation_min_score
    pos = {idx: k for k, idx in enumerate(d.index)}
    taken: dict[str, str] = {}
    for idx in r.index:
        i = pos[idx]
        f = d["field"].iat[i]
        s = d[SCORE].iat[i]
        fam_fail = [(fid, float(d[fid].iat[i]), m) for fid, m in dec.recommend_min_family.items()
                    if not (np.isfinite(d[fid].iat[i]) and d[fid].iat[i] >= m)]
        passes_score = s >= rec_min
        qualifies = passes_score and not fam_fail
        tie_txt_zh = tie_txt_en = ""
        if idx in tie:
            by = tie[idx]
            tie_txt_zh = f"；与相邻申报同分，按{by if by != APP else '申报编号'}排序"
            tie_txt_en = f"; tied on score with a neighbour, order decided by {by if by != APP else 'application_id (fallback)'}"
        if f in has_centre:
            would = "recommend" if qualifies else ("cultivation" if s >= cul_min else "not_recommended")
            decision[i] = "field_has_centre"
            rzh[i] = (f"该领域已有制造业创新中心，不再新增（一领域一中心）：{register[f]}；仅按得分将为“{DECISION_LABELS[would][0]}”")
            ren[i] = (f"the field already has a centre, no new one (one centre per field): {register[f]}; "
                      f"on score alone: {DECISION_LABELS[would][1]}")
        elif qualifies and (not dec.one_per_field or f not in taken):
            decision[i] = "recommend"
            taken.setdefault(f, d[APP].iat[i])
            fam_txt_zh = "，".join(f"{fid} 类 {_fmt(d[fid].iat[i])} ≥ {_fmt(m)}" for fid, m in dec.recommend_min_family.items())
            fam_txt_en = ", ".join(f"family {fid} {_fmt(d[fid].iat[i])} >= {_fmt(m)}" for fid, m in dec.recommend_min_family.items())
            best_zh = "，为本领域最高" if dec.one_per_field else ""
            best_en = ", best in its field" if dec.one_per_field else ""
            rzh[i] = f"得分 {_fmt(s)} ≥ {_fmt(rec_min)}" + (f"，{fam_txt_zh}" if fam_txt_zh else "") + best_zh
            ren[i] = f"score {_fmt(s)} >= {_fmt(rec_min)}" + (f", {fam_txt_en}" if fam_txt_en else "") + best_en
        elif qualifies:
            decision[i] = "cultivation"
            rzh[i] = (f"得分 {_fmt(s)} 达到推荐线，但本领域已由排名更高的 {taken[f]} 推荐（一领域一中心），列入培育名单")
            ren[i] = (f"score {_fmt(s)} passes, but the field goes to the better-ranked {taken[f]} "
                      f"(one centre per field); put on the cultivation list")
        elif passes_score and s >= cul_min:
            decision[i] = "cultivation"
            ff = "，".join(f"{fid} 类 {_fmt(v)} < {_fmt(m)}" for fid, v, m in fam_fail)
            fe = ", ".join(f"family {fid} {_fmt(v)} < {_fmt(m)}" for fid, v, m in fam_fail)
            rzh[i] = f"得分 {_fmt(s)} ≥ {_fmt(rec_min)}，但{ff}，未达推荐条件，列入培育名单"
            ren[i] = f"score {_fmt(s)} >= {_fmt(rec_min)} but {fe}: not recommendable; cultivation list"
        elif s >= cul_min:
            decision[i] = "cultivation"
            rzh[i] = f"得分 {_fmt(s)} 在培育区间 [{_fmt(cul_min)}, {_fmt(rec_min)})"
            ren[i] = f"score {_fmt(s)} in the cultivation band [{_fmt(cul_min)}, {_fmt(rec_min)})"
        else:
            decision[i] = "not_recommended"
            rzh[i] = f"得分 {_fmt(s)} < 培育线 {_fmt(cul_min)}"
            ren[i] = f"score {_fmt(s)} below the cultivation line {_fmt(cul_min)}"
        rzh[i] += tie_txt_zh
        ren[i] += tie_txt_en


def _fund(d: pd.DataFrame, decision: np.ndarray, policy: Policy, total_budget: float | None,
          partial_last: bool) -> None:
    """Subsidy of each recommended centre in rank order, within the total budget (in place)."""
    fun = policy.funding
    n = len(d)
    pos = {idx: k for k, idx in enumerate(d.index)}
    budget = fun.total_budget if total_budget is None else float(total_budget)
    if budget < 0:
        raise UserError(f"total budget {budget}: expected >= 0 (0 = no limit)")
    cap = np.where(d["national"], fun.national_centre_subsidy_cap, fun.new_centre_subsidy_cap).astype(float)
    req = d["requested_subsidy"].to_numpy(dtype=float) if "requested_subsidy" in d else np.full(n, np.nan)
    amount = np.zeros(n)
    fzh = np.full(n, "", dtype=object)
    fen = np.full(n, "", dtype=object)
    order = d.sort_values("rank_overall", na_position="last").index
    remaining = budget
    cut = False
    for idx in order:
        i = pos[idx]
        if decision[i] != "recommend":
            continue
        kind_zh = "国家级中心" if d["national"].iat[i] else "自治区级新认定中心"
        kind_en = "national centre" if d["national"].iat[i] else "new autonomous-region centre"
        if d["field_has_tech_centre"].iat[i] and fun.no_subsidy_if_tech_innovation_centre:
            fzh[i] = "该领域已有独立法人的广西技术创新中心，不重复补助"
            fen[i] = "the field already has an independent Guangxi technology innovation centre: no duplicate subsidy"
            continue
        want = cap[i] if not np.isfinite(req[i]) else min(max(req[i], 0.0), cap[i])
        base_zh = f"一次性补助上限 {_money(cap[i])}（{kind_zh}）" + (f"，申请 {_money(req[i])}" if np.isfinite(req[i]) else "")
        base_en = f"one-time subsidy cap {cap[i]:,.0f} CNY ({kind_en})" + (f", requested {req[i]:,.0f}" if np.isfinite(req[i]) else "")
        if budget > 0:
            if cut or want > remaining:
                if partial_last and not cut and remaining > 0:
                    amount[i] = remaining
                    fzh[i] = base_zh + f"；总预算余额不足，仅安排 {_money(remaining)}"
                    fen[i] = base_en + f"; budget nearly exhausted: only {remaining:,.0f} CNY left"
                else:
                    fzh[i] = base_zh + "；总预算已用完，未安排（按排名顺序分配）"
                    fen[i] = base_en + "; cut: total budget exhausted (allocated in rank order)"
                remaining -= amount[i]
                cut = True
                continue
            remaining -= want
        amount[i] = want
        fzh[i] = base_zh + f"；安排 {_money(want)}"
        fen[i] = base_en + f"; allocated {want:,.0f} CNY"
    d["subsidy_cap"] = np.where(decision == "recommend", cap, np.nan)
    d["subsidy"] = amount
    d["funding_note_zh"] = fzh
    d["funding_note_en"] = fen


def fund_from_ledger(d: pd.DataFrame, decision: np.ndarray, policy: Policy, ledger: Any, on: dt.date,
                     total_budget: float | None = None) -> None:
    """Subsidy of each recommended centre in rank order, every grant decided and recorded by `ledger`
    (reviewer.centres.ledger.Ledger: the caps, never twice, the technology-centre rule and the annual
    budget, in one place); `total_budget` (> 0) additionally limits this ranking's total (in place)."""
    n = len(d)
    pos = {idx: k for k, idx in enumerate(d.index)}
    budget = float(total_budget or 0)
    amount, cap = np.zeros(n), np.full(n, np.nan)
    fzh, fen = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    spent = 0.0
    for idx in d.sort_values("rank_overall", na_position="last").index:
        i = pos[idx]
        if decision[i] != "recommend":
            continue
        kind = "national" if d["national"].iat[i] else "new_centre"
        req = d["requested_subsidy"].iat[i] if "requested_subsidy" in d else np.nan
        want = None if not np.isfinite(req) else max(float(req), 0.0)
        app, field = d[APP].iat[i], d["field"].iat[i]
        got, refused = ledger.check(app, field, kind, want, on)
        if refused is None and budget > 0 and spent + got > budget + 1e-6:
            refused = f"本次排名总预算 {_money(budget)} 已用完 / this ranking's budget {budget:,.0f} CNY is used up"
        e = ledger.refuse(app, field, kind, on, refused) if refused else ledger.decide(app, field, kind, on, want)
        spent += e.amount
        amount[i], cap[i] = e.amount, e.cap
        fzh[i] = f"{'安排' if e.status == 'granted' else '不予补助'} {_money(e.amount)}（补助台账）：{e.reason.split(' / ')[0]}"
        fen[i] = f"{e.status} {e.amount:,.0f} CNY (subsidy ledger): {e.reason.split(' / ')[-1]}"
    d["subsidy_cap"] = cap
    d["subsidy"] = amount
    d["funding_note_zh"] = fzh
    d["funding_note_en"] = fen
