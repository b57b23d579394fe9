"""Changes to a published round: every replacement passes the same independent checker as a plan.

    replace_seats(s, round, stage, pairs, reason=..., user=...)      the one checked path (CLI, app)
    replace_expert(s, round, stage, application, old, new, ...)     one seat of it (`reviewer replace --new`)
    pick_replacement(s, round, stage, application, old)             the solver's repair, checked the same way
    overrides(s, round, stage=None)                                 the overrides in force (例外)

A replacement builds the round's published seats of ALL stages as they would be after the change and
checks them with `reviewer.panels.service.check_seat_change` (`solver.check_plan` over every hard-rule
family of `solver.families`), with the round's current data, waivers, locks and forbids, and the seats
of stages not yet published in the runs the published stages came from held fixed (so an expert
never sits on one application in two stages, published or planned). A change that breaks a rule is
refused naming the rule (Chinese label and id) and the ids; findings already present before the
change are not the change's doing.

The replaced seats' responses become `replaced` and the new seats are invited (seat_responses.invite_stage).
The new expert and the replaced one are notified through the outbox, in the same transaction
(reviewer.store.outbox.enqueue_replacement_notices).

The leaving expert's scores and written opinions (评审意见) already submitted for that seat become void
(kept, with the reason; a leaving chair's 专家组综合意见 too): an expert without the seat has no say in
the ranking or the report. The replacement's audit entry lists them, so `audit verify` replays it. When the chair (组长) leaves, the chair passes to
someone the checker accepts (`seat_change`, `seatchecks.chair_candidates`; audited as chair_handover).

Force majeure: `override_rules` names hard-rule ids (`solver.families.HARD_FAMILIES`) the change may
break; each broken rule must be named, and every rule named must be broken. A conflict of interest
(excluded_pairs) whose rule is not in the policy's `conflicts.waivable_rules` is never overridden.
An override is recorded in the audit log (action `rule_override`: rule, seats, reason, user, and the
id of the seat it came with) and is in force while that seat is active: `overrides` lists them for
the panel views and reports ("例外 override: RULE – reason").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.panels import seatchecks, service
from reviewer.store import audit, facts, outbox, pool, repo, seat_responses, site_repair
from reviewer.store.models import Assignment, AuditEntry, Opinion, Panel, PanelOpinion, Round, Score
from solver.families import BY_NAME as FAMILIES_BY_NAME
from solver.families import HARD_FAMILIES
from solver.model import Violation

SEAT_COLS = ["stage", "application_id", "expert_id", "role"]
CHAIR, MEMBER = "chair", "member"
OVERRIDE_ACTION = "rule_override"
HANDOVER_ACTION = "chair_handover"          # audit action of a chair handover
HANDOVER_ORIGIN = "chair_handover"          # origin of the heir's new seat
EXCLUDED_PAIRS = "excluded_pairs"
OVERRIDE_COLS = ["stage", "application_id", "expert_id", "assignment_id", "rule", "label_zh", "reason", "user",
                 "at", "violations", "keys", "text"]


@dataclass(frozen=True)
class Override:
    """A hard rule a replacement was allowed to break, with the findings it covers (text lines)."""
    rule: str
    label_zh: str
    lines: tuple[str, ...]
    keys: tuple[tuple[str, str, str, str], ...]   # (rule, stage, application_id, expert_id; "" for none)


def round_seats(s: Session, r: Round) -> pd.DataFrame:
    """The active published seats of every stage of the round (stage, application_id, expert_id, role)."""
    pol = repo.round_policy(r)
    frames = [repo.published_seats(s, r, stg)[SEAT_COLS] for stg in pol.stages.order]
    return pd.concat(frames, ignore_index=True).astype(str) if frames else pd.DataFrame(columns=SEAT_COLS)


pending_seats = repo.pending_seats   # seats of stages not yet published, as planned (held fixed)


def known_rules(names: Iterable[str]) -> tuple[str, ...]:
    """The override rule ids, each a hard-rule id of the registry (UserError naming the known ones)."""
    out = []
    for name in names:
        name = (name or "").strip()
        if name not in FAMILIES_BY_NAME:
            known = ", ".join(f"{f} ({FAMILIES_BY_NAME[f].label_zh})" for f in HARD_FAMILIES)
            raise UserError(f"未知规则 unknown rule {name!r} for --override-rule; 可用 known hard-rule ids: {known}")
        if name not in out:
            out.append(name)
    return tuple(out)


violation_ids = seatchecks.finding_ids   # a finding as (rule, stage, application_id, expert_id)


def violation_lines(check: service.SeatCheck, found: Sequence[Violation], conflicts=None) -> list[str]:
    """Each finding as "rule id (label): stage application expert: what"; a conflict of interest
    also names its conflict rules (C1-C9) when `conflicts` is given."""
    inp = check.result.inp
    out = []
    for v in found:
        where = [inp.stage_names[v.stage] if 0 <= v.stage < len(inp.stage_names) else "",
                 inp.applications[v.application].application_id if v.application >= 0 else "",
                 inp.experts[v.expert].expert_id if v.expert >= 0 else ""]
        label = FAMILIES_BY_NAME[v.rule].label_zh if v.rule in FAMILIES_BY_NAME else v.rule
        what = v.message
        if v.rule == EXCLUDED_PAIRS and conflicts is not None and v.expert >= 0 and v.application >= 0:
            hits = sorted({h.rule for h in conflicts.pair(where[2], where[1]) if h.excludes})
            what = f"回避 conflict of interest ({', '.join(hits) or what})"
        out.append(f"{v.rule} ({label}): {' '.join(x for x in where if x)}: {what}")
    return out


def check_change(s: Session, r: Round, data: RoundData, after: pd.DataFrame,
                 override_rules: Iterable[str] = (), act: str = "替换",
                 leaving: Iterable[tuple[str, str, str]] = ()) -> list[Override]:
    """The shared check of a change to a published round: `after` (every active published seat of
    every stage after the change) against every hard rule, as for a plan. Refused (UserError naming
    each rule and seat) unless every finding's rule is in `override_rules`; every rule named must be
    broken, and a non-waivable conflict of interest is never overridden. Returns the overrides.
    `act`: what the change is, in the refusal (替换 a replacement, 发布 a publication). `leaving`:
    the seats (stage, application_id, expert_id) the change removes: findings their overrides covered
    count as the change's own again (an override stays with its seat)."""
    pol = repo.round_policy(r)
    rules = known_rules(override_rules)
    # a published site plan's routes and days are fixed: a change may not put anyone in two teams on a day,
    # on an unavailable date or over their consecutive-days limit (never overridable)
    site_repair.refuse_new_day_findings(s, r, data, round_seats(s, r), after, act)
    seat_rules = repo.seat_rules(s, r)
    conflicts = detect_conflicts(data, pol)
    pending = [tuple(x) for x in pending_seats(s, r)[["stage", "expert_id", "application_id"]].itertuples(index=False)]
    gone = set(leaving)
    again = [tuple(k) for o in overrides(s, r).itertuples(index=False)
             if (o.stage, o.application_id, o.expert_id) in gone for k in o.keys]
    check = service.check_seat_change(data, pol, round_seats(s, r), after, locks=seat_rules["lock"],
                                      forbids=seat_rules["forbid"], fixed=pending, conflicts=conflicts, again=again,
                                      bars=pool.bars_for_round(s, r, pol))
    found = check.violations
    unnamed = [v for v in found if v.rule not in rules]
    if unnamed:
        raise UserError(f"{act}后违反硬性规则，未{act} the change breaks hard rule(s) of round "
                        f"{r.code}; nothing was changed:\n  {act}后违反 " + f"\n  {act}后违反 ".join(
                            violation_lines(check, unnamed, conflicts)))
    _refuse_fixed_conflicts(check, found, conflicts, pol.conflicts.waivable_rules)
    broken = {v.rule for v in found}
    unused = [x for x in rules if x not in broken]
    if unused:
        raise UserError(f"例外无效 the change keeps rule(s) {', '.join(unused)}: an override names only rules the "
                        "change breaks; drop --override-rule " + " --override-rule ".join(unused))
    return [Override(x, FAMILIES_BY_NAME[x].label_zh,
                     tuple(violation_lines(check, [v for v in found if v.rule == x], conflicts)),
                     tuple(violation_ids(check, v) for v in found if v.rule == x)) for x in rules]


