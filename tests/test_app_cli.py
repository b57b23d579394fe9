"""`reviewer user add/list` and `reviewer token`."""
from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from reviewer.app import auth
from reviewer.cli.main import app


def test_user_add_list_and_token(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    r = CliRunner().invoke(app, ["user", "add", "zhang", "--name", "张三"], input="pass-word-1\npass-word-1\n")
    assert r.exit_code == 0, r.output
    assert auth.verify("zhang", "pass-word-1").display_name == "张三"
    r = CliRunner().invoke(app, ["user", "add", "li", "--role", "analyst", "--password-stdin"], input="pass-word-2\n")
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["user", "list"])
    assert "zhang\tstaff" in r.output and "li\tanalyst" in r.output and "pass-word" not in r.output
    stored = sqlite3.connect(tmp_path / "auth.sqlite").execute("SELECT hash FROM users").fetchall()
    assert all(b"pass-word" not in h[0] for h in stored)
    r = CliRunner().invoke(app, ["token", "ZJ0001", "--days", "2", "--url", "http://example:8501"])
    assert r.exit_code == 0, r.output
    link = [l for l in r.output.splitlines() if l.startswith("http://example:8501/?token=")][0]
    assert auth.resolve_token(link.split("token=")[1]).expert_id == "ZJ0001"


def test_user_add_rejects_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    from reviewer.cli.main import main
    import io
    import pytest
    for password, extra in (("short", []), ("long-enough", ["--role", "boss"])):
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        with pytest.raises(SystemExit) as e:
            main(["user", "add", "zhang", "--password-stdin", *extra])
        assert e.value.code == 2


def test_a_round_made_with_the_store_commands_is_a_round_of_the_app(tmp_path, monkeypatch):
    """One store: `reviewer round create 2026` makes a round the app lists, and `reviewer token --round 2026` knows."""
    import pytest
    from reviewer.app import rounds
    from reviewer.cli.main import main
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    with pytest.raises(SystemExit) as e:
        main(["round", "create", "2026", "--name", "2026年度试点", "--as-of", "2026-11-01", "--user", "zhang"])
    assert e.value.code == 0
    assert (tmp_path / "reviewer.sqlite").exists()
    listed = {r.round_id: r for r in rounds.list_rounds()}
    assert listed["2026"].name == "2026年度试点" and listed["2026"].as_of == "2026-11-01"
    assert rounds.policy_for("2026").as_of_date().isoformat() == "2026-11-01"
    r = CliRunner().invoke(app, ["token", "ZJ0001", "--round", "2026", "--url", "http://example:8501"])
    assert r.exit_code == 0, r.output
    tok = [l for l in r.output.splitlines() if "?token=" in l][0].split("token=")[1]
    assert auth.resolve_token(tok).round_id == "2026"
    with pytest.raises(SystemExit) as e:                                   # an unknown round is refused
        main(["token", "ZJ0001", "--round", "2099"])
    assert e.value.code == 2
    # and a round made in the app is a round of the store
    info = rounds.create_round("2027年度试点", "2027-10-01")
    r = CliRunner().invoke(app, ["round", "list"])
    assert info.round_id in r.output and "2026" in r.output


def test_reviewer_app_starts_streamlit_on_the_packaged_script(monkeypatch):
    import os
    import sys
    import tomllib
    from pathlib import Path
    from reviewer.app.ui import MAIN, STREAMLIT_OPTIONS
    got = {}

    def fake_execv(path, argv):
        got["path"], got["argv"] = path, argv
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", fake_execv)
    r = CliRunner().invoke(app, ["app", "--port", "8765", "--address", "127.0.0.1"])
    assert r.exit_code == 0, r.output
    argv = got["argv"]
    assert got["path"] == sys.executable and argv[:5] == [sys.executable, "-m", "streamlit", "run", str(MAIN)]
    assert MAIN.exists() and MAIN.is_relative_to(Path(__import__("reviewer").__file__).parent)
    opts = dict(zip(argv[5::2], argv[6::2]))
    assert opts["--server.port"] == "8765" and opts["--server.address"] == "127.0.0.1"
    # the options are those of .streamlit/config.toml (for `streamlit run app.py` in a checkout)
    cfg = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    flat = {f"{sec}.{k}": str(v).lower() if isinstance(v, bool) else str(v) for sec, kv in cfg.items() for k, v in kv.items()}
    assert flat == STREAMLIT_OPTIONS
    assert all(opts[f"--{k}"] == v for k, v in STREAMLIT_OPTIONS.items())
