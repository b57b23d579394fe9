"""`reviewer scores import|correct|list`: the scores of a stored round.

`app` is the `scores` sub-app; the main app adds it with :func:`register`. Submitted scores are
checked against the published assignment; a filled score sheet is validated by
reviewer.scoring.scoresheets, a long score table by reviewer.scoring.scoretable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from openpyxl import load_workbook

from reviewer.cli.common import DbOpt, ReasonOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.errors import UserError
from reviewer.exports import csv_text, write_table
from reviewer.policy import Policy
from reviewer.scoring.opinions import OPINION_COLUMNS, opinions_from_table
from reviewer.scoring.scoresheets import blank_sheets_line, import_score_sheets
from reviewer.scoring.gating import families
from reviewer.scoring.scoretable import read_table, validate_scores
from reviewer.store import keys, opinions, repo

app = typer.Typer(help="评分 Scores of a round: import submitted sheets, correct, list.", no_args_is_help=True)

SCORE_FIELDS = ["stage", "application_id", "expert_id", "criterion", "family", "score", "confidence", "void"]


def register(main_app: typer.Typer) -> None:
    """Add the `scores` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="scores")


@app.command("import")
def scores_import(files: list[Path] = typer.Argument(..., help="Filled score sheets (.xlsx from the packs) or "
                                                     "long score tables (.csv/.xlsx with 阶段/申报编号/专家编号/评分项/得分)."),
                  round_: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s",
                                                                               help="Stage of long tables without a 阶段 column."),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt,
                  allow_partial: bool = typer.Option(False, "--allow-partial",
                                                     help="Store the good rows even when some are rejected.")) -> None:
    """Store submitted scores, checked against the published assignment; a resubmission voids the old score.
    All or nothing: a rejected row stores nothing unless --allow-partial; blank sheets are named."""
    st = open_store(db)
    u = current_user(user)
    with st.read() as s:
        r = repo.get_round(s, round_)
        pol = repo.round_policy(r)
        assign = pd.concat([repo.published_seats(s, r, stg, include_replaced=True)
                            for stg in pol.stages.order], ignore_index=True)
    if assign.empty:
        raise UserError(f"round {round_} has no published assignment: scores are checked against it")
    assign = assign.assign(status=assign["status"].map({"active": "active", "replaced": "replaced"}))
    # one status per seat key: an expert whose seat was replaced by their own new seat (组长交接 chair
    # handover, or replaced and later brought back) is active
    assign = assign.sort_values("status", key=lambda c: c.eq("active"), kind="stable").drop_duplicates(
        ["stage", "application_id", "expert_id"], keep="last")
    frames, problems, blank, refused, said = [], [], [], [], []
    sheet_key = keys.round_sheet_key(round_)
    for f in files:
        df, errs, empty, bad, ops = read_scores(f, pol, assign, stage, sheet_key)
        frames.append(df)
        said.append(ops)
        problems += errs
        blank += empty
        refused += bad
    for p in problems:
        echo("  " + p)
    if blank:
        echo(blank_sheets_line(blank))
    if refused:   # recorded whatever happens next: a forged sheet is evidence
        with st.write() as s:
            repo.record_sheet_refusals(s, repo.get_round(s, round_), refused, user=u)
        echo(f"拒收 {len(refused)} 张评分表签名校验失败，已记入审计日志 / {len(refused)} score sheet(s) refused "
             "(signature); recorded in the audit log")
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    errors = [p for p in problems if p.startswith("ERROR")]
    if errors and not allow_partial:
        echo(f"{len(errors)} 行评分被拒绝，未导入任何评分（改正后重新导入，或 --allow-partial 只导入正确的行） / "
             f"{len(errors)} rejected row(s): nothing imported (fix them, or --allow-partial)")
        raise typer.Exit(1)
    if scores.empty:
        echo("没有可导入的评分，未导入 / no score to import, nothing imported")
        raise typer.Exit(1)
    with st.write() as s:
        n, n_op = opinions.submit_scores_with_opinions(s, repo.get_round(s, round_), scores,
                                                       pd.concat(said, ignore_index=True), user=u,
                                                       source=", ".join(f.name for f in files))
    echo(f"评分 stored {n} score rows and {n_op} 评审意见 opinions in round {round_}; {len(problems)} problems"
         + (f"; {len(blank)} 张评分表未填写 blank sheet(s)" if blank else ""))
    if errors:
        echo(f"有 {len(errors)} 行评分被拒绝；按 --allow-partial 只导入了正确的行。 / {len(errors)} rejected row(s): "
             "the good rows were imported (--allow-partial).")
    if refused and not allow_partial:
        raise typer.Exit(1)


