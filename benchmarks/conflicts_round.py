"""Synthetic rounds for the conflicts benchmark (issue 14): E experts x A applications where every
rule C1..C9 fires, at sizes up to 1 M expert-application pairs.

    conflicts_round(n_experts, n_apps, seed=0, one_city=False) -> RoundData

Units come from a shared pool, so experts work (or worked) for applicant units, sit on their boards,
cooperate with them; legal representatives and centre heads come from a pool of names that history
records name too; some experts are supervising-department staff (自治区 or a city), some are not
drawable; applicants name experts unsuitable, experts declare recusals, staff waive C6/C9 hits.
History end dates cluster at the window edges (exactly 3 years ago, a day before/after).
`one_city=True` puts every expert and lead unit in 南宁: the same-city rule then hits every pair
(the hit-heavy worst case: about E x A hits).
"""
from __future__ import annotations

import datetime as dt
import random

from reviewer.conflicts.detector import years_before
from reviewer.intake.credit_code import make_credit_code
from reviewer.intake.model import Application, Declaration, Expert, HistoryRecord, Member, RoundData
from reviewer.policy import Policy

KINDS = ["任职", "董监高", "股东", "亲属", "师生", "合作"]


def conflicts_round(policy: Policy, n_experts: int, n_apps: int, seed: int = 0, one_city: bool = False) -> RoundData:
    rng = random.Random(seed)
    as_of = policy.as_of_date()
    cities = ["南宁"] if one_city else list(policy.cities.names)
    fields = list(policy.fields.all)
    n_units = max(20, 2 * n_apps)
    units = [(f"单位{i:05d}", make_credit_code(rng)) for i in range(n_units)]
    people = [f"人员{i:05d}" for i in range(max(10, n_apps))]
    edge = years_before(as_of, 3)

    def end_date() -> dt.date | None:
        r = rng.random()
        if r < 0.3:
            return None
        if r < 0.5:
            return edge + dt.timedelta(days=rng.choice((-1, 0, 1)))
        return as_of - dt.timedelta(days=rng.randrange(0, 6 * 365))

    apps = []
    for j in range(n_apps):
        aid = f"A{j:05d}"
        lead_name, lead_code = units[rng.randrange(n_units)]
        members = tuple(Member(application_id=aid, unit_name=n, credit_code=c)
                        for n, c in rng.sample(units, rng.randint(1, 4)))
        apps.append(Application(
            application_id=aid, name=f"中心{aid}", field=rng.choice(fields),
            recommending_city=rng.choice(cities) if rng.random() < 0.9 else None,
            lead_unit=lead_name, lead_credit_code=lead_code, lead_city=rng.choice(cities),
            legal_representative=rng.choice(people) if rng.random() < 0.9 else None,
            centre_head=rng.choice(people) if rng.random() < 0.9 else None,
            revenue_y1=2e8, revenue_y2=2e8, revenue_y3=2e8, rd_spend_y1=1e7, rd_spend_y2=1e7, rd_spend_y3=1e7,
            invention_patents_valid=5, violations_3y=0, members=members))
    experts = []
    for i in range(n_experts):
        eid = f"E{i:05d}"
        r = rng.random()
        if r < 0.15:
            employer, code = units[rng.randrange(n_units)]
        elif r < 0.2:
            employer, code = units[rng.randrange(n_units)][0], None   # known by name only
        else:
            employer, code = f"其他单位{i:05d}", (make_credit_code(rng) if rng.random() < 0.7 else None)
        history = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(KINDS)
            name, hcode = units[rng.randrange(n_units)]
            person = rng.choice(people) if kind in ("亲属", "师生", "合作") and rng.random() < 0.7 else None
            with_name, with_code = rng.random() < 0.8, rng.random() < 0.6
            if not (with_name or with_code or person):
                with_name = True    # a record names a unit or a person (the importer requires it)
            history.append(HistoryRecord(
                expert_id=eid, kind=kind, org_name=name if with_name else None,
                org_credit_code=hcode if with_code else None, person=person,
                role="董事" if kind == "董监高" else None, end=end_date()))
        dept = rng.random()
        experts.append(Expert(
            expert_id=eid, name=f"专家{i:05d}", category="技术", title_level="正高级", employer=employer,
            employer_credit_code=code, city=rng.choice(cities), fields=(rng.choice(fields),),
            department="自治区" if dept < 0.02 else (rng.choice(cities) if dept < 0.05 else None),
            status="可用" if rng.random() < 0.95 else rng.choice(("不可用", "信用惩戒")),
            history=tuple(history)))
    decls = []
    for _ in range(max(1, n_apps // 2)):
        a, e = rng.randrange(n_apps), rng.randrange(n_experts)
        kind = rng.choice(("不适宜", "回避", "豁免"))
        decls.append(Declaration(application_id=apps[a].application_id, expert_id=experts[e].expert_id, kind=kind,
                                 reason="理由" if kind != "不适宜" or rng.random() < 0.5 else None,
                                 rule=rng.choice(("C6", "C9")) if kind == "豁免" else None,
                                 declared_by="工作人员" if kind == "豁免" else None))
    return RoundData(applications=tuple(apps), experts=tuple(experts), declarations=tuple(decls))