def _refuse_fixed_conflicts(check: service.SeatCheck, found: Sequence[Violation], conflicts,
                            waivable: Sequence[str]) -> None:
    """UserError for a conflict of interest that no override may lift (not in conflicts.waivable_rules)."""
    inp = check.result.inp
    for v in found:
        if v.rule != EXCLUDED_PAIRS or v.expert < 0 or v.application < 0:
            continue
        e, a = inp.experts[v.expert].expert_id, inp.applications[v.application].application_id
        fixed = sorted({h.rule for h in conflicts.pair(e, a) if h.excludes and h.rule not in waivable})
        if fixed:
            why = ", ".join(fixed)
            raise UserError(f"专家 {e} 与 {a} 存在不可豁免的回避关系 ({why})，不能例外 expert {e} has a conflict of "
                            f"interest with {a} ({why}) that cannot be waived or overridden (policy "
                            f"conflicts.waivable_rules: {', '.join(waivable)}); choose another expert")


def _check_pair(data: RoundData, r: Round, stage: str, application_id: str, old: str, new: str,
                members: list[str]) -> None:
    if old not in members:
        raise UserError(f"专家 {old} 不在 {application_id} ({stage}) 的专家组中 expert {old} is not on the panel of "
                        f"{application_id} ({stage}); members: {', '.join(members)}")
    if new in members:
        raise UserError(f"专家 {new} 已在 {application_id} ({stage}) 的专家组中 expert {new} is on the panel of "
                        f"{application_id} ({stage}) already")
    try:
        data.expert(new)
    except KeyError:
        raise UserError(f"未知专家 unknown expert id {new!r} in round {r.code}") from None


