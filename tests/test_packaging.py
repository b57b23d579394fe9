"""A normal, non-editable install works anywhere: the wheel carries the default policy, the demo round
and the store's migrations, and the installed program runs the demo and a stored round from an empty
folder, far from any checkout."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the wheel (pip's isolated build, as `pip install .` does) and unpack it into a bare folder."""
    base = tmp_path_factory.mktemp("wheel")
    wheels, target = base / "dist", base / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, capture_output=True, text=True)
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    return wheel, target


def _run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # PYTHONPATH puts the unpacked wheel first, ahead of any editable install of the checkout.
    env = {**os.environ, "PYTHONPATH": str(target), "REVIEWER_HOME": str(cwd / "home")}
    env.pop("REVIEWER_DB_URL", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_wheel_carries_package_data(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("reviewer/data/policy.toml", "reviewer/data/demo/round2026.xlsx",
                   "reviewer/data/demo/planted.json", "reviewer/data/demo/csv/experts.csv",
                   "reviewer/store/migrations/script.py.mako", "reviewer/store/migrations/versions/0001_initial_schema.py"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_installed_program_runs_from_an_empty_folder(installed, tmp_path):
    _, target = installed
    where = _run(target, tmp_path, "reviewer.cli.main", "--help")
    assert where.returncode == 0, where.stderr
    probe = subprocess.run([sys.executable, "-c", "import reviewer; print(reviewer.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(target)), probe.stdout  # the wheel's copy, not the checkout

    demo = _run(target, tmp_path, "reviewer.cli.main", "demo", "--out", "out")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert (tmp_path / "out" / "recognition_ranking.csv").exists()
    assert (tmp_path / "out" / "panels.csv").exists()

    created = _run(target, tmp_path, "reviewer.cli.main", "round", "create", "2026", "--as-of", "2026-11-01")
    assert created.returncode == 0, created.stderr
    demo_book = target / "reviewer" / "data" / "demo" / "round2026.xlsx"
    imported = _run(target, tmp_path, "reviewer.cli.main", "import", "--round", "2026", str(demo_book))
    assert imported.returncode == 0, imported.stderr
    assert "0 errors" in imported.stdout
