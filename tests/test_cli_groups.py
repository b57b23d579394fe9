"""Each command group of reviewer/cli is importable and runs alone (typer's CliRunner on one sub-app or on
a bare app with one group registered), and the shared helpers of reviewer.cli.common behave."""
import getpass

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from reviewer.cli import audit, common, decisions, files, imports, main, publication, rounds, runs, scores, workspace
from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.store import repo


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


def bare_app(*groups) -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _cb() -> None:
        pass

    for g in groups:
        g.register(a)
    return a


def test_round_sub_app_alone(tmp_path):
    db = tmp_path / "s.sqlite"
    r = invoke(rounds.app, "create", "R1", "--as-of", "2026-11-01", "--db", db, "--user", "秘书")
    assert r.exit_code == 0, r.output
    assert "批次 round R1 created" in r.stdout and "policy sha256" in r.stdout
    r = invoke(rounds.app, "list", "--db", db)
    assert r.exit_code == 0 and r.stdout.startswith("R1\t") and "by 秘书" in r.stdout
    r = invoke(rounds.app, "settings", "R1", "--stage", "认定评审", "--date", "2026-12-01", "--place", "南宁",
               "--db", db, "--user", "秘书")
    assert r.exit_code == 0 and "settings updated" in r.stdout
    r = invoke(rounds.app, "show", "R1", "--db", db)
    assert '"place": "南宁"' in r.stdout and "version 2" in r.stdout
    # a user's mistake is a UserError (main() turns it into one line and exit 2)
    r = invoke(rounds.app, "settings", "R1", "--stage", "复审", "--date", "2026-12-01", "--db", db, "--user", "秘书")
    assert isinstance(r.exception, UserError) and "unknown stage '复审'" in str(r.exception)
    r = invoke(rounds.app, "settings", "R1", "--time", "9点", "--db", db)
    assert isinstance(r.exception, UserError) and "expected HH:MM" in str(r.exception)


def test_sub_apps_are_the_ones_main_registers():
    groups = {g.name: g.typer_instance for g in main.app.registered_groups}
    assert groups["round"] is rounds.app and groups["run"] is runs.app
    assert groups["scores"] is scores.app and groups["audit"] is audit.app
    commands = {c.name: c.callback for c in main.app.registered_commands}
    assert commands["import"] is imports.import_round and commands["lock"] is decisions.lock
    assert commands["publish"] is publication.publish and commands["reproduce"] is audit.reproduce
    assert commands["screen"] is files.screen and commands["init"] is workspace.init
    assert {"token", "user"} <= set(commands) | set(groups)          # accounts still registered


def test_import_and_decisions_registered_alone(tmp_path):
    db = tmp_path / "s.sqlite"
    invoke(rounds.app, "create", "R1", "--as-of", "2026-11-01", "--db", db, "--user", "秘书")
    app = bare_app(imports, decisions)
    r = invoke(app, "import", "--round", "R1", DEMO_DIR / "round2026.xlsx", "--db", db, "--user", "秘书")
    assert r.exit_code == 0, r.output
    assert "导入 import #1 into round R1" in r.stdout
    r = invoke(app, "forbid", "--round", "R1", "-s", "初审评估", "-e", "ZJ0001", "-a", "GX2026-001",
               "--reason", "本人申请回避", "--db", db, "--user", "秘书")
    assert r.exit_code == 0 and "禁止 forbid #1: 初审评估 ZJ0001 × GX2026-001" in r.stdout
    with common.open_store(str(db)).read() as s:
        assert repo.seat_rules(s, repo.get_round(s, "R1"))["forbid"] == [("初审评估", "ZJ0001", "GX2026-001")]
    r = invoke(app, "lock", "--round", "R9", "-s", "初审评估", "-e", "ZJ0001", "-a", "GX2026-001",
               "--reason", "x", "--db", db, "--user", "秘书")
    assert isinstance(r.exception, UserError) and "no round 'R9'" in str(r.exception)


def test_audit_sub_app_alone(tmp_path):
    db = tmp_path / "s.sqlite"
    invoke(rounds.app, "create", "R1", "--db", db, "--user", "秘书")
    r = invoke(audit.app, "verify", "--db", db)
    assert r.exit_code == 0 and "audit log OK: 1 entries" in r.stdout
    r = invoke(audit.app, "export", tmp_path / "audit.csv", "--db", db)
    assert r.exit_code == 0 and (tmp_path / "audit.csv").exists() and "chain OK" in r.stdout


