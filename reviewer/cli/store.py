"""Commands that work against the review store (`--db URL`, default the local SQLite file, see
reviewer.store.engine): rounds, imports, recorded runs, staff acts (locks, forbids, waivers,
needs-review decisions, publication, replacements, score corrections: each one audited), the
audit log, reproduction of a recorded run and the expert packs.

The main app (reviewer/cli/main.py) calls :func:`register`.
"""
from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from reviewer.errors import UserError

DbOpt = typer.Option(None, "--db", envvar="REVIEWER_DB_URL",
                     help="Database URL or SQLite file (default: $REVIEWER_HOME/reviewer.sqlite, "
                          "~/.local/share/mic-reviewer/reviewer.sqlite). PostgreSQL: postgresql+psycopg://user@host/db")
UserOpt = typer.Option(None, "--user", "-u", envvar="REVIEWER_USER",
                       help="Who does this (recorded in the audit log); default the login name.")
RoundOpt = typer.Option(..., "--round", "-r", help="Round code (reviewer round list).")
ReasonOpt = typer.Option(..., "--reason", help="Why (recorded in the audit log).")


def echo(msg: str = "") -> None:
    typer.echo(msg)


def _store(db: Optional[str]):
    from reviewer.store import Store
    return Store(db)


def _user(user: Optional[str]) -> str:
    u = (user or "").strip()
    if not u:
        try:
            u = getpass.getuser()
        except Exception:
            u = ""
    if not u:
        raise UserError("say who you are: --user NAME (or set REVIEWER_USER)")
    return u


def _stage(stage: str, policy) -> str:
    if stage not in policy.stages.order:
        raise UserError(f"unknown stage {stage!r}; stages are {', '.join(policy.stages.order)}")
    return stage


