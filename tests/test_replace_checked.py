"""Every change to a published round passes the same independent checker as a plan (issue 11,
defects 1, 2 and 10): `reviewer replace` with and without --new, overrides with a reason, the app's
replacement path, `replace --old` / `repair --decline` of an expert not on the panel."""
from __future__ import annotations


import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.app import store as app_store
from reviewer.app.panels import with_overrides
from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.panels import service
from reviewer.store import Store, audit, publishing, replacement, repo
from reviewer.store.models import AuditEntry, Score
from reviewer.store.runs import run_planning
from tests.factories import write_csv
from tests.test_store_support import planned_store, store_copy, DEMO, demo_loaded, run_cli

SITE, RECOG = "现场考察", "认定评审"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The demo round planned (all stages, seed 7, one worker) with 现场考察 published from run 1."""
    return planned_store(tmp_path_factory.mktemp("replace"), SITE)


@pytest.fixture
def db(base, tmp_path):
    st, path, run_id = store_copy(base, tmp_path)
    yield st, path, run_id
    st.dispose()


def state(st: Store, run_id: int):
    with st.read() as s:
        r = repo.get_round(s, "2026")
        site = repo.published_seats(s, r, SITE)
        recog = repo.published_seats(s, r, RECOG)
        planned = repo.run_seats(s, run_id)
        pol = repo.round_policy(r)
    return site, (recog if not recog.empty else planned[planned["stage"] == RECOG]), pol


def other_stage_pick(site: pd.DataFrame, recog: pd.DataFrame, pol):
    """A 现场考察 seat whose repair, without the 认定评审 seats held fixed (as before the fix), takes an
    expert who sits on the same application in 认定评审."""
    data, _ = demo_loaded()
    site = site[["stage", "application_id", "expert_id", "role"]]
    for app in sorted(site["application_id"].unique()):
        for old in site.loc[(site["application_id"] == app) & (site["role"] != "chair"), "expert_id"]:
            _, rep = service.repair(data, pol, site, [(SITE, old, app)])
            for x in rep.changes[rep.changes["change"] == "added"].itertuples():
                if ((recog["application_id"] == x.application_id) & (recog["expert_id"] == x.expert_id)).any():
                    return app, old, x.expert_id
    pytest.skip("no seat whose unfixed repair crosses stages")


def test_auto_pick_never_takes_an_expert_of_the_application_in_another_stage(db, capsys):
    st, path, run_id = db
    site, recog, pol = state(st, run_id)
    app, old, crossing = other_stage_pick(site, recog, pol)
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", old, "--reason",
                         "专家因病请假", "--db", str(path)], capsys)
    assert code == 0, out
    site2, _, _ = state(st, run_id)
    new = set(site2.loc[site2["application_id"] == app, "expert_id"]) - set(site.loc[site["application_id"] == app,
                                                                                   "expert_id"])
    assert len(new) == 1 and crossing not in new
    assert not (recog.loc[recog["application_id"] == app, "expert_id"].isin(new)).any()


def test_manual_pick_of_an_expert_on_the_published_recognition_panel_is_refused(db, capsys):
    st, path, run_id = db
    with st.write() as s:
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run_id, user="张三", reason="发布")
    site, recog, _ = state(st, run_id)
    app = sorted(site["application_id"].unique())[0]
    old = site.loc[(site["application_id"] == app) & (site["role"] != "chair"), "expert_id"].iloc[0]
    on_recog = recog.loc[recog["application_id"] == app, "expert_id"].iloc[0]
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", old, "--new", on_recog,
                         "--reason", "专家因病请假", "--db", str(path)], capsys)
    assert code == 2
    assert "stage_independence" in out and "阶段独立" in out and app in out and on_recog in out
    assert state(st, run_id)[0].equals(site)
    # and the automatic pick, with 认定评审 published, does not take anyone of the recognition panel
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", old, "--reason",
                         "专家因病请假", "--db", str(path)], capsys)
    assert code == 0, out
    now = state(st, run_id)[0]
    assert not now.loc[now["application_id"] == app, "expert_id"].isin(recog.loc[recog["application_id"] == app,
                                                                                 "expert_id"]).any()


def category_breaker(st: Store, run_id: int):
    """(application, the 经济 expert of its 现场考察 panel, a 技术 expert of another field who breaks no
    other rule: drawable, no conflict, another employer, not on the application in any stage)."""
    data, _ = demo_loaded()
    site, recog, pol = state(st, run_id)
    with st.read() as s:
        planned = repo.run_seats(s, run_id)
    cs = detect_conflicts(data, pol)
    load = site["expert_id"].value_counts()
    for app in sorted(site["application_id"].unique()):
        panel = site[site["application_id"] == app]
        econ = panel[panel["expert_id"].map(lambda e: data.expert(e).category) == "经济"]
        if econ.empty:
            continue
        field = data.application(app).field
        employers = {data.expert(e).employer_key for e in panel["expert_id"]}
        elsewhere = set(planned.loc[planned["application_id"] == app, "expert_id"])
        for e in data.experts:
            if (e.category == "技术" and field not in e.fields and e.drawable and e.expert_id not in elsewhere
                    and not cs.is_excluded(e.expert_id, app) and e.employer_key not in employers
                    and load.get(e.expert_id, 0) < 3 and not e.available_from and not e.available_until):
                return app, econ["expert_id"].iloc[0], e.expert_id
    pytest.skip("no candidate")


def test_a_manual_change_that_drops_a_category_is_refused_naming_the_rule(db, capsys):
    st, path, run_id = db
    app, econ, tech = category_breaker(st, run_id)
    before = state(st, run_id)[0]
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", econ, "--new", tech,
                         "--reason", "专家因病请假", "--db", str(path)], capsys)
    assert code == 2
    assert "替换后违反 category_coverage (五类专家覆盖)" in out and f"{SITE} {app}" in out and "经济" in out
    assert state(st, run_id)[0].equals(before)
    # naming another rule does not cover it; an unknown rule id is a clear error
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", econ, "--new", tech,
                         "--override-rule", "expert_load", "--reason", "不可抗力", "--db", str(path)], capsys)
    assert code == 2 and "category_coverage" in out
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", econ, "--new", tech,
                         "--override-rule", "five_categories", "--reason", "不可抗力", "--db", str(path)], capsys)
    assert code == 2 and "unknown rule 'five_categories'" in out and "category_coverage" in out
    assert state(st, run_id)[0].equals(before)


def test_an_override_with_a_reason_is_recorded_and_shown(db, capsys, monkeypatch):
    st, path, run_id = db
    app, econ, tech = category_breaker(st, run_id)
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", econ, "--new", tech,
                         "--override-rule", "category_coverage", "--reason", "台风停航，经济专家无法到场",
                         "--user", "王五", "--db", str(path)], capsys)
    assert code == 0, out
    assert "例外 override: category_coverage 五类专家覆盖 – 台风停航，经济专家无法到场" in out
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert audit.verify(s).ok
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "rule_override")).scalars().one()
        assert entry.user_name == "王五" and entry.reason == "台风停航，经济专家无法到场"
        assert "category_coverage" in entry.after and app in entry.after and tech in entry.after
        shown = replacement.overrides(s, r, SITE)
    assert shown[["application_id", "expert_id", "rule"]].values.tolist() == [[app, tech, "category_coverage"]]
    code, out = run_cli(["round", "show", "2026", "--db", str(path)], capsys)
    assert code == 0 and f"{SITE} {app} {tech}: 例外 override: category_coverage" in out
    # the staff summary of the packs and the app's panel page show it too
    code, out = run_cli(["packs", "--round", "2026", "--stage", SITE, "--out", str(path.parent / "packs"),
                         "--db", str(path)], capsys)
    assert code == 0, out
    summary = next((path.parent / "packs").glob("工作人员汇总_*.xlsx"))
    sheets = pd.read_excel(summary, sheet_name=None, dtype=str)
    assert sheets["例外 overrides"][["申报编号 application", "规则 rule", "理由 reason"]].values.tolist() == [
        [app, "category_coverage", "台风停航，经济专家无法到场"]]
    day = sheets["日程 schedule"]
    assert "例外 override: category_coverage" in day.loc[day["申报编号 application"] == app, "例外 override"].iloc[0]
    monkeypatch.setenv("REVIEWER_DB_URL", f"sqlite:///{path}")
    panels, shown_app = with_overrides(state(st, run_id)[0], app_store.overrides("2026", SITE))
    assert [o["rule"] for o in shown_app] == ["category_coverage"]
    seat = panels[(panels["application_id"] == app) & (panels["expert_id"] == tech)]
    assert seat["override"].iloc[0].startswith("例外 override: category_coverage")
    assert (panels.loc[panels["expert_id"] != tech, "override"] == "").all()
    # a later change on the same panel is not blamed for the overridden finding; the override stays shown
    # only while its seat is active
    site = state(st, run_id)[0]
    other = site.loc[(site["application_id"] == app) & (site["expert_id"] == tech), "expert_id"].iloc[0]
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", other, "--reason",
                         "又请假", "--db", str(path)], capsys)
    assert code == 0, out
    with st.read() as s:
        assert replacement.overrides(s, repo.get_round(s, "2026"), SITE).empty


def test_a_non_waivable_conflict_is_never_overridden(db, capsys):
    st, path, run_id = db
    data, _ = demo_loaded()
    site, _, pol = state(st, run_id)
    cs = detect_conflicts(data, pol)
    for app in sorted(site["application_id"].unique()):
        hits = [h for h in cs.hits if h.application_id == app and h.excludes
                and h.rule not in pol.conflicts.waivable_rules and data.expert(h.expert_id).drawable]
        if hits:
            break
    old = site.loc[(site["application_id"] == app) & (site["role"] != "chair"), "expert_id"].iloc[0]
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", old, "--new",
                         hits[0].expert_id, "--override-rule", "excluded_pairs", "--override-rule",
                         "category_coverage", "--override-rule", "one_per_employer", "--override-rule",
                         "field_matched_technical", "--override-rule", "tech_industry_share", "--override-rule",
                         "expert_load", "--override-rule", "stage_independence",
                         "--reason", "不可抗力", "--db", str(path)], capsys)
    assert code == 2 and hits[0].rule in out and "cannot be waived or overridden" in out and "不可豁免" in out
    assert state(st, run_id)[0].equals(site)


def test_replace_old_not_on_the_panel_is_refused(db, capsys):
    st, path, run_id = db
    site, _, _ = state(st, run_id)
    app = site["application_id"].iloc[0]
    stranger = next(e for e in site["expert_id"] if e not in set(site.loc[site["application_id"] == app, "expert_id"]))
    for extra in ([], ["--new", "ZJ0001"]):
        code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", stranger, *extra,
                             "--reason", "x", "--db", str(path)], capsys)
        assert code == 2 and stranger in out and app in out and "不在" in out


def test_repair_decline_of_an_expert_not_on_the_panel_is_refused(tmp_path, capsys):
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str)
    cols = {c: c for c in panels.columns}
    stage_c = next(c for c in cols if c in ("stage", "阶段"))
    app_c = next(c for c in cols if c in ("application_id", "申报编号"))
    exp_c = next(c for c in cols if c in ("expert_id", "专家编号"))
    first = panels[panels[stage_c] == SITE].iloc[0]
    on = set(panels.loc[(panels[stage_c] == SITE) & (panels[app_c] == first[app_c]), exp_c])
    stranger = next(e for e in panels[exp_c] if e not in on)
    code, out = run_cli(["repair", str(DEMO), "--panels", str(DEMO / "demo_panels.csv"), "--decline",
                         f"{SITE},{stranger},{first[app_c]}", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and stranger in out and first[app_c] in out and "不在" in out
    assert not (tmp_path / "out" / "repair_changes.csv").exists()


def test_the_apps_replacement_goes_through_the_same_check(db, monkeypatch):
    st, path, run_id = db
    monkeypatch.setenv("REVIEWER_DB_URL", f"sqlite:///{path}")
    app, econ, tech = category_breaker(st, run_id)
    before = state(st, run_id)[0]
    data, _ = demo_loaded()
    with pytest.raises(UserError, match="category_coverage"):
        app_store.replace_seats("2026", SITE, [[app, econ, tech]], "专家因病请假", "张三", data)
    assert state(st, run_id)[0].equals(before)


def test_publishing_a_stage_that_breaks_stage_independence_with_a_published_one_is_refused(db):
    st, path, run_id = db
    site, _, _ = state(st, run_id)
    run, res = run_planning(st, "2026", user="张三", stages=[RECOG], seed=7, time_limit=120, workers=1)  # no fixed
    both = res.panels.merge(site, on=["application_id", "expert_id"])
    assert not both.empty   # planned alone, 认定评审 reuses 现场考察 experts on the same applications
    with st.write() as s, pytest.raises(publishing.StalePlan, match="已过期"):   # it did not hold 现场考察 fixed
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run.id, user="张三", reason="发布")
    # confirmed as it is, the independent check over the round still refuses it
    with st.write() as s, pytest.raises(UserError, match="发布后违反 stage_independence") as e:
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run.id, user="张三", reason="发布",
                               confirm_stale="确认")
    x = both.iloc[0]
    assert x["application_id"] in str(e.value) and x["expert_id"] in str(e.value)
    with st.read() as s:
        assert repo.publication(s, repo.get_round(s, "2026"), RECOG) is None
    with st.write() as s:   # the run planned with 现场考察 (run 1) keeps every rule and publishes
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run_id, user="张三", reason="发布")


def test_alternates_are_of_the_panel_and_leave_out_who_declined():
    """候补 of a panel are experts for THIS stage's panel: never the expert who declined, never a
    member of the panel, never someone on the same application's panel in another stage."""
    import pandas as pd
    from reviewer.panels.service import RepairResult
    alts = pd.DataFrame([
        {"stage": "现场考察", "application_id": "A1", "rank": 1, "expert_id": "E9"},
        {"stage": "现场考察", "application_id": "A1", "rank": 2, "expert_id": "E1"},
        {"stage": "认定评审", "application_id": "A1", "rank": 1, "expert_id": "E7"},
        {"stage": "现场考察", "application_id": "A2", "rank": 1, "expert_id": "E8"}])
    rep = RepairResult(None, pd.DataFrame(), pd.DataFrame(), alts, 1)
    assert rep.alternates_of("现场考察", "A1", exclude=["E1"]) == ["E9"]
    assert rep.alternates_of("认定评审", "A1") == ["E7"]


