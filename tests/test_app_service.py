"""The staff app's service layer and accounts, without Streamlit."""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from reviewer.app.text import local_time, with_local_times
from reviewer.app import charts as charts
from reviewer.app import conflicts as svc_conflicts
from reviewer.app import expert_view as svc_expert_view
from reviewer.app import imports as svc_imports
from reviewer.app import overview as svc_overview
from reviewer.app import panels as svc_panels
from reviewer.app import ranking as svc_ranking
from reviewer.app import signoff as svc_signoff
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app import screening as svc_screening
from reviewer.resources import DEMO_DIR
from reviewer.app import auth
from reviewer.errors import UserError


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    return tmp_path


@pytest.fixture()
def demo(appdata):
    return svc_rounds.ensure_demo_round()


# ---------------------------------------------------------------- accounts

def test_password_is_hashed_with_salt_and_verified(appdata):
    auth.add_user("zhang", "correct horse", role="staff")
    raw = (appdata / "auth.sqlite").read_bytes()
    assert b"correct horse" not in raw
    assert auth.verify("zhang", "correct horse").role == "staff"
    assert auth.verify("zhang", "wrong password") is None
    assert auth.verify("nobody", "correct horse") is None
    auth.add_user("li", "correct horse", role="analyst")
    import sqlite3
    rows = sqlite3.connect(appdata / "auth.sqlite").execute("SELECT salt, hash FROM users").fetchall()
    assert rows[0][0] != rows[1][0] and rows[0][1] != rows[1][1]  # same password, different salt and hash
    assert not auth.verify("li", "correct horse").can_edit


def test_account_rules(appdata):
    with pytest.raises(UserError, match="at least"):
        auth.add_user("zhang", "short")
    with pytest.raises(UserError, match="role"):
        auth.add_user("zhang", "long enough", role="boss")
    auth.add_user("zhang", "long enough")
    with pytest.raises(UserError, match="exists"):
        auth.add_user("zhang", "long enough")
    auth.add_user("zhang", "another one", replace=True)
    assert auth.verify("zhang", "another one")


def test_expert_token_is_scoped_and_expires(appdata):
    tok, exp = auth.issue_token("ZJ0001", days=1)
    assert auth.resolve_token(tok).expert_id == "ZJ0001"
    assert auth.resolve_token(tok + "x") is None
    assert auth.resolve_token("") is None
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    assert auth.resolve_token(tok, now=later) is None
    assert tok not in (appdata / "auth.sqlite").read_bytes().decode("latin-1")
    auth.revoke_tokens("ZJ0001")
    assert auth.resolve_token(tok) is None


def test_sessions(appdata):
    u = auth.add_user("zhang", "long enough")
    sid = auth.start_session(u)
    assert auth.session_user(sid).username == "zhang"
    assert auth.session_user("forged") is None
    auth.end_session(sid)
    assert auth.session_user(sid) is None


# ---------------------------------------------------------------- rounds and import

def test_demo_round_out_of_the_box(demo):
    ov = svc_overview.round_overview(demo)
    assert ov["applications"] == 40 and ov["experts"] == 400 and ov["import_errors"] == 0
    assert ov["as_of"] == "2026-11-01"
    state = svc_overview.round_state(demo)
    assert list(state["stage"]) == ["初审评估", "现场考察", "认定评审"]
    assert svc_rounds.last_round() == demo


def test_create_round_and_import_with_row_errors(appdata):
    info = svc_rounds.create_round("2027年度试点", "2027-10-01")
    assert svc_overview.round_overview(info.round_id)["applications"] == 0
    bad = ("申报编号,创新中心名称,领域\nGX1,中心,汽车\n").encode("utf-8")
    out = svc_imports.import_files(info.round_id, [("申报书.csv", bad)])
    assert "applications" in out.skipped  # required columns missing: not applied
    apps = pd.read_excel(DEMO_DIR / "round2026.xlsx", sheet_name="申报书", dtype=str)
    apps.loc[1, "牵头单位统一社会信用代码"] = "123"
    buf = io.BytesIO()
    apps.to_csv(buf, index=False)
    out = svc_imports.import_files(info.round_id, [("applications.csv", buf.getvalue())])
    assert out.applied == ["applications"]
    iss = out.issues
    assert (iss["row"] == 3).any() and iss["column"].str.contains("信用代码").any()
    assert svc_overview.round_overview(info.round_id)["applications"] == len(apps) - 1
    out = svc_imports.import_files(info.round_id, [("stuff.csv", b"a,b\n1,2\n")])   # named, not a stop
    assert "cannot tell" in out.skipped["stuff.csv"] and not out.applied
    log = svc_rounds.audit_log(info.round_id)
    assert set(log["action"]) >= {"round.create", "import"}
    assert set(log["source"]) == {"存证 chained", "本地 local"}


