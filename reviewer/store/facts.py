"""The facts the audit chain covers, and their re-derivation from the chain.

An audited act records in its entry the facts it wrote, so the chain (hashed, keyed, anchored, see
`reviewer.store.audit`) covers the tables and not only the acts:

    round.create / round.settings   the policy's sha256, reference date and settings of the round
    import                          the sha256 of every input file and a hash of every stored row
    waiver, lock, forbid, seat_rule.remove, review_decision   the staff decisions later runs use
    publication                     every seat written (assignment id, application, expert, role)
    replacement                     the seat marked replaced and the new seat, the leaving expert's scores
                                    and opinions voided
    scores / score_correction       every score row written (id, key, score, confidence, void)
    opinions / panel_opinion        every 评审意见 / 专家组综合意见 row written (id, key, text, dissent) and those voided
    run.plan                        a planning or imported run: its result hash and the hash of its seats
    seat.*                          every seat response written or changed (assignment id, status)
    pool.penalty / _withdraw        every credit penalty (id, expert, kind, dates) and its withdrawal (rule P1)

`check_facts` replays those records and compares what they give with the tables, naming each
difference: a seat whose status was flipped or that was inserted with SQL, a score voided or
inserted outside the program, an edited import row, an edited policy text, a waiver, lock or
needs-review decision added or changed with SQL. Entries written before
the chain covered facts (legacy, without these fields) are skipped with a note.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.store.models import (
    Assignment,
    Opinion,
    PanelOpinion,
    PoolPenalty,
    AuditEntry,
    ImportFile,
    ImportRow,
    ImportSnapshot,
    Panel,
    Publication,
    ReviewDecision,
    Round,
    Run,
    RunSeat,
    Score,
    SeatResponse,
    SeatRule,
    Waiver,
)

SEAT_FIELDS = ("assignment_id", "application_id", "expert_id", "role")
SCORE_FIELDS = ("score_id", "stage", "application_id", "expert_id", "criterion", "family", "score", "confidence",
                "void")


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (dates as ISO strings)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(table: str, seq: int, source_row: int | None, data: Any) -> str:
    """The hash of one stored import row (first 16 hex of a SHA-256 over its canonical JSON)."""
    return hashlib.sha256(canonical([table, seq, source_row, data]).encode("utf-8")).hexdigest()[:16]


def import_row_hashes(s: Session, import_id: int) -> list[tuple[ImportRow, str]]:
    rows = s.execute(select(ImportRow).where(ImportRow.import_id == import_id).order_by(ImportRow.seq)).scalars()
    return [(x, row_hash(x.table_name, x.seq, x.source_row, x.data)) for x in rows]


def changed_import_rows(s: Session, import_id: int) -> list[str] | None:
    """The stored rows of import `import_id` that differ from the hashes its audit entry recorded
    (one line each), [] when all match, None when no entry recorded them (a legacy import)."""
    want = None
    for e in s.execute(select(AuditEntry).where(AuditEntry.action == "import",
                                                AuditEntry.entity == f"import #{import_id}")).scalars():
        want = _parse(e).get("row_hashes")
    if want is None:
        return None
    have = import_row_hashes(s, import_id)
    out = [f"stored row {x.seq} ({x.table_name}, source row {x.source_row})" for (x, h), w in zip(have, want) if h != w]
    if len(have) != len(want):
        out.append(f"{len(have)} stored rows, {len(want)} when imported")
    return out


PLAN_KINDS = ("planning", "imported", "site_plan")


def run_seats_sha256(s: Session, run_id: int) -> str:
    """The hash of a run's stored seats (stage, application, expert, role; sorted), as a run.plan entry records it."""
    rows = s.execute(select(RunSeat.stage, RunSeat.application_id, RunSeat.expert_id, RunSeat.role)
                     .where(RunSeat.run_id == run_id)).all()
    return hashlib.sha256(canonical(sorted([str(x) for x in r] for r in rows)).encode("utf-8")).hexdigest()


