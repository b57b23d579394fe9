"""Annual evaluation: scoring curves, bands, expert-judged parts, validated import, the demo outcome."""
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reviewer.errors import UserError
from reviewer.centres.evaluation import (INDICATORS, EvaluationResult, PartRule, Scheme, evaluate, load_centres,
                                 load_expert_scores, load_indicators, schedule_share)
from reviewer.centres.report import annual_list, trend_chart, trend_frame
from reviewer.centres.lifecycle import replay
from reviewer.policy import load_policy

POL = load_policy()
SCHEME = Scheme.from_policy(POL)
DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"
TARGETS = dict(contract_count=10, contract_amount=8_000_000, invention_grants=8, standards=2, industrialised_count=5,
               industrialised_rate=0.6, rd_input=30_000_000, rd_staff=60, collaboration_services=40)
CENTRES = pd.DataFrame([{"centre_id": "C1", "name": "c1", "field": "机械", "build_start": dt.date(2023, 1, 1)}])


def row(share: float, completion: float | None = None, cid="C1", year=2024, **over):
    """An indicator row with every value at `share` of its target (build completion at `share` of schedule)."""
    sched = schedule_share(dt.date(2023, 1, 1), year, 3)
    r = {"centre_id": cid, "year": year, "invention_applications": 20,
         "build_completion": completion if completion is not None else min(1.0, share * sched)}
    for k, t in TARGETS.items():
        r[k] = t * share
        r[f"target_{k}"] = t
    r.update(over)
    return r


def score_of(*rows, scheme=SCHEME, experts=None):
    return evaluate(pd.DataFrame(list(rows)), POL, CENTRES, experts, scheme)


# ----------------------------------------------------------------------------- curves and bands

def test_default_scheme_follows_the_policy_parts():
    assert [p.id for p in SCHEME.parts] == [i.id for i in POL.evaluation.indicators]
    assert SCHEME.max_total == 100 and SCHEME.fail_bands == ("不合格",)
    assert dict(SCHEME.bands) == {"优秀": 90, "良好": 80, "合格": 60, "不合格": 0}
    json.dumps(SCHEME.as_dict(), ensure_ascii=False)


@pytest.mark.parametrize("share,points", [(1.0, 100.0), (1.3, 100.0), (0.2, 0.0), (0.1, 0.0), (0.6, 50.0)])
def test_linear_between_floor_and_target(share, points):
    ev = score_of(row(share))
    assert ev.scores.loc[0, "total"] == pytest.approx(points, abs=0.011)


def test_linear_curve_and_step_curve():
    lin = PartRule("x", "x", 10, curve="linear", floor=0.2, full=1.0)
    assert lin.fraction(np.array([0.2, 0.6, 1.0, 2.0, 0.0])).tolist() == pytest.approx([0, 0.5, 1, 1, 0])
    step = PartRule("x", "x", 10, curve="step", full=0.8)
    assert step.fraction(np.array([0.79, 0.8, 1.5])).tolist() == [0, 1, 1]


@pytest.mark.parametrize("score,band", [(100, "优秀"), (90, "优秀"), (89.99, "良好"), (80, "良好"), (79.99, "合格"),
                                        (60, "合格"), (59.99, "不合格"), (0, "不合格")])
def test_band_boundaries(score, band):
    assert SCHEME.band(score) == band
    assert SCHEME.is_fail(band) == (band == "不合格")


def test_schedule_share_of_the_build_period():
    assert schedule_share(dt.date(2023, 1, 1), 2023, 3) == pytest.approx(365 / 1096, abs=1e-3)
    assert schedule_share(dt.date(2023, 1, 1), 2025, 3) == 1.0
    assert schedule_share(None, 2024, 3, first_year=2023) == pytest.approx(2 / 3)


def test_parts_and_details_are_explained():
    ev = score_of(row(0.6))
    p = ev.parts.set_index("part")
    assert p.loc["contract_count", "points"] == 5.0 and "contract_count 6 / target 10 = 0.60" in p.loc["contract_count", "detail"]
    assert "linear 0.2->1" in p.loc["ip", "method"]
    rec = ev.records[0]
    assert rec.band == "不合格" and rec.failed and rec.complete
    assert EvaluationResult.from_dict(json.loads(json.dumps(rec.as_dict(), ensure_ascii=False))) == rec