def seat_change(after: pd.DataFrame, data: RoundData, r: Round, stage: str, application_id: str, old: str, new: str,
                conflicts=None) -> str | None:
    """Put `new` in `old`'s seat of `after` (in place) and keep the panel chaired: the new expert takes
    the old seat's role, except when the chair (组长) leaves and the independent checker does not
    accept the new expert as chair (`seatchecks.chair_candidates`): then the first member of the panel it
    accepts takes the chair and the new expert sits as a member. Returns that member (the heir), or
    None when no handover is needed or nobody on the panel can chair (the check then refuses the
    change naming the chair rule, unless it is overridden)."""
    on_panel = (after["stage"] == stage) & (after["application_id"] == application_id)
    leaving = on_panel & (after["expert_id"] == old)
    was_chair = bool((after.loc[leaving, "role"] == CHAIR).any())
    after.loc[leaving, "expert_id"] = new
    if not was_chair:
        return None
    members = after.loc[on_panel, "expert_id"].tolist()
    able = seatchecks.chair_candidates(data, repo.round_policy(r), stage, application_id, members, conflicts=conflicts)
    if new in able or not able:
        return None
    after.loc[on_panel, "role"] = [CHAIR if x == able[0] else MEMBER for x in members]
    return able[0]


def replace_seats(s: Session, r: Round, stage: str, pairs: Sequence[Sequence[str]], *, reason: str, user: str,
                  override_rules: Iterable[str] = (), expected_version: int | None = None,
                  data: RoundData | None = None) -> list[Assignment]:
    """Record replacements on the published panels of `stage`, each pair (application, old expert, new
    expert), after checking the whole round as it would be (`check_change`); all or nothing. The new
    expert takes the old seat's role. `expected_version`: the panel version the user saw (one pair
    only): if someone changed the panel since, ConcurrentEditError and nothing changes."""
    if not reason.strip():
        raise UserError("a replacement needs a reason (--reason)")
    if not pairs:
        raise UserError(f"{stage}: no replacement given")
    repo.round_policy(r).stage(stage)
    if data is None:
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    after = round_seats(s, r)
    conflicts = detect_conflicts(data, repo.round_policy(r))
    heirs: dict[tuple[str, str], str] = {}
    for app_id, old, new in pairs:
        panel = repo.get_panel(s, r, stage, app_id)
        if expected_version is not None and panel.version != expected_version:
            raise repo.ConcurrentEditError(
                f"panel {app_id} ({stage}) was changed by someone else since you opened it (you saw version "
                f"{expected_version}, it is now {panel.version}); reload the panel and make your change again")
        on_panel = (after["stage"] == stage) & (after["application_id"] == app_id)
        _check_pair(data, r, stage, app_id, old, new, after.loc[on_panel, "expert_id"].tolist())
        heir = seat_change(after, data, r, stage, app_id, old, new, conflicts)
        if heir is not None:
            heirs[(app_id, old)] = heir
    found = check_change(s, r, data, after, override_rules, leaving=[(stage, a, old) for a, old, _ in pairs])
    written = []
    for app_id, old, new in pairs:
        written.append(_write_pair(s, r, stage, app_id, old, new, reason=reason, user=user,
                                   expected_version=expected_version if len(pairs) == 1 else None,
                                   role=MEMBER if (app_id, old) in heirs else None))
        outbox.enqueue_replacement_notices(s, r, stage, app_id, old, new, written[-1].id, user=user, reason=reason)
        if (app_id, old) in heirs:
            _hand_over_chair(s, r, stage, app_id, old, heirs[(app_id, old)], new, reason=reason, user=user)
    for o in found:
        audit.record(s, user=user, action=OVERRIDE_ACTION, reason=reason, round_code=r.code,
                     entity=f"{stage} {pairs[0][0]}: {o.rule}",
                     after={"stage": stage, "rule": o.rule, "label_zh": o.label_zh, "violations": list(o.lines),
                            "keys": [list(k) for k in o.keys],
                            "seats": [{"application_id": a.application_id, "expert_id": a.expert_id,
                                       "assignment_id": a.id} for a in written]})
    seat_responses.invite_stage(s, r, stage, user=user, reason=reason)   # the old seats replaced, the new invited
    return written


