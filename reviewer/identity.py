"""Who acts: the one rule for the name recorded with every staff act (store rows, audit log, runs),
shared by the command line and the app."""
from __future__ import annotations

import getpass
import os

from reviewer.errors import UserError


def acting_user(given: str | None = None, *, fallback: str | None = None) -> str:
    """The name given (`--user`, the app's signed-in user), else ``$REVIEWER_USER``, else the login
    name of the process, else `fallback`; a clear error when none is known."""
    name = (given or "").strip() or os.environ.get("REVIEWER_USER", "").strip()
    if not name:
        try:
            name = getpass.getuser().strip()
        except Exception:  # no login name (some containers): getpass raises various errors
            name = ""
    name = name or (fallback or "").strip()
    if not name:
        raise UserError("请说明操作人 say who you are: --user NAME (or set REVIEWER_USER)")
    return name
