"""The bundled demo round (reviewer/data/demo): reproducible from its seed, valid, and planted with the
cases the rest of the pipeline must meet (screening failures, conflicts, scoring quirks)."""
from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.centres import INDICATOR_COLUMNS, PAST_CENTRE_COLUMNS
from reviewer.demo.generate import DEFAULT_SEED, build_round, generate_demo
from reviewer.demo.gating import run_stages
from reviewer.demo.reference import demo_policy
from reviewer.demo.scores import SCORE_COLUMNS, simulate_scores
from reviewer.intake import io, schema
from reviewer.intake.credit_code import is_valid_credit_code
from reviewer.scoring.scoretable import read_table, validate_scores
from reviewer.policy import load_policy
from reviewer.screening.eligibility import screen

DEMO = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "demo"
REF = dt.date(2026, 11, 1)
XLSX = ("applications", "members", "platforms", "experts", "expert_history", "declared_conflicts", "round2026",
        "scores", "past_centres", "indicators")
CSV = ("csv/applications", "csv/members", "csv/platforms", "csv/experts", "csv/expert_history",
       "csv/declared_conflicts", "csv/past_centres", "csv/indicators", "scores", "demo_panels")


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory, policy):
    out = tmp_path_factory.mktemp("demo")
    tables = generate_demo(out, DEFAULT_SEED, policy)
    return out, tables


@pytest.fixture(scope="module")
def t(regenerated):
    return regenerated[1]


