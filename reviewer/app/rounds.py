"""Rounds of the staff app: the store's rounds (reviewer.app.store), each with a working folder.

A round is a round of the store: the app lists, finds and creates rounds there, so a round made
with `reviewer round create 2026` is a round of the app and `reviewer token ZJ0001 --round 2026`
knows it. Its working folder, <home>/rounds/<round code>/, holds files the store does not keep::

    sources.json            table -> [input file, sheet] of the inputs imported in the app
    inputs/                 uploaded files, as uploaded
    store.json              which import of the store these inputs are
    audit.jsonl             local log of acts the store's audit chain has no action for
                            (planning runs, expert links, score imports)

Plans and scores are never kept here: they are read from and written to the store only.

The store holds the record: the round and its policy, each import, needs-review decisions,
waivers, locks and forbids, planning runs with their seats, publications, replacements,
submitted scores and the hash-chained audit log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import LOCK, acting_user, home, memo, now, read_json, rounds_root, write_json
from sqlalchemy.exc import IntegrityError

from reviewer.demo.pipeline import DEMO_AS_OF
from reviewer.demo.registers import demo_replay
from reviewer.errors import UserError
from reviewer.exports import dumps_json
from reviewer.intake.io import discover_sources
from reviewer.policy import Policy
from reviewer.resources import DEMO_DIR, DEMO_ROUND_ID
from reviewer.store import registers

DEMO_NAME = "2026年度制造业创新中心试点（演示）"
DEMO_NOTE = "合成演示数据 synthetic demo data (reviewer/data/demo)"
_SAFE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_KNOWN: set[tuple[str, str]] = set()   # (store url, round code) seen in the store: rounds are never deleted
_DEMO_REGISTERS: set[str] = set()      # store urls whose demo round has its registers


# ---------------------------------------------------------------- rounds

@dataclass
class RoundInfo:
    round_id: str       # the store's round code
    name: str
    as_of: str | None
    created: str
    is_demo: bool = False
    note: str = ""


def _info(r: dict) -> RoundInfo:
    demo = r["code"] == DEMO_ROUND_ID
    return RoundInfo(r["code"], r["name"], r["as_of"], r["created"], demo, DEMO_NOTE if demo else "")


def folder_name(round_id: str) -> str:
    """The working folder's name: the round code when it is a plain name, else a digest of it."""
    if _SAFE.fullmatch(round_id):
        return round_id
    return "round-" + hashlib.sha256(round_id.encode("utf-8")).hexdigest()[:16]


def require_round(round_id: str) -> None:
    """UserError unless the store has this round."""
    if not (round_id or "").strip():
        raise UserError("round: expected a round code (reviewer round list)")
    key = (app_store.url(), round_id)
    if key not in _KNOWN:
        app_store.get_round(round_id)
        _KNOWN.add(key)


def round_dir(round_id: str) -> Path:
    """The round's working folder (made on first use); UserError when the store has no such round."""
    require_round(round_id)
    p = rounds_root() / folder_name(round_id)
    p.mkdir(exist_ok=True)
    return p


def round_info(round_id: str) -> RoundInfo:
    return _info(app_store.get_round(round_id))


def list_rounds() -> list[RoundInfo]:
    """The store's rounds, newest first (the demo round is made on first use)."""
    ensure_demo_round()
    return sorted((_info(r) for r in app_store.rounds()), key=lambda r: r.created, reverse=True)


def _new_code(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:24] or "round"
    code = f"r{dt.datetime.now():%Y%m%d%H%M%S}-{base}"[:64]
    k = 1
    while app_store.find_round(code) is not None:
        k += 1
        code = f"{code[:60]}-{k}"
    return code


def _copy_demo_inputs(folder: Path) -> None:
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    shutil.copy2(DEMO_DIR / "round2026.xlsx", folder / "inputs" / "round2026.xlsx")
    src = discover_sources(folder / "inputs" / "round2026.xlsx")
    write_json(folder / "sources.json", {k: [Path(v[0]).name, v[1]] for k, v in src.items()})


def create_round(name: str, as_of: str | dt.date | None = None, copy_demo_inputs: bool = False,
                 user: str | None = None) -> RoundInfo:
    """A new round in the store (code made from the time and the name), with the default policy."""
    name = (name or "").strip()
    if not name:
        raise UserError("round name: expected a name, e.g. 2027年度制造业创新中心试点")
    if as_of:
        try:
            as_of = dt.date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise UserError(f"reference date {as_of!r}: expected YYYY-MM-DD") from None
    r = app_store.create_round(_new_code(name), name, as_of or None, user)
    if copy_demo_inputs:
        _copy_demo_inputs(round_dir(r["code"]))
    return _info(r)


def _fill_demo_folder(folder: Path) -> None:
    """The demo's working files: the bundled workbook (its scores and reference panels are read from
    the package by reviewer.app.scores, never copied)."""
    _copy_demo_inputs(folder)


def ensure_demo_round() -> str:
    """The bundled demo round (reviewer/data/demo, dated 2026-11-01), made in the store on first use."""
    with LOCK:
        app_store.ensure_round(DEMO_ROUND_ID, DEMO_NAME, DEMO_AS_OF)
        ensure_demo_registers()
        p = rounds_root() / folder_name(DEMO_ROUND_ID)
        if (p / "sources.json").exists():
            return DEMO_ROUND_ID
        tmp = Path(tempfile.mkdtemp(prefix="demo-", dir=rounds_root()))
        _fill_demo_folder(tmp)
        p.mkdir(exist_ok=True)
        # sources.json last: its presence says the folder is complete
        for item in sorted(tmp.iterdir(), key=lambda x: x.name == "sources.json"):
            try:
                if not (p / item.name).exists():
                    item.rename(p / item.name)
            except OSError:  # another session moved it first
                pass
        shutil.rmtree(tmp, ignore_errors=True)
        return DEMO_ROUND_ID


