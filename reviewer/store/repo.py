"""Repositories: reading and writing the store in the caller's transaction.

Every function takes an open `Session` (from `Store.write()` / `Store.read()`), so an import, a
run or a publication with its audit entry lands in one transaction or not at all. Manual acts
write an audit entry (`reviewer.store.audit.record`). Published seats and submitted scores are only
ever added or marked replaced / void (the database refuses anything else, see migration 0002).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reviewer.store import audit, facts, guards, round_settings, score_rules
from reviewer.errors import UserError
from reviewer.intake.io import ImportReport
from reviewer.intake.model import RoundData
from reviewer.policy import Policy
from reviewer.store.models import utcnow
from reviewer.store.snapshots import (data_rows, known_ids, latest_import, load_data, policy_from_text,  # noqa: F401
                                      import_inputs, import_issues, read_policy_text, row_json)  # re-exported
from reviewer.store.models import (Assignment, ImportFile, ImportIssueRow, ImportRow, ImportSnapshot,
                                   Panel, Publication, ReviewDecision, Round, Run, RunSeat, Score, SeatRule, Waiver)


class ConcurrentEditError(UserError):
    """Someone else changed the record since it was read: reload and redo the change."""


# Test hook: slow row-by-row import writes so a test can kill the writer mid-transaction.
SLOW_WRITE_ENV = "REVIEWER_TEST_SLOW_IMPORT"          # seconds to sleep after each row
SLOW_WRITE_PROGRESS_ENV = "REVIEWER_TEST_IMPORT_PROGRESS"  # file that gets the count of rows written


# ---------------------------------------------------------------- rounds

def create_round(s: Session, code: str, *, user: str, year: int | None = None, name: str = "",
                 as_of: str | None = None, policy_path: str | Path | None = None,
                 settings: dict | None = None) -> Round:
    code = (code or "").strip()
    if not code:
        raise UserError("a round needs a code, e.g. 2026")
    if s.execute(select(Round).where(Round.code == code)).scalar_one_or_none():
        raise UserError(f"round {code!r} exists already (reviewer round list)")
    if as_of:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            raise UserError(f"--as-of {as_of!r}: expected a date like 2026-11-01") from None
    text, source = read_policy_text(policy_path)
    pol = policy_from_text(text, as_of, source)
    r = Round(code=code, name=name or f"{code} 制造业创新中心试点遴选", year=year or pol.meta.year, as_of=as_of,
              policy_text=text, policy_sha256=pol.sha256, policy_source=source, settings=settings or {},
              created_by=user)
    s.add(r)
    s.flush()
    audit.record(s, user=user, action="round.create", reason="", round_code=code, entity=f"round {code}",
                 after={"name": r.name, "year": r.year, "as_of": as_of, "policy_sha256": r.policy_sha256,
                        "policy_source": source, "settings": r.settings})
    return r


def get_round(s: Session, code: str) -> Round:
    r = s.execute(select(Round).where(Round.code == code)).scalar_one_or_none()
    if r is None:
        known = [x for x in s.execute(select(Round.code).order_by(Round.id)).scalars()]
        raise UserError(f"no round {code!r}; rounds: {', '.join(known) or '(none: reviewer round create CODE)'}")
    return r


def list_rounds(s: Session) -> list[Round]:
    return list(s.execute(select(Round).order_by(Round.id)).scalars())


def round_policy(r: Round) -> Policy:   # with the meeting dates of the round settings (experts' availability)
    return round_settings.dated(policy_from_text(r.policy_text, r.as_of, r.policy_source or f"round {r.code}"), r.settings)


def update_round_settings(s: Session, r: Round, changes: dict[str, Any], *, user: str, reason: str = "",
                          expected_version: int | None = None) -> Round:
    """Merge `changes` into the round's settings, with an optimistic version check."""
    version = r.version if expected_version is None else expected_version
    before = dict(r.settings or {})
    after = json.loads(json.dumps(before))
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(after.get(k), dict):
            after[k] = {**after[k], **v}
        else:
            after[k] = v
    res = s.execute(update(Round).where(Round.id == r.id, Round.version == version)
                    .values(settings=after, version=version + 1))
    if res.rowcount != 1:
        raise ConcurrentEditError(f"round {r.code}: its settings were changed by someone else since you opened "
                                  f"them (version {version}); reload and make your change again")
    audit.record(s, user=user, action="round.settings", reason=reason, round_code=r.code, entity=f"round {r.code}",
                 before=before, after=after)
    s.expire(r)
    return r


