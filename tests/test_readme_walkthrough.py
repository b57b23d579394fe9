"""The README's store walkthrough, run exactly as written in a fresh home: every command line of the
"Store, audit and packs" block from `round create` to `packs`, then `reproduce` and `audit verify`.
The lines are read from README.md itself, so the README and the program cannot drift apart.

Not yet covered (the walkthrough's score steps need filled score sheets, which the packs do not
hold): `scores import`, `scores correct`, `run aggregate`."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from reviewer.cli.main import main
from reviewer.resources import DEMO_DIR

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
SKIPPED = ("reviewer scores ", "reviewer run aggregate")


def walkthrough_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("reviewer round create 2026 --as-of 2026-11-01            #")
    block = text[start:text.index("```", start)]
    commands = []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if not line.startswith("reviewer ") or line.startswith(SKIPPED):
            continue
        for part in line.split(" | "):            # `a | b` in the README means: a, then b
            args = shlex.split(part.replace("reviewer/data/demo/", f"{DEMO_DIR}/"))[1:]
            commands.append(args)
    return commands


def test_the_walkthrough_lines_are_literal_commands():
    cmds = walkthrough_commands()
    firsts = [c[0] for c in cmds]
    assert firsts[:2] == ["round", "import"] and "packs" in firsts and firsts[-1] == "audit"
    assert not any("|" in a or a.startswith("[") for c in cmds for a in c)   # nothing left to interpret


def test_the_store_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REVIEWER_USER", "张三")
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    for args in walkthrough_commands():
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code or 0
        out = capsys.readouterr()
        assert code == 0, f"reviewer {' '.join(args)} exited {code}:\n{out.out[-1500:]}\n{out.err[-1500:]}"
        if args[0] == "reproduce":
            assert "IDENTICAL" in out.out
        if args[:2] == ["audit", "verify"]:
            assert "OK" in out.out.upper() or "完好" in out.out
    assert (tmp_path / "packs" / "专家通知_2026_现场考察.zip").exists()