def test_template_has_every_table():
    x = pd.ExcelFile(io.BytesIO(svc_imports.template_bytes()))
    assert {"申报书", "专家库", "回避申报", "说明"} <= set(x.sheet_names)


# ---------------------------------------------------------------- screening, conflicts

def test_review_decision_needs_reason_and_is_audited(demo):
    items = svc_screening.review_items(demo)
    assert len(items) >= 1
    a, r = items.application_id[0], items.rule[0]
    with pytest.raises(UserError, match="reason"):
        svc_screening.decide_review(demo, a, r, "pass", " ")
    before = svc_screening.screening(demo).summary.set_index("application_id").loc[a, "outcome"]
    assert before == "needs-review"
    svc_screening.decide_review(demo, a, r, "pass", "补充材料已核实", user="zhang")
    row = svc_screening.screening(demo).summary.set_index("application_id").loc[a]
    assert row["outcome"] in ("pass", "needs-review")  # other checks of the application may still need review
    checks = svc_screening.screening(demo).checks
    c = checks[(checks.application_id == a) & (checks.rule == r)].iloc[0]
    assert c["outcome"] == "pass" and "补充材料已核实" in c["reason"]
    log = svc_rounds.audit_log(demo)
    assert log.iloc[0]["action"] == "review_decision" and log.iloc[0]["user"] == "zhang"
    assert log.iloc[0]["source"] == "存证 chained"
    from reviewer.app import store as app_store
    assert app_store.verify_chain()[0]


def test_waiver_lifts_only_a_waivable_conflict(demo):
    t = svc_conflicts.conflicts(demo).table()
    c6 = t[(t.rule == "C6") & ~t.waived]
    if c6.empty:
        pytest.skip("no C6 conflict in the demo")
    a, e = c6.application_id.iloc[0], c6.expert_id.iloc[0]
    c1 = t[t.rule == "C1"].iloc[0]
    with pytest.raises(UserError, match="may be waived"):
        svc_conflicts.add_waiver(demo, c1.application_id, c1.expert_id, "C1", "理由")
    with pytest.raises(UserError, match="reason"):
        svc_conflicts.add_waiver(demo, a, e, "C6", "")
    svc_conflicts.add_waiver(demo, a, e, "C6", "经核实不存在利害关系")
    hits = svc_conflicts.conflicts(demo).pair(e, a)
    assert any(h.rule == "C6" and h.waived for h in hits)


def test_pool_tables(demo):
    b = svc_imports.load_bundle(demo)
    cat = svc_conflicts.pool_by_category(b.data, b.policy)
    assert cat["n"].sum() == 400
    assert set(svc_conflicts.pool_by_field(b.data)["field"]) <= set(b.policy.fields.all)
    ov = svc_conflicts.conflicts_overview(demo)
    assert len(ov) == 40 and (ov["eligible_experts"] + ov["excluded_experts"] == 400).all()


# ---------------------------------------------------------------- panels

