"""Checks of a staff act against the round's records, made when the act is made (pure: records and
policy in, messages out; `reviewer.store.repo` calls them inside its transactions).

    decision_target(data, policy, application_id, rule)      a needs-review check, else UserError
    check_conflict_exists(data, policy, expert_id, application_id, rule)   a waiver lifts a real hit
    lock_findings(data, policy, stage, expert_id, application_id, context)  (errors, warnings) of a lock
    import_breaks(data, policy, published)                    what a re-import would break of published seats

Every message names ids (and names), Chinese first, then English.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import Declaration, Expert, RoundData
from reviewer.panels import seatchecks
from reviewer.policy import Policy
from reviewer.screening.eligibility import RULES, Outcome, screen, screen_application

Seat = tuple[str, str, str]   # (stage, expert_id, application_id)


def with_waivers(data: RoundData, waivers: Iterable[dict]) -> RoundData:
    """`data` with the staff's waivers (dicts with expert_id, application_id, rule, reason) as 豁免 declarations."""
    extra = tuple(Declaration(application_id=w["application_id"], expert_id=w["expert_id"], kind="豁免",
                              declared_by="工作人员", reason=w["reason"], rule=w["rule"]) for w in waivers)
    return data if not extra else data.model_copy(update={"declarations": tuple(data.declarations) + extra})


# ---------------------------------------------------------------- needs-review decisions

def decision_target(data: RoundData, policy: Policy, application_id: str, rule: str) -> None:
    """UserError unless `rule` of `application_id` is a check whose computed outcome is needs-review:
    a pass or a fail is decided by the data (correct it and re-import), not by staff."""
    if rule not in RULES:
        raise UserError(f"未知核查项 unknown check {rule!r}; checks: {', '.join(RULES)}")
    try:
        app = data.application(application_id)
    except KeyError:
        raise UserError(f"未知申报 unknown application id {application_id!r}") from None
    check = next(c for c in screen_application(app, policy) if c.rule == rule)
    if check.outcome != Outcome.REVIEW:
        why = f"：{check.reason}" if check.reason else ""
        raise UserError(
            f"{application_id} {rule} 的核查结果为“{check.outcome.zh}”{why}，只有“需人工复核”的核查项可以复核决定；"
            f"如数据有误，请更正数据后重新导入。 / {application_id} {rule} was computed as {check.outcome.value} "
            f"({check.evidence}; threshold {check.threshold}): only needs-review checks can be decided; "
            "if the data is wrong, correct it and import again (reviewer import)")


# ---------------------------------------------------------------- waivers

def check_conflict_exists(data: RoundData, policy: Policy, expert_id: str, application_id: str, rule: str) -> None:
    """UserError unless the pair has a hit of `rule` (a waiver of a conflict that does not exist is refused)."""
    cs = detect_conflicts(data, policy)
    hits = cs.pair(expert_id, application_id)
    if any(h.rule == rule for h in hits):
        return
    have = ", ".join(sorted({h.rule for h in hits})) or "无 none"
    raise UserError(f"专家 {expert_id} 与申报 {application_id} 之间没有 {rule} 回避关系，无需豁免（该组合的回避规则：{have}）。 / "
                    f"expert {expert_id} and application {application_id} have no {rule} conflict to waive "
                    f"(their conflicts: {have})")


# ---------------------------------------------------------------- locks

@dataclass
class LockContext:
    """What else in the round a new lock meets: the staff's needs-review decisions
    ((application_id, rule) -> (decision, reason)), waivers, the active locks and forbids, the
    published stages and their active seats (stage, expert_id, application_id)."""
    decisions: dict = field(default_factory=dict)
    waivers: list = field(default_factory=list)
    locks: list = field(default_factory=list)
    forbids: list = field(default_factory=list)
    published_stages: set = field(default_factory=set)
    published_seats: list = field(default_factory=list)


def _who(e: Expert) -> str:
    return f"{e.expert_id} {e.name}（{e.category}）"


