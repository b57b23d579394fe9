"""`reviewer responses`: the experts' answers to a published stage (issue 16; reviewer.store.seat_responses).

    reviewer responses --round R --stage S                      the response board (answered, late, open)
    reviewer responses answer --round R --stage S --expert E --act confirm|decline|recuse [...]
                                                                 an answer the staff took by phone or letter
    reviewer responses recusal --round R --stage S -a APP --expert E --accept|--reject --reason ...
    reviewer responses expire --round R --stage S               mark seats past their deadline 未答复
    reviewer responses refill --round R --stage S [-a APP --expert E --approve CANDIDATE]
                                                                 补抽: all waiting seats, or approve one proposal
    reviewer responses recheck --round R                        日期冲突 / 专家库资格: seats made impossible → 补抽
    reviewer responses history --expert E                       one expert's answers in every round
    reviewer responses conflicts --round R                      the pair conflicts (回避, every stage)

After an answer, a recusal accepted or `expire`, the seats waiting for 补抽 are refilled at once when the
round's policy says [responses] refill = "automatic"; under "approve" `refill` shows each proposal and
`refill --approve` applies one. An accepted recusal forbids the pair in every stage
(reviewer.store.pair_conflicts); its seats in other published stages are recused and refilled too.
"""
from __future__ import annotations

from typing import Optional

import typer

from reviewer.cli.common import DbOpt, UserOpt, current_user, echo, open_store
from reviewer.errors import UserError
from reviewer.store import pair_conflicts, repo, seat_obstacles, seat_refill, seat_responses
from reviewer.store.seat_responses import local_text

app = typer.Typer(help="专家答复 The experts' answers to a published stage: board, answers, 补抽.")
StageOpt = typer.Option(..., "--stage", "-s", help="Stage (阶段), e.g. 初审评估.")
RoundReq = typer.Option(..., "--round", "-r", help="Round code (reviewer round list).")


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(app, name="responses")


@app.callback(invoke_without_command=True)
def responses(ctx: typer.Context,
              round_: Optional[str] = typer.Option(None, "--round", "-r", help="Round code (reviewer round list)."),
              stage: Optional[str] = typer.Option(None, "--stage", "-s", help="Stage (阶段), e.g. 初审评估."),
              db: Optional[str] = DbOpt) -> None:
    """答复看板 The response board of a stage: who answered, who is late, what is still open."""
    if ctx.invoked_subcommand is not None:
        return
    if not round_ or not stage:
        raise UserError("reviewer responses 需要 --round 和 --stage / needs --round R --stage S "
                        "(or a command: answer, recusal, expire, refill)")
    show_board(open_store(db), round_, stage)


def show_board(store, code: str, stage: str) -> None:
    with store.read() as s:
        r = repo.get_round(s, code)
        repo.round_policy(r).stage(stage)
        if repo.publication(s, r, stage) is None:
            raise UserError(f"{stage} 尚未发布 is not published in round {code}: nobody is invited yet")
        b = seat_responses.board(s, r, stage)
        start = seat_responses.stage_start(r, repo.round_policy(r), stage)
    n = seat_responses.summary(b)
    echo(f"{code} {stage} 答复看板 response board — 开始 starts {local_text(start) or '未排期 not scheduled'}")
    echo(f"  席位 seats {n['seats']}: 已确认 confirmed {n['confirmed']}, 待答复 open {n['open']}, 逾期 late {n['late']}, "
         f"待补抽 to refill {n['needs_refill']}, 待审核回避 recusals to decide {n['recusals']}, 已替换 replaced "
         f"{n['replaced']}, 新日期不可参加 unavailable on the day {n['unavailable']}")
    for x in b.sort_values(["application_id", "assignment_id"]).itertuples(index=False):
        flags = [f for f, on in (("逾期 LATE", x.late), ("待补抽 REFILL", x.needs_refill),
                                 ("新日期不可参加 UNAVAILABLE", x.unavailable)) if on]
        extra = [v for v in (x.schedule_note, x.reason, f"关系 {x.relation}" if x.relation else "",
                             f"→ {x.replaced_by}" if x.replaced_by else "", x.refill_note.splitlines()[0]
                             if x.refill_note else "") if v]
        echo(f"  {x.application_id} {x.expert_id} {'组长' if x.role == 'chair' else '成员'} {x.status_zh} "
             f"({seat_responses.STATUS_EN[x.status]}) 截止 {local_text(x.deadline) or '-'}"
             f"{' ' + ' '.join(flags) if flags else ''}{' · ' + ' · '.join(extra) if extra else ''}")


