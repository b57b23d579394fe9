"""Tamper-evident audit log of every manual act (lock, forbid, waiver, replacement, rule override,
publication, score correction, needs-review decision).

Each entry stores its user, time (UTC), action, reason and the before/after state as canonical
JSON, the SHA-256 of the previous entry (`prev_hash`) and its own hash over all of that
(`hash`). Changing, inserting or removing any entry breaks the chain at that entry, which
`verify` names. The database also refuses UPDATE/DELETE on the table (triggers, see migration
0002), but the chain is the real guarantee: it still detects edits made by someone who dropped
the triggers. Removing the newest entries leaves a shorter valid chain: inspectors compare the
head hash printed by `reviewer audit verify` with one they noted earlier (`--expect-head`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.store.models import AuditEntry
from reviewer.exports import write_csv, write_json, write_xlsx

GENESIS = "0" * 64

ACTIONS = {
    "round.create": "创建批次 round created",
    "round.settings": "修改批次设置 round settings changed",
    "import": "导入 input imported",
    "lock": "锁定 lock (force a seat)",
    "forbid": "禁止 forbid a seat",
    "seat_rule.remove": "撤销锁定/禁止 lock/forbid withdrawn",
    "waiver": "豁免 conflict waiver",
    "replacement": "替换专家 expert replaced",
    "rule_override": "规则调整 rule override",
    "chair_handover": "组长交接 chair handed over",
    "publication": "发布 assignment published",
    "score_correction": "更正评分 score correction",
    "review_decision": "复核决定 needs-review decision",
    "evaluation": "考核评估 annual evaluation",
}


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (dates as ISO strings)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(*, id: int, at: str, user_name: str, action: str, round_code: str, entity: str, reason: str,
               before: str, after: str, prev_hash: str) -> str:
    content = canonical({"id": id, "at": at, "user": user_name, "action": action, "round": round_code,
                         "entity": entity, "reason": reason, "before": before, "after": after,
                         "prev_hash": prev_hash})
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _hash_of(e: AuditEntry) -> str:
    return entry_hash(id=e.id, at=e.at, user_name=e.user_name, action=e.action, round_code=e.round_code,
                      entity=e.entity, reason=e.reason, before=e.before, after=e.after, prev_hash=e.prev_hash)


def record(s: Session, *, user: str, action: str, reason: str, round_code: str = "", entity: str = "",
           before: Any = None, after: Any = None) -> AuditEntry:
    """Append one entry in the caller's transaction (so the act and its record land together)."""
    if not user or not user.strip():
        raise UserError("every manual act needs the user who did it (--user NAME)")
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if s.get_bind().dialect.name == "postgresql":
        # One appender at a time: the next id and prev_hash must not race.
        s.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    e = AuditEntry(id=(last.id + 1) if last else 1,
                   at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                   user_name=user.strip(), action=action, round_code=round_code or "", entity=entity or "",
                   reason=reason or "", before=canonical(before), after=canonical(after),
                   prev_hash=last.hash if last else GENESIS)
    e.hash = _hash_of(e)
    s.add(e)
    s.flush()
    return e


@dataclass
class Problem:
    entry_id: int
    at: str
    action: str
    what: str

    def __str__(self) -> str:
        return f"entry #{self.entry_id} ({self.at}, {self.action}): {self.what}"


@dataclass
class Verification:
    entries: int
    head: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(s: Session, expect_head: str | None = None) -> Verification:
    """Walk the chain from the first entry; report every entry whose content, link or id is wrong."""
    problems: list[Problem] = []
    prev_hash, prev_id, n = GENESIS, 0, 0
    for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        n += 1
        if e.id != prev_id + 1:
            problems.append(Problem(e.id, e.at, e.action,
                                    f"entries #{prev_id + 1}..#{e.id - 1} are missing (deleted)"))
        if e.prev_hash != prev_hash:
            problems.append(Problem(e.id, e.at, e.action,
                                    f"its link to the previous entry does not match (stored prev_hash "
                                    f"{e.prev_hash[:12]}…, the chain gives {prev_hash[:12]}…): entry #{prev_id} "
                                    "was changed or removed"))
        for name in ("before", "after"):
            try:
                json.loads(getattr(e, name))
            except (TypeError, ValueError):
                problems.append(Problem(e.id, e.at, e.action, f"its {name} is not valid JSON"))
        actual = _hash_of(e)
        if actual != e.hash:
            problems.append(Problem(e.id, e.at, e.action,
                                    f"its content does not match its hash (stored {e.hash[:12]}…, content gives "
                                    f"{actual[:12]}…): the entry was edited after it was written"))
        prev_hash, prev_id = e.hash, e.id
    if expect_head and expect_head != prev_hash:
        known = s.execute(select(AuditEntry.id).where(AuditEntry.hash == expect_head)).scalar_one_or_none()
        if known is None:  # a head noted earlier must still be in the chain (later entries are additions)
            problems.append(Problem(prev_id, "", "", f"the expected head {expect_head[:12]}… is not in the log: "
                                    "entries were removed or rewritten since it was noted"))
    return Verification(n, prev_hash, problems)


def entries_frame(s: Session, round_code: str | None = None) -> pd.DataFrame:
    q = select(AuditEntry).order_by(AuditEntry.id)
    if round_code:
        q = q.where(AuditEntry.round_code == round_code)
    rows = [{"id": e.id, "time_utc": e.at, "user": e.user_name, "action": e.action,
             "action_zh": ACTIONS.get(e.action, ""), "round": e.round_code, "entity": e.entity, "reason": e.reason,
             "before": e.before, "after": e.after, "prev_hash": e.prev_hash, "hash": e.hash}
            for e in s.execute(q).scalars()]
    return pd.DataFrame(rows, columns=["id", "time_utc", "user", "action", "action_zh", "round", "entity", "reason",
                                       "before", "after", "prev_hash", "hash"])


def export(s: Session, path: str | Path, round_code: str | None = None) -> Path:
    """Write the log for inspectors: .csv (UTF-8 with BOM), .xlsx (with a verification sheet) or .json."""
    path = Path(path)
    df = entries_frame(s, round_code)
    v = verify(s)
    check = pd.DataFrame([{"entries": v.entries, "head_hash": v.head, "chain_ok": v.ok,
                           "first_problem": str(v.first_bad) if v.first_bad else "",
                           "exported_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}])
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        write_csv(df, path)
    elif suffix == ".xlsx":
        write_xlsx({"审计日志 audit log": df, "校验 verification": check}, path)
    elif suffix == ".json":
        payload = {"verification": check.iloc[0].to_dict(), "entries": df.to_dict(orient="records")}
        write_json(payload, path)
    else:
        raise UserError(f"{path}: unsupported export type {suffix!r}; use .csv, .xlsx or .json")
    return path


def count(s: Session) -> int:
    return int(s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
