"""The one folder where this program keeps its state: the store (SQLite by default), caches,
accounts and expert links. ``$REVIEWER_HOME``, else ``$XDG_DATA_HOME/mic-reviewer``, else
``~/.local/share/mic-reviewer``.

What is kept here is personal data and secrets (experts' phone numbers, password hashes, link
tokens), so it is private to the user who runs the program: the home folder and every folder this
program creates for its state are mode 0700, the store and account files 0600
(:func:`home_folder`, :func:`private_folder`, :func:`private_file`); the command line also sets the
file-creation mask to 077 (:func:`restrict_new_files`), so files it writes anywhere (output tables,
expert packs) are readable by that user only.
"""
from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FOLDER_MODE = 0o700   # only the owner may list, read or enter
PRIVATE_FILE_MODE = 0o600     # only the owner may read or write
PRIVATE_UMASK = 0o077         # new files and folders: nothing for group and others


def default_home() -> Path:
    """The home folder (not created here)."""
    if os.environ.get("REVIEWER_HOME"):
        return Path(os.environ["REVIEWER_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "mic-reviewer"


def private_folder(path: str | Path) -> Path:
    """`path` as a folder, every missing folder on the way created 0700 (an existing folder keeps
    its mode: it may be a shared parent)."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    for p in missing:
        os.chmod(p, PRIVATE_FOLDER_MODE)   # mkdir(parents=True) gives the parents the umask's mode
    return path


def private_file(path: str | Path) -> Path:
    """`path` as a file: when missing, created empty and readable and writable by its owner only
    (0600) before SQLite or anything else writes to it (SQLite gives its journal files the mode of
    the database file). An existing file keeps its mode (an administrator may share it on purpose)."""
    path = Path(path)
    private_folder(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE)
        os.close(fd)
        os.chmod(path, PRIVATE_FILE_MODE)
    return path


STATE_FILES = ("reviewer.sqlite", "auth.sqlite")


def home_folder() -> Path:
    """The home folder, created 0700. An existing one of this user is tightened to 0700 when it is
    clearly this program's (empty, or holding its store or accounts), never a folder such as /tmp or
    ~ that $REVIEWER_HOME happens to name."""
    path = default_home()
    if not path.is_dir():
        return private_folder(path)
    ours = path.stat().st_uid == os.getuid() and (
        not any(path.iterdir()) or any((path / f).exists() for f in STATE_FILES))
    if ours:
        os.chmod(path, PRIVATE_FOLDER_MODE)
    return path


def restrict_new_files() -> None:
    """From now on this process (and what it starts) creates files 0600 and folders 0700 at most."""
    os.umask(PRIVATE_UMASK)


def cache_dir() -> Path:
    """Where derived, re-computable files go (affinity matrices, lotteries)."""
    return default_home() / "cache"
