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
    r = CliRunner().invoke(app, ["user", "add", "li", "--role", "analyst", "--password", "pass-word-2"])
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
    import pytest
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "zhang", "--password", "short"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "zhang", "--password", "long-enough", "--role", "boss"])
    assert e.value.code == 2