def report_refill(rep: seat_refill.RefillReport | None) -> None:
    if rep is None:
        echo("政策为人工审核补抽 policy [responses] refill = approve: see `reviewer responses refill`")
        return
    for p in rep.done:
        echo(f"补抽 refilled: {p.text}")
    for app_id, expert, why in rep.pending:
        echo(f"未补抽 not refilled {app_id} {expert}: {why.splitlines()[0]}")


@app.command("answer")
def answer(round_: str = RoundReq, stage: str = StageOpt,
           expert: str = typer.Option(..., "--expert", "-e", help="Expert id."),
           act: str = typer.Option(..., "--act", help="confirm (确认参加) / decline (请假) / recuse (申请回避)."),
           application: Optional[str] = typer.Option(None, "--application", "-a",
                                                     help="One application (needed for recuse)."),
           relation: str = typer.Option("", "--relation", help="申请回避: " + ", ".join(seat_responses.RELATIONS)),
           reason: str = typer.Option("", "--reason", help="Why (decline, recuse)."),
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """代为登记答复 Record an expert's answer taken by phone or letter (audited with the staff member's name)."""
    if act not in seat_responses.EXPERT_ACTS:
        raise UserError(f"--act {act!r}: expected one of {', '.join(seat_responses.EXPERT_ACTS)}")
    store, who = open_store(db), current_user(user)
    with store.write() as s:
        done = seat_responses.answer(s, repo.get_round(s, round_), expert, stage, act, user=who, reason=reason,
                                     relation=relation, application_id=application)
    echo(f"已记录 recorded: {expert} {seat_responses.ACT_ZH[act]} ({len(done.changed)} seat(s))")
    if done.needs_refill:
        report_refill(seat_refill.auto_refill(store, round_, stage))


@app.command("recusal")
def recusal(round_: str = RoundReq, stage: str = StageOpt,
            application: str = typer.Option(..., "--application", "-a"),
            expert: str = typer.Option(..., "--expert", "-e"),
            accept: bool = typer.Option(..., "--accept/--reject", help="Accept (the seat is refilled) or reject."),
            reason: str = typer.Option("", "--reason", help="Why (required to reject)."),
            db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """审核回避申请 Decide an expert's 申请回避 on one seat."""
    store = open_store(db)
    with store.write() as s:
        done = seat_responses.decide_recusal(s, repo.get_round(s, round_), stage, application, expert, accept=accept,
                                             reason=reason, user=current_user(user))
    echo(f"回避申请已{'同意 accepted' if accept else '驳回 rejected'}: {application} {expert}")
    if accept:   # a conflict of the pair: forbidden in every stage; its seats in other published stages recused
        echo(f"{expert} × {application}: 各阶段均回避 the pair is forbidden in every stage"
             + (f"; also recused in {', '.join(done.also)}" if done.also else ""))
        for stg in (stage, *done.also):
            report_refill(seat_refill.auto_refill(store, round_, stg))


@app.command("expire")
def expire(round_: str = RoundReq, stage: str = StageOpt,
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """标记未答复 Mark the invited seats past their deadline as no reply (then 补抽 per the policy)."""
    store = open_store(db)
    with store.write() as s:
        done = seat_responses.expire(s, repo.get_round(s, round_), stage, user=current_user(user))
    echo(f"未答复 no reply: {len(done.changed)} seat(s)"
         + (": " + ", ".join(f"{x.application_id} {x.expert_id}" for x in done.changed) if done.changed else ""))
    if done.changed:
        report_refill(seat_refill.auto_refill(store, round_, stage))


@app.command("refill")
def refill(round_: str = RoundReq, stage: str = StageOpt,
           application: Optional[str] = typer.Option(None, "--application", "-a"),
           expert: Optional[str] = typer.Option(None, "--expert", "-e", help="The leaving expert."),
           approve: Optional[str] = typer.Option(None, "--approve", help="The proposed replacement you approve."),
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """补抽 Without --approve: show the proposal of every seat waiting for it. With --approve CANDIDATE
    (and -a, -e): apply that proposal (refused if it changed)."""
    store, who = open_store(db), current_user(user)
    if approve:
        if not application or not expert:
            raise UserError("--approve needs --application and --expert (the seat)")
        with store.write() as s:
            p = seat_refill.refill(s, repo.get_round(s, round_), stage, application, expert, user=who,
                                   approved=approve)
        echo(f"补抽 refilled: {p.text}")
        return
    with store.read() as s:
        r = repo.get_round(s, round_)
        b = seat_responses.board(s, r, stage)
        waiting = b[b["needs_refill"]]
        if application:
            waiting = waiting[waiting["application_id"] == application]
        if expert:
            waiting = waiting[waiting["expert_id"] == expert]
        if waiting.empty:
            echo("没有待补抽的席位 no seat waits for a replacement")
        for x in waiting.itertuples(index=False):
            try:
                p = seat_refill.propose(s, r, stage, x.application_id, x.expert_id)
            except UserError as e:
                echo(f"  {x.application_id} {x.expert_id} ({x.status_zh}): 无自动建议 no proposal: {e}")
                continue
            echo(f"  建议 proposal: {p.text} — reviewer responses refill -r {round_} -s {stage} "
                 f"-a {x.application_id} -e {x.expert_id} --approve {p.candidate}")


@app.command("recheck")
def recheck(round_: str = RoundReq, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """重新检查 Seats a moved meeting date (日期冲突) or rule P1 专家库资格 (a credit penalty) made
    impossible in every published, unscored stage go to 补抽 per the policy; seats whose obstacle is gone
    are restored; a scored stage or a pending recusal is left alone and reported."""
    rep = seat_obstacles.recheck(open_store(db), round_, user=current_user(user))
    lines = rep.lines()
    echo(f"{round_}: 待补抽 marked {len(rep.marked)}, 已恢复 restored {len(rep.restored)}, 未处理 left {len(rep.left)}")
    for line in lines:
        echo("  " + line)


@app.command("history")
def history(expert: str = typer.Option(..., "--expert", "-e", help="Expert id."),
            db: Optional[str] = DbOpt) -> None:
    """专家答复记录 Every invitation of one expert in every round and what became of it (declines, no replies, late)."""
    with open_store(db).read() as s:
        h = seat_responses.expert_history(s, expert)
    if h.empty:
        echo(f"专家 {expert} 没有受邀记录 has no invitation in any round of this store")
        return
    counts = h["answer"].value_counts()
    echo(f"专家 {expert}: {len(h)} 次受邀 invitations, " + ", ".join(
        f"{seat_responses.STATUS_ZH.get(k, k)} {v}" for k, v in counts.items()) + f", 逾期 late {int(h['late'].sum())}")
    for x in h.itertuples(index=False):
        echo(f"  {x.round} {x.stage} {x.application_id}: {seat_responses.STATUS_ZH.get(x.answer, x.answer)}"
             f"{' (已替换 replaced)' if x.status == seat_responses.REPLACED else ''}{' 逾期 LATE' if x.late else ''}"
             f"{' · ' + x.reason if x.reason else ''}")


@app.command("conflicts")
def conflicts(round_: str = RoundReq, db: Optional[str] = DbOpt) -> None:
    """回避（全部阶段） The pair conflicts of a round (accepted recusals, relations staff found): each pair, the
    stages its forbids cover and the evidence (reviewer.store.pair_conflicts)."""
    with open_store(db).read() as s:
        pc = pair_conflicts.pairs(s, repo.get_round(s, round_))
    echo(f"{round_}: {len(pc)} 对回避（全部阶段） pair conflict(s)")
    for x in pc.itertuples(index=False):
        echo(f"  {x.expert_id} × {x.application_id}: {'、'.join(x.stages)} · {x.evidence} ({x.created_by})")
