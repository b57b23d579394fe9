"""Each conflict rule at its boundary, waivers, and a property test that no excluded pair is
ever reported as allowed."""
import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.conflicts.detector import detect_conflicts, within_window, years_before
from tests.factories import AS_OF, CODES, application, declaration, expert, history, member, platform, policy, round_data

P = policy()
LEAD, MEMBER = CODES[0], CODES[1]


def rules(cs, e="X1", a="A1", excluding=True):
    return sorted({h.rule for h in cs.pair(e, a) if (h.excludes or not excluding)})


def test_window_boundary_is_inclusive_at_exactly_three_years():
    assert years_before(AS_OF, 3) == dt.date(2023, 11, 1)
    assert within_window(dt.date(2023, 11, 1), 3, AS_OF)
    assert not within_window(dt.date(2023, 10, 31), 3, AS_OF)
    assert within_window(None, 3, AS_OF)
    assert years_before(dt.date(2028, 2, 29), 3) == dt.date(2025, 2, 28)


def test_c1_current_employer_is_a_member_unit():
    cs = detect_conflicts(round_data([application()], [expert(employer_credit_code=MEMBER, employer="成员")]), P)
    assert rules(cs) == ["C1"] and cs.is_excluded("X1", "A1")
    assert "works for" in cs.pair("X1", "A1")[0].evidence


def test_c1_past_employment_at_exactly_three_years_and_a_day_more():
    at = expert(history=[history(org_credit_code=LEAD, end=dt.date(2023, 11, 1))])
    cs = detect_conflicts(round_data([application()], [at]), P)
    assert rules(cs) == ["C1"]
    assert "2023-11" in cs.pair("X1", "A1")[0].evidence
    before = expert(history=[history(org_credit_code=LEAD, end=dt.date(2023, 10, 31))])
    assert not detect_conflicts(round_data([application()], [before]), P).is_excluded("X1", "A1")


def test_c1_matches_by_name_when_no_code():
    app = application(lead_unit="柳州某汽车有限公司")
    e = expert(history=[history(org_credit_code=None, org_name="柳州某汽车 有限公司", end=None)])
    assert rules(detect_conflicts(round_data([app], [e]), P)) == ["C1"]


def test_c2_board_role_window():
    inside = expert(history=[history(kind="董监高", role="独立董事", org_credit_code=MEMBER, end=dt.date(2024, 6, 30))])
    assert rules(detect_conflicts(round_data([application()], [inside]), P)) == ["C2"]
    outside = expert(history=[history(kind="股东", org_credit_code=MEMBER, end=dt.date(2023, 10, 31))])
    assert rules(detect_conflicts(round_data([application()], [outside]), P)) == []


def test_c3_relations():
    rel = expert(history=[history(kind="亲属", person="王建国", org_credit_code=None, org_name=None, end=None)])
    cs = detect_conflicts(round_data([application()], [rel]), P)
    assert rules(cs) == ["C3"] and "法定代表人" in cs.pair("X1", "A1")[0].evidence
    # A namesake at another unit is not the same person.
    namesake = expert(history=[history(kind="亲属", person="王建国", org_credit_code=CODES[99], end=None)])
    assert rules(detect_conflicts(round_data([application()], [namesake]), P)) == []
    adv = expert(history=[history(kind="师生", person="李明", org_credit_code=None, org_name=None,
                                  end=dt.date(2010, 1, 1))])
    assert rules(detect_conflicts(round_data([application()], [adv]), P)) == ["C3"]  # no window for advisor
    coop_in = expert(history=[history(kind="合作", org_credit_code=MEMBER, end=dt.date(2023, 11, 1))])
    assert rules(detect_conflicts(round_data([application()], [coop_in]), P)) == ["C3"]
    coop_out = expert(history=[history(kind="合作", org_credit_code=MEMBER, end=dt.date(2023, 10, 31))])
    assert rules(detect_conflicts(round_data([application()], [coop_out]), P)) == []


def test_c3_declared_recusal():
    cs = detect_conflicts(round_data([application()], [expert()],
                                     [declaration(kind="回避", declared_by="专家", reason="曾参与方案编制")]), P)
    assert rules(cs) == ["C3"]


def test_c4_own_unit_applies_in_same_field():
    own = application("A1")
    rival = application("A2", lead_code=CODES[20], members=[member("A2", CODES[21]), member("A2", CODES[22])],
                        platforms=[platform("A2", CODES[20])])
    other_field = application("A3", lead_code=CODES[30], field="生物医药",
                              members=[member("A3", CODES[31]), member("A3", CODES[32])],
                              platforms=[platform("A3", CODES[30])])
    e = expert(employer_credit_code=LEAD, employer="牵头单位A1")
    cs = detect_conflicts(round_data([own, rival, other_field], [e]), P)
    assert rules(cs, a="A1") == ["C1"]
    assert rules(cs, a="A2") == ["C4"] and "A1" in cs.pair("X1", "A2")[0].evidence
    assert rules(cs, a="A3") == []


def test_c5_department_staff():
    apps = [application("A1"), application("A2", lead_code=CODES[20], recommending_city="南宁",
                                           members=[member("A2", CODES[21]), member("A2", CODES[22])])]
    region = detect_conflicts(round_data(apps, [expert(department="自治区")]), P)
    assert rules(region, a="A1") == ["C5"] and rules(region, a="A2") == ["C5"]
    city = detect_conflicts(round_data(apps, [expert(department="南宁")]), P)
    assert rules(city, a="A1") == [] and rules(city, a="A2") == ["C5"]