def run_record(s: Session, run: Run) -> dict:
    """What a run.plan entry records of a planning or imported run (after its seats are stored)."""
    return {"run_id": run.id, "kind": run.kind, "stages": list(run.stages or []), "status": run.status,
            "result_sha256": run.result_sha256, "seats_sha256": run_seats_sha256(s, run.id)}


def seat_record(a: Assignment) -> list:
    return [a.id, a.application_id, a.expert_id, a.role]


def score_record(x: Score) -> list:
    return [x.id, x.stage, x.application_id, x.expert_id, x.criterion, x.family or "", float(x.score),
            None if x.confidence is None else float(x.confidence), bool(x.void)]


@dataclass
class Finding:
    entry_id: int     # the entry whose record disagrees with the tables (0: a row no entry records)
    action: str
    what: str


def void_dissent_entries(dissent: list | None, expert: str, why: str) -> list[dict]:
    """The dissent list with `expert`'s live entry marked void (the one rule the store and its replay share)."""
    return [{**d, "void": True, "void_reason": why} if d.get("expert_id") == expert and not d.get("void") else dict(d)
            for d in dissent or []]


def _parse(e: AuditEntry) -> dict:
    try:
        v = json.loads(e.after)
    except (TypeError, ValueError):
        return {}
    return v if isinstance(v, dict) else {}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    return a == b