# ---------------------------------------------------------------- imports

def insert_rows(s: Session, model, rows: list[dict]) -> None:
    """Insert `rows` into `model`'s table in one statement; nothing for no rows (SQLAlchemy would run
    an INSERT of one all-default row for an empty list: a crash on a NOT NULL column, e.g. the
    conflicts run of an empty expert pool)."""
    if rows:
        s.execute(model.__table__.insert(), rows)


def record_import(s: Session, r: Round, data: RoundData, report: ImportReport, *, user: str,
                  source: str, allow_partial: bool = True) -> ImportSnapshot:
    """Store one import: files with hashes, every issue, and the records as used by later runs.
    Refused (nothing changes) when it would break a published seat (`check_import`), and, unless
    `allow_partial` (the app imports the good rows and shows the bad ones), when any row was rejected."""
    if not data.applications and not data.experts:
        raise UserError(f"{source}: nothing to import (no applications and no experts were loaded)")
    check_import(s, r, data, report, allow_partial=allow_partial)
    issues = report.all_issues
    snap = ImportSnapshot(round_id=r.id, source=source, created_by=user, n_issues=len(issues),
                          n_errors=sum(1 for i in issues if i.severity == "error"))
    s.add(snap)
    s.flush()
    for name, t in report.tables.items():
        s.add(ImportFile(import_id=snap.id, table_name=name, file_name=Path(t.file).name, sheet=t.sheet,
                         sha256=t.sha256, rows=t.n_rows, loaded=len(t.records)))
    for i in issues:
        d = i.as_dict()
        s.add(ImportIssueRow(import_id=snap.id, **d))
    rows = [{"import_id": snap.id, "table_name": t, "seq": k, "source_row": rec.row, "data": row_json(rec)}
            for k, (t, rec) in enumerate(data_rows(data))]
    snap.n_rows = len(rows)
    delay = float(os.environ.get(SLOW_WRITE_ENV, "0") or 0)
    if delay > 0:  # test hook only: one row at a time, visibly slow
        progress = os.environ.get(SLOW_WRITE_PROGRESS_ENV)
        for k, row in enumerate(rows, start=1):
            s.add(ImportRow(**row))
            s.flush()
            if progress:  # written whole then renamed, so a reader never sees a half-written number
                tmp = Path(progress).with_suffix(".tmp")
                tmp.write_text(str(k))
                os.replace(tmp, progress)
            time.sleep(delay)
    else:
        insert_rows(s, ImportRow, rows)
    s.flush()
    audit.record(s, user=user, action="import", reason="", round_code=r.code, entity=f"import #{snap.id}",
                 after={"source": source, "import_id": snap.id,
                        "files": [{"table": n, "file": Path(t.file).name, "sha256": t.sha256,
                                   "rows": t.n_rows, "loaded": len(t.records)} for n, t in report.tables.items()],
                        "records": len(rows), "issues": len(issues),
                        "row_hashes": [h for _, h in facts.import_row_hashes(s, snap.id)]})
    return snap


class PartialImportError(UserError):
    """An import with rejected rows, refused because partial imports were not allowed: nothing changed."""


def active_published_seats(s: Session, r: Round) -> pd.DataFrame:
    """The active seats of every published stage of the round (stage, application_id, expert_id, ...)."""
    frames = [published_seats(s, r, p.stage) for p in
              s.execute(select(Publication).where(Publication.round_id == r.id).order_by(Publication.id)).scalars()]
    return pd.concat(frames, ignore_index=True) if frames else published_seats(s, r, "")


