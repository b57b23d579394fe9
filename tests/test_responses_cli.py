"""`reviewer responses`: the board, answers taken by staff, expire and 补抽 from the command line (issue 16)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from reviewer.store import audit, repo, seat_responses
from tests.test_store_support import planned_store, run_cli, store_copy

STAGE = "初审评估"
LATER = (dt.date.today() + dt.timedelta(days=20)).isoformat()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    # planned with the meeting day known (experts unavailable that day are not drawn), as staff do
    return planned_store(tmp_path_factory.mktemp("respcli"), STAGE, {"meetings": {STAGE: {"date": LATER}}})


def test_whole_stage_from_the_cli(base, tmp_path, capsys):
    st, path, _ = store_copy(base, tmp_path)
    db = ["--db", str(path), "--user", "张三"]
    later = LATER
    assert run_cli(["round", "settings", "2026", "-s", STAGE, "--date", later, "--time", "09:30", *db[:2]], capsys)[0] == 0
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    app_id = sorted(seats["application_id"])[0]
    panel = seats[seats["application_id"] == app_id].sort_values("role")["expert_id"].tolist()
    others = sorted(set(seats["expert_id"]) - set(panel))
    with st.write() as s:    # the rest of the stage has confirmed (so expire finds this panel's silent seat only)
        r = repo.get_round(s, "2026")
        for e in others:
            seat_responses.answer(s, r, e, STAGE, "confirm", user=f"专家 {e}")
    code, out = run_cli(["responses", "-r", "2026", "-s", STAGE, "--db", str(path)], capsys)
    assert code == 0, out
    assert f"{later} 09:30 (北京时间)" in out and "待答复 open 5" in out
    for e in panel[:3]:
        code, out = run_cli(["responses", "answer", "-r", "2026", "-s", STAGE, "-e", e, "--act", "confirm", *db], capsys)
        assert code == 0 and "确认参加" in out, out
    code, out = run_cli(["responses", "answer", "-r", "2026", "-s", STAGE, "-e", panel[3], "--act", "decline",
                         "--reason", "电话请假：住院", *db], capsys)
    assert code == 0 and "补抽 refilled" in out and panel[3] in out, out
    newcomer = re.search(r"→ (\S+)", out).group(1)
    code, out = run_cli(["responses", "answer", "-r", "2026", "-s", STAGE, "-e", newcomer, "--act", "confirm", *db],
                        capsys)
    assert code == 0, out
    code, out = run_cli(["responses", "answer", "-r", "2026", "-s", STAGE, "-e", panel[3], "--act", "decline",
                         "--reason", "again", *db], capsys)
    assert code == 2 and "您已被替换" in out, out
    # the stage's start moves to today 00:00 Beijing: the silent seat's deadline has passed
    today = dt.datetime.now(seat_responses.TZ).date().isoformat()
    assert run_cli(["round", "settings", "2026", "-s", STAGE, "--date", today, "--time", "00:00", *db[:2]], capsys)[0] == 0
    code, out = run_cli(["responses", "expire", "-r", "2026", "-s", STAGE, *db], capsys)
    assert code == 0 and "no reply: 1 seat(s)" in out and panel[4] in out and "补抽 refilled" in out, out
    code, out = run_cli(["responses", "-r", "2026", "-s", STAGE, "--db", str(path)], capsys)
    assert code == 0, out
    lines = [x for x in out.splitlines() if x.strip().startswith(app_id)]
    assert len(lines) == 7, out     # 5 seats, 2 of them replaced, 2 replacements
    assert sum("已替换" in x for x in lines) == 2 and sum("已确认" in x for x in lines) == 4
    assert sum("已邀请" in x and "LATE" in x for x in lines) == 1   # the second newcomer: invited after the start
    assert any("电话请假：住院" in x and "→" in x for x in lines)
    with st.read() as s:
        assert audit.verify(s).ok
    code, out = run_cli(["responses", "history", "-e", panel[3], "--db", str(path)], capsys)
    assert code == 0 and "已请假 1" in out and "电话请假：住院" in out and "已替换" in out, out
    code, out = run_cli(["responses", "history", "-e", panel[4], "--db", str(path)], capsys)
    assert code == 0 and "未答复 1" in out and "逾期 late 1" in out, out
    st.dispose()


def test_board_refuses_an_unpublished_stage_and_a_missing_option(base, tmp_path, capsys):
    st, path, _ = store_copy(base, tmp_path)
    code, out = run_cli(["responses", "-r", "2026", "-s", "认定评审", "--db", str(path)], capsys)
    assert code == 2 and "尚未发布" in out
    code, out = run_cli(["responses", "-r", "2026", "--db", str(path)], capsys)
    assert code == 2 and "--stage" in out
    code, out = run_cli(["responses", "answer", "-r", "2026", "-s", STAGE, "-e", "ZJ0001", "--act", "maybe",
                         "--db", str(path), "--user", "x"], capsys)
    assert code == 2 and "confirm" in out
    st.dispose()