class _Replay:
    """What the chained records say the tables hold, built entry by entry."""

    def __init__(self) -> None:
        self.rounds: dict[str, tuple[int, dict]] = {}          # code -> (entry id, {policy_sha256, as_of, settings})
        self.imports: dict[int, tuple[int, dict]] = {}         # import id -> (entry id, record)
        self.seats: dict[int, tuple[int, str, list, str]] = {}  # assignment id -> (entry, stage, record, status)
        self.publications: dict[tuple[str, str], int] = {}     # (round, stage) -> entry id
        self.scores: dict[int, tuple[int, str, list, bool]] = {}  # score id -> (entry, round, record, void)
        self.current: dict[tuple, int] = {}                    # (round, stage, app, expert, criterion) -> score id
        self.legacy: dict[str, set] = {"publication": set(), "scores": set(), "import": set()}
        self.waivers: dict[tuple, int] = {}                    # (round, expert, app, rule) -> entry id
        self.seat_rules: dict[tuple, tuple[int, bool]] = {}    # (round, kind, stage, expert, app) -> (entry, active)
        self.decisions: dict[tuple, tuple[int, str]] = {}      # (round, app, rule) -> (entry, pass / fail)
        self.runs: dict[int, tuple[int, dict]] = {}            # run id -> (entry, run.plan record)
        self.responses: dict[int, tuple[int, str]] = {}        # assignment id -> (entry, response status)
        self.opinions: dict[tuple[str, int], tuple[int, str, list, bool]] = {}   # (table, id) -> (entry, round, rec, void)
        self.notes: list[str] = []
        self.findings: list[Finding] = []

    def add(self, e: AuditEntry) -> None:
        a, rc = _parse(e), e.round_code
        if e.action == "round.create":
            self.rounds[rc] = (e.id, {"policy_sha256": a.get("policy_sha256"), "as_of": a.get("as_of"),
                                      "settings": a.get("settings")})
        elif e.action == "round.settings" and rc in self.rounds:
            self.rounds[rc][1]["settings"] = a
        elif e.action == "import":
            if "import_id" in a:
                self.imports[int(a["import_id"])] = (e.id, a)
            else:
                self.legacy["import"].add(e.entity.removeprefix("import #"))
                self.notes.append(f"entry #{e.id} ({e.entity}) predates row hashes: its rows are not compared")
        elif e.action == "publication":
            self._publication(e, a)
        elif e.action in ("replacement", "chair_handover") and "replaced_id" in a:   # both replace a seat
            self._replacement(e, a)
        elif e.action in ("scores", "score_correction"):
            self._scores(e, a)
        elif e.action == "audit.baseline":
            self._baseline(e, a)
        elif e.action == "run.plan" and "run_id" in a:
            self.runs[int(a["run_id"])] = (e.id, a)
        elif e.action.startswith("seat.") and "responses" in a:   # reviewer.store.seat_responses.record_of
            for aid, status in a["responses"]:
                self.responses[int(aid)] = (e.id, status)
        elif e.action in ("opinions", "panel_opinion"):
            self._opinions(e, a)
        else:
            self._decision(e, a)

    def _decision(self, e: AuditEntry, a: dict) -> None:
        """Staff decisions that steer later runs: waivers, locks/forbids, needs-review decisions."""
        rc = e.round_code
        if e.action == "waiver":
            self.waivers[(rc, a.get("expert_id"), a.get("application_id"), a.get("rule"))] = e.id
        elif e.action == "waiver.remove":   # withdrawn: a row of it in the table again is not recorded
            b = json.loads(e.before) if e.before else {}
            b = b if isinstance(b, dict) else {}
            self.waivers.pop((rc, b.get("expert_id"), b.get("application_id"), b.get("rule")), None)
        elif e.action in ("lock", "forbid"):
            self.seat_rules[(rc, e.action, a.get("stage"), a.get("expert_id"), a.get("application_id"))] = (e.id, True)
        elif e.action == "seat_rule.remove":
            b = json.loads(e.before) if e.before else {}
            b = b if isinstance(b, dict) else {}
            key = (rc, b.get("kind"), b.get("stage"), b.get("expert_id"), b.get("application_id"))
            self.seat_rules[key] = (e.id, False)
        elif e.action == "review_decision":
            app, _, rule = e.entity.rpartition(" ")
            self.decisions[(rc, app, rule)] = (e.id, a.get("decision"))

    def _baseline(self, e: AuditEntry, a: dict) -> None:
        # the baseline covers what the older (legacy) entries did not record
        self.legacy = {k: set() for k in self.legacy}
        self.notes = [f"entry #{e.id} records the facts as they were when the chain became keyed (baseline)"]
        for code, rec in a.get("rounds", {}).items():
            self.rounds[code] = (e.id, rec)
        for imp, rec in a.get("imports", {}).items():
            self.imports[int(imp)] = (e.id, rec)
        for code, stage in a.get("publications", []):
            self.publications[(code, stage)] = e.id
        for code, stage, *rec, status in a.get("seats", []):
            self.seats[int(rec[0])] = (e.id, stage, rec, status)
        for code, *rec in a.get("scores", []):
            self.scores[int(rec[0])] = (e.id, code, rec, bool(rec[8]))
            if not rec[8]:
                self.current[(code, *rec[1:5])] = int(rec[0])

    def _publication(self, e: AuditEntry, a: dict) -> None:
        stage = a.get("stage", e.entity)
        self.publications[(e.round_code, stage)] = e.id
        if "assignments" not in a:
            self.legacy["publication"].add((e.round_code, stage))
            self.notes.append(f"entry #{e.id} (publication {e.round_code} {stage}) predates seat records: "
                              "its seats are not compared")
            return
        for rec in a["assignments"]:
            self.seats[int(rec[0])] = (e.id, stage, list(rec), "active")

    def _replacement(self, e: AuditEntry, a: dict) -> None:
        old = self.seats.get(int(a["replaced_id"]))
        if old is not None:
            self.seats[int(a["replaced_id"])] = (*old[:3], "replaced")
        new = list(a["new"])
        self.seats[int(new[0])] = (e.id, a["stage"], new, "active")
        for sid in a.get("voided_score_ids", []):   # the replaced expert's scores stop counting
            self._void(int(sid))
        for table, key in (("opinions", "voided_opinion_ids"), ("panel_opinions", "voided_panel_opinion_ids")):
            for oid in a.get(key, []):              # and their written opinions (a chair's panel opinion)
                if (table, int(oid)) in self.opinions:
                    self.opinions[(table, int(oid))] = (*self.opinions[(table, int(oid))][:3], True)
        for pid, expert, why in a.get("voided_dissent", []):   # a leaving member's dissent, marked void
            key = ("panel_opinions", int(pid))
            if key in self.opinions:
                eid, rc, rec, void = self.opinions[key]
                rec = [*rec[:5], void_dissent_entries(rec[5], expert, why), *rec[6:]]
                self.opinions[key] = (eid, rc, rec, void)

    def _scores(self, e: AuditEntry, a: dict) -> None:
        rows = a.get("rows") or ([a["row"]] if "row" in a else None)
        if rows is None:
            self.legacy["scores"].add(e.round_code)
            return
        if e.action == "score_correction" and "replaced_id" in a:
            self._void(int(a["replaced_id"]))
        for rec in rows:
            sid, void = int(rec[0]), bool(rec[8])
            self.scores[sid] = (e.id, e.round_code, list(rec), void)
            if void:
                continue
            key = (e.round_code, *rec[1:5])
            if self.current.get(key, sid) != sid:
                self._void(self.current[key])
            self.current[key] = sid

    def _opinions(self, e: AuditEntry, a: dict) -> None:
        table = "opinions" if e.action == "opinions" else "panel_opinions"
        for oid in a.get("voided_ids", []):
            if (table, int(oid)) in self.opinions:
                self.opinions[(table, int(oid))] = (*self.opinions[(table, int(oid))][:3], True)
        for rec in a.get("rows") or ([a["row"]] if "row" in a else []):
            self.opinions[(table, int(rec[0]))] = (e.id, e.round_code, list(rec), bool(rec[-1]))

    def _void(self, sid: int) -> None:
        if sid in self.scores:
            self.scores[sid] = (*self.scores[sid][:3], True)


