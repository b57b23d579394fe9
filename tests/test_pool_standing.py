"""Rule P1 专家库资格 (issue 16 item 6): credit penalties with dates and cooling-off, the rotation limit,
the policy's [pool] section, and the bars reaching the planner, the checker and the diagnostics under
their own name (solver family pool_standing)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from reviewer.errors import UserError
from reviewer.panels.service import PlanParams, check_seats, plan
from reviewer.policy_pool import Pool
from reviewer.pool.standing import (Penalty, Service, barred_matrix, barred_until, check_penalty, pool_bars,
                                    rotation_bars)
from solver import PanelProblem, SolveOptions, StageSpec, solve
from solver.families import BY_NAME
from tests.factories import policy
from tests.test_planning import small_round

D = dt.date
POOL = Pool()
P = policy()


def penalty(kind="暂停抽取", start=D(2025, 1, 1), end=D(2026, 6, 30), **kw):
    return Penalty("X001", kind, start, end, "评审中泄露申报材料", **kw)


def test_a_dated_penalty_bars_a_march_round_and_not_a_september_round():
    p = penalty()
    assert [b.expert_id for b in pool_bars([p], [], POOL, D(2026, 3, 15))] == ["X001"]
    assert pool_bars([p], [], POOL, D(2026, 9, 1)) == []
    # the cooling-off of 暂停抽取 (2 months) keeps the expert out until 2026-08-30
    assert barred_until(p, POOL) == D(2026, 8, 30)
    assert pool_bars([p], [], POOL, D(2026, 8, 30)) and not pool_bars([p], [], POOL, D(2026, 8, 31))
    assert pool_bars([p], [], POOL, D(2024, 12, 31)) == []          # not yet in force
    bar = pool_bars([p], [], POOL, D(2026, 3, 15))[0]
    assert bar.field == "" and "2025-01-01..2026-06-30" in bar.reason and "评审中泄露申报材料" in bar.reason


def test_a_penalty_over_one_of_the_rounds_stage_days_bars_the_round():
    """A penalty that starts after the round's reference date but covers a stage's meeting bars the round
    (a penalty recorded after publication acts on its seats); one covering no stage day does not."""
    p = penalty(start=D(2026, 11, 20), end=D(2026, 12, 31))
    assert pool_bars([p], [], POOL, D(2026, 11, 1)) == []
    assert [b.expert_id for b in pool_bars([p], [], POOL, D(2026, 11, 1),
                                           stage_days=[D(2026, 11, 5), D(2026, 12, 15)])] == ["X001"]
    assert pool_bars([p], [], POOL, D(2026, 11, 1), stage_days=[D(2026, 11, 5), D(2027, 3, 1)]) == []
    assert pool_bars([penalty(start=D(2026, 11, 20), end=D(2026, 12, 31), withdrawn=True)], [], POOL,
                     D(2026, 11, 1), stage_days=[D(2026, 12, 15)]) == []


def test_a_withdrawn_penalty_bars_nothing_and_a_permanent_one_bars_until_withdrawn():
    assert pool_bars([penalty(withdrawn=True)], [], POOL, D(2026, 3, 1)) == []
    perm = penalty("取消资格", end=None)
    assert pool_bars([perm], [], POOL, D(2040, 1, 1))
    assert pool_bars([penalty("取消资格", end=None, withdrawn=True)], [], POOL, D(2040, 1, 1)) == []


@pytest.mark.parametrize("p, match", [
    (penalty("罚款"), "惩戒类型 '罚款' 不在政策"),
    (penalty(end=None), "须有截止日期"),
    (penalty(start=D(2026, 7, 1)), "早于起始日期"),
])
def test_penalties_the_policy_does_not_allow_are_refused_in_chinese_first(p, match):
    with pytest.raises(UserError, match=match):
        check_penalty(p, POOL, "penalties.csv 第 3 行")


@pytest.mark.parametrize("section, match", [
    ({"permanent_kinds": ["终身禁入"]}, "permanent_kinds names 终身禁入"),
    ({"cooling_off_months": {"暂停抽取": -1}}, "expected 0..120"),
    ({"cooling_off_months": {}}, "at least one penalty kind"),
    ({"rotation_limit": -1}, "rotation_limit"),
    ({"rotation_scope": "city"}, "rotation_scope"),
    ({"renewal": 3}, "renewal"),
])
def test_the_pool_section_of_the_policy_is_validated(section, match):
    with pytest.raises(ValidationError, match=match):
        Pool(**section)


def test_the_bundled_policy_has_a_pool_section():
    assert P.pool.rotation_limit >= 1 and "暂停抽取" in P.pool.kinds


def served(expert, codes, fld="汽车", year0=2023):
    return [Service(expert, c, D(year0 + i, 6, 1), fld) for i, c in enumerate(codes)]


def test_rotation_bars_the_field_after_n_consecutive_rounds_only():
    rounds = ["R2023", "R2024", "R2025"]
    svc = served("X001", rounds) + served("X002", ["R2023", "R2025"]) + \
        [Service("X003", c, D(2023 + i, 6, 1), "汽车" if i != 1 else "生物医药") for i, c in enumerate(rounds)]
    svc += [Service("X009", "R2024", D(2024, 6, 1), "汽车")]  # R2024 has several seats: one date per round
    bars = rotation_bars(svc, POOL, D(2026, 3, 1), "R2026")
    assert [(b.expert_id, b.field) for b in bars] == [("X001", "汽车")]
    assert "R2023、R2024、R2025" in bars[0].reason
    # a gap (X002), or a change of field (X003) breaks the run; scope "pool" counts any field
    pool_scope = rotation_bars(svc, Pool(rotation_scope="pool"), D(2026, 3, 1))
    assert [(b.expert_id, b.field) for b in pool_scope] == [("X001", ""), ("X003", "")]
    assert rotation_bars(svc, Pool(rotation_limit=0), D(2026, 3, 1)) == []
    # only the rounds before this round count (the round itself, and later ones, do not)
    assert rotation_bars(svc, POOL, D(2025, 12, 1), "R2025") == []


def test_barred_matrix_by_field():
    bars = [("X1", "汽车", "r"), ("X2", "", "r"), ("X9", "", "not in the round")]
    m = barred_matrix(bars, ["X1", "X2", "X3"], ["汽车", "生物医药"])
    assert m.tolist() == [[True, False], [True, True], [False, False]]


def test_the_planner_keeps_a_barred_expert_out_and_the_run_records_the_bars():
    data = small_round()
    free = plan(data, P, PlanParams.for_policy(P, ["初审评估"], seed=1, time_limit=20))
    busy = free.panels["expert_id"].value_counts().index[0]      # the busiest expert of a plan without bars
    params = PlanParams.for_policy(P, ["初审评估"], seed=1, time_limit=20,
                                   pool_bars=[(busy, "", "信用惩戒 暂停抽取 2025-01-01..2026-06-30")])
    lines = []
    res = plan(data, P, params, echo=lines.append)
    assert res.plan.feasible and busy not in set(res.panels["expert_id"])
    assert any("P1 专家库资格" in x and busy in x for x in lines)
    rec = params.to_record()
    assert rec["pool_bars"] == [[busy, "", "信用惩戒 暂停抽取 2025-01-01..2026-06-30"]]
    assert PlanParams.from_record(P, rec) == params
    # the checker names the rule when a panels table seats the barred expert
    chk = check_seats(data, P, free.panels, bars=params.pool_bars)
    assert {v.rule for v in chk.violations} == {"pool_standing"}
    assert BY_NAME["pool_standing"].label_zh == "专家库资格"
    with pytest.raises(UserError, match="专家库资格记录有误"):
        PlanParams.for_policy(P, pool_bars=[("X1", "")])


def test_a_binding_bar_is_explained_by_the_diagnostics():
    # 4 experts, a panel of 3: barring two leaves 2, so the bar is what makes the panel impossible
    aff = np.ones((4, 1))
    barred = np.array([[False], [False], [True], [True]])
    p = PanelProblem(np.zeros(4, dtype=np.int64), ("all",), aff, (StageSpec("初审评估", 3, np.arange(1), 1),),
                     barred=barred, expert_labels=("X0", "X1", "X2 张三", "X3 李四"))
    res = solve(p, SolveOptions(time_limit=10, num_workers=1))
    assert res.status == "INFEASIBLE"
    found = [d for d in res.diagnostics if d.rule == "pool_standing"]
    assert found and "X2 张三" in found[0].message_zh and "专家库资格" in found[0].message_zh


def test_a_rotation_bar_that_leaves_a_field_without_its_technical_experts_is_named():
    # every 汽车 technical expert served on 汽车 three rounds running: the 汽车 panels lose their
    # field-matched technical experts and chairs; the diagnostics name the pool standing as the cause
    data = small_round()
    car_tech = [e.expert_id for e in data.experts if e.category == "技术" and "汽车" in e.fields]
    bars = [(e, "汽车", "轮换限制 rotation limit") for e in car_tech]
    res = plan(data, P, PlanParams.for_policy(P, ["初审评估"], seed=1, time_limit=20, pool_bars=bars))
    assert not res.plan.feasible
    named = res.diagnostics[res.diagnostics["rule"] == "pool_standing"]
    assert len(named) and all(car_tech[0] in m for m in named["message_zh"]), res.diagnostics
    assert set(named["application_id"]) == {a.application_id for a in data.applications if a.field == "汽车"}


def test_the_site_visit_planner_plans_under_the_bars_too():
    from reviewer.panels.site.planner import SitePlanParams, site_stage_input
    from solver.site_teams import TeamProblem, _blocked
    data = small_round()
    params = SitePlanParams(D(2026, 12, 1), D(2026, 12, 10), pool_bars=(("X005", "", "信用惩戒"),))
    inp, _ = site_stage_input(data, P, params)
    e = inp.expert_index("X005")
    assert inp.problem.barred[e].all() and inp.problem.barred.sum() == inp.problem.barred.shape[1]
    assert params.to_record()["pool_bars"] == [["X005", "", "信用惩戒"]]
    # the team staffing never seats a barred expert (its blocked pairs include the bars)
    z = np.zeros(0, dtype=np.int64)
    tp = TeamProblem(inp.problem, inp.stage_index("现场考察"), [], z, z, np.zeros((len(inp.experts), 1), dtype=np.int64),
                     np.zeros((1, 1), dtype=np.int64), np.zeros((len(inp.experts), 1), dtype=bool))
    assert _blocked(tp)[e].all()
