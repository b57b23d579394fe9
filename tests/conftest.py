"""Every test process gets its own scratch REVIEWER_HOME (store key, audit anchors, caches), so a
test run never writes to the user's home folder and parallel workers never share a key file.
Subprocesses (the CLI, the app) inherit it. Tests that need another home set it themselves."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="reviewer-test-home-")
os.environ["REVIEWER_HOME"] = _HOME
os.environ.pop("REVIEWER_AUDIT_KEY_FILE", None)
atexit.register(shutil.rmtree, _HOME, True)