def test_c6_applicant_declared_and_waiver():
    data = round_data([application()], [expert()], [declaration()])
    assert rules(detect_conflicts(data, P)) == ["C6"]
    waived = round_data([application()], [expert()],
                        [declaration(), declaration(kind="豁免", rule="C6", reason="理由不成立，经处务会研究", declared_by="工作人员")])
    cs = detect_conflicts(waived, P)
    assert not cs.is_excluded("X1", "A1")
    hit = cs.pair("X1", "A1")[0]
    assert hit.waived and "处务会" in hit.waiver_reason
    soft = P.model_copy(update={"conflicts": P.conflicts.model_copy(update={"applicant_declared_hard": False})})
    assert not detect_conflicts(data, soft).is_excluded("X1", "A1")


def test_waiver_does_not_lift_a_non_waivable_rule():
    data = round_data([application()], [expert(employer_credit_code=LEAD)],
                      [declaration(kind="豁免", rule="C1", reason="x")])
    assert detect_conflicts(data, P).is_excluded("X1", "A1")


def test_c7_banned_or_unavailable_never_drawn():
    cs = detect_conflicts(round_data([application(), application("A2", lead_code=CODES[20])],
                                     [expert(status="信用惩戒"), expert("X2", status="不可用")]), P)
    assert cs.excluded_matrix().all()


def test_c8_employer_groups():
    e1, e2 = expert("X1", employer_credit_code=CODES[150]), expert("X2", employer_credit_code=CODES[150])
    e3 = expert("X3", employer_credit_code=None, employer="桂林 电子科技大学")
    e4 = expert("X4", employer_credit_code=None, employer="桂林电子科技大学")
    g = detect_conflicts(round_data([application()], [e1, e2, e3, e4]), P).employer_groups()
    assert g[0] == g[1] and g[2] == g[3] and g[0] != g[2]


def test_c9_same_city_soft_by_default_and_hard_by_policy():
    e = expert(city="柳州")
    cs = detect_conflicts(round_data([application()], [e]), P)
    assert rules(cs) == [] and rules(cs, excluding=False) == ["C9"]
    assert cs.soft_matrix({"C9": 1.0})[0, 0] == 1.0
    hard = P.model_copy(update={"conflicts": P.conflicts.model_copy(update={"same_city_hard": True})})
    assert rules(detect_conflicts(round_data([application()], [e]), hard)) == ["C9"]


def test_no_conflict_for_an_unrelated_expert():
    cs = detect_conflicts(round_data([application()], [expert()]), P)
    assert cs.hits == [] and not cs.excluded_matrix().any()


# ---------------------------------------------------------------- property test

def _oracle(app, e, as_of):
    """Independent, pair-by-pair restatement of the hard rules C1, C2, C5, C7 for random data."""
    units = set(app.unit_codes)
    if e.status != "可用" or e.department == "自治区" or e.department == app.recommending_city:
        return True
    if e.employer_credit_code in units:
        return True
    cutoff = dt.date(as_of.year - 3, as_of.month, as_of.day)
    for h in e.history:
        if h.kind.value in ("任职", "董监高", "股东") and h.org_credit_code in units and (h.end is None or h.end >= cutoff):
            return True
    return False


@st.composite
def random_round(draw):
    pool = CODES[:12]
    n_apps = draw(st.integers(1, 4))
    apps = []
    for i in range(n_apps):
        codes = draw(st.lists(st.sampled_from(pool), min_size=3, max_size=4, unique=True))
        apps.append(application(f"A{i}", lead_code=codes[0], field="机械", recommending_city=draw(st.sampled_from(["柳州", "南宁"])),
                                members=[member(f"A{i}", c) for c in codes[1:]], platforms=[]))
    experts = []
    for j in range(draw(st.integers(1, 6))):
        hist = [history(f"X{j}", kind=draw(st.sampled_from(["任职", "董监高", "股东"])),
                        org_credit_code=draw(st.sampled_from(pool)),
                        end=draw(st.one_of(st.none(), st.dates(dt.date(2018, 1, 1), AS_OF))))
                for _ in range(draw(st.integers(0, 3)))]
        experts.append(expert(f"X{j}", employer_credit_code=draw(st.sampled_from(pool + CODES[150:152])),
                              department=draw(st.sampled_from([None, None, "自治区", "南宁"])),
                              status=draw(st.sampled_from(["可用", "可用", "不可用"])), history=hist))
    return round_data(apps, experts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_round())
def test_no_excluded_pair_is_ever_reported_as_allowed(data):
    cs = detect_conflicts(data, P)
    ex = cs.excluded_matrix()
    for i, e in enumerate(data.experts):
        for j, a in enumerate(data.applications):
            if _oracle(a, e, AS_OF):
                assert ex[i, j], (e.expert_id, a.application_id)
                assert cs.is_excluded(e.expert_id, a.application_id)
            # Whatever is excluded has at least one named hard rule with evidence.
            if ex[i, j]:
                hits = [h for h in cs.pair(e.expert_id, a.application_id) if h.excludes]
                assert hits and all(h.rule and h.evidence for h in hits)
    # The table says the same as the matrix.
    t = cs.table()
    pairs = set(map(tuple, t.loc[t["excludes"], ["expert_id", "application_id"]].values.tolist()))
    assert pairs == {(data.experts[i].expert_id, data.applications[j].application_id) for i, j in zip(*np.nonzero(ex))}
