"""`reviewer init|templates|demo`: a department's own folder, blank input templates, the demo run.

The defaults (policy, demo round) are package data read through reviewer.resources, so these
commands work the same from a checkout and from a normal `pip install`.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import PolicyOpt, echo
from reviewer.demo.pipeline import run_demo
from reviewer.errors import UserError
from reviewer.intake import schema
from reviewer.intake.io import write_template
from reviewer.policy import load_policy
from reviewer.resources import DEFAULT_POLICY_PATH, DEMO_DIR

POLICY_FILE = "policy.toml"
TEMPLATES_FILE = "templates.xlsx"
DEMO_FOLDER = "demo"
README_FILE = "README.txt"


def register(app: typer.Typer) -> None:
    """Add `templates`, `demo` and `init` to the main `reviewer` app."""
    app.command("templates")(templates)
    app.command("demo")(demo)
    app.command("init")(init)


def templates(out: Path = typer.Argument(Path("templates.xlsx"), help="Workbook to write.")) -> None:
    """空白模板 Write a blank input workbook with the right headers and a column guide."""
    write_template(out)
    echo(f"写出 Wrote {out}")


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Folder for the outputs."),
    data_dir: Optional[Path] = typer.Option(None, "--data", help="Demo data folder (default: the bundled demo "
                                                                 "round; reviewer init writes a copy)."),
    policy: Optional[Path] = PolicyOpt,
) -> None:
    """演示 Run the whole pipeline on the bundled demo round and write every output."""
    run_demo(data_dir or DEMO_DIR, out, load_policy(policy), echo)


def init(
    folder: Path = typer.Argument(..., help="Folder to write (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that are already there."),
) -> None:
    """初始化 Write a department's own folder: editable policy.toml, blank templates.xlsx, the demo round, README.txt."""
    targets = init_targets(folder)
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(str(p.relative_to(folder)) for p in existing[:5]) + (" …" if len(existing) > 5 else "")
        raise UserError(f"{folder} 中已有 {len(existing)} 个文件，未写入任何文件 (加 --force 覆盖) / "
                        f"{folder} already has {len(existing)} of these files, nothing was written "
                        f"(pass --force to overwrite): {names}")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEFAULT_POLICY_PATH, folder / POLICY_FILE)
    write_template(folder / TEMPLATES_FILE)
    shutil.copytree(DEMO_DIR, folder / DEMO_FOLDER, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (folder / README_FILE).write_text(readme_text(folder), encoding="utf-8")
    echo(f"初始化 initialised {folder}:")
    for name, what in ((POLICY_FILE, "评审规则（可编辑） editable policy"),
                       (TEMPLATES_FILE, "空白输入模板 blank input templates"),
                       (DEMO_FOLDER + "/", "演示批次 demo round"), (README_FILE, "说明 what each file is")):
        echo(f"  {folder / name}  {what}")
    echo(f"下一步 next: reviewer round create 2026 --policy {folder / POLICY_FILE}; "
         f"reviewer import --round 2026 FILE (见 see {folder / README_FILE})")


def init_targets(folder: Path) -> list[Path]:
    """Every file `reviewer init FOLDER` writes."""
    demo_files = [folder / DEMO_FOLDER / p.relative_to(DEMO_DIR) for p in sorted(DEMO_DIR.rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return [folder / POLICY_FILE, folder / TEMPLATES_FILE, folder / README_FILE, *demo_files]


def readme_text(folder: Path) -> str:
    """The README.txt of a department's folder: what each file is and the next commands (Chinese first)."""
    policy, tmpl, demo_dir = folder / POLICY_FILE, folder / TEMPLATES_FILE, folder / DEMO_FOLDER
    sheets = "、".join(t.zh for t in schema.TABLES.values())
    return f"""制造业创新中心试点 专家评审 —— 本部门工作目录
Expert review of manufacturing innovation centre pilots — this department's folder

本目录由 `reviewer init` 写出。 / Written by `reviewer init`.

文件 Files
  {POLICY_FILE}     评审规则（内置默认规则的可编辑副本）：形式审查阈值、评分细则、专家组构成、回避规则等。
                  改动后在命令中用 --policy 指定；建批次时规则全文随批次保存。
                  The review policy, an editable copy of the bundled default (screening thresholds, rubric,
                  panel make-up, conflict rules). Pass it with --policy; a round stores the text it was created with.
  {TEMPLATES_FILE}  空白输入模板：每张表一个工作表（{sheets}），
                  另有列说明。填好后导入。
                  Blank input workbook: one sheet per table, plus a sheet explaining every column. Fill it in, then import it.
  {DEMO_FOLDER}/           演示批次（合成数据），可先用它熟悉命令；round2026.xlsx 是整批次工作簿。
                  The demo round (synthetic data) to try the commands on; round2026.xlsx is the whole round in one workbook.
  {README_FILE}      本说明。 / This file.

下一步 Next steps
  1. 建批次（使用本部门规则） Create a round with your policy:
       reviewer round create 2026 --policy {policy}
  2. 导入填好的模板（或先试 demo/round2026.xlsx） Import the filled workbook (or try the demo's):
       reviewer import --round 2026 {tmpl}
       reviewer import --round 2026 {demo_dir / 'round2026.xlsx'}
  3. 形式审查、回避、专家组（每次运行都有记录） Screening, conflicts, panels (each run is recorded):
       reviewer run screen --round 2026
       reviewer run conflicts --round 2026
       reviewer run assign --round 2026
  不建批次，直接按文件运行 Or straight from files, without the store:
       reviewer screen {demo_dir} --policy {policy}
  整个流程的演示 The whole pipeline on the demo round:
       reviewer demo --data {demo_dir} --policy {policy}
  全部命令 All commands: reviewer --help
"""
