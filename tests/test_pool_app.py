"""The app's 专家库档案 page (issue 16 item 6): the pool merged from a file, a credit penalty recorded
through the form bars the expert from this round's planning (rule P1, named on the page and in the
run's record), withdrawn again, a rating saved, the yearly report made."""
from __future__ import annotations

import datetime as dt

from reviewer.app import panels as svc_panels
from reviewer.app import pool as svc
from reviewer.app import rounds as svc_rounds
from reviewer.app import store as app_store
from reviewer.store import repo
from tests.pool_support import write_pool_file
from tests.test_app_pages import appdata, button, frames, start, texts  # noqa: F401
from tests.test_store_support import demo_loaded

STAGE = "初审评估"


def test_pool_page_penalty_bars_planning_then_withdrawn(appdata, tmp_path):
    app_store._STORES.clear()
    rid = svc_rounds.ensure_demo_round()
    at = start("views/pool.py")
    assert "专家库档案" in texts(at) and "专家库为空" in texts(at)
    data, _ = demo_loaded()
    path = write_pool_file(tmp_path / "pool.csv", data.experts)
    lines = svc.merge(rid, "专家库2026.csv", path.read_bytes(), "张三")
    assert f"新增 added {len(data.experts)}" in lines[0] and "专家库2026.csv" in lines[0]

    # the busiest expert of a plan without the penalty
    svc_panels.plan_stage(rid, STAGE, seed=1, time_limit=30)
    with app_store.store().read() as s:
        run = repo.runs_of(s, repo.get_round(s, rid))[-1]
        first = repo.run_seats(s, run.id)
    target = first["expert_id"].value_counts().index[0]

    at = start("views/pool.py")
    at.text_input[0].set_value(target)
    next(x for x in at.selectbox if x.label == "惩戒类型").set_value("暂停抽取")
    at.date_input[0].set_value(dt.date(2025, 1, 1))
    at.date_input[1].set_value(dt.date(2026, 12, 31))
    at.text_input[2].set_value("评审中泄露申报材料")
    button(at, "记录惩戒").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "已记录惩戒 #1" in shown, shown
    bars = [f for f in frames(at) if "reason" in f.columns and "expert_id" in f.columns and "field" in f.columns][0]
    assert bars["expert_id"].tolist() == [target] and "信用惩戒" in bars["reason"].iat[0]
    assert "以下已发布席位的专家现受专家库资格限制" not in texts(at)     # nothing published yet

    svc_panels.plan_stage(rid, STAGE, seed=1, time_limit=30)
    with app_store.store().read() as s:
        run = repo.runs_of(s, repo.get_round(s, rid))[-1]
        seats = repo.run_seats(s, run.id)
    assert target not in set(seats["expert_id"])
    assert [b[0] for b in run.parameters["pool_bars"]] == [target]

    # withdraw, rate, report
    at = start("views/pool.py")
    at.text_input(key="pool_withdraw_reason").set_value("复核撤销")
    button(at, "撤销").click().run()
    assert "惩戒 #1 已撤销" in texts(at)
    assert "本轮没有因信用惩戒或轮换限制而不可抽取的专家" in texts(at)
    at.text_input(key="pool_rate_expert").set_value(target)
    button(at, "保存评价").click().run()
    assert "评价已保存" in texts(at)
    at.selectbox(key="pool_pick").set_value(target).run()
    record = [f for f in frames(at) if "detail" in f.columns][0]
    assert record["what"].tolist()[0] == "入库" and "信用惩戒 #1 暂停抽取" in record["what"].tolist()
    assert "已撤销：复核撤销" in record.loc[record["what"] == "信用惩戒 #1 暂停抽取", "detail"].iat[0]
    button(at, "生成年度报告").click().run()
    assert not at.exception
    assert at.get("download_button")


def test_pool_page_merges_the_rounds_experts(appdata):
    app_store._STORES.clear()
    svc_rounds.ensure_demo_round()
    data, _ = demo_loaded()
    at = start("views/pool.py")
    button(at, "由本轮导入数据合并").click().run()
    assert not at.exception and f"新增 added {len(data.experts)}" in texts(at)
    shown = [f for f in frames(at) if "standing" in f.columns][0]
    assert len(shown) == len(data.experts) and set(shown["standing"]) == {"可抽取"}
    # a penalty recorded after publication puts the published seat into 补抽 (policy: automatic):
    # replaced through the checked path, so the page has no barred seat left to warn about
    rid = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(rid, STAGE, seed=1, time_limit=30)
    svc_panels.publish(rid, STAGE)
    with app_store.store().read() as s:
        seated = repo.published_seats(s, repo.get_round(s, rid), STAGE)["expert_id"].iloc[0]
    pid, lines = svc.add_penalty(rid, expert_id=seated, kind="暂停抽取", start=dt.date(2026, 1, 1),
                                 end=dt.date(2026, 12, 31), reason="无故缺席", evidence="", user="张三")
    assert any(f"补抽 refilled: {STAGE}" in x and seated in x for x in lines), lines
    with app_store.store().read() as s:
        assert seated not in set(repo.published_seats(s, repo.get_round(s, rid), STAGE)["expert_id"])
    at = start("views/pool.py")
    assert "以下已发布席位的专家现受专家库资格限制" not in "\n".join(w.value for w in at.warning)


def test_pool_page_refuses_a_penalty_without_reason_in_chinese(appdata):
    app_store._STORES.clear()
    svc_rounds.ensure_demo_round()
    at = start("views/pool.py")
    at.text_input[0].set_value("ZJ0001")
    button(at, "记录惩戒").click().run()
    assert "错误" in "\n".join(e.value for e in at.error)
