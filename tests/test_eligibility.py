"""Each screening rule at its boundary."""
import pytest

from reviewer.screening.eligibility import Outcome, screen, screen_application
from tests.factories import CODES, application, member, platform, policy, round_data

P = policy()


def outcome(app, rule):
    return {c.rule: c for c in screen_application(app, P)}[rule]


def test_plain_application_passes_every_check():
    checks = screen_application(application(), P)
    assert [c.rule for c in checks] == [f"E{i}" for i in range(1, 10)]
    assert all(c.outcome == Outcome.PASS for c in checks), [c for c in checks if c.outcome != Outcome.PASS]


@pytest.mark.parametrize("avg,expected", [(100_000_000, Outcome.PASS), (99_999_999.99, Outcome.FAIL),
                                          (100_000_000.01, Outcome.PASS)])
def test_revenue_exactly_one_yi_passes(avg, expected):
    app = application(revenue_y1=avg, revenue_y2=avg, revenue_y3=avg)
    c = outcome(app, "E1")
    assert c.outcome == expected
    if expected == Outcome.FAIL:
        assert "低于" in c.reason


def test_revenue_average_is_exact_for_uneven_years():
    # 0.5亿 + 1亿 + 1.5亿 averages to exactly 1亿.
    app = application(revenue_y1=50_000_000, revenue_y2=100_000_000, revenue_y3=150_000_000)
    assert outcome(app, "E1").outcome == Outcome.PASS


def test_relaxed_revenue_threshold_for_featured_field():
    app = application(field="精品碳酸钙", revenue_y1=6e7, revenue_y2=6e7, revenue_y3=6e7)
    c = outcome(app, "E1")
    assert c.outcome == Outcome.PASS and "放宽" in c.threshold
    assert outcome(application(revenue_y1=6e7, revenue_y2=6e7, revenue_y3=6e7), "E1").outcome == Outcome.FAIL
    low = application(field="精品碳酸钙", revenue_y1=4.9e7, revenue_y2=5e7, revenue_y3=5e7)
    assert outcome(low, "E1").outcome == Outcome.FAIL


def test_revenue_needs_review_when_lead_is_not_an_enterprise():
    app = application(lead_unit_type="高校", revenue_y1=0, revenue_y2=0, revenue_y3=0)
    assert outcome(app, "E1").outcome == Outcome.REVIEW


@pytest.mark.parametrize("rd,expected", [(2_000_000, Outcome.PASS), (1_999_999, Outcome.FAIL)])
def test_rd_ratio_exactly_two_percent_passes(rd, expected):
    # 3 x 2,000,000 / 3 x 100,000,000 = exactly 2.00 %
    app = application(revenue_y1=1e8, revenue_y2=1e8, revenue_y3=1e8, rd_spend_y1=rd, rd_spend_y2=2e6, rd_spend_y3=2e6)
    assert outcome(app, "E2").outcome == expected


def test_rd_ratio_uses_main_revenue_when_given():
    app = application(revenue_y1=1e9, revenue_y2=1e9, revenue_y3=1e9, rd_spend_y1=2e6, rd_spend_y2=2e6,
                      rd_spend_y3=2e6, main_revenue_y1=1e8, main_revenue_y2=1e8, main_revenue_y3=1e8)
    assert outcome(app, "E2").outcome == Outcome.PASS
    assert outcome(application(revenue_y1=1e9, revenue_y2=1e9, revenue_y3=1e9, rd_spend_y1=2e6, rd_spend_y2=2e6,
                               rd_spend_y3=2e6), "E2").outcome == Outcome.FAIL


def test_rd_ratio_exactness_with_decimal_inputs():
    # 0.1 + 0.2 style float trouble: 2% of 3 x 33,333,333.33 is 1,999,999.9998
    rev = 33_333_333.33
    app = application(revenue_y1=rev, revenue_y2=rev, revenue_y3=rev,
                      rd_spend_y1=666_666.6666, rd_spend_y2=666_666.6666, rd_spend_y3=666_666.6666)
    assert outcome(app, "E2").outcome == Outcome.PASS


def test_platform_rules():
    lead = CODES[0]
    assert outcome(application(platforms=[platform(holder=lead, level="国家级")]), "E3").outcome == Outcome.PASS
    only_city = application(platforms=[platform(holder=lead, level="市级")])
    c = outcome(only_city, "E3")
    assert c.outcome == Outcome.FAIL and "市级" in c.reason
    assert outcome(application(platforms=[]), "E3").outcome == Outcome.FAIL
    # Held by a core member counts; by an ordinary member needs review.
    core = application(members=[member(code=CODES[1], role="核心成员"), member(code=CODES[2])],
                       platforms=[platform(holder=CODES[1])])
    assert outcome(core, "E3").outcome == Outcome.PASS
    ordinary = application(members=[member(code=CODES[1], role="一般成员"), member(code=CODES[2])],
                           platforms=[platform(holder=CODES[1])])
    assert outcome(ordinary, "E3").outcome == Outcome.REVIEW


@pytest.mark.parametrize("n,expected", [(0, Outcome.FAIL), (1, Outcome.PASS)])
def test_patents_boundary(n, expected):
    assert outcome(application(invention_patents_valid=n), "E4").outcome == expected


