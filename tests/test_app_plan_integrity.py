"""The app's plans and scores are the store's (issue 13 items 5-7): a plan made before a later forbid,
lock, waiver, decision, import or publication is 已过期 and is not published until re-planned (or
confirmed with a reason, audited); a forbid for a newly found relation covers the pair in every
stage; parallel score uploads and a replacement lose nothing and the app shows what the store holds."""
from __future__ import annotations

import threading

import pandas as pd
import pytest

from reviewer.app import imports as svc_imports
from reviewer.app import panels as svc_panels
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app import store as app_store
from reviewer.errors import UserError
from reviewer.resources import DEMO_DIR

STAGE = "认定评审"


@pytest.fixture()
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    app_store._STORES.clear()
    return svc_rounds.ensure_demo_round()


def chair(plan) -> tuple[str, str]:
    p = plan.panels
    row = p[p["role"] == "chair"].iloc[0] if "role" in p.columns and (p["role"] == "chair").any() else p.iloc[0]
    return row.expert_id, row.application_id


# ---------------------------------------------------------------- item 5: a stale plan is not published

def test_a_forbid_after_planning_makes_the_plan_stale_and_unpublishable(demo):
    p = svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    assert p.meta["stale"] == []
    e, a = chair(p)
    svc_panels.set_constraint(demo, STAGE, "forbid", e, a, "与申报单位有合作项目")
    stale = svc_panels.saved_plan(demo, STAGE).meta["stale"]
    assert len(stale) == 1 and e in stale[0] and a in stale[0] and "禁止" in stale[0]
    with pytest.raises(UserError, match="已过期"):
        svc_panels.publish(demo, STAGE)
    assert app_store.publication(demo, STAGE) is None
    # re-planned: current, publishable, and the forbidden expert is not on that panel
    p2 = svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    assert p2.meta["stale"] == []
    svc_panels.publish(demo, STAGE)
    seats = app_store.published_seats(demo, STAGE)
    assert not ((seats.expert_id == e) & (seats.application_id == a)).any()


def test_a_stale_plan_published_on_confirmation_is_audited_with_the_differences(demo):
    p = svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    _, a = chair(p)
    # a forbid of a seat the plan does not use: stale, but publishable once a person confirms it
    other = next(x.expert_id for x in svc_imports.load_bundle(demo).data.experts
                 if not ((p.panels.expert_id == x.expert_id) & (p.panels.application_id == a)).any())
    svc_panels.set_constraint(demo, STAGE, "forbid", other, a, "与申报单位有合作项目")
    with pytest.raises(UserError, match="已过期"):
        svc_panels.publish(demo, STAGE, user="zhang", confirm_stale="  ")
    svc_panels.publish(demo, STAGE, user="zhang", confirm_stale="专家组已线下核对，差异可接受")
    chain = app_store.audit_entries(demo)
    pub = chain[chain.action == "publication"]
    assert len(pub) == 1
    text = pub.reason.iloc[0] + str(pub.after.iloc[0])
    assert "已过期方案经确认发布" in text and "专家组已线下核对" in text and other in text


def test_the_store_refuses_a_confirmed_stale_plan_that_uses_a_forbidden_seat(demo):
    p = svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    e, a = chair(p)
    svc_panels.set_constraint(demo, STAGE, "forbid", e, a, "与申报单位有合作项目")
    with pytest.raises(UserError):
        svc_panels.publish(demo, STAGE, user="zhang", confirm_stale="确认")
    assert app_store.publication(demo, STAGE) is None


def test_another_stage_published_from_the_held_draft_keeps_a_plan_current_and_a_new_import_makes_it_stale(demo):
    p = svc_panels.plan_stage(demo, "初审评估", seed=1, time_limit=20)
    q = svc_panels.plan_stage(demo, "现场考察", seed=1, time_limit=20)
    assert q.meta["stale"] == []
    svc_panels.publish(demo, "初审评估")
    q = svc_panels.saved_plan(demo, "现场考察")
    assert q.meta["stale"] == []          # 初审评估's draft was held fixed: its publication changes nothing
    # a new import of the same round with one expert's title changed
    raw = pd.read_excel(DEMO_DIR / "round2026.xlsx", sheet_name="专家库", dtype=str)
    raw.loc[0, "职称"] = "正高级工程师" if raw.loc[0, "职称"] != "正高级工程师" else "高级工程师"
    svc_imports.import_files(demo, [("专家库.csv", raw.to_csv(index=False).encode("utf-8"))])
    svc_imports.load_bundle(demo)
    stale = svc_panels.saved_plan(demo, "现场考察").meta["stale"]
    assert any("导入" in x for x in stale), stale
    assert p.meta["stale"] == []


# ---------------------------------------------------------------- item 6: a newly found relation covers the pair