def test_scheme_overrides_floor_full_inputs_and_curve():
    s = Scheme.from_policy(POL, {"contract_count": {"floor": 0.5, "full": 0.9},
                                 "ip": {"inputs": [{"column": "invention_grants"}], "curve": "step"}})
    p = {q.id: q for q in s.parts}
    assert (p["contract_count"].floor, p["contract_count"].full) == (0.5, 0.9)
    assert p["ip"].curve == "step" and [i.target for i in p["ip"].inputs] == ["target_invention_grants"]
    with pytest.raises(UserError, match="floor"):
        Scheme.from_policy(POL, {"ip": {"floor": 1.0, "full": 1.0}})
    with pytest.raises(UserError, match="expected linear, step or expert"):
        Scheme.from_policy(POL, {"ip": {"curve": "log"}})
    with pytest.raises(UserError, match="indicator columns"):
        Scheme.from_policy(POL, {"ip": {"inputs": [{"column": "patents_total"}]}})


def test_an_indicator_without_a_rule_is_a_clear_error():
    ev_ = POL.evaluation.model_copy(update={"indicators": [*POL.evaluation.indicators,
                                                           POL.evaluation.indicators[0].model_copy(update={"id": "brand"})]})
    pol = POL.model_copy(update={"evaluation": ev_})
    with pytest.raises(UserError, match=r"indicator 'brand'.*no scoring rule"):
        Scheme.from_policy(pol)


# ----------------------------------------------------------------------------- expert-judged parts

def _experts(points, part="collaboration", cid="C1", year=2024):
    return pd.DataFrame({"centre_id": cid, "year": year, "part": part,
                         "expert_id": [f"E{i}" for i in range(len(points))], "score": points})


def test_expert_judged_part_uses_the_policy_aggregator():
    s = Scheme.from_policy(POL, {"collaboration": {"curve": "expert"}})
    ev = score_of(row(1.0), scheme=s, experts=_experts([2, 6, 7, 8, 10]))   # trimmed mean of 6, 7, 8
    p = ev.parts.set_index("part").loc["collaboration"]
    assert p["points"] == 7.0 and p["method"].startswith("expert: trimmed")
    assert ev.scores.loc[0, "total"] == 97.0


def test_expert_scores_replace_the_curve_only_where_given():
    ev = score_of(row(1.0), row(1.0, year=2025), experts=_experts([4, 4, 4], part="ip"))
    by = ev.scores.set_index("year")
    assert by.loc[2024, "ip"] == 4.0 and by.loc[2025, "ip"] == 15.0   # n < 5: median


def test_expert_part_without_scores_is_incomplete_never_zero():
    s = Scheme.from_policy(POL, {"collaboration": {"curve": "expert"}})
    ev = score_of(row(1.0), scheme=s)
    r = ev.records[0]
    assert not r.complete and r.total is None and r.band == "" and not r.failed
    lst = annual_list(ev, replay(CENTRES, ev, POL, dt.date(2025, 1, 1)), 2024, CENTRES)
    assert lst.loc[0, "action"] == "pending"


# ----------------------------------------------------------------------------- import validation

def _write(tmp_path, rows, name="ind.csv"):
    df = pd.DataFrame(rows)
    zh = {c.key: c.zh for c in INDICATORS.columns}
    df = df.rename(columns=zh)
    p = tmp_path / name
    df.to_csv(p, index=False, encoding="utf-8-sig")
    return p


def test_bad_rows_give_file_row_column_value_expected_and_good_rows_load(tmp_path):
    rows = [row(1.0, year=2023), row(1.0, year=2024, contract_count="十"), row(1.0, year=2025, industrialised_rate=1.4),
            row(1.0, cid="C9"), row(1.0, year=2024, target_rd_staff=0), row(1.0, year=2023),
            row(1.0, year=2025, build_completion="85%")]
    p = _write(tmp_path, rows)
    got = load_indicators(p, POL, SCHEME, CENTRES)
    msgs = [str(i) for i in got.issues]
    assert len(got.frame) == 2 and got.n_rejected == 5 and got.n_rows == 7
    assert any(f"{p} row 3, column 委托研发合同数: value '十': expected a whole number" in m for m in msgs)
    assert any("row 4, column 产业化成功率: value '1.4': expected a ratio between 0 and 1" in m for m in msgs)
    assert any("row 5, column 中心编号: value 'C9': expected a centre id present in the centres file" in m for m in msgs)
    assert any("row 6, column 目标_研发人员数" in m and "a target > 0" in m for m in msgs)
    assert any("row 7" in m and "unique 中心编号+年度; row 2 has the same" in m for m in msgs)
    assert got.frame.loc[got.frame["year"] == 2025, "build_completion"].iloc[0] == 0.85
    d = got.issues[0].as_dict()
    assert set(d) >= {"file", "row", "column", "value", "expected"}


