"""An accepted 申请回避 is a conflict of the PAIR (expert × application) in every stage (issue 16 item 1):
a forbid in each stage, published ones included, with the expert's stated relation as its evidence;
the planner, the publication check and the replacement checker read it; a seat of the pair in another
published stage is recused too and replaced through the checked 补抽 path."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from reviewer.errors import UserError
from reviewer.store import Store, audit, pair_conflicts, publishing, replacement, repo, seat_refill, seat_responses
from reviewer.store.runs import run_planning
from tests.test_store_support import AS_OF, DEMO, demo_loaded, planned_store, run_cli, store_copy

STAGE, SITE, FINAL = "初审评估", "现场考察", "认定评审"
MEETING = (dt.date.today() + dt.timedelta(days=30)).isoformat()
BEFORE = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=5)
WORDS = "与牵头单位负责人为师生关系（2015-2019 博士导师）"
POLICY = Path(__file__).resolve().parent.parent / "reviewer" / "data" / "policy.toml"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return planned_store(tmp_path_factory.mktemp("recusal"), STAGE, {"meetings": {STAGE: {"date": MEETING}}})


@pytest.fixture
def st(base, tmp_path):
    store, _path, run_id = store_copy(base, tmp_path)
    store.run_id = run_id
    yield store
    store.dispose()


def panel(store, stage=STAGE):
    with store.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), stage)
    app_id = sorted(seats["application_id"])[0]
    return app_id, seats[seats["application_id"] == app_id].sort_values("role")["expert_id"].tolist()


def recuse_and_accept(store, expert, app_id, stage=STAGE):
    with store.write() as s:
        r = repo.get_round(s, "2026")
        seat_responses.answer(s, r, expert, stage, "recuse", user=f"专家 {expert}", relation="C3", reason=WORDS,
                              application_id=app_id, now=BEFORE)
    with store.write() as s:
        return seat_responses.decide_recusal(s, repo.get_round(s, "2026"), stage, app_id, expert, accept=True,
                                             reason="关系属实", user="张三")


def test_an_accepted_recusal_forbids_the_pair_in_every_stage_with_the_experts_words(st):
    app_id, members = panel(st)
    e = members[-1]
    done = recuse_and_accept(st, e, app_id)
    assert done.also == ()                           # the pair holds no seat in another published stage
    with st.read() as s:
        r = repo.get_round(s, "2026")
        pc = pair_conflicts.pairs(s, r)
        forbids = repo.seat_rules(s, r)["forbid"]
    assert len(pc) == 1 and (pc.expert_id.iloc[0], pc.application_id.iloc[0]) == (e, app_id)
    assert pc.stages.iloc[0] == [STAGE, SITE, FINAL]                 # published stage included
    assert WORDS in pc.evidence.iloc[0] and "C3" in pc.evidence.iloc[0] and "关系属实" in pc.evidence.iloc[0]
    assert {(stg, e, app_id) for stg in (STAGE, SITE, FINAL)} <= set(forbids)
    # the recused seat is replaced through the checked path; nobody can seat the pair again
    rep = seat_refill.refill_open(st, "2026", STAGE)
    assert [p.leaving for p in rep.done] == [e], rep.pending
    app_now, members_now = panel(st)
    assert e not in members_now
    other = next(x for x in members_now[1:] if x != rep.done[0].candidate)
    with st.write() as s:
        with pytest.raises(UserError, match="locks_and_forbids"):
            replacement.replace_expert(s, repo.get_round(s, "2026"), STAGE, app_id, other, e, reason="再换回来",
                                       user="李四")
    with st.read() as s:
        v = audit.verify(s)
    assert v.ok, [str(p) for p in v.problems]


def test_the_cli_lists_the_pair_conflicts(st, capsys, tmp_path):
    app_id, members = panel(st)
    e = members[-1]
    recuse_and_accept(st, e, app_id)
    code, out = run_cli(["responses", "conflicts", "--round", "2026", "--db", str(tmp_path / "s.sqlite")], capsys)
    assert code == 0 and "1 对回避" in out
    assert f"{e} × {app_id}: {STAGE}、{SITE}、{FINAL}" in out and "师生关系" in out


def test_the_pair_conflict_makes_a_later_plan_stale_and_the_planner_keeps_the_pair_apart(st):
    app_id, members = panel(st)
    e = members[-1]
    recuse_and_accept(st, e, app_id)
    seat_refill.refill_open(st, "2026", STAGE)
    with st.write() as s:   # the run planned before the recusal is out of date for the later stages
        with pytest.raises(publishing.StalePlan, match=f"{e}"):
            publishing.publish_run(s, repo.get_round(s, "2026"), SITE, st.run_id, user="张三", reason="发布")
    with st.read() as s:
        r = repo.get_round(s, "2026")
        fixed = [tuple(x) for x in repo.active_published_seats(s, r)[["stage", "expert_id", "application_id"]]
                 .itertuples(index=False)]
    run, _ = run_planning(st, "2026", user="张三", stages=[SITE], seed=7, time_limit=60, workers=1, fixed=fixed)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    with st.read() as s:
        seats = repo.run_seats(s, run.id)
    assert not ((seats.expert_id == e) & (seats.application_id == app_id)).any()


def test_a_rejected_recusal_records_no_pair_conflict(st):
    app_id, members = panel(st)
    e = members[-1]
    with st.write() as s:
        r = repo.get_round(s, "2026")
        seat_responses.answer(s, r, e, STAGE, "recuse", user=e, relation="C1", reason="曾在该单位兼职",
                              application_id=app_id, now=BEFORE)
        seat_responses.decide_recusal(s, r, STAGE, app_id, e, accept=False, reason="兼职已于 2018 年结束", user="张三")
        assert pair_conflicts.pairs(s, r).empty and repo.seat_rules(s, r)["forbid"] == []


# ---------------------------------------------------------------- the pair seated in two published stages

@pytest.fixture(scope="module")
def two_stages(tmp_path_factory):
    """A round whose policy lets an expert sit on one application in two stages, with the first two
    stages published from one run, and one expert moved onto the same application in both (through
    the checked replacement path)."""
    from reviewer.store.runs import run_planning as plan
    folder = tmp_path_factory.mktemp("recusal2")
    policy = folder / "policy.toml"
    text = POLICY.read_text(encoding="utf-8")
    assert "allow_same_expert_across_stages = false" in text
    policy.write_text(text.replace("allow_same_expert_across_stages = false",
                                   "allow_same_expert_across_stages = true"), encoding="utf-8")
    path = folder / "base.sqlite"
    store = Store(f"sqlite:///{path}")
    data, report = demo_loaded()
    with store.write() as s:
        r = repo.create_round(s, "2026", user="张三", as_of=AS_OF, policy_path=policy,
                              settings={"meetings": {STAGE: {"date": MEETING}}})
        repo.record_import(s, r, data, report, user="张三", source=str(DEMO / "round2026.xlsx"))
    run, _ = plan(store, "2026", user="张三", seed=7, time_limit=120, workers=1)
    assert run.status in ("OPTIMAL", "FEASIBLE")
    with store.write() as s:
        for stage in (STAGE, SITE):
            publishing.publish_run(s, repo.get_round(s, "2026"), stage, run.id, user="张三", reason="发布")
    pair = _seat_one_expert_twice(store)
    store.dispose()
    return path, pair


def _seat_one_expert_twice(store):
    with store.read() as s:
        r = repo.get_round(s, "2026")
        first, site = repo.published_seats(s, r, STAGE), repo.published_seats(s, r, SITE)
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    cat = {x.expert_id: x.category for x in data.experts}
    for app_id in sorted(set(first.application_id) & set(site.application_id)):
        mine = site[site.application_id == app_id]
        for e in first.loc[(first.application_id == app_id) & (first.role != "chair"), "expert_id"]:
            for x in mine[mine.role != "chair"].itertuples(index=False):
                if cat[x.expert_id] != cat[e] or e in set(mine.expert_id):
                    continue
                try:
                    with store.write() as s:
                        replacement.replace_expert(s, repo.get_round(s, "2026"), SITE, app_id, x.expert_id, e,
                                                   reason="测试：同一专家两个阶段", user="张三", data=data)
                except UserError:
                    continue
                return e, app_id
    pytest.fail("no expert could be seated on one application in two stages")


def test_an_accepted_recusal_recuses_and_replaces_the_pair_in_another_published_stage(two_stages, tmp_path):
    path, (e, app_id) = two_stages
    shutil.copy(path, tmp_path / "s.sqlite")
    st = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        done = recuse_and_accept(st, e, app_id)
        assert done.also == (SITE,)
        with st.read() as s:
            b = seat_responses.board(s, repo.get_round(s, "2026"), SITE, now=BEFORE)
        mine = b[(b.expert_id == e) & (b.application_id == app_id)].iloc[0]
        assert mine.status == "recused" and mine.needs_refill and mine.relation == "C3"
        for stage in (STAGE, SITE):
            rep = seat_refill.refill_open(st, "2026", stage)
            assert [p.leaving for p in rep.done] == [e], rep.pending
        with st.read() as s:
            r = repo.get_round(s, "2026")
            seats = repo.active_published_seats(s, r)
            assert not ((seats.expert_id == e) & (seats.application_id == app_id)).any()
            data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
            assert replacement.check_change(s, r, data, replacement.round_seats(s, r)) == []
            v = audit.verify(s)
        assert v.ok, [str(p) for p in v.problems]
    finally:
        st.dispose()
