"""Files shipped inside the package (package data, read through importlib.resources).

The default policy and the synthetic demo round live in ``reviewer/data/`` so that a normal,
non-editable install (pip, pipx, a wheel) has them too. A department's own editable copy is
written by ``reviewer init DIR``.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# A regular install unpacks the package on disk, so the traversable is a real folder.
DATA_DIR = Path(str(files("reviewer") / "data"))
DEFAULT_POLICY_PATH = DATA_DIR / "policy.toml"
DEMO_DIR = DATA_DIR / "demo"

# The bundled demo round's code in a store (the app makes it on first use): its registers are the demo's own
# (reviewer.store.registers.scope_of), never the department's.
DEMO_ROUND_ID = "demo-2026"
