"""Publishing a stage: one truth for a plan, the seats of a stored run.

    publish_run(s, round, stage, run_id, user=..., reason=...)     the run's seats, checked against its hash
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
from reviewer.store import replacement, repo
from reviewer.store.models import Publication, Round, Run
from reviewer.store.runs import record_run_seats
from solver.families import BY_NAME as FAMILIES_BY_NAME
from solver.model import FEASIBLE, OPTIMAL

PUBLISHABLE_KINDS = ("planning", "imported")
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


def publish_run(s: Session, r: Round, stage: str, run_id: int, *, user: str, reason: str = "") -> Publication:
    """发布 Publish stage `stage` of round `r` from the stored seats of run `run_id` (a planning or
    imported run), refused when those seats no longer match the run's recorded result hash, and
    when the round with them published would break a hard rule (`replacement.check_change`: the
    independent checker over every published stage, e.g. stage independence with a stage
    published from another run). The publication carries the run id; from then on the stage
    changes only through recorded repairs."""
    run, seats = verified_run_seats(s, r, run_id)
    if not (seats["stage"] == stage).any():
        raise UserError(f"运行 run #{run_id} 没有阶段 {stage} 的席位 has no seats for stage {stage}; its stages: "
                        f"{', '.join(run.stages or []) or '(none)'}")
    source = f"run #{run_id}"
    if run.kind == IMPORTED:
        source = f"{run.parameters.get('file', 'file')} (imported, run #{run_id})"
    if repo.publication(s, r, stage) is None:   # (publishing twice: repo.publish's clear refusal)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
        mine = seats[seats["stage"] == stage][replacement.SEAT_COLS].astype(str)
        unscreened = screening_lines(s, r, data, mine, bool((run.parameters or {}).get("include_review")))
        if unscreened:
            raise UserError(f"发布后违反硬性规则，未发布 publishing {stage} of round {r.code} would seat applications "
                            "that did not pass screening; nothing was published:\n  " + "\n  ".join(unscreened))
        replacement.check_change(s, r, data, pd.concat([replacement.round_seats(s, r), mine], ignore_index=True),
                                 act="发布")
    return repo.publish(s, r, stage, seats, user=user, reason=reason, run_id=run_id, source=source)


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
    check = check_seats(data, pol, seats, locks=rules["lock"], forbids=rules["forbid"], fixed=fixed)
    found = violation_lines(check) + screening_lines(s, r, data, seats)
    if found:
        raise UserError(f"{source}: 违反 {len(found)} 项硬性规则，未导入、未发布 breaks {len(found)} hard rule(s) of "
                        f"round {r.code}; nothing was recorded or published:\n  " + "\n  ".join(found))
    res = check.result
    sha256 = sha256 or repo.seats_digest(plan_seats(seats))
    params = {"file": source, "file_sha256": sha256, "locks": [list(x) for x in rules["lock"]],
              "forbids": [list(x) for x in rules["forbid"]], "fixed": [list(x) for x in fixed],
              "waivers": waivers}
    run = Run(round_id=r.id, kind=IMPORTED, import_id=snap.id, created_by=user, policy_text=r.policy_text,
              policy_sha256=pol.sha256, as_of=r.as_of, stages=res.stages, seed=None, parameters=params,
              inputs=[*repo.import_inputs(s, snap.id), {"table": "panels", "file": source, "sha256": sha256,
                                                        "rows": int(len(seats))}],
              status=FEASIBLE, solver_path=res.plan.path, wall_seconds=0.0,
              summary={"seats": int(len(res.panels)), "checker": "solver.check_plan: every hard rule kept"},
              result_sha256=repo.seats_digest(plan_seats(res.panels)))
    s.add(run)
    s.flush()
    record_run_seats(s, run.id, res.panels)
    s.flush()
    return run


def publish_file(s: Session, r: Round, stage: str, panels: pd.DataFrame, *, source: str, sha256: str | None,
                 user: str, reason: str = "") -> Publication:
    """`reviewer publish --from-file`: the table is checked and recorded as an imported run, then
    its seats of `stage` are published from that run (all in the caller's transaction)."""
    run = record_imported_run(s, r, panels, source=source, sha256=sha256, user=user)
    return publish_run(s, r, stage, run.id, user=user, reason=reason)