def _write_pair(s: Session, r: Round, stage: str, application_id: str, old_expert: str, new_expert: str, *,
                reason: str, user: str, expected_version: int | None, role: str | None = None) -> Assignment:
    """Record one replacement: the old seat `replaced`, the new expert's seat (the old seat's role
    unless `role` is given), the panel version bumped (ConcurrentEditError if it moved), audited."""
    panel = repo.get_panel(s, r, stage, application_id)
    version = panel.version if expected_version is None else expected_version
    seats = list(s.execute(select(Assignment).where(Assignment.panel_id == panel.id,
                                                    Assignment.status == "active")).scalars())
    old = next(a for a in seats if a.expert_id == old_expert)
    res = s.execute(update(Panel).where(Panel.id == panel.id, Panel.version == version).values(version=version + 1))
    if res.rowcount != 1:
        s.expire(panel)
        cur = s.get(Panel, panel.id)
        raise repo.ConcurrentEditError(
            f"panel {application_id} ({stage}) was changed by someone else since you opened it (you saw version "
            f"{version}, it is now {cur.version if cur else '?'}); reload the panel and make your change again")
    before = sorted(a.expert_id for a in seats)
    s.execute(update(Assignment).where(Assignment.id == old.id).values(status="replaced"))
    voided_ids = list(s.execute(select(Score.id).where(
        Score.round_id == r.id, Score.stage == stage, Score.application_id == application_id,
        Score.expert_id == old_expert, Score.void.is_(False)).order_by(Score.id)).scalars())
    if voided_ids:
        s.execute(update(Score).where(Score.id.in_(voided_ids))
                  .values(void=True, void_reason=f"专家 {old_expert} 已被替换，评分不再计入 / expert {old_expert} "
                                                 f"was replaced: {reason}"))
    voided = len(voided_ids)
    said = _void_opinions(s, r, stage, application_id, old_expert, chair=old.role == CHAIR, reason=reason)
    new = Assignment(panel_id=panel.id, stage=stage, application_id=application_id, expert_id=new_expert,
                     role=role or old.role, origin="repair", replaces_id=old.id)
    s.add(new)
    s.flush()
    s.expire(panel)
    after = sorted([x for x in before if x != old_expert] + [new_expert])
    audit.record(s, user=user, action="replacement", reason=reason, round_code=r.code,
                 entity=f"{stage} {application_id}: {old_expert} -> {new_expert}",
                 before={"panel": before, "version": version},
                 after={"panel": after, "version": version + 1, "assignment_id": new.id, "stage": stage,
                        "replaced_id": old.id, "new": facts.seat_record(new), "scores_voided": voided,
                        "voided_score_ids": voided_ids, **said})
    return new


