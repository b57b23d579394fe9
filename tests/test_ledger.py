"""Subsidy ledger: caps, no duplicate subsidy (same kind twice, or a field with a technology
innovation centre), totals per year and per field, serialisation, and the replay's grants."""
import datetime as dt
import json

import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.centres.evaluation import EvaluationResult
from reviewer.centres.ledger import Ledger, LedgerEntry, SubsidyKind, SubsidyRefused
from reviewer.centres.lifecycle import Event, State, replay
from reviewer.policy import load_policy

POL = load_policy()
D = dt.date
WAN = 10_000


def with_tech_centre(*fields):
    return POL.model_copy(update={"fields": POL.fields.model_copy(update={"has_tech_innovation_centre": list(fields)})})


def test_new_centre_subsidy_defaults_to_the_cap_and_respects_it():
    led = Ledger(POL)
    e = led.grant("C1", "机械", SubsidyKind.NEW_CENTRE, D(2025, 12, 31))
    assert (e.amount, e.cap, e.status, e.year) == (200 * WAN, 200 * WAN, "granted", 2025)
    assert led.grant("C2", "汽车", "new_centre", D(2025, 12, 31), amount=150 * WAN).amount == 150 * WAN
    with pytest.raises(SubsidyRefused, match="above the cap of 200万元"):
        led.grant("C3", "电子信息", "new_centre", D(2025, 12, 31), amount=200 * WAN + 1)
    assert led.grant("C3", "电子信息", "new_centre", D(2025, 12, 31), amount=200 * WAN).amount == 200 * WAN


def test_national_subsidy_cap_is_1000_wan():
    led = Ledger(POL)
    assert led.grant("C1", "机械", SubsidyKind.NATIONAL, D(2026, 9, 1)).amount == 1000 * WAN
    with pytest.raises(SubsidyRefused, match="1000万元"):
        Ledger(POL).grant("C1", "机械", "national", D(2026, 9, 1), amount=1001 * WAN)


def test_a_centre_never_receives_the_same_subsidy_twice():
    led = Ledger(POL)
    led.grant("C1", "机械", "new_centre", D(2025, 12, 31), amount=100 * WAN)
    with pytest.raises(SubsidyRefused, match="never receives the same subsidy twice"):
        led.grant("C1", "机械", "new_centre", D(2026, 12, 31), amount=100 * WAN)   # even a smaller top-up
    r = led.decide("C1", "机械", "new_centre", D(2026, 12, 31))
    assert (r.status, r.amount) == ("refused", 0) and "不重复补助" in r.reason
    # a different subsidy for the same centre is fine, and another centre may get the same kind
    assert led.grant("C1", "机械", "national", D(2027, 1, 1)).status == "granted"
    assert led.grant("C2", "机械", "new_centre", D(2026, 1, 1)).status == "granted"
    with pytest.raises(SubsidyRefused):
        led.grant("C1", "机械", "national", D(2028, 1, 1))
    assert led.total() == 100 * WAN + 1000 * WAN + 200 * WAN
    assert isinstance(SubsidyRefused("x"), UserError)


def test_no_new_centre_subsidy_in_a_field_with_a_tech_innovation_centre():
    pol = with_tech_centre("汽车")
    led = Ledger(pol)
    with pytest.raises(SubsidyRefused, match="technology innovation centre"):
        led.grant("C1", "汽车", "new_centre", D(2025, 12, 31))
    e = led.decide("C1", "汽车", "new_centre", D(2025, 12, 31))
    assert (e.status, e.amount) == ("refused", 0.0) and "广西技术创新中心" in e.reason
    # the national subsidy is not affected; other fields are not affected
    assert led.grant("C1", "汽车", "national", D(2026, 6, 1)).amount == 1000 * WAN
    assert led.grant("C2", "机械", "new_centre", D(2025, 12, 31)).amount == 200 * WAN
    # the rule can be switched off in the policy
    off = pol.model_copy(update={"funding": pol.funding.model_copy(update={"no_subsidy_if_tech_innovation_centre": False})})
    assert Ledger(off).grant("C1", "汽车", "new_centre", D(2025, 12, 31)).status == "granted"


def test_totals_per_year_and_per_field():
    led = Ledger(POL)
    led.grant("C1", "机械", "new_centre", D(2025, 12, 31))
    led.grant("C2", "汽车", "new_centre", D(2025, 12, 31), amount=120 * WAN)
    led.grant("C1", "机械", "national", D(2026, 9, 1))
    led.decide("C2", "汽车", "new_centre", D(2026, 1, 1))   # refused: not counted
    y = led.totals_by_year().set_index("year")
    assert y.loc[2025, "total"] == 320 * WAN and y.loc[2025, "centres"] == 2
    assert y.loc[2026, "national"] == 1000 * WAN and y.loc[2026, "new_centre"] == 0
    f = led.totals_by_field().set_index("field")
    assert f.loc["机械", "total"] == 1200 * WAN and f.loc["汽车", "total"] == 120 * WAN
    assert Ledger(POL).totals_by_year().empty


def test_ledger_serialises_to_plain_records():
    led = Ledger(POL)
    led.grant("C1", "机械", "new_centre", D(2025, 12, 31))
    led.decide("C1", "机械", "new_centre", D(2026, 1, 1))
    recs = json.loads(json.dumps(led.to_records(), ensure_ascii=False))
    back = Ledger.from_records(POL, recs)
    assert back.entries == led.entries
    with pytest.raises(SubsidyRefused):   # the restored ledger still knows what was granted
        back.grant("C1", "机械", "new_centre", D(2027, 1, 1))
    assert isinstance(back.entries[0], LedgerEntry)


def _ev(cid, year, met=False):
    return EvaluationResult(cid, year, D(year, 12, 31), 85.0, 85.0, "良好", False, True, 1.0 if met else 0.5, 0.5, met)


def test_replay_grants_once_and_refuses_in_tech_centre_fields():
    pol = with_tech_centre("汽车")
    centres = pd.DataFrame([
        {"centre_id": "A", "name": "a", "field": "机械", "build_start": D(2023, 1, 10)},
        {"centre_id": "B", "name": "b", "field": "汽车", "build_start": D(2023, 1, 10)},
    ])
    evals = [_ev("A", 2024), _ev("A", 2025, True), _ev("B", 2024), _ev("B", 2025, True)]
    events = [Event("A", D(2026, 5, 1), State.NATIONAL, "工信部批复"),
              Event("A", D(2026, 6, 1), State.NATIONAL, "再次登记")]            # illegal: refused, no second grant
    out = replay(centres, evals, pol, D(2026, 12, 1), events)
    assert out.lives["A"].state == State.NATIONAL and out.lives["B"].state == State.RECOGNISED
    led = out.ledger.frame()
    assert list(zip(led["centre_id"], led["kind"], led["status"], led["amount"])) == [
        ("A", "new_centre", "granted", 200 * WAN), ("A", "national", "granted", 1000 * WAN),
        ("B", "new_centre", "refused", 0.0)]
    assert len(out.refused) == 1 and "final" in out.refused[0]
