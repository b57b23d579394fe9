"""Registers that decide (issue 17 part 3): the centre register (一领域一中心), the technology innovation
centre register (no duplicate subsidy) and one subsidy ledger for the ranking and the life cycle."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError

from reviewer.centres.ledger import Ledger
from reviewer.centres.register import CentreEntry, TechCentre, occupied_fields, tech_fields
from reviewer.demo.reference import demo_policy
from reviewer.demo.registers import demo_register, demo_replay
from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.scoretable import aggregate_scores, read_table, validate_scores

ROUND_DAY = dt.date(2026, 11, 1)
D = dt.date


def policy(**funding):
    p = demo_policy(load_policy())
    if funding:
        p = p.model_copy(update={"funding": p.funding.model_copy(update=funding)})
    return p


@lru_cache(maxsize=1)
def demo_ranking_input() -> pd.DataFrame:
    """The demo's 认定评审 scores aggregated, with fields: what the ranking reads."""
    pol = policy()
    scores, _ = validate_scores(read_table(DEMO_DIR / "scores.csv"), DEMO_DIR / "scores.csv", pol)
    scores = scores[scores["panel"] == "认定评审"]
    apps = pd.read_csv(DEMO_DIR / "csv" / "applications.csv", dtype=str)
    fields = dict(zip(apps.iloc[:, 0], apps["领域"])) if "领域" in apps.columns else {}
    agg, _ = aggregate_scores(scores.assign(field=scores["application_id"].map(fields)), pol, "trimmed",
                              resamples=50)
    return agg.assign(field=agg["application_id"].map(fields))


# ---------------------------------------------------------------- the register's rules

def test_pilot_recognised_and_national_occupy_their_field_revoked_frees_it():
    e = [CentreEntry("C1", "一", "汽车", "试点", D(2023, 1, 1)), CentreEntry("C1", "一", "汽车", "认定", D(2025, 12, 31)),
         CentreEntry("C2", "二", "机械", "试点", D(2023, 1, 1)), CentreEntry("C2", "二", "机械", "撤销", D(2025, 6, 1)),
         CentreEntry("C3", "三", "电子信息", "国家级", D(2026, 1, 5)),
         CentreEntry("C4", "四", "生物医药", "试点", D(2027, 1, 1))]           # after the round date: not yet
    got = occupied_fields(e, ROUND_DAY)
    assert set(got) == {"汽车", "电子信息"} and "认定" in got["汽车"] and "C1" in got["汽车"]
    assert set(occupied_fields(e, D(2024, 1, 1))) == {"汽车", "机械"}          # as of an earlier day
    assert set(occupied_fields(e, D(2025, 12, 30))) == {"汽车"}                # 试点 until 认定, 机械 freed


def test_the_demo_register_occupies_the_fields_its_life_cycle_recognised():
    pol = policy()
    reg = demo_register(demo_replay(DEMO_DIR, pol), pol)
    assert {"汽车", "机械", "高端有色金属新材料"} <= set(reg)
    assert "生物医药" not in reg and "绿色高端石化" not in reg             # revoked in 2025: free again
    assert all(reg[f].startswith("中心名录") and "认定" in reg[f] for f in ("汽车", "机械", "高端有色金属新材料"))
    # the basis names the life-cycle event in words, never its code (staff read 终期考核合格, not final_assessment)
    assert "终期考核合格" in reg["汽车"] and not any(c in v for v in reg.values() for c in ("final_assessment", "approved"))


def test_ranking_refuses_the_occupied_fields_with_the_register_as_reason():
    pol = policy()
    rp = demo_replay(DEMO_DIR, pol)
    reg = demo_register(rp, pol)
    before = recognition_ranking(demo_ranking_input(), pol)           # the static, empty policy list
    assert {"汽车", "机械", "高端有色金属新材料"} & set(before.loc[before["decision"] == "recommend", "field"])
    after = recognition_ranking(demo_ranking_input(), pol, register=reg, ledger=rp.ledger, on=ROUND_DAY)
    rec = after[after["decision"] == "recommend"]
    assert not {"汽车", "机械", "高端有色金属新材料"} & set(rec["field"])
    taken = after[after["field"].isin(["汽车", "机械", "高端有色金属新材料"]) & after["score"].notna()]
    assert (taken["decision"] == "field_has_centre").all()
    assert taken["reason_zh"].str.contains("一领域一中心").all() and taken["reason_zh"].str.contains("中心名录").all()


# ---------------------------------------------------------------- one ledger

def test_ledger_annual_budget_and_tech_register_evidence():
    led = Ledger(policy(annual_budget=3_000_000), tech_register={"机械": "广西技术创新中心名录: X，桂科字〔2024〕1号"})
    assert led.decide("A", "汽车", "new_centre", D(2026, 3, 1)).status == "granted"
    second = led.decide("B", "电子信息", "new_centre", D(2026, 5, 1))
    assert second.status == "refused" and "2026 年度补助预算" in second.reason
    assert led.decide("B", "电子信息", "new_centre", D(2027, 1, 2)).status == "granted"   # next year's budget
    tech = led.decide("C", "机械", "new_centre", D(2027, 2, 1))
    assert tech.status == "refused" and "桂科字〔2024〕1号" in tech.reason
    assert led.decide("A", "汽车", "new_centre", D(2028, 1, 1)).status == "refused"     # never twice