def baseline(s: Session) -> dict:
    """The facts the tables hold now (for the first keyed entry of a store with a legacy chain)."""
    rounds = {r.id: r for r in s.execute(select(Round).order_by(Round.id)).scalars()}
    imports = {}
    for snap in s.execute(select(ImportSnapshot).order_by(ImportSnapshot.id)).scalars():
        files = [{"table": f.table_name, "file": f.file_name, "sha256": f.sha256} for f in
                 s.execute(select(ImportFile).where(ImportFile.import_id == snap.id).order_by(ImportFile.id)).scalars()]
        imports[str(snap.id)] = {"files": files, "row_hashes": [h for _, h in import_row_hashes(s, snap.id)]}
    q = select(Assignment, Panel.round_id).join(Panel, Panel.id == Assignment.panel_id).order_by(Assignment.id)
    return {"rounds": {r.code: {"policy_sha256": r.policy_sha256, "as_of": r.as_of, "settings": r.settings or {}}
                       for r in rounds.values()},
            "imports": imports,
            "publications": [[rounds[p.round_id].code, p.stage] for p in
                             s.execute(select(Publication).order_by(Publication.id)).scalars()],
            "seats": [[rounds[rid].code, a.stage, *seat_record(a), a.status] for a, rid in s.execute(q).all()],
            "scores": [[rounds[x.round_id].code, *score_record(x)] for x in
                       s.execute(select(Score).order_by(Score.id)).scalars()]}


def check_facts(s: Session, entries: Iterable[AuditEntry]) -> tuple[list[Finding], list[str]]:
    """(findings, notes): every difference between the tables and what the chained records give."""
    rp = _Replay()
    entries = list(entries)
    for e in entries:
        rp.add(e)
    if any(e.mac is None for e in entries) and not any(e.action == "audit.baseline" for e in entries):
        # a store from before the keyed chain: its acts did not record their facts (the first keyed
        # act records a baseline); only the facts of entries that do record them are compared
        rp.legacy["unkeyed"] = {True}
        rp.notes.append("the log predates the keyed chain (no baseline yet): rows no entry records are not compared")
    codes = {r.id: r.code for r in s.execute(select(Round)).scalars()}
    _check_rounds(s, rp)
    _check_imports(s, rp, codes)
    _check_seats(s, rp, codes)
    _check_scores(s, rp, codes)
    _check_decisions(s, rp, codes)
    _check_runs(s, rp)
    _check_responses(s, rp)
    _check_opinions(s, rp, codes)
    _check_penalties(s, entries, rp)
    return rp.findings, rp.notes


