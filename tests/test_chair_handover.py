"""Issue 11: when the 组长 (chair) of a published panel is replaced, by hand or by the solver's repair,
the chair role passes to someone the independent checker accepts as chair (the checker's `chair`
family holds afterwards): the new expert when eligible, else an eligible member of the panel. The
handover is a recorded change of the published seats (the member's seat is replaced by the same
expert as 组长) with its own audit entry; when nobody on the panel can chair, the change is refused
naming the chair rule, or accepted only with --override-rule chair."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from reviewer.panels import seatchecks, service
from reviewer.store import Store, audit, publishing, replacement, repo
from reviewer.store.models import AuditEntry
from tests.factories import write_csv
from tests.test_store_support import planned_store, store_copy, demo_loaded, run_cli

SITE, RECOG = "现场考察", "认定评审"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The demo round planned (seed 7, one worker) with 认定评审 published from the run."""
    return planned_store(tmp_path_factory.mktemp("chair"), RECOG)


@pytest.fixture
def db(base, tmp_path):
    st, path, run_id = store_copy(base, tmp_path)
    yield st, path, run_id
    st.dispose()


def round_state(st: Store):
    """(active published seats, policy, the planned seats of unpublished stages as fixed seats)."""
    with st.read() as s:
        r = repo.get_round(s, "2026")
        pending = replacement.pending_seats(s, r)
        return (replacement.round_seats(s, r), repo.round_policy(r),
                [tuple(x) for x in pending[["stage", "expert_id", "application_id"]].itertuples(index=False)])


def chair_findings(st: Store) -> list:
    seats, pol, fixed = round_state(st)
    check = service.check_seats(demo_loaded()[0], pol, seats, fixed=fixed)
    return [v for v in check.violations if v.rule == "chair"]


def juniors(st: Store) -> list[str]:
    """Drawable 技术 experts below 正高级 (they cannot chair) without a published seat."""
    seats, _, _ = round_state(st)
    return [e.expert_id for e in demo_loaded()[0].experts if e.category == "技术" and e.title_level != "正高级"
            and e.drawable and e.expert_id not in set(seats["expert_id"])]


def handover_case(st: Store, stage: str, heir: bool):
    """(application, its chair, a junior who keeps every rule but the chair's in the chair's seat,
    the members the checker accepts as chair with the junior on the panel: some when `heir`, else none)."""
    data = demo_loaded()[0]
    seats, pol, fixed = round_state(st)
    for app, panel in seats[seats["stage"] == stage].groupby("application_id"):
        chair = panel.loc[panel["role"] == "chair", "expert_id"].iloc[0]
        for junior in juniors(st):
            members = panel["expert_id"].replace({chair: junior}).tolist()
            able = seatchecks.chair_candidates(data, pol, stage, app, members)
            after = seats.copy()
            after.loc[(after["stage"] == stage) & (after["application_id"] == app) & (after["expert_id"] == chair),
                      "expert_id"] = junior
            if able:
                after.loc[(after["stage"] == stage) & (after["application_id"] == app), "role"] = [
                    "chair" if x == able[0] else "member" for x in members]
            found = service.check_seat_change(data, pol, seats, after, fixed=fixed).violations
            if all(v.rule == "chair" for v in found) and junior not in able and bool(able) == heir:
                return app, chair, junior, able
    pytest.skip(f"no {stage} panel where a junior technical expert could take the chair's seat")


def test_manual_replacement_of_the_chair_hands_the_chair_to_an_eligible_member(db, capsys, tmp_path):
    st, path, _ = db
    app, chair, junior, able = handover_case(st, RECOG, heir=True)
    code, out = run_cli(["replace", "--round", "2026", "-s", RECOG, "-a", app, "--old", chair, "--new", junior,
                         "--reason", "组长因病请假", "--db", str(path)], capsys)
    assert code == 0, out
    heir = able[0]
    assert "组长交接" in out and heir in out, out
    seats, _, _ = round_state(st)
    panel = seats[(seats["stage"] == RECOG) & (seats["application_id"] == app)].set_index("expert_id")
    assert panel.loc[heir, "role"] == "chair" and panel.loc[junior, "role"] == "member"
    assert (panel["role"] == "chair").sum() == 1
    assert not chair_findings(st)
    with st.read() as s:
        entries = list(s.execute(select(AuditEntry).where(AuditEntry.action == "chair_handover")).scalars())
        assert audit.verify(s).ok
        history = repo.published_seats(s, repo.get_round(s, "2026"), RECOG, include_replaced=True)
    assert len(entries) == 1 and heir in entries[0].entity and chair in entries[0].after
    mine = history[(history["application_id"] == app) & (history["expert_id"] == heir)]
    assert sorted(mine["status"]) == ["active", "replaced"] and "chair_handover" in set(mine["origin"])
    code, out = run_cli(["panels", "--round", "2026", "-s", RECOG, "--db", str(path)], capsys)
    assert "组长交接" in out and "改任组长" in out
    with st.read() as s:
        crit = repo.round_policy(repo.get_round(s, "2026")).rubric.criteria
    f = write_csv(tmp_path / "scores.csv", [(RECOG, app, heir, c.id, c.max) for c in crit],
                  ("阶段", "申报编号", "专家编号", "评分项", "得分"))
    code, out = run_cli(["scores", "import", "--round", "2026", "--db", str(path), str(f)], capsys)
    assert code == 0, out            # the heir holds the seat (as chair): the scores are valid, not void
    with st.read() as s:
        assert len(repo.scores_frame(s, repo.get_round(s, "2026"), RECOG)) == len(crit)


def test_auto_replacement_of_the_chair_keeps_a_valid_chair(db, capsys):
    st, path, _ = db
    seats, _, _ = round_state(st)
    recog = seats[seats["stage"] == RECOG]
    for app in sorted(recog["application_id"].unique())[:3]:
        chair = recog.loc[(recog["application_id"] == app) & (recog["role"] == "chair"), "expert_id"].iloc[0]
        code, out = run_cli(["replace", "--round", "2026", "-s", RECOG, "-a", app, "--old", chair,
                             "--reason", "组长出差", "--db", str(path)], capsys)
        assert code == 0, out
        assert not chair_findings(st), out
        after, _, _ = round_state(st)
        panel = after[(after["stage"] == RECOG) & (after["application_id"] == app)]
        assert (panel["role"] == "chair").sum() == 1 and chair not in set(panel["expert_id"])


def test_when_nobody_on_the_panel_can_chair_the_change_is_refused_or_overridden(db, capsys):
    st, path, run_id = db
    with st.write() as s:
        publishing.publish_run(s, repo.get_round(s, "2026"), SITE, run_id, user="张三", reason="发布")
    app, chair, junior, _ = handover_case(st, SITE, heir=False)   # 现场考察 panels have one 技术 expert
    args = ["replace", "--round", "2026", "-s", SITE, "-a", app, "--old", chair, "--new", junior,
            "--reason", "组长因病请假", "--db", str(path)]
    code, out = run_cli(args, capsys)
    assert code != 0 and "chair (组长" in out, out
    code, out = run_cli([*args, "--override-rule", "chair"], capsys)
    assert code == 0, out
    seats, _, _ = round_state(st)
    panel = seats[(seats["stage"] == SITE) & (seats["application_id"] == app)].set_index("expert_id")
    assert panel.loc[junior, "role"] == "chair"
