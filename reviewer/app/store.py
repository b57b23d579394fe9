"""The staff app's link to the round store (reviewer.store): the same database as the `reviewer`
commands, so a round made with `reviewer round create` is a round of the app and the other way round.

The store is the record of everything a person decides or that must not change afterwards:
the rounds, each import (files, hashes, rows), needs-review decisions, waivers, locks and forbids,
planning runs and their seats, publications, replacements of published seats, submitted scores and
the hash-chained audit log. A round's working folder (reviewer.app.rounds) keeps only working files:
uploaded files, the score table used for analysis, the draft's pending replacements, UI state.
Every function here opens its own short transaction.

Database: $REVIEWER_DB_URL, else SQLite `reviewer.sqlite` in the home folder (reviewer.store.engine).
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from reviewer.app.base import acting_user
from reviewer.errors import UserError
from reviewer.policy import Policy
from reviewer.store import audit as chain
from reviewer.store import models as m
from reviewer.store import opinions, pair_conflicts, publishing, replacement, repo, seat_responses, signoff
from reviewer.store.waiver_removal import remove_waiver as _remove_waiver
from reviewer.store.engine import Store, resolve_url

_STORES: dict[str, Store] = {}
_LOCK = threading.RLock()


def url() -> str:
    """The store's URL: $REVIEWER_DB_URL, else <home>/reviewer.sqlite (as for the `reviewer` commands)."""
    return resolve_url(None)


def store() -> Store:
    u = url()
    with _LOCK:
        if u not in _STORES:
            _STORES[u] = Store(u)
        return _STORES[u]


# The store's version (an ETag): what `version()` reads in ONE query. Every act is in the audit chain
# (append-only, so its highest id grows with each); the highest ids of the tables the app's caches
# read and the sums of the optimistic-concurrency `version` columns are added so that even a row
# changed without an audit entry (an outbox status, a seat answer) changes the version.
_GROWING = (m.AuditEntry, m.ImportSnapshot, m.Run, m.RunSeat, m.Publication, m.Assignment, m.Score, m.Opinion,
            m.PanelOpinion, m.RankingPublication, m.RankingRow, m.Waiver, m.SeatRule, m.ReviewDecision,
            m.SeatResponse, m.StageDecision, m.AnnualEvaluation, m.CentreRegisterEntry, m.SubsidyEntry,
            m.OutboxMessage)
_VERSIONED = (m.Round, m.ReviewDecision, m.Panel, m.SeatResponse, m.StageDecision, m.AnnualEvaluation)


_VERSION_QUERY: list = []


def _version_query():
    """The one statement of `version()`, built once (building its 27 subqueries cost ~3 ms a call)."""
    if not _VERSION_QUERY:
        _VERSION_QUERY.append(_build_version_query())
    return _VERSION_QUERY[0]


def _build_version_query():
    parts = [select(func.coalesce(func.max(t.id), 0)).scalar_subquery() for t in _GROWING]
    parts += [select(func.coalesce(func.sum(t.version), 0) + func.count()).select_from(t).scalar_subquery()
              for t in _VERSIONED]
    # (a score or opinion is voided only when its replacement row is written, so the highest ids cover
    # that; counting void scores scanned the whole score table, 12 ms on every call)
    parts.append(select(func.coalesce(func.sum(m.OutboxMessage.attempts), 0)).scalar_subquery())
    return select(*parts)


def version() -> tuple[int, ...]:
    """The store's version: changes with every recorded act and every row the app's caches read,
    whoever made it (this app, another server process, the `reviewer` commands). ONE query; every memo
    of the app has it in its key (`reviewer.app.base.memo`), so a cache never serves a stale result."""
    with store().read() as s:
        return tuple(int(x or 0) for x in s.execute(_version_query()).one())


# ---------------------------------------------------------------- rounds and imports

def _round_dict(r: m.Round) -> dict:
    return {"code": r.code, "name": r.name, "as_of": r.as_of, "year": r.year,
            "created": r.created_at.isoformat(timespec="seconds"), "created_by": r.created_by}


def rounds() -> list[dict]:
    """Every round of the store (code, name, as_of, year, created, created_by), oldest first."""
    with store().read() as s:
        return [_round_dict(r) for r in repo.list_rounds(s)]


