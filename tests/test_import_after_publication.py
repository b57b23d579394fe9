"""Issue 11 (item 7, and the stateful test's finding): after publication, a re-import that would make
a published panel break a hard rule is refused, naming the rule and the seat: not only ids that vanish
or new conflicts, but any record change the independent checker objects to (a chair who is no longer
senior, an expert whose category changed so the panel loses a category)."""
from __future__ import annotations

import pytest

from reviewer.errors import UserError
from reviewer.intake.io import ImportReport
from reviewer.store import publishing, replacement, repo
from reviewer.store.runs import run_planning
from tests.test_store_support import demo_loaded, demo_store

SITE = "现场考察"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    st = demo_store(f"sqlite:///{tmp_path_factory.mktemp('reimport') / 's.sqlite'}")
    run, _ = run_planning(st, "2026", user="张三", seed=7, time_limit=120, workers=1)
    with st.write() as s:
        publishing.publish_run(s, repo.get_round(s, "2026"), SITE, run.id, user="张三", reason="发布")
        seats = repo.published_seats(s, repo.get_round(s, "2026"), SITE)
    yield st, seats
    st.dispose()


def reimport(st, change):
    data, _ = demo_loaded()
    new = data.model_copy(update={"experts": tuple(change(e) for e in data.experts)})
    with st.write() as s:
        repo.record_import(s, repo.get_round(s, "2026"), new, ImportReport(), user="张三", source="fixed.xlsx")


def imports(st) -> int:
    with st.read() as s:
        return repo.latest_import(s, repo.get_round(s, "2026")).id


def test_a_published_chair_demoted_below_正高级_is_refused(published):
    st, seats = published
    chair = seats[seats["role"] == "chair"].iloc[0]
    n = imports(st)
    with pytest.raises(UserError) as err:
        reimport(st, lambda e: e.model_copy(update={"title_level": "副高级"}) if e.expert_id == chair.expert_id else e)
    assert "chair" in str(err.value) and chair.expert_id in str(err.value) and chair.application_id in str(err.value)
    assert imports(st) == n


def test_a_category_change_that_empties_a_category_of_a_published_panel_is_refused(published):
    st, seats = published
    data, _ = demo_loaded()
    econ = next(x for x in seats.itertuples() if data.expert(x.expert_id).category == "经济")
    with pytest.raises(UserError) as err:
        reimport(st, lambda e: e.model_copy(update={"category": "管理"}) if e.expert_id == econ.expert_id else e)
    assert "category_coverage" in str(err.value) and econ.application_id in str(err.value)


def test_an_unchanged_reimport_is_accepted(published):
    st, _ = published
    n = imports(st)
    reimport(st, lambda e: e)
    assert imports(st) == n + 1


def test_dropping_an_expert_of_the_unpublished_plan_leaves_replacements_working(tmp_path):
    """Found by the stateful test: an expert who sits only in the plan of a stage not yet published
    may leave the records; the published stage is still checked (and replaced) without tripping on the
    stale planned seat ("fixed seat: unknown expert id")."""
    st = demo_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    run, _ = run_planning(st, "2026", user="张三", seed=7, time_limit=120, workers=1)
    with st.write() as s:
        r = repo.get_round(s, "2026")
        publishing.publish_run(s, r, SITE, run.id, user="张三", reason="发布")
        site = repo.published_seats(s, r, SITE)
        planned = repo.run_seats(s, run.id)
    only_planned = sorted(set(planned.loc[planned["stage"] == "认定评审", "expert_id"]) - set(site["expert_id"]))[0]
    data, _ = demo_loaded()
    new = data.model_copy(update={
        "experts": tuple(e for e in data.experts if e.expert_id != only_planned),
        "declarations": tuple(d for d in data.declarations if d.expert_id != only_planned)})
    with st.write() as s:
        repo.record_import(s, repo.get_round(s, "2026"), new, ImportReport(), user="张三", source="fixed.xlsx")
    x = site[site["role"] != "chair"].iloc[0]
    with st.write() as s:
        r = repo.get_round(s, "2026")
        assert only_planned not in set(replacement.pending_seats(s, r)["expert_id"])
        pick, _ = replacement.pick_replacement(s, r, SITE, x.application_id, x.expert_id)
        replacement.replace_expert(s, r, SITE, x.application_id, x.expert_id, pick, reason="请假", user="张三")
    st.dispose()