def _void_opinions(s: Session, r: Round, stage: str, application_id: str, expert: str, *, chair: bool,
                   reason: str) -> dict[str, list[int]]:
    """The leaving expert's 评审意见 on the seat (and, for a chair, the panel's 专家组综合意见 they
    recorded) stop counting, like their scores: kept, void, with the reason. Returns the ids, which
    the replacement's audit entry records (reviewer.store.facts replays them)."""
    why = f"专家 {expert} 已被替换，意见不再计入 / expert {expert} was replaced: {reason}"
    ids = list(s.execute(select(Opinion.id).where(
        Opinion.round_id == r.id, Opinion.stage == stage, Opinion.application_id == application_id,
        Opinion.expert_id == expert, Opinion.void.is_(False)).order_by(Opinion.id)).scalars())
    if ids:
        s.execute(update(Opinion).where(Opinion.id.in_(ids)).values(void=True, void_reason=why))
    panel_ids = list(s.execute(select(PanelOpinion.id).where(
        PanelOpinion.round_id == r.id, PanelOpinion.stage == stage, PanelOpinion.application_id == application_id,
        PanelOpinion.chair_id == expert, PanelOpinion.void.is_(False)).order_by(PanelOpinion.id)).scalars()) \
        if chair else []
    if panel_ids:
        s.execute(update(PanelOpinion).where(PanelOpinion.id.in_(panel_ids)).values(
            void=True, void_reason=f"组长 {expert} 已被替换，综合意见需重新形成 / the chair {expert} was replaced: {reason}"))
    return {"voided_opinion_ids": ids, "voided_panel_opinion_ids": panel_ids,
            "voided_dissent": _void_dissent(s, r, stage, application_id, expert, reason=reason)}


def _void_dissent(s: Session, r: Round, stage: str, application_id: str, expert: str, *,
                  reason: str) -> list[list]:
    """A leaving member's recorded dissent in the panel's 专家组综合意见 stops counting too: the entry is
    kept in the consensus opinion, marked {"void": true, "void_reason": ...}; the opinion itself still
    counts (the chair's text is the panel's). Returns [[panel opinion id, expert, void reason], ...]
    for the replacement's audit entry (reviewer.store.facts replays the mark)."""
    why = f"专家 {expert} 已被替换，其不同意见不再计入 / expert {expert} was replaced: {reason}"
    out = []
    for po in s.execute(select(PanelOpinion).where(
            PanelOpinion.round_id == r.id, PanelOpinion.stage == stage, PanelOpinion.application_id == application_id,
            PanelOpinion.void.is_(False)).order_by(PanelOpinion.id)).scalars():
        if not any(d.get("expert_id") == expert and not d.get("void") for d in po.dissent or []):
            continue
        s.execute(update(PanelOpinion).where(PanelOpinion.id == po.id).values(
            dissent=facts.void_dissent_entries(po.dissent, expert, why)))
        out.append([po.id, expert, why])
    return out



