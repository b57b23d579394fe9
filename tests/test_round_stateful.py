"""Make the class impossible (issue 11): random sequences of staff actions on a small stored round
(plan, publish, replace automatically and by hand with random experts and random overrides, decline
a whole stage) and, after every step, every published stage passes the independent checker or each
finding is carried by a recorded override in force, the audit chain verifies, and the published seats
changed only through recorded replacements."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from reviewer.errors import UserError
from reviewer.intake.io import ImportReport
from reviewer.panels import service
from reviewer.store import Store, audit, publishing, replacement, repo
from reviewer.store.models import AuditEntry
from reviewer.store.runs import run_planning
from solver.families import HARD_FAMILIES
from tests import factories as f

STAGES = ("初审评估", "现场考察", "认定评审")
CATEGORIES = (("技术", 12), ("产业", 7), ("经济", 5), ("管理", 5), ("金融", 5))


def small_round():
    """Three applications of 汽车 and 34 experts, each of their own employer (fast to plan and check)."""
    apps = [f.application(f"GX-{k}", lead_code=f.CODES[10 * k],
                          members=(f.member(f"GX-{k}", f.CODES[10 * k + 1]),
                                   f.member(f"GX-{k}", f.CODES[10 * k + 2], field_rank=8)))
            for k in range(1, 4)]
    experts, n = [], 0
    for cat, count in CATEGORIES:
        for _ in range(count):
            n += 1
            experts.append(f.expert(f"ZJ{n:03d}", category=cat, employer=f"单位{n}",
                                    employer_credit_code=f.CODES[100 + n],
                                    title_level="正高级" if cat == "技术" else "副高级",
                                    fields=("汽车",) if cat == "技术" else ("新材料",)))
    return f.round_data(apps, experts)


class RoundMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="round-stateful-"))
        self.store = Store(f"sqlite:///{self.dir / 's.sqlite'}")
        self.data = small_round()
        with self.store.write() as s:
            r = repo.create_round(s, "R", user="张三", as_of=f.AS_OF.isoformat())
            repo.record_import(s, r, self.data, ImportReport(), user="张三", source="small round")
        self.published: list[str] = []
        self.replacements = 0

    def teardown(self):
        self.store.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize(seed=st.integers(0, 50))
    def plan(self, seed):
        self.run, _ = run_planning(self.store, "R", user="张三", seed=seed, time_limit=30, workers=1)
        assert self.run.status in ("OPTIMAL", "FEASIBLE")

    def seats(self) -> pd.DataFrame:
        with self.store.read() as s:
            return replacement.round_seats(s, repo.get_round(s, "R"))

    def attempt(self, change) -> None:
        """A change either lands whole (one more recorded replacement per seat) or changes nothing."""
        before = self.seats()
        try:
            with self.store.write() as s:
                n = len(change(s, repo.get_round(s, "R")))
        except UserError:
            assert self.seats().equals(before)
            return
        self.replacements += n

    @rule(stage=st.sampled_from(STAGES))
    def publish(self, stage):
        if stage in self.published:
            return
        with self.store.write() as s:
            publishing.publish_run(s, repo.get_round(s, "R"), stage, self.run.id, user="张三", reason="发布")
        self.published.append(stage)

    @rule(pick=st.randoms(use_true_random=False))
    def replace_auto(self, pick):
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]

        def change(s, r):
            new, _ = replacement.pick_replacement(s, r, x.stage, x.application_id, x.expert_id, self.data)
            return [replacement.replace_expert(s, r, x.stage, x.application_id, x.expert_id, new,
                                               reason="专家因病请假", user="李四", data=self.data)]
        self.attempt(change)

    @rule(pick=st.randoms(use_true_random=False),
          rules=st.lists(st.sampled_from(HARD_FAMILIES), max_size=2, unique=True))
    def replace_by_hand(self, pick, rules):
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]
        new = self.data.experts[pick.randrange(len(self.data.experts))].expert_id

        def change(s, r):
            return [replacement.replace_expert(s, r, x.stage, x.application_id, x.expert_id, new,
                                               reason="不可抗力", user="王五", data=self.data, override_rules=rules)]
        self.attempt(change)

    @rule(pick=st.randoms(use_true_random=False))
    def decline_stage(self, pick):
        """An expert declines a whole published stage: the solver's repair, applied seat by seat."""
        seats = self.seats()
        if seats.empty:
            return
        x = seats.iloc[pick.randrange(len(seats))]

        def change(s, r):
            pol = repo.round_policy(r)
            everything = pd.concat([replacement.round_seats(s, r), replacement.pending_seats(s, r)])
            res, _ = service.repair(self.data, pol, everything, [(x.stage, x.expert_id, None)])
            old = everything[everything["stage"] == x.stage]
            new = res.panels[res.panels["stage"] == x.stage]
            pairs = []
            for app, g in old.groupby("application_id"):
                out = sorted(set(g["expert_id"]) - set(new.loc[new["application_id"] == app, "expert_id"]))
                inn = sorted(set(new.loc[new["application_id"] == app, "expert_id"]) - set(g["expert_id"]))
                pairs += list(zip([app] * len(out), out, inn))
            return replacement.replace_seats(s, r, x.stage, pairs, reason="专家整段请假", user="李四",
                                             data=self.data)
        self.attempt(change)

    @invariant()
    def every_published_stage_keeps_every_rule_or_carries_an_override(self):
        with self.store.read() as s:
            r = repo.get_round(s, "R")
            seats = replacement.round_seats(s, r)
            pending = replacement.pending_seats(s, r)
            pol = repo.round_policy(r)
            covered = {tuple(k) for keys in replacement.overrides(s, r)["keys"] for k in keys}
            assert audit.verify(s).ok
            n_rep = s.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "replacement")).scalar_one()
            replaced = sum(int((repo.published_seats(s, r, stg, include_replaced=True)["status"] == "replaced").sum())
                           for stg in STAGES)
        assert n_rep == replaced == self.replacements
        if seats.empty:
            return
        check = service.check_seats(self.data, pol, seats,
                                    fixed=[tuple(x) for x in pending[["stage", "expert_id", "application_id"]]
                                           .itertuples(index=False)])
        open_findings = [replacement.violation_ids(check, v) for v in check.violations
                         if replacement.violation_ids(check, v) not in covered]
        assert not open_findings, open_findings
        sizes = seats.groupby(["stage", "application_id"]).size()
        assert all(sizes[stg].eq(pol.stage(stg).panel_size).all() for stg in self.published)


TestRoundStateful = RoundMachine.TestCase
TestRoundStateful.settings = settings(max_examples=6, stateful_step_count=8, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
