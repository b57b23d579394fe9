"""The bottom of the staff app's service layer: its home folder, small JSON files, who is acting,
and a small memo for results recomputed from a round's state. Imports nothing else of the app.

Every file of the app lives under the one home folder of the program, `reviewer.home.default_home()`
($REVIEWER_HOME, else ~/.local/share/mic-reviewer): the store (reviewer.sqlite, unless
$REVIEWER_DB_URL names another database), accounts and expert links (auth.sqlite), the working
folder of each round (rounds/<round>/) and the app's last choices (app_state.json).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from reviewer import identity
from reviewer.exports import dumps_json
from reviewer.home import home_folder

LOCK = threading.RLock()
APP_USER = "app"
LOG = logging.getLogger("reviewer.app")


def home() -> Path:
    """The home folder, created (0700) on first use."""
    return home_folder()


def rounds_root() -> Path:
    """Where the rounds' working folders live: <home>/rounds."""
    p = home() / "rounds"
    p.mkdir(parents=True, exist_ok=True)
    return p


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def write_json(path: Path, obj: Any) -> None:
    """Write atomically (a reader sees the old or the new file, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps_json(obj, indent=1), encoding="utf-8")
    tmp.replace(path)


def now() -> str:
    """UTC with its zone, like every stored time (the app shows it in Beijing time)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def acting_user(user: str | None = None) -> str:
    """Who an act in the app is recorded for (`reviewer.identity.acting_user`): the name given (the app
    passes its signed-in user), else $REVIEWER_USER, else the login name, else "app"."""
    return identity.acting_user(user, fallback=APP_USER)


# ---------------------------------------------------------------- memo

MEMO_SIZE = 256   # page tables (ui.common.table) are kept too: ~5 a page
_MEMO: OrderedDict[tuple, Any] = OrderedDict()


_PENDING: dict[tuple, threading.Event] = {}
PENDING_WAIT = 60.0   # seconds a caller waits for another thread's make() of the same key, then makes it itself


def memo(key: tuple, make: Callable[[], Any]) -> Any:
    """`make()` once per key, kept in a bounded LRU (`MEMO_SIZE` entries; the least recently used goes
    first). Keys carry what the result depends on — the round folder's file times and the store's
    version (`reviewer.app.store.version`, which changes with every act, whoever made it) — so a change
    makes a new key and a cached result is never stale; old keys simply age out.
    While one thread makes a key (a page, or `prefetch` in the background), another asking for the same
    key waits for that result instead of making it a second time (if that make() fails, it makes its own)."""
    with LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
        busy = _PENDING.get(key)
        if busy is None:
            mine = _PENDING[key] = threading.Event()
    if busy is not None:
        busy.wait(PENDING_WAIT)
        with LOCK:
            if key in _MEMO:
                _MEMO.move_to_end(key)
                return _MEMO[key]
        return _keep(key, make())
    try:
        return _keep(key, make())
    finally:
        with LOCK:
            _PENDING.pop(key, None)
        mine.set()


def _keep(key: tuple, val: Any) -> Any:
    with LOCK:
        _MEMO[key] = val
        _MEMO.move_to_end(key)
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return val


def prefetch(name: str, jobs: list[Callable[[], Any]], delay: float = 0.0) -> threading.Thread:
    """Run `jobs` (memoised reads) one after another in a background thread, so that the page staff open
    next finds them made (e.g. 形式审查 and 专家与回避 after an import). Only a head start: a job that fails
    is skipped (the page makes it again and shows its error); a page asking meanwhile waits for the job's
    result (`memo`) instead of making it twice. `delay`: seconds to wait first (the page that starts it
    finishes its own run before the jobs take their share of the interpreter)."""
    def run() -> None:
        if delay:
            time.sleep(delay)
        for job in jobs:
            try:
                job()
            except Exception:  # noqa: BLE001 - the page reports it when it asks itself
                LOG.debug("prefetch %s: a job failed", name, exc_info=True)

    t = threading.Thread(target=run, name=f"prefetch-{name}", daemon=True)
    t.start()
    return t


def memo_clear() -> None:
    with LOCK:
        _MEMO.clear()


# ---------------------------------------------------------------- text shown to users

_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s:'\"，。；;、()（）\[\]]+){2,}")
_EXC_CLASS = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b:?\s*")


def user_text(msg: str, uploads: dict[str, str] | None = None) -> str:
    """A message fit for users and outside experts: each saved upload's path (keys of `uploads`) becomes
    the file's upload name, any other file path its last part (so never the server's folders), and
    exception class names are dropped."""
    msg = str(msg)
    for saved, name in sorted((uploads or {}).items(), key=lambda kv: -len(kv[0])):
        msg = msg.replace(str(saved), name)
    msg = _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0))[-1], msg)
    return _EXC_CLASS.sub("", msg).strip()