def test_scores_of_a_replaced_expert_become_void(db, tmp_path, capsys):
    """An expert who scored and is then replaced (e.g. a conflict found late) holds no seat: the
    scores already submitted stop counting (kept, void, with the reason); the newcomer scores in full."""
    st, path, run_id = db
    site, _, pol = state(st, run_id)
    app = sorted(site["application_id"].unique())[0]
    old = site.loc[(site["application_id"] == app) & (site["role"] != "chair"), "expert_id"].iloc[0]
    f = write_csv(tmp_path / "s.csv", [(SITE, app, old, c.id, c.max) for c in pol.instrument(SITE).criteria],
                  ("阶段", "申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", str(path), str(f)], capsys)
    assert code == 0, out
    code, out = run_cli(["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", old, "--reason",
                         "发现回避关系", "--db", str(path)], capsys)
    assert code == 0, out
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.scores_frame(s, r, SITE).empty
        every = repo.scores_frame(s, r, SITE, include_void=True)
        reasons = {x.void_reason for x in s.execute(select(Score)).scalars()}
    assert len(every) == len(pol.instrument(SITE).criteria) and every["void"].all()
    assert any(old in (x or "") and "替换" in (x or "") for x in reasons), reasons
    with st.read() as s:
        v = audit.verify(s)   # the voids are facts of the replacement's audit entry
    assert v.ok, v