def find_round(code: str) -> dict | None:
    with store().read() as s:
        r = s.execute(select(m.Round).where(m.Round.code == code)).scalar_one_or_none()
        return None if r is None else _round_dict(r)


def get_round(code: str) -> dict:
    """The round, or UserError naming the rounds there are."""
    with store().read() as s:
        return _round_dict(repo.get_round(s, code))


def create_round(code: str, name: str, as_of: str | None, user: str | None = None) -> dict:
    with store().write() as s:
        return _round_dict(repo.create_round(s, code, user=acting_user(user), name=name, as_of=as_of))


def ensure_round(round_id: str, name: str, as_of: str | None, user: str | None = None) -> None:
    if find_round(round_id) is not None:
        return
    try:
        create_round(round_id, name, as_of, user)
    except UserError:
        if find_round(round_id) is None:   # not made by a concurrent session: a real refusal (e.g. no audit key)
            raise


def round_policy(code: str) -> Policy:
    """The policy stored with the round (its text when the round was made, with the round's reference date)."""
    with store().read() as s:
        return repo.round_policy(repo.get_round(s, code))


def sources_digest(sources: dict) -> str:
    return hashlib.sha256(json.dumps(sources, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def ensure_import(round_id: str, folder: Path, sources: dict, data, report, user: str | None = None) -> int | None:
    """Record the round's current inputs as the latest import when they changed. Returns the import id."""
    marker = folder / "store.json"
    digest = sources_digest(sources)
    try:
        known = json.loads(marker.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        known = {}
    if known.get("sources") == digest and known.get("url") == url():
        return known.get("import_id")
    if not data.applications and not data.experts:
        return None
    with _LOCK:
        with store().write() as s:
            r = repo.get_round(s, round_id)
            snap = repo.record_import(s, r, data, report, user=acting_user(user),
                                      source="app: " + ", ".join(sorted({v[0] for v in sources.values()})))
            import_id = snap.id
        marker.write_text(json.dumps({"sources": digest, "url": url(), "import_id": import_id}), encoding="utf-8")
    return import_id


# ---------------------------------------------------------------- decisions, waivers, seat rules

def review_decisions(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.ReviewDecision).where(m.ReviewDecision.round_id == r.id)
                         .order_by(m.ReviewDecision.id)).scalars()
        return [{"application_id": d.application_id, "rule": d.rule, "outcome": d.decision, "reason": d.reason,
                 "user": d.decided_by, "at": d.decided_at.isoformat(timespec="seconds")} for d in rows]


def decide_review(round_id: str, application_id: str, rule: str, outcome: str, reason: str, user: str | None) -> None:
    with store().write() as s:
        repo.decide_review(s, repo.get_round(s, round_id), application_id, rule, outcome, reason=reason,
                           user=acting_user(user))


def waivers(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.Waiver).where(m.Waiver.round_id == r.id).order_by(m.Waiver.id)).scalars()
        return [{"application_id": w.application_id, "expert_id": w.expert_id, "rule": w.rule, "reason": w.reason,
                 "user": w.created_by, "at": w.created_at.isoformat(timespec="seconds")} for w in rows]


def add_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str, user: str | None) -> None:
    with store().write() as s:
        r = repo.get_round(s, round_id)
        exists = s.execute(select(m.Waiver.id).where(m.Waiver.round_id == r.id, m.Waiver.expert_id == expert_id,
                                                     m.Waiver.application_id == application_id,
                                                     m.Waiver.rule == rule)).scalar_one_or_none()
        if exists is not None:
            raise UserError(f"{expert_id} – {application_id} {rule} is waived already")
        repo.add_waiver(s, r, expert_id, application_id, rule, reason=reason, user=acting_user(user))


def remove_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str,
                  user: str | None) -> None:
    """Withdraw a waiver (reviewer.store.waiver_removal: reason required, audited; refused while a
    published seat relies on it)."""
    with store().write() as s:
        _remove_waiver(s, repo.get_round(s, round_id), expert_id, application_id, rule, reason=reason,
                       user=acting_user(user))


