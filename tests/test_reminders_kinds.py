"""Reminders of two kinds through the outbox (issue 16 item 4): 答复提醒 to seats not yet answered,
before the answer deadline; 催交 to confirmed seats whose scores are not complete, before the score
deadline. `reviewer notify chase` and the app's 催交 page write them, one per seat, kind and day."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.app import reminders as svc_reminders
from reviewer.app import store as app_store
from reviewer.errors import UserError
from reviewer.notify import templates
from reviewer.store import chase, repo, seat_responses
from reviewer.store.models import OutboxMessage
from tests.test_store_support import DEMO, demo_store, run_cli

STAGE = "认定评审"
DAY = dt.date.today() + dt.timedelta(days=30)
START = dt.datetime.combine(DAY, dt.time(1, 0))           # 09:00 Beijing = 01:00 UTC
ANSWER_BY = START - dt.timedelta(hours=72)                # [responses] reply_hours_before_stage
SCORE_BY = START + dt.timedelta(hours=24)                 # [notify] score_hours_after_stage
EARLY = START - dt.timedelta(days=10)                     # 09:00 Beijing, ten days before
SAME_DAY = EARLY + dt.timedelta(hours=5)                  # 14:00 Beijing, the same day
NEXT_DAY = EARLY + dt.timedelta(days=1)
LATE = START - dt.timedelta(hours=24)                     # past the answer deadline, before the scores are due
AFTER = SCORE_BY + dt.timedelta(hours=1)


def bj(t: dt.datetime) -> str:
    return (t + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The demo round with 认定评审 published from the demo panels (no planning: fast), its meeting dated
    30 days ahead, every seat invited; then one panel answers: A confirms (no scores), B confirms and
    returns a complete sheet, E confirms and returns one criterion only, C declines; D does not answer."""
    url = f"sqlite:///{tmp_path / 'reviewer.sqlite'}"
    monkeypatch.setenv("REVIEWER_DB_URL", url)
    app_store._STORES.clear()
    st = demo_store(url)
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    seats = panels[panels["stage"] == STAGE]
    app_id = sorted(seats["application_id"])[0]
    a, b, c, d, e = sorted(seats.loc[seats["application_id"] == app_id, "expert_id"])[:5]
    with st.write() as s:
        r = repo.get_round(s, "2026")
        repo.update_round_settings(s, r, {"meetings": {STAGE: {"date": DAY.isoformat(), "time": "09:00"}}}, user="张三")
        repo.publish(s, r, STAGE, seats, user="张三", source="demo_panels.csv")
        seat_responses.invite_stage(s, r, STAGE, user="张三")
    with st.write() as s:
        r = repo.get_round(s, "2026")
        crit = {x.id: x.max for x in repo.round_policy(r).instrument(STAGE).criteria}
        for x in (a, b, e):
            seat_responses.answer(s, r, x, STAGE, "confirm", user=x, application_id=app_id, now=EARLY)
        seat_responses.answer(s, r, c, STAGE, "decline", user=c, reason="出差", application_id=app_id, now=EARLY)
        rows = [{"stage": STAGE, "application_id": app_id, "expert_id": b, "criterion": k, "score": m * 0.8}
                for k, m in crit.items()]
        first = next(iter(crit))
        rows.append({"stage": STAGE, "application_id": app_id, "expert_id": e, "criterion": first,
                     "score": crit[first] * 0.8})
        repo.submit_scores(s, r, pd.DataFrame(rows), user="张三", source="test")
    yield st, tmp_path / "reviewer.sqlite", seats, app_id, (a, b, c, d, e)
    st.dispose()
    app_store._STORES.clear()


def outbox_rows(st, kind=None):
    with st.read() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        return list(s.execute(q.where(OutboxMessage.kind == kind) if kind else q).scalars())


def chase_cli(path, now, capsys, *extra):
    return run_cli(["notify", "chase", "--db", str(path), "--round", "2026", "--stage", STAGE, "--now", bj(now),
                    *extra], capsys)


def seats_of(rows):
    return {(m.recipient_id, m.context["application_id"]) for m in rows}


def test_each_kind_goes_to_its_seats_only_once_per_seat_and_day(db, capsys):
    st, path, seats, app_id, (a, b, c, d, e) = db
    code, out = chase_cli(path, EARLY, capsys)
    assert code == 0, out
    reply, score = outbox_rows(st, chase.REPLY), outbox_rows(st, chase.SCORE)
    invited = set(zip(seats.expert_id, seats.application_id)) - {(x, app_id) for x in (a, b, c, e)}
    assert seats_of(reply) == invited and (d, app_id) in invited         # every unanswered seat, nobody else
    assert seats_of(score) == {(a, app_id), (e, app_id)}                # confirmed, sheet missing or incomplete
    assert f"答复提醒 reply reminders {len(invited)}" in out and "催交 score chases 2" in out
    assert score[0].context["deadline"] == (SCORE_BY + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") + "（北京时间）"
    mine = [m for m in reply if m.recipient_id == d]
    assert mine[0].context["deadline"].startswith((ANSWER_BY + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M"))
    keys = [m.idempotency_key for m in reply + score]
    assert len(keys) == len(set(keys))
    # the same day again, by the CLI or the app's 催交 page: nothing new
    n = len(outbox_rows(st))
    assert chase_cli(path, SAME_DAY, capsys)[0] == 0
    got = svc_reminders.queue_chase("2026", STAGE, user="张三", now=SAME_DAY)
    assert got == {"reply": len(invited), "score": 2, "queued": 0}
    assert len(outbox_rows(st)) == n
    # the next day: one more per seat and kind
    got = svc_reminders.queue_chase("2026", STAGE, user="张三", now=NEXT_DAY)
    assert got["queued"] == n and len(outbox_rows(st)) == 2 * n


def test_deadlines_end_each_kind(db, capsys):
    st, path, _seats, app_id, (a, _b, _c, d, e) = db
    code, out = chase_cli(path, LATE, capsys)            # the answer deadline has passed: 催交 only
    assert code == 0, out
    assert outbox_rows(st, chase.REPLY) == []
    assert seats_of(outbox_rows(st, chase.SCORE)) == {(a, app_id), (e, app_id)}
    n = len(outbox_rows(st))
    assert chase_cli(path, AFTER, capsys)[0] == 0        # the scores were due: nothing more
    assert len(outbox_rows(st)) == n
    code, out = chase_cli(path, EARLY, capsys, "--kind", "score")
    assert code == 0 and outbox_rows(st, chase.REPLY) == []


def test_the_messages_render_from_their_templates_in_chinese(db, capsys):
    st, path, *_ = db
    chase_cli(path, EARLY, capsys)
    for kind, word in ((chase.REPLY, "尚未答复"), (chase.SCORE, "评分表")):
        m = outbox_rows(st, kind)[0]
        for channel in ("email", "sms"):
            subject, body = templates.render(kind, channel, m.context)
            assert word in subject + body and m.context["application_id"] in subject + body
            assert "${" not in body


def test_chase_refuses_unpublished_stages_and_unknown_kinds(db, capsys):
    st, path, *_ = db
    code, out = run_cli(["notify", "chase", "--db", str(path), "--round", "2026", "--stage", "初审评估"], capsys)
    assert code != 0 and "尚未发布" in out
    code, out = chase_cli(path, EARLY, capsys, "--kind", "sms")
    assert code != 0 and "--kind" in out
    with st.read() as s, pytest.raises(UserError, match="unknown reminder kind"):
        chase.due(s, repo.get_round(s, "2026"), STAGE, now=EARLY, kinds=("x",))
