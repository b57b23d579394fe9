"""Tamper-evident audit log of every act that changes a round (creation, import, lock, forbid,
waiver, replacement, rule override, publication, scores, score correction, needs-review decision)
and of the facts each act wrote (`reviewer.store.facts`).

Each entry stores its user, time (UTC), action, reason and the before/after state as canonical
JSON, the SHA-256 of the previous entry (`prev_hash`) and its own hash over all of that
(`hash`), and an HMAC of that hash under the store key kept outside the database (`mac`, with the
key's public id `key_id`; `reviewer.store.keys`). Changing, inserting or removing any entry breaks
the chain at that entry, which `verify` names; recomputing the chain after an edit needs the key.
The newest committed entry is written to an anchor file outside the database after every write,
so removing the newest entries is caught too. `verify` also replays the facts the entries record
and compares them with the tables (a seat flipped or inserted with SQL, a score voided or
inserted, an import row or the policy text edited). The database refuses UPDATE/DELETE on the log
(triggers, migration 0002), but the keyed chain is the real guarantee.

Entries written before the chain was keyed (migration 0003) have no `mac`: they are verified as a
hash chain only, and only at the start of the log; the first keyed entry of such a store is a
baseline (`audit.baseline`) recording the facts then in the tables.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from reviewer.errors import UserError
from reviewer.exports import write_csv, write_json, write_xlsx
from reviewer.store import facts, keys, row_facts
from reviewer.store.engine import AFTER_COMMIT, BEFORE_COMMIT
from reviewer.store.facts import canonical
from reviewer.store.models import AuditEntry

log = logging.getLogger(__name__)

GENESIS = "0" * 64

ACTIONS = {
    "round.create": "创建批次 round created",
    "round.settings": "修改批次设置 round settings changed",
    "import": "导入 input imported",
    "site_inputs.import": "现场考察输入导入 site inputs imported (unavailable dates, sites, travel limits, holidays)",
    "lock": "锁定 lock (force a seat)",
    "forbid": "禁止 forbid a seat",
    "seat_rule.remove": "撤销锁定/禁止 lock/forbid withdrawn",
    "waiver": "豁免 conflict waiver",
    "replacement": "替换专家 expert replaced",
    "rule_override": "规则调整 rule override",
    "chair_handover": "组长交接 chair handed over",
    "publication": "发布 assignment published",
    "run.plan": "专家组方案 planning run recorded",
    "score_correction": "更正评分 score correction",
    "review_decision": "复核决定 needs-review decision",
    "evaluation": "考核评估 annual evaluation",
    "scores": "评分录入 scores submitted",
    "score_sheet.refused": "评分表被拒 score sheet refused",
    "audit.baseline": "审计基线 facts recorded when the chain became keyed",
    "draw.commit": "随机抽取承诺 draw commitment (before the draw)",
    "draw.reveal": "随机抽取揭示 draw revealed (seed, run)",
    # the seat life cycle (issue 16: reviewer.store.seat_responses, seat_refill)
    "seat.invite": "邀请专家 seats invited",
    "seat.confirm": "专家确认参加 expert confirmed",
    "seat.decline": "专家请假 expert declined",
    "seat.recuse": "专家申请回避 expert asked to recuse",
    "seat.recusal_decision": "回避申请审核 recusal decided",
    "seat.expire": "逾期未答复 no reply by the deadline",
    "seat.replaced": "席位已替换 seat replaced",
    "seat.refill_note": "补抽未完成 refill pending",
    "seat.redraw": "补抽随机抽取 replacement drawn",
    "seat.date_conflict": "会议改期，专家不可参加，待补抽 date conflict: seat to refill",
    "seat.barred": "专家库资格受限（信用惩戒），待补抽 barred by rule P1: seat to refill",
    "seat.restore": "障碍消除，席位恢复原状态 obstacle gone: seat restored",
    "stage.advance": "晋级确认 stage advancement recorded",
    "register.centre": "中心名录登记 centre register entry",
    "register.tech_centre": "技术创新中心名录登记 technology innovation centre register entry",
    "subsidy": "补助台账 subsidy ledger entry",
    "opinions": "评审意见 experts' written opinions submitted",
    "panel_opinion": "专家组综合意见 panel consensus opinion (with dissent)",
    "ranking.publish": "排名确认发布 ranking frozen (signed off)",
    "waiver.remove": "撤销豁免 waiver withdrawn",
    # the expert pool across rounds (issue 16 item 6: reviewer.store.pool)
    "pool.import": "专家库合并导入 pool file merged",
    "pool.penalty": "信用惩戒 credit penalty recorded",
    "pool.penalty_withdraw": "撤销信用惩戒 credit penalty withdrawn",
    "pool.rating": "专家评价 expert rated after a round",
    "pool.flag": "偏差标记存档 deviation flags kept as evidence",
    # the later tables, row by row (reviewer.store.row_facts)
    "audit.rows": "数据行记录 rows the program wrote, recorded at commit",
    "audit.rows_baseline": "数据行基线 rows of the later tables as they were when row facts began",
}


def entry_hash(*, id: int, at: str, user_name: str, action: str, round_code: str, entity: str, reason: str,
               before: str, after: str, prev_hash: str) -> str:
    content = canonical({"id": id, "at": at, "user": user_name, "action": action, "round": round_code,
                         "entity": entity, "reason": reason, "before": before, "after": after,
                         "prev_hash": prev_hash})
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _hash_of(e: AuditEntry) -> str:
    return entry_hash(id=e.id, at=e.at, user_name=e.user_name, action=e.action, round_code=e.round_code,
                      entity=e.entity, reason=e.reason, before=e.before, after=e.after, prev_hash=e.prev_hash)


def store_label(s: Session) -> str:
    """The store's URL without password: names its anchor file."""
    return s.get_bind().engine.url.render_as_string(hide_password=True)


