"""The app's 现场考察 page (AppTest): plan the demo round's site stage from the store, see the metrics, the
timeline and the map, lock a team's dates and re-plan (the team keeps its days), publish (panels and
routes); the service's refusals are clear."""
from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from reviewer.app import auth
from reviewer.app import site as svc_site
from reviewer.app.ui import MAIN
from reviewer.errors import UserError
from reviewer.store import repo
from reviewer.store.engine import Store
from reviewer.store.site_visits import published_run_id
from tests.test_store_support import demo_store

START, END = dt.date(2026, 12, 7), dt.date(2026, 12, 18)


@pytest.fixture()
def app_store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))     # (before the store: its audit key lives there)
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    demo_store(url)
    return url


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []


def click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    ok(at)


def test_plan_lock_replan_and_publish_on_the_page(app_store):
    at = AppTest.from_file(str(MAIN), default_timeout=300)
    at.session_state["round_id"] = "2026"
    at.run()
    at.switch_page("views/site.py").run()
    ok(at)
    assert any("尚无现场考察方案" in str(x.value) for x in at.info)
    at.date_input(key="site_start").set_value(START)
    at.date_input(key="site_end").set_value(END)
    at.number_input(key="site_work").set_value(2.0)
    click(at, "规划")
    assert any("已记录现场考察方案" in str(x.value) for x in at.success)
    labels = {m.label: m.value for m in at.metric}
    assert int(labels["考察组"]) < int(labels["考察点"])
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 2       # the timeline and the map (one is in each tab)
    assert any("独立检查" in str(x.value) for x in at.success)
    first = svc_site.runs("2026")["run_id"].iloc[0]
    view = svc_site.load("2026", int(first))
    team1 = view["itinerary"][view["itinerary"]["team"] == 1][["application_id", "date"]]
    # lock team 1's dates, re-plan: the new run records the locks and keeps those days
    at.selectbox(key="site_lock_team").set_value(1).run()
    click(at, "锁定该组全部日期")
    assert any("下次规划的锁定" in str(x.value) for x in at.caption)
    click(at, "重新规划")
    runs = svc_site.runs("2026")
    assert len(runs) == 2 and runs["locks"].iloc[0]
    new = svc_site.load("2026", int(runs["run_id"].iloc[0]))["itinerary"].set_index("application_id")["date"]
    assert all(new[a] == d for a, d in zip(team1["application_id"], team1["date"]))
    # publish the shown (newest) run with a reason
    at.text_input(key="site_reason").set_value("现场考察方案经处务会确定").run()
    click(at, "发布现场考察方案")
    with Store(app_store).read() as s:
        assert published_run_id(s, repo.get_round(s, "2026")) == int(runs["run_id"].iloc[0])
    assert any("已发布" in str(x.value) for x in at.success)


def test_service_refuses_clearly(app_store):
    with pytest.raises(UserError, match="#999"):
        svc_site.load("2026", 999)
    with pytest.raises(UserError, match="发布理由"):
        svc_site.publish("2026", 1, user="张三", reason=" ")


def test_site_inputs_upload_errors_name_the_upload_and_the_page_shows_what_is_stored(app_store):
    """The 现场考察 page's upload: the same validated import as `reviewer site-inputs import`; a refusal names
    the uploaded file, row, column and value in Chinese first, never a server path; what is stored is shown."""
    with Store(app_store).read() as s:
        data = repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id)
    e0, a0 = data.experts[0].expert_id, data.applications[0].application_id
    bad = f"专家编号,不可用日期\n{e0},2026-12-08\nZJ-NOBODY,2026-12-09\n".encode("utf-8")
    with pytest.raises(UserError) as err:
        svc_site.import_inputs("2026", {"unavailable": ("专家请假.csv", bad)}, user="张三")
    msg = str(err.value)
    assert msg.startswith("专家请假.csv") and "文件未读入" in msg and "row 3" in msg and "ZJ-NOBODY" in msg
    assert "site-inputs-" not in msg and "/tmp" not in msg and str(app_store) not in msg
    assert svc_site.inputs_overview("2026")["overview"].empty
    good = f"申报编号,考察时长,考察地址,联系人,联系电话\n{a0},全天,南宁市民族大道 1 号,王五,0771-1234567\n".encode("utf-8")
    done = svc_site.import_inputs("2026", {"sites": ("考察点.csv", good), "unavailable": ("专家请假.csv", bad.split(b"ZJ-NOBODY")[0])},
                                  user="张三")
    assert sorted((x["kind"], x["rows"]) for x in done) == [("sites", 1), ("unavailable", 1)]
    view = svc_site.inputs_overview("2026")
    assert sorted(view["overview"]["file_name"]) == ["专家请假.csv", "考察点.csv"]
    assert view["tables"]["sites"].iloc[0]["contact"] == "王五"
    at = AppTest.from_file(str(MAIN), default_timeout=300)
    at.session_state["round_id"] = "2026"
    at.run()
    at.switch_page("views/site.py").run()
    ok(at)
    assert any("已存 2 类" in x.label for x in at.expander)
    assert any("校验并存入" == b.label for b in at.button)


def test_replacing_a_site_team_member_in_the_app_keeps_the_route(app_store):
    """The app's 替换专家 on a published 现场考察 plan (`app.panels.replace_expert` calls
    `app.store.replace_on_site_team`): the same store path as 补抽 — one expert takes the leaving core
    member's place on every visit of the team, in one transaction; routes and days stay."""
    from reviewer.app import store as app_store_fns
    from reviewer.store.site_visits import run_visits
    run_id = svc_site.plan("2026", START, END, work_limit=2.0, user="张三")
    svc_site.publish("2026", run_id, user="张三", reason="发布")
    with Store(app_store).read() as s:
        visits = run_visits(s, run_id)
    team = visits.groupby("team").size().idxmax()
    mine = visits[visits["team"] == team]
    leaving = mine["core"].iloc[0][0]
    with Store(app_store).read() as s:
        r = repo.get_round(s, "2026")
        data = repo.load_data(s, repo.latest_import(s, r).id)
        held = sorted(set(repo.published_seats(s, r, svc_site.stage("2026")).query("expert_id == @leaving")["application_id"]))
    done = app_store_fns.replace_on_site_team("2026", svc_site.stage("2026"), leaving, held, "专家因病请假", "张三", data)
    assert [a for a, _ in done] == held
    with Store(app_store).read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), svc_site.stage("2026"))
        after = run_visits(s, run_id)
    assert leaving not in set(seats["expert_id"])
    on_team = seats[seats["application_id"].isin(mine["application_id"])]
    counts = on_team["expert_id"].value_counts()
    assert (counts == len(mine)).sum() == len(mine["core"].iloc[0])     # the core is whole again: on every visit
    pd_routes = after[["application_id", "team", "visit_date"]].reset_index(drop=True)
    assert pd_routes.equals(visits[["application_id", "team", "visit_date"]].reset_index(drop=True))
