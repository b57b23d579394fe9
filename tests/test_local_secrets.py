"""Secrets and local files (issue 12 items 12, 13, 15): private files and folders, passwords never on
the command line and never weak, database passwords never shown."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewer.app import auth
from reviewer.cli.main import app, main
from reviewer.errors import UserError, mask_url, redact
from reviewer.home import home_folder, private_file, private_folder
from reviewer.identity import check_password_strength
from reviewer.store.engine import Store

ROOT = Path(__file__).resolve().parents[1]


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "state" / "mic-reviewer"
    monkeypatch.setenv("REVIEWER_HOME", str(h))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.delenv("REVIEWER_NEW_PASSWORD", raising=False)
    return h


# ---------------------------------------------------------------- item 12: 0600 files in 0700 folders

def test_store_and_account_files_are_private_even_with_a_lax_umask(home):
    old = os.umask(0o022)   # the usual umask: without care, files 0644 in folders 0755
    try:
        Store(None)
        auth.add_user("zhang", "horse-battery-9")
    finally:
        os.umask(old)
    assert mode(home) == 0o700 and mode(home.parent) == 0o700   # every folder created on the way
    assert mode(home / "reviewer.sqlite") == 0o600
    assert mode(home / "auth.sqlite") == 0o600


def test_an_explicit_sqlite_path_is_created_private(tmp_path):
    old = os.umask(0o022)
    try:
        Store(str(tmp_path / "new" / "deep" / "x.sqlite"))
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "deep") == 0o700
    assert mode(tmp_path / "new" / "deep" / "x.sqlite") == 0o600


def test_existing_shared_folders_and_files_keep_their_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    f = shared / "store.sqlite"
    f.write_bytes(b"")
    os.chmod(f, 0o640)
    private_file(f)
    private_folder(shared)
    assert mode(shared) == 0o755 and mode(f) == 0o640


def test_an_old_lax_home_is_tightened_but_never_a_foreign_folder(tmp_path, monkeypatch):
    old_home = tmp_path / "old"
    old_home.mkdir()
    (old_home / "reviewer.sqlite").write_bytes(b"")
    os.chmod(old_home, 0o755)
    monkeypatch.setenv("REVIEWER_HOME", str(old_home))
    home_folder()
    assert mode(old_home) == 0o700
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "report.docx").write_bytes(b"")
    os.chmod(foreign, 0o755)
    monkeypatch.setenv("REVIEWER_HOME", str(foreign))
    home_folder()
    assert mode(foreign) == 0o755   # $REVIEWER_HOME=~ or /tmp must not lock others out of it


def test_the_command_line_writes_private_files(tmp_path, home):
    """A real `reviewer` process: the store it creates and the tables it writes are the user's only."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REVIEWER_HOME": str(home)}
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import os; os.umask(0o022); from reviewer.cli.main import main; main()"]
    r = subprocess.run([*cmd, "round", "create", "2026", "--user", "zhang"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*cmd, "screen", str(ROOT / "reviewer/data/demo/csv/applications.csv"), "--as-of", "2026-11-01",
                        "--out", str(out), "--allow-partial"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert mode(home) == 0o700 and mode(home / "reviewer.sqlite") == 0o600
    written = [p for p in out.rglob("*")]
    assert written and mode(out) == 0o700
    assert all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in written), {str(p): oct(mode(p)) for p in written}


# ---------------------------------------------------------------- item 13: passwords

@pytest.mark.parametrize("password, why", [
    ("12345678", "at least 10"), ("1234567890", "only digits"), ("0000000000", "one character"),
    ("PASSWORD123", "common"), ("Woaini1314", "common"), ("zhangwei", "at least 10"),
    ("ZhangWei2026!", "user name"), ("zhangwei", "user name"),
])
def test_weak_passwords_are_refused_with_the_reason(password, why):
    with pytest.raises(UserError, match=why):
        check_password_strength(password, "zhangwei", 10)


def test_acceptable_passwords_pass():
    for pw in ("correct horse battery", "桂林山水甲天下2026", "x7#Lq9!vR2"):
        check_password_strength(pw, "zhangwei", 10)


def test_the_minimum_length_comes_from_the_policy(home, tmp_path):
    text = (ROOT / "reviewer/data/policy.toml").read_text(encoding="utf-8")
    strict = tmp_path / "strict.toml"
    strict.write_text(text.replace("min_password_length = 10", "min_password_length = 16"), encoding="utf-8")
    r = CliRunner().invoke(app, ["user", "add", "li", "--password-stdin", "--policy", str(strict)],
                           input="horse-battery-9\n")
    assert r.exit_code != 0 and "at least 16" in str(r.exception)
    weak = tmp_path / "weak.toml"
    weak.write_text(text.replace("min_password_length = 10", "min_password_length = 4"), encoding="utf-8")
    r = CliRunner().invoke(app, ["user", "add", "li", "--password-stdin", "--policy", str(weak)], input="abcdefghijk\n")
    assert r.exit_code != 0 and "min_password_length" in str(r.exception)   # the policy cannot go below 8


def test_password_on_the_command_line_or_in_the_environment_is_refused(home, monkeypatch, capsys):
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "zhang", "--password", "horse-battery-9"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--password-stdin" in err and "ps" in err and "horse-battery-9" not in err
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "horse-battery-9")
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "zhang"])
    assert e.value.code == 2
    assert "REVIEWER_NEW_PASSWORD" in capsys.readouterr().err
    assert auth.list_users() == []


