"""The expert pool in the store (issue 16 item 6): merge import keeps history, penalties with dates
(withdrawn, never deleted), ratings, flags as evidence, every act audited; the bars of rule P1 a round
plans under are recorded with the run and a reproduced run sees the same bars."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from reviewer.errors import UserError
from reviewer.store import audit, pool, repo
from reviewer.store.runs import compute_plan, run_planning
from tests.pool_support import USER, add_round, publish_seats, small_store, write_pool_file
from tests.test_planning import small_round

STAGE = "初审评估"


@pytest.fixture
def st(tmp_path):
    store = small_store(tmp_path / "pool.sqlite")
    yield store
    store.dispose()


def merge(st, path, **kw):
    with st.write() as s:
        return pool.import_pool(s, path, repo.round_policy(repo.list_rounds(s)[0]) if repo.list_rounds(s) else
                                __import__("reviewer.policy", fromlist=["load_policy"]).load_policy(), user=USER, **kw)


def test_merge_import_keeps_history_and_reports_changes(st, tmp_path):
    experts = list(small_round().experts)
    rep = merge(st, write_pool_file(tmp_path / "pool1.csv", experts[:10]))
    assert len(rep.added) == 10 and not rep.changed and not rep.left
    moved = experts[1].model_copy(update={"employer": "新单位", "city": "南宁"})
    rep2 = merge(st, write_pool_file(tmp_path / "pool2.csv", [experts[0], moved, *experts[3:11]]))
    assert rep2.added == [experts[10].expert_id]
    assert rep2.changed == {experts[1].expert_id: ["city", "employer"]}
    assert rep2.left == [experts[2].expert_id] and rep2.unchanged == 8
    assert any("退出专家库" in x for x in rep2.lines())
    rep3 = merge(st, write_pool_file(tmp_path / "pool3.csv", experts[:11]))
    assert rep3.returned == [experts[2].expert_id]
    with st.read() as s:
        hist = pool.changes_of(s, experts[1].expert_id)
        assert [c.change for c in hist] == ["added", "changed", "changed"]
        assert hist[1].before == {"city": experts[1].city, "employer": experts[1].employer}
        assert hist[1].after == {"city": "南宁", "employer": "新单位"}
        left = [x for x in pool.pool_experts(s) if x.expert_id == experts[2].expert_id][0]
        assert left.active and left.version == 3
        assert [e.action for e in s.execute(text("select action from audit_log")).all()].count("pool.import") == 3
        assert audit.verify(s).ok


def test_a_bad_pool_file_is_refused_whole_naming_row_column_value(st, tmp_path):
    experts = list(small_round().experts)[:3]
    path = write_pool_file(tmp_path / "bad.csv", experts)
    body = path.read_text(encoding="utf-8-sig").replace(f",{experts[0].category},", ",工程,", 1)
    path.write_text(body, encoding="utf-8-sig")
    with pytest.raises(UserError, match=r"专家库文件有 1 处错误.*第 \d 行.*专家类别.*工程"):
        merge(st, path)
    with st.read() as s:
        assert pool.pool_experts(s) == []


def test_penalties_are_checked_audited_and_withdrawn_not_deleted(st, tmp_path):
    add_round(st, "R2026", "2026-03-15")
    pol = None
    with st.write() as s:
        pol = repo.round_policy(repo.get_round(s, "R2026")).pool
        p = pool.add_penalty(s, pol, expert_id="X001", kind="暂停抽取", start="2025-01-01", end="2026-06-30",
                             reason="评审中泄露申报材料", evidence="纪检函〔2025〕3号", user=USER)
    for kw, match in [(dict(kind="罚款"), "不在政策"), (dict(end=None), "须有截止日期"),
                      (dict(expert_id="NOBODY"), "专家库中没有专家"), (dict(start="2025-13-01"), "不是日期"),
                      (dict(reason=" "), "须写明理由")]:
        args = dict(expert_id="X001", kind="暂停抽取", start="2025-01-01", end="2026-06-30", reason="r") | kw
        with st.write() as s, pytest.raises(UserError, match=match):
            pool.add_penalty(s, pol, user=USER, **args)
    with st.write() as s:
        pool.withdraw_penalty(s, p.id, reason="复核撤销", user="李四")
        with pytest.raises(UserError, match="已于"):
            pool.withdraw_penalty(s, p.id, reason="again", user="李四")
    with st.read() as s:
        rows = pool.penalties(s, "X001")
        assert len(rows) == 1 and rows[0].withdrawn and rows[0].withdrawn_by == "李四"
        acts = [a for (a,) in s.execute(text("select action from audit_log order by id")).all()]
        assert "pool.penalty" in acts and "pool.penalty_withdraw" in acts


def test_ratings_and_flags_are_kept_flags_never_bar(st):
    add_round(st, "R2026", "2026-03-15")
    with st.write() as s:
        pool.rate(s, expert_id="X003", round_code="R2026", rating=4, note="意见详实", user=USER)
        with pytest.raises(UserError, match="1 到 5"):
            pool.rate(s, expert_id="X003", round_code="R2026", rating=6, user=USER)
        with pytest.raises(UserError, match="没有批次"):
            pool.rate(s, expert_id="X003", round_code="R1999", rating=3, user=USER)
        new = pool.record_flags(s, "R2026", "关联偏差审计", [("X003", "同城 +2.1 分", {"q": 0.01})], user=USER)
        again = pool.record_flags(s, "R2026", "关联偏差审计", [("X003", "同城 +2.1 分", {"q": 0.01})], user=USER)
        assert len(new) == 1 and again == []
        r = repo.get_round(s, "R2026")
        assert pool.bars_for_round(s, r, repo.round_policy(r)) == ()    # a flag is evidence, never a bar
        assert [x.rating for x in pool.ratings(s, "X003")] == [4]


def test_a_penalty_keeps_the_expert_out_of_a_march_round_and_the_run_records_it(st):
    add_round(st, "R2026-03", "2026-03-15")
    add_round(st, "R2026-09", "2026-09-15")
    with st.write() as s:
        pol = repo.round_policy(repo.get_round(s, "R2026-03"))
        pen = pool.add_penalty(s, pol.pool, expert_id="X001", kind="暂停抽取", start="2025-01-01", end="2026-06-30",
                               reason="无故缺席", user=USER)
    with st.read() as s:
        assert pool.bars_for_round(s, repo.get_round(s, "R2026-09"), pol) == ()
    run, res = run_planning(st, "R2026-03", user=USER, stages=[STAGE], seed=2, time_limit=20)
    assert res.plan.feasible and "X001" not in set(res.panels["expert_id"])
    assert [b[0] for b in run.parameters["pool_bars"]] == ["X001"]
    assert "2025-01-01..2026-06-30" in run.parameters["pool_bars"][0][2]
    # the penalty withdrawn later: reproducing the run still plans under the bars it recorded
    with st.write() as s:
        pool.withdraw_penalty(s, pen.id, reason="复核撤销", user=USER)
        r = repo.get_round(s, "R2026-03")
        assert pool.bars_for_round(s, r, pol) == ()
        data = repo.load_data(s, repo.latest_import(s, r).id, [])
    again = compute_plan(data, pol, run.parameters)
    assert again.panels.equals(res.panels)
    run9, res9 = run_planning(st, "R2026-09", user=USER, stages=[STAGE], seed=2, time_limit=20)
    assert "pool_bars" not in run9.parameters


def test_rotation_limit_bars_the_field_after_three_consecutive_rounds(st):
    for year in (2023, 2024, 2025):
        add_round(st, f"R{year}", f"{year}-06-01")
        # X002 (a technical expert of 汽车) sat on A0 (汽车) every year; X004 only in 2023 and 2025
        seats = [("A0", "X002", "chair")] + ([("A0", "X004", "member")] if year != 2024 else [])
        publish_seats(st, f"R{year}", seats)
    add_round(st, "R2026", "2026-06-01")
    with st.read() as s:
        r = repo.get_round(s, "R2026")
        bars = pool.bars_for_round(s, r, repo.round_policy(r))
    assert [(e, f) for e, f, _ in bars] == [("X002", "汽车")]
    assert "R2023、R2024、R2025" in bars[0][2]
    run, res = run_planning(st, "R2026", user=USER, stages=[STAGE], seed=1, time_limit=20)
    assert res.plan.feasible
    on = res.panels[res.panels["expert_id"] == "X002"]
    assert set(on["application_id"]) <= {"A1", "A3"}          # the 生物医药 applications only
    assert run.parameters["pool_bars"] == [list(b) for b in bars]


def test_a_draw_commits_to_the_bars_and_a_penalty_added_after_the_commitment_stops_the_draw(st):
    from reviewer.store import draws
    add_round(st, "R2026", "2026-03-15")
    with st.write() as s:
        pol = repo.round_policy(repo.get_round(s, "R2026"))
        pool.add_penalty(s, pol.pool, expert_id="X001", kind="暂停抽取", start="2025-01-01", end="2026-06-30",
                         reason="无故缺席", user=USER)
    c = draws.commit_draw(st, "R2026", user=USER, stages=[STAGE], seed=5)
    assert [b[0] for b in c.body["parameters"]["pool_bars"]] == ["X001"]
    run, res, seed = draws.reveal_draw(st, "R2026", c.entry_id, user=USER, seed=5, salt=c.salt, time_limit=60)
    assert seed == 5 and "X001" not in set(res.panels["expert_id"])
    assert run.parameters["pool_bars"] == c.body["parameters"]["pool_bars"]
    # a second commitment, then a new penalty: the round's bars are no longer the committed ones
    c2 = draws.commit_draw(st, "R2026", user=USER, stages=[STAGE], seed=6)
    with st.write() as s:
        pool.add_penalty(s, pol.pool, expert_id="X002", kind="通报批评", start="2026-01-01", end="2026-12-31",
                         reason="迟交评分表", user=USER)
    with pytest.raises(UserError, match="pool_bars"):
        draws.reveal_draw(st, "R2026", c2.entry_id, user=USER, seed=6, salt=c2.salt, time_limit=60)


def test_a_penalty_edited_or_deleted_in_sql_is_named_by_audit_verify(st):
    add_round(st, "R2026", "2026-03-15")
    with st.write() as s:
        pol = repo.round_policy(repo.get_round(s, "R2026")).pool
        p1 = pool.add_penalty(s, pol, expert_id="X001", kind="暂停抽取", start="2025-01-01", end="2026-06-30",
                              reason="r", user=USER)
        p2 = pool.add_penalty(s, pol, expert_id="X002", kind="通报批评", start="2025-01-01", end="2025-06-30",
                              reason="r", user=USER)
        p3 = pool.add_penalty(s, pol, expert_id="X003", kind="通报批评", start="2025-01-01", end="2025-06-30",
                              reason="r", user=USER)
        pool.withdraw_penalty(s, p3.id, reason="撤销", user=USER)
    with st.read() as s:
        assert audit.verify(s).ok
    with st.write() as s:   # shorten a penalty, delete one, un-withdraw one: all outside the program
        s.execute(text(f"update pool_penalties set \"end\" = '2025-02-01' where id = {p1.id}"))
        s.execute(text(f"delete from pool_penalties where id = {p2.id}"))
        s.execute(text(f"update pool_penalties set withdrawn = 0 where id = {p3.id}"))
    with st.read() as s:
        v = audit.verify(s)
    text_ = "\n".join(p.what for p in v.problems)
    assert not v.ok
    assert f"惩戒被修改 penalty #{p1.id}" in text_ and f"惩戒缺失 penalty #{p2.id}" in text_
    assert f"惩戒撤销状态被修改 penalty #{p3.id}" in text_ and "in force in the table" in text_