def test_plan_lock_forbid_replace_publish(demo):
    p = svc_panels.plan_stage(demo, "初审评估", seed=3, time_limit=20)
    assert p.feasible and p.meta["seed"] == 3 and len(p.panels) == 29 * 5
    assert set(svc_panels.coverage_long(p, ["经济", "技术", "产业", "管理", "金融"])["n"]) >= {1}
    assert {"affinity", "load_balance"} <= set(p.breakdown()["term"])
    e, a = p.panels.expert_id.iloc[0], p.panels.application_id.iloc[0]
    with pytest.raises(UserError, match="reason"):
        svc_panels.set_constraint(demo, "初审评估", "forbid", e, a, "")
    svc_panels.set_constraint(demo, "初审评估", "forbid", e, a, "测试排除")
    p2 = svc_panels.plan_stage(demo, "初审评估", seed=3, time_limit=20)
    assert not ((p2.panels.expert_id == e) & (p2.panels.application_id == a)).any()
    with pytest.raises(UserError, match="理由"):
        svc_panels.remove_constraint(demo, "初审评估", e, a)
    svc_panels.remove_constraint(demo, "初审评估", e, a, reason="测试撤销")
    e2, a2 = p2.panels.expert_id.iloc[0], p2.panels.application_id.iloc[0]
    new, changes = svc_panels.replace_expert(demo, "初审评估", e2, a2, "专家因病无法参加", time_limit=20)
    assert (changes[changes.change == "removed"].expert_id == e2).any()
    assert not ((new.panels.expert_id == e2) & (new.panels.application_id == a2)).any()
    assert len(new.panels) == len(p2.panels) and not new.meta["stale"]
    svc_panels.publish(demo, "初审评估")
    with pytest.raises(UserError, match="published"):
        svc_panels.plan_stage(demo, "初审评估", seed=4, time_limit=20)
    with pytest.raises(UserError, match="published"):
        svc_panels.set_constraint(demo, "初审评估", "lock", e, a, "x")
    assert svc_overview.round_state(demo).set_index("stage").loc["初审评估", "published"] == "已发布"


def test_infeasible_plan_says_why(demo):
    b = svc_imports.load_bundle(demo)
    a = svc_screening.screening(demo).eligible_ids()[0]
    # forbid every finance expert for one application: no panel can cover 金融
    fin = [x.expert_id for x in b.data.experts if x.category == "金融"]
    for x in fin:
        svc_panels.set_constraint(demo, "初审评估", "forbid", x, a, "测试：排除全部金融专家")
    p = svc_panels.plan_stage(demo, "初审评估", time_limit=20, include_review=True)
    assert not p.feasible
    assert not p.diagnostics.empty
    assert p.diagnostics["message_zh"].str.contains("金融").any()


# ---------------------------------------------------------------- scores and ranking

def test_score_import_rejects_unassigned_and_bad_rows(demo):
    sc = svc_scores.scores(demo)
    row = sc[sc.panel == "认定评审"].iloc[0]
    bad = pd.DataFrame([{"阶段": "认定评审", "申报编号": row.application_id, "专家编号": "ZJ9999", "评分项": "A1", "得分": 3},
                        {"阶段": "认定评审", "申报编号": row.application_id, "专家编号": row.expert_id, "评分项": "A1",
                         "得分": "abc"}])
    n, issues = svc_scores.import_scores(demo, [("bad.csv", bad.to_csv(index=False).encode("utf-8"))])
    assert n == 0
    assert (issues["row"] == 3).any()                             # the non-numeric score, Excel row 3
    assert issues["expected"].str.contains("assigned").any()       # the unassigned expert


def test_ranking_methods_and_exports(demo):
    rk = svc_ranking.ranking(demo, "认定评审", "trimmed")
    assert len(rk) == 40                                           # failed applications stay, with reasons
    assert set(rk["decision"]) >= {"recommend", "ineligible"}
    assert rk.loc[rk.decision == "ineligible", "reason_zh"].str.len().min() > 0
    cmp_ = svc_ranking.compare_methods(demo, "认定评审")
    assert {"score_trimmed", "score_calibrated", "score_bayes", "rank_bayes"} <= set(cmp_.columns)
    assert svc_ranking.ranking(demo, "认定评审", "bayes")["decision"].isin(["recommend"]).any()
    x = pd.ExcelFile(io.BytesIO(svc_signoff.export_ranking_xlsx(demo, "认定评审")))
    assert {"认定排名", "推荐认定", "培育名单", "方法对比"} <= set(x.sheet_names)
    h = svc_signoff.export_ranking_html(demo, "认定评审")
    assert "推荐认定名单" in h and "<table" in h and "@page" in h
    checks = svc_scores.score_checks(demo, "认定评审")
    assert {"outliers", "deviation", "reliability"} == set(checks)


