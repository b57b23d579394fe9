"""补抽 under a random draw (issue 16 item 3): the replacement is redrawn reproducibly from the draw's
seed, uniformly among the checker-valid experts of the population, and only when at least ceil(1/q)
of them are valid (the draw's cap)."""
from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import text

from reviewer.store import audit, draws, repo, seat_refill, seat_responses
from reviewer.store.publishing import publish_run
from tests.test_store_support import demo_store

STAGE = "认定评审"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """A demo store with a committed, revealed and published random draw of 认定评审."""
    path = tmp_path_factory.mktemp("redraw") / "r.sqlite"
    st = demo_store(f"sqlite:///{path}")
    com = draws.commit_draw(st, "2026", user="张三", stages=[STAGE], seed=11)
    run, _res, _seed = draws.reveal_draw(st, "2026", com.entry_id, user="张三", seed=11, salt=com.salt)
    with st.write() as s:
        publish_run(s, repo.get_round(s, "2026"), STAGE, run.id, user="张三")
    st.dispose()
    return path, run.id


def copy_of(drawn, tmp_path, name="c.sqlite"):
    from reviewer.store import Store
    dst = tmp_path / name
    dst.write_bytes(drawn[0].read_bytes())
    return Store(f"sqlite:///{dst}")


def decline_one(st):
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    seat = seats[seats["role"] != "chair"].iloc[0]
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "2026"), seat["expert_id"], STAGE, "decline",
                              user="专家", reason="出国 abroad")
    return seat["application_id"], seat["expert_id"]


def test_redraw_is_reproducible_and_keeps_the_cap(drawn, tmp_path):
    st = copy_of(drawn, tmp_path)
    app_id, leaving = decline_one(st)
    rep = seat_refill.refill_open(st, "2026", STAGE)
    assert len(rep.done) == 1 and rep.done[0].how == seat_refill.DRAW, rep.pending
    p = rep.done[0]
    with st.read() as s:
        r = repo.get_round(s, "2026")
        entry = s.execute(text("SELECT after FROM audit_log WHERE action = 'seat.redraw'")).scalar_one()
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
        seats = repo.published_seats(s, r, STAGE)
        run = repo.get_run(s, drawn[1])
        assert audit.verify(s).ok
    rec = json.loads(entry)
    # anyone can re-derive the draw from the record: the seed from the run and the seat, the order from the seed
    assert rec["run_id"] == drawn[1] and rec["run_seed"] == run.seed == 11
    assert rec["derived_seed"] == seat_refill.derived_seed(run, STAGE, app_id, leaving, rec["panel_version"])
    assert rec["needed"] == math.ceil(1 / rec["q"] - 1e-9) >= 2
    ok = [c for c, why in rec["checked"] if why == "ok"]
    assert len(ok) >= rec["needed"] and rec["pick"] == ok[0] == p.candidate
    # the population: the leaving expert's category, nobody of the panel
    cat = data.expert(leaving).category
    panel_before = set(seats.loc[seats["application_id"] == app_id, "expert_id"]) - {p.candidate} | {leaving}
    population = sorted(e.expert_id for e in data.experts if e.category == cat and e.expert_id not in panel_before)
    assert len(population) == rec["population"]
    order = seat_refill.draw_order(rec["derived_seed"], population)
    assert [c for c, _ in rec["checked"]] == order[:len(rec["checked"])]
    assert p.candidate in set(seats.loc[seats["application_id"] == app_id, "expert_id"])
    st.dispose()
    # the same decline on another copy draws the same expert
    again = copy_of(drawn, tmp_path, "d.sqlite")
    decline_one(again)
    assert seat_refill.refill_open(again, "2026", STAGE).done[0].candidate == p.candidate
    again.dispose()


def test_no_redraw_when_the_cap_cannot_be_shown(drawn, tmp_path, monkeypatch):
    """Fewer checker-valid candidates than ceil(1/q) found: nothing is drawn; staff see why on the board."""
    st = copy_of(drawn, tmp_path)
    app_id, leaving = decline_one(st)
    real = repo.round_policy

    def one_check(r):
        pol = real(r)
        return pol.model_copy(update={"responses": pol.responses.model_copy(update={"redraw_check_limit": 1})})
    monkeypatch.setattr(seat_refill.repo, "round_policy", one_check)
    rep = seat_refill.refill_open(st, "2026", STAGE)
    assert not rep.done and rep.pending and "概率上限" in rep.pending[0][2]
    with st.read() as s:
        b = seat_responses.board(s, repo.get_round(s, "2026"), STAGE).set_index("expert_id")
        assert audit.verify(s).ok
    assert b.loc[leaving, "status"] == "declined" and "概率上限" in b.loc[leaving, "refill_note"]
    st.dispose()