def test_missing_required_column_rejects_every_row(tmp_path):
    rows = [{k: v for k, v in row(1.0).items() if k != "standards"}]
    got = load_indicators(_write(tmp_path, rows), POL, SCHEME)
    assert got.frame.empty and got.n_rejected == 1
    assert "expected a column 标准数 (standards); it is missing" in str(got.issues[0])


def test_centres_and_expert_scores_validation(tmp_path):
    c = pd.DataFrame([{"中心编号": "C1", "中心名称": "x", "领域": "造船", "建设期起始日期": "2023-01-01"},
                      {"中心编号": "C2", "中心名称": "y", "领域": "机械", "建设期起始日期": "2023-02-30"},
                      {"中心编号": "C3", "中心名称": "z", "领域": "机械", "建设期起始日期": "2023/3/1", "状态": "试点"}])
    c.to_csv(tmp_path / "c.csv", index=False)
    got = load_centres(tmp_path / "c.csv", POL)
    msgs = [str(i) for i in got.issues]
    assert list(got.frame["centre_id"]) == ["C3"]
    assert any("row 2, column 领域: value '造船': expected one of the key fields" in m for m in msgs)
    assert any("row 3, column 建设期起始日期: value '2023-02-30': expected a real calendar date" in m for m in msgs)
    e = pd.DataFrame({"中心编号": ["C1"] * 3, "年度": [2024] * 3, "考核项": ["协同与服务", "brand", "ip"],
                      "专家编号": ["E1", "E1", "E1"], "得分": [9, 5, 16]})
    e.to_csv(tmp_path / "e.csv", index=False)
    got = load_expert_scores(tmp_path / "e.csv", POL, SCHEME)
    assert list(got.frame["part"]) == ["collaboration"]
    assert any("value 'brand': expected a part of the evaluation" in str(i) for i in got.issues)
    assert any("value 16" in str(i) and "points between 0 and 15" in str(i) for i in got.issues)


# ----------------------------------------------------------------------------- the demo

@pytest.fixture(scope="module")
def demo():
    cen = load_centres(DEMO / "past_centres.xlsx", POL)
    ind = load_indicators(DEMO / "indicators.xlsx", POL, SCHEME, cen.frame)
    assert not cen.issues and not ind.issues
    ev = evaluate(ind.frame, POL, cen.frame)
    rp = replay(cen.frame, ev, POL, dt.date(2026, 11, 26))
    planted = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))["past_centres"]
    return cen, ind, ev, rp, planted


def test_demo_outcome_matches_the_planted_cases(demo):
    cen, ind, ev, rp, planted = demo
    assert len(ev.records) == 21
    for cid, case in planted.items():
        life = rp.lives[cid]
        if case == "fail_twice":
            assert life.state.value == "撤销" and life.history[-1].cause == "consecutive_fails"
            fails = [r.year for r in ev.for_centre(cid) if r.failed]
            assert fails == [2024, 2025] and life.history[-1].date == dt.date(2025, 12, 31)
        elif case == "overrun":
            assert life.state.value == "撤销" and life.history[-1].cause == "build_overrun"
            assert not any(r.failed for r in ev.for_centre(cid))          # it passes every year, yet overran
            assert life.history[-1].date == life.deadline + dt.timedelta(days=1)
        elif case == "fail_apart":
            assert life.state.value == "试点"                             # two fails, not consecutive
            assert [r.failed for r in ev.for_centre(cid)] == [True, False, True]
        else:
            assert life.state.value == "认定"
    lst = annual_list(ev, rp, 2025, cen.frame).set_index("centre_id")
    actions = {cid: lst.loc[cid, "action"] for cid in planted}
    assert {actions[c] for c, k in planted.items() if k in ("fail_twice", "overrun")} == {"revoke"}
    assert {actions[c] for c, k in planted.items() if k == "normal"} == {"continue"}
    assert [actions[c] for c, k in planted.items() if k == "fail_apart"] == ["rectify"]
    assert rp.ledger.total() == 4 * 200 * 10_000


def test_trend_frame_and_chart(demo):
    cen, ind, ev, rp, _ = demo
    tf = trend_frame(ind.frame, ev, "GXMIC-2022-07")
    assert set(tf["year"]) == {2023, 2024, 2025} and tf["target"].notna().all()
    assert "build_completion" in set(tf["indicator"])
    spec = trend_chart("GXMIC-2022-07", ind.frame, ev, "x").to_dict()
    assert "vconcat" in spec