def test_expert_sees_only_own_published_seats(demo):
    p = svc_panels.plan_stage(demo, "初审评估", time_limit=20)
    e = p.panels.expert_id.iloc[0]
    assert svc_expert_view.expert_assignments(demo, e).empty                  # not published yet
    svc_panels.publish(demo, "初审评估")
    mine = svc_expert_view.expert_assignments(demo, e)
    assert set(mine.application_id) == set(p.panels[p.panels.expert_id == e].application_id)
    assert "expert_id" not in mine.columns and "expert_name" not in mine.columns
    sheet = pd.read_excel(io.BytesIO(svc_expert_view.expert_score_sheet(demo, e, "初审评估")), header=1)
    assert set(sheet["申报编号"].dropna().astype(str)) >= set(mine.application_id)


# ---------------------------------------------------------------- charts

def _titles(spec: dict) -> list:
    return [spec.get("title")]


@pytest.mark.parametrize("name", ["pool_by_category", "pool_by_field", "coverage", "load", "affinity", "objective",
                                  "intervals", "outliers", "screening", "conflicts"])
def test_every_chart_has_a_title_and_axis_titles(demo, name):
    b = svc_imports.load_bundle(demo)
    cats = list(b.policy.panel_rules.categories)
    if name in ("coverage", "load", "affinity", "objective"):
        p = svc_panels.plan_stage(demo, "初审评估", time_limit=20)
    make = {
        "pool_by_category": lambda: charts.pool_by_category(svc_conflicts.pool_by_category(b.data, b.policy)),
        "pool_by_field": lambda: charts.pool_by_field(svc_conflicts.pool_by_field(b.data)),
        "coverage": lambda: charts.coverage_heatmap(svc_panels.coverage_long(p, cats), cats),
        "load": lambda: charts.load_histogram(p.loads),
        "affinity": lambda: charts.affinity_bars(svc_panels.affinity_by_panel(p)),
        "objective": lambda: charts.objective_breakdown(p.breakdown()),
        "intervals": lambda: charts.score_intervals(svc_ranking.intervals_long(demo, "认定评审"), "汽车"),
        "outliers": lambda: charts.outlier_scatter(svc_scores.score_checks(demo, "认定评审")["outliers"]),
        "screening": lambda: charts.screening_outcomes(svc_screening.screening(demo).summary),
        "conflicts": lambda: charts.conflicts_by_rule(svc_conflicts.conflicts(demo).table()),
    }[name]
    spec = make().to_dict()
    assert spec.get("title"), name

    def encodings(s):
        if "encoding" in s:
            yield s["encoding"]
        for k in ("layer", "spec"):
            v = s.get(k)
            for sub in (v if isinstance(v, list) else [v] if v else []):
                yield from encodings(sub)

    found = 0
    for enc in encodings(spec):
        for axis in ("x", "y"):
            if axis in enc and "title" in enc[axis]:
                assert enc[axis]["title"], (name, axis)
                found += 1
    assert found >= 2, name


def test_plan_published_from_the_app_is_a_reproducible_store_run(demo):
    from reviewer.app import store as app_store
    from reviewer.store.reproduce import reproduce
    from reviewer.store import repo
    p1 = svc_panels.plan_stage(demo, "初审评估", seed=5, time_limit=20)
    p2 = svc_panels.plan_stage(demo, "现场考察", seed=6, time_limit=20)        # 初审评估's seats held fixed
    assert p1.meta["run_id"] and p2.meta["run_id"] and p2.meta["run_id"] != p1.meta["run_id"]
    pairs1 = set(zip(p1.panels.expert_id, p1.panels.application_id))
    assert not pairs1 & set(zip(p2.panels.expert_id, p2.panels.application_id))   # stage independence
    svc_panels.publish(demo, "现场考察")
    with app_store.store().read() as s:
        pub = repo.publication(s, repo.get_round(s, demo), "现场考察")
        assert pub.run_id == p2.meta["run_id"]
    rep = reproduce(app_store.store(), p2.meta["run_id"])
    assert rep.identical, rep


