"""`reviewer pool`: the expert pool that remembers across rounds (issue 16 item 6; reviewer.store.pool).

    reviewer pool import FILE [--reason ...]                  merge an updated pool file by 专家编号 (history kept)
    reviewer pool import --from-round R                       the same merge from a round's imported experts
    reviewer pool show [--expert E] [--round R]               the pool, or one expert's record and bars
    reviewer pool penalty add --expert E --kind K --start D [--end D] --reason ... [--evidence ...]
    reviewer pool penalty list [--expert E]
    reviewer pool penalty withdraw ID --reason ...
    reviewer pool rate --expert E --round R --rating 1-5 [--note ...]
    reviewer pool flags [--round R] [--from-bias]             deviation flags kept as evidence (never a penalty)
    reviewer pool bars --round R                              rule P1 专家库资格 in force for a round
    reviewer pool report --year Y [--next R] [--out FILE.xlsx]  the yearly pool report

The penalty kinds, cooling-off months and rotation limit are the policy's [pool] section: of the round
named with --round, else of --policy (default the bundled policy).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reviewer.cli.common import DbOpt, PolicyOpt, UserOpt, current_user, echo, echo_wrote, open_store
from reviewer.errors import UserError
from reviewer.policy import Policy, load_policy
from reviewer.pool.standing import RULE, RULE_ZH, bar_lines
from reviewer.pool.standing import barred_until
from reviewer.store import pool, pool_report, repo, seat_obstacles

app = typer.Typer(help="专家库档案 The expert pool across rounds: merge import, penalties, ratings, flags, report.")
penalty_app = typer.Typer(help="信用惩戒 Credit penalties with dates (rule P1 专家库资格).")
app.add_typer(penalty_app, name="penalty")
RoundOpt = typer.Option(None, "--round", "-r", help="Round code: its policy's [pool] section applies.")


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(app, name="pool")


def _policy(s, round_: Optional[str], policy: Optional[Path]) -> Policy:
    if round_:
        return repo.round_policy(repo.get_round(s, round_))
    return load_policy(policy)


@app.command("import")
def import_(file: Optional[Path] = typer.Argument(None, help="专家库 file (.xlsx/.csv) with the experts table's columns."),
            from_round: Optional[str] = typer.Option(None, "--from-round",
                                                     help="Merge the experts of this round's latest import instead."),
            reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
            sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet name (default: 专家库 / experts)."),
            round_: Optional[str] = RoundOpt, policy: Optional[Path] = PolicyOpt,
            db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """合并导入 Merge an updated pool file by 专家编号: added, changed (fields), left, returned; history kept."""
    who = current_user(user)
    if (file is None) == (from_round is None):
        raise UserError("请给出专家库文件或 --from-round（二选一） give a pool FILE or --from-round R (one of them)")
    with open_store(db).write() as s:
        if from_round:
            rep = pool.import_from_round(s, repo.get_round(s, from_round), user=who, reason=reason)
        else:
            rep = pool.import_pool(s, file, _policy(s, round_, policy), user=who, reason=reason, sheet=sheet)
    for line in rep.lines():
        echo(line)


@app.command("show")
def show(expert: Optional[str] = typer.Option(None, "--expert", "-e", help="One expert's whole record."),
         round_: Optional[str] = typer.Option(None, "--round", "-r", help="Show the bars in force for this round."),
         db: Optional[str] = DbOpt) -> None:
    """专家库 The pool (one line per expert), or one expert's record: changes, penalties, ratings, flags."""
    with open_store(db).read() as s:
        if not expert:
            rows = pool.pool_experts(s)
            echo(f"专家库 pool: {sum(x.active for x in rows)} 在库 in the pool, {sum(not x.active for x in rows)} 已退出 left")
            for x in rows:
                d = x.data
                echo(f"  {x.expert_id} {x.name} {d.get('category', '')} {'、'.join(d.get('fields') or [])} "
                     f"{d.get('city', '')}{'' if x.active else '  （已退出 left）'}")
            return
        pool.known_expert(s, expert)
        echo(f"专家 {expert} 档案 record")
        for c in pool.changes_of(s, expert):
            echo(f"  {c.created_at:%Y-%m-%d} {c.change}: {c.before} → {c.after} ({Path(c.source).name})")
        for p in pool.penalties(s, expert):
            echo(f"  惩戒 penalty #{p.id} {p.kind} {p.start}..{p.end or '撤销为止'}: {p.reason}"
                 + (f"  （已撤销 withdrawn: {p.withdrawn_reason}）" if p.withdrawn else ""))
        for x in pool.ratings(s, expert):
            echo(f"  评价 rating {x.round_code}: {x.rating}/5 {x.note}")
        for x in pool.flags(s, expert):
            echo(f"  标记 flag {x.round_code} {x.source}: {x.flag}（仅作记录 evidence only）")
        if round_:
            r = repo.get_round(s, round_)
            mine = [b for b in pool.bars_for_round(s, r, repo.round_policy(r)) if b[0] == expert]
            echo(f"  {RULE} {RULE_ZH} in {round_}: " + ("; ".join(b[2] for b in mine) if mine else "可抽取 drawable"))