def _newest_key_id(s: Session) -> str | None:
    return s.execute(select(AuditEntry.key_id).where(AuditEntry.key_id.is_not(None))
                     .order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()


def missing_key_message(kid: str) -> str:
    return (f"审计密钥缺失 this store's audit key (key id {kid}) is not on this machine: no key file at "
            f"{keys.key_path()}. Copy the key file from the machine that wrote the store (or your backup) there "
            f"(or set ${keys.KEY_ENV}); nothing was changed")


def signing_key(s: Session) -> tuple[bytes, str]:
    """(key, key id) for the store's next entry: the key file of this home, made on first use when
    the store has no keyed entry yet; refused when the store's entries carry another key."""
    chain_kid = _newest_key_id(s)
    key = keys.read_key()
    if key is None:
        if chain_kid:
            raise UserError(missing_key_message(chain_kid))
        key = keys.create_key()
    kid = keys.key_id(key)
    if chain_kid and kid != chain_kid:
        raise UserError(f"审计密钥不符 the audit key at {keys.key_path()} (key id {kid}) is not this store's key (key "
                        f"id {chain_kid}): put the store's key file there (from the machine that wrote the store, or "
                        "your backup); nothing was changed")
    return key, kid


def _append(s: Session, last: AuditEntry | None, key: bytes, kid: str, **content: Any) -> AuditEntry:
    e = AuditEntry(id=(last.id + 1) if last else 1,
                   at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                   prev_hash=last.hash if last else GENESIS, key_id=kid, **content)
    e.hash = _hash_of(e)
    e.mac = keys.mac(key, e.hash)
    s.add(e)
    s.flush()
    return e


def record(s: Session, *, user: str, action: str, reason: str, round_code: str = "", entity: str = "",
           before: Any = None, after: Any = None) -> AuditEntry:
    """Append one keyed entry in the caller's transaction (so the act and its record land together);
    the anchor file follows once the transaction is committed."""
    if not user or not user.strip():
        raise UserError("every manual act needs the user who did it (--user NAME)")
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if s.get_bind().dialect.name == "postgresql":
        # One appender at a time: the next id and prev_hash must not race.
        s.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    key, kid = signing_key(s)
    last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    if last is not None and last.mac is None:   # a legacy chain becomes keyed: record what the tables hold
        last = _append(s, last, key, kid, user_name="system", action="audit.baseline", round_code="",
                       entity="baseline", reason="审计日志启用密钥 the audit chain became keyed",
                       before=canonical(None), after=canonical(facts.baseline(s)))
    s.flush()
    if row_facts.has_pending(s) and row_facts.needs_baseline(s):
        last = _append(s, last, key, kid, user_name="system", action="audit.rows_baseline", round_code="",
                       entity="baseline", reason="数据行基线 the later tables as they were when row facts began",
                       before=canonical(None), after=canonical({row_facts.KEY: row_facts.snapshot(s)}))
    rows = row_facts.take(s)
    if rows and (after is None or isinstance(after, dict)):
        after, rows = {**(after or {}), row_facts.KEY: rows}, None
    e = _append(s, last, key, kid, user_name=user.strip(), action=action, round_code=round_code or "",
                entity=entity or "", reason=reason or "", before=canonical(before), after=canonical(after))
    if rows:   # an act whose record is not a mapping: its rows in an entry of their own, right after it
        e = _append(s, e, key, kid, user_name=user.strip(), action="audit.rows", round_code=round_code or "",
                    entity=entity or "", reason=reason or "", before=canonical(None),
                    after=canonical({row_facts.KEY: rows}))
    first = e.hash if e.id == 1 else s.execute(select(AuditEntry.hash).where(AuditEntry.id == 1)).scalar_one_or_none()
    s.connection().info.setdefault(AFTER_COMMIT, {})["audit_anchor"] = partial(
        _write_anchor, store_label(s), e.id, e.hash, e.mac, first or "")
    return e


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "do_orm_execute")
def _queue_rows_at_commit(arg, *_args) -> None:
    """Registered after row_facts' own listeners (this module imports it first), so its marks are seen."""
    s = arg if isinstance(arg, Session) else arg.session
    if row_facts.has_pending(s):
        s.info.setdefault(BEFORE_COMMIT, {})["row_facts"] = _rows_at_commit


