"""The values each official document's template receives (reviewer.documents.official), built from
:class:`reviewer.documents.round_facts.RoundFacts`. Every value is plain text, already formatted:
a fact the store does not hold yet is the labelled blank NOT_RECORDED, never invented text, and
no value is ever "nan", "None" or "<NA>". Templates escape the values (docxtpl autoescape), so a
name with {{ }}, {% %}, =cmd| or < & > comes out literally.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from reviewer.conflicts.detector import RULES, detect_conflicts
from reviewer.documents.packs import site_schedule
from reviewer.documents.round_facts import Draw, RoundFacts, StageFacts
from reviewer.errors import UserError
from reviewer.intake.cells import CONTROL_CHARACTERS
from reviewer.scoring.ranking import recognition_ranking
from reviewer.store.guards import with_waivers

NOT_RECORDED = "（未录入）"
NONE = "—"
ROLE_ZH = {"chair": "组长", "member": "成员"}
METHOD_SHORT = {"trimmed": "截尾平均", "median": "中位数", "mean": "算术平均", "winsorized": "缩尾平均",
                "huber": "Huber 稳健估计", "calibrated": "校准平均",
                "calibrated_pooled": "跨阶段校准平均", "bayes": "贝叶斯期望得分"}
METHOD_ZH = {"trimmed": "去掉最高分和最低分后的算术平均（截尾平均）", "median": "中位数", "mean": "算术平均",
             "winsorized": "缩尾平均", "huber": "Huber 稳健估计", "calibrated": "专家宽严校准后的平均",
             "calibrated_pooled": "专家宽严尺度按其在同一评分表上的全部评分（本轮其他阶段、往届批次）校准后的平均",
             "bayes": "贝叶斯模型的期望得分"}


def text(v, blank: str = NOT_RECORDED) -> str:
    """`v` as document text: control characters removed; missing (None, NaN, NA, "") -> `blank`."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return blank
    s = CONTROL_CHARACTERS.sub("", str(v)).strip()
    return s if s and s.lower() not in ("nan", "none", "<na>", "nat") else blank


def num(v, digits: int = 2, blank: str = NONE) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return blank
    return blank if not math.isfinite(x) else f"{x:,.{digits}f}"


def integer(v, blank: str = NONE) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return blank
    return blank if not math.isfinite(x) else str(int(round(x)))


def _wan(yuan) -> str:
    """An amount of yuan in 万元 ("—" when none or zero)."""
    v = finite([yuan])
    return f"{v[0] / 10_000:,.0f} 万元" if v.size and v[0] > 0 else NONE


def cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def common(f: RoundFacts, today: dt.date) -> dict:
    doc = f.policy.documents
    return {"round_name": text(f.name), "round_code": text(f.code), "year": str(f.year),
            "organiser": text(doc.organiser), "date_line": cn_date(today),
            "stages_text": "、".join(f.policy.stages.order), "generated": cn_date(today)}


def meeting(f: RoundFacts, stage: str) -> dict:
    """The stage's meeting (round settings, reviewer round settings): date, time, place, contact."""
    m = (f.settings.get("meetings") or {}).get(stage, {}) or {}
    when = " ".join(text(m.get(k), "") for k in ("date", "time")).strip()
    return {"meeting_when": when or NOT_RECORDED, "meeting_date": text(m.get("date")), "meeting_time": text(m.get("time")),
            "meeting_place": text(m.get("place")), "meeting_contact": text(m.get("contact"))}


# ---------------------------------------------------------------- ranking

def stage_ranking(f: RoundFacts, st: StageFacts) -> pd.DataFrame:
    """The decision rules (reviewer.scoring.ranking) on the stage's latest aggregation run, with the
    screening's outcome: one row per application of the stage, best first."""
    if st.aggregation is None or st.aggregation.empty:
        raise UserError(f"{st.name}: 尚无汇总结果 no aggregation run yet (reviewer run aggregate --stage {st.name})")
    agg = st.aggregation.copy()
    sc = f.screening.set_index("application_id")
    agg["eligible"] = [bool(sc.loc[a, "outcome"] == "pass") if a in sc.index else True for a in agg["application_id"]]
    agg["ineligible_reason"] = [text(sc.loc[a, "reasons"], "") or text(sc.loc[a, "outcome_zh"], "")
                                if a in sc.index else "" for a in agg["application_id"]]
    agg = agg.drop(columns=[c for c in ("rank_in_field", "rank_overall") if c in agg.columns])
    return recognition_ranking(agg, f.policy.for_stage(st.name))   # the stage's instrument and families


