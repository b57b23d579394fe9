"""`reviewer register centre|tech|lifecycle|show|fund|grant|reverse`: the registers that decide (issue 17 part 3;
reviewer.store.registers): the centre register (一领域一中心), the Guangxi technology innovation centre
register (no duplicate subsidy) and the subsidy ledger, kept in the store and audited. `grant` and `reverse`
are the 登记册 page's ledger form: the same store functions, the same rules (reviewer.centres.ledger).

`--round demo-2026` (the app's bundled demo round) reads and writes the demo round's own registers; every
other round uses the department's (reviewer.store.registers.scope_of)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.cli.common import DbOpt, PolicyOpt, ReasonOpt, RoundOpt, UserOpt, current_user, echo, open_store
from reviewer.demo.registers import demo_replay
from reviewer.errors import UserError
from reviewer.exports import write_table
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.ranking import recognition_ranking
from reviewer.screening.eligibility import screen
from reviewer.store import registers, repo, stages
from reviewer.store.runs import run_aggregation

ScopeOpt = typer.Option(None, "--round", "-r", help="The registers of this round (demo-2026: the demo round's own; "
                        "default: the department's).")

app = typer.Typer(help="名录与补助台账 Centre register, technology innovation centre register, subsidy ledger.",
                  no_args_is_help=True)


def register(main_app: typer.Typer) -> None:
    """Add the `register` sub-app to the main `reviewer` app."""
    main_app.add_typer(app, name="register")


def _day(v: Optional[str], what: str) -> dt.date:
    if not v:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise UserError(f"{what} {v!r}: expected a date like 2026-11-01") from None


@app.command("centre")
def register_centre(centre_id: str = typer.Argument(..., help="Centre id, e.g. GXMIC-2022-01."),
                    name: str = typer.Option(..., "--name"), field: str = typer.Option(..., "--field"),
                    state: str = typer.Option(..., "--state", help="试点 / 认定 / 国家级 (occupy the field) or 撤销 (frees it)."),
                    since: str = typer.Option(..., "--since", help="From this date YYYY-MM-DD."),
                    doc: str = typer.Option("", "--doc", help="Document number (文号)."),
                    reason: str = ReasonOpt, policy: Optional[Path] = PolicyOpt, db: Optional[str] = DbOpt,
                    user: Optional[str] = UserOpt) -> None:
    """Register that from SINCE the centre is in STATE (audited)."""
    with open_store(db).write() as s:
        e = registers.add_centre_entry(s, load_policy(policy), centre_id=centre_id, name=name, field=field, state=state,
                                       since=since, document_no=doc, user=current_user(user), reason=reason)
    echo(f"登记 registered: {e.text()}")


@app.command("tech")
def register_tech(name: str = typer.Option(..., "--name"), field: str = typer.Option(..., "--field"),
                  doc: str = typer.Option(..., "--doc", help="Document number that set it up (evidence)."),
                  date: str = typer.Option(..., "--date", help="Date of that document YYYY-MM-DD."),
                  reason: str = typer.Option("", "--reason"), policy: Optional[Path] = PolicyOpt,
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Register a Guangxi technology innovation centre of FIELD: from DATE a new centre there gets no subsidy."""
    with open_store(db).write() as s:
        t = registers.add_tech_centre(s, load_policy(policy), name=name, field=field, document_no=doc, date=date,
                                      user=current_user(user), reason=reason)
    echo(f"登记 registered: {t.text()}")


@app.command("lifecycle")
def register_lifecycle(folder: Optional[Path] = typer.Option(None, "--folder", help="Folder with past_centres.xlsx "
                                                             "and indicators.xlsx (default: the bundled demo)."),
                       as_of: Optional[str] = typer.Option(None, "--as-of", help="Replay up to this date."),
                       policy: Optional[Path] = PolicyOpt, db: Optional[str] = DbOpt,
                       user: Optional[str] = UserOpt) -> None:
    """Replay the centres' life cycle and record its register events and subsidies (only what is new)."""
    pol = load_policy(policy)
    day = _day(as_of or pol.meta.as_of, "--as-of")
    pol = pol.model_copy(update={"meta": pol.meta.model_copy(update={"as_of": day.isoformat()})})
    folder = folder or DEMO_DIR
    rp = demo_replay(folder, pol)
    with open_store(db).write() as s:
        n, m = registers.record_replay(s, pol, rp, user=current_user(user), source=f"life cycle {folder.name} as of {day}")
    echo(f"生命周期 life cycle as of {day}: {n} register events and {m} ledger entries recorded")


@app.command("show")
def register_show(as_of: Optional[str] = typer.Option(None, "--as-of", help="Date (default: today)."),
                  round_code: Optional[str] = ScopeOpt, policy: Optional[Path] = PolicyOpt,
                  db: Optional[str] = DbOpt) -> None:
    """Which fields are taken (一领域一中心) and which have a technology innovation centre as of a date; the ledger."""
    day = _day(as_of, "--as-of")
    pol = load_policy(policy)
    scope = registers.scope_of(round_code)
    with open_store(db).read() as s:
        taken, tech = registers.occupied(s, day, scope), registers.tech_register(s, day, scope)
        ledger = registers.load_ledger(s, pol, day, scope)
    echo(f"中心名录 centre register as of {day}: {len(taken)} fields taken")
    for f, why in sorted(taken.items()):
        echo(f"  {f}: {why}")
    echo(f"技术创新中心名录 technology innovation centres as of {day}: {len(tech)} fields")
    for f, why in sorted(tech.items()):
        echo(f"  {f}: {why}")
    echo(f"补助台账 subsidy ledger: {ledger.total() / 10_000:g}万元 granted, {len(ledger.entries)} entries")
    for e in ledger.entries:
        doc = f" {e.document_no}" if e.document_no else ""
        back = f" (reverses #{e.reverses})" if e.reverses else ""
        echo(f"  #{e.entry_id} {e.date} {e.centre_id} {e.field} {e.kind} {e.status}{back} {e.amount / 10_000:g}万元"
             f"{doc}: {e.reason[:80]}")