def pending_seats(s: Session, r: Round) -> pd.DataFrame:
    """Seats of stages not yet published, as planned in the runs the published stages came from:
    held fixed when published seats are checked (stage independence with the plan that will be
    published). Columns stage, application_id, expert_id, role. A planned seat of an expert or
    application that a later import no longer has is left out: it can never be published."""
    cols = ["stage", "application_id", "expert_id", "role"]
    pubs = list(s.execute(select(Publication).where(Publication.round_id == r.id)).scalars())
    published = {p.stage for p in pubs}
    frames = []
    for run_id in sorted({p.run_id for p in pubs if p.run_id}):
        seats = run_seats(s, run_id)
        frames.append(seats[~seats["stage"].isin(published)][cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True).astype(str).drop_duplicates(["stage", "application_id", "expert_id"])
    experts, apps = known_ids(s, r) or (set(), set())
    return out[out["expert_id"].isin(experts) & out["application_id"].isin(apps)].reset_index(drop=True)


def check_import(s: Session, r: Round, data: RoundData, report: ImportReport, *, allow_partial: bool) -> None:
    """What `record_import` refuses, before anything is written: rows rejected (unless
    `allow_partial`, PartialImportError), and, whatever `allow_partial`, data that would break a
    published seat (`guards.import_breaks`: an application or expert gone, an expert no longer
    drawable, a new conflict with a published seat, any other hard rule the independent checker
    finds broken under the new records), listed with ids."""
    published = active_published_seats(s, r)
    current = load_data(s, latest_import(s, r).id) if not published.empty else None
    pending = pending_seats(s, r)
    rules = seat_rules(s, r)
    broken = guards.import_breaks(data, round_policy(r), published, waivers(s, r), current=current,
                                  fixed=list(pending[["stage", "expert_id", "application_id"]]
                                             .itertuples(index=False, name=None)),
                                  locks=rules["lock"], forbids=rules["forbid"])
    if broken:
        shown = broken[:30] + ([f"… 另有 {len(broken) - 30} 项 and {len(broken) - 30} more"] if len(broken) > 30 else [])
        raise UserError(f"导入会破坏已发布的专家组，未导入 / this import would break published panels of round {r.code}; "
                        "nothing was imported (a published panel changes only through reviewer replace):\n  "
                        + "\n  ".join(shown))
    n_err = sum(1 for i in report.all_issues if i.severity == "error")
    if n_err and not allow_partial:
        raise PartialImportError(f"有 {n_err} 条输入错误，未导入任何数据，批次 {r.code} 的数据保持不变。修正文件后重新导入，或加 "
                                 f"--allow-partial 只导入正确的行。 / {n_err} input errors: nothing was imported, round "
                                 f"{r.code} is unchanged. Fix the file and import again, or pass --allow-partial to "
                                 "import the good rows only.")


# ---------------------------------------------------------------- staff decisions (audited)

def waivers(s: Session, r: Round) -> list[dict]:
    return [{"expert_id": w.expert_id, "application_id": w.application_id, "rule": w.rule, "reason": w.reason}
            for w in s.execute(select(Waiver).where(Waiver.round_id == r.id).order_by(Waiver.id)).scalars()]


def add_waiver(s: Session, r: Round, expert_id: str, application_id: str, rule: str, *, reason: str,
               user: str) -> Waiver:
    """Waive a conflict of a waivable rule for one pair (audited): refused when the rule is not waivable,
    there is no reason, or the pair has no hit of that rule (`guards.check_conflict_exists`)."""
    pol = round_policy(r)
    if rule not in pol.conflicts.waivable_rules:
        raise UserError(f"rule {rule} cannot be waived; waivable rules: {', '.join(pol.conflicts.waivable_rules)} "
                        "(policy conflicts.waivable_rules)")
    if not reason.strip():
        raise UserError("a waiver needs a reason (--reason)")
    _check_ids(s, r, experts=[expert_id], applications=[application_id])
    guards.check_conflict_exists(load_data(s, latest_import(s, r).id), pol, expert_id, application_id, rule)
    done = s.execute(select(Waiver).where(Waiver.round_id == r.id, Waiver.expert_id == expert_id,
                                          Waiver.application_id == application_id, Waiver.rule == rule)
                     ).scalar_one_or_none()
    if done is not None:
        raise UserError(f"专家 {expert_id} × 申报 {application_id} 的 {rule} 已豁免（{done.created_by}：{done.reason}） / "
                        f"expert {expert_id} × {application_id} {rule} is already waived ({done.created_by}: {done.reason})")
    w = Waiver(round_id=r.id, expert_id=expert_id, application_id=application_id, rule=rule, reason=reason,
               created_by=user)
    s.add(w)
    s.flush()
    audit.record(s, user=user, action="waiver", reason=reason, round_code=r.code,
                 entity=f"{expert_id} × {application_id} {rule}", before=None,
                 after={"expert_id": expert_id, "application_id": application_id, "rule": rule})
    return w


def seat_rules(s: Session, r: Round) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list] = {"lock": [], "forbid": []}
    for x in s.execute(select(SeatRule).where(SeatRule.round_id == r.id, SeatRule.active)
                       .order_by(SeatRule.id)).scalars():
        out[x.kind].append((x.stage, x.expert_id, x.application_id))
    return out


