"""Publishing a stage: one truth for a plan, the seats of a stored run.

    publish_run(s, round, stage, run_id, user=..., reason=...)     the run's seats, checked against its hash
                                                                  and refused when the run is stale
    stale_reasons(s, round, run)                                   what changed in the round since a run
    record_imported_run(s, round, panels, source=..., sha256=...)  a panels file, checked, recorded as a run
    publish_file(s, round, stage, panels, source=..., sha256=...)  both, in the caller's transaction

A planning run records `result_sha256`, the sha256 of the canonical JSON of its sorted seats
(stage, application_id, expert_id, role), when it is made. Publishing recomputes that hash over
the seats the store holds for the run and refuses when they differ: seats changed behind the
program's back are never published. A panels table from a file is first checked by the independent
checker (`solver.check_plan`) against the round's current data and rules, then recorded as a run of
kind "imported" (with the file's sha256) and published like any other run.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.panels.service import SeatCheck, check_seats
from reviewer.panels.tables import plan_seats, seat_frame
from reviewer.screening.eligibility import screen
from reviewer.store import outbox, pool, replacement, repo, round_settings, seat_responses, site_inputs, site_visits
from reviewer.store.models import Publication, Round, Run
from reviewer.store.runs import record_plan
from solver.families import BY_NAME as FAMILIES_BY_NAME
from solver.model import FEASIBLE, OPTIMAL

PUBLISHABLE_KINDS = ("planning", "imported", site_visits.KIND)
IMPORTED = "imported"


def verified_run_seats(s: Session, r: Round, run_id: int) -> tuple[Run, pd.DataFrame]:
    """The seats of a publishable run of round `r`, after checking them against the run's hash."""
    run = repo.get_run(s, run_id)
    if run.round_id != r.id or run.kind not in PUBLISHABLE_KINDS:
        raise UserError(f"运行 run #{run_id} 不是批次 {r.code} 的专家组方案 is not a planning or imported run of "
                        f"round {r.code} (it is a {run.kind} run)")
    if run.status not in (OPTIMAL, FEASIBLE):
        raise UserError(f"运行 run #{run_id} 没有可行方案 found no plan ({run.status}); nothing to publish")
    seats = repo.run_seats(s, run_id)
    digest = repo.seats_digest(plan_seats(seats))
    if not run.result_sha256 or digest != run.result_sha256:
        recorded = (run.result_sha256 or "none")[:12]
        raise UserError(f"运行 run #{run_id} 的席位与生成时记录的结果哈希不一致，拒绝发布。The seats stored for run "
                        f"#{run_id} do not match the result hash recorded when the run was made (recorded "
                        f"{recorded}…, now {digest[:12]}…): they were changed outside the program. Nothing was "
                        "published; plan again (reviewer run assign) and publish the new run")
    return run, seats


class StalePlan(UserError):
    """A run made before a later change of the round (`reasons`), not confirmed with a reason."""

    def __init__(self, stage: str, run_id: int, reasons: list[str]):
        self.stage, self.run_id, self.reasons = stage, run_id, reasons
        super().__init__(f"{stage}: 方案已过期（运行 #{run_id} 之后批次有变化），请重新求解后再发布，或说明理由确认按原方案发布 / "
                         f"the plan (run #{run_id}) is out of date: re-plan before publishing, or confirm publishing "
                         "it as it is with a reason. 变化 changes:\n  " + "\n  ".join(reasons))


def _seat_text(x) -> str:
    return f"{x[0]} {x[1]} × {x[2]}"


def _changed(label: str, then: set, now: set, show) -> list[str]:
    out = [f"{label}新增 added: {show(x)}" for x in sorted(now - then)]
    return out + [f"{label}撤销 withdrawn: {show(x)}" for x in sorted(then - now)]


