"""The values of the per-stage documents: 评审报告, 专家组意见表, 签到表 and 劳务费发放表 (see
reviewer.documents.contexts for the rules every value follows)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from reviewer.documents.contexts import (METHOD_SHORT, METHOD_ZH, NONE, NOT_RECORDED, blank_if_empty, common,
                                         conflict_summary, draw_lines, expert_days, finite, integer, meeting, num, ranking_rows,
                                         seat_rows, stage_ranking, text)
from reviewer.documents.bias_section import bias_context
from reviewer.documents.round_facts import RoundFacts, StageFacts
from reviewer.errors import UserError
from reviewer.scoring.reliability import flag_outliers, reliability_report


def published(f: RoundFacts, stage: str) -> StageFacts:
    st = f.stage(stage)
    if not st.published:
        raise UserError(f"{stage}: 尚未发布专家组 not published yet (reviewer publish --stage {stage} ...)")
    return st


def _score_frame(st: StageFacts) -> pd.DataFrame:
    return st.scores.rename(columns={"stage": "panel"})[["panel", "application_id", "expert_id", "criterion", "score"]]


def _expert_totals(st: StageFacts) -> pd.DataFrame:
    """Per expert and application: the total and the family subtotals of the valid scores."""
    if st.scores.empty:
        return pd.DataFrame(columns=["application_id", "expert_id", "total", "families"])
    g = st.scores.groupby(["application_id", "expert_id"])
    fam = st.scores.groupby(["application_id", "expert_id", "family"])["score"].sum()
    rows = []
    for (a, e), sub in g:
        parts = [f"{k} {v:g}" for k, v in fam.loc[(a, e)].items()]
        rows.append({"application_id": a, "expert_id": e, "total": float(sub["score"].sum()),
                     "families": "，".join(parts)})
    return pd.DataFrame(rows)


def _composition(f: RoundFacts, seats: list[dict]) -> tuple[list[dict], list[dict]]:
    """(per category: experts, seats, chairs), (per application: chair and members with categories)."""
    df = pd.DataFrame(seats)
    cats = [c for c in f.policy.panel_rules.categories] + sorted(set(df["category"]) - set(f.policy.panel_rules.categories))
    by_cat = [{"category": c, "experts": str(df.loc[df["category"] == c, "expert_id"].nunique()),
               "seats": str(int((df["category"] == c).sum())),
               "chairs": str(int(((df["category"] == c) & (df["role_key"] == "chair")).sum()))} for c in cats]
    by_cat.append({"category": "合计", "experts": str(df["expert_id"].nunique()), "seats": str(len(df)),
                   "chairs": str(int((df["role_key"] == "chair").sum()))})
    apps, panels = f.apps, []
    for a, g in df.groupby("application_id", sort=True):
        chair = g[g["role_key"] == "chair"]
        panels.append({"id": text(a), "name": text(apps[a].name if a in apps else None),
                       "chair": "、".join(chair["name"]) or NONE,
                       "members": "、".join(f"{x.name}（{x.category}）" for x in g[g["role_key"] != "chair"].itertuples())})
    return by_cat, panels


def _scores_section(f: RoundFacts, st: StageFacts) -> dict:
    apps, pol = f.apps, f.policy
    agg = st.aggregation
    if agg is None or agg.empty:
        msg = "本阶段尚无评分" if st.scores.empty else "本阶段尚未汇总（reviewer run aggregate）"
        return {"scores": blank_if_empty([], ["rank"], msg), "method_text": msg, "aggregation_note": NOT_RECORDED}
    agg = agg.sort_values(["rank", "application_id"], na_position="last")
    rows = [{"rank": integer(x.get("rank")), "id": text(x["application_id"]),
             "name": text(apps[x["application_id"]].name if x["application_id"] in apps else None),
             "field": text(x.get("field")), "n": f"{integer(x.get('n_scores'))}/{integer(x.get('n_panel'))}",
             "score": num(x.get("score")), "interval": f"{num(x.get('ci_low'))}～{num(x.get('ci_high'))}",
             "status": text(x.get("status_zh"), NONE).split(" ")[0]} for x in agg.to_dict(orient="records")]
    method = str(agg["method"].iloc[0]) if "method" in agg.columns else pol.aggregation.method
    fams = "、".join(f"{fa.id} {fa.name} {fa.max:g} 分" for fa in pol.rubric.families)
    a = pol.aggregation
    method_text = (f"评分依据评分细则（满分 {pol.rubric.total:g} 分：{fams}）。各位专家独立评分，汇总方法为"
                   f"{METHOD_ZH.get(method, method)}（{text(agg['rule'].iloc[0], method) if 'rule' in agg else method}）；"
                   f"有效评分不少于 {a.min_scores} 份且不少于本组专家的 {a.quorum_share:.0%}（向上取整）方予排名；"
                   f"得分区间为专家重抽样（bootstrap）的 95% 区间。")
    return {"scores": rows, "method_text": method_text,
            "aggregation_note": f"汇总运行 #{st.aggregation_run}（{st.aggregation_at}）"}


def _outliers_and_reliability(f: RoundFacts, st: StageFacts) -> dict:
    if st.scores.empty:
        return {"outliers": blank_if_empty([], ["id"], "本阶段尚无评分"), "reliability": "本阶段尚无评分，无法计算。"}
    scores = _score_frame(st)
    fl = flag_outliers(scores, f.policy)
    fl = fl[fl["flagged"]].sort_values(["application_id", "expert_id"])
    experts = f.experts
    out = [{"id": text(x.application_id), "expert": text(experts[x.expert_id].name if x.expert_id in experts else x.expert_id),
            "score": num(x.score), "median": num(x.panel_median), "deviation": f"{x.deviation:+.2f}",
            "opinion": text(st.opinions.get((x.application_id, x.expert_id)), NOT_RECORDED)} for x in fl.itertuples()]
    a = f.policy.aggregation
    rel = reliability_report(scores)
    row = rel[rel["panel"] == "ALL"].iloc[0]
    alpha, icc1 = finite([row["krippendorff_alpha"]]), finite([row["ICC1"]])
    reliability = (f"共 {int(row['n_applications'])} 项申报、{int(row['n_experts'])} 位专家、{int(row['n_scores'])} 份总分"
                   f"（{'交叉设计' if row['design'] == 'crossed' else '嵌套设计：各申报由各自的专家组评分'}）。"
                   f"Krippendorff α（区间尺度）= {num(alpha[0], 3) if alpha.size else NONE}；"
                   f"ICC(1) = {num(icc1[0], 3) if icc1.size else NONE}。"
                   "α 与 ICC 越接近 1，专家之间的评分越一致；0.67 以下宜结合异常评分复核。")
    return {"outliers": blank_if_empty(out, ["id"], f"无异常评分（阈值：偏离组中位数 {a.outlier_points:g} 分或稳健 z 值 "
                                                     f"{a.outlier_robust_z:g}）"),
            "reliability": reliability}


def _conflicts_section(f: RoundFacts, st: StageFacts) -> dict:
    rules, broken = conflict_summary(f, st)
    apps = set(st.seats["application_id"])
    experts = f.experts
    waivers = [{"expert": text(experts[w["expert_id"]].name if w["expert_id"] in experts else w["expert_id"]),
                "id": text(w["application_id"]), "rule": text(w["rule"]), "reason": text(w.get("reason"))}
               for w in f.waivers if w["application_id"] in apps]
    repl = [{"id": text(x["application_id"]), "old": text(x["old"]), "new": text(x["new"]), "reason": text(x["reason"]),
             "at": text(x["at"])} for x in st.replacements]
    over = [text(x) for x in st.overrides.get("text", pd.Series(dtype=str))]
    check = ("经核对，本阶段在任专家中无应回避而未回避的情形。" if not broken else
             "经核对，下列在任席位存在应回避情形，请立即处理：" + "；".join(broken))
    return {"conflict_rules": blank_if_empty(rules, ["rule"], "无"),
            "waivers": blank_if_empty(waivers, ["expert"], "无豁免"),
            "replacements": blank_if_empty(repl, ["id"], "无替换"),
            "overrides_text": "；".join(over) if over else "无例外。", "conflict_check": check}


def report(f: RoundFacts, stage: str, today: dt.date) -> dict:
    """评审报告 of one published stage."""
    st = published(f, stage)
    seats = seat_rows(f, st)
    by_cat, panels = _composition(f, seats)
    try:
        ranking = ranking_rows(f, stage_ranking(f, st))
    except UserError:
        ranking = []
    return {**common(f, today), **meeting(f, stage), "stage": stage,
            "report_title": f"{stage}报告" if stage.endswith("评审") else f"{stage}评审报告",
            "n_apps": str(st.seats["application_id"].nunique()), "n_experts": str(st.seats["expert_id"].nunique()),
            "n_seats": str(len(st.seats)), "published_at": text(st.published_at), "published_by": text(st.published_by),
            "publication_source": text(st.publication_source), "by_category": by_cat, "panels": panels,
            **_scores_section(f, st), **_outliers_and_reliability(f, st),
            "ranking": blank_if_empty(ranking, ["rank"], "尚无汇总结果，无法排名"), **_conflicts_section(f, st),
            **bias_context(f.data, f.policy, stage, _expert_totals(st)),
            "draw_lines": draw_lines(st.draw), "audit_head": text(f.anchor.get("hash"), NONE),
            "policy_sha": f.policy.sha256[:16]}


def opinions(f: RoundFacts, stage: str, today: dt.date) -> list[tuple[str, dict]]:
    """专家组意见表: one per application of a published stage."""
    st = published(f, stage)
    seats = pd.DataFrame(seat_rows(f, st))
    totals = _expert_totals(st).set_index(["application_id", "expert_id"])
    agg = (st.aggregation.set_index("application_id") if st.aggregation is not None and not st.aggregation.empty
           else pd.DataFrame())
    base = {**common(f, today), **meeting(f, stage), "stage": stage}
    out = []
    for a_id, g in seats.groupby("application_id", sort=True):
        a = f.apps[a_id]
        rows = []
        for i, x in enumerate(g.itertuples(), 1):
            t = totals.loc[(a_id, x.expert_id)] if (a_id, x.expert_id) in totals.index else None
            rows.append({"no": str(i), "name": x.name, "employer": x.employer, "category": x.category, "role": x.role,
                         "total": num(t["total"], 1) if t is not None else NOT_RECORDED,
                         "families": text(t["families"]) if t is not None else NOT_RECORDED,
                         "opinion": text(st.opinions.get((a_id, x.expert_id)), NOT_RECORDED)})
        r = agg.loc[a_id] if a_id in agg.index else None
        score = float(r["score"]) if r is not None and pd.notna(r["score"]) else None
        out.append((a_id, {**base, "id": text(a_id), "name": text(a.name), "field": text(a.field),
                           "lead_unit": text(a.lead_unit), "city": text(a.lead_city), "experts": rows,
                           "score": num(score) if score is not None else NOT_RECORDED,
                           "band": f.policy.rubric.band(score) if score is not None else NONE,
                           "rank": integer(r["rank"]) if r is not None else NONE,
                           "n_scores": integer(r["n_scores"]) if r is not None else "0",
                           "method": METHOD_SHORT.get(str(r["method"]), text(r["method"], NONE)) if r is not None else NONE,
                           "consensus": _consensus(st, a_id)}))
    return out


def _consensus(st: StageFacts, application_id: str) -> str:
    """The chair's 专家组综合意见 with the recorded dissent (reviewer.store.opinions), or the labelled blank."""
    said, dissent = st.panel_opinions.get(application_id, ("", ""))
    if not said:
        return NOT_RECORDED
    return said + (f"（不同意见：{dissent}）" if dissent else "")