def _rows_at_commit(s: Session) -> None:
    """Covered rows written after the transaction's last entry (or in one that recorded none) get an
    entry of their own (`audit.rows`), so no write of the program is left out of the chain."""
    rows = row_facts.take(s)
    if rows:
        record(s, user="system", action="audit.rows", reason="程序写入的数据行 rows the program wrote",
               entity=", ".join(sorted(rows)), after={row_facts.KEY: rows})


def _write_anchor(label: str, head_id: int, head_hash: str, head_mac: str | None, first_hash: str) -> None:
    try:
        keys.write_anchor(label, head_id, head_hash, head_mac, first_hash)
    except OSError as exc:  # the act is committed; the anchor only lags behind (caught as a note)
        log.warning("audit anchor not written (%s): %s", keys.anchor_path(label), exc)


def anchor_facts(s: Session) -> dict[str, str]:
    """The head of the chain for a document filed on paper (no server path): entry id, hash, key id,
    time (UTC); empty strings when the log is empty."""
    last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return {"head_id": "", "hash": "", "key_id": "", "at": ""}
    return {"head_id": str(last.id), "hash": last.hash, "key_id": last.key_id or "", "at": last.at}


def anchor_line(s: Session) -> str:
    """The head of the chain for printing and for the published documents."""
    last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return "审计日志为空 audit log empty"
    return (f"审计锚 audit anchor: entry #{last.id} hash {last.hash} (key id {last.key_id or 'none'}; "
            f"saved to {keys.anchor_path(store_label(s))})")