def _check_penalties(s: Session, entries: list[AuditEntry], rp: _Replay) -> None:
    """信用惩戒 rows (they keep experts out of planning, rule P1) against pool.penalty and
    pool.penalty_withdraw: a penalty inserted, edited, un-withdrawn or deleted outside the program."""
    want: dict[int, tuple[int, list, bool]] = {}
    for e in entries:
        a = _parse(e)
        if e.action == "pool.penalty" and "id" in a:
            want[int(a["id"])] = (e.id, [a.get("expert_id"), a.get("kind"), a.get("start"), a.get("end")], False)
        elif e.action == "pool.penalty_withdraw" and a.get("id") in want:
            want[int(a["id"])] = (want[int(a["id"])][0], want[int(a["id"])][1], True)
    seen = set()
    for x in s.execute(select(PoolPenalty).order_by(PoolPenalty.id)).scalars():
        seen.add(x.id)
        where, rec = f"penalty #{x.id} ({x.expert_id} {x.kind})", want.get(x.id)
        if rec is None:
            rp.findings.append(Finding(0, "pool.penalty", f"惩戒未经记录 {where} is not in the audit log: inserted "
                                                          "outside the program"))
        elif [x.expert_id, x.kind, x.start, x.end] != rec[1]:
            rp.findings.append(Finding(rec[0], "pool.penalty", f"惩戒被修改 {where}: its expert, kind or dates differ "
                                                               "from the audit log"))
        elif bool(x.withdrawn) != rec[2]:
            rp.findings.append(Finding(rec[0], "pool.penalty", f"惩戒撤销状态被修改 {where} is "
                                       f"{'withdrawn' if x.withdrawn else 'in force'} in the table, not as the audit "
                                       "log records it"))
    for pid, (eid, rec, _) in sorted(want.items()):
        if pid not in seen:
            rp.findings.append(Finding(eid, "pool.penalty", f"惩戒缺失 penalty #{pid} ({rec[0]} {rec[1]}) of the audit "
                                                            "log is missing from the table"))


def _check_responses(s: Session, rp: _Replay) -> None:
    """Seat responses (the experts' answers) against the seat.* entries: a status set or a row added
    with SQL, or a recorded row removed."""
    seen = set()
    for x in s.execute(select(SeatResponse).order_by(SeatResponse.id)).scalars():
        seen.add(x.assignment_id)
        where = f"seat #{x.assignment_id} ({x.stage} {x.application_id} {x.expert_id})"
        rec = rp.responses.get(x.assignment_id)
        if rec is None:
            rp.findings.append(Finding(0, "seat.invite", f"答复未经记录 the response of {where} is not in the audit "
                                       "log: it was inserted outside the program"))
        elif rec[1] != x.status:
            rp.findings.append(Finding(rec[0], "seat.invite", f"答复状态被修改 the response of {where} is "
                                       f"{x.status!r} in the table, {rec[1]!r} in the audit log (changed outside "
                                       "the program)"))
    for aid, (eid, status) in sorted(rp.responses.items()):
        if aid not in seen:
            rp.findings.append(Finding(eid, "seat.invite", f"答复缺失 the response ({status}) of seat #{aid} recorded "
                                       "in the audit log is missing from the table"))


