"""The store's secret key and the audit anchor: what lives OUTSIDE the database.

Key (`$REVIEWER_HOME/audit.key`, or the file `$REVIEWER_AUDIT_KEY_FILE` names; mode 0600 in a 0700
folder; 64 hex characters): every audit entry carries an HMAC-SHA256 of its hash under this key
(`mac`), so someone with database access only cannot rewrite the chain and recompute it; each
round's score sheets are signed with a key derived from it (`sheet_key`). The key is made on the
first audited act of a store that has no keyed entry yet; after that it is never replaced silently:
a store whose entries carry another key id is refused until the right key file is in place. Back it
up with the database (but not in the same place): without it the keyed entries can no longer be
checked, and with it anyone can forge them.

Anchor (`$REVIEWER_HOME/anchors/<store>.json`): the newest entry (id, hash, key signature) the
program committed to the store, rewritten after every committed audited act. `audit verify` finds
the anchored entry in the log, so removing the newest entries (truncation) is caught. The head is
also printed on every publication, for inspectors to note.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from pathlib import Path

from reviewer.errors import UserError
from reviewer.home import default_home

KEY_ENV = "REVIEWER_AUDIT_KEY_FILE"
KEY_FILE = "audit.key"
ANCHOR_DIR = "anchors"
KEY_ID_LABEL = b"mic-reviewer audit key id"
SHEET_LABEL = "mic-reviewer score sheet key"


def key_path() -> Path:
    """Where this machine keeps the store key."""
    return Path(os.environ[KEY_ENV]).expanduser() if os.environ.get(KEY_ENV) else default_home() / KEY_FILE


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def read_key() -> bytes | None:
    """The key from the key file, or None when there is none (UserError when it is unreadable)."""
    p = key_path()
    if not p.exists():
        return None
    try:
        text = p.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError(f"审计密钥文件无法读取 the audit key file {p} is unreadable or damaged (expected 64 hex "
                        "characters): restore it from your backup") from None
    if len(key) < 32:
        raise UserError(f"审计密钥文件无效 the audit key file {p} is too short (expected 64 hex characters): "
                        "restore it from your backup")
    return key


def create_key() -> bytes:
    """Make a new random key file (mode 0600); an existing file is kept and read instead."""
    p = key_path()
    _private_dir(p.parent)
    key = os.urandom(32)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key()  # another process made it first
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


def key_id(key: bytes) -> str:
    """A public name of the key (16 hex): tells which key signed an entry without revealing it."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def sheet_key(key: bytes, round_code: str) -> bytes:
    """The per-round secret that signs the round's score sheets (derived from the store key)."""
    return hmac.new(key, f"{SHEET_LABEL}|{round_code}".encode(), hashlib.sha256).digest()


# ---------------------------------------------------------------- anchor

def anchor_path(store_label: str) -> Path:
    name = hashlib.sha256(store_label.encode("utf-8")).hexdigest()[:16]
    return default_home() / ANCHOR_DIR / f"{name}.json"


def read_anchor(store_label: str) -> dict | None:
    p = anchor_path(store_label)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"damaged": True, "file": str(p)}


def write_anchor(store_label: str, head_id: int, head_hash: str, head_mac: str | None, first_hash: str) -> Path:
    """Record the newest committed entry of the store (never moves backwards: two writers may
    finish in either order)."""
    p = anchor_path(store_label)
    _private_dir(p.parent)
    lock = p.with_suffix(".lock")
    with open(lock, "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        old = read_anchor(store_label) or {}
        if old.get("first_hash") not in (None, first_hash):
            # another log at this address (rewritten from its start, or a store recreated): the anchor keeps
            # the old log's head, so `audit verify` says so until staff move the anchor file away on purpose
            return p
        if isinstance(old.get("head_id"), int) and old["head_id"] > head_id:
            return p
        payload = {"store": store_label, "first_hash": first_hash, "head_id": head_id, "head_hash": head_hash,
                   "head_mac": head_mac,
                   "written_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    return p


def round_sheet_key(round_code: str) -> bytes:
    """The signing key of round `round_code`'s score sheets (UserError when this home has no store key)."""
    key = read_key()
    if key is None:
        raise UserError(f"审计密钥缺失 no store key at {key_path()}: score sheets cannot be signed or checked here. "
                        "Copy the key file from the machine that holds the store (or your backup) there "
                        f"(or set ${KEY_ENV})")
    return sheet_key(key, round_code)