def ranking_rows(f: RoundFacts, rk: pd.DataFrame) -> list[dict]:
    apps = f.apps
    rows = []
    for x in rk.to_dict(orient="records"):
        a = apps.get(x["application_id"])
        rows.append({"rank": integer(x.get("rank_overall")), "rank_in_field": integer(x.get("rank_in_field")),
                     "id": text(x["application_id"]), "name": text(a.name if a else None),
                     "field": text(x.get("field")), "score": num(x.get("score")),
                     "decision": text(x.get("decision_zh"), NONE), "reason": text(x.get("reason_zh"), NONE),
                     "subsidy": _wan(x.get("subsidy")),
                     "lead_unit": text(a.lead_unit if a else None), "city": text(a.lead_city if a else None)})
    return rows


def recommended(f: RoundFacts) -> tuple[str, pd.DataFrame]:
    """The recognition stage (the last of the policy's stages) and its recommended applications."""
    stage = f.policy.stages.order[-1]
    rk = stage_ranking(f, f.stage(stage))
    return stage, rk[rk["decision"] == "recommend"].reset_index(drop=True)


# ---------------------------------------------------------------- 公示

def publicity(f: RoundFacts, today: dt.date) -> dict:
    doc = f.policy.documents
    stage, rec = recommended(f)
    rows = ranking_rows(f, rec)
    for i, r in enumerate(rows, 1):
        r["no"] = str(i)
    return {**common(f, today), "rows": rows, "n": str(len(rows)), "stage": stage,
            "publicity_days": str(doc.publicity_days), "publicity_day_kind": text(doc.publicity_day_kind),
            "period": f"起止日期{NOT_RECORDED}：____年__月__日至____年__月__日",
            "objection_contact": text(doc.objection_contact), "objection_phone": text(doc.objection_phone),
            "objection_address": text(doc.objection_address), "objection_email": text(doc.objection_email)}


# ---------------------------------------------------------------- 认定批复

def approvals(f: RoundFacts, today: dt.date) -> list[tuple[str, dict]]:
    """One draft approval per recommended centre: (application id, values)."""
    pol = f.policy
    stage, rec = recommended(f)
    out = []
    for x, row in zip(rec.to_dict(orient="records"), ranking_rows(f, rec)):
        a = f.apps[x["application_id"]]
        members = "、".join(text(m.unit_name) for m in a.members) or NOT_RECORDED
        subsidy = float(x.get("subsidy") or 0)
        note = text(x.get("funding_note_zh"), "")
        money = (f"给予一次性财政资金补助 {subsidy / 10_000:,.0f} 万元（上限 {pol.funding.new_centre_subsidy_cap / 10_000:,.0f} "
                 f"万元），具体按自治区工业和信息化发展专项资金管理规定拨付" if subsidy > 0 else
                 "不安排本次财政资金补助" + (f"（{note}）" if note else ""))
        out.append((a.application_id, {
            **common(f, today), **row, "stage": stage, "members": members,
            "build_years": str(pol.evaluation.build_period_years),
            "fails": str(pol.evaluation.consecutive_fails_to_revoke), "subsidy_text": money,
            "doc_number": f"桂工信〔{f.year}〕____号（文号{NOT_RECORDED}）",
            "publicity_result": NOT_RECORDED}))
    return out


# ---------------------------------------------------------------- helpers on seats

def seat_rows(f: RoundFacts, st: StageFacts) -> list[dict]:
    """One row per active seat of the stage: the expert's particulars (experts by id, chairs first)."""
    experts, rows = f.experts, []
    seats = st.seats.assign(chair=st.seats["role"] != "chair").sort_values(["application_id", "chair", "expert_id"])
    for x in seats.itertuples(index=False):
        e = experts.get(x.expert_id)
        rows.append({"application_id": x.application_id, "expert_id": x.expert_id, "role": ROLE_ZH.get(x.role, x.role),
                     "role_key": x.role, "name": text(e.name if e else None), "employer": text(e.employer if e else None),
                     "title": text((e.title or e.title_level) if e else None), "category": text(e.category if e else None)})
    return rows