@app.command("correct")
def scores_correct(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                   application: str = typer.Option(..., "--application", "-a"),
                   expert: str = typer.Option(..., "--expert", "-e"),
                   criterion: str = typer.Option(..., "--criterion", "-c"),
                   score: float = typer.Option(..., "--score"), reason: str = ReasonOpt,
                   db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """更正 Correct one submitted score (the old one is kept but void; audited)."""
    with open_store(db).write() as s:
        new = repo.correct_score(s, repo.get_round(s, round_), stage, application, expert, criterion, score,
                                 reason=reason, user=current_user(user))
    echo(f"更正 score #{new.id}: {stage} {application} {expert} {criterion} = {score:g}")


@app.command("list")
def scores_list(round_: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s"),
                include_void: bool = typer.Option(False, "--include-void"),
                out: Optional[Path] = typer.Option(None, "--out", "-o"), db: Optional[str] = DbOpt) -> None:
    """List stored scores (who submitted them and when; void ones with --include-void)."""
    with open_store(db).read() as s:
        df = repo.scores_frame(s, repo.get_round(s, round_), stage, include_void=include_void)
    if out:
        write_table(df, out, "scores", "评分")
    echo(csv_text(df) if len(df) <= 200 else f"{len(df)} rows (use --out)")


def read_scores(path: Path, policy: Policy, assignments: pd.DataFrame, stage: Optional[str],
                sheet_key: bytes | None) -> tuple[pd.DataFrame, list[str], list[tuple[str, str]], list[dict],
                                                  pd.DataFrame]:
    """A filled score sheet or a long score table, as rows of SCORE_FIELDS, problem lines ("ERROR ..."
    for a rejected row), the blank sheets (file, expert id), the sheets refused for their
    signature (checked with `sheet_key`) and the 评审意见 (OPINION_COLUMNS); a score of a seat that
    was replaced is kept but void."""
    no_opinions = pd.DataFrame(columns=OPINION_COLUMNS)
    if path.suffix.lower() == ".xlsx":
        try:
            is_sheet = "_meta" in load_workbook(path, read_only=True).sheetnames
        except Exception:
            raise UserError(f"{path}: not a readable .xlsx file") from None
        if is_sheet:
            res = import_score_sheets([path], policy, assignments, sheet_key=sheet_key)
            return res.scores, [str(i) for i in res.issues], res.blank_sheets, res.refused, res.opinions
    raw = read_table(path)
    df, errors = validate_scores(raw, path, policy, source_rows=True)
    errors = ["ERROR " + e for e in errors]
    if df.empty:            # every row rejected (or none): nothing to place in a stage
        return pd.DataFrame(columns=SCORE_FIELDS), errors, [], [], no_opinions
    if "panel" not in df.columns or df["panel"].isna().all():
        if not stage:
            raise UserError(f"{path}: no 阶段 column; pass --stage")
        df["panel"] = stage
    if "criterion" not in df.columns:
        raise UserError(f"{path}: a 评分项/criterion column is needed (scores are stored per criterion)")
    df = df.rename(columns={"panel": "stage"})
    status = {(str(a.stage), str(a.expert_id), str(a.application_id)): a.status
              for a in assignments.itertuples(index=False)}
    keep = []
    for x in df.itertuples(index=False):
        assigned = (x.stage, x.expert_id, x.application_id) in status
        if not assigned:
            errors.append(f"ERROR {path}: row {x.source_row}, {x.stage} {x.application_id} {x.expert_id}: expected an "
                          "application assigned to this expert in the published assignment; rejected")
        keep.append(assigned)
    df = df[keep].copy()
    df["void"] = [status[(a, e, p)] == "replaced" for a, e, p in zip(df["stage"], df["expert_id"], df["application_id"])]
    df["family"] = families(policy, df["stage"], df["criterion"])     # under each stage's own instrument
    df = df[df["score"].notna()]
    if "confidence" not in df.columns:
        df["confidence"] = None
    said = opinions_from_table(raw, df[~df["void"]], path)
    return df[SCORE_FIELDS], errors, [], [], said


@app.command("opinion")
def scores_opinion(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                   application: str = typer.Option(..., "--application", "-a"),
                   text: str = typer.Option(..., "--text", help="专家组综合意见 the panel's consensus opinion."),
                   dissent: list[str] = typer.Option([], "--dissent", help="EXPERT=不同意见 a member's recorded "
                                                     "dissent (repeat for each)."),
                   db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """专家组综合意见 Record the chair's consensus opinion of one panel, with each dissenting member's opinion
    (audited; a later record replaces it, the old one kept)."""
    parsed = {}
    for d in dissent:
        expert, sep, why = d.partition("=")
        if not sep or not expert.strip():
            raise UserError(f"--dissent {d!r}: expected EXPERT_ID=不同意见 (the member's id, '=', their opinion)")
        parsed[expert.strip()] = why
    with open_store(db).write() as s:
        x = opinions.record_panel_opinion(s, repo.get_round(s, round_), stage, application, text=text,
                                          dissent=parsed, user=current_user(user))
    echo(f"专家组综合意见 recorded for {stage} {application} (组长 chair {x.chair_id or '-'}; "
         f"{len(parsed)} 条不同意见 dissent)")


@app.command("opinions")
def scores_opinions(round_: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s"),
                    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for opinions.* and "
                                                       "panel_opinions.*"),
                    db: Optional[str] = DbOpt) -> None:
    """评审意见 List the experts' written opinions, the panels' consensus opinions with dissent, and the
    outlying totals that still have no opinion."""
    with open_store(db).read() as s:
        r = repo.get_round(s, round_)
        ops, panels = opinions.opinions_frame(s, r, stage), opinions.panel_opinions_frame(s, r, stage)
        missing = opinions.required_missing(s, r, stage)
    if out:
        write_table(ops, out, "opinions", "评审意见")
        write_table(panels, out, "panel_opinions", "专家组综合意见")
    echo(f"评审意见 {len(ops)} opinions; 专家组综合意见 {len(panels)} panel opinions")
    if len(ops) <= 200:
        echo(csv_text(ops))
    if not panels.empty:
        echo(csv_text(panels))
    if not missing.empty:
        echo(f"缺少评审意见 {len(missing)} outlying total(s) without an opinion (ask the expert for one):")
        echo(csv_text(missing))