@dataclass
class Problem:
    entry_id: int     # 0: a row of the tables that no entry records
    at: str
    action: str
    what: str

    def __str__(self) -> str:
        if not self.entry_id:
            return self.what
        return f"entry #{self.entry_id} ({self.at}, {self.action}): {self.what}"


@dataclass
class Verification:
    entries: int
    head: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def _chain_problems(e: AuditEntry, prev_id: int, prev_hash: str) -> list[Problem]:
    out = []
    if e.id != prev_id + 1:
        out.append(Problem(e.id, e.at, e.action, f"entries #{prev_id + 1}..#{e.id - 1} are missing (deleted)"))
    if e.prev_hash != prev_hash:
        out.append(Problem(e.id, e.at, e.action,
                           f"its link to the previous entry does not match (stored prev_hash {e.prev_hash[:12]}…, the "
                           f"chain gives {prev_hash[:12]}…): entry #{prev_id} was changed or removed"))
    for name in ("before", "after"):
        try:
            json.loads(getattr(e, name))
        except (TypeError, ValueError):
            out.append(Problem(e.id, e.at, e.action, f"its {name} is not valid JSON"))
    actual = _hash_of(e)
    if actual != e.hash:
        out.append(Problem(e.id, e.at, e.action,
                           f"its content does not match its hash (stored {e.hash[:12]}…, content gives {actual[:12]}…): "
                           "the entry was edited after it was written"))
    return out


def _key_problems(e: AuditEntry, key: bytes | None, kid: str | None, keyed_seen: bool) -> list[Problem]:
    if e.mac is None:
        if keyed_seen or e.key_id:
            return [Problem(e.id, e.at, e.action, "它没有密钥签名 it has no key signature although earlier entries "
                            "are keyed: it was written or rewritten outside the program")]
        return []
    if key is None:
        return [Problem(e.id, e.at, e.action, missing_key_message(e.key_id or "?").replace("; nothing was changed",
                                                                                       ": cannot check the chain"))]
    if e.key_id != kid:
        return [Problem(e.id, e.at, e.action, f"it is signed with key id {e.key_id}, not with this store's key ({kid})"
                        ": it was written with another key or rewritten")]
    if keys.mac(key, e.hash) != e.mac:
        return [Problem(e.id, e.at, e.action, "密钥签名不符 its key signature does not match its hash: the entry (or "
                        "the chain from it) was rewritten by someone without the key")]
    return []


def verify(s: Session, expect_head: str | None = None) -> Verification:
    """Walk the chain from the first entry (links, hashes, key signatures), check the anchor file
    and the noted head, and compare the facts the entries record with the tables."""
    problems: list[Problem] = []
    prev_hash, prev_id, n, keyed_seen = GENESIS, 0, 0, False
    key = keys.read_key()
    kid = keys.key_id(key) if key else None
    entries = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    for e in entries:
        n += 1
        problems += _chain_problems(e, prev_id, prev_hash)
        problems += _key_problems(e, key, kid, keyed_seen)
        keyed_seen = keyed_seen or e.mac is not None
        prev_hash, prev_id = e.hash, e.id
    problems = _dedupe_key_missing(problems)
    notes: list[str] = []
    by_id = {e.id: e for e in entries}
    problems += _anchor_problems(s, by_id, prev_id, notes)
    if expect_head and expect_head != prev_hash and not any(e.hash == expect_head for e in entries):
        # a head noted earlier must still be in the chain (later entries are additions)
        problems.append(Problem(prev_id, "", "", f"the expected head {expect_head[:12]}… is not in the log: "
                                "entries were removed or rewritten since it was noted"))
    findings, fact_notes = facts.check_facts(s, entries)
    more, more_notes = row_facts.check(s, entries)
    findings, fact_notes = findings + more, fact_notes + more_notes
    problems += [Problem(f.entry_id, by_id[f.entry_id].at, by_id[f.entry_id].action, f.what) if f.entry_id in by_id
                 else Problem(f.entry_id, "", f.action, f.what) for f in findings]
    return Verification(n, prev_hash, problems, notes + fact_notes)