def _check_opinions(s: Session, rp: _Replay, codes: dict[int, str]) -> None:
    """评审意见 and 专家组综合意见 rows against the entries that wrote them: text, key or void state
    changed, a row inserted or deleted outside the program."""
    seen = set()
    for table, model in (("opinions", Opinion), ("panel_opinions", PanelOpinion)):
        for x in s.execute(select(model).order_by(model.id)).scalars():
            seen.add((table, x.id))
            have = ([x.id, x.stage, x.application_id, x.expert_id, x.text, bool(x.void)] if table == "opinions" else
                    [x.id, x.stage, x.application_id, x.chair_id, x.text, list(x.dissent or []), bool(x.void)])
            where = f"{table} #{x.id} ({codes.get(x.round_id)} {x.stage} {x.application_id})"
            rec = rp.opinions.get((table, x.id))
            if rec is None:
                rp.findings.append(Finding(0, table, f"意见未经记录 {where} is not in the audit log: inserted outside "
                                                     "the program"))
                continue
            eid, rc, want, void = rec
            if rc != codes.get(x.round_id) or have[:-1] != want[:-1]:
                rp.findings.append(Finding(eid, table, f"意见被修改 {where}: its text or key differs from the audit log"))
            if bool(x.void) != void:
                rp.findings.append(Finding(eid, table, f"意见作废状态被修改 {where} is {'void' if x.void else 'valid'} in "
                                                       "the table, not as the audit log records it"))
    for key, (eid, rc, want, _void) in rp.opinions.items():
        if key not in seen:
            rp.findings.append(Finding(eid, key[0], f"{key[0]} #{key[1]} ({rc} {want[1]} {want[2]}) of the audit log "
                                                    "is missing from the table"))


def _check_runs(s: Session, rp: _Replay) -> None:
    """Planning and imported runs against their run.plan entries: the run's result hash and the hash
    of its stored seats (seats edited before publication), a recorded run removed, and a run made
    after the first recorded one that no entry records (inserted with SQL). Older runs, made before
    runs were recorded, are not compared."""
    first = min(rp.runs, default=None)
    for run in s.execute(select(Run).where(Run.kind.in_(PLAN_KINDS)).order_by(Run.id)).scalars():
        eid, want = rp.runs.get(run.id, (0, None))
        if want is None:
            if first is not None and run.id > first:
                rp.findings.append(Finding(0, "run.plan", f"运行未经记录 run #{run.id} ({run.kind}) is not in the "
                                                         "audit log: it was inserted outside the program"))
            continue
        if run.result_sha256 != want.get("result_sha256"):
            rp.findings.append(Finding(eid, "run.plan", f"运行结果哈希被修改 run #{run.id}: its result hash is "
                                                        f"{(run.result_sha256 or 'none')[:12]}… in the table, "
                                                        f"{str(want.get('result_sha256'))[:12]}… in the audit log"))
        if run_seats_sha256(s, run.id) != want.get("seats_sha256"):
            rp.findings.append(Finding(eid, "run.plan", f"运行席位被修改 run #{run.id}: its stored seats differ from "
                                                        "the seats recorded when it was made (edited outside the "
                                                        "program)"))
    for rid, (eid, _) in sorted(rp.runs.items()):
        if s.get(Run, rid) is None:
            rp.findings.append(Finding(eid, "run.plan", f"运行被删除 run #{rid} recorded in the audit log is missing"))


def _check_decisions(s: Session, rp: _Replay, codes: dict[int, str]) -> None:
    """Waivers, active locks/forbids and needs-review decisions in the tables against the chain."""
    for w in s.execute(select(Waiver).order_by(Waiver.id)).scalars():
        if (codes.get(w.round_id), w.expert_id, w.application_id, w.rule) not in rp.waivers:
            rp.findings.append(Finding(0, "waiver", f"豁免未经记录 waiver {w.rule} of {w.expert_id} × {w.application_id} "
                                       f"(round {codes.get(w.round_id)}) is not in the audit log: inserted outside the "
                                       "program"))
    for x in s.execute(select(SeatRule).order_by(SeatRule.id)).scalars():
        key = (codes.get(x.round_id), x.kind, x.stage, x.expert_id, x.application_id)
        rec = rp.seat_rules.get(key)
        if rec is None or rec[1] != bool(x.active):
            state = "active" if x.active else "withdrawn"
            rp.findings.append(Finding(rec[0] if rec else 0, x.kind, f"{x.kind} {x.stage} {x.expert_id} × "
                                       f"{x.application_id} (round {key[0]}) is {state} in the table"
                                       f"{', not as the audit log records it' if rec else ', not in the audit log'}: "
                                       "changed outside the program"))
    for d in s.execute(select(ReviewDecision).order_by(ReviewDecision.id)).scalars():
        rec = rp.decisions.get((codes.get(d.round_id), d.application_id, d.rule))
        if rec is None or rec[1] != d.decision:
            rp.findings.append(Finding(rec[0] if rec else 0, "review_decision", f"复核决定 needs-review decision "
                                       f"{d.application_id} {d.rule} = {d.decision} in the table, "
                                       f"{rec[1] if rec else 'not in the audit log'}"
                                       f"{' in the audit log' if rec else ''}: changed outside the program"))