def lock_context(s: Session, r: Round) -> guards.LockContext:
    """What a new lock or forbid of the round meets: decisions, waivers, seat rules, published seats."""
    rules = seat_rules(s, r)
    pubs = active_published_seats(s, r)
    return guards.LockContext(decisions=review_overrides(s, r), waivers=waivers(s, r), locks=rules["lock"],
                              forbids=rules["forbid"], published_stages=set(pubs["stage"]),
                              published_seats=list(pubs[["stage", "expert_id", "application_id"]]
                                                   .itertuples(index=False, name=None)))


def planning_lock_check(s: Session, r: Round, stages: Iterable[str]) -> tuple[list[str], list[str]]:
    """(errors, notes) of the round's active locks before planning `stages` (`guards.check_locks`
    on the latest import: a lock no plan can hold now, or one of a stage not planned)."""
    return guards.check_locks(load_data(s, latest_import(s, r).id), round_policy(r), stages, lock_context(s, r))


def add_seat_rule(s: Session, r: Round, kind: str, stage: str, expert_id: str, application_id: str, *,
                  reason: str, user: str, notes: list[str] | None = None) -> SeatRule:
    """Lock (force) or forbid one seat (audited). A lock is checked at once against the round
    (`guards.lock_findings`: conflicts, screening, availability, composition, load, stage
    independence) and refused naming ids when no plan could hold it; what only the whole plan can
    tell is appended to `notes`. A seat that is already locked/forbidden, or a stage already
    published, is refused."""
    if kind not in ("lock", "forbid"):
        raise ValueError(kind)
    if not reason.strip():
        raise UserError(f"a {kind} needs a reason (--reason): Chinese rules require a reason for any manual pick")
    round_policy(r).stage(stage)
    _check_ids(s, r, experts=[expert_id], applications=[application_id])
    seat = (stage, expert_id, application_id)
    ctx = lock_context(s, r)
    mine, other = (ctx.locks, ctx.forbids) if kind == "lock" else (ctx.forbids, ctx.locks)
    if seat in mine:
        raise UserError(f"{stage} {expert_id} × {application_id} is already {'locked' if kind == 'lock' else 'forbidden'}")
    if seat in other:
        undo = "unforbid" if kind == "lock" else "unlock"
        raise UserError(f"{stage} {expert_id} × {application_id} 已被{'禁止' if kind == 'lock' else '锁定'} / is "
                        f"{'forbidden' if kind == 'lock' else 'locked'}: reviewer {undo} first")
    if kind == "lock":
        errors, warnings = guards.lock_findings(load_data(s, latest_import(s, r).id), round_policy(r), stage,
                                                expert_id, application_id, ctx)
        if errors:
            raise UserError(f"不能锁定 cannot lock {stage} {expert_id} × {application_id}:\n  - " + "\n  - ".join(errors))
        if notes is not None:
            notes += warnings
    elif stage in ctx.published_stages:
        raise UserError(f"{stage} 已发布 is published: a forbid no longer applies (reviewer replace changes a panel)")
    x = s.execute(select(SeatRule).where(SeatRule.round_id == r.id, SeatRule.kind == kind, SeatRule.stage == stage,
                                         SeatRule.expert_id == expert_id, SeatRule.application_id == application_id)
                  ).scalar_one_or_none()
    if x is None:   # one row per seat and kind: a removed rule is made active again
        x = SeatRule(round_id=r.id, kind=kind, stage=stage, expert_id=expert_id, application_id=application_id,
                     reason=reason, created_by=user)
        s.add(x)
    else:
        x.active, x.reason, x.created_by, x.created_at = True, reason, user, utcnow()
    s.flush()
    audit.record(s, user=user, action=kind, reason=reason, round_code=r.code,
                 entity=f"{stage} {expert_id} × {application_id}", before=None,
                 after={"kind": kind, "stage": stage, "expert_id": expert_id, "application_id": application_id})
    return x