def expert_days(f: RoundFacts, st: StageFacts) -> dict[str, float]:
    """Days each expert of the stage works (policy [documents] fee_days; 0 = the site stage's
    inspection days: the expert's distinct days on site in the published site plan, else in the
    plan-less schedule, one city per day)."""
    from_policy = f.policy.documents.fee_days
    if st.name not in from_policy:
        raise UserError(f"policy [documents] fee_days has no entry for stage {st.name!r}: add \"{st.name}\" = DAYS")
    days = float(from_policy[st.name])
    if days > 0:
        return {e: days for e in st.seats["expert_id"].unique()}
    if st.visit_days:   # 0 and a published site plan: each expert's days on site in it
        return {e: float(st.visit_days.get(e, 0)) for e in st.seats["expert_id"].unique()}
    # 0 without a site plan: count the inspection days as the plan-less packs lay them out (one city a day)
    apps = f.apps
    per_day = int(f.settings.get("site_per_day", 3) or 3)
    start = dt.date.fromisoformat(f.as_of) if f.as_of else f.policy.as_of_date()
    plan = site_schedule([apps[a] for a in st.seats["application_id"].unique()], start, per_day,
                         list(f.policy.cities.names))
    return {e: float(len({plan[a] for a in g["application_id"]})) for e, g in st.seats.groupby("expert_id")}


def blank_if_empty(rows: list[dict], keys: list[str], message: str) -> list[dict]:
    """A table with no rows gets one row saying so (a table never prints empty)."""
    return rows or [{k: (message if i == 0 else "") for i, k in enumerate(keys)}]


def finite(values) -> np.ndarray:
    a = pd.to_numeric(pd.Series(list(values)), errors="coerce").to_numpy(dtype=float)
    return a[np.isfinite(a)]


def draw_lines(d: Draw | None) -> list[str]:
    """The random-draw record of a published stage, line by line."""
    if d is None:
        return [f"本阶段未发布专家组 {NOT_RECORDED}"]
    if d.run_id is None:
        return [f"专家组由名单文件发布（来源：{text(d.source)}），未经本系统抽取，无随机抽取记录。"]
    lines = [f"专家组由规划运行 #{d.run_id} 产生（求解状态 {text(d.solver_status)}）。"]
    if not d.randomized:
        return lines + [f"该运行为确定性优化（非随机抽取），随机种子 {d.seed if d.seed is not None else NONE}。"]
    lines.append(f"随机抽取：随机种子 {d.seed}；单对专家—申报最大入选概率 q = "
                 f"{d.q if d.q is not None else '按政策默认'}。")
    if d.commitment:
        mode = {"secret": "秘密种子（加盐哈希承诺，揭示时公开）", "public value": "由承诺后公布的公开值导出种子"}.get(d.seed_mode, d.seed_mode)
        lines += [f"抽取前承诺（审计日志第 {d.commit_entry} 条，{text(d.committed_at)}）：{d.commitment}",
                  f"种子方式：{mode}" + (f"；公开值：{text(d.public_value)}" if d.public_value else ""),
                  f"揭示时间：{text(d.revealed_at)}；抽取程序版本 {text(d.lottery_version)}。",
                  f"任何人可用 reviewer verify-draw {d.run_id} 由存档数据重算本次抽取并核对。"]
    else:
        lines.append(f"本次抽取无事前承诺记录 {NOT_RECORDED}。")
    return lines


def conflict_summary(f: RoundFacts, st: StageFacts) -> tuple[list[dict], list[str]]:
    """Per conflict rule: excluded, soft and waived expert-application pairs among the stage's
    applications; and the seats of the stage that break an excluding rule (none when the panels hold)."""
    apps = set(st.seats["application_id"])
    cs = detect_conflicts(with_waivers(f.data, f.waivers), f.policy)
    t = cs.table()
    t = t[t["application_id"].isin(apps)]
    rows = []
    for rule, (zh, _en) in RULES.items():
        sub = t[t["rule"] == rule]
        if sub.empty:
            continue
        rows.append({"rule": rule, "label": zh, "excluded": str(int(sub["excludes"].sum())),
                     "soft": str(int((sub["severity"] == "soft").sum())), "waived": str(int(sub["waived"].sum()))})
    held = {(x.expert_id, x.application_id) for x in st.seats.itertuples(index=False)}
    # the seats' own hits only: a round's hits are columns, records are made per pair asked for
    broken = sorted(f"{h.expert_id}—{h.application_id}（{h.rule} {RULES[h.rule][0]}）"
                    for e, a in held for h in cs.pair(e, a) if h.excludes)
    return rows, broken