def _check_rounds(s: Session, rp: _Replay) -> None:
    for r in s.execute(select(Round).order_by(Round.id)).scalars():
        rec = rp.rounds.get(r.code)
        if rec is None:
            rp.findings.append(Finding(0, "round.create", f"批次 round {r.code} has no creation entry in the audit "
                                       "log: it was inserted outside the program"))
            continue
        eid, want = rec
        text_sha = hashlib.sha256(r.policy_text.encode("utf-8")).hexdigest()
        if text_sha != want["policy_sha256"] or r.policy_sha256 != want["policy_sha256"]:
            rp.findings.append(Finding(eid, "round.create", f"批次 round {r.code}: 存储的政策文本已被修改 its stored "
                                       f"policy text was edited in the database (sha256 recorded at creation "
                                       f"{str(want['policy_sha256'])[:12]}…, the text now gives {text_sha[:12]}…)"))
        if r.as_of != want["as_of"]:
            rp.findings.append(Finding(eid, "round.create", f"round {r.code}: reference date {r.as_of} in the table, "
                                       f"{want['as_of']} in the audit log"))
        if want["settings"] is not None and canonical(r.settings or {}) != canonical(want["settings"] or {}):
            rp.findings.append(Finding(eid, "round.settings", f"round {r.code}: its settings differ from the last "
                                       "audited settings change (edited in the database)"))


def _check_imports(s: Session, rp: _Replay, codes: dict[int, str]) -> None:
    for snap in s.execute(select(ImportSnapshot).order_by(ImportSnapshot.id)).scalars():
        rec = rp.imports.get(snap.id)
        if rec is None:
            if str(snap.id) not in rp.legacy["import"] and not rp.legacy.get("unkeyed"):
                rp.findings.append(Finding(0, "import", f"导入 import #{snap.id} of round {codes.get(snap.round_id)} "
                                           "is not in the audit log: it was inserted outside the program"))
            continue
        eid, want = rec
        files = {(f.table_name, f.file_name, f.sha256) for f in
                 s.execute(select(ImportFile).where(ImportFile.import_id == snap.id)).scalars()}
        recorded = {(f["table"], f["file"], f["sha256"]) for f in want.get("files", [])}
        if files != recorded:
            rp.findings.append(Finding(eid, "import", f"import #{snap.id}: its file list or file hashes differ from "
                                       f"the audit log ({', '.join(sorted(f'{t} {n}' for t, n, _ in files ^ recorded))})"))
        _compare_rows(s, rp, eid, snap.id, want.get("row_hashes", []))


