"""The one folder where this program keeps its state: the store (SQLite by default), caches,
accounts and expert links. ``$REVIEWER_HOME``, else ``$XDG_DATA_HOME/mic-reviewer``, else
``~/.local/share/mic-reviewer``."""
from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """The home folder (not created here)."""
    if os.environ.get("REVIEWER_HOME"):
        return Path(os.environ["REVIEWER_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "mic-reviewer"


def cache_dir() -> Path:
    """Where derived, re-computable files go (affinity matrices, lotteries)."""
    return default_home() / "cache"
