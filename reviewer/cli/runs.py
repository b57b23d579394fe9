"""`reviewer run screen|conflicts|assign|aggregate`: recorded runs on a stored round.

`app` is the `run` sub-app; the main app adds it with :func:`register`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.errors import UserError
from reviewer.exports import write_table
from reviewer.scoring.quorum import insufficient_lines
from reviewer.store import draws, repo
from reviewer.store import runs as store_runs

app = typer.Typer(help="运行 Run screening / conflicts / planning / aggregation on a stored round and "
                       "record the run.", no_args_is_help=True)


def echo_reference_date(db: Optional[str], code: str) -> None:
    """Print the round's reference date (its --as-of, else the policy's, else today) before a run."""
    with open_store(db).read() as s:
        r = repo.get_round(s, code)
        pol = repo.round_policy(r)
    src = "round --as-of" if r.as_of else "policy meta.as_of" if pol.meta.as_of else "today, 今天"
    echo(f"参考日期 reference date: {pol.as_of_date().isoformat()} ({src})")


def register(main_app: typer.Typer) -> None:
    """Add the `run` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="run")


@app.command("screen")
def run_screen(round_: str = RoundOpt, out: Optional[Path] = typer.Option(None, "--out", "-o"),
               db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """形式审查 on the round's latest import, with the staff's needs-review decisions; recorded."""
    echo_reference_date(db, round_)
    run, res = store_runs.run_screening(open_store(db), round_, user=current_user(user))
    c = res.counts()
    echo(f"run #{run.id} screening: pass {c.get('pass', 0)}, fail {c.get('fail', 0)}, "
         f"needs-review {c.get('needs-review', 0)}")
    for x in res.summary.itertuples(index=False):
        if x.outcome != "pass":
            echo(f"  {x.application_id} [{x.outcome_zh}] {x.reasons}")
    if out:
        write_table(res.summary, out, "screening_summary", "形式审查汇总")
        write_table(res.checks, out, "screening_checks", "形式审查明细")


@app.command("conflicts")
def run_conflicts(round_: str = RoundOpt, out: Optional[Path] = typer.Option(None, "--out", "-o"),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """回避 on the round's latest import with the staff's waivers; recorded."""
    echo_reference_date(db, round_)
    run, cs = store_runs.run_conflicts(open_store(db), round_, user=current_user(user))
    echo(f"run #{run.id} conflicts: {run.summary['hits']} hits, {run.summary['excluded_pairs']} excluded pairs")
    if out:
        write_table(cs.table(), out, "conflicts", "回避明细")


@app.command("assign")
def run_assign(round_: str = RoundOpt,
               stage: list[str] = typer.Option([], "--stage", "-s", help="Stage(s); default all three."),
               seed: int = typer.Option(0, help="Seed (recorded; reproduces the plan)."),
               randomize: bool = typer.Option(False, "--randomize", help="随机抽取 random draw with a cap."),
               time_limit: float = typer.Option(60.0, "--time-limit"),
               workers: int = typer.Option(1, "--workers", help="Solver threads; 1 = deterministic "
                                           "(reproducible), more may be faster but not reproducible."),
               include_review: bool = typer.Option(False, "--include-review"),
               out: Optional[Path] = typer.Option(None, "--out", "-o"),
               db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """专家组 Plan panels from the stored round with its locks, forbids and waivers; recorded. Locks
    that no plan can hold (after a re-import or a decision) are refused before solving."""
    echo_reference_date(db, round_)
    with open_store(db).read() as s:
        r = repo.get_round(s, round_)
        errors, notes = repo.planning_lock_check(s, r, stage or repo.round_policy(r).stages.order)
    for n in notes:
        echo(f"  注意 note: {n}")
    if errors:
        raise UserError("锁定无法满足，未规划（reviewer unlock 解除） / locks no plan can hold, nothing planned "
                        "(reviewer unlock removes one):\n  - " + "\n  - ".join(errors))
    if randomize:   # 随机抽取: the commitment is recorded first, then the draw (reviewer verify-draw RUN)
        run, res, com = draws.draw_now(open_store(db), round_, user=current_user(user), stages=stage or None,
                                       seed=seed, time_limit=time_limit, include_review=include_review, echo=echo)
        echo(f"承诺 commitment #{com.entry_id}: {com.commitment} (revealed: seed {seed}, salt {com.salt})")
    else:
        run, res = store_runs.run_planning(open_store(db), round_, user=current_user(user), stages=stage or None,
                                           seed=seed, randomize=randomize, time_limit=time_limit, workers=workers,
                                           include_review=include_review, echo=echo)
    p = res.plan
    echo(f"run #{run.id} planning: {p.status} via {p.path} in {p.wall_time:.1f}s, {len(res.panels)} seats, "
         f"objective {p.objective:.1f}, gap {p.gap:.4%}")
    if not p.feasible:
        for d in res.diagnostics.itertuples(index=False):
            echo(f"   - {d.message_zh} / {d.message_en}")
    if out:
        res.write(out)
    if not p.feasible:
        raise typer.Exit(1)
    echo(f"publish with: reviewer publish --round {round_} --stage STAGE --run {run.id}")


@app.command("aggregate")
def run_aggregate(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                  method: Optional[str] = typer.Option(None, "--method", "-m"),
                  seed: Optional[int] = typer.Option(None, "--seed"),
                  resamples: Optional[int] = typer.Option(None, "--resamples"),
                  no_interval: bool = typer.Option(False, "--no-interval"),
                  out: Optional[Path] = typer.Option(None, "--out", "-o"),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """汇总评分 Aggregate the stage's valid stored scores; the run and its ranking are recorded."""
    run, res = store_runs.run_aggregation(open_store(db), round_, stage, user=current_user(user), method=method,
                                          seed=seed, resamples=resamples, interval=not no_interval)
    echo(f"run #{run.id} aggregation ({run.parameters['method']}): {len(res)} applications, "
         f"{int(res['rank'].notna().sum())} ranked")
    for line in insufficient_lines(res):
        echo(f"评分不足 insufficient scores: {line}")
    cols = [c for c in ("application_id", "field", "score", "rank", "status", "n_scores", "n_required", "ci_low",
                        "ci_high") if c in res.columns]
    echo(res[cols].head(50).to_string(index=False))
    if out:
        write_table(res, out, "aggregated", "汇总评分")