def test_publish_needs_exactly_one_source(tmp_path):
    app = bare_app(publication)
    r = invoke(app, "publish", "--round", "R1", "--stage", "认定评审", "--db", tmp_path / "s.sqlite", "--user", "秘书")
    assert isinstance(r.exception, UserError) and "exactly one of --run" in str(r.exception)


def test_read_panels_headers_and_roles(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("阶段,申报编号,专家编号,角色\n认定评审,GX2026-001,ZJ0001,组长\n认定评审,GX2026-001,ZJ0002,成员\n",
                 encoding="utf-8-sig")
    df = publication.read_panels(f)
    assert list(df.columns) == ["stage", "application_id", "expert_id", "role"]
    assert df["role"].tolist() == ["chair", "member"]
    f.write_text("阶段,申报编号,专家编号,角色\n认定评审,GX2026-001,ZJ0001,秘书\n", encoding="utf-8-sig")
    with pytest.raises(UserError, match="row 2, column 角色: '秘书'; expected 组长 or 成员"):
        publication.read_panels(f)
    f.write_text("阶段,专家编号\n认定评审,ZJ0001\n", encoding="utf-8-sig")
    with pytest.raises(UserError, match=r"missing column\(s\) \['application_id'\]"):
        publication.read_panels(f)


def test_seat_and_decline_parsing():
    assert files.parse_seats(["初审评估,E0012,GX2026-003", "现场考察，E1，A1"], "lock") == [
        ("初审评估", "E0012", "GX2026-003"), ("现场考察", "E1", "A1")]
    with pytest.raises(UserError, match="--forbid '初审评估,E1': expected STAGE,EXPERT_ID,APPLICATION_ID"):
        files.parse_seats(["初审评估,E1"], "forbid")
    assert files.parse_declines(["认定评审,E1", "认定评审,E2,A1"]) == [("认定评审", "E1", None), ("认定评审", "E2", "A1")]
    with pytest.raises(UserError, match="--decline '认定评审': expected"):
        files.parse_declines(["认定评审"])


def test_current_user(monkeypatch):
    assert common.current_user("  张三 ") == "张三"
    monkeypatch.setattr(getpass, "getuser", lambda: "login")
    assert common.current_user(None) == "login" and common.current_user("") == "login"

    def no_login():
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_login)
    with pytest.raises(UserError, match="--user NAME"):
        common.current_user(None)


def test_check_stage():
    pol = load_policy()
    assert common.check_stage("认定评审", pol) == "认定评审"
    with pytest.raises(UserError, match="未知阶段 unknown stage '复审': expected one of 初审评估, 现场考察, 认定评审"):
        common.check_stage("复审", pol)


def test_help_texts_name_no_checkout_paths():
    """Defaults are package data: no help text points into a source checkout."""
    cmd = typer.main.get_command(main.app)
    seen = []

    def walk(c, path):
        r = CliRunner().invoke(main.app, path + ["--help"], terminal_width=200)
        assert r.exit_code == 0, path
        assert "reviewer/data" not in r.output and str(DEMO_DIR) not in r.output, path
        seen.append(" ".join(path))
        for name in getattr(c, "commands", {}):
            walk(c.commands[name], path + [name])

    walk(cmd, [])
    assert {"init", "demo", "round create", "run assign", "scores import", "audit verify"} <= set(seen)


def test_one_rule_for_who_acts(monkeypatch):
    """The CLI and the app record the same name for the same person; only the app has a fallback."""
    from reviewer.app.base import acting_user as app_user
    from reviewer.cli.common import current_user
    monkeypatch.setenv("REVIEWER_USER", "李四")
    assert current_user(None) == app_user(None) == "李四"
    assert current_user(" 王五 ") == app_user("王五") == "王五"
    monkeypatch.delenv("REVIEWER_USER")
    monkeypatch.setattr("getpass.getuser", lambda: (_ for _ in ()).throw(KeyError("no login")))
    assert app_user(None) == "app"
    with pytest.raises(UserError, match="say who you are"):
        current_user(None)