def stale_reasons(s: Session, r: Round, run: Run) -> list[str]:
    """What changed in round `r` since run `run` was made (empty: the plan is current): a newer
    import, locks and forbids of its stages, waivers, needs-review decisions, a meeting date of its
    stages moved (`date_changes`), and seats published in other stages that the run did not hold fixed. Read from what the run recorded (its import id
    and parameters: reviewer.store.runs.run_planning, record_imported_run). The one check of the
    app's 已过期 and of `reviewer publish --run`."""
    stages, p = set(run.stages or []), dict(run.parameters or {})
    latest = repo.latest_import(s, r).id
    rules = repo.seat_rules(s, r)
    waived = {(w["expert_id"], w["application_id"], w["rule"]) for w in repo.waivers(s, r)}
    decided = {(a, k, d) for (a, k), (d, _) in repo.review_overrides(s, r).items()}
    pubs = repo.active_published_seats(s, r)
    out = [] if run.import_id == latest else \
        [f"此后有新的导入（方案用导入 #{run.import_id}，现为 #{latest}） / a newer import since the plan"]
    for kind, label in (("lock", "锁定"), ("forbid", "禁止")):
        then = {tuple(x) for x in p.get(kind + "s", []) if x[0] in stages}
        now = {tuple(x) for x in rules[kind] if x[0] in stages}
        out += _changed(label, then, now, _seat_text)
    then_w = {(w["expert_id"], w["application_id"], w["rule"]) for w in p.get("waivers", [])}
    out += _changed("回避豁免", then_w, waived, lambda x: f"{x[0]} × {x[1]} {x[2]}")
    then_d = {(d["application_id"], d["rule"], d["decision"]) for d in p.get("review_decisions", [])}
    out += _changed("复核决定", then_d, decided, lambda x: f"{x[0]} {x[1]} {x[2]}")
    out += date_changes(r, run, skip=set(pubs["stage"]))
    fixed = {tuple(x) for x in p.get("fixed", [])}
    other = {x for x in zip(pubs["stage"], pubs["expert_id"], pubs["application_id"]) if x[0] not in stages}
    out += [f"其他阶段已发布的席位不在方案的固定席位中 a seat published in another stage since: {_seat_text(x)}"
            for x in sorted(other - fixed)]
    if run.kind == site_visits.KIND:   # a site plan was made with the stored site inputs of its time
        then_i = {k: v["sha256"] for k, v in (p.get("site_inputs") or {}).items()}
        now_i = {k: x.sha256 for k, x in site_inputs.current(s, r).items()}
        out += [f"现场考察输入已更新 the site inputs changed since the plan: {site_inputs.KINDS[k][0]}"
                for k in sorted(set(then_i) | set(now_i)) if then_i.get(k) != now_i.get(k)]
    return out


def date_changes(r: Round, run: Run, skip: set[str] = frozenset()) -> list[str]:
    """The meeting dates of the run's stages (but `skip`: the published ones, changed through the seat
    life cycle) changed since it was made (round settings): experts were drawn for the old day's
    availability. A run that did not record its dates (an imported run made before runs recorded
    them) is not compared."""
    p = dict(run.parameters or {})
    if run.kind == IMPORTED and "stage_dates" not in p:
        return []
    then = {str(st): str(d) for st, d in p.get("stage_dates", [])}
    now = round_settings.meeting_dates(r.settings, repo.round_policy(r))
    return [f"会议日期变更 the meeting date of {st} changed: {then.get(st) or '未定 none'} → {now.get(st) or '未定 none'}"
            "（专家可用性按新日期重新核对 availability is for the old day）"
            for st in (run.stages or []) if st not in skip and then.get(st, "") != now.get(st, "")]


def confirmed_reason(reason: str, confirm_stale: str, stale: list[str]) -> str:
    """The publication's audited reason for a stale run published on confirmation."""
    note = f"已过期方案经确认发布 stale plan published on confirmation: {confirm_stale.strip()} [{'; '.join(stale)}]"
    return f"{reason}; {note}" if reason.strip() and reason.strip() != confirm_stale.strip() else note