def test_tech_register_as_of_its_date():
    t = [TechCentre("广西智能制造技术创新中心", "高端装备制造", "桂科高字〔2024〕88号", D(2024, 6, 30))]
    assert "桂科高字〔2024〕88号" in tech_fields(t, ROUND_DAY)["高端装备制造"]
    assert tech_fields(t, D(2024, 1, 1)) == {}


@pytest.fixture
def store(tmp_path, monkeypatch):
    from reviewer.store import Store
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    st = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    yield st
    st.dispose()


def test_store_replays_ranking_and_life_cycle_into_one_ledger_and_never_pays_twice(store):
    from reviewer.store import audit, registers
    from reviewer.store.models import SubsidyEntry
    pol = policy()
    rp = demo_replay(DEMO_DIR, pol)
    with store.write() as s:
        assert registers.sync_from_replay(s, pol, rp.lives, user="张三") >= 7
        docs = {x.document_no for x in registers.centre_entries(s, "")}
        assert "生命周期：终期考核合格" in docs and not any("final_assessment" in d for d in docs)
        registers.add_tech_centre(s, pol, name="广西新能源汽车技术创新中心", field="新能源汽车",
                                  document_no="桂科高字〔2025〕12号", date="2025-03-01", user="张三", reason="名录")
    for run in range(2):                         # the ranking run twice: the second pays nobody again
        with store.write() as s:
            ledger = registers.load_ledger(s, pol, ROUND_DAY)
            n0 = len(ledger.entries)
            if run == 0:                         # the life cycle's grants go through the same ledger
                for e in rp.ledger.entries:
                    ledger.decide(e.centre_id, e.field, e.kind, e.date, e.amount if e.status == "granted" else None,
                                  e.reason)
            out = recognition_ranking(demo_ranking_input(), pol, register=registers.occupied(s, ROUND_DAY),
                                      ledger=ledger, on=ROUND_DAY)
            registers.save_ledger(s, ledger, n0, source=f"ranking round 2026 (run {run})", user="张三")
        rec = out[out["decision"] == "recommend"]
        if run == 0:
            paid = rec[rec["subsidy"] > 0]
            assert len(paid) >= 3 and (paid["subsidy"] == 2_000_000).all()
            nev = rec[rec["field"] == "新能源汽车"]
            assert (nev["subsidy"] == 0).all() and nev["funding_note_zh"].str.contains("桂科高字〔2025〕12号").all()
        else:
            assert (rec["subsidy"] == 0).all() and rec["funding_note_zh"].str.contains("不重复补助").all()
    with store.read() as s:
        rows = pd.DataFrame([(x.centre_id, x.kind, x.amount, x.status) for x in s.query(SubsidyEntry)],
                            columns=["centre", "kind", "amount", "status"])
        granted = rows[rows["status"] == "granted"]
        assert not granted.duplicated(["centre", "kind"]).any()
        assert granted["amount"].sum() == 8_000_000 + 2_000_000 * len(paid)        # life cycle + the ranking once
        assert audit.verify(s).ok
    with pytest.raises(IntegrityError):          # the database refuses a second grant written around the ledger
        with store.write() as s:
            s.add(SubsidyEntry(centre_id=paid["application_id"].iloc[0], field="x", kind="new_centre", amount=1.0,
                               cap=1.0, date="2026-12-01", status="granted", reason="", source="sql",
                               granted_key=f"{paid['application_id'].iloc[0]}|new_centre", created_by="x"))


def test_register_entries_are_checked(store):
    from reviewer.store import registers
    pol = policy()
    with store.write() as s:
        with pytest.raises(UserError, match="not one of the key fields"):
            registers.add_centre_entry(s, pol, centre_id="C1", name="x", field="造船", state="认定", since="2025-01-01",
                                       user="张三", reason="r")
        with pytest.raises(UserError, match="state"):
            registers.add_centre_entry(s, pol, centre_id="C1", name="x", field="汽车", state="暂停", since="2025-01-01",
                                       user="张三", reason="r")
        with pytest.raises(UserError, match="document"):
            registers.add_tech_centre(s, pol, name="x", field="汽车", document_no=" ", date="2025-01-01", user="张三")


def test_register_commands(tmp_path, capsys, monkeypatch):
    from tests.test_store_support import run_cli
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    base = ["--db", db, "--user", "张三"]
    code, out = run_cli(["register", "lifecycle", "--as-of", "2026-11-01", *base], capsys)
    assert code == 0 and "13 register events and 4 ledger entries" in out, out
    code, out = run_cli(["register", "lifecycle", "--as-of", "2026-11-01", *base], capsys)
    assert code == 0 and "0 register events and 0 ledger entries" in out           # nothing twice
    code, out = run_cli(["register", "centre", "GXMIC-2022-01", "--name", "广西智能汽车零部件制造业创新中心",
                         "--field", "汽车", "--state", "撤销", "--since", "2026-10-01", "--doc", "桂工信〔2026〕9号",
                         "--reason", "撤销批复", *base], capsys)
    assert code == 0, out
    code, out = run_cli(["register", "show", "--as-of", "2026-11-01", "--db", db], capsys)
    assert "4 fields taken" in out and "  汽车:" not in out and "800万元 granted" in out
    code, out = run_cli(["register", "tech", "--name", "x", "--field", "汽车", "--doc", "桂科〔2024〕1号",
                         "--date", "2024-13-01", *base], capsys)
    assert code == 2 and "expected a date" in out
    code, out = run_cli(["audit", "verify", "--db", db], capsys)
    assert code == 0, out
