"""`reviewer init DIR`: a department's own folder (editable policy, blank templates, demo round, README),
never overwritten without --force; and the written files work with the commands the README names."""
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reviewer.cli import workspace
from reviewer.cli.main import main
from reviewer.errors import UserError
from reviewer.intake import schema
from reviewer.policy import load_policy
from reviewer.resources import DEFAULT_POLICY_PATH, DEMO_DIR


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_policy_templates_demo_and_readme(tmp_path, capsys):
    d = tmp_path / "广西工信厅"
    code, out, err = run(["init", d], capsys)
    assert code in (0, None), err
    assert (d / "policy.toml").read_bytes() == DEFAULT_POLICY_PATH.read_bytes()
    assert load_policy(d / "policy.toml").source == str(d / "policy.toml")
    sheets = load_workbook(d / "templates.xlsx", read_only=True).sheetnames
    assert [t.zh for t in schema.TABLES.values()] == sheets[:len(schema.TABLES)] and "说明" in sheets
    assert files_under(d / "demo") == files_under(DEMO_DIR)
    assert (d / "demo" / "round2026.xlsx").read_bytes() == (DEMO_DIR / "round2026.xlsx").read_bytes()
    readme = (d / "README.txt").read_text(encoding="utf-8")
    first = readme.splitlines()[0]
    assert "专家评审" in first and not first.isascii()   # Chinese first
    assert f"reviewer round create 2026 --policy {d / 'policy.toml'}" in readme
    assert f"reviewer import --round 2026 {d / 'templates.xlsx'}" in readme
    for name in ("policy.toml", "templates.xlsx", "demo/", "README.txt"):
        assert name in readme
    assert str(d / "policy.toml") in out and "reviewer round create" in out


def test_init_refuses_to_overwrite_unless_force(tmp_path, capsys):
    d = tmp_path / "dept"
    assert run(["init", d], capsys)[0] in (0, None)
    (d / "policy.toml").write_text("# edited by the department\n", encoding="utf-8")
    (d / "demo" / "experts.xlsx").unlink()
    code, out, err = run(["init", d], capsys)
    assert code == 2 and "Traceback" not in err
    assert "已有" in err and "--force" in err and "nothing was written" in err and "policy.toml" in err
    assert (d / "policy.toml").read_text(encoding="utf-8") == "# edited by the department\n"
    assert not (d / "demo" / "experts.xlsx").exists()                     # nothing written at all
    code, _, err = run(["init", d, "--force"], capsys)
    assert code in (0, None), err
    assert (d / "policy.toml").read_bytes() == DEFAULT_POLICY_PATH.read_bytes()
    assert (d / "demo" / "experts.xlsx").exists()


def test_init_into_a_folder_with_other_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    assert run(["init", tmp_path], capsys)[0] in (0, None)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (tmp_path / "policy.toml").exists()


def test_init_is_callable_alone(tmp_path):
    workspace.init(tmp_path / "a", force=False)
    assert set(workspace.init_targets(tmp_path / "a")) <= {tmp_path / "a" / f for f in files_under(tmp_path / "a")}
    with pytest.raises(UserError, match="--force"):
        workspace.init(tmp_path / "a", force=False)


def test_the_written_policy_is_the_one_the_commands_use(tmp_path, capsys):
    d = tmp_path / "dept"
    assert run(["init", d], capsys)[0] in (0, None)
    code, out, err = run(["screen", d / "demo", "--policy", d / "policy.toml", "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    rec = json.loads((tmp_path / "o" / "run_screening.json").read_text(encoding="utf-8"))
    assert rec["policy"]["file"] == str(d / "policy.toml")
    # the department edits its copy: the commands read the edit (here, a mistake they report)
    pol = d / "policy.toml"
    pol.write_text(pol.read_text(encoding="utf-8").replace("min_rd_ratio_percent = 2.0", "min_rd_ratio_percent = -2"),
                   encoding="utf-8")
    code, _, err = run(["screen", d / "demo", "--policy", pol, "--out", tmp_path / "o2"], capsys)
    assert code == 2 and "min_rd_ratio_percent" in err


def test_readme_next_commands_work(tmp_path, capsys):
    d = tmp_path / "dept"
    assert run(["init", d], capsys)[0] in (0, None)
    db = ["--db", tmp_path / "s.sqlite", "--user", "秘书"]
    code, out, err = run(["round", "create", "2026", "--policy", d / "policy.toml", *db], capsys)
    assert code in (0, None), err
    code, out, err = run(["import", "--round", "2026", d / "demo" / "round2026.xlsx", *db], capsys)
    assert code in (0, None), err + out
    assert "导入 import #1 into round 2026" in out
    code, out, err = run(["round", "show", "2026", "--db", tmp_path / "s.sqlite"], capsys)
    assert str(d / "policy.toml") in out