def publish_run(s: Session, r: Round, stage: str, run_id: int, *, user: str, reason: str = "",
                confirm_stale: str = "") -> Publication:
    """发布 Publish stage `stage` of round `r` from the stored seats of run `run_id` (a planning or
    imported run), refused when those seats no longer match the run's recorded result hash, when
    the run is stale (`stale_reasons`; `StalePlan`) unless `confirm_stale` gives the staff member's
    reason for publishing it as it is (recorded with the differences in the publication's reason),
    and when the round with them published would break a hard rule (`replacement.check_change`: the
    independent checker over every published stage, e.g. stage independence with a stage
    published from another run). The publication carries the run id; from then on the stage
    changes only through recorded repairs. The invitations to the stage's experts are written to
    the outbox in the same transaction (reviewer.store.outbox)."""
    run, seats = verified_run_seats(s, r, run_id)
    if run.kind == site_visits.KIND:
        site_visits.verify_routes(s, run)
    if not (seats["stage"] == stage).any():
        raise UserError(f"运行 run #{run_id} 没有阶段 {stage} 的席位 has no seats for stage {stage}; its stages: "
                        f"{', '.join(run.stages or []) or '(none)'}")
    source = f"run #{run_id}"
    if run.kind == IMPORTED:
        source = f"{run.parameters.get('file', 'file')} (imported, run #{run_id})"
    if repo.publication(s, r, stage) is None:   # (publishing twice: repo.publish's clear refusal)
        stale = stale_reasons(s, r, run)
        if stale and not confirm_stale.strip():
            raise StalePlan(stage, run_id, stale)
        if stale:
            reason = confirmed_reason(reason, confirm_stale, stale)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
        mine = seats[seats["stage"] == stage][replacement.SEAT_COLS].astype(str)
        unscreened = screening_lines(s, r, data, mine, bool((run.parameters or {}).get("include_review")))
        if unscreened:
            raise UserError(f"发布后违反硬性规则，未发布 publishing {stage} of round {r.code} would seat applications "
                            "that did not pass screening; nothing was published:\n  " + "\n  ".join(unscreened))
        replacement.check_change(s, r, data, pd.concat([replacement.round_seats(s, r), mine], ignore_index=True),
                                 act="发布")
    pub = repo.publish(s, r, stage, seats, user=user, reason=reason, run_id=run_id, source=source)
    site_visits.publish_routes(s, r, run, pub)   # a site-plan run: its routes are published with its seats
    seat_responses.invite_stage(s, r, stage, user=user, reason=f"{stage} 发布后邀请专家 invited at publication")
    # the invitations (and, for the site stage, the host units' notices) in the same transaction
    outbox.enqueue_invitations(s, r, stage, user=user)
    outbox.enqueue_site_visit_notices(s, r, stage, user=user)
    return pub


def screening_lines(s: Session, r: Round, data, seats: pd.DataFrame, include_review: bool = False) -> list[str]:
    """One line per application in `seats` that does not pass screening now (形式审查, with the
    round's current needs-review decisions; needs-review counts as passed only with
    `include_review`, as in planning): no panel is published for it."""
    result = screen(data, repo.round_policy(r), repo.review_overrides(s, r))
    ok = set(result.eligible_ids(include_review=include_review))
    why = {x.application_id: (x.outcome, x.reasons) for x in result.summary.itertuples(index=False)}
    return [f"形式审查 (screening): {stage} {app}: {why.get(app, ('unknown', ''))[0]} — "
            f"{why.get(app, ('', 'not in the round'))[1]}; only applications that passed screening get a panel"
            for stage, app in sorted(set(zip(seats["stage"], seats["application_id"]))) if app not in ok]


def violation_lines(check: SeatCheck, limit: int = 20) -> list[str]:
    """The checker's findings with ids and each rule's name (Chinese label and family name)."""
    inp = check.result.inp
    out = []
    for v in check.violations[:limit]:
        where = [inp.stage_names[v.stage] if 0 <= v.stage < len(inp.stage_names) else "",
                 inp.applications[v.application].application_id if v.application >= 0 else "",
                 inp.experts[v.expert].expert_id if v.expert >= 0 else ""]
        label = FAMILIES_BY_NAME[v.rule].label_zh if v.rule in FAMILIES_BY_NAME else v.rule
        out.append(f"{label} ({v.rule}): {' '.join(x for x in where if x)}: {v.message}")
    if len(check.violations) > limit:
        out.append(f"… {len(check.violations) - limit} more")
    return out