def remove_seat_rule(s: Session, r: Round, kind: str, stage: str, expert_id: str, application_id: str, *,
                     reason: str, user: str) -> SeatRule:
    """Remove an active lock or forbid (audited as seat_rule.remove, reason required)."""
    if kind not in ("lock", "forbid"):
        raise ValueError(kind)
    if not reason.strip():
        raise UserError(f"removing a {kind} needs a reason (--reason)")
    x = s.execute(select(SeatRule).where(SeatRule.round_id == r.id, SeatRule.kind == kind, SeatRule.stage == stage,
                                         SeatRule.expert_id == expert_id, SeatRule.application_id == application_id,
                                         SeatRule.active)).scalar_one_or_none()
    if x is None:
        have = [f"{a} {b} × {c}" for a, b, c in seat_rules(s, r)[kind]]
        raise UserError(f"no active {kind} of {stage} {expert_id} × {application_id} in round {r.code}; active "
                        f"{kind}s: {', '.join(have) or 'none'}")
    x.active = False
    s.flush()
    audit.record(s, user=user, action="seat_rule.remove", reason=reason, round_code=r.code,
                 entity=f"{stage} {expert_id} × {application_id}",
                 before={"kind": kind, "stage": stage, "expert_id": expert_id, "application_id": application_id,
                         "reason": x.reason, "by": x.created_by}, after=None)
    return x


def review_overrides(s: Session, r: Round) -> dict[tuple[str, str], tuple[str, str]]:
    return {(d.application_id, d.rule): (d.decision, d.reason)
            for d in s.execute(select(ReviewDecision).where(ReviewDecision.round_id == r.id)).scalars()}


def decide_review(s: Session, r: Round, application_id: str, rule: str, decision: str, *, reason: str, user: str,
                  expected_version: int | None = None) -> ReviewDecision:
    """Staff decide a needs-review check (pass / fail); a check computed as pass or fail is refused
    (`guards.decision_target`: the data decides it). Changing a decision needs the version read."""
    if decision not in ("pass", "fail"):
        raise UserError(f"decision {decision!r}: expected pass or fail")
    if not reason.strip():
        raise UserError("a needs-review decision needs a reason (--reason)")
    _check_ids(s, r, applications=[application_id])
    guards.decision_target(load_data(s, latest_import(s, r).id), round_policy(r), application_id, rule)
    cur = s.execute(select(ReviewDecision).where(ReviewDecision.round_id == r.id,
                                                 ReviewDecision.application_id == application_id,
                                                 ReviewDecision.rule == rule)).scalar_one_or_none()
    before = None
    if cur is None:
        if expected_version not in (None, 0):
            raise ConcurrentEditError(f"{application_id} {rule}: the decision you edited no longer exists")
        cur = ReviewDecision(round_id=r.id, application_id=application_id, rule=rule, decision=decision,
                             reason=reason, decided_by=user)
        s.add(cur)
        s.flush()
    else:
        before = {"decision": cur.decision, "reason": cur.reason, "by": cur.decided_by, "version": cur.version}
        v = cur.version if expected_version is None else expected_version
        res = s.execute(update(ReviewDecision).where(ReviewDecision.id == cur.id, ReviewDecision.version == v)
                        .values(decision=decision, reason=reason, decided_by=user, decided_at=utcnow(),
                                version=v + 1))
        if res.rowcount != 1:
            raise ConcurrentEditError(f"{application_id} {rule}: {cur.decided_by} changed this decision since you "
                                      f"opened it (you had version {v}); reload and decide again")
        s.expire(cur)
    audit.record(s, user=user, action="review_decision", reason=reason, round_code=r.code,
                 entity=f"{application_id} {rule}", before=before, after={"decision": decision})
    return cur