@app.command("fund")
def register_fund(round_code: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s",
                                                                                   help="Default: the last stage."),
                  method: Optional[str] = typer.Option(None, "--method"), reason: str = ReasonOpt,
                  out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the ranking here."),
                  db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Rank a stored round (register, stage exclusions, 待复核) and record its subsidies in the ledger (audited;
    a centre already paid for a kind is refused, as are grants beyond the caps or the annual budget)."""
    who = current_user(user)
    st = open_store(db)
    with st.read() as s:
        r = repo.get_round(s, round_code)
        pol = repo.round_policy(r)
        stage = stage or pol.stages.order[-1]
        data = repo.load_data(s, repo.latest_import(s, r).id)
        over = repo.review_overrides(s, r)
        left = stages.exclusions(s, r)
    run, agg = run_aggregation(st, round_code, stage, user=who, method=method)
    sc = screen(data, pol, over).summary.set_index("application_id")
    fields = {a.application_id: a.field for a in data.applications}
    rows = agg[~agg["application_id"].isin(set(left))].assign(field=lambda d: d["application_id"].map(fields))
    rest = [{"application_id": a, "field": fields[a], "eligible": sc.loc[a, "outcome"] == "pass",
             "screening": sc.loc[a, "outcome"], "ineligible_reason": sc.loc[a, "reasons"],
             "stage_exclusion": left.get(a, "")} for a in fields if a not in set(rows["application_id"])]
    table = pd.concat([rows.assign(eligible=True), pd.DataFrame(rest)], ignore_index=True)
    day = pol.as_of_date()
    scope = registers.scope_of(round_code)
    with st.write() as s:
        ledger = registers.load_ledger(s, pol, day, scope)
        start = len(ledger.entries)
        ranking = recognition_ranking(table, pol, register=registers.occupied(s, day, scope), ledger=ledger, on=day)
        n = registers.save_ledger(s, ledger, start, source=f"ranking round {round_code} run #{run.id}: {reason}", user=who,
                                  scope=scope)
    for x in ranking[ranking["decision"] == "recommend"].itertuples(index=False):
        echo(f"  推荐 {x.application_id} {x.field} {x.score:.2f}: {x.funding_note_zh}")
    echo(f"补助台账 ledger: {n} entries recorded (aggregation run #{run.id}); total granted {ledger.total() / 10_000:g}万元")
    if out is not None:
        write_table(ranking, out, "recognition_ranking", "认定排名")


@app.command("grant")
def register_grant(centre_id: str = typer.Argument(..., help="Centre id (in the centre register or the ledger)."),
                   kind: str = typer.Option(..., "--kind", help="new_centre (新认定, cap 200万) or national (国家级, cap 1000万)."),
                   amount: float = typer.Option(..., "--amount", help="Yuan, e.g. 2000000."),
                   date: str = typer.Option(..., "--date", help="Date of payment YYYY-MM-DD (its year's budget)."),
                   doc: str = typer.Option(..., "--doc", help="Document number (文号) of the grant."),
                   reason: str = ReasonOpt, round_code: Optional[str] = ScopeOpt, policy: Optional[Path] = PolicyOpt,
                   db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Record a subsidy paid to a centre (audited); refused when never-twice, the cap or the annual budget forbid it."""
    with open_store(db).write() as s:
        e = registers.record_grant(s, load_policy(policy), centre_id=centre_id, kind=kind, amount=amount, date=date,
                                   document_no=doc, reason=reason, user=current_user(user),
                                   scope=registers.scope_of(round_code))
    echo(f"补助已登记 granted: {e.centre_id} {e.kind} {e.amount / 10_000:g}万元 {e.date} {e.document_no}")


@app.command("reverse")
def register_reverse(entry_id: int = typer.Argument(..., help="Ledger entry number (#, reviewer register show)."),
                     date: str = typer.Option(..., "--date", help="Date of the reversal YYYY-MM-DD."),
                     doc: str = typer.Option("", "--doc", help="Document number (文号) of the reversal."),
                     reason: str = ReasonOpt, round_code: Optional[str] = ScopeOpt, policy: Optional[Path] = PolicyOpt,
                     db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """Reverse (冲销) a granted subsidy with a reason (a ledger entry of its own; audited)."""
    with open_store(db).write() as s:
        e = registers.reverse_grant(s, load_policy(policy), entry_id=entry_id, date=date, reason=reason, document_no=doc,
                                    user=current_user(user), scope=registers.scope_of(round_code))
    echo(f"已冲销 reversed: entry #{entry_id} ({e.centre_id} {e.kind} {-e.amount / 10_000:g}万元) on {e.date}")
