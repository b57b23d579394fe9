"""`reviewer draw commit|reveal` and `reviewer verify-draw`: the publicly verifiable random draw
(随机抽取) on a stored round (`reviewer.store.draws`).

`app` is the `draw` sub-app; :func:`register` adds it and `verify-draw` to the main app.
"""
from __future__ import annotations

from typing import Optional

import typer

from reviewer.cli.common import DbOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.errors import UserError
from reviewer.store import draws

app = typer.Typer(help="随机抽取 A verifiable random draw: commit before, reveal after.", no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    """Add the `draw` sub-app and `verify-draw` to the main `reviewer` app."""
    main_app.add_typer(app, name="draw")
    main_app.command("verify-draw")(verify_draw)


def echo_commitment(com: draws.Commitment) -> None:
    echo(f"承诺 commitment #{com.entry_id}: {com.commitment}")
    echo(f"  输入 inputs sha256 {com.body['inputs_sha256']}, 规则 policy sha256 {com.body['policy_sha256']}")
    echo(f"  阶段 stages {', '.join(com.body['parameters']['stages'])}, q {com.body['parameters'].get('q')}, "
         f"lottery {com.body['lottery_version']}")


@app.command("commit")
def draw_commit(round_: str = RoundOpt,
                stage: list[str] = typer.Option([], "--stage", "-s", help="Stage(s); default all three."),
                q: Optional[float] = typer.Option(None, "--q", help="Seat probability cap (default: the policy's)."),
                seed: Optional[int] = typer.Option(None, "--seed", help="A secret seed (committed by its hash). "
                                                   "Without it the seed comes from a public value given at reveal."),
                db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """抽取前承诺 Record the commitment of a coming draw; publish the printed commitment with a date."""
    com = draws.commit_draw(open_store(db), round_, user=current_user(user), stages=stage or None, q=q, seed=seed)
    echo_commitment(com)
    if com.salt:
        echo(f"  请保密保存 keep secret until the reveal: --seed {seed} --salt {com.salt}")
        echo(f"reveal with: reviewer draw reveal --round {round_} --commit {com.entry_id} --seed {seed} "
             f"--salt {com.salt}")
    else:
        echo("  种子 seed: " + draws.SEED_RULE + " (a value announced after this commitment, e.g. a lottery number)")
        echo(f"reveal with: reviewer draw reveal --round {round_} --commit {com.entry_id} --public-value \"…\"")


@app.command("reveal")
def draw_reveal(round_: str = RoundOpt,
                commit: int = typer.Option(..., "--commit", help="The commitment's id (reviewer draw commit)."),
                seed: Optional[int] = typer.Option(None, "--seed"),
                salt: Optional[str] = typer.Option(None, "--salt"),
                public_value: Optional[str] = typer.Option(None, "--public-value",
                                                           help="The public value announced after the commitment."),
                time_limit: float = typer.Option(60.0, "--time-limit"),
                db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """揭示并抽取 Draw under a commitment and record the run linked to it."""
    run, res, drawn = draws.reveal_draw(open_store(db), round_, commit, user=current_user(user), seed=seed, salt=salt,
                                        public_value=public_value, time_limit=time_limit, echo=echo)
    echo_run(round_, run, res, drawn)


def echo_run(round_: str, run, res, seed: int) -> None:
    p = res.plan
    echo(f"run #{run.id} 随机抽取 draw: {p.status}, seed {seed}, {len(res.panels)} seats")
    if not p.feasible:
        raise UserError("无可行方案 no feasible plan: " + "; ".join(res.diagnostics["message_zh"].astype(str)[:5]))
    echo(f"verify with: reviewer verify-draw {run.id}; publish with: reviewer publish --round {round_} "
         f"--stage STAGE --run {run.id}")


def verify_draw(run_id: int = typer.Argument(..., help="The run of a draw (reviewer round show ROUND)."),
                db: Optional[str] = DbOpt) -> None:
    """验证随机抽取 Recompute a draw from the stored inputs and the revealed seed; compare it with its
    commitment, its stored seats and the panels published from it. Exit 1 on MISMATCH."""
    v = draws.verify_draw(open_store(db), run_id)
    for line in v.lines():
        echo(line)
    if not v.ok:
        raise typer.Exit(1)
