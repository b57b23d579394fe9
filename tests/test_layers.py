"""The layers of the code base (pyproject.toml [tool.importlinter]) hold, and the solver loads
nothing of the domain."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter on this checkout's sources."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_are_kept():
    r = _run("from importlinter.cli import lint_imports\n"
             "raise SystemExit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_importing_the_solver_loads_nothing_of_reviewer():
    r = _run("import solver; import sys; print(any(m.startswith('reviewer') for m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_no_solver_module_loads_reviewer():
    r = _run("import importlib, pkgutil, sys\n"
             "import solver\n"
             "names = [m.name for m in pkgutil.walk_packages(solver.__path__, 'solver.')]\n"
             "for n in names: importlib.import_module(n)\n"
             "print(len(names), sorted(m for m in sys.modules if m.split('.')[0] == 'reviewer'))")
    assert r.returncode == 0, r.stderr
    n, loaded = r.stdout.strip().split(" ", 1)
    assert int(n) > 5 and loaded == "[]"