def signin(f: RoundFacts, stage: str, today: dt.date) -> dict:
    """签到表 of a published stage: one line per expert."""
    st = published(f, stage)
    seats = pd.DataFrame(seat_rows(f, st))
    rows = []
    for i, (e, g) in enumerate(seats.groupby("expert_id", sort=True), 1):
        x = g.iloc[0]
        chairs = int((g["role_key"] == "chair").sum())
        rows.append({"no": str(i), "name": x["name"], "employer": x["employer"], "title": x["title"],
                     "category": x["category"], "role": f"组长（{chairs} 组）" if chairs else "成员",
                     "tasks": str(len(g))})
    site = stage == f.policy.stages.site
    m = meeting(f, stage)
    if site:
        m["meeting_place"] = "各申报牵头单位（现场考察，按城市分日进行）"
    return {**common(f, today), **m, "stage": stage, "rows": rows, "n": str(len(rows))}


def fees(f: RoundFacts, stage: str, today: dt.date) -> dict:
    """劳务费发放表 of a published stage: days x the daily rate of the expert's role, the tax withheld."""
    st = published(f, stage)
    doc = f.policy.documents
    seats = pd.DataFrame(seat_rows(f, st))
    days = expert_days(f, st)
    rows, sums = [], [0.0, 0.0, 0.0]
    for i, (e, g) in enumerate(seats.groupby("expert_id", sort=True), 1):
        x = g.iloc[0]
        role = "chair" if (g["role_key"] == "chair").any() else "member"
        rate = float(doc.fee_daily[role])
        amount = rate * days[e]
        tax = doc.withheld_tax(amount)
        sums = [sums[0] + amount, sums[1] + tax, sums[2] + amount - tax]
        rows.append({"no": str(i), "name": x["name"], "employer": x["employer"], "title": x["title"],
                     "role": "组长" if role == "chair" else "成员", "days": f"{days[e]:g}", "rate": num(rate, 0),
                     "amount": num(amount), "tax": num(tax), "net": num(amount - tax)})
    d = doc.fee_days.get(stage, 1)
    rule = (f"组长 {doc.fee_daily['chair']:,.0f} 元/天，成员 {doc.fee_daily['member']:,.0f} 元/天（在本阶段担任任一专家组组长的按组长标准）；"
            + (f"本阶段按 {d:g} 天计" if d > 0 else "天数为本人现场考察的天数（同一城市的考察安排在同一天）"))
    return {**common(f, today), **meeting(f, stage), "stage": stage, "rows": rows, "fee_rule": rule,
            "fee_source": text(doc.fee_source), "tax_note": text(doc.tax_note) if doc.tax_withholding else "本表未预扣个人所得税。",
            "total_amount": num(sums[0]), "total_tax": num(sums[1]), "total_net": num(sums[2]), "n": str(len(rows))}