def rounds_with_expert(s: Session, expert_id: str) -> list[str]:
    """Codes of the rounds whose latest import lists `expert_id`."""
    return [r.code for r in list_rounds(s) if expert_id in (known_ids(s, r) or (set(), set()))[0]]


def _check_ids(s: Session, r: Round, experts: Iterable[str] = (), applications: Iterable[str] = ()) -> None:
    latest_import(s, r)
    known_e, known_a = known_ids(s, r)
    for e in experts:
        if e not in known_e:
            raise UserError(f"unknown expert id {e!r} in round {r.code}")
    for a in applications:
        if a not in known_a:
            raise UserError(f"unknown application id {a!r} in round {r.code}")


# ---------------------------------------------------------------- runs

def seats_digest(seats: Iterable[tuple]) -> str:
    return hashlib.sha256(audit.canonical(sorted(tuple(map(str, x)) for x in seats)).encode()).hexdigest()


def get_run(s: Session, run_id: int) -> Run:
    run = s.get(Run, run_id)
    if run is None:
        raise UserError(f"no run #{run_id} (reviewer round show ROUND lists the runs)")
    return run


def runs_of(s: Session, r: Round) -> list[Run]:
    return list(s.execute(select(Run).where(Run.round_id == r.id).order_by(Run.id)).scalars())


def run_seats(s: Session, run_id: int) -> pd.DataFrame:
    rows = [{"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id, "role": x.role,
             "category": x.category, "affinity": x.affinity}
            for x in s.execute(select(RunSeat).where(RunSeat.run_id == run_id).order_by(RunSeat.id)).scalars()]
    return pd.DataFrame(rows, columns=["stage", "application_id", "expert_id", "role", "category", "affinity"])


# ---------------------------------------------------------------- publication and repairs

def publication(s: Session, r: Round, stage: str) -> Publication | None:
    return s.execute(select(Publication).where(Publication.round_id == r.id, Publication.stage == stage)
                     ).scalar_one_or_none()


def publish(s: Session, r: Round, stage: str, seats: pd.DataFrame, *, user: str, reason: str = "",
            run_id: int | None = None, source: str = "") -> Publication:
    """Write the publication of one stage from the given seats: from then on it changes only through
    recorded repairs. The writer under `reviewer.store.publishing.publish_run`, which publishes the
    seats of a stored run after checking them against the run's result hash; publish through that."""
    pol = round_policy(r)
    pol.stage(stage)
    old = publication(s, r, stage)
    if old is not None:
        raise UserError(f"round {r.code} stage {stage} was published already (#{old.id} by {old.published_by} at "
                        f"{old.published_at:%Y-%m-%d %H:%M}); a published assignment changes only through a "
                        "recorded replacement (reviewer replace ...)")
    seats = seats[seats["stage"] == stage]
    if seats.empty:
        raise UserError(f"nothing to publish for stage {stage}" + (f" in run #{run_id}" if run_id else ""))
    _check_ids(s, r, experts=seats["expert_id"].unique(), applications=seats["application_id"].unique())
    dup = seats.duplicated(["application_id", "expert_id"])
    if dup.any():
        x = seats[dup].iloc[0]
        raise UserError(f"expert {x['expert_id']} appears twice on {x['application_id']} ({stage})")
    pub = Publication(round_id=r.id, stage=stage, run_id=run_id, source=source, published_by=user, reason=reason)
    s.add(pub)
    s.flush()
    written = []
    for app_id, g in seats.groupby("application_id", sort=True):
        panel = Panel(publication_id=pub.id, round_id=r.id, stage=stage, application_id=app_id, version=1)
        s.add(panel)
        s.flush()
        for x in g.itertuples(index=False):
            written.append(Assignment(panel_id=panel.id, stage=stage, application_id=app_id, expert_id=x.expert_id,
                                      role=x.role, origin="publication"))
    s.add_all(written)
    s.flush()
    audit.record(s, user=user, action="publication", reason=reason, round_code=r.code, entity=f"{stage}",
                 before=None, after={"run_id": run_id, "source": source, "stage": stage,
                                     "panels": int(seats["application_id"].nunique()),
                                     "seats": int(len(seats)), "seats_sha256": seats_digest(
                                         seats[["stage", "application_id", "expert_id", "role"]].itertuples(index=False)),
                                     "assignments": [facts.seat_record(a) for a in written]})
    return pub