@pytest.mark.parametrize("n,expected", [(0, Outcome.PASS), (1, Outcome.FAIL)])
def test_violations(n, expected):
    assert outcome(application(violations_3y=n), "E5").outcome == expected


def test_founding_units_boundary():
    two_members = application(members=[member(code=CODES[1]), member(code=CODES[2])])
    assert outcome(two_members, "E6").outcome == Outcome.PASS  # lead + 2 = 3
    one_member = application(members=[member(code=CODES[1])])
    c = outcome(one_member, "E6")
    assert c.outcome == Outcome.FAIL and c.evidence.startswith("2")


def test_top_ranked_members():
    # lead unranked, two members ranked 5 and 10 -> 2 top-10 -> pass (10 is inside the top 10)
    ok = application(members=[member(code=CODES[1], field_rank=5), member(code=CODES[2], field_rank=10)])
    assert outcome(ok, "E7").outcome == Outcome.PASS
    rank11 = application(lead_field_rank=40,
                         members=[member(code=CODES[1], field_rank=5), member(code=CODES[2], field_rank=11)])
    assert outcome(rank11, "E7").outcome == Outcome.FAIL
    # With the lead's rank unknown, it might be the second top-10 unit: staff must check.
    lead_unknown = application(members=[member(code=CODES[1], field_rank=5), member(code=CODES[2], field_rank=11)])
    assert outcome(lead_unknown, "E7").outcome == Outcome.REVIEW
    unknown = application(members=[member(code=CODES[1], field_rank=None), member(code=CODES[2], field_rank=None)])
    assert outcome(unknown, "E7").outcome == Outcome.REVIEW
    lead_counts = application(lead_field_rank=3, members=[member(code=CODES[1], field_rank=7),
                                                          member(code=CODES[2], field_rank=50)])
    assert outcome(lead_counts, "E7").outcome == Outcome.PASS
    not_shareholder = application(lead_field_rank=40, members=[member(code=CODES[1], field_rank=5),
                                           member(code=CODES[2], field_rank=6, is_shareholder=False)])
    assert outcome(not_shareholder, "E7").outcome == Outcome.FAIL


def test_recommendation_and_field():
    assert outcome(application(recommending_city=None), "E8").outcome == Outcome.FAIL
    assert outcome(application(), "E9").outcome == Outcome.PASS


def test_failing_application_kept_with_all_reasons():
    bad = application("B1", invention_patents_valid=0, violations_3y=2, violation_notes="环保处罚")
    good = application("G1", lead_code=CODES[10], platforms=[platform("G1", CODES[10])],
                       members=[member("G1", CODES[11]), member("G1", CODES[12], field_rank=2)])
    result = screen(round_data([bad, good]), P)
    s = result.summary.set_index("application_id")
    assert list(s.index) == ["B1", "G1"]
    assert s.loc["B1", "outcome"] == "fail" and s.loc["B1", "failed_rules"] == "E4,E5"
    assert "E4" in s.loc["B1", "reasons"] and "E5" in s.loc["B1", "reasons"]
    assert s.loc["G1", "outcome"] == "pass"
    assert result.eligible_ids() == ["G1"]
    assert len(result.checks) == 18


def test_staff_override_of_needs_review_is_recorded():
    app = application(members=[member(code=CODES[1], field_rank=None), member(code=CODES[2], field_rank=None)])
    result = screen(round_data([app]), P, overrides={("A1", "E7"): ("pass", "经核实两家股东均为行业前十")})
    row = result.checks[result.checks["rule"] == "E7"].iloc[0]
    assert row["outcome"] == "pass" and "staff decision" in row["reason"] and "needs-review" in row["reason"]


def test_thresholds_come_from_the_policy():
    p = P.model_copy(update={"eligibility": P.eligibility.model_copy(update={"min_invention_patents": 3})})
    assert {c.rule: c for c in screen_application(application(invention_patents_valid=2), p)}["E4"].outcome == Outcome.FAIL


def test_a_staff_decision_applies_to_needs_review_checks_only():
    """A decision made while E1 needed review must not overturn E1 after a re-import made it a plain
    fail (or pass): the computed outcome stands and the stale decision is named as not applied."""
    from reviewer.screening.eligibility import screen
    from tests.factories import application, policy, round_data
    pol = policy()
    uni = application("A1", lead_unit_type="高校")                 # E1 needs review
    low = application("A2", revenue_y1=1, revenue_y2=1, revenue_y3=1)   # E1 computed fail
    decisions = {("A1", "E1"): ("pass", "高校牵头，营收条件不适用"), ("A2", "E1"): ("pass", "旧复核意见")}
    res = screen(round_data([uni, low], []), pol, decisions)
    e1 = res.checks.set_index(["application_id", "rule"])
    assert e1.loc[("A1", "E1"), "outcome"] == "pass" and "staff decision" in e1.loc[("A1", "E1"), "reason"]
    assert e1.loc[("A2", "E1"), "outcome"] == "fail"
    assert "not applied" in e1.loc[("A2", "E1"), "reason"]
