"""A staff forbid on the 现场考察 stage (and a recusal's pair conflict, a forbid of every stage) is a
planner input of the site plan, as it is of the meeting stages: the next site plan seats the pair
nowhere, the run records the forbids, and `reviewer reproduce` re-derives the same plan."""
from __future__ import annotations

from reviewer.store import repo
from reviewer.store.reproduce import reproduce
from reviewer.store.site_visits import run_site_plan
from tests.test_store_support import demo_store

START, END = "2026-12-07", "2026-12-18"


def test_a_forbidden_pair_is_seated_nowhere_in_the_next_site_plan(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run, sp = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0)
    stage = run.stages[0]
    seat = sp.panels.sort_values(["application_id", "expert_id"]).iloc[0]
    expert, app = str(seat["expert_id"]), str(seat["application_id"])
    with st.write() as s:
        repo.add_seat_rule(s, repo.get_round(s, "2026"), "forbid", stage, expert, app, user="张三",
                           reason="新发现合作关系 与申报单位有合作项目")
    run2, sp2 = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0)
    seated = {(str(e), str(a)) for e, a in zip(sp2.panels["expert_id"], sp2.panels["application_id"])}
    assert (expert, app) not in seated
    assert [stage, expert, app] in run2.parameters["forbids"]
    assert not sp2.violations and not sp2.day_violations
    res = reproduce(st, run2.id)
    assert res.identical, res
