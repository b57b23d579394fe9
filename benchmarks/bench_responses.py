"""Seat life cycle benchmark (issue 16): what an expert's click and a staff action cost on the demo round.

    python benchmarks/bench_responses.py

A fresh SQLite store in a scratch REVIEWER_HOME: the demo round imported; 初审评估 planned (seed 7, one
worker) and published (145 seats invited); 认定评审 drawn at random (committed and revealed, seed 11) and
published. Times (wall clock): the publication with its invitations, one confirm, one decline, the
补抽 of that decline by the minimal-change repair (optimised plan), the board, `expire` over the whole
stage, one 补抽 by the redraw that keeps the cap (random draw), and `audit verify`. Writes
benchmarks/results/responses.md with the machine and its load.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["REVIEWER_HOME"] = tempfile.mkdtemp(prefix="bench-responses-home-")

from reviewer.demo.pipeline import demo_policy  # noqa: E402
from reviewer.intake.io import load_round_from  # noqa: E402
from reviewer.policy import load_policy  # noqa: E402
from reviewer.resources import DEMO_DIR  # noqa: E402
from reviewer.store import Store, audit, draws, repo, seat_refill, seat_responses  # noqa: E402
from reviewer.store.publishing import publish_run  # noqa: E402
from reviewer.store.runs import run_planning  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
STAGE, DRAWN = "初审评估", "认定评审"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    st = Store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}")
    data, report = load_round_from(DEMO_DIR / "round2026.xlsx", demo_policy(load_policy()))
    with st.write() as s:
        r = repo.create_round(s, "B", user="bench", as_of="2026-11-01")
        repo.record_import(s, r, data, report, user="bench", source="demo")
        day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        repo.update_round_settings(s, r, {"meetings": {STAGE: {"date": day, "time": "09:00"}}}, user="bench")
    run, _ = run_planning(st, "B", user="bench", stages=[STAGE], seed=7, time_limit=120, workers=1)
    t = {}

    def publish(stage, run_id):
        with st.write() as s:
            publish_run(s, repo.get_round(s, "B"), stage, run_id, user="bench")
    _, t["publish 初审评估 (145 seats invited)"] = timed(lambda: publish(STAGE, run.id))
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "B"), STAGE)
    members = seats[seats["role"] != "chair"]["expert_id"].tolist()

    def answer(e, act, **kw):
        with st.write() as s:
            seat_responses.answer(s, repo.get_round(s, "B"), e, STAGE, act, user=e, **kw)
    _, t["one confirm"] = timed(lambda: answer(members[0], "confirm"))
    _, t["one decline"] = timed(lambda: answer(members[1], "decline", reason="bench"))
    rep, t["补抽 one seat (minimal-change repair)"] = timed(lambda: seat_refill.refill_open(st, "B", STAGE))
    assert len(rep.done) == 1, rep.pending

    def board():
        with st.read() as s:
            return seat_responses.board(s, repo.get_round(s, "B"), STAGE)
    _, t["board (145 seats)"] = timed(board)

    def expire():
        with st.write() as s:
            later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=29)
            return seat_responses.expire(s, repo.get_round(s, "B"), STAGE, user="bench", now=later)
    done, t["expire (whole stage)"] = timed(expire)
    fixed = [[STAGE, x.expert_id, x.application_id] for x in board().itertuples() if x.status != "replaced"]
    com = draws.commit_draw(st, "B", user="bench", stages=[DRAWN], seed=11, fixed=fixed)
    drawn, _res, _ = draws.reveal_draw(st, "B", com.entry_id, user="bench", seed=11, salt=com.salt)
    publish(DRAWN, drawn.id)
    with st.read() as s:
        dseats = repo.published_seats(s, repo.get_round(s, "B"), DRAWN)
    e = dseats[dseats["role"] != "chair"]["expert_id"].iloc[0]
    with st.write() as s:
        seat_responses.answer(s, repo.get_round(s, "B"), e, DRAWN, "decline", user=e, reason="bench")
    rep, t["补抽 one seat (redraw keeping the cap)"] = timed(lambda: seat_refill.refill_open(st, "B", DRAWN))
    assert len(rep.done) == 1 and rep.done[0].how == seat_refill.DRAW, rep.pending

    def verify():
        with st.read() as s:
            return audit.verify(s)
    v, t["audit verify"] = timed(verify)
    assert v.ok
    load = os.getloadavg()
    lines = ["# Seat life cycle on the demo round (bench_responses.py)", "",
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, load average {load[0]:.1f} / {load[1]:.1f} when run; "
             f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             "| step | seconds |", "|---|---|"] + [f"| {k} | {v:.2f} |" for k, v in t.items()] + [
             "", f"expire marked {len(done.changed)} seats; audit entries {v.entries}."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "responses.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