def _hand_over_chair(s: Session, r: Round, stage: str, application_id: str, old_chair: str, heir: str,
                     new_member: str, *, reason: str, user: str) -> Assignment:
    """The chair passes to `heir`, a member of the panel: published seats are never edited, so the
    heir's member seat is marked `replaced` by a new seat of the same expert as chair (origin
    `chair_handover`); the panel version is bumped and the handover audited (action chair_handover)."""
    panel = repo.get_panel(s, r, stage, application_id)
    seat = s.execute(select(Assignment).where(Assignment.panel_id == panel.id, Assignment.status == "active",
                                              Assignment.expert_id == heir)).scalar_one()
    version = panel.version
    s.execute(update(Panel).where(Panel.id == panel.id, Panel.version == version).values(version=version + 1))
    s.execute(update(Assignment).where(Assignment.id == seat.id).values(status="replaced"))
    chair = Assignment(panel_id=panel.id, stage=stage, application_id=application_id, expert_id=heir, role=CHAIR,
                       origin=HANDOVER_ORIGIN, replaces_id=seat.id)
    s.add(chair)
    s.flush()
    s.expire(panel)
    audit.record(s, user=user, action=HANDOVER_ACTION, reason=reason, round_code=r.code,
                 entity=f"{stage} {application_id}: 组长 chair {old_chair} -> {heir}",
                 before={"chair": old_chair, "version": version, "assignment_id": seat.id},
                 after={"chair": heir, "leaving_chair": old_chair, "new_member": new_member,
                        "version": version + 1, "assignment_id": chair.id, "stage": stage,
                        "replaced_id": seat.id, "new": facts.seat_record(chair)})
    return chair


def chair_of(s: Session, r: Round, stage: str, application_id: str) -> str | None:
    """The expert who chairs a published panel now (None when nobody does)."""
    seats = repo.published_seats(s, r, stage)
    chair = seats[(seats["application_id"] == application_id) & (seats["role"] == CHAIR)]
    return str(chair["expert_id"].iloc[0]) if not chair.empty else None


def replace_expert(s: Session, r: Round, stage: str, application_id: str, old_expert: str, new_expert: str, *,
                   reason: str, user: str, expected_version: int | None = None, data: RoundData | None = None,
                   override_rules: Iterable[str] = ()) -> Assignment:
    """`reviewer replace --new`: one seat of `replace_seats` (checked the same way)."""
    return replace_seats(s, r, stage, [(application_id, old_expert, new_expert)], reason=reason, user=user,
                         override_rules=override_rules, expected_version=expected_version, data=data)[0]


def pick_replacement(s: Session, r: Round, stage: str, application_id: str, old_expert: str,
                     data: RoundData | None = None) -> tuple[str, service.RepairResult]:
    """The solver's minimal-change repair over the round's published seats, with the seats of stages
    not yet published in their runs held fixed; only a one-seat change is applied automatically. Of
    the solver's pick for this panel and then the panel's alternates (候补), the first that passes
    `check_change` (a repair that also moves other seats, already breaking a rule, still yields this
    seat's pick: only this seat changes)."""
    pol = repo.round_policy(r)
    if data is None:
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    seats = round_seats(s, r)
    on_seat = (seats["stage"] == stage) & (seats["application_id"] == application_id)
    if not (on_seat & (seats["expert_id"] == old_expert)).any():
        members = ", ".join(seats.loc[on_seat, "expert_id"]) or "(no published panel)"
        raise UserError(f"专家 {old_expert} 不在 {application_id} ({stage}) 的已发布专家组中 expert {old_expert} has "
                        f"no published seat on {application_id} in {stage}; members: {members}")
    conflicts = detect_conflicts(data, pol)
    if stage == pol.stages.site and (routes := site_repair.published_routes(s, r)) is not None \
            and application_id in routes.team_of:   # keep the team's route and days, within the team first
        found = []

        def general() -> list[str]:
            cands, rep = _general_candidates(s, r, stage, application_id, old_expert, data, seats)
            found.append(rep)
            return cands
        cand = site_repair.pick(
            s, r, data, stage, application_id, old_expert, seats, conflicts,
            check=lambda after: check_change(s, r, data, after, leaving=[(stage, application_id, old_expert)]),
            swap=lambda after, a, c: seat_change(after, data, r, stage, a, old_expert, c, conflicts), fallback=general)
        return cand, (found[0] if found else None)
    cands, rep = _general_candidates(s, r, stage, application_id, old_expert, data, seats)
    refusals = []
    for candidate in cands:
        after = seats.copy()
        seat_change(after, data, r, stage, application_id, old_expert, candidate, conflicts)
        try:
            check_change(s, r, data, after, leaving=[(stage, application_id, old_expert)])
        except UserError as e:
            refusals.append(f"{candidate}: {e}")
            continue
        return candidate, rep
    added = rep.changes[rep.changes["change"] == "added"]
    if len(added) != 1 or rep.changed_seats != 1:
        lines = "; ".join(f"{c.change} {c.stage} {c.application_id} {c.expert_id}" for c in rep.changes.itertuples())
        raise UserError(f"no single expert can take the seat without moving others; the minimal repair is: "
                        f"{lines}. Apply it seat by seat with --new" + ("\n" + "\n".join(refusals[:3]) if refusals else ""))
    raise UserError(f"没有可自动替换的专家 no expert can take {old_expert}'s seat on {application_id} ({stage}) "
                    "without breaking a hard rule:\n" + "\n".join(refusals[:3]))