def published_seats(s: Session, r: Round, stage: str, include_replaced: bool = False) -> pd.DataFrame:
    q = (select(Assignment, Panel.version).join(Panel, Panel.id == Assignment.panel_id)
         .where(Panel.round_id == r.id, Panel.stage == stage).order_by(Assignment.application_id, Assignment.id))
    rows = [{"stage": a.stage, "application_id": a.application_id, "expert_id": a.expert_id, "role": a.role,
             "status": a.status, "origin": a.origin, "panel_version": v, "assignment_id": a.id}
            for a, v in s.execute(q).all() if include_replaced or a.status == "active"]
    return pd.DataFrame(rows, columns=["stage", "application_id", "expert_id", "role", "status", "origin",
                                       "panel_version", "assignment_id"])


def get_panel(s: Session, r: Round, stage: str, application_id: str) -> Panel:
    p = s.execute(select(Panel).where(Panel.round_id == r.id, Panel.stage == stage,
                                      Panel.application_id == application_id)).scalar_one_or_none()
    if p is None:
        raise UserError(f"no published panel for {application_id} in {stage} of round {r.code}")
    return p


# ---------------------------------------------------------------- scores

def score_seat_problems(s: Session, r: Round, scores: pd.DataFrame, *, as_expert: str | None = None) -> list[str]:
    """`score_rules.seat_problems` of `scores` against the round's published seats (any status)."""
    pol = round_policy(r)
    published = [stage for stage in pol.stages.order if publication(s, r, stage) is not None]
    seats = {(stage, x.application_id, x.expert_id): x.status for stage in published
             for x in published_seats(s, r, stage, include_replaced=True).itertuples(index=False)}
    return score_rules.seat_problems(pol, set(published), seats, scores, as_expert=as_expert)


def submit_scores(s: Session, r: Round, scores: pd.DataFrame, *, user: str, source: str,
                  as_expert: str | None = None) -> int:
    """The one writer of submitted scores (CLI, app, an expert's own upload with `as_expert`): rows
    (stage, application_id, expert_id, criterion, family, score, confidence, void) refused whole when
    `score_seat_problems` finds any; an earlier valid score of the same key becomes void; the rows
    written are one audit entry ("scores"). Returns the number of rows stored."""
    scores = scores[scores["score"].notna()] if not scores.empty else scores
    if scores.empty:
        return 0
    score_rules.refuse(score_seat_problems(s, r, scores, as_expert=as_expert))
    current = {(x.stage, x.application_id, x.expert_id, x.criterion): x.id for x in s.execute(
        select(Score).where(Score.round_id == r.id, Score.void.is_(False))).scalars()}
    news = []
    for row in scores.itertuples(index=False):
        conf = getattr(row, "confidence", None)
        conf = None if conf is None or pd.isna(conf) else float(conf)
        void = bool(getattr(row, "void", False))
        news.append(((row.stage, row.application_id, row.expert_id, row.criterion), void, Score(
            round_id=r.id, stage=row.stage, application_id=row.application_id, expert_id=row.expert_id,
            criterion=row.criterion, family=getattr(row, "family", "") or "", score=float(row.score),
            confidence=conf, submitted_by=user, source=source, void=void,
            void_reason="scores of a replaced expert" if void else None)))
    s.add_all([n for _, _, n in news])
    s.flush()
    records = [facts.score_record(n) for _, _, n in news]
    for key, void, new in news:
        if void:
            continue
        if key in current:
            s.execute(update(Score).where(Score.id == current[key])
                      .values(void=True, void_reason=f"replaced by submission #{new.id}", replaced_by_id=new.id))
        current[key] = new.id
    audit.record(s, user=user, action="scores", reason="", round_code=r.code,
                 entity=f"{len(news)} scores from {source}"[:200],
                 after={"source": source, "as_expert": as_expert, "rows": records})
    return len(news)