def ensure_demo_registers() -> None:
    """The demo round's own registers (scope "demo", never the department's): the demo's past centres replayed
    to the round date, the same replay `reviewer demo` ranks against (reviewer.demo.registers.demo_replay), so
    the app's demo ranking refuses the same occupied fields and recommends the same centres. Recorded once per
    store (audited, as `reviewer register lifecycle` records it)."""
    u = app_store.url()
    if u in _DEMO_REGISTERS:
        return
    pol = app_store.round_policy(DEMO_ROUND_ID)
    try:
        with app_store.store().write() as s:
            if not registers.centre_entries(s, registers.DEMO_SCOPE):
                registers.record_replay(s, pol, demo_replay(DEMO_DIR, pol), user=acting_user(None),
                                        source=f"演示轮次往年中心 demo round's past centres as of {pol.as_of_date()}",
                                        scope=registers.DEMO_SCOPE)
    except IntegrityError:   # another session recorded them at the same moment: its rows stand
        pass
    _DEMO_REGISTERS.add(u)


def last_round() -> str:
    """The round chosen last in the app, else the demo round."""
    rid = read_json(home() / "app_state.json", {}).get("round_id")
    if rid and app_store.find_round(rid) is not None:
        return rid
    return ensure_demo_round()


def remember_round(round_id: str) -> None:
    require_round(round_id)
    st = read_json(home() / "app_state.json", {})
    st["round_id"] = round_id
    write_json(home() / "app_state.json", st)


def policy_for(round_id: str) -> Policy:
    """The round's policy as stored with it (reviewer.store.repo.round_policy; its text never changes)."""
    require_round(round_id)
    # keyed by the store's version: the policy carries the round's meeting dates (round settings),
    # which the app or `reviewer round set` may change at any time
    return memo(("policy", app_store.url(), round_id, app_store.version()), lambda: app_store.round_policy(round_id))


def fingerprint(round_id: str, *names: str) -> tuple:
    """A memo key part that changes when one of the round folder's files `names` changes."""
    d = round_dir(round_id)
    out = [str(d), round_id]
    for n in names:
        p = d / n
        try:
            st = p.stat()
        except FileNotFoundError:
            out.append(0)
            continue
        # the size too: a file time can stay the same for two writes a few milliseconds apart (the
        # kernel's clock tick), an appended log line always changes the size
        out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


# ---------------------------------------------------------------- the round's log

def audit(round_id: str, user: str | None, action: str, detail: dict | None = None) -> None:
    """Append one line to the round's local log (acts the store's audit chain has no action for;
    decisions, waivers, locks, publications and replacements are recorded in the chain by the store)."""
    rec = {"at": now(), "user": acting_user(user), "action": action, **(detail or {})}
    with LOCK, open(round_dir(round_id) / "audit.jsonl", "a", encoding="utf-8") as f:
        f.write(dumps_json(rec) + "\n")


def _local_log(round_id: str) -> pd.DataFrame:
    p = round_dir(round_id) / "audit.jsonl"
    rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()] if p.exists() else []
    local = pd.DataFrame(rows)
    for c in ("at", "user", "action"):
        if c not in local.columns:
            local[c] = pd.Series(dtype=object)
    if local.empty:
        return local
    extra = [c for c in local.columns if c not in ("at", "user", "action")]
    local["detail"] = local[extra].apply(lambda r: "; ".join(f"{k}={v}" for k, v in r.items()
                                                             if isinstance(v, (str, int, float, list)) and v == v
                                                             and v != ""), axis=1) if extra else ""
    local["source"] = "本地 local"
    return local.iloc[::-1]


def _chain_log(round_id: str) -> pd.DataFrame:
    try:
        ch = app_store.audit_entries(round_id)
    except UserError:
        return pd.DataFrame()
    if ch.empty:
        return ch
    ch = ch.iloc[::-1]
    at = pd.to_datetime(ch["time_utc"], utc=True).dt.tz_convert(None).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    detail = (ch["entity"] + "；" + ch["reason"]).str.strip("；") + "；" + ch["after"].astype(str).str.slice(0, 200)
    return pd.DataFrame({"at": at, "user": ch["user"], "action": ch["action"], "detail": detail,
                         "source": "存证 chained", "hash": ch["hash"].str.slice(0, 12)})


def audit_log(round_id: str) -> pd.DataFrame:
    """The round's acts, newest first: the store's hash-chained entries (source 存证) and the local log.
    Memoised under the store's version and the local log's file time (the Round page shows it on every
    rerun; at the end of a round it holds thousands of entries)."""
    key = ("audit_log", app_store.url(), *fingerprint(round_id, "audit.jsonl"), app_store.version())
    return memo(key, lambda: _audit_log(round_id)).copy()


def _audit_log(round_id: str) -> pd.DataFrame:
    parts = [x for x in (_local_log(round_id), _chain_log(round_id)) if not x.empty]
    out = pd.concat(parts, ignore_index=True) if parts \
        else pd.DataFrame(columns=["at", "user", "action", "detail", "source"])
    if "detail" not in out.columns:
        out["detail"] = ""
    return out.sort_values("at", ascending=False, kind="mergesort").reset_index(drop=True)