def _availability(policy: Policy, stage: str, e: Expert, locks: list[Seat]) -> list[str]:
    out = []
    if not e.drawable:
        out.append(f"专家 {_who(e)} 状态为“{e.status}”，不能抽取 / expert {e.expert_id} cannot be drawn (status {e.status})")
    day = policy.stages.date_of(stage)
    if day is not None and not e.available_on(day):
        out.append(f"专家 {_who(e)} 在 {stage}（{day}）不可用 / expert {e.expert_id} is not available on {day} ({stage})")
    cap = policy.panel_rules.max_load_per_stage if e.max_load is None else e.max_load
    n = sum(1 for s, x, _ in locks if s == stage and x == e.expert_id)
    if n > cap:
        out.append(f"专家 {_who(e)} 在 {stage} 被锁定 {n} 个申报，超过每阶段上限 {cap} / expert {e.expert_id} would be "
                   f"locked on {n} panels of {stage}, above the maximum load {cap}")
    return out


def lock_findings(data: RoundData, policy: Policy, stage: str, expert_id: str, application_id: str,
                  ctx: LockContext) -> tuple[list[str], list[str]]:
    """(errors, warnings) of locking `expert_id` onto `application_id`'s panel in `stage`, with the
    other locks of the round: errors prove that no plan can hold the lock (conflicts, screening,
    availability, composition, load, stage independence); warnings are what only the whole plan can tell."""
    policy.stage(stage)
    e, a = data.expert(expert_id), data.application(application_id)
    errors: list[str] = []
    warnings: list[str] = []
    if stage in ctx.published_stages:
        errors.append(f"{stage} 已发布，锁定不再起作用；已发布的专家组只能通过替换更改（reviewer replace） / {stage} is "
                      "published: a lock no longer applies; change a published panel with reviewer replace")
    if (stage, expert_id, application_id) in set(ctx.forbids):
        errors.append("该席位已被禁止（先 reviewer unforbid） / the seat is forbidden (reviewer unforbid first)")
    summary = screen(data, policy, ctx.decisions).summary.set_index("application_id").loc[application_id]
    if summary["outcome"] == Outcome.FAIL.value:
        errors.append(f"申报 {application_id} {a.name} 未通过形式审查（{summary['reasons']}），不参加评审 / "
                      f"{application_id} failed screening ({summary['failed_rules']}), so it has no panel")
    elif summary["outcome"] == Outcome.REVIEW.value:
        warnings.append(f"申报 {application_id} 形式审查需人工复核（{summary['review_rules']}），复核通过或加 --include-review "
                        f"后才会组建专家组 / {application_id} needs review ({summary['review_rules']}): it gets a panel "
                        "once decided, or with --include-review")
    cs: ConflictSet = detect_conflicts(with_waivers(data, ctx.waivers), policy)
    hits = cs.pair(expert_id, application_id)
    hard = sorted({h.rule for h in hits if h.excludes})
    if hard:
        errors.append(f"专家 {_who(e)} 与申报 {application_id} {a.name} 存在回避关系（{', '.join(hard)}） / expert "
                      f"{expert_id} has a conflict of interest with {application_id} ({', '.join(hard)})")
    soft = sorted({h.rule for h in hits if h.severity == "soft" and not h.waived})
    if soft:
        warnings.append(f"软性回避 {', '.join(soft)}（计入目标罚分） / soft conflict {', '.join(soft)} (penalised)")
    locks = [x for x in ctx.locks if x != (stage, expert_id, application_id)] + [(stage, expert_id, application_id)]
    errors += _availability(policy, stage, e, locks)
    if not policy.stages.allow_same_expert_across_stages:
        other = sorted({s for s, x, ap in list(ctx.locks) + list(ctx.published_seats)
                        if x == expert_id and ap == application_id and s != stage})
        if other:
            errors.append(f"专家 {expert_id} 已在 {'、'.join(other)} 评审（或锁定）申报 {application_id}，同一专家只能在一个阶段评审"
                          f"同一申报 / expert {expert_id} already sits (or is locked) on {application_id} in "
                          f"{', '.join(other)}: one stage only")
    on_panel = [x for s, x, ap in locks if s == stage and ap == application_id and not cs.is_excluded(x, ap)]
    errors += [f"申报 {application_id} {a.name}（领域“{a.field}”）：{text}"
               for _, text in seatchecks.lock_composition(data, policy, stage, application_id, on_panel, conflicts=cs)]
    return errors, warnings