def register(app: typer.Typer) -> None:
    """Add the store commands to the main `reviewer` app."""
    round_app = typer.Typer(help="年度批次 Review rounds in the store: create, list, show, settings.",
                            no_args_is_help=True)
    run_app = typer.Typer(help="运行 Run screening / conflicts / planning / aggregation on a stored round and "
                               "record the run.", no_args_is_help=True)
    audit_app = typer.Typer(help="审计日志 The tamper-evident audit log: verify, export.", no_args_is_help=True)
    scores_app = typer.Typer(help="评分 Scores of a round: import submitted sheets, correct, list.",
                             no_args_is_help=True)
    app.add_typer(round_app, name="round")
    app.add_typer(run_app, name="run")
    app.add_typer(audit_app, name="audit")
    app.add_typer(scores_app, name="scores")

    # ------------------------------------------------------------ rounds

    @round_app.command("create")
    def round_create(code: str = typer.Argument(..., help="Round code, e.g. 2026."),
                     name: str = typer.Option("", help="Display name (default: 'CODE 制造业创新中心试点遴选')."),
                     year: Optional[int] = typer.Option(None, help="Year (default: the policy's meta.year)."),
                     as_of: Optional[str] = typer.Option(None, "--as-of", help="Reference date YYYY-MM-DD for the "
                                                         "3-year windows (default: the policy's, else the day of each run)."),
                     policy: Optional[Path] = typer.Option(None, "--policy", help="Policy file; its text is stored "
                                                           "with the round (default reviewer/data/policy.toml)."),
                     db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """Create a round; the policy text in force is stored with it."""
        from reviewer.store import repo
        st = _store(db)
        with st.write() as s:
            r = repo.create_round(s, code, user=_user(user), year=year, name=name, as_of=as_of, policy_path=policy)
        echo(f"批次 round {r.code} created: {r.name}, policy sha256 {r.policy_sha256[:12]}…, store {st.display_url}")

    @round_app.command("list")
    def round_list(db: Optional[str] = DbOpt) -> None:
        """List the rounds in the store."""
        from reviewer.store import repo
        st = _store(db)
        with st.read() as s:
            rounds = repo.list_rounds(s)
            if not rounds:
                echo(f"no rounds in {st.display_url} (reviewer round create CODE)")
            for r in rounds:
                n_imp = len(s.execute(repo.select(repo.ImportSnapshot.id).where(
                    repo.ImportSnapshot.round_id == r.id)).all())
                echo(f"{r.code}\t{r.name}\tyear {r.year}\tas-of {r.as_of or '-'}\timports {n_imp}\t"
                     f"runs {len(repo.runs_of(s, r))}\tcreated {r.created_at:%Y-%m-%d} by {r.created_by}")

    @round_app.command("show")
    def round_show(code: str = typer.Argument(...), db: Optional[str] = DbOpt) -> None:
        """Everything recorded for a round: settings, imports, runs, publications, scores."""
        from reviewer.store import repo
        from reviewer.store.models import ImportSnapshot, Publication
        st = _store(db)
        with st.read() as s:
            r = repo.get_round(s, code)
            pol = repo.round_policy(r)
            echo(f"批次 round {r.code}: {r.name} (year {r.year}, reference date {pol.as_of_date()}, version {r.version})")
            echo(f"  policy {r.policy_source} sha256 {r.policy_sha256}")
            echo(f"  settings {json.dumps(r.settings or {}, ensure_ascii=False)}")
            for imp in s.execute(repo.select(ImportSnapshot).where(ImportSnapshot.round_id == r.id)
                                 .order_by(ImportSnapshot.id)).scalars():
                echo(f"  import #{imp.id} {imp.created_at:%Y-%m-%d %H:%M} by {imp.created_by}: {imp.source}, "
                     f"{imp.n_rows} records, {imp.n_errors} errors / {imp.n_issues} issues")
                for f in imp.files:
                    echo(f"     {f.table_name}: {f.file_name}{' [' + f.sheet + ']' if f.sheet else ''} "
                         f"sha256 {f.sha256[:12]}… {f.loaded}/{f.rows} rows")
            for run in repo.runs_of(s, r):
                extra = ""
                if run.kind == "planning":
                    extra = (f" stages {','.join(run.stages)} seed {run.seed} status {run.status} gap "
                             f"{run.gap if run.gap is not None else '-'} {run.wall_seconds or 0:.1f}s seats "
                             f"{run.summary.get('seats')}")
                elif run.kind == "aggregation":
                    extra = f" stage {','.join(run.stages)} method {run.parameters.get('method')}"
                echo(f"  run #{run.id} {run.kind} {run.created_at:%Y-%m-%d %H:%M} by {run.created_by} "
                     f"(import #{run.import_id}){extra}")
            for pub in s.execute(repo.select(Publication).where(Publication.round_id == r.id)
                                 .order_by(Publication.id)).scalars():
                seats = repo.published_seats(s, r, pub.stage, include_replaced=True)
                echo(f"  published {pub.stage} {pub.published_at:%Y-%m-%d %H:%M} by {pub.published_by}"
                     f"{' from run #' + str(pub.run_id) if pub.run_id else ' from ' + pub.source}: "
                     f"{seats['application_id'].nunique()} panels, {int((seats['status'] == 'active').sum())} active "
                     f"seats, {int((seats['status'] == 'replaced').sum())} replaced")
            sc = repo.scores_frame(s, r, include_void=True)
            if not sc.empty:
                echo(f"  scores: {int((~sc['void']).sum())} valid, {int(sc['void'].sum())} void")

    @round_app.command("settings")
    def round_settings(code: str = typer.Argument(...),
                       stage: Optional[str] = typer.Option(None, "--stage", "-s", help="Stage whose meeting to set."),
                       date: Optional[str] = typer.Option(None, help="Meeting date YYYY-MM-DD."),
                       time_: Optional[str] = typer.Option(None, "--time", help="Start time HH:MM."),
                       place: Optional[str] = typer.Option(None, help="Meeting place."),
                       contact: Optional[str] = typer.Option(None, help="Contact person and phone."),
                       site_start: Optional[str] = typer.Option(None, "--site-start", help="First day of site inspections."),
                       site_per_day: Optional[int] = typer.Option(None, "--site-per-day",
                                                                  help="Site inspections per day (same city)."),
                       version: Optional[int] = typer.Option(None, "--version", help="The settings version you "
                                                             "edited (refused if someone changed them since)."),
                       reason: str = typer.Option("", "--reason"), db: Optional[str] = DbOpt,
                       user: Optional[str] = UserOpt) -> None:
        """Meeting info and site-inspection dates used by the expert packs."""
        import datetime as dt
        from reviewer.store import repo
        changes: dict = {}
        for name, v in (("date", date), ("site_start", site_start)):
            if v:
                try:
                    dt.date.fromisoformat(v)
                except ValueError:
                    raise UserError(f"--{name.replace('_', '-')} {v!r}: expected a date like 2026-12-01") from None
        if time_ and not __import__("re").fullmatch(r"\d{1,2}:\d{2}", time_):
            raise UserError(f"--time {time_!r}: expected HH:MM, e.g. 09:00")
        st = _store(db)
        with st.write() as s:
            r = repo.get_round(s, code)
            meeting = {k: v for k, v in (("date", date), ("time", time_), ("place", place), ("contact", contact))
                       if v is not None}
            if meeting:
                if not stage:
                    raise UserError("--stage is needed for --date/--time/--place/--contact")
                _stage(stage, repo.round_policy(r))
                changes["meetings"] = {**(r.settings or {}).get("meetings", {}),
                                       stage: {**(r.settings or {}).get("meetings", {}).get(stage, {}), **meeting}}
            if site_start:
                changes["site_start"] = site_start
            if site_per_day:
                changes["site_per_day"] = site_per_day
            if not changes:
                echo(json.dumps(r.settings or {}, ensure_ascii=False, indent=2))
                echo(f"version {r.version}")
                return
            repo.update_round_settings(s, r, changes, user=_user(user), reason=reason, expected_version=version)
        echo(f"批次 round {code}: settings updated")

    # ------------------------------------------------------------ import

    @app.command("import")
    def import_(path: Path = typer.Argument(..., help="Round workbook, folder, or applications file (as for "
                                                      "reviewer screen / conflicts)."),
                round_: str = RoundOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt,
                allow_partial: bool = typer.Option(False, "--allow-partial",
                                                   help="Exit 0 even when some rows were rejected.")) -> None:
        """导入 Import the round's input files into the store (one transaction: all or nothing)."""
        from reviewer.intake.io import load_round_from
        from reviewer.store import repo
        st = _store(db)
        u = _user(user)
        with st.read() as s:
            pol = repo.round_policy(repo.get_round(s, round_))
        data, report = load_round_from(path, pol)
        for line in report.summary_lines():
            echo("  " + line)
        for i in report.all_issues:
            echo("    " + str(i))
        with st.write() as s:
            snap = repo.record_import(s, repo.get_round(s, round_), data, report, user=u, source=str(path))
        echo(f"导入 import #{snap.id} into round {round_}: {snap.n_rows} records, {snap.n_errors} errors "
             f"({st.display_url})")
        if snap.n_errors and not allow_partial:
            echo(f"有 {snap.n_errors} 条输入错误；已导入成功载入的行。 / {snap.n_errors} input errors: the good rows were "
                 "imported. Fix the file and import again, or pass --allow-partial.")
            raise typer.Exit(1)

    # ------------------------------------------------------------ runs

    @run_app.command("screen")
    def run_screen(round_: str = RoundOpt, out: Optional[Path] = typer.Option(None, "--out", "-o"),
                   db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """形式审查 on the round's latest import, with the staff's needs-review decisions; recorded."""
        from reviewer.exports import write_table
        from reviewer.store.runs import run_screening
        run, res = run_screening(_store(db), round_, user=_user(user))
        c = res.counts()
        echo(f"run #{run.id} screening: pass {c.get('pass', 0)}, fail {c.get('fail', 0)}, "
             f"needs-review {c.get('needs-review', 0)}")
        for x in res.summary.itertuples(index=False):
            if x.outcome != "pass":
                echo(f"  {x.application_id} [{x.outcome_zh}] {x.reasons}")
        if out:
            write_table(res.summary, out, "screening_summary", "形式审查汇总")
            write_table(res.checks, out, "screening_checks", "形式审查明细")

    @run_app.command("conflicts")
    def run_conflicts_cmd(round_: str = RoundOpt, out: Optional[Path] = typer.Option(None, "--out", "-o"),
                          db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """回避 on the round's latest import with the staff's waivers; recorded."""
        from reviewer.exports import write_table
        from reviewer.store.runs import run_conflicts
        run, cs = run_conflicts(_store(db), round_, user=_user(user))
        echo(f"run #{run.id} conflicts: {run.summary['hits']} hits, {run.summary['excluded_pairs']} excluded pairs")
        if out:
            write_table(cs.table(), out, "conflicts", "回避明细")

    @run_app.command("assign")
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
        """专家组 Plan panels from the stored round with its locks, forbids and waivers; recorded."""
        from reviewer.store.runs import run_planning
        run, res = run_planning(_store(db), round_, user=_user(user), stages=stage or None, seed=seed,
                                randomize=randomize, time_limit=time_limit, workers=workers,
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

    @run_app.command("aggregate")
    def run_aggregate(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                      method: Optional[str] = typer.Option(None, "--method", "-m"),
                      seed: Optional[int] = typer.Option(None, "--seed"),
                      resamples: Optional[int] = typer.Option(None, "--resamples"),
                      no_interval: bool = typer.Option(False, "--no-interval"),
                      out: Optional[Path] = typer.Option(None, "--out", "-o"),
                      db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """汇总评分 Aggregate the stage's valid stored scores; the run and its ranking are recorded."""
        from reviewer.exports import write_table
        from reviewer.store.runs import run_aggregation
        run, res = run_aggregation(_store(db), round_, stage, user=_user(user), method=method, seed=seed,
                                   resamples=resamples, interval=not no_interval)
        echo(f"run #{run.id} aggregation ({run.parameters['method']}): {len(res)} applications")
        cols = [c for c in ("application_id", "field", "score", "rank", "n_scores", "ci_low", "ci_high") if c in res.columns]
        echo(res[cols].head(50).to_string(index=False))
        if out:
            write_table(res, out, "aggregated", "汇总评分")

    # ------------------------------------------------------------ staff acts (audited)

    def _seat_rule(kind: str, round_, stage, expert, application, reason, db, user) -> None:
        from reviewer.store import repo
        with _store(db).write() as s:
            r = repo.get_round(s, round_)
            x = repo.add_seat_rule(s, r, kind, stage, expert, application, reason=reason, user=_user(user))
        echo(f"{'锁定 lock' if kind == 'lock' else '禁止 forbid'} #{x.id}: {stage} {expert} × {application} "
             "(applies to the next planning run)")

    @app.command("lock")
    def lock(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
             expert: str = typer.Option(..., "--expert", "-e"), application: str = typer.Option(..., "--application", "-a"),
             reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """锁定 Force an expert onto an application's panel in the next planning runs (audited)."""
        _seat_rule("lock", round_, stage, expert, application, reason, db, user)

    @app.command("forbid")
    def forbid(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
               expert: str = typer.Option(..., "--expert", "-e"), application: str = typer.Option(..., "--application", "-a"),
               reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """禁止 Keep an expert off an application's panel in the next planning runs (audited)."""
        _seat_rule("forbid", round_, stage, expert, application, reason, db, user)

    @app.command("waive")
    def waive(round_: str = RoundOpt, expert: str = typer.Option(..., "--expert", "-e"),
              application: str = typer.Option(..., "--application", "-a"),
              rule: str = typer.Option(..., "--rule", help="Waivable rule id, e.g. C6."),
              reason: str = ReasonOpt, db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """豁免 Waive a waivable conflict for one pair (audited)."""
        from reviewer.store import repo
        with _store(db).write() as s:
            w = repo.add_waiver(s, repo.get_round(s, round_), expert, application, rule, reason=reason,
                                user=_user(user))
        echo(f"豁免 waiver #{w.id}: {expert} × {application} {rule}")

    @app.command("decide")
    def decide(application: str = typer.Argument(...), rule: str = typer.Argument(..., help="Check id, e.g. E7."),
               decision: str = typer.Argument(..., help="pass or fail"), round_: str = RoundOpt,
               reason: str = ReasonOpt, version: Optional[int] = typer.Option(None, "--version"),
               db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """复核 Decide a needs-review screening check (audited); used by later runs."""
        from reviewer.store import repo
        with _store(db).write() as s:
            repo.decide_review(s, repo.get_round(s, round_), application, rule, decision, reason=reason,
                               user=_user(user), expected_version=version)
        echo(f"复核 {application} {rule}: {decision}")

    @app.command("publish")
    def publish(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                run: Optional[int] = typer.Option(None, "--run", help="Planning run whose seats to publish."),
                from_file: Optional[Path] = typer.Option(None, "--from-file", help="Or a panels table (.csv/.xlsx: "
                                                         "阶段/stage, 申报编号/application_id, 专家编号/expert_id, 角色/role)."),
                reason: str = typer.Option("", "--reason"), db: Optional[str] = DbOpt,
                user: Optional[str] = UserOpt) -> None:
        """发布 Publish a stage's assignment (immutable afterwards; changes only by recorded replacements)."""
        from reviewer.store import repo
        if (run is None) == (from_file is None):
            raise UserError("give exactly one of --run RUN_ID or --from-file PANELS")
        with _store(db).write() as s:
            r = repo.get_round(s, round_)
            if run is not None:
                rec = repo.get_run(s, run)
                if rec.kind != "planning" or rec.round_id != r.id:
                    raise UserError(f"run #{run} is not a planning run of round {round_}")
                if rec.status not in ("OPTIMAL", "FEASIBLE"):
                    raise UserError(f"run #{run} found no plan ({rec.status}); nothing to publish")
                seats, source = repo.run_seats(s, run), f"run #{run}"
            else:
                seats, source = read_panels(from_file), str(from_file)
            pub = repo.publish(s, r, stage, seats, user=_user(user), reason=reason, run_id=run, source=source)
            n = len(repo.published_seats(s, r, stage))
        echo(f"发布 published {stage} of round {round_} (#{pub.id}, {n} seats, from {source})")

    @app.command("replace")
    def replace(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                application: str = typer.Option(..., "--application", "-a"),
                old: str = typer.Option(..., "--old", help="Expert leaving the panel."),
                new: Optional[str] = typer.Option(None, "--new", help="Expert joining the panel; omitted = the "
                                                  "solver's repair picks the replacement that changes no other seat."),
                reason: str = ReasonOpt,
                version: Optional[int] = typer.Option(None, "--version", help="Panel version you looked at "
                                                      "(refused if someone changed the panel since)."),
                db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """替换 Replace an expert on a published panel (a recorded repair; checks conflicts; audited)."""
        from reviewer.store import repo
        if new is None:
            new = _pick_replacement(_store(db), round_, stage, application, old)
        with _store(db).write() as s:
            r = repo.get_round(s, round_)
            repo.replace_expert(s, r, stage, application, old, new, reason=reason, user=_user(user),
                                expected_version=version)
            v = repo.get_panel(s, r, stage, application).version
        echo(f"替换 {stage} {application}: {old} -> {new} (panel version {v})")

    def _pick_replacement(st, round_: str, stage: str, application: str, old: str) -> str:
        """The solver's minimal-change repair over the round's published seats; only a one-seat change
        is applied automatically (anything larger is shown for staff to apply seat by seat)."""
        from reviewer.panels.planning import repair_published
        from reviewer.store import repo
        with st.read() as s:
            r = repo.get_round(s, round_)
            pol = repo.round_policy(r)
            data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
            seats = pd.concat([repo.published_seats(s, r, stg) for stg in pol.stages.order], ignore_index=True)
        if seats.empty or not ((seats["stage"] == stage) & (seats["application_id"] == application)
                               & (seats["expert_id"] == old)).any():
            raise UserError(f"{old} has no published seat on {application} in {stage}")
        _, rep = repair_published(data, pol, seats, [(stage, old, application)])
        added = rep.changes[rep.changes["change"] == "added"]
        if len(added) != 1 or rep.changed_seats != 1:
            lines = "; ".join(f"{c.change} {c.stage} {c.application_id} {c.expert_id}" for c in rep.changes.itertuples())
            raise UserError(f"no single expert can take the seat without moving others; the minimal repair is: "
                            f"{lines}. Apply it seat by seat with --new")
        pick = added.iloc[0]
        alts = rep.alternates[rep.alternates["application_id"] == application]["expert_id"].head(5).tolist()
        echo(f"修复 the solver picks {pick['expert_id']} {pick['expert_name']} ({pick['category']}); "
             f"候补 alternates: {', '.join(alts) or 'none'}")
        return str(pick["expert_id"])

    # ------------------------------------------------------------ scores

    @scores_app.command("import")
    def scores_import(files: list[Path] = typer.Argument(..., help="Filled score sheets (.xlsx from the packs) or "
                                                         "long score tables (.csv/.xlsx with 阶段/申报编号/专家编号/评分项/得分)."),
                      round_: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s",
                                                                                   help="Stage of long tables without a 阶段 column."),
                      db: Optional[str] = DbOpt, user: Optional[str] = UserOpt,
                      allow_partial: bool = typer.Option(False, "--allow-partial")) -> None:
        """Store submitted scores, checked against the published assignment; a resubmission voids the old score."""
        from reviewer.store import repo
        st = _store(db)
        u = _user(user)
        with st.read() as s:
            r = repo.get_round(s, round_)
            pol = repo.round_policy(r)
            assign = pd.concat([repo.published_seats(s, r, stg, include_replaced=True)
                                for stg in pol.stages.order], ignore_index=True)
        if assign.empty:
            raise UserError(f"round {round_} has no published assignment: scores are checked against it")
        assign = assign.assign(status=assign["status"].map({"active": "active", "replaced": "replaced"}))
        frames, problems = [], []
        for f in files:
            df, errs = read_scores(f, pol, assign, stage)
            frames.append(df)
            problems += errs
        for p in problems:
            echo("  " + p)
        scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        with st.write() as s:
            n = repo.submit_scores(s, repo.get_round(s, round_), scores, user=u,
                                   source=", ".join(f.name for f in files))
        echo(f"评分 stored {n} score rows in round {round_}; {len(problems)} problems")
        if [p for p in problems if p.startswith("ERROR")] and not allow_partial:
            raise typer.Exit(1)

    @scores_app.command("correct")
    def scores_correct(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
                       application: str = typer.Option(..., "--application", "-a"),
                       expert: str = typer.Option(..., "--expert", "-e"),
                       criterion: str = typer.Option(..., "--criterion", "-c"),
                       score: float = typer.Option(..., "--score"), reason: str = ReasonOpt,
                       db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
        """更正 Correct one submitted score (the old one is kept but void; audited)."""
        from reviewer.store import repo
        with _store(db).write() as s:
            new = repo.correct_score(s, repo.get_round(s, round_), stage, application, expert, criterion, score,
                                     reason=reason, user=_user(user))
        echo(f"更正 score #{new.id}: {stage} {application} {expert} {criterion} = {score:g}")

    @scores_app.command("list")
    def scores_list(round_: str = RoundOpt, stage: Optional[str] = typer.Option(None, "--stage", "-s"),
                    include_void: bool = typer.Option(False, "--include-void"),
                    out: Optional[Path] = typer.Option(None, "--out", "-o"), db: Optional[str] = DbOpt) -> None:
        """List stored scores (who submitted them and when; void ones with --include-void)."""
        from reviewer.exports import write_table
        from reviewer.store import repo
        with _store(db).read() as s:
            df = repo.scores_frame(s, repo.get_round(s, round_), stage, include_void=include_void)
        if out:
            write_table(df, out, "scores", "评分")
        echo(df.to_csv(index=False) if len(df) <= 200 else f"{len(df)} rows (use --out)")

    # ------------------------------------------------------------ audit

    @audit_app.command("verify")
    def audit_verify(db: Optional[str] = DbOpt,
                     expect_head: Optional[str] = typer.Option(None, "--expect-head", help="A head hash noted "
                                                               "earlier: it must still be in the chain.")) -> None:
        """Check the hash chain; name the first entry that was changed, inserted or removed."""
        from reviewer.store import audit
        with _store(db).read() as s:
            v = audit.verify(s, expect_head)
        if v.ok:
            echo(f"审计日志完好 audit log OK: {v.entries} entries, head hash {v.head}")
            return
        echo(f"审计日志被篡改 AUDIT LOG TAMPERED: first bad {v.first_bad}")
        for p in v.problems[1:10]:
            echo(f"  also {p}")
        raise typer.Exit(1)

    @audit_app.command("export")
    def audit_export(out: Path = typer.Argument(..., help="File to write: .csv, .xlsx or .json."),
                     round_: Optional[str] = typer.Option(None, "--round", "-r", help="Only this round's entries."),
                     db: Optional[str] = DbOpt) -> None:
        """Write the audit log for inspectors (with the chain verification)."""
        from reviewer.store import audit
        with _store(db).read() as s:
            path = audit.export(s, out, round_)
            v = audit.verify(s)
        echo(f"写出 wrote {path} ({v.entries} entries, chain {'OK' if v.ok else 'BROKEN at ' + str(v.first_bad)})")

    # ------------------------------------------------------------ reproduce, packs

    @app.command("reproduce")
    def reproduce_cmd(run_id: int = typer.Argument(..., help="Run id (reviewer round show ROUND)."),
                      db: Optional[str] = DbOpt) -> None:
        """复现 Rerun a recorded planning / aggregation / screening run from the store and compare."""
        from reviewer.store.reproduce import reproduce
        rep = reproduce(_store(db), run_id)
        for line in rep.lines():
            echo(line)
        if not rep.identical:
            raise typer.Exit(1)

    @app.command("packs")
    def packs(round_: str = RoundOpt, stage: str = typer.Option(..., "--stage", "-s"),
              out: Path = typer.Option(Path("packs"), "--out", "-o"), db: Optional[str] = DbOpt) -> None:
        """专家通知 One pack per expert of a published stage, a zip of all packs and a staff summary."""
        from reviewer.documents.packs import make_packs
        res = make_packs(_store(db), round_, stage, out)
        echo(f"专家通知 {len(res.packs)} packs in {res.zip_path}; staff summary {res.summary_path}")


# ---------------------------------------------------------------- helpers of the commands

PANEL_HEADERS = {"阶段": "stage", "stage": "stage", "申报编号": "application_id", "application_id": "application_id",
                 "专家编号": "expert_id", "expert_id": "expert_id", "角色": "role", "role": "role"}


def read_panels(path: Path) -> pd.DataFrame:
    from reviewer.scoring.scoretable import read_table
    raw = read_table(path)
    df = raw.rename(columns={c: PANEL_HEADERS.get(str(c).strip(), c) for c in raw.columns})
    missing = [c for c in ("stage", "application_id", "expert_id") if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; expected 阶段, 申报编号, 专家编号, 角色")
    if "role" not in df.columns:
        df["role"] = "member"
    df["role"] = df["role"].map(lambda v: {"组长": "chair", "成员": "member"}.get(str(v).strip(), str(v).strip()))
    bad = df[~df["role"].isin(["chair", "member"])]
    if len(bad):
        raise UserError(f"{path}: row {bad.index[0] + 2}, column 角色: {bad['role'].iloc[0]!r}; expected 组长 or 成员")
    return df[["stage", "application_id", "expert_id", "role"]].astype(str)


def read_scores(path: Path, policy, assignments: pd.DataFrame, stage: Optional[str]) -> tuple[pd.DataFrame, list[str]]:
    """A filled score sheet (validated by reviewer.scoring.scoresheets) or a long table (reviewer.cli.scoring)."""
    from reviewer.scoring.scoresheets import import_score_sheets
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook
        try:
            is_sheet = "_meta" in load_workbook(path, read_only=True).sheetnames
        except Exception:
            raise UserError(f"{path}: not a readable .xlsx file") from None
        if is_sheet:
            res = import_score_sheets([path], policy, assignments)
            return res.scores, [str(i) for i in res.issues]
    from reviewer.scoring.scoretable import read_table, validate_scores
    df, errors = validate_scores(read_table(path), path, policy)
    errors = ["ERROR " + e for e in errors]
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
    for i, x in enumerate(df.itertuples(index=False)):
        st = status.get((x.stage, x.expert_id, x.application_id))
        if st is None:
            errors.append(f"ERROR {path}: {x.stage} {x.application_id} {x.expert_id}: expected an application assigned "
                          "to this expert in the published assignment; rejected")
            keep.append(False)
            continue
        keep.append(True)
    df = df[keep].copy()
    df["void"] = [status[(a, e, p)] == "replaced" for a, e, p in zip(df["stage"], df["expert_id"], df["application_id"])]
    df["family"] = df["criterion"].map(lambda c: policy.rubric.family_of(c) if c in {k.id for k in policy.rubric.criteria} else "")
    df = df[df["score"].notna()]
    if "confidence" not in df.columns:
        df["confidence"] = None
    return df[["stage", "application_id", "expert_id", "criterion", "family", "score", "confidence", "void"]], errors