def test_a_forbid_for_a_newly_found_relation_covers_every_open_stage(demo):
    p = svc_panels.plan_stage(demo, "初审评估", seed=1, time_limit=20)
    svc_panels.publish(demo, "初审评估")
    e, a = p.panels.expert_id.iloc[0], p.panels.application_id.iloc[0]
    notes = svc_panels.set_constraint(demo, "现场考察", "forbid", e, a, "与申报单位有合作项目（合同编号 2025-17）",
                                      all_stages=True)
    assert notes and "初审评估" in notes[0] and "替换" in notes[0]      # the published seat is named
    c = svc_panels.constraints(demo)
    mine = c[(c.expert_id == e) & (c.application_id == a)]
    # a conflict of the pair: every stage, the published one included (reviewer.store.pair_conflicts)
    assert set(mine.stage) == {"初审评估", "现场考察", "认定评审"} and set(mine.scope) == {"pair"}
    assert mine.reason.str.contains("合同编号 2025-17").all()
    chain = app_store.audit_entries(demo)
    assert (chain.action == "forbid").sum() == 3
    # the published seat was recused and refilled through the checked path
    assert (e, a) not in set(zip(app_store.published_seats(demo, "初审评估").expert_id,
                                 app_store.published_seats(demo, "初审评估").application_id)), notes
    r = svc_panels.plan_stage(demo, STAGE, seed=1, time_limit=20)
    assert not ((r.panels.expert_id == e) & (r.panels.application_id == a)).any()
    # a forbid of one stage stays possible and is labelled so
    e2 = next(x for x in p.panels.expert_id if x != e)
    svc_panels.set_constraint(demo, STAGE, "forbid", e2, a, "本阶段回避")
    c = svc_panels.constraints(demo, STAGE)
    assert c.loc[c.expert_id == e2, "scope_zh"].iloc[0] == "仅本阶段"
    assert set(svc_panels.constraints(demo, "现场考察").expert_id) == {e}


def test_a_pair_forbid_is_all_or_nothing(demo):
    """One stage refusing the forbid (the pair is locked there) leaves no forbid in any stage."""
    p = svc_panels.plan_stage(demo, "现场考察", seed=1, time_limit=20)
    e, a = p.panels.expert_id.iloc[0], p.panels.application_id.iloc[0]
    svc_panels.set_constraint(demo, "现场考察", "lock", e, a, "指定专家")
    with pytest.raises(UserError, match="锁定|locked"):
        svc_panels.set_constraint(demo, "初审评估", "forbid", e, a, "与申报单位有合作项目", all_stages=True)
    c = svc_panels.constraints(demo)
    assert list(c.kind) == ["lock"]
    with pytest.raises(UserError):
        svc_panels.set_constraint(demo, "初审评估", "forbid", e, "NO-SUCH-APP", "x", all_stages=True)


# ---------------------------------------------------------------- item 7: one truth under concurrency

def _sheet(round_id: str, stage: str, expert_id: str, seats: pd.DataFrame, value: float) -> bytes:
    crit = svc_rounds.policy_for(round_id).rubric.criteria
    mine = seats[seats.expert_id == expert_id]
    rows = [{"阶段": stage, "申报编号": a, "专家编号": expert_id, "评分项": c.id, "得分": round(c.max * value, 1)}
            for a in mine.application_id for c in crit]
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def test_parallel_uploads_and_a_replacement_lose_nothing_and_the_app_shows_the_store(demo):
    stage = "初审评估"
    svc_panels.plan_stage(demo, stage, seed=1, time_limit=20)
    svc_panels.publish(demo, stage)
    seats = app_store.published_seats(demo, stage)
    experts = list(dict.fromkeys(seats.expert_id))
    uploaders, decliner = experts[:6], experts[-1]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(uploaders) + 1)

    def upload(e: str, k: int) -> None:
        try:
            barrier.wait()
            for v in (0.5, 0.6 + k / 100):      # each expert uploads twice; the second replaces the first
                n, issues = svc_scores.import_scores(demo, [(f"{e}.csv", _sheet(demo, stage, e, seats, v))], user=e)
                assert n > 0 and (issues.empty or not (issues.severity == "error").any()), issues
        except BaseException as x:  # noqa: BLE001 - reported by the main thread
            errors.append(x)

    def replace() -> None:
        try:
            barrier.wait()
            svc_panels.replace_expert(demo, stage, decliner, None, "专家因故无法参加", time_limit=20)
        except BaseException as x:  # noqa: BLE001
            errors.append(x)

    threads = [threading.Thread(target=upload, args=(e, k)) for k, e in enumerate(uploaders)]
    threads.append(threading.Thread(target=replace))
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    crit = svc_rounds.policy_for(demo).rubric.criteria
    store = app_store.scores_frame(demo)
    app = svc_scores.scores(demo)
    app = app[app.panel == stage]
    for k, e in enumerate(uploaders):
        mine = store[store.expert_id == e]
        assert len(mine) == len(seats[seats.expert_id == e]) * len(crit)         # nothing lost
        want = {round(c.max * (0.6 + k / 100), 1) for c in crit}
        assert set(mine.score.round(1)) <= want                                    # the second upload won
    key = ["application_id", "expert_id", "criterion"]
    a = app[key + ["score"]].sort_values(key).reset_index(drop=True)
    s = store[store.stage == stage][key + ["score"]].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, s, check_dtype=False)                         # app == store
    now = app_store.published_seats(demo, stage)
    assert decliner not in set(now.expert_id)
    assert not list(svc_rounds.round_dir(demo).glob("*.csv"))
