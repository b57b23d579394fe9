"""The vectorised conflicts detector (issue 14) reports exactly what the pair-by-pair reading
(`tests/conflicts_oracle.py`, the detector before vectorisation) reports: the same hits in the same
order with the same evidence, severities and waivers; the same tables, matrices, per-pair lists and
employer groups. Random rounds are small but dense: few units and people, so names collide; name
spellings that differ only by spaces; units listed twice; blank codes, names, people and cities;
history that ends a day before, on, or a day after the edge of its window; declarations for
unknown experts or applications; waivers of any rule; every policy switch of the rules."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.conflicts.basics import years_before
from reviewer.conflicts.columns import ConflictSet
from reviewer.conflicts.detector import detect_conflicts
from reviewer.intake.model import Application, Declaration, Expert, HistoryRecord, Member, RoundData
from reviewer.demo.reference import demo_policy
from reviewer.intake.io import load_round_from
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from tests import conflicts_oracle as oracle
from tests.factories import AS_OF, CODES, policy

UNITS = [("甲单位", CODES[0]), ("乙 单位", CODES[1]), ("丙单位", CODES[2]), ("丁单位", CODES[3])]
ALIASES = {"乙 单位": "乙单位", "甲单位": "甲 单位"}     # the same unit spelt with a space more or less
PEOPLE = ["王建国", "王 建国", "李明", "张三"]
FIELDS = ["汽车", "机械"]
CITIES = ["南宁", "柳州"]
KINDS = ["任职", "董监高", "股东", "亲属", "师生", "合作"]
RULE_IDS = [f"C{k}" for k in range(1, 10)]


def _dates(window: int) -> st.SearchStrategy:
    edge = years_before(AS_OF, window)
    return st.sampled_from([None, edge - dt.timedelta(days=1), edge, edge + dt.timedelta(days=1), AS_OF,
                            dt.date(2010, 1, 1)])


@st.composite
def unit_ref(draw):
    """A unit as a record names it: code and name, code only, name only (maybe spelt differently), none."""
    name, code = draw(st.sampled_from(UNITS + [("外单位", CODES[9])]))
    how = draw(st.sampled_from(["both", "code", "name", "alias", "none"]))
    return (name if how in ("both", "name") else ALIASES.get(name, name) if how == "alias" else None,
            code if how in ("both", "code") else None)


@st.composite
def rounds(draw):
    n_apps = draw(st.integers(0, 5))
    apps = []
    for j in range(n_apps):
        aid = f"A{j}"
        lead = draw(st.sampled_from(UNITS))
        members = tuple(Member(application_id=aid, unit_name=draw(st.sampled_from([n, ALIASES.get(n, n)])),
                               credit_code=c) for n, c in draw(st.lists(st.sampled_from(UNITS), max_size=3)))
        apps.append(Application(
            application_id=aid, name=f"中心{aid}", field=draw(st.sampled_from(FIELDS)),
            recommending_city=draw(st.sampled_from(CITIES + [None])), lead_unit=lead[0], lead_credit_code=lead[1],
            lead_city=draw(st.sampled_from(CITIES + ["区外"])),
            legal_representative=draw(st.sampled_from(PEOPLE + [None])),
            centre_head=draw(st.sampled_from(PEOPLE + [None])),
            revenue_y1=2e8, revenue_y2=2e8, revenue_y3=2e8, rd_spend_y1=1e7, rd_spend_y2=1e7, rd_spend_y3=1e7,
            invention_patents_valid=5, violations_3y=0, members=members))
    window = draw(st.integers(0, 3))
    experts = []
    for i in range(draw(st.integers(0, 6))):
        eid = f"X{i}"
        employer, code = draw(st.sampled_from(UNITS + [("外单位", CODES[9]), ("乙单位", None), ("别处", None)]))
        history = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(KINDS))
            name, hcode = draw(unit_ref())
            person = draw(st.sampled_from(PEOPLE + [None]))
            if kind in ("任职", "董监高", "股东") and not (name or hcode):
                name = "甲单位"
            if not (name or hcode or person):
                person = "李明"
            history.append(HistoryRecord(expert_id=eid, kind=kind, org_name=name, org_credit_code=hcode,
                                         person=person, role=draw(st.sampled_from([None, "董事"])),
                                         end=draw(_dates(window))))
        experts.append(Expert(
            expert_id=eid, name=f"专家{i}", category="技术", title_level="正高级", employer=employer,
            employer_credit_code=code, city=draw(st.sampled_from(CITIES + ["区外"])),
            department=draw(st.sampled_from([None, None, "自治区", "南宁", "柳州"])),
            status=draw(st.sampled_from(["可用", "可用", "不可用", "信用惩戒"])), history=tuple(history)))
    decls = []
    ids_a = [a.application_id for a in apps] + ["A9"]
    ids_e = [e.expert_id for e in experts] + ["X9"]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["不适宜", "回避", "豁免"]))
        decls.append(Declaration(
            application_id=draw(st.sampled_from(ids_a)), expert_id=draw(st.sampled_from(ids_e)), kind=kind,
            reason=draw(st.sampled_from(["理由", "另一理由"] + ([] if kind == "豁免" else [None]))),
            rule=draw(st.sampled_from(RULE_IDS)) if kind == "豁免" else None,
            declared_by=draw(st.sampled_from([None, "工作人员"])),
            date=draw(st.sampled_from([None, dt.date(2026, 10, 1)]))))
    p = policy()
    swapped = draw(st.booleans())
    conflicts = p.conflicts.model_copy(update=dict(
        employment_window_years=window, board_role_window_years=draw(st.integers(0, 3)),
        relation_window_years=draw(st.integers(0, 3)), same_city_hard=draw(st.booleans()),
        applicant_declared_hard=draw(st.booleans()),
        waivable_rules=draw(st.lists(st.sampled_from(RULE_IDS), unique=True)),
        unsuitable_rule="C9" if swapped else "C6", same_city_rule="C6" if swapped else "C9"))
    return RoundData(applications=tuple(apps), experts=tuple(experts), declarations=tuple(decls)), \
        p.model_copy(update={"conflicts": conflicts})


def assert_same(new: ConflictSet, old: oracle.ConflictSet, penalties: dict[str, float]) -> None:
    assert new.hits == old.hits                                   # hit for hit, in order, evidence included
    pd.testing.assert_frame_equal(new.table(), old.table())
    assert np.array_equal(new.excluded_matrix(), old.excluded_matrix())
    assert np.array_equal(new.soft_matrix(penalties), old.soft_matrix(penalties))
    assert np.array_equal(new.employer_groups(), old.employer_groups())
    assert new.employer_label == old.employer_label
    pd.testing.assert_frame_equal(new.per_application(), old.per_application())
    for e in old.expert_ids + ["X9"]:
        for a in old.application_ids + ["A9"]:
            assert new.pair(e, a) == old.pair(e, a)
            assert new.is_excluded(e, a) == old.is_excluded(e, a)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_vectorised_detector_equals_the_pair_by_pair_oracle(case):
    data, pol = case
    assert_same(detect_conflicts(data, pol), oracle.detect_conflicts(data, pol), pol.conflicts.soft_penalties())


def test_demo_round_equals_the_oracle():
    pol = demo_policy(load_policy())
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", pol)
    new, old = detect_conflicts(data, pol), oracle.detect_conflicts(data, pol)
    assert len(new) > 1000
    assert_same(new, old, pol.conflicts.soft_penalties())


def test_hits_stay_columns_until_records_are_asked_for():
    """Every pair in one city: 40 x 50 = 2,000 same-city hits; matrices and pair lookups make no record of
    the other hits (a million-hit round would otherwise cost a gigabyte)."""
    apps = [Application(application_id=f"A{j}", name="中心", field="汽车", lead_unit="甲单位",
                        lead_credit_code=CODES[0], lead_city="南宁", revenue_y1=2e8, revenue_y2=2e8,
                        revenue_y3=2e8, rd_spend_y1=1e7, rd_spend_y2=1e7, rd_spend_y3=1e7,
                        invention_patents_valid=5, violations_3y=0) for j in range(50)]
    experts = [Expert(expert_id=f"X{i}", name="专家", category="技术", title_level="正高级", employer="别处",
                      city="南宁") for i in range(40)]
    cs = detect_conflicts(RoundData(applications=tuple(apps), experts=tuple(experts)), policy())
    assert len(cs) == 2000 and cs._hits is None
    assert cs.soft_matrix({"C9": 2.0}).sum() == 4000.0 and not cs.excluded_matrix().any()
    assert [h.rule for h in cs.pair("X3", "A7")] == ["C9"] and cs._hits is None


def test_from_hits_round_trips():
    pol = demo_policy(load_policy())
    data, _ = load_round_from(DEMO_DIR / "applications.xlsx", pol)
    cs = detect_conflicts(data, pol)
    again = ConflictSet.from_hits(cs.expert_ids, cs.application_ids, cs.hits, cs.employer_group, cs.employer_label)
    assert again.hits == cs.hits
    pd.testing.assert_frame_equal(again.table(), cs.table())