def seat_rules(round_id: str) -> list[dict]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        rows = s.execute(select(m.SeatRule).where(m.SeatRule.round_id == r.id, m.SeatRule.active)
                         .order_by(m.SeatRule.id)).scalars()
        return [{"stage": x.stage, "kind": x.kind, "expert_id": x.expert_id, "application_id": x.application_id,
                 "reason": x.reason, "user": x.created_by, "at": x.created_at.isoformat(timespec="seconds")}
                for x in rows]


def add_seat_rules(round_id: str, kind: str, seats: list[tuple[str, str, str]], reason: str,
                   user: str | None) -> list[str]:
    """Lock or forbid seats (stage, expert_id, application_id) with the store's own checks
    (reviewer.store.repo.add_seat_rule: audited, refused for a published stage or a seat locked the
    other way): all in one transaction, so a pair forbidden in every stage is all or nothing.
    Returns the store's notes on locks."""
    notes: list[str] = []
    with store().write() as s:
        r = repo.get_round(s, round_id)
        for stage, expert_id, application_id in seats:
            repo.add_seat_rule(s, r, kind, stage, expert_id, application_id, reason=reason,
                               user=acting_user(user), notes=notes)
    return notes


def record_pair_conflict(round_id: str, expert_id: str, application_id: str, evidence: str,
                         user: str | None) -> list[str]:
    """A relation staff found: the pair is forbidden in every stage (reviewer.store.pair_conflicts),
    published stages included, in one transaction; refused while the pair is locked in a stage
    (withdraw the lock first). The pair's seats in published stages are recused (seat life cycle, for
    补抽 through the checked path). Returns those stages."""
    with store().write() as s:
        r = repo.get_round(s, round_id)
        locked = sorted(st for st, e, a in repo.seat_rules(s, r)["lock"] if (e, a) == (expert_id, application_id))
        if locked:
            raise UserError(f"{expert_id} × {application_id} 在 {'、'.join(locked)} 已锁定，请先撤销锁定 / is locked "
                            "there: withdraw the lock first")
        pair_conflicts.record(s, r, expert_id, application_id, relation="", evidence=evidence,
                              user=acting_user(user), source="工作人员发现的关系 relation found by staff")
        recused = sorted({x.stage for x in seat_responses.stage_responses(s, r)
                          if (x.expert_id, x.application_id) == (expert_id, application_id)
                          and x.status in seat_responses.TRANSITIONS["pair_conflict"][0]})
        for stage in recused:
            seat_responses.answer(s, r, expert_id, stage, "pair_conflict", user=acting_user(user),
                                  reason=f"回避（全部阶段） conflict of the pair: {evidence}"[:2000],
                                  application_id=application_id)
    return recused


def remove_seat_rule(round_id: str, kind: str, stage: str, expert_id: str, application_id: str, reason: str,
                     user: str | None) -> None:
    """Withdraw a lock or forbid (reviewer.store.repo.remove_seat_rule: reason required, audited)."""
    with store().write() as s:
        repo.remove_seat_rule(s, repo.get_round(s, round_id), kind, stage, expert_id, application_id,
                              reason=reason, user=acting_user(user))


def published_seat_pairs(round_id: str) -> set[tuple[str, str, str]]:
    """(stage, expert_id, application_id) of every active published seat of the round."""
    with store().read() as s:
        pubs = repo.active_published_seats(s, repo.get_round(s, round_id))
    return set(zip(pubs["stage"], pubs["expert_id"], pubs["application_id"]))


# ---------------------------------------------------------------- planning runs

def _run_dict(run: m.Run) -> dict:
    return {"id": run.id, "stages": list(run.stages or []), "status": run.status, "path": run.solver_path,
            "seed": run.seed, "parameters": dict(run.parameters or {}), "objective": run.objective,
            "gap": run.gap, "wall_seconds": run.wall_seconds, "breakdown": dict(run.breakdown or {}),
            "summary": dict(run.summary or {}), "created": run.created_at.isoformat(timespec="seconds"),
            "created_by": run.created_by, "policy_sha256": run.policy_sha256, "import_id": run.import_id}


def latest_plan_run(round_id: str, stage: str) -> dict | None:
    """The round's newest planning run that planned `stage` (made in the app or with `reviewer run plan`)."""
    with store().read() as s:
        r = repo.get_round(s, round_id)
        runs = s.execute(select(m.Run).where(m.Run.round_id == r.id, m.Run.kind == "planning")
                         .order_by(m.Run.id.desc())).scalars()
        run = next((x for x in runs if stage in (x.stages or [])), None)
        return None if run is None else _run_dict(run)