# ---------------------------------------------------------------- re-imports after publication

def import_breaks(data: RoundData, policy: Policy, published: pd.DataFrame, waivers: Iterable[dict] = (), *,
                  current: RoundData | None = None, fixed: Iterable[Seat] = (), locks: Iterable[Seat] = (),
                  forbids: Iterable[Seat] = ()) -> list[str]:
    """What importing `data` would break of the published, active seats (stage, application_id,
    expert_id, role): an application or expert that disappears, an expert who can no longer be drawn, a
    seat whose pair now has a conflict of interest, and, given the `current` records, every other
    finding of the independent checker that the new records bring (`seatchecks.check_data_change`:
    categories, chair, field match, employers, availability ... with `fixed` seats of unpublished
    stages, `locks` and `forbids`). Empty list: nothing published breaks."""
    if published.empty:
        return []
    apps = {a.application_id for a in data.applications}
    experts = {e.expert_id: e for e in data.experts}
    out = []
    for a in sorted(set(published["application_id"]) - apps):
        stages = sorted(set(published.loc[published["application_id"] == a, "stage"]))
        out.append(f"已发布的申报 {a}（{'、'.join(stages)}）在新数据中不存在 / published application {a} is missing")
    for x in sorted(set(published["expert_id"]) - set(experts)):
        out.append(f"已发布专家组中的专家 {x} 在新数据中不存在 / expert {x} of a published panel is missing")
    for x in sorted(set(published["expert_id"]) & set(experts)):
        if not experts[x].drawable:
            out.append(f"已发布专家组中的专家 {x} {experts[x].name} 状态变为“{experts[x].status}” / expert {x} of a "
                       f"published panel can no longer be drawn ({experts[x].status})")
    if data.applications and data.experts:
        cs = detect_conflicts(with_waivers(data, waivers), policy)
        for seat in published.itertuples(index=False):
            if seat.application_id in apps and seat.expert_id in experts and \
                    cs.is_excluded(seat.expert_id, seat.application_id):
                rules = ", ".join(sorted({h.rule for h in cs.pair(seat.expert_id, seat.application_id) if h.excludes}))
                out.append(f"{seat.stage} 已发布席位 {seat.expert_id} × {seat.application_id} 在新数据中存在回避关系（{rules}） / "
                           f"published seat {seat.expert_id} on {seat.application_id} ({seat.stage}) would have a "
                           f"conflict of interest ({rules})")
    if out or current is None:
        return out
    waivers = list(waivers)
    check, found = seatchecks.check_data_change(with_waivers(current, waivers), with_waivers(data, waivers), policy,
                                             published, locks=locks, forbids=forbids, fixed=fixed)
    return [f"已发布专家组在新数据下违反 published panel would break {seatchecks.finding_line(check, v)}" for v in found]


def check_locks(data: RoundData, policy: Policy, stages: Iterable[str], ctx: LockContext) -> tuple[list[str], list[str]]:
    """(errors, notes) of the locks of `ctx` before planning `stages`: each planned stage's lock
    checked as when it was made (`lock_findings`, prefixed with the seat), and a note for each lock of
    a stage that is not being planned (it does not apply to this run)."""
    errors, notes = [], []
    stages = set(stages)
    for stage, e, a in ctx.locks:
        if stage not in stages:
            notes.append(f"锁定 {stage} {e} × {a} 不在本次规划的阶段内，本次不起作用 / lock {stage} {e} × {a} is for a "
                         "stage not planned in this run: not applied")
            continue
        try:
            bad, _ = lock_findings(data, policy, stage, e, a, ctx)
        except KeyError as k:
            bad = [f"未知编号 unknown id {k}"]
        errors += [f"锁定 lock {stage} {e} × {a}: {x}" for x in bad]
    return errors, notes