def record_sheet_refusals(s: Session, r: Round, refused: list[dict], *, user: str) -> None:
    """Audit each score sheet refused for its signature (file, the expert and stage it claims, why)."""
    for x in refused:
        audit.record(s, user=user, action="score_sheet.refused", reason=x.get("why", ""), round_code=r.code,
                     entity=f"{x.get('file', '')}: {x.get('stage', '')} {x.get('expert_id', '')}"[:200], after=x)


def correct_score(s: Session, r: Round, stage: str, application_id: str, expert_id: str, criterion: str,
                  score: float, *, reason: str, user: str) -> Score:
    """更正 Replace one valid score by a corrected one (the old one is kept, void); audited with both."""
    if not reason.strip():
        raise UserError("a score correction needs a reason (--reason)")
    score_rules.refuse(score_seat_problems(s, r, pd.DataFrame([{"stage": stage, "application_id": application_id,
                                                     "expert_id": expert_id, "criterion": criterion,
                                                     "score": float(score), "void": False}])))
    old = s.execute(select(Score).where(Score.round_id == r.id, Score.stage == stage,
                                        Score.application_id == application_id, Score.expert_id == expert_id,
                                        Score.criterion == criterion, Score.void.is_(False))).scalar_one_or_none()
    if old is None:
        raise UserError(f"no submitted score {criterion} of {expert_id} for {application_id} ({stage}) to correct")
    new = Score(round_id=r.id, stage=stage, application_id=application_id, expert_id=expert_id, criterion=criterion,
                family=old.family, score=float(score), confidence=old.confidence, submitted_by=user,
                source=f"correction of #{old.id}")
    s.add(new)
    s.flush()
    row = facts.score_record(new)
    s.execute(update(Score).where(Score.id == old.id)
              .values(void=True, void_reason=f"corrected by #{new.id}: {reason}", replaced_by_id=new.id))
    audit.record(s, user=user, action="score_correction", reason=reason, round_code=r.code,
                 entity=f"{stage} {application_id} {expert_id} {criterion}",
                 before={"score": old.score, "id": old.id},
                 after={"score": float(score), "id": new.id, "replaced_id": old.id, "row": row})
    return new


def scores_frame(s: Session, r: Round, stage: str | None = None, include_void: bool = False,
                 ids: Iterable[int] | None = None) -> pd.DataFrame:
    q = select(Score.id, Score.stage, Score.application_id, Score.expert_id, Score.criterion, Score.family, Score.score,
               Score.confidence, Score.void, Score.submitted_by, Score.submitted_at, Score.source  # columns, not ORM
               ).where(Score.round_id == r.id)                     # objects: one per row was most of the time
    if stage:
        q = q.where(Score.stage == stage)
    if not include_void:
        q = q.where(Score.void.is_(False))
    if ids is not None:
        q = q.where(Score.id.in_(list(ids)))
    return pd.DataFrame([tuple(x) for x in s.execute(q.order_by(Score.id)).all()],
                        columns=["score_id", "stage", "application_id", "expert_id", "criterion", "family", "score",
                                 "confidence", "void", "submitted_by", "submitted_at", "source"])


def count_rows(s: Session, model) -> int:
    return int(s.execute(select(func.count()).select_from(model)).scalar_one())