def test_password_from_stdin_and_the_prompt_and_passwd(home, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("horse-battery-9\n"))
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "zhang", "--password-stdin", "--name", "张三"])
    assert e.value.code == 0
    assert auth.verify("zhang", "horse-battery-9").display_name == "张三"
    # the prompt asks twice, without echo; a mismatch asks again
    r = CliRunner().invoke(app, ["user", "passwd", "zhang"], input="new-horse-77\nother-one-77\nnew-horse-77\nnew-horse-77\n")
    assert r.exit_code == 0, r.output
    assert "new-horse-77" not in r.output
    assert auth.verify("zhang", "new-horse-77").display_name == "张三" and auth.verify("zhang", "horse-battery-9") is None
    r = CliRunner().invoke(app, ["user", "passwd", "zhang", "--password-stdin"], input="12345678\n")
    assert r.exit_code != 0 and "too weak" in str(r.exception)
    assert auth.verify("zhang", "new-horse-77")   # unchanged
    r = CliRunner().invoke(app, ["user", "passwd", "nobody", "--password-stdin"], input="new-horse-77\n")
    assert r.exit_code != 0 and "no active account" in str(r.exception)
    r = CliRunner().invoke(app, ["user", "add", "li", "--password-stdin"], input="")
    assert r.exit_code != 0 and "no password on standard input" in str(r.exception)


# ---------------------------------------------------------------- item 15: database URLs

SECRET = "S3cretPw"


@pytest.mark.parametrize("url", [
    f"postgresqlx://bob:{SECRET}@db.example/rev",                 # unknown dialect
    f"postgresql+nodriver://bob:{SECRET}@db.example/rev",        # unknown driver
    f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:1/rev",         # nobody listens
    f"bob:{SECRET}@db/x://",                                      # not a URL at all
    f"postgresql+psycopg://bob@127.0.0.1:1/rev?password={SECRET}",  # password in the query
])
def test_a_database_password_is_never_printed(url, home, capsys):
    with pytest.raises(SystemExit) as e:
        main(["round", "list", "--db", url])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "***" in err, err


def test_the_password_is_masked_in_the_environment_variable_url_too(home, monkeypatch, capsys):
    monkeypatch.setenv("REVIEWER_DB_URL", f"postgresql+nodriver://bob:{SECRET}@db.example/rev")
    with pytest.raises(SystemExit):
        main(["round", "list"])
    assert SECRET not in capsys.readouterr().err


def test_mask_url_and_redact():
    assert mask_url(f"postgresql+psycopg://bob:{SECRET}@h:5432/db") == "postgresql+psycopg://bob:***@h:5432/db"
    assert mask_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert mask_url(f"bob:{SECRET}@h/db") == "***@h/db"
    text = f"cannot reach mysql://u:{SECRET}@h/d and pg://h/d?sslmode=require&password={SECRET}"
    assert SECRET not in redact(text) and "sslmode=require" in redact(text)
    assert SECRET not in str(UserError(f"--db postgresql://bob:{SECRET}@h/db: no"))
    assert redact("row 3: value 'a@b.cn' expected an e-mail") == "row 3: value 'a@b.cn' expected an e-mail"


def test_the_store_shows_its_url_masked():
    s = Store.__new__(Store)
    s.url = f"postgresql+psycopg://bob:{SECRET}@h/db?password={SECRET}"
    assert SECRET not in s.display_url
