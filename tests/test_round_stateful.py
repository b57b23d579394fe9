"""Make the class impossible (issue 11): random sequences of staff actions on a small stored round and,
after every step, the round's integrity.

Acts: plan and re-plan the stages not yet published, publish, replace automatically and by hand (random
experts, random overrides), decline a whole stage, re-import the records (unchanged, or one expert
demoted / moved to another category / made unavailable / dropped, a new conflict declared, an
application dropped), lock / forbid a seat and remove one, waive a conflict, decide a screening check,
import a score table (plausible, out of range, or for experts without the seat) and correct a score.

A refused act (UserError, or a command that exits non-zero) changes nothing. After every step:
* every published stage passes the independent checker under the round's current records, or each
  finding is carried by a recorded override in force;
* the audit chain verifies;
* the published seats are what publications and recorded replacements made them (the machine keeps
  its own account), and every replaced seat has its audit entry (a replacement or a chair handover);
* every valid score is on a seat its expert holds, within the rubric, one per key;
* every published panel has its stage's size."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from reviewer.cli.main import main
from reviewer.errors import UserError
from reviewer.intake.io import ImportReport
from reviewer.intake.model import Declaration
from reviewer.panels import seatchecks, service
from reviewer.store import Store, audit, publishing, replacement, repo
from reviewer.store.models import AuditEntry, ImportSnapshot, SeatRule, Waiver
from reviewer.store.runs import run_planning
from solver.families import HARD_FAMILIES
from tests import factories as f

STAGES = ("初审评估", "现场考察", "认定评审")
CATEGORIES = (("技术", 12), ("产业", 7), ("经济", 5), ("管理", 5), ("金融", 5))
RECORD_CHANGES = ("same", "demote", "category", "unavailable", "drop_expert", "conflict", "drop_application")
SEAT = ["stage", "application_id", "expert_id"]


def small_round():
    """Three applications of 汽车 that pass 形式审查, one whose lead unit is a university (E1 needs
    review, so staff decide it), 34 experts each of their own employer, and two experts GX-1 named
    unsuitable (C6, waivable)."""
    apps = [f.application(f"GX-{k}", lead_code=f.CODES[10 * k],
                          members=(f.member(f"GX-{k}", f.CODES[10 * k + 1]),
                                   f.member(f"GX-{k}", f.CODES[10 * k + 2], field_rank=8)),
                          **({"lead_unit_type": "高校"} if k == 4 else {}))
            for k in range(1, 5)]
    experts, n = [], 0
    for cat, count in CATEGORIES:
        for _ in range(count):
            n += 1
            experts.append(f.expert(f"ZJ{n:03d}", category=cat, employer=f"单位{n}",
                                    employer_credit_code=f.CODES[100 + n],
                                    title_level="正高级" if cat == "技术" else "副高级",
                                    fields=("汽车",) if cat == "技术" else ("新材料",)))
    unsuitable = [f.declaration(application_id="GX-1", expert_id=e, kind="不适宜", declared_by="申报单位")
                  for e in ("ZJ001", "ZJ013")]
    return f.round_data(apps, experts, unsuitable)


def changed_records(data, kind: str, pick):
    """The round's records with one change of `kind` (RECORD_CHANGES) at a random place."""
    experts, apps = list(data.experts), list(data.applications)
    e = experts[pick.randrange(len(experts))]
    if kind == "demote":
        experts = [x.model_copy(update={"title_level": "副高级"}) if x is e else x for x in experts]
    elif kind == "category":
        other = [c for c, _ in CATEGORIES if c != e.category][pick.randrange(len(CATEGORIES) - 1)]
        experts = [x.model_copy(update={"category": other}) if x is e else x for x in experts]
    elif kind == "unavailable":
        experts = [x.model_copy(update={"status": "不可用"}) if x is e else x for x in experts]
    elif kind == "drop_expert":
        experts = [x for x in experts if x is not e]
    elif kind == "drop_application":
        apps = [a for a in apps if a.application_id != apps[pick.randrange(len(apps))].application_id]
    declarations = [d for d in data.declarations if d.expert_id in {x.expert_id for x in experts}
                    and d.application_id in {a.application_id for a in apps}]
    if kind == "conflict":
        declarations.append(Declaration(application_id=apps[pick.randrange(len(apps))].application_id,
                                        expert_id=e.expert_id, kind="回避", declared_by="专家", reason="近期合作"))
    return data.model_copy(update={"experts": tuple(experts), "applications": tuple(apps),
                                   "declarations": tuple(declarations)})


class RoundMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="round-stateful-"))
        self.url = f"sqlite:///{self.dir / 's.sqlite'}"
        self.store = Store(self.url)
        self.records = small_round()
        with self.store.write() as s:
            r = repo.create_round(s, "R", user="张三", as_of=f.AS_OF.isoformat())
            repo.record_import(s, r, self.records, ImportReport(), user="张三", source="small round")
        self.policy = f.policy()
        self.published: list[str] = []
        self.expected: set[tuple[str, str, str]] = set()   # the active published seats, by our own account
        self.replacements = 0
        self.files = 0

    def teardown(self):
        self.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def seats(self) -> pd.DataFrame:
        with self.store.read() as s:
            return replacement.round_seats(s, repo.get_round(s, "R"))

    def fingerprint(self) -> tuple:
        """Everything a staff act may change."""
        with self.store.read() as s:
            r = repo.get_round(s, "R")
            scores = repo.scores_frame(s, r, include_void=True)
            return (tuple(map(tuple, replacement.round_seats(s, r).itertuples(index=False))),
                    tuple(zip(scores["score_id"], scores["void"])),
                    s.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
                    s.execute(select(func.count()).select_from(ImportSnapshot)).scalar_one(),
                    tuple(s.execute(select(SeatRule.id, SeatRule.active)).all()),
                    s.execute(select(func.count()).select_from(Waiver)).scalar_one(),
                    tuple(sorted(repo.review_overrides(s, r).items())))

    def attempt(self, what: str, change):
        """A change either lands whole or, refused, changes nothing; returns its result or None."""
        before = self.fingerprint()
        try:
            with self.store.write() as s:
                out = change(s, repo.get_round(s, "R"))
        except UserError:
            assert self.fingerprint() == before
            event(f"{what}: refused")
            return None
        event(f"{what}: done")
        return out

    def cli(self, args: list[str]) -> int:
        before = self.fingerprint()
        try:
            main([*args, "--db", self.url])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        if code != 0:
            assert self.fingerprint() == before, args
        event(f"{args[0]} {args[1]}: exit {code}")
        return code

    def replaced(self, stage: str, pairs) -> None:
        for app, old, new in pairs:
            self.expected.discard((stage, app, old))
            self.expected.add((stage, app, new))
        self.replacements += len(pairs)

    # ------------------------------------------------------------ planning and publication

    @initialize(seed=st.integers(0, 50), first=st.sampled_from(STAGES))
    def plan(self, seed, first):
        """Plan every stage and publish one, so that changes to published panels start at once."""
        self.run, _ = run_planning(self.store, "R", user="张三", seed=seed, time_limit=30, workers=1)
        assert self.run.status in ("OPTIMAL", "FEASIBLE")
        self.publish(first)

    @rule(seed=st.integers(0, 50))
    def replan(self, seed):
        """Plan the stages not yet published again (with the locks, forbids, waivers and decisions now)."""
        todo = [x for x in STAGES if x not in self.published]
        if not todo:
            return
        with self.store.read() as s:
            r = repo.get_round(s, "R")
            fixed = list(replacement.round_seats(s, r)[["stage", "expert_id", "application_id"]]
                         .itertuples(index=False, name=None))
            errors, _ = repo.planning_lock_check(s, r, todo)
        if errors:
            return
        run, _ = run_planning(self.store, "R", user="张三", stages=todo, seed=seed, time_limit=30, workers=1,
                              fixed=fixed)
        event(f"replan: {run.status}")
        if run.status in ("OPTIMAL", "FEASIBLE"):
            self.run = run

    @rule(stage=st.sampled_from(STAGES))
    def publish(self, stage):
        if stage in self.published:
            return
        pub = self.attempt("publish", lambda s, r: publishing.publish_run(s, r, stage, self.run.id, user="张三", reason="发布"))
        if pub is not None:
            self.published.append(stage)
            with self.store.read() as s:
                seats = repo.published_seats(s, repo.get_round(s, "R"), stage)
            self.expected |= set(seats[SEAT].itertuples(index=False, name=None))

    # ------------------------------------------------------------ replacements

    @rule(pick=st.randoms(use_true_random=False))
    def replace_auto(self, pick):
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]

        def change(s, r):
            new, _ = replacement.pick_replacement(s, r, x.stage, x.application_id, x.expert_id)
            replacement.replace_expert(s, r, x.stage, x.application_id, x.expert_id, new,
                                       reason="专家因病请假", user="李四")
            return new
        new = self.attempt("replace_auto", change)
        if new is not None:
            self.replaced(x.stage, [(x.application_id, x.expert_id, new)])

    @rule(pick=st.randoms(use_true_random=False),
          rules=st.lists(st.sampled_from(HARD_FAMILIES), max_size=2, unique=True))
    def replace_by_hand(self, pick, rules):
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]
        new = self.records.experts[pick.randrange(len(self.records.experts))].expert_id
        done = self.attempt("replace_by_hand", lambda s, r: replacement.replace_expert(
            s, r, x.stage, x.application_id, x.expert_id, new, reason="不可抗力", user="王五", override_rules=rules))
        if done is not None:
            self.replaced(x.stage, [(x.application_id, x.expert_id, new)])

    @rule(pick=st.randoms(use_true_random=False))
    def decline_stage(self, pick):
        """An expert declines a whole published stage: the solver's repair, applied seat by seat."""
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]
        pairs = []

        def change(s, r):
            everything = pd.concat([replacement.round_seats(s, r), replacement.pending_seats(s, r)])
            data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
            res, _ = service.repair(data, repo.round_policy(r), everything, [(x.stage, x.expert_id, None)])
            old = everything[everything["stage"] == x.stage]
            new = res.panels[res.panels["stage"] == x.stage]
            for app, g in old.groupby("application_id"):
                out = sorted(set(g["expert_id"]) - set(new.loc[new["application_id"] == app, "expert_id"]))
                inn = sorted(set(new.loc[new["application_id"] == app, "expert_id"]) - set(g["expert_id"]))
                pairs.extend(zip([app] * len(out), out, inn))
            return replacement.replace_seats(s, r, x.stage, pairs, reason="专家整段请假", user="李四")
        if self.attempt("decline_stage", change) is not None:
            self.replaced(x.stage, pairs)

    # ------------------------------------------------------------ records and staff decisions

    @rule(kind=st.sampled_from(RECORD_CHANGES), pick=st.randoms(use_true_random=False))
    def reimport(self, kind, pick):
        new = changed_records(self.records, kind, pick)
        if self.attempt(f"reimport {kind}", lambda s, r: repo.record_import(s, r, new, ImportReport(), user="张三", source=kind,
                                                        allow_partial=False)) is not None:
            self.records = new

    @rule(kind=st.sampled_from(("lock", "forbid")), stage=st.sampled_from(STAGES),
          pick=st.randoms(use_true_random=False))
    def lock_or_forbid(self, kind, stage, pick):
        e = self.records.experts[pick.randrange(len(self.records.experts))].expert_id
        a = self.records.applications[pick.randrange(len(self.records.applications))].application_id
        self.attempt(kind, lambda s, r: repo.add_seat_rule(s, r, kind, stage, e, a, reason="工作人员指定", user="张三"))

    @rule(pick=st.randoms(use_true_random=False))
    def unlock_or_unforbid(self, pick):
        with self.store.read() as s:
            active = [(k, x) for k, xs in repo.seat_rules(s, repo.get_round(s, "R")).items() for x in xs]
        if not active:
            return
        kind, (stage, e, a) = active[pick.randrange(len(active))]
        self.attempt(f"un{kind}", lambda s, r: repo.remove_seat_rule(s, r, kind, stage, e, a, reason="撤销", user="张三"))

    @rule(rule_id=st.sampled_from(("C6", "C9", "C1")), pick=st.randoms(use_true_random=False))
    def waive(self, rule_id, pick):
        candidates = [("ZJ001", "GX-1"), ("ZJ013", "GX-1")]
        candidates.append((self.records.experts[pick.randrange(len(self.records.experts))].expert_id,
                           self.records.applications[pick.randrange(len(self.records.applications))].application_id))
        e, a = candidates[pick.randrange(len(candidates))]
        self.attempt("waive", lambda s, r: repo.add_waiver(s, r, e, a, rule_id, reason="申报单位撤回不适宜意见", user="张三"))

    @rule(app=st.sampled_from(("GX-1", "GX-4")), check=st.sampled_from(("E1", "E2", "E7")),
          decision=st.sampled_from(("pass", "fail")))
    def decide(self, app, check, decision):
        self.attempt("decide", lambda s, r: repo.decide_review(s, r, app, check, decision, reason="核实", user="张三"))

    # ------------------------------------------------------------ scores

    @rule(pick=st.randoms(use_true_random=False), quality=st.sampled_from(("ok", "too_high", "stranger")),
          partial=st.booleans())
    def import_scores(self, pick, quality, partial):
        seats = self.seats()
        if seats.empty:
            return
        rows = []
        for _ in range(1 + pick.randrange(3)):
            x = seats.iloc[pick.randrange(len(seats))]
            expert = x.expert_id
            if quality == "stranger":
                expert = self.records.experts[pick.randrange(len(self.records.experts))].expert_id
            for c in self.policy.instrument(x.stage).criteria:     # the stage's own instrument
                score = round(pick.uniform(0, c.max), 1)
                rows.append((x.stage, x.application_id, expert, c.id, c.max + 1 if quality == "too_high" else score))
        self.files += 1
        path = f.write_csv(self.dir / f"scores{self.files}.csv", rows, ("阶段", "申报编号", "专家编号", "评分项", "得分"))
        self.cli(["scores", "import", "--round", "R", str(path), *(["--allow-partial"] if partial else [])])

    @rule(pick=st.randoms(use_true_random=False), share=st.floats(-0.2, 1.2))
    def correct_score(self, pick, share):
        with self.store.read() as s:
            scores = repo.scores_frame(s, repo.get_round(s, "R"))
        if scores.empty:
            return
        x = scores.iloc[pick.randrange(len(scores))]
        top = next(c.max for c in self.policy.instrument(x.stage).criteria if c.id == x.criterion)
        self.attempt("correct_score", lambda s, r: repo.correct_score(s, r, x.stage, x.application_id, x.expert_id, x.criterion,
                                                     round(share * top, 1), reason="专家来函更正", user="张三"))

    # ------------------------------------------------------------ the invariants

    @invariant()
    def the_round_keeps_its_integrity(self):
        with self.store.read() as s:
            r = repo.get_round(s, "R")
            assert audit.verify(s).ok
            seats = replacement.round_seats(s, r)
            pending = replacement.pending_seats(s, r)
            rules = repo.seat_rules(s, r)
            data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
            pol = repo.round_policy(r)
            covered = {tuple(k) for keys in replacement.overrides(s, r)["keys"] for k in keys}
            actions = dict(s.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).all())
            replaced = sum(int((repo.published_seats(s, r, stg, include_replaced=True)["status"] == "replaced").sum())
                           for stg in STAGES)
            scores = repo.scores_frame(s, r)
        assert set(seats[SEAT].itertuples(index=False, name=None)) == self.expected
        assert actions.get("replacement", 0) == self.replacements
        assert replaced == self.replacements + actions.get("chair_handover", 0)
        self.valid_scores_are_on_held_seats(scores, seats)
        if seats.empty:
            return
        check = service.check_seats(data, pol, seats, locks=rules["lock"], forbids=rules["forbid"],
                                    fixed=list(pending[["stage", "expert_id", "application_id"]]
                                               .itertuples(index=False, name=None)))
        open_findings = [seatchecks.finding_line(check, v) for v in check.violations
                         if seatchecks.finding_ids(check, v) not in covered]
        assert not open_findings, open_findings
        sizes = seats.groupby(["stage", "application_id"]).size()
        assert all(sizes[stg].eq(pol.stage(stg).panel_size).all() for stg in self.published)

    def valid_scores_are_on_held_seats(self, scores: pd.DataFrame, seats: pd.DataFrame) -> None:
        if scores.empty:
            return
        held = set(seats[SEAT].itertuples(index=False, name=None))
        assert set(scores[SEAT].itertuples(index=False, name=None)) <= held
        top = {(st, c.id): c.max for st in self.policy.stages.order for c in self.policy.instrument(st).criteria}
        assert all(0 <= x.score <= top[(x.stage, x.criterion)] for x in scores.itertuples())
        assert not scores.duplicated([*SEAT, "criterion"]).any()


TestRoundStateful = RoundMachine.TestCase
TestRoundStateful.settings = settings(max_examples=6, stateful_step_count=12, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
