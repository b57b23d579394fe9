"""`reviewer site-inputs import|show`: the 现场考察 inputs of a stored round (专家不可用日期, 考察点, 专家出行限制,
节假日), validated like file mode and kept in the store (reviewer.store.site_inputs), so that
`reviewer site-plan --round` and the app plan with them and `reviewer reproduce` reruns a site plan from
the inputs it used. A re-import of a kind replaces it (audited, with what was added, removed, changed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, echo_wrote, open_store
from reviewer.errors import UserError
from reviewer.exports import write_table
from reviewer.store import repo
from reviewer.store import site_inputs as stored

app = typer.Typer(help="现场考察输入 Site-visit inputs of a stored round: import (validated, audited), show.",
                  no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(app, name="site-inputs")


@app.command("import")
def import_inputs(
    round_: str = RoundOpt,
    unavailable: Optional[Path] = typer.Option(None, "--unavailable", help="专家不可用日期 file (专家编号, 不可用日期[, 截止日期, 原因])."),
    sites: Optional[Path] = typer.Option(None, "--sites", help="考察点 file (申报编号, 考察时长, 考察地址, 联系人, 联系电话, 锁定日期)."),
    travel_limits: Optional[Path] = typer.Option(None, "--travel-limits", help="专家出行限制 file (专家编号, 最多连续考察天数)."),
    holidays: Optional[Path] = typer.Option(None, "--holidays", help="节假日 file for a year the calendar does not cover (日期, 类型 休/班)."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    db: Optional[str] = DbOpt,
    user: Optional[str] = UserOpt,
) -> None:
    """Store the round's 现场考察 inputs: every file is checked first (all or nothing); a kind imported again replaces the stored one."""
    files = {k: v for k, v in (("unavailable", unavailable), ("sites", sites), ("travel_limits", travel_limits),
                               ("holidays", holidays)) if v is not None}
    if not files:
        raise UserError("请至少给出一个文件 give at least one file: --unavailable, --sites, --travel-limits, --holidays")
    for k, p in files.items():
        if not Path(p).is_file():
            raise UserError(f"{stored.KINDS[k][1]} {p}: 文件不存在 no such file")
    with open_store(db).write() as s:
        done = stored.import_files(s, repo.get_round(s, round_), files, user=current_user(user), reason=reason)
    for x in done:
        again = (f"，替换 #{x['replaces']}：新增 {x['added']}、删除 {x['removed']}、变更 {x['changed']}、未变 {x['unchanged']} / "
                 f"replaces #{x['replaces']}: {x['added']} added, {x['removed']} removed, {x['changed']} changed"
                 if x["replaces"] else " / first import")
        echo(f"{x['kind_zh']} {x['file_name']}: {x['rows']} 条 entries 已存入 stored (#{x['id']}){again}")


@app.command("show")
def show(round_: str = RoundOpt, out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the stored tables here."),
         db: Optional[str] = DbOpt) -> None:
    """What the round's 现场考察 inputs are now: one line per kind (file, entries, who, when, hash)."""
    with open_store(db).read() as s:
        r = repo.get_round(s, round_)
        view = stored.overview(s, r)
        tables = {k: stored.details(s, r, k) for k in view["kind"]}
    if view.empty:
        echo(f"批次 {round_} 尚无现场考察输入 / no site inputs stored (reviewer site-inputs import --round {round_} ...)")
        return
    for x in view.itertuples(index=False):
        echo(f"{x.kind_zh} ({x.kind}): {x.file_name}, {x.rows} 条 entries, {x.created_by} {x.created_at:%Y-%m-%d %H:%M}, "
             f"sha256 {x.sha256}…" + (f", 替换 replaces #{int(x.replaces)}" if x.replaces == x.replaces and x.replaces else ""))
    if out is not None:
        paths = []
        for kind, t in tables.items():
            paths += write_table(t, out, f"site_inputs_{kind}", stored.KINDS[kind][0])
        echo_wrote(paths)


