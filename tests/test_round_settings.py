"""Round settings (issue 17 part 2): meetings per stage and the site-visit window checked and stored; the
meeting date drives the experts' availability when planning; the 认定评审 答辩 order is drawn with a seed,
recorded and reproducible, with time slots, notices, a 签到表 and the order in the expert packs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.test_store_support import demo_store, run_cli

FINAL = "认定评审"
FIRST = "初审评估"


@pytest.fixture
def db(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    st.dispose()
    return f"sqlite:///{tmp_path / 'r.sqlite'}"


@pytest.mark.parametrize("args, message", [
    (["--stage", FINAL, "--time", "25:00"], "expected HH:MM"),
    (["--stage", FINAL, "--date", "2026-13-01"], "expected a date"),
    (["--date", "2026-12-01"], "--stage is needed"),
    (["--stage", "答辩", "--date", "2026-12-01"], "unknown stage"),
    (["--site-start", "2026-12-10", "--site-end", "2026-12-01"], "is before start"),
    (["--stage", FINAL, "--attendees", "0"], "--attendees"),
])
def test_bad_settings_are_refused_with_a_clear_line(db, capsys, args, message):
    code, out = run_cli(["round", "settings", "2026", *args, "--db", db, "--user", "张三"], capsys)
    assert code == 2 and message in out and "Traceback" not in out


def test_settings_are_stored_and_audited(db, capsys):
    from reviewer.store import Store, repo, round_settings
    code, out = run_cli(["round", "settings", "2026", "--stage", FINAL, "--date", "2026-12-15", "--time", "9:00",
                         "--place", "南宁市民族大道 工信厅 3 楼会议室", "--contact", "王五 0771-1234567", "--attendees", "4",
                         "--site-start", "2026-12-01", "--site-end", "2026-12-10", "--db", db, "--user", "张三"], capsys)
    assert code == 0, out
    st = Store(db)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        m = round_settings.meeting(r.settings, FINAL)
        assert (m.date, m.time, m.attendees) == ("2026-12-15", "09:00", 4)
        assert round_settings.meeting_dates(r.settings, repo.round_policy(r)) == {"现场考察": "2026-12-01",
                                                                                 FINAL: "2026-12-15"}
    st.dispose()
    code, out = run_cli(["audit", "verify", "--db", db], capsys)
    assert code == 0, out


def test_the_meeting_date_keeps_unavailable_experts_off_the_panels(db, capsys):
    from reviewer.store import Store
    from reviewer.store.runs import run_planning
    code, out = run_cli(["round", "settings", "2026", "--stage", FIRST, "--date", "2026-12-20", "--db", db,
                         "--user", "张三"], capsys)
    assert code == 0, out
    st = Store(db)
    run, res = run_planning(st, "2026", user="张三", stages=[FIRST], seed=1, time_limit=60, workers=1)
    away = {"ZJ0047", "ZJ0096", "ZJ0137", "ZJ0223"}        # the demo experts not available on 2026-12-20
    assert away <= set(res.inp.unavailable[FIRST])
    assert not away & set(res.panels["expert_id"])
    assert dict(map(tuple, run.parameters["stage_dates"])) == {FIRST: "2026-12-20"}
    st.dispose()
    code, out = run_cli(["reproduce", str(run.id), "--db", db], capsys)
    assert code == 0, out


@pytest.fixture(scope="module")
def final_published(tmp_path_factory):
    """The demo round with 认定评审 planned and published, its meeting set."""
    from reviewer.store import publishing, repo
    from reviewer.store.runs import run_planning
    folder = tmp_path_factory.mktemp("final")
    st = demo_store(f"sqlite:///{folder / 'r.sqlite'}")
    run, _ = run_planning(st, "2026", user="张三", stages=[FINAL], seed=2, time_limit=120, workers=1)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        publishing.publish_run(s, r, FINAL, run.id, user="张三", reason="发布")
    st.dispose()
    return folder / "r.sqlite"


def test_defence_order_slots_notices_sign_in_and_packs(final_published, tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    shutil.copy(final_published, path)
    db = f"sqlite:///{path}"
    code, out = run_cli(["stage", "defence", "--round", "2026", "--db", db], capsys)
    assert code == 2 and "not drawn yet" in out
    code, out = run_cli(["round", "settings", "2026", "--stage", FINAL, "--date", "2026-12-15", "--time", "08:30",
                         "--place", "工信厅 3 楼会议室", "--contact", "王五 0771-1234567", "--db", db, "--user", "张三"], capsys)
    code, out = run_cli(["stage", "defence", "--round", "2026", "--seed", "11", "--reason", "答辩顺序抽签", "--db", db,
                         "--user", "张三", "--out", str(tmp_path / "docs")], capsys)
    assert code == 0, out
    first = out.split("defence order drawn with seed 11: ")[1].splitlines()[0].split("、")
    assert " 1. 08:30-08:55 " in out and "午休后" in out
    code, out = run_cli(["stage", "defence", "--round", "2026", "--seed", "11", "--reason", "复核", "--db", db,
                         "--user", "张三"], capsys)
    assert out.split("seed 11: ")[1].splitlines()[0].split("、") == first          # the same seed, the same order
    code, out = run_cli(["stage", "defence", "--round", "2026", "--seed", "12", "--reason", "重抽", "--db", db,
                         "--user", "张三"], capsys)
    assert out.split("seed 12: ")[1].splitlines()[0].split("、") != first
    docs = tmp_path / "docs"
    notices = sorted(docs.glob("答辩通知_*.xlsx"))
    assert len(notices) == len(first)
    text = "\n".join(str(c.value) for c in load_workbook(notices[0]).active["A"] if c.value)
    for want in ("答辩时间：2026-12-15 08:30—08:55", "答辩地点：工信厅 3 楼会议室", "汇报时长：15 分钟", "参会人数：不超过 3 人",
                 "王五 0771-1234567"):
        assert want in text, text
    sign = pd.read_excel(docs / f"签到表_2026_{FINAL}.xlsx", sheet_name=None)
    assert len(sign["申报单位签到表"]) == 3 * len(first) and len(sign["专家签到表"]) > 0
    code, out = run_cli(["packs", "--round", "2026", "--stage", FINAL, "--out", str(tmp_path / "packs"), "--db", db],
                        capsys)
    assert code == 0, out
    one = next((tmp_path / "packs").rglob("专家通知_ZJ*.xlsx"))
    order = pd.read_excel(one, sheet_name="答辩顺序 defence order")
    assert len(order) >= 1 and set(order["申报编号 application"]) <= set(first)
    ics = next(one.parent.glob("*.ics")).read_text()
    assert "20261215T" in ics and "答辩" in ics


def test_an_edited_defence_order_is_refused(final_published, tmp_path, capsys):
    from reviewer.errors import UserError
    from reviewer.store import Store, repo, stages
    path = tmp_path / "s.sqlite"
    shutil.copy(final_published, path)
    st = Store(f"sqlite:///{path}")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        order = stages.draw_defence(s, r, 5, user="张三", reason="抽签")
        d = dict(r.settings["defence"])
        d["order"] = [order[1], order[0], *order[2:]]
        repo.update_round_settings(s, r, {"defence": d}, user="李四", reason="调换顺序")
        with pytest.raises(UserError, match="not the one its seed gives"):
            stages.defence_order(repo.get_round(s, "2026").settings)
    st.dispose()


def test_the_round_page_service_saves_checked_settings_with_the_version(db, monkeypatch):
    from reviewer.app import round_settings as svc
    from reviewer.errors import UserError
    from reviewer.store import repo
    monkeypatch.setenv("REVIEWER_DB_URL", db)
    settings, version, stages = svc.current("2026")
    assert stages == [FIRST, "现场考察", FINAL] and settings == {}
    svc.save("2026", stage=FINAL, meeting={"date": "2026-12-15", "time": "9:30", "place": "会议室", "contact": "",
                                           "attendees": None}, site_start="", site_end="", user="张三", version=version)
    settings, v2, _ = svc.current("2026")
    assert settings["meetings"][FINAL] == {"date": "2026-12-15", "time": "09:30", "place": "会议室"} and v2 == version + 1
    with pytest.raises(repo.ConcurrentEditError):          # edited by someone else since the page was opened
        svc.save("2026", stage=FINAL, meeting={"place": "另一会议室"}, site_start="", site_end="", user="李四",
                 version=version)
    with pytest.raises(UserError, match="expected HH:MM"):
        svc.save("2026", stage=FINAL, meeting={"time": "9点"}, site_start="", site_end="", user="李四", version=v2)


def test_a_lock_on_an_expert_away_on_the_meeting_day_is_refused(db, capsys):
    # ZJ0096 is available until 2026-11-20 only: locking them on the 2026-12-20 meeting is refused, with the day
    lock = ["lock", "--round", "2026", "-s", FIRST, "-e", "ZJ0096", "-a", "GX2026-003", "--reason", "指定", "--db", db,
            "--user", "张三"]
    code, out = run_cli(["round", "settings", "2026", "--stage", FIRST, "--date", "2026-12-20", "--db", db,
                         "--user", "张三"], capsys)
    assert code == 0, out
    code, out = run_cli(lock, capsys)
    assert code == 2 and "ZJ0096" in out and "2026-12-20" in out and "不可用" in out, out


def test_register_fund_ranks_the_stored_round_into_the_ledger_once(final_published, tmp_path, capsys):
    """(Registers, issue 17 part 3; here to share the published 认定评审 of this module.)"""
    from reviewer.store import Store, repo
    from tests.test_stage_gating import sheet_rows
    path = tmp_path / "s.sqlite"
    shutil.copy(final_published, path)
    db = f"sqlite:///{path}"
    st = Store(db)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, FINAL)
        apps = sorted(seats["application_id"].unique())
        quality = {a: 0.9 - 0.004 * i for i, a in enumerate(apps)}
        repo.submit_scores(s, r, sheet_rows(repo.round_policy(r), FINAL, seats, quality), user="张三", source="t")
    st.dispose()
    base = ["--db", db, "--user", "张三"]
    code, out = run_cli(["register", "lifecycle", "--as-of", "2026-11-01", *base], capsys)
    assert code == 0, out
    code, out = run_cli(["register", "fund", "--round", "2026", "--reason", "认定评审会议", "--out", str(tmp_path / "o"),
                         *base], capsys)
    assert code == 0, out
    ranking = pd.read_csv(tmp_path / "o" / "recognition_ranking.csv")
    rec = ranking[ranking["decision"] == "recommend"]
    assert len(rec) >= 1 and not set(rec["field"]) & {"汽车", "机械", "高端有色金属新材料"}
    assert (ranking.loc[ranking["decision"] == "needs_review", "decision_zh"] == "待复核").all()
    paid = int((rec["subsidy"] > 0).sum())
    assert f"total granted {800 + 200 * paid:g}万元" in out
    code, out = run_cli(["register", "fund", "--round", "2026", "--reason", "再次", *base], capsys)
    assert code == 0 and f"total granted {800 + 200 * paid:g}万元" in out and "不重复补助" in out   # never twice