def plan_run(run_id: int) -> dict:
    with store().read() as s:
        return _run_dict(repo.get_run(s, run_id))


def stale_reasons(round_id: str, run: dict) -> list[str]:
    """What changed in the round since planning run `run` was made (empty: the plan is current):
    the store's one check (reviewer.store.publishing.stale_reasons), also applied when publishing."""
    with store().read() as s:
        return publishing.stale_reasons(s, repo.get_round(s, round_id), repo.get_run(s, run["id"]))


def run_seats(run_id: int, stage: str) -> pd.DataFrame:
    """The seats a recorded run gave one stage: stage, application_id, expert_id, role."""
    with store().read() as s:
        seats = repo.run_seats(s, run_id)
    return seats[seats["stage"] == stage][["stage", "application_id", "expert_id", "role"]].reset_index(drop=True)


# ---------------------------------------------------------------- publication and replacements

def publication(round_id: str, stage: str) -> dict | None:
    with store().read() as s:
        p = repo.publication(s, repo.get_round(s, round_id), stage)
        return None if p is None else {"at": p.published_at.isoformat(timespec="seconds"), "by": p.published_by,
                                       "run_id": p.run_id}


def publish(round_id: str, stage: str, run_id: int, user: str | None, reason: str = "",
            confirm_stale: str = "") -> None:
    """Publish the stored seats of planning run `run_id` (refused when they no longer match the run's
    result hash, or when the run is stale unless `confirm_stale` gives a reason:
    `reviewer.store.publishing.publish_run`), one transaction."""
    with store().write() as s:
        publishing.publish_run(s, repo.get_round(s, round_id), stage, run_id, user=acting_user(user), reason=reason,
                               confirm_stale=confirm_stale)


def published_seats(round_id: str, stage: str, include_replaced: bool = False) -> pd.DataFrame:
    with store().read() as s:
        return repo.published_seats(s, repo.get_round(s, round_id), stage, include_replaced=include_replaced)


def _replace(s, r, stage: str, pairs, reason: str, user: str | None, data) -> None:
    """The replacements, checked with the whole round like a plan (reviewer.store.replacement, the
    same function as `reviewer replace`), all or nothing."""
    replacement.replace_seats(s, r, stage, [tuple(p) for p in pairs], reason=reason, user=acting_user(user),
                              data=data)


def replace_seats(round_id: str, stage: str, pairs: list, reason: str, user: str | None, data) -> None:
    """Record replacements of a published stage: (application, removed expert, added expert) each."""
    with store().write() as s:
        _replace(s, repo.get_round(s, round_id), stage, pairs, reason, user, data)


def site_team_routes(round_id: str) -> bool:
    """Whether the round's 现场考察 stage was published with its routes (a site-plan run)."""
    from reviewer.store import site_repair
    with store().read() as s:
        return site_repair.published_routes(s, repo.get_round(s, round_id)) is not None


def replace_on_site_team(round_id: str, stage: str, expert_id: str, applications: list[str], reason: str,
                         user: str | None, data) -> list[tuple[str, str]]:
    """An expert leaves seats of a published 现场考察 plan: each seat is refilled keeping the team's route
    and days, within the team first (`replacement.pick_replacement`), seat after seat in ONE transaction
    (all or nothing: a seat nobody can take leaves every seat as it was). Returns (application, new expert)."""
    done = []
    with store().write() as s:
        r = repo.get_round(s, round_id)
        for a in applications:
            new, _ = replacement.pick_replacement(s, r, stage, a, expert_id, data)
            _replace(s, r, stage, [(a, expert_id, new)], reason, user, data)
            done.append((a, new))
    return done


def overrides(round_id: str, stage: str | None = None) -> pd.DataFrame:
    """The overrides in force on the round's published panels (例外: rule, reason, who, seat)."""
    with store().read() as s:
        return replacement.overrides(s, repo.get_round(s, round_id), stage)


# ---------------------------------------------------------------- scores and audit