def _compare_rows(s: Session, rp: _Replay, eid: int, import_id: int, want: list[str]) -> None:
    have = import_row_hashes(s, import_id)
    changed = [(x, h) for (x, h), w in zip(have, want) if h != w]
    for x, _ in changed[:20]:
        data = x.data if isinstance(x.data, dict) else {}
        key = data.get("application_id") or data.get("expert_id") or ""
        rp.findings.append(Finding(eid, "import", f"导入数据被修改 import #{import_id}: stored row {x.seq} "
                                   f"({x.table_name}, source row {x.source_row}, {key}) was changed after it was "
                                   "imported (its hash is in the audit log)"))
    if len(changed) > 20:
        rp.findings.append(Finding(eid, "import", f"import #{import_id}: … {len(changed) - 20} more changed rows"))
    if len(have) != len(want):
        rp.findings.append(Finding(eid, "import", f"import #{import_id}: {len(have)} stored rows, {len(want)} when "
                                   "imported (rows were added or deleted)"))


def _check_seats(s: Session, rp: _Replay, codes: dict[int, str]) -> None:
    for p in s.execute(select(Publication).order_by(Publication.id)).scalars():
        if (codes.get(p.round_id), p.stage) not in rp.publications:
            rp.findings.append(Finding(0, "publication", f"发布 publication of {codes.get(p.round_id)} {p.stage} is "
                                       "not in the audit log: it was inserted outside the program"))
    q = select(Assignment, Panel.round_id).join(Panel, Panel.id == Assignment.panel_id).order_by(Assignment.id)
    seen = set()
    for a, round_id in s.execute(q).all():
        rc = codes.get(round_id)
        seen.add(a.id)
        where = f"seat #{a.id} ({rc} {a.stage} {a.application_id} {a.expert_id} {a.role})"
        rec = rp.seats.get(a.id)
        if rec is None:
            if (rc, a.stage) not in rp.legacy["publication"] and not rp.legacy.get("unkeyed"):
                rp.findings.append(Finding(0, "publication", f"席位未经记录 {where} is not in the audit log: it was "
                                           "inserted outside the program"))
            continue
        eid, stage, want, status = rec
        if [a.id, a.application_id, a.expert_id, a.role] != want or a.stage != stage:
            rp.findings.append(Finding(eid, "publication", f"{where}: the audit log records it as {stage} "
                                       f"{' '.join(map(str, want[1:]))}"))
        if a.status != status:
            rp.findings.append(Finding(eid, "publication", f"席位状态被修改 {where} is {a.status!r} in the table, "
                                       f"{status!r} in the audit log (changed outside the program)"))
    for sid, (eid, _stage, want, _status) in rp.seats.items():
        if sid not in seen:
            rp.findings.append(Finding(eid, "publication", f"seat #{sid} ({' '.join(map(str, want[1:]))}) of the "
                                       "audit log is missing from the table"))


def _check_scores(s: Session, rp: _Replay, codes: dict[int, str]) -> None:
    seen = set()
    for x in s.execute(select(Score).order_by(Score.id)).scalars():
        rc = codes.get(x.round_id)
        seen.add(x.id)
        where = f"score #{x.id} ({rc} {x.stage} {x.application_id} {x.expert_id} {x.criterion} = {x.score:g})"
        rec = rp.scores.get(x.id)
        if rec is None:
            if rc not in rp.legacy["scores"] and not rp.legacy.get("unkeyed"):
                rp.findings.append(Finding(0, "scores", f"评分未经记录 {where} is not in the audit log: it was "
                                           "inserted outside the program"))
            continue
        eid, rrc, want, void = rec
        have = score_record(x)
        if rc != rrc or any(not _same(h, w) for h, w in zip(have[:8], want[:8])):
            rp.findings.append(Finding(eid, "scores", f"评分被修改 {where}: the audit log records "
                                       f"{' '.join(str(v) for v in want[1:8])}"))
        if bool(x.void) != void:
            state = ("void in the table, valid in the audit log" if x.void
                     else "valid in the table, void in the audit log")
            rp.findings.append(Finding(eid, "scores", f"评分作废状态被修改 {where} is {state} (changed outside "
                                       "the program)"))
    for sid, (eid, rc, want, _void) in rp.scores.items():
        if sid not in seen:
            rp.findings.append(Finding(eid, "scores", f"score #{sid} ({rc} {' '.join(map(str, want[1:7]))}) of the "
                                       "audit log is missing from the table"))