def test_a_run_planned_before_a_replacement_in_another_stage_is_checked_against_it_when_published(db):
    """Issue 12 hole 1: 认定评审 planned (run 2) against the published 现场考察; then a replacement in
    现场考察 seats an expert on an application they hold in run 2's 认定评审. Publishing run 2 now
    is refused for stage independence, naming the application and the expert."""
    st, path, _ = db
    with st.read() as s:
        site = repo.published_seats(s, repo.get_round(s, "2026"), SITE)
    fixed = [(SITE, x.expert_id, x.application_id) for x in site.itertuples(index=False)]
    run2, res = run_planning(st, "2026", user="张三", stages=[RECOG], seed=3, time_limit=120, workers=1, fixed=fixed)
    assert run2.status in ("OPTIMAL", "FEASIBLE")
    recog = res.panels[["application_id", "expert_id"]]
    done = None
    for x in recog.itertuples(index=False):
        on_site = site[site["application_id"] == x.application_id]
        if on_site.empty or x.expert_id in set(on_site["expert_id"]):
            continue
        for old in on_site.loc[on_site["role"] != "chair", "expert_id"]:
            try:
                with st.write() as s:
                    replacement.replace_expert(s, repo.get_round(s, "2026"), SITE, x.application_id, old,
                                               x.expert_id, reason="专家因病请假", user="张三")
            except UserError:
                continue
            done = (x.application_id, x.expert_id)
            break
        if done:
            break
    if done is None:
        pytest.skip("no replacement in 现场考察 that keeps every rule and takes a 认定评审 expert of run 2")
    with pytest.raises(publishing.StalePlan, match=done[1]), st.write() as s:   # stale: a seat published since
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run2.id, user="张三", reason="发布")
    with pytest.raises(UserError, match="stage_independence") as e, st.write() as s:   # confirmed: still refused
        publishing.publish_run(s, repo.get_round(s, "2026"), RECOG, run2.id, user="张三", reason="发布",
                               confirm_stale="确认")
    assert done[0] in str(e.value) and done[1] in str(e.value)
    with st.read() as s:
        assert repo.publication(s, repo.get_round(s, "2026"), RECOG) is None and audit.verify(s).ok