def submit_scores(round_id: str, scores: pd.DataFrame, user: str | None, source: str,
                  as_expert: str | None = None, said: pd.DataFrame | None = None) -> int:
    """Store submitted scores with the store's score rules (reviewer.store.score_rules) and their
    评审意见 `said` (refused when an outlying total has none: reviewer.store.opinions); `as_expert`:
    an expert's own upload (the expert of the personal link), refused for any row of another expert."""
    with store().write() as s:
        return opinions.submit_scores_with_opinions(s, repo.get_round(s, round_id), scores, said,
                                                    user=acting_user(user), source=source, as_expert=as_expert)[0]


def record_sheet_refusals(round_id: str, refused: list[dict], user: str | None) -> None:
    """Audit score sheets refused for their signature (as `reviewer scores import`): evidence of a forgery."""
    if refused:
        with store().write() as s:
            repo.record_sheet_refusals(s, repo.get_round(s, round_id), refused, user=acting_user(user))


def scores_frame(round_id: str) -> pd.DataFrame:
    """The round's valid (not void) stored scores: stage, application_id, expert_id, criterion, score, confidence."""
    with store().read() as s:
        return repo.scores_frame(s, repo.get_round(s, round_id))


def scores_version(round_id: str) -> tuple[int, int]:
    """(highest score id, number of scores) of the round: changes with every submission, void or correction."""
    with store().read() as s:
        r = repo.get_round(s, round_id)
        hi, n = s.execute(select(func.max(m.Score.id), func.count(m.Score.id)).where(m.Score.round_id == r.id)).one()
    return int(hi or 0), int(n or 0)


def record(round_id: str, user: str | None, action: str, reason: str = "", entity: str = "", before: Any = None,
           after: Any = None) -> None:
    with store().write() as s:
        chain.record(s, user=acting_user(user), action=action, reason=reason, round_code=round_id, entity=entity,
                     before=before, after=after)


def audit_entries(round_id: str) -> pd.DataFrame:
    with store().read() as s:
        return chain.entries_frame(s, round_code=round_id)


def verify_chain() -> tuple[bool, str]:
    with store().read() as s:
        v = chain.verify(s)
    return v.ok, (str(v.first_bad) if not v.ok else v.head)


# ---------------------------------------------------------------- written opinions (issue 16)

def opinion_tables(round_id: str, stage: str) -> dict[str, pd.DataFrame]:
    with store().read() as s:
        r = repo.get_round(s, round_id)
        return {"opinions": opinions.opinions_frame(s, r, stage), "panels": opinions.panel_opinions_frame(s, r, stage),
                "missing": opinions.required_missing(s, r, stage)}


def record_panel_opinion(round_id: str, stage: str, application_id: str, text: str, dissent: dict[str, str],
                         user: str | None) -> None:
    with store().write() as s:
        opinions.record_panel_opinion(s, repo.get_round(s, round_id), stage, application_id, text=text,
                                      dissent=dissent, user=acting_user(user))


# ---------------------------------------------------------------- ranking sign-off (确认发布)

def _signoff_dict(p: m.RankingPublication, in_force: int | None) -> dict:
    return {"id": p.id, "stage": p.stage, "method": p.method, "sha256": p.table_sha256, "rows": p.n_rows,
            "by": p.published_by, "at": p.published_at.isoformat(timespec="seconds"), "reason": p.reason,
            "supersedes": p.supersedes_id, "in_force": p.id == in_force, "intact": signoff.verify(p),
            "table": p.table}


def freeze_ranking(round_id: str, stage: str, method: str, rows: list[dict], user: str | None,
                   reason: str = "") -> dict:
    """Freeze a stage's ranking table (reviewer.store.signoff.freeze_ranking: one transaction, audited)."""
    with store().write() as s:
        r = repo.get_round(s, round_id)
        p = signoff.freeze_ranking(s, r, stage, method, rows, user=acting_user(user), reason=reason)
        return _signoff_dict(p, p.id)


def ranking_signoffs(round_id: str, stage: str | None = None) -> list[dict]:
    """Every freeze of the round's rankings (oldest first), each marked in force or superseded and
    whether its stored table still gives its recorded SHA-256."""
    with store().read() as s:
        r = repo.get_round(s, round_id)
        pubs = signoff.history(s, r, stage)
        newest = {p.stage: p.id for p in pubs}
        return [_signoff_dict(p, newest[p.stage]) for p in pubs]