def test_a_plan_is_its_store_run_and_a_draft_replacement_is_a_recorded_forbid_and_a_new_run(demo, appdata):
    """No plan is read back from a file: the app shows the run's seats and publishes them with the run
    id. An expert declining on a draft is a recorded forbid (with the reason) and a new store run; on a
    published stage a replacement is recorded at once."""
    from reviewer.app import store as app_store
    from reviewer.store import repo
    from reviewer.store.reproduce import reproduce
    stage = "初审评估"
    p = svc_panels.plan_stage(demo, stage, seed=2, time_limit=20)
    run_id = p.meta["run_id"]
    pairs = lambda df: set(zip(df.application_id, df.expert_id))
    assert pairs(app_store.run_seats(run_id, stage)) == pairs(p.panels)
    e, a = p.panels.expert_id.iloc[3], p.panels.application_id.iloc[3]
    draft, changes = svc_panels.replace_expert(demo, stage, e, a, "专家因病无法参加", time_limit=20)
    assert draft.meta["run_id"] != run_id and not draft.meta["stale"]
    assert (e, a) not in set(zip(draft.panels.expert_id, draft.panels.application_id))
    assert pairs(svc_panels.saved_plan(demo, stage).panels) == pairs(draft.panels)    # a refresh shows the same
    chain = app_store.audit_entries(demo)
    forbid = chain[chain.action == "forbid"]
    assert len(forbid) == 1 and "专家因病无法参加" in forbid.reason.iloc[0]
    svc_panels.publish(demo, stage, user="zhang")
    with app_store.store().read() as s:
        pub = repo.publication(s, repo.get_round(s, demo), stage)
        assert pub.run_id == draft.meta["run_id"]
    assert pairs(app_store.published_seats(demo, stage)) == pairs(draft.panels)
    assert reproduce(app_store.store(), draft.meta["run_id"]).identical
    e2, a2 = draft.panels.expert_id.iloc[0], draft.panels.application_id.iloc[0]
    after, changes = svc_panels.replace_expert(demo, stage, e2, a2, "专家出差", time_limit=20)
    chain = app_store.audit_entries(demo)
    rep = chain[chain.action == "replacement"]
    assert len(rep) == int((changes.change == "removed").sum()) >= 1 and (rep.reason == "专家出差").all()
    assert pairs(app_store.published_seats(demo, stage)) == pairs(after.panels)
    folder = svc_rounds.round_dir(demo)
    assert not [x for x in folder.rglob("*") if x.is_file() and "plans" in x.parts]   # no copy of a plan kept
    assert not list(folder.glob("*.csv"))                                             # no scores beside the store


def test_a_plan_made_with_the_store_commands_shows_in_the_app(demo):
    from reviewer.cli.main import main
    svc_imports.load_bundle(demo)          # the app records the round's inputs in the store on first use
    with pytest.raises(SystemExit) as e:
        main(["run", "assign", "--round", demo, "--stage", "现场考察", "--seed", "4", "--time-limit", "20"])
    assert e.value.code == 0
    p = svc_panels.saved_plan(demo, "现场考察")
    assert p is not None and p.feasible and p.meta["seed"] == 4 and p.panels["application_id"].nunique() == 29
    assert svc_overview.round_state(demo).set_index("stage").loc["现场考察", "planned"] == "有方案"


def test_stored_utc_time_stamps_are_shown_in_beijing_time():
    """Issue 13 item 16: times are shown with their zone (Asia/Shanghai), not as raw UTC ISO text."""

    assert local_time("2026-12-02T15:24:38+00:00") == "2026-12-02 23:24 北京时间"
    assert local_time("2026-12-31T17:00:00Z") == "2027-01-01 01:00 北京时间"
    assert local_time("GX2026-003") == "GX2026-003" and local_time("2026-11-01") == "2026-11-01"
    assert local_time(None) is None and local_time(3.5) == 3.5
    shown = with_local_times(pd.DataFrame({"created": ["2026-12-02T15:24:38+00:00"], "id": ["GX2026-003"], "n": [3]}))
    assert shown.iloc[0].tolist() == ["2026-12-02 23:24 北京时间", "GX2026-003", 3]   # pandas' str dtype too

