"""Eligibility screening (形式审查, SPEC §3): every check gives pass / fail / needs-review with the
evidence value, the threshold and the rule id. Failing applications are kept with their reasons.

Money comparisons use Decimal on the values as entered, so "exactly 1亿" and "exactly 2.00%"
pass by the rule and not by a float accident.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

import pandas as pd

from reviewer.exports import write_table
from reviewer.intake.model import Application, RoundData
from reviewer.policy import Policy


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    REVIEW = "needs-review"

    @property
    def zh(self) -> str:
        return {"pass": "通过", "fail": "不通过", "needs-review": "需人工复核"}[self.value]


@dataclass(frozen=True)
class Check:
    application_id: str
    rule: str            # E1..E9
    name_zh: str
    name_en: str
    outcome: Outcome
    evidence: str        # the value that decided, in words
    threshold: str
    reason: str = ""     # why, for anything but a plain pass


RULES = {
    "E1": ("牵头单位近三年平均销售收入", "lead unit 3-year average sales revenue"),
    "E2": ("近三年研发经费占主营业务收入比重", "3-year R&D spending / main business revenue"),
    "E3": ("自治区级以上创新平台", "innovation platform at autonomous-region level or above"),
    "E4": ("有效发明专利", "valid invention patents"),
    "E5": ("近三年无违法失信行为", "no violations in the last 3 years"),
    "E6": ("组建单位不少于3家", "founding units"),
    "E7": ("股东含本领域排名前十企业", "members ranked in the field's top 10"),
    "E8": ("设区市推荐", "recommended by a city department"),
    "E9": ("属于重点领域", "field is a key field"),
}


def _d(x: float) -> Decimal:
    return Decimal(str(x))


def _yuan(x: Decimal) -> str:
    return f"{x / Decimal(10**4):,.2f}万元"


def _check(app: Application, rule: str, outcome: Outcome, evidence: str, threshold: str, reason: str = "") -> Check:
    zh, en = RULES[rule]
    return Check(app.application_id, rule, zh, en, outcome, evidence, threshold, reason)


def check_revenue(app: Application, policy: Policy) -> Check:
    e = policy.eligibility
    avg = sum(_d(r) for r in app.revenues) / 3
    threshold = _d(e.revenue_threshold(app.field))
    relaxed = app.field in e.relaxed_avg_revenue
    thr = f">= {_yuan(threshold)}" + (f" (特色支柱产业放宽 relaxed for {app.field})" if relaxed else "")
    ev = f"{_yuan(avg)} (avg of {', '.join(_yuan(_d(r)) for r in app.revenues)})"
    if app.lead_unit_type != "企业":
        return _check(app, "E1", Outcome.REVIEW, ev, thr,
                      f"牵头单位为{app.lead_unit_type}，销售收入条件针对龙头企业，需人工判断 / lead unit is not an enterprise")
    if avg >= threshold:
        return _check(app, "E1", Outcome.PASS, ev, thr)
    return _check(app, "E1", Outcome.FAIL, ev, thr,
                  f"近三年平均销售收入 {_yuan(avg)} 低于 {_yuan(threshold)} / average revenue below threshold")


def check_rd_ratio(app: Application, policy: Policy) -> Check:
    e = policy.eligibility
    rd = [_d(x) for x in app.rd_spends]
    main = [_d(x) for x in app.main_revenues]
    limit = _d(e.min_rd_ratio_percent)
    thr = f">= {limit}% ({e.rd_ratio_method})"
    if e.rd_ratio_method == "ratio_of_sums":
        if sum(main) == 0:
            return _check(app, "E2", Outcome.REVIEW, "主营业务收入为 0 / main revenue is 0", thr,
                          "无法计算研发投入强度 / ratio undefined")
        ratio = sum(rd) * 100 / sum(main)
    else:
        if any(m == 0 for m in main):
            return _check(app, "E2", Outcome.REVIEW, "某年主营业务收入为 0 / a year with main revenue 0", thr,
                          "无法计算研发投入强度 / ratio undefined")
        ratio = sum(r * 100 / m for r, m in zip(rd, main)) / 3
    ev = f"{ratio.quantize(Decimal('0.0001'))}%"
    if ratio >= limit:
        return _check(app, "E2", Outcome.PASS, ev, thr)
    return _check(app, "E2", Outcome.FAIL, ev, thr, f"研发投入强度 {ev} 低于 {limit}% / R&D intensity below threshold")


def check_platforms(app: Application, policy: Policy) -> Check:
    e = policy.eligibility
    core = {app.lead_credit_code} | {m.credit_code for m in app.members if m.is_core}
    counted = [p for p in app.platforms if p.level in e.platform_levels_counted and p.holder_credit_code in core]
    other_holder = [p for p in app.platforms if p.level in e.platform_levels_counted and p.holder_credit_code not in core]
    thr = f">= {e.min_platforms} ({'/'.join(e.platform_levels_counted)}, 牵头单位或核心成员)"
    ev = "; ".join(f"{p.platform_name}({p.level},{p.year})" for p in counted) or "无 none"
    if len(counted) >= e.min_platforms:
        return _check(app, "E3", Outcome.PASS, ev, thr)
    if other_holder:
        names = "; ".join(f"{p.platform_name}({app.unit_name(p.holder_credit_code)})" for p in other_holder)
        return _check(app, "E3", Outcome.REVIEW, names, thr,
                      "平台由非核心成员单位持有，需核实 / platform held by a non-core member, check")
    levels = ", ".join(sorted({p.level for p in app.platforms})) or "无平台"
    return _check(app, "E3", Outcome.FAIL, ev, thr,
                  f"无自治区级以上创新平台（现有: {levels}） / no platform at autonomous-region level or above")


def check_patents(app: Application, policy: Policy) -> Check:
    n, k = app.invention_patents_valid, policy.eligibility.min_invention_patents
    if n >= k:
        return _check(app, "E4", Outcome.PASS, str(n), f">= {k}")
    return _check(app, "E4", Outcome.FAIL, str(n), f">= {k}", f"有效发明专利 {n} 件，少于 {k} / too few valid invention patents")


def check_violations(app: Application, policy: Policy) -> Check:
    e = policy.eligibility
    n = app.violations_3y
    thr = f"<= {e.max_violations} in {e.violation_window_years} years"
    ev = str(n) + (f" ({app.violation_notes})" if app.violation_notes else "")
    if n <= e.max_violations:
        return _check(app, "E5", Outcome.PASS, ev, thr)
    return _check(app, "E5", Outcome.FAIL, ev, thr, f"近{e.violation_window_years}年有违法失信记录 {n} 条 / violations on record")


def check_founding_units(app: Application, policy: Policy) -> Check:
    n, k = 1 + len(app.members), policy.eligibility.min_founding_units
    ev = f"{n} (牵头单位 + {len(app.members)} 家成员)"
    if n >= k:
        return _check(app, "E6", Outcome.PASS, ev, f">= {k}")
    return _check(app, "E6", Outcome.FAIL, ev, f">= {k}", f"组建单位 {n} 家，少于 {k} 家 / too few founding units")


def check_top_ranked(app: Application, policy: Policy) -> Check:
    e = policy.eligibility
    units = [(app.lead_unit, app.lead_field_rank)] + [(m.unit_name, m.field_rank) for m in app.members if m.is_shareholder]
    top = [n for n, r in units if r is not None and r <= e.top_rank]
    unknown = [n for n, r in units if r is None]
    thr = f">= {e.min_top_ranked_members} units ranked <= {e.top_rank}"
    ev = f"{len(top)} ({'、'.join(top) or '无'}); 排名未知 unknown: {len(unknown)}"
    if len(top) >= e.min_top_ranked_members:
        return _check(app, "E7", Outcome.PASS, ev, thr)
    if unknown and e.unknown_rank_needs_review and len(top) + len(unknown) >= e.min_top_ranked_members:
        return _check(app, "E7", Outcome.REVIEW, ev, thr,
                      f"{len(unknown)} 家股东单位领域排名未知，需核实 / field rank unknown for some shareholders")
    return _check(app, "E7", Outcome.FAIL, ev, thr,
                  f"本领域排名前{e.top_rank}的股东单位 {len(top)} 家，少于 {e.min_top_ranked_members} 家 / too few top-ranked shareholders")


def check_recommendation(app: Application, policy: Policy) -> Check:
    if app.recommending_city and app.recommending_city in policy.cities.names:
        return _check(app, "E8", Outcome.PASS, app.recommending_city, "one of the 14 cities")
    return _check(app, "E8", Outcome.FAIL, app.recommending_city or "空 blank", "one of the 14 cities",
                  "无设区市工业和信息化主管部门推荐 / not recommended by a city department")


def check_field(app: Application, policy: Policy) -> Check:
    if app.field in policy.fields.all:
        return _check(app, "E9", Outcome.PASS, app.field, "one of the 12 key fields")
    return _check(app, "E9", Outcome.FAIL, app.field, "one of the 12 key fields", "不属于重点领域 / not a key field")


CHECKS = (check_revenue, check_rd_ratio, check_platforms, check_patents, check_violations,
          check_founding_units, check_top_ranked, check_recommendation, check_field)


def screen_application(app: Application, policy: Policy) -> list[Check]:
    return [check(app, policy) for check in CHECKS]


def overall(checks: list[Check]) -> Outcome:
    outcomes = {c.outcome for c in checks}
    if Outcome.FAIL in outcomes:
        return Outcome.FAIL
    if Outcome.REVIEW in outcomes:
        return Outcome.REVIEW
    return Outcome.PASS


@dataclass
class ScreeningResult:
    checks: pd.DataFrame     # one row per application x check
    summary: pd.DataFrame    # one row per application: overall outcome and reasons

    def counts(self) -> dict[str, int]:
        return self.summary["outcome"].value_counts().to_dict()

    def report_lines(self) -> list[str]:
        """The summary line and one line per application that did not pass, with its reasons."""
        c = self.counts()
        lines = [f"形式审查 Screening: {len(self.summary)} applications — 通过 pass {c.get('pass', 0)}, "
                 f"不通过 fail {c.get('fail', 0)}, 需复核 needs-review {c.get('needs-review', 0)}"]
        for _, r in self.summary.iterrows():
            if r["outcome"] != "pass":
                lines.append(f"  {r['application_id']} {r['name']} [{r['outcome_zh']} {r['outcome']}]: {r['reasons']}")
        return lines

    def write(self, out) -> list:
        return (write_table(self.summary, out, "screening_summary", "形式审查汇总")
                + write_table(self.checks, out, "screening_checks", "形式审查明细"))

    def eligible_ids(self, include_review: bool = False) -> list[str]:
        ok = {Outcome.PASS.value} | ({Outcome.REVIEW.value} if include_review else set())
        return self.summary.loc[self.summary["outcome"].isin(ok), "application_id"].tolist()


def screen(data: RoundData, policy: Policy, overrides: dict[tuple[str, str], tuple[str, str]] | None = None) -> ScreeningResult:
    """Screen every application. `overrides` maps (application_id, rule) to (outcome, reason): staff
    decisions on needs-review items, recorded beside the computed outcome. A decision applies only to
    a check computed as needs-review: one made earlier on a check that the data now decide (after a
    re-import) is not applied, and the check's reason says so."""
    overrides = overrides or {}
    rows, summary = [], []
    for app in data.applications:
        checks = screen_application(app, policy)
        final = []
        for c in checks:
            o = overrides.get((app.application_id, c.rule))
            if o is not None and c.outcome != Outcome.REVIEW:
                c = Check(c.application_id, c.rule, c.name_zh, c.name_en, c.outcome, c.evidence, c.threshold,
                          f"{c.reason}{'；' if c.reason else ''}人工复核意见未采用：该项现由数据判定为{c.outcome.zh} / "
                          f"staff decision '{o[0]}' not applied: the data now decide this check ({c.outcome.value})")
            elif o is not None:
                c = Check(c.application_id, c.rule, c.name_zh, c.name_en, Outcome(o[0]), c.evidence, c.threshold,
                          f"人工复核 staff decision: {o[1]} (原结果 computed: {c.outcome.value})")
            final.append(c)
            rows.append({"application_id": c.application_id, "rule": c.rule, "check_zh": c.name_zh,
                         "check_en": c.name_en, "outcome": c.outcome.value, "outcome_zh": c.outcome.zh,
                         "evidence": c.evidence, "threshold": c.threshold, "reason": c.reason})
        out = overall(final)
        reasons = [f"{c.rule} {c.reason}" for c in final if c.outcome != Outcome.PASS]
        summary.append({"application_id": app.application_id, "name": app.name, "field": app.field,
                        "recommending_city": app.recommending_city, "lead_unit": app.lead_unit,
                        "outcome": out.value, "outcome_zh": out.zh,
                        "failed_rules": ",".join(c.rule for c in final if c.outcome == Outcome.FAIL),
                        "review_rules": ",".join(c.rule for c in final if c.outcome == Outcome.REVIEW),
                        "reasons": "；".join(reasons)})
    cols = ["application_id", "rule", "check_zh", "check_en", "outcome", "outcome_zh", "evidence", "threshold", "reason"]
    return ScreeningResult(pd.DataFrame(rows, columns=cols), pd.DataFrame(summary, columns=[
        "application_id", "name", "field", "recommending_city", "lead_unit", "outcome", "outcome_zh",
        "failed_rules", "review_rules", "reasons"]))
