"""随机抽取的公开验证 A publicly verifiable random draw on a stored round.

Before the draw the round records a *commitment* in the audit log: the SHA-256 of a canonical
JSON of what the draw will be a function of — the hash of the stored input rows, the policy hash,
the draw's parameters (stages, q, locks, forbids, waivers, needs-review decisions, fixed seats),
the lottery version, and either the hash of a secret seed with a random salt (revealed with the
draw) or the rule that derives the seed from a public value announced after the commitment:
seed = SHA-256(commitment ‖ public value) mod 2^31. Staff publish the commitment with a date.

The reveal performs the draw through the one planning path (`store.runs.run_planning`, the
planning service), checks that the recorded run is the committed draw and records the revealed
seed linked to the commitment. `verify_draw(RUN_ID)` recomputes the draw from the stored inputs,
policy, parameters and revealed seed (the planning service again) and compares the commitment,
the run's stored seats and the panels published from the run.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from reviewer.errors import UserError
from reviewer.panels.service import PlanParams
from reviewer.panels.tables import plan_seats
from reviewer.store import audit, facts, pool, repo
from reviewer.store.engine import Store
from reviewer.store.facts import canonical
from reviewer.store.models import AuditEntry, Round, Run
from reviewer.store.runs import compute_plan, run_planning
from solver.lottery import LOTTERY_VERSION

COMMIT, REVEAL = "draw.commit", "draw.reveal"
SEED_RULE = "seed = int(SHA-256(commitment || public value)[:8 bytes]) mod 2^31"
# Recorded run parameters that do not shape the drawn plan (the draw is a function of the inputs,
# policy, parameters and seed only; a time limit only aborts): left out of the commitment.
NOT_COMMITTED = ("seed", "time_limit", "workers")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_sha256(s, import_id: int) -> str:
    """The hash of the stored input rows of an import (over each row's hash, in order)."""
    return sha(canonical([h for _, h in facts.import_row_hashes(s, import_id)]))


def seed_hash(seed: int, salt: str) -> str:
    return sha(canonical({"salt": salt, "seed": int(seed)}))


def derive_seed(commitment: str, public_value: str) -> int:
    """The seed of a draw whose commitment names a public value announced after it."""
    v = public_value.strip()
    if not v:
        raise UserError("--public-value 不能为空 must not be empty")
    return int.from_bytes(hashlib.sha256((commitment + v).encode("utf-8")).digest()[:8], "big") % 2 ** 31


def committed_parameters(record: dict) -> dict:
    return {k: v for k, v in sorted(record.items()) if k not in NOT_COMMITTED}


def commitment_of(body: dict) -> str:
    return sha(canonical(body))


@dataclass
class Commitment:
    entry_id: int
    commitment: str
    body: dict
    salt: str | None = None        # secret-seed mode: shown to staff once, needed for the reveal


def _planned_record(s, r: Round, stages: list[str] | None, q: float | None, include_review: bool = False,
                    fixed: list | None = None) -> dict:
    """The parameters a draw would record now (as `run_planning` does), without the seed."""
    pol = repo.round_policy(r)
    rules = repo.seat_rules(s, r)
    decisions = [(a, k, d, why) for (a, k), (d, why) in sorted(repo.review_overrides(s, r).items())]
    params = PlanParams.for_policy(pol, stages, randomize=True, q=q, include_review=include_review,
                                   fixed=tuple(tuple(x) for x in fixed or ()), locks=tuple(rules["lock"]),
                                   forbids=tuple(rules["forbid"]), review_decisions=tuple(decisions),
                                   pool_bars=pool.bars_for_round(s, r, pol))
    return committed_parameters({**params.to_record(), "waivers": repo.waivers(s, r)})


def commit_draw(store: Store, code: str, *, user: str, stages: list[str] | None = None, q: float | None = None,
                seed: int | None = None, include_review: bool = False, fixed: list | None = None,
                reason: str = "") -> Commitment:
    """Record the commitment of a coming draw. With `seed`: a secret seed, committed by its hash with
    a random salt (returned; keep it for the reveal). Without: the seed will be derived from a
    public value announced after the commitment."""
    with store.write() as s:
        r = repo.get_round(s, code)
        snap = repo.latest_import(s, r)
        salt = secrets.token_hex(16) if seed is not None else None
        body = {"round": r.code, "import_id": snap.id, "inputs_sha256": inputs_sha256(s, snap.id),
                "policy_sha256": repo.round_policy(r).sha256, "parameters": _planned_record(s, r, stages, q, include_review, fixed),
                "lottery_version": LOTTERY_VERSION,
                "seed": ({"mode": "secret", "sha256": seed_hash(seed, salt)} if seed is not None else
                         {"mode": "public value", "rule": SEED_RULE})}
        c = commitment_of(body)
        e = audit.record(s, user=user, action=COMMIT, reason=reason or "随机抽取承诺 draw commitment",
                         round_code=r.code, entity=f"draw commitment {c[:16]}",
                         after={"commitment": c, "body": body})
        return Commitment(e.id, c, body, salt)


def _entry(s, entry_id: int, action: str) -> tuple[AuditEntry, dict]:
    e = s.get(AuditEntry, entry_id)
    if e is None or e.action != action:
        raise UserError(f"审计日志第 {entry_id} 条不是随机抽取承诺 audit entry #{entry_id} is not a draw commitment "
                        "(reviewer draw commit prints its id)")
    return e, json.loads(e.after)


def reveal_seed(body: dict, commitment: str, seed: int | None, salt: str | None, public_value: str | None) -> int:
    """The seed of the draw, checked against the commitment; UserError when it does not fit."""
    mode = body["seed"]["mode"]
    if mode == "public value":
        if public_value is None:
            raise UserError("此承诺的种子来自公开数值 this commitment derives its seed from a public value: "
                            "give --public-value")
        return derive_seed(commitment, public_value)
    if seed is None or salt is None or seed_hash(seed, salt) != body["seed"]["sha256"]:
        raise UserError("种子与承诺不符 the seed (with its salt) does not match the commitment: no draw was made "
                        "(give the --seed and --salt printed by reviewer draw commit)")
    return int(seed)


def reveal_draw(store: Store, code: str, entry_id: int, *, user: str, seed: int | None = None,
                salt: str | None = None, public_value: str | None = None, time_limit: float = 60.0,
                echo=None) -> tuple[Run, Any, int]:
    """Draw under commitment `entry_id`: check the seed, check that the round's inputs, policy and
    parameters are still the committed ones, draw (run_planning), check the recorded run against
    the commitment and record the reveal. Returns (run, result, seed)."""
    with store.read() as s:
        _e, rec = _entry(s, entry_id, COMMIT)
        body, c = rec["body"], rec["commitment"]
        if body["round"] != code:
            raise UserError(f"承诺 #{entry_id} 属于批次 {body['round']} the commitment is of round {body['round']}")
        if s.execute(select(AuditEntry.id).where(AuditEntry.action == REVEAL)
                     .where(AuditEntry.after.contains(f'"commit_entry":{entry_id},'))).first():
            raise UserError(f"承诺 #{entry_id} 已揭示 commitment #{entry_id} was already revealed (one draw per "
                            "commitment)")
        now = _now_body(s, code, body)
    drawn_seed = reveal_seed(body, c, seed, salt, public_value)
    if (diff := body_differences(body, now)):
        raise UserError("承诺后数据或参数已改变，未抽取 the round changed since the commitment, no draw was made: "
                        + "; ".join(diff))
    p = body["parameters"]
    run, res = run_planning(store, code, user=user, stages=p["stages"], seed=drawn_seed, randomize=True,
                            time_limit=time_limit, include_review=p["include_review"],
                            fixed=p.get("fixed") or None, **({"echo": echo} if echo else {}))
    with store.write() as s:
        run = repo.get_run(s, run.id)
        diff = body_differences(body, run_body(s, run, body))
        audit.record(s, user=user, action=REVEAL, round_code=code, entity=f"run #{run.id}",
                     reason="随机抽取揭示 draw revealed" + (f" — DIFFERS: {'; '.join(diff)}" if diff else ""),
                     after={"commit_entry": entry_id, "commitment": c, "run_id": run.id, "seed": drawn_seed,
                            "salt": salt if public_value is None else None, "public_value": public_value})
    if diff:
        raise UserError(f"运行 run #{run.id} 与承诺不符 does not match the commitment: {'; '.join(diff)}")
    return run, res, drawn_seed


def _now_body(s, code: str, body: dict) -> dict:
    r = repo.get_round(s, code)
    snap = repo.latest_import(s, r)
    p = body["parameters"]
    return {**body, "import_id": snap.id, "inputs_sha256": inputs_sha256(s, snap.id),
            "policy_sha256": repo.round_policy(r).sha256,
            "parameters": _planned_record(s, r, p["stages"], p.get("q"), p["include_review"], p.get("fixed")),
            "lottery_version": LOTTERY_VERSION}


def run_body(s, run: Run, body: dict) -> dict:
    """What a commitment would say about a recorded run (inputs as stored now). A run records the
    lottery version it drew with (runs recorded before that: the commitment's version)."""
    return {**body, "import_id": run.import_id, "inputs_sha256": inputs_sha256(s, run.import_id),
            "policy_sha256": run.policy_sha256, "parameters": committed_parameters(dict(run.parameters or {})),
            "lottery_version": (run.parameters or {}).get("lottery_version", body.get("lottery_version"))}


def body_differences(want: dict, have: dict) -> list[str]:
    out = []
    names = {"import_id": "导入 import", "inputs_sha256": "输入数据 stored input rows",
             "policy_sha256": "规则 policy", "lottery_version": "抽取程序版本 lottery version"}
    for k, what in names.items():
        if want.get(k) != have.get(k):
            out.append(f"{what} changed (committed {str(want.get(k))[:16]}, now {str(have.get(k))[:16]})")
    wp, hp = want.get("parameters", {}), have.get("parameters", {})
    for k in sorted(set(wp) | set(hp)):
        if wp.get(k) != hp.get(k):
            out.append(f"参数 parameter {k} changed (committed {canonical(wp.get(k))[:80]}, now "
                       f"{canonical(hp.get(k))[:80]})")
    return out


# ---------------------------------------------------------------- verification

@dataclass
class DrawVerification:
    run_id: int
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        head = (f"一致 MATCH — run #{self.run_id} is the committed draw" if self.ok else
                f"不一致 MISMATCH — run #{self.run_id}: {len(self.differences)} differences")
        return [head, *("  " + n for n in self.notes), *("  - " + d for d in self.differences[:60])]


def _reveal_of(s, run_id: int) -> dict:
    e = s.execute(select(AuditEntry).where(AuditEntry.action == REVEAL, AuditEntry.entity == f"run #{run_id}")
                  ).scalars().first()
    if e is None:
        raise UserError(f"运行 run #{run_id} 没有随机抽取承诺 has no recorded draw commitment and reveal (drawn "
                        "without a commitment, or not a draw): there is nothing to verify it against")
    return json.loads(e.after)


def _seat_diff(want: list[tuple], have: list[tuple], what_want: str, what_have: str) -> list[str]:
    a, b = set(want), set(have)
    out = [f"席位 seat {' '.join(map(str, x))} in {what_want}, not in {what_have}" for x in sorted(a - b)]
    return out + [f"席位 seat {' '.join(map(str, x))} in {what_have}, not in {what_want}" for x in sorted(b - a)]


def verify_draw(store: Store, run_id: int) -> DrawVerification:
    """Recompute run `run_id`'s draw from the store and compare it with its commitment, its stored
    seats and the panels published from it."""
    out = DrawVerification(run_id)
    with store.read() as s:
        run = repo.get_run(s, run_id)
        rev = _reveal_of(s, run_id)
        _e, rec = _entry(s, int(rev["commit_entry"]), COMMIT)
        body, c = rec["body"], rec["commitment"]
        out.notes.append(f"承诺 commitment {c} (audit entry #{_e.id}, {_e.at}); revealed seed {rev['seed']}")
        if commitment_of(body) != c or rev["commitment"] != c:
            out.differences.append("承诺不符 the recorded commitment does not hash to its recorded content")
        diff = body_differences(body, run_body(s, run, body))
        if any(d.startswith("输入数据") for d in diff):
            changed = facts.changed_import_rows(s, run.import_id) or []
            diff.append("输入数据已被修改 changed input rows: " + ("; ".join(changed[:10]) or "(see reviewer audit verify)"))
        out.differences += diff
        out.differences += _seed_differences(body, c, rev, run)
        pol = repo.policy_from_text(run.policy_text, run.as_of, f"run #{run_id} policy")
        if pol.sha256 != run.policy_sha256:
            out.differences.append("规则 the run's stored policy text does not match its recorded hash")
        # recomputed with the committed lottery version (an earlier one this program cannot draw is
        # refused with a UserError naming it)
        params = {**dict(run.parameters or {}), "seed": int(rev["seed"]),
                  "lottery_version": body.get("lottery_version", LOTTERY_VERSION)}
        data = repo.load_data(s, run.import_id, params.get("waivers", []))
        recorded = plan_seats(repo.run_seats(s, run_id))
        r = s.get(Round, run.round_id)
        published = {st: repo.published_seats(s, r, st, include_replaced=True) for st in run.stages or []
                     if (p := repo.publication(s, r, st)) is not None and p.run_id == run_id}
    rerun = plan_seats(compute_plan(data, pol, params).panels)
    out.differences += _seat_diff(rerun, recorded, "the recomputed draw", f"run #{run_id}'s stored seats")
    for st, seats in published.items():
        pub = seats[seats["origin"] == "publication"]
        have = plan_seats(pub.assign(category="", affinity=None))
        want = [x for x in rerun if x[0] == st]
        out.differences += _seat_diff(want, have, "the recomputed draw", f"the published panels of {st}")
        out.notes.append(f"已发布 published {st}: {len(pub)} seats compared")
    out.notes.append(f"重新计算 recomputed {len(rerun)} seats, stored {len(recorded)}")
    return out


def _seed_differences(body: dict, c: str, rev: dict, run: Run) -> list[str]:
    out = []
    seed = int(rev["seed"])
    if body["seed"]["mode"] == "public value":
        if rev.get("public_value") is None or derive_seed(c, rev["public_value"]) != seed:
            out.append(f"种子与承诺不符 seed/commitment mismatch: seed {seed} is not derived from the commitment and "
                       f"the public value {rev.get('public_value')!r}")
    elif seed_hash(seed, rev.get("salt") or "") != body["seed"]["sha256"]:
        out.append(f"种子与承诺不符 seed/commitment mismatch: seed {seed} with its salt does not hash to the "
                   "committed seed hash")
    if run.seed != seed or (run.parameters or {}).get("seed") != seed:
        out.append(f"种子与承诺不符 seed/commitment mismatch: run #{run.id} records seed {run.seed} "
                   f"(parameters {(run.parameters or {}).get('seed')}), the revealed seed is {seed}")
    return out


def draw_now(store: Store, code: str, *, user: str, stages: list[str] | None = None, seed: int = 0,
             q: float | None = None, time_limit: float = 60.0, include_review: bool = False,
             fixed: list | None = None, echo=None) -> tuple[Run, Any, Commitment]:
    """One step: commit (secret seed with a random salt) and reveal at once, both recorded."""
    com = commit_draw(store, code, user=user, stages=stages, q=q, seed=seed, include_review=include_review,
                      fixed=fixed)
    run, res, _ = reveal_draw(store, code, com.entry_id, user=user, seed=seed, salt=com.salt,
                              time_limit=time_limit, echo=echo)
    return run, res, com


def drawn_runs(s, code: str) -> list[dict]:
    """The round's draws with a commitment, newest first: run, commitment (and its audit entry and
    time), how the seed was fixed, the revealed seed and the public value if any."""
    out = []
    for e in s.execute(select(AuditEntry).where(AuditEntry.action == REVEAL, AuditEntry.round_code == code)
                       .order_by(AuditEntry.id.desc())).scalars():
        rev = json.loads(e.after)
        com = s.get(AuditEntry, int(rev["commit_entry"]))
        body = json.loads(com.after)["body"] if com is not None and com.action == COMMIT else {}
        out.append({"run_id": int(rev["run_id"]), "commitment": rev["commitment"], "commit_entry": int(rev["commit_entry"]),
                    "committed_at": com.at if com is not None else "", "revealed_at": e.at,
                    "seed_mode": (body.get("seed") or {}).get("mode", ""), "seed": int(rev["seed"]),
                    "public_value": rev.get("public_value"), "lottery_version": body.get("lottery_version", ""),
                    "stages": "、".join((body.get("parameters") or {}).get("stages") or [])})
    return out