def record_imported_run(s: Session, r: Round, panels: pd.DataFrame, *, source: str, sha256: str | None,
                        user: str) -> Run:
    """Check a panels table (stage/阶段, application_id/申报编号, expert_id/专家编号, role/角色) with
    the independent checker against the round's latest import (with its waivers), policy, locks,
    forbids and the published seats of the stages it does not hold; a broken rule is a UserError
    naming the rule. A table that keeps every rule is recorded as a run of kind "imported" with
    its seats, the file's sha256 and the result hash. `sha256`: of the file the table was read from
    (None when the seats come from no file, e.g. a plan repaired in the app: the seats' own hash)."""
    seats = seat_frame(panels, source)
    if seats.empty:
        raise UserError(f"{source}: no seats to import")
    snap = repo.latest_import(s, r)
    waivers = repo.waivers(s, r)
    data = repo.load_data(s, snap.id, waivers)
    pol = repo.round_policy(r)
    rules = repo.seat_rules(s, r)
    fixed = [(str(x.stage), str(x.expert_id), str(x.application_id))
             for stg in pol.stages.order if stg not in set(seats["stage"])
             for x in repo.published_seats(s, r, stg).itertuples(index=False)]
    check = check_seats(data, pol, seats, locks=rules["lock"], forbids=rules["forbid"], fixed=fixed,
                        bars=pool.bars_for_round(s, r, pol))
    found = violation_lines(check) + screening_lines(s, r, data, seats)
    if found:
        raise UserError(f"{source}: 违反 {len(found)} 项硬性规则，未导入、未发布 breaks {len(found)} hard rule(s) of "
                        f"round {r.code}; nothing was recorded or published:\n  " + "\n  ".join(found))
    res = check.result
    sha256 = sha256 or repo.seats_digest(plan_seats(seats))
    decisions = [{"application_id": a, "rule": k, "decision": d, "reason": why}
                 for (a, k), (d, why) in sorted(repo.review_overrides(s, r).items())]
    params = {"file": source, "file_sha256": sha256, "locks": [list(x) for x in rules["lock"]],
              "forbids": [list(x) for x in rules["forbid"]], "fixed": [list(x) for x in fixed],
              "waivers": waivers, "review_decisions": decisions,
              "stage_dates": [list(x) for x in round_settings.meeting_dates(r.settings, pol).items()]}
    run = Run(round_id=r.id, kind=IMPORTED, import_id=snap.id, created_by=user, policy_text=r.policy_text,
              policy_sha256=pol.sha256, as_of=r.as_of, stages=res.stages, seed=None, parameters=params,
              inputs=[*repo.import_inputs(s, snap.id), {"table": "panels", "file": source, "sha256": sha256,
                                                        "rows": int(len(seats))}],
              status=FEASIBLE, solver_path=res.plan.path, wall_seconds=0.0,
              summary={"seats": int(len(res.panels)), "checker": "solver.check_plan: every hard rule kept"},
              result_sha256=repo.seats_digest(plan_seats(res.panels)))
    s.add(run)
    s.flush()
    record_plan(s, r, run, res.panels, user=user)
    return run


def publish_file(s: Session, r: Round, stage: str, panels: pd.DataFrame, *, source: str, sha256: str | None,
                 user: str, reason: str = "") -> Publication:
    """`reviewer publish --from-file`: the table is checked and recorded as an imported run, then
    its seats of `stage` are published from that run (all in the caller's transaction)."""
    run = record_imported_run(s, r, panels, source=source, sha256=sha256, user=user)
    return publish_run(s, r, stage, run.id, user=user, reason=reason)
