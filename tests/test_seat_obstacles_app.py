"""The response board in the app after a meeting moved (issue 16): the seats of experts unavailable on
the new day are shown, and the board's re-check button puts them through 补抽 (日期冲突 → replaced)."""
from __future__ import annotations

import datetime as dt

from reviewer.app import responses as svc_responses
from reviewer.app import store as app_store
from reviewer.store import audit, repo
from tests.test_app_pages import _published_two_experts, appdata, button, start, texts  # noqa: F401

STAGE = "初审评估"


def test_the_board_rechecks_a_moved_meeting_and_refills_the_date_conflicts(appdata):
    rid, panels, _a, _b, _load = _published_two_experts()
    with app_store.store().write() as s:
        r = repo.get_round(s, rid)
        data = repo.load_data(s, repo.latest_import(s, r).id)
        ends = sorted((data.expert(e).available_until, e) for e in set(panels["expert_id"])
                      if data.expert(e).available_until is not None)
        day = ends[0][0] + dt.timedelta(days=1)
        # moved without the seats being checked (as an older version did): the board flags, re-check acts
        repo.update_round_settings(s, r, {"meetings": {STAGE: {"date": day.isoformat()}}}, user="张三")
    gone = {e for u, e in ends if u < day}
    at = start("views/responses.py")
    assert "新日期不可参加" in texts(at)
    button(at, "重新检查日期冲突与专家库资格并补抽").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "补抽 refilled" in texts(at) and "日期冲突" in texts(at)
    b = svc_responses.board(rid, STAGE)
    mine = b[b["expert_id"].isin(gone)]
    assert not mine.empty and set(mine["status"]) == {"replaced"} and (mine["replaced_by"] != "").all()
    assert "已替换" in set(mine["status_zh"])
    after = start("views/responses.py")
    assert "新日期不可参加" not in texts(after)
    with app_store.store().read() as s:
        v = audit.verify(s)
    assert v.ok, [str(p) for p in v.problems]