def _dedupe_key_missing(problems: list[Problem]) -> list[Problem]:
    """One 'key missing' problem is enough (not one per entry)."""
    out, seen = [], False
    for p in problems:
        if "审计密钥缺失" in p.what:
            if seen:
                continue
            seen = True
        out.append(p)
    return out


def _anchor_problems(s: Session, by_id: dict[int, AuditEntry], last_id: int, notes: list[str]) -> list[Problem]:
    label = store_label(s)
    anchor = keys.read_anchor(label)
    where = keys.anchor_path(label)
    if anchor is None:
        if by_id:
            notes.append(f"no anchor file for this store in this home ({where}): removal of the newest entries can "
                         "only be caught with a head noted earlier (--expect-head)")
        return []
    if anchor.get("damaged"):
        return [Problem(0, "", "", f"the anchor file {where} is damaged: restore it from a backup")]
    hid, hh = anchor.get("head_id"), anchor.get("head_hash")
    e = by_id.get(hid) if isinstance(hid, int) else None
    at = anchor.get("written_utc", "")
    first = by_id.get(1)
    if anchor.get("first_hash") and (first is None or first.hash != anchor["first_hash"]):
        return [Problem(0, "", "", f"审计日志被重写 the anchor ({where}, written {at}) belongs to a log whose first entry "
                        f"has hash {str(anchor['first_hash'])[:12]}…; this log's first entry "
                        f"{'is missing' if first is None else 'has ' + first.hash[:12] + '…'}: the log was rewritten "
                        "from its start or the store was replaced (if you recreated the store on purpose, move the "
                        "anchor file away)")]
    if e is None:
        return [Problem(0, "", "", f"审计日志被截断 the anchor ({where}, written {at}) records entry #{hid} (hash "
                        f"{str(hh)[:12]}…) as committed, but the log ends at #{last_id}: the newest entries were removed")]
    if e.hash != hh or (anchor.get("head_mac") and e.mac != anchor.get("head_mac")):
        return [Problem(hid, e.at, e.action, f"it differs from the anchor ({where}, written {at}: hash "
                        f"{str(hh)[:12]}…, the log has {e.hash[:12]}…): the chain was rewritten")]
    notes.append(f"anchor {where}: entry #{hid} as committed {at}")
    return []


def entries_frame(s: Session, round_code: str | None = None) -> pd.DataFrame:
    q = select(AuditEntry).order_by(AuditEntry.id)
    if round_code:
        q = q.where(AuditEntry.round_code == round_code)
    rows = [{"id": e.id, "time_utc": e.at, "user": e.user_name, "action": e.action,
             "action_zh": ACTIONS.get(e.action, ""), "round": e.round_code, "entity": e.entity, "reason": e.reason,
             "before": e.before, "after": e.after, "prev_hash": e.prev_hash, "hash": e.hash, "key_id": e.key_id,
             "mac": e.mac}
            for e in s.execute(q).scalars()]
    return pd.DataFrame(rows, columns=["id", "time_utc", "user", "action", "action_zh", "round", "entity", "reason",
                                       "before", "after", "prev_hash", "hash", "key_id", "mac"])


def export(s: Session, path: str | Path, round_code: str | None = None) -> Path:
    """Write the log for inspectors: .csv (UTF-8 with BOM), .xlsx (with a verification sheet) or .json."""
    path = Path(path)
    df = entries_frame(s, round_code)
    v = verify(s)
    check = pd.DataFrame([{"entries": v.entries, "head_hash": v.head, "chain_ok": v.ok,
                           "first_problem": str(v.first_bad) if v.first_bad else "",
                           "exported_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}])
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