@penalty_app.command("add")
def penalty_add(expert: str = typer.Option(..., "--expert", "-e"),
                kind: str = typer.Option(..., "--kind", help="Penalty kind of the policy's [pool] (e.g. 暂停抽取)."),
                start: str = typer.Option(..., "--start", help="YYYY-MM-DD"),
                end: Optional[str] = typer.Option(None, "--end", help="YYYY-MM-DD (none only for a permanent kind)."),
                reason: str = typer.Option(..., "--reason"),
                evidence: str = typer.Option("", "--evidence", help="Evidence: document number, letter, flag."),
                round_: Optional[str] = RoundOpt, policy: Optional[Path] = PolicyOpt,
                db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """记录信用惩戒 Record a credit penalty (audited)."""
    who, store = current_user(user), open_store(db)
    with store.write() as s:
        pol = _policy(s, round_, policy)
        p = pool.add_penalty(s, pol.pool, expert_id=expert, kind=kind, start=start, end=end, reason=reason,
                             evidence=evidence, user=who)
        echo(f"惩戒 penalty #{p.id} recorded: {expert} {kind} {p.start}..{p.end or '撤销为止 until withdrawn'}")
        pid = p.id
    # published seats rule P1 now bars go to 补抽 (an already scored stage is left alone and reported)
    for rep in seat_obstacles.after_penalty(store, pid, user=who):
        for line in rep.lines():
            echo("  " + line)


@penalty_app.command("list")
def penalty_list(expert: Optional[str] = typer.Option(None, "--expert", "-e"),
                 round_: Optional[str] = RoundOpt, policy: Optional[Path] = PolicyOpt,
                 db: Optional[str] = DbOpt) -> None:
    """惩戒列表 Every credit penalty (withdrawn ones too), with the last day each bars."""
    with open_store(db).read() as s:
        pol = _policy(s, round_, policy)
        rows = pool.penalties(s, expert)
        if not rows:
            echo("无惩戒记录 no penalties recorded")
        for p in rows:
            until = barred_until(pool.as_penalty(p), pol.pool)
            echo(f"#{p.id} {p.expert_id} {p.kind} {p.start}..{p.end or '—'} 不可抽取至 barred until "
                 f"{until or '撤销为止 withdrawn'}: {p.reason}" + (f" [证据 {p.evidence}]" if p.evidence else "")
                 + (f"  （已撤销 withdrawn by {p.withdrawn_by}: {p.withdrawn_reason}）" if p.withdrawn else ""))


@penalty_app.command("withdraw")
def penalty_withdraw(penalty_id: int = typer.Argument(..., help="Penalty number (reviewer pool penalty list)."),
                     reason: str = typer.Option(..., "--reason"),
                     db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """撤销惩戒 Withdraw a penalty (kept, marked withdrawn, audited)."""
    who, store = current_user(user), open_store(db)
    with store.write() as s:
        p = pool.withdraw_penalty(s, penalty_id, reason=reason, user=who)
        echo(f"惩戒 penalty #{p.id} ({p.expert_id}) 已撤销 withdrawn")
    for rep in seat_obstacles.after_penalty(store, penalty_id, user=who):   # seats waiting for 补抽 restored
        for line in rep.lines():
            echo("  " + line)


@app.command("rate")
def rate(expert: str = typer.Option(..., "--expert", "-e"), round_: str = typer.Option(..., "--round", "-r"),
         rating: int = typer.Option(..., "--rating", help="1 (poor) to 5 (excellent)."),
         note: str = typer.Option("", "--note"), db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """专家评价 Rate an expert's work in a round (audited)."""
    who = current_user(user)
    with open_store(db).write() as s:
        pool.rate(s, expert_id=expert, round_code=round_, rating=rating, note=note, user=who)
    echo(f"评价 rated {expert} in {round_}: {rating}/5")


@app.command("flags")
def flags(round_: Optional[str] = typer.Option(None, "--round", "-r"),
          from_bias: bool = typer.Option(False, "--from-bias", help="Keep the round's bias-audit flags (reviewer bias)."),
          db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """偏差标记 Deviation flags on the experts' records: evidence for staff, never an automatic penalty."""
    store = open_store(db)
    if from_bias:
        if not round_:
            raise UserError("--from-bias 需要 --round needs --round R")
        from reviewer.analytics.stored import round_bias   # the audit reads scores: only when asked
        a = round_bias(store, round_)
        flagged = a.experts[a.experts["flagged"]] if not a.experts.empty else a.experts
        items = [(x.expert_id, f"{x.relation_zh} 个人效应 {x.raw_effect:+.2f}", {"q_value": float(x.q_value),
                  "evidence": x.evidence}) for x in flagged.itertuples()]
        with store.write() as s:
            new = pool.record_flags(s, round_, "关联偏差审计 relation-bias audit", items, user=current_user(user))
        echo(f"偏差标记 kept {len(new)} new flag(s) of {len(items)} (仅作记录，不自动惩戒 evidence, never a penalty)")
    with store.read() as s:
        rows = pool.flags(s, round_code=round_)
        for x in rows:
            echo(f"  {x.expert_id} {x.round_code} {x.source}: {x.flag}")
        if not rows:
            echo("无偏差标记 no flags")


@app.command("bars")
def bars(round_: str = typer.Option(..., "--round", "-r"), db: Optional[str] = DbOpt) -> None:
    """专家库资格 Rule P1 in force for a round (on its reference date): who is not drawn, and why."""
    with open_store(db).read() as s:
        r = repo.get_round(s, round_)
        found = pool.bars_for_round(s, r, repo.round_policy(r))
        echo(f"{round_} {RULE} {RULE_ZH}（参考日期 {pool.round_day(r)}）: {len(found)} 项 bar(s)")
        for line in bar_lines(found):
            echo("  " + line)
        for stage, app, expert, why in pool.seated_but_barred(s, r, repo.round_policy(r)):
            echo(f"  ⚠ 已发布席位 published seat {stage} {app} {expert}: 现受 P1 限制，请替换 now barred, replace it "
                 f"(reviewer replace / responses refill): {why}")


@app.command("report")
def report(year: int = typer.Option(..., "--year", help="Rounds of this year."),
           next_round: Optional[str] = typer.Option(None, "--next", help="The coming round: gaps against its applications."),
           out: Path = typer.Option(Path("out") / "pool_report.xlsx", "--out", "-o", help="The .xlsx to write."),
           round_: Optional[str] = RoundOpt, policy: Optional[Path] = PolicyOpt, db: Optional[str] = DbOpt) -> None:
    """年度专家库报告 The yearly pool report: participation, answers, penalties, flags, coverage, gaps, renewal."""
    with open_store(db).read() as s:
        pol = _policy(s, round_ or next_round, policy)
        sheets = pool_report.yearly_report(s, year, pol, next_round)
    ex = sheets["专家参与 experts"]
    echo(f"{year} 年度专家库报告 pool report: {int(ex['in_pool'].sum())} 在库 in the pool, {int((ex['seats'] > 0).sum())} "
         f"参加评审 served, 请假 declines {int(ex['declined'].sum())}, 未答复 no reply {int(ex['no_reply'].sum())}, "
         f"惩戒 penalties {int(ex['penalties'].sum())}, 标记 flags {int(ex['flags'].sum())}, "
         f"应换届复核 due for renewal {int(ex['due_for_renewal'].sum())}")
    gaps = sheets["缺口 gaps"]
    for g in gaps[gaps["gap"] > 0].itertuples():
        echo(f"  缺口 gap {g.field}: 需要 {g.seats_needed}，可抽取 {g.technical_experts} technical experts")
    echo_wrote([pool_report.write_report(sheets, out)])