@pytest.fixture(scope="module")
def planted(regenerated):
    return json.loads((regenerated[0] / "planted.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ reproducible, as committed
@pytest.mark.parametrize("name", XLSX)
def test_committed_workbooks_match_regeneration(regenerated, name):
    out, _ = regenerated
    committed = pd.read_excel(DEMO / f"{name}.xlsx", sheet_name=None)
    fresh = pd.read_excel(out / f"{name}.xlsx", sheet_name=None)
    assert list(committed) == list(fresh)
    for sheet in fresh:
        pd.testing.assert_frame_equal(committed[sheet], fresh[sheet], check_exact=True)


@pytest.mark.parametrize("name", CSV)
def test_committed_csv_match_regeneration(regenerated, name):
    out, _ = regenerated
    assert (DEMO / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()
    assert (out / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")   # utf-8-sig, for Excel


def test_planted_record_matches(regenerated):
    out, _ = regenerated
    assert (DEMO / "planted.json").read_text(encoding="utf-8") == (out / "planted.json").read_text(encoding="utf-8")


def test_same_seed_same_tables_other_seed_differs(t, policy):
    again, _ = build_round(DEFAULT_SEED, policy)
    for k in ("applications", "experts", "scores"):
        pd.testing.assert_frame_equal(t[k], again[k])
    other, _ = build_round(7, policy)
    assert not other["experts"]["name"].equals(t["experts"]["name"])


# ------------------------------------------------------------------ headers and validity
def test_headers_are_the_schema_zh_in_order(regenerated):
    out, _ = regenerated
    for name, table in schema.TABLES.items():
        df = pd.read_excel(out / f"{name}.xlsx", sheet_name=table.zh)
        assert list(df.columns) == [c.zh for c in table.columns]
    book = pd.read_excel(out / "round2026.xlsx", sheet_name=None)
    assert list(book) == [t.zh for t in schema.TABLES.values()]
    assert list(pd.read_csv(out / "scores.csv", encoding="utf-8-sig").columns) == [zh for _, zh in SCORE_COLUMNS]
    assert list(pd.read_excel(out / "past_centres.xlsx").columns) == [zh for _, zh in PAST_CENTRE_COLUMNS]
    assert list(pd.read_excel(out / "indicators.xlsx").columns) == [zh for _, zh in INDICATOR_COLUMNS]


def test_every_credit_code_valid_and_consistent(t):
    codes = [*t["applications"]["lead_credit_code"], *t["members"]["credit_code"],
             *t["platforms"]["holder_credit_code"], *t["experts"]["employer_credit_code"].dropna(),
             *t["expert_history"]["org_credit_code"].dropna(), *t["past_centres"]["lead_credit_code"]]
    assert codes and all(is_valid_credit_code(c) for c in codes)
    # one name <-> one code, everywhere
    pairs = pd.concat([
        t["applications"][["lead_unit", "lead_credit_code"]].set_axis(["n", "c"], axis=1),
        t["members"][["unit_name", "credit_code"]].set_axis(["n", "c"], axis=1),
        t["experts"][["employer", "employer_credit_code"]].dropna().set_axis(["n", "c"], axis=1),
        t["expert_history"][["org_name", "org_credit_code"]].dropna().set_axis(["n", "c"], axis=1),
    ]).drop_duplicates()
    assert not pairs["n"].duplicated().any() and not pairs["c"].duplicated().any()


def test_ids_unique(t):
    assert t["applications"]["application_id"].is_unique
    assert t["experts"]["expert_id"].is_unique
    assert not t["members"].duplicated(["application_id", "credit_code"]).any()
    assert not t["platforms"].duplicated(["application_id", "platform_name"]).any()
    assert not t["declared_conflicts"].duplicated(["application_id", "expert_id", "kind"]).any()
    assert set(t["members"]["application_id"]) <= set(t["applications"]["application_id"])
    assert set(t["expert_history"]["expert_id"]) <= set(t["experts"]["expert_id"])


def test_dates_not_after_reference(t):
    ts = pd.Timestamp(REF)
    assert (t["applications"]["submitted_on"] <= ts).all()
    h = t["expert_history"]
    assert (h["start"].dropna() <= ts).all() and (h["end"].dropna() <= ts).all()
    assert (t["platforms"]["year"] <= REF.year).all()


# ------------------------------------------------------------------ the round
def test_fields_and_cities_covered(t, policy):
    a = t["applications"]
    assert 36 <= len(a) <= 44
    assert set(a["field"]) == set(policy.fields.all)
    assert set(a["recommending_city"]) == set(policy.cities.names)
    per_field = a["field"].value_counts()
    assert per_field[["汽车", "机械", "电子信息"]].between(3, 5).all()
    m = t["members"].groupby("application_id").size()
    assert m.drop(m.idxmin()).between(2, 6).all() and m.max() <= 6


def _sums(a: pd.Series) -> tuple[Decimal, Decimal, Decimal]:
    rev = [Decimal(int(a[f"revenue_y{i}"])) for i in (1, 2, 3)]
    main = [Decimal(int(a[f"main_revenue_y{i}"])) if not pd.isna(a[f"main_revenue_y{i}"]) else r
            for i, r in zip((1, 2, 3), rev)]
    rd = [Decimal(int(a[f"rd_spend_y{i}"])) for i in (1, 2, 3)]
    return sum(rev) / 3, sum(rd) * 100 / sum(main), sum(main)


def test_each_screening_reason_is_planted_in_the_raw_numbers(t, policy):
    el = policy.eligibility
    a = t["applications"].set_index("application_id")
    avg = {i: _sums(r)[0] for i, r in a.iterrows()}
    ratio = {i: _sums(r)[1] for i, r in a.iterrows()}
    thr = {i: Decimal(str(el.revenue_threshold(r["field"]))) for i, r in a.iterrows()}
    floor = Decimal(str(el.min_avg_revenue))
    # E1: below 1亿 in a normal field; between the relaxed threshold and 1亿 in a relaxed one; exactly 1亿
    assert any(avg[i] < thr[i] and thr[i] == floor for i in a.index)
    assert any(thr[i] <= avg[i] < floor for i in a.index)
    assert any(avg[i] == floor for i in a.index)
    assert any(avg[i] < thr[i] < floor for i in a.index)          # below even the relaxed threshold
    # E2: below 2%, and exactly 2.00%
    limit = Decimal(str(el.min_rd_ratio_percent))
    assert sum(ratio[i] < limit for i in a.index) >= 2
    assert any(ratio[i] == limit for i in a.index)
    # E3: only 市级 platforms; and a counted platform held only by a non-core member
    p, m = t["platforms"], t["members"]
    counted = p[p["level"].isin(el.platform_levels_counted)]
    assert any(i not in set(counted["application_id"]) for i in a.index)
    core = {(r.application_id, r.credit_code) for r in m.itertuples() if r.role == "核心成员"}
    holders = {i: {c for c in counted.loc[counted["application_id"] == i, "holder_credit_code"]} for i in a.index}
    assert any(hs and not any(h == a.loc[i, "lead_credit_code"] or (i, h) in core for h in hs)
               for i, hs in holders.items())
    # E4, E5
    assert (a["invention_patents_valid"] == 0).any()
    assert (a["violations_3y"] > 0).any()
    # E6: lead + 1 member
    assert (m.groupby("application_id").size() + 1 < el.min_founding_units).any()
    # E7: too few top-ranked shareholders even if every unknown rank were top (fail), and all unknown (review)
    share = m[m["is_shareholder"].fillna("是") == "是"]
    top, unknown, n = {}, {}, {}
    for i in a.index:
        ranks = [a.loc[i, "lead_field_rank"], *share.loc[share["application_id"] == i, "field_rank"]]
        top[i] = sum(not pd.isna(r) and r <= el.top_rank for r in ranks)
        unknown[i], n[i] = sum(pd.isna(r) for r in ranks), len(ranks)
    assert any(top[i] + unknown[i] < el.min_top_ranked_members for i in a.index)
    assert any(unknown[i] == n[i] for i in a.index)


def test_failing_share_and_planted_outcomes(planted):
    outcomes = [v["outcome"] for v in planted["screening"].values()]
    assert 8 <= outcomes.count("fail") <= 12
    assert outcomes.count("needs-review") >= 1
    rules = {r for v in planted["screening"].values() for r, o in v["rules"].items() if o == "fail"}
    assert rules == {"E1", "E2", "E3", "E4", "E5", "E6", "E7"}


def test_screening_and_conflicts_agree_with_the_planted_record(regenerated, planted, policy):
    """End to end through the importer, the screening and the conflict detector."""
    out, _ = regenerated
    pol = policy.model_copy(update={"meta": policy.meta.model_copy(update={"as_of": REF.isoformat()})})
    data, report = io.load_round_from(out / "applications.xlsx", pol)
    assert not list(report.all_issues)
    got = screen(data, pol).summary.set_index("application_id")["outcome"]
    assert {k: got[k] for k in planted["screening"]} == {k: v["outcome"] for k, v in planted["screening"].items()}
    cs = detect_conflicts(data, pol)
    for c in planted["conflicts"]:
        if c["application_id"] == "*" or "," in c["expert_id"]:
            continue
        assert cs.is_excluded(c["expert_id"], c["application_id"]) == c["expected"].startswith("excluded"), c
    panels = pd.read_csv(out / "demo_panels.csv", encoding="utf-8-sig")
    assert not any(cs.is_excluded(r.专家编号, r.申报编号) for r in panels.itertuples())


# ------------------------------------------------------------------ experts
def test_expert_pool(t, policy):
    e = t["experts"]
    assert 380 <= len(e) <= 420
    share = e["category"].value_counts(normalize=True)
    assert set(share.index) == set(policy.panel_rules.categories)
    assert 0.35 <= share["技术"] <= 0.45 and 0.15 <= share["产业"] <= 0.25
    assert (e["status"] == "不可用").sum() >= 2 and 1 <= (e["status"] == "信用惩戒").sum() <= 2
    assert e["department"].eq("自治区").any() and e["department"].isin(policy.cities.names).any()
    assert (e["city"] == "区外").sum() >= 10
    assert e["available_from"].notna().any() and e["available_until"].notna().any()
    assert e["max_load"].isna().mean() > 0.9
    assert e["name"].str.len().between(2, 4).all()
    dup = e[e["name"].duplicated(keep=False)]
    assert len(dup) == 2 and dup["employer"].nunique() == 2      # one deliberate pair of namesakes
    assert e["phone"].str.fullmatch(r"1\d{10}").all()
    assert e["email"].str.contains("@").all()
    for f in policy.fields.all:
        tech = e[(e["category"] == "技术") & e["fields"].str.split("、").apply(lambda fs: f in fs)]
        assert len(tech) >= 8 and (tech["title_level"] == "正高级").sum() >= 4, f


def test_expert_employers_overlap_applicant_units(t):
    units = set(t["applications"]["lead_credit_code"]) | set(t["members"]["credit_code"])
    e = t["experts"]
    at_units = e[e["employer_credit_code"].isin(units)]
    assert len(at_units) >= 20
    assert e["employer_credit_code"].isin(set(t["applications"]["lead_credit_code"])).any()
    # universities keep one code: as members and as employers
    gxu = set(t["members"].loc[t["members"]["unit_name"] == "广西大学", "credit_code"]) | \
        set(e.loc[e["employer"] == "广西大学", "employer_credit_code"])
    assert len(gxu) == 1
    # an expert recorded by employer name only, at an applicant unit
    names = set(t["applications"]["lead_unit"]) | set(t["members"]["unit_name"])
    assert (e["employer_credit_code"].isna() & e["employer"].isin(names)).any()


def test_history_and_declarations(t, policy):
    h, units = t["expert_history"], set(t["applications"]["lead_credit_code"]) | set(t["members"]["credit_code"])
    past = h[(h["kind"] == "任职") & h["end"].notna() & h["org_credit_code"].isin(units)]
    ends = {d.date() for d in past["end"]}
    assert dt.date(2023, 11, 1) in ends                                  # exactly 3 years before
    assert any(d > dt.date(2023, 11, 1) for d in ends) and any(d < dt.date(2023, 11, 1) for d in ends)
    assert {"董监高", "股东", "亲属", "师生", "合作"} <= set(h["kind"])
    heads = set(t["applications"]["centre_head"]) | set(t["applications"]["legal_representative"])
    assert h.loc[h["kind"].isin(["亲属", "师生"]), "person"].isin(heads).all()
    d = t["declared_conflicts"]
    assert d[d["kind"] == "不适宜"].groupby("application_id").size().max() <= policy.conflicts.applicant_declared_max
    waiver = d[d["kind"] == "豁免"]
    assert len(waiver) == 1 and waiver["rule"].eq("C6").all() and waiver["reason"].str.len().gt(10).all()
    w = waiver.iloc[0]
    assert ((d["kind"] == "不适宜") & (d["application_id"] == w["application_id"]) & (d["expert_id"] == w["expert_id"])).any()
    assert (d["kind"] == "回避").sum() >= 3


# ------------------------------------------------------------------ panels and scores
def test_demo_panels(t, policy):
    p, e, m, a = t["panels"], t["experts"].set_index("expert_id"), t["members"], t["applications"]
    assert set(p["stage"]) == {"初审评估", "现场考察", "认定评审"}
    for (stage, app_id), g in p.groupby(["stage", "application_id"]):
        assert len(g) == policy.panel_size(stage)
        cats = e.loc[g["expert_id"], "category"]
        assert set(cats) == set(policy.panel_rules.categories)
        units = set(m.loc[m["application_id"] == app_id, "credit_code"]) | \
            set(a.loc[a["application_id"] == app_id, "lead_credit_code"])
        assert not e.loc[g["expert_id"], "employer_credit_code"].isin(units).any()
        assert e.loc[g["expert_id"], "employer"].is_unique
        chair = g[g["role"] == "组长"]["expert_id"]
        assert len(chair) == 1 and e.loc[chair.iloc[0], "title_level"] == "正高级"
    assert not p.duplicated(["application_id", "expert_id"]).any()       # independent stages


def test_demo_panels_are_the_panels_reviewer_demo_plans(regenerated, policy, planted):
    """The returned scores were given on the panels `reviewer demo` plans stage by stage (only what
    advanced is planned for the next stage: 29 → 29 → 28, the planted veto out at 现场考察), so its score
    sheets name the experts whose scores come back."""
    out, _ = regenerated
    pol = demo_policy(policy)
    data, _ = io.load_round_from(out / "applications.xlsx", pol)
    returned, errors = validate_scores(read_table(out / "scores.csv"), out / "scores.csv", pol)
    assert errors == []

    def scores_of(stage, seats, _plant):
        mine = returned[(returned["panel"] == stage)
                        & returned["application_id"].isin(set(seats.loc[seats["stage"] == stage, "application_id"]))]
        return mine[["expert_id", "application_id", "criterion", "score"]]

    stages = run_stages(data, pol, scores_of, screening=screen(data, pol), conflicts=detect_conflicts(data, pol))
    planned = stages.panels
    demo = pd.read_csv(out / "demo_panels.csv", encoding="utf-8-sig")
    assert len(demo) == len(planned) > 0
    assert set(zip(demo["阶段"], demo["申报编号"], demo["专家编号"], demo["角色"])) == \
        set(zip(planned["stage"], planned["application_id"], planned["expert_id"], planned["role_zh"]))
    assert [(g["stage"], g["in"]) for g in stages.summary] == [("初审评估", 29), ("现场考察", 29), ("认定评审", 28)]
    veto = planted["scores"]["veto"]
    assert stages.proposals["现场考察"].set_index("application_id").loc[veto["application_id"], "outcome"] == "vetoed"
    assert veto["application_id"] not in stages.reached
    assert [g["in"] for g in planted["stages"]] == [29, 29, 28]


def test_scores(t, planted, policy):
    s = t["scores"]
    maxes = {st: {c.id: c.max for c in policy.instrument(st).criteria} for st in policy.stages.order}
    assert policy.instrument("现场考察") is policy.instruments["现场考察核查表"]      # the bundled policy's checklist
    for st, g in s.groupby("stage"):                                       # each stage on its own instrument
        assert set(g["criterion"]) == set(maxes[st]), st
    limit = [maxes[st][c] for st, c in zip(s["stage"], s["criterion"])]
    ok = s.assign(limit=limit).dropna(subset=["score"])
    assert (ok["score"] >= 0).all() and (ok["score"] <= ok["limit"]).all()
    assert ((ok["score"] * 10 - (ok["score"] * 10).round()).abs() < 1e-9).all()   # one decimal at most
    assert s["score"].isna().sum() == 1
    sheets = s.groupby(["stage", "application_id", "expert_id"])["score"].count()
    n_crit = pd.Series([len(maxes[st]) for st in sheets.index.get_level_values("stage")], index=sheets.index)
    assert (sheets == n_crit).sum() == len(sheets) - 1                      # one sheet with a blank
    assert len(sheets) == len(t["panels"]) - 1                              # one sheet not returned
    tot = s.groupby(["stage", "application_id", "expert_id"])["score"].sum()
    o = planted["scores"]["outlier"]
    panel = tot.loc[(o["stage"], o["application_id"])]
    assert abs(panel[o["expert_id"]] - panel.drop(o["expert_id"]).median()) > policy.aggregation.outlier_points
    assert planted["scores"]["harsh"] and planted["scores"]["lenient"] and len(planted["scores"]["erratic"]) == 1
    # the planted veto: a majority of the 现场考察 panel score the first veto item 0
    v = planted["scores"]["veto"]
    zero = s[(s["stage"] == v["stage"]) & (s["application_id"] == v["application_id"]) & (s["criterion"] == v["criterion"])]
    assert set(zero.loc[zero["score"] == 0, "expert_id"]) == set(v["experts"]) and 2 * len(v["experts"]) > len(zero)
    assert not ((s["stage"] == "现场考察") & s["criterion"].isin(["V1", "V2", "V3", "V4"]) & (s["score"] == 0)
                & (s["application_id"] != v["application_id"])).any()
    fam_b = s[s["criterion"].str.startswith("B")].groupby(["stage", "application_id", "expert_id"])["score"].sum()
    weak = planted["weak_family_B"]
    # strong overall, weak in family B (B < 15 of 25): recommended on the total, not on the family rule
    assert fam_b.xs(weak, level="application_id").median() < 15
    rubric_tot = tot[[st != "现场考察" for st in tot.index.get_level_values("stage")]]
    assert rubric_tot.xs(weak, level="application_id").median() >= policy.decision.recommend_min_score


def test_simulate_scores_accepts_chinese_headers_and_is_deterministic(t, policy):
    plan = t["panels"].rename(columns={"stage": "阶段", "application_id": "申报编号", "expert_id": "专家编号"})
    apps = t["applications"].rename(columns={c.key: c.zh for c in schema.APPLICATIONS.columns})
    a1 = simulate_scores(plan, apps, t["experts"], policy, seed=5)
    a2 = simulate_scores(t["panels"], t["applications"], t["experts"], policy, seed=5)
    pd.testing.assert_frame_equal(a1, a2)
    with pytest.raises(ValueError):
        simulate_scores(plan.assign(申报编号="GX1999-999"), apps, t["experts"], policy, seed=5)


# ------------------------------------------------------------------ past centres
def test_past_centres_and_indicators(t, planted, policy):
    past, ind = t["past_centres"], t["indicators"]
    assert len(past) == 7 and past["centre_id"].is_unique
    assert all(is_valid_credit_code(c) for c in past["lead_credit_code"])
    assert len(ind) == 21 and set(ind["year"]) == {2023, 2024, 2025}
    assert not ind.duplicated(["centre_id", "year"]).any()
    assert ind["industrialised_rate"].between(0, 1).all() and ind["build_completion"].between(0, 1).all()
    cases = planted["past_centres"]
    assert sorted(cases.values()).count("fail_twice") == 1 and "overrun" in cases.values()

    def ratio(cid: str) -> list[float]:
        g = ind[ind["centre_id"] == cid].sort_values("year")
        return list(g["contract_count"] / g["target_contract_count"])
    fail = next(k for k, v in cases.items() if v == "fail_twice")
    assert all(r < 0.6 for r in ratio(fail)[1:])
    over = next(k for k, v in cases.items() if v == "overrun")
    start = past.set_index("centre_id").loc[over, "build_start"].date()
    end = start.replace(year=start.year + policy.evaluation.build_period_years)
    assert end < REF
    last = ind[(ind["centre_id"] == over) & (ind["year"] == 2025)].iloc[0]
    assert last["build_completion"] < 1 and not math.isnan(last["target_rd_input"])