def _general_candidates(s: Session, r: Round, stage: str, application_id: str, old_expert: str, data: RoundData,
                        seats: pd.DataFrame) -> tuple[list[str], service.RepairResult]:
    """The solver's minimal-change repair's pick for this panel, then the panel's alternates (候补)."""
    pol = repo.round_policy(r)
    rules = repo.seat_rules(s, r)
    everything = pd.concat([seats, pending_seats(s, r)], ignore_index=True)
    _, rep = service.repair(data, pol, everything, [(stage, old_expert, application_id)],
                            locks=[x for x in rules["lock"] if x != (stage, old_expert, application_id)],
                            forbids=rules["forbid"], bars=pool.bars_for_round(s, r, pol))
    added = rep.changes[rep.changes["change"] == "added"]
    # The repair may also move seats that break a rule already (e.g. experts unavailable on a moved
    # meeting day): only this seat is changed here, so its pick for this panel and the panel's
    # alternates are tried as one-seat changes; the checker refuses any that breaks a rule itself.
    mine = added[(added["stage"] == stage) & (added["application_id"] == application_id)]
    alts = rep.alternates_of(stage, application_id, exclude=[old_expert])
    return list(dict.fromkeys([*map(str, mine["expert_id"]), *map(str, alts)])), rep


def overrides(s: Session, r: Round, stage: str | None = None) -> pd.DataFrame:
    """The overrides in force (例外): one row per overridden rule and seat that is still active, with
    the reason and who recorded it, the findings it covers (`violations` as text, `keys` as
    (rule, stage, application_id, expert_id)); `text` is what panels and reports show."""
    seats = list(s.execute(select(Assignment).join(Panel, Panel.id == Assignment.panel_id)
                           .where(Panel.round_id == r.id)).scalars())
    active = {a.id: a for a in seats if a.status == "active"}
    handed = {a.replaces_id: a.id for a in seats if a.origin == HANDOVER_ORIGIN}

    def in_force(seat_id):   # an override stays with its expert's seat through a chair handover
        while seat_id not in active and seat_id in handed:
            seat_id = handed[seat_id]
        return active.get(seat_id)
    rows = []
    for e in s.execute(select(AuditEntry).where(AuditEntry.round_code == r.code,
                                                AuditEntry.action == OVERRIDE_ACTION).order_by(AuditEntry.id)).scalars():
        after = json.loads(e.after)
        if stage is not None and after.get("stage") != stage:
            continue
        for seat in after.get("seats", []):
            a = in_force(seat.get("assignment_id"))
            if a is None:
                continue
            rows.append({"stage": a.stage, "application_id": a.application_id, "expert_id": a.expert_id,
                         "assignment_id": a.id, "rule": after["rule"], "label_zh": after.get("label_zh", ""),
                         "reason": e.reason, "user": e.user_name, "at": e.at,
                         "violations": "; ".join(after.get("violations", [])),
                         "keys": [tuple(k) for k in after.get("keys", [])],
                         "text": override_text(after["rule"], e.reason)})
    return pd.DataFrame(rows, columns=OVERRIDE_COLS)


def override_text(rule: str, reason: str) -> str:
    """How a panel and every report of it show an override."""
    label = FAMILIES_BY_NAME[rule].label_zh if rule in FAMILIES_BY_NAME else ""
    return f"例外 override: {rule}{' ' + label if label else ''} – {reason}"
