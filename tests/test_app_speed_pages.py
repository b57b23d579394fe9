"""Issue 13 item 15 (speed13c): the pages after an import (形式审查, 专家与回避, 催交) and the expert packs are
fast without being stale. Correctness, not timings (the seconds are benchmarks/app_speed_cpu.py's): the
import keeps what it read for the next page, and a change made behind the app's back (the `reviewer`
commands, another process) is still seen on the next rerun."""
from __future__ import annotations

import sys

import pandas as pd
import pytest

from reviewer.app import base
from reviewer.app import conflicts as svc_conflicts
from reviewer.app import imports as svc_imports
from reviewer.app import rounds as svc_rounds
from reviewer.app import screening as svc_screening
from reviewer.app import store as app_store
from reviewer.resources import DEMO_DIR
from reviewer.store import repo
from tests.test_store_support import run_cli


@pytest.fixture()
def imported(tmp_path, monkeypatch):
    """A new round with the demo workbook imported through the app, as staff member 张工作."""
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    base.memo_clear()
    rid = svc_rounds.create_round("2027年度（速度）", user="zhang").round_id
    out = svc_imports.import_files(rid, [("round2026.xlsx", (DEMO_DIR / "round2026.xlsx").read_bytes())],
                                   None, "zhang")
    assert not out.skipped
    return rid


def test_the_page_after_an_import_does_not_read_the_files_again(imported, monkeypatch):
    def no_reading(*a, **k):
        raise AssertionError("the round's files were read again after the import")

    monkeypatch.setattr(svc_imports, "load_round", no_reading)
    b = svc_imports.load_bundle(imported)
    assert len(b.data.applications) == 40 and len(b.data.experts) == 400
    assert not svc_screening.screening(imported).summary.empty


def test_the_import_is_recorded_in_the_store_by_the_staff_member_in_the_import_act(imported):
    with app_store.store().read() as s:
        snap = repo.latest_import(s, repo.get_round(s, imported))
        assert snap.created_by == "zhang"
    v = app_store.version()
    svc_imports.load_bundle(imported)       # reading the round's data records nothing more
    assert app_store.version() == v


def test_the_kept_inputs_are_what_a_fresh_read_gives(imported):
    kept = svc_imports.load_bundle(imported)
    base.memo_clear()
    fresh = svc_imports.load_bundle(imported)
    assert kept is not fresh
    assert kept.data == fresh.data
    assert kept.sources == fresh.sources
    assert kept.report.issues_frame().equals(fresh.report.issues_frame())


def test_a_later_import_replaces_the_kept_inputs(imported):
    first = svc_imports.load_bundle(imported)
    sheet = next(n for n in pd.ExcelFile(DEMO_DIR / "round2026.xlsx").sheet_names if "专家库" in n)
    pool = pd.read_excel(DEMO_DIR / "round2026.xlsx", sheet_name=sheet, dtype=str)
    out = svc_imports.import_files(imported, [("专家库.csv", pool.iloc[:-1].to_csv(index=False).encode("utf-8"))],
                                   None, "zhang")
    assert out.applied == ["experts"], out.skipped
    now = svc_imports.load_bundle(imported)
    assert len(now.data.experts) == len(first.data.experts) - 1
    with app_store.store().read() as s:                                   # and the store has it too
        assert repo.latest_import(s, repo.get_round(s, imported)).id > 1


def test_background_warm_up_imports_the_charts_once():
    import gc

    from reviewer.app.ui import common
    t = common.warm_up()
    assert common.warm_up() is t                      # once per process
    t.join(timeout=120)
    assert not t.is_alive() and "reviewer.app.charts" in sys.modules
    assert all(f"reviewer.app.{m}" in sys.modules for m in common._PAGE_SERVICES)
    assert "pandas.io.formats.style" in sys.modules   # the wrapped tables' Styler
    # what is loaded is out of the collector's sight: Streamlit's full collection after every run stays short
    assert gc.get_freeze_count() > 100_000


def test_a_waiver_by_the_cli_reaches_the_cached_conflict_tables(imported, capsys):
    t = svc_conflicts.conflicts(imported).table()
    c6 = t[(t.rule == "C6") & ~t.waived]
    assert not c6.empty
    a, e = c6.application_id.iloc[0], c6.expert_id.iloc[0]
    before = svc_conflicts.conflicts_overview(imported)
    of_a = svc_conflicts.conflicts_of(imported, a)
    assert svc_conflicts.conflicts_overview(imported).equals(before)        # a rerun: the same table
    assert not of_a[(of_a.expert_id == e) & (of_a.rule == "C6")]["waived"].any()
    code, out = run_cli(["waive", "--round", imported, "--expert", e, "--application", a, "--rule", "C6",
                         "--reason", "经核实不存在利害关系", "--db", app_store.url()], capsys)
    assert code == 0, out
    after = svc_conflicts.conflicts_of(imported, a)
    assert after[(after.expert_id == e) & (after.rule == "C6")]["waived"].all()
    ov = svc_conflicts.conflicts_overview(imported).set_index("application_id")
    assert ov.loc[a, "waived"] == before.set_index("application_id").loc[a, "waived"] + 1


def test_a_review_decision_by_the_cli_reaches_the_cached_review_items(imported, capsys):
    items = svc_screening.review_items(imported)
    assert not items.empty, "the demo round has needs-review checks"
    a, r = items.application_id.iloc[0], items.rule.iloc[0]
    assert items.decision.iloc[0] == ""
    code, out = run_cli(["decide", a, r, "pass", "--round", imported, "--reason", "材料已补正",
                         "--db", app_store.url()], capsys)
    assert code == 0, out
    got = svc_screening.review_items(imported)
    row = got[(got.application_id == a) & (got.rule == r)].iloc[0]
    assert row.decision == "pass" and row.decision_reason == "材料已补正"


def test_two_threads_asking_for_one_key_make_it_once():
    import threading
    import time
    base.memo_clear()
    made, started = [], threading.Event()

    def make():
        started.set()
        time.sleep(0.3)
        made.append(1)
        return "result"

    got = []
    a = threading.Thread(target=lambda: got.append(base.memo(("slow-key",), make)))
    a.start()
    started.wait(5)
    got.append(base.memo(("slow-key",), make))      # asks while the other thread is making it: waits
    a.join()
    assert got == ["result", "result"] and made == [1]


def test_when_the_making_thread_fails_the_waiting_one_makes_its_own():
    import threading
    import time
    base.memo_clear()
    started = threading.Event()

    def failing():
        started.set()
        time.sleep(0.2)
        raise RuntimeError("boom")

    errors = []

    def first():
        try:
            base.memo(("k2",), failing)
        except RuntimeError as e:
            errors.append(str(e))

    a = threading.Thread(target=first)
    a.start()
    started.wait(5)
    assert base.memo(("k2",), lambda: "mine") == "mine"
    a.join()
    assert errors == ["boom"] and not base._PENDING


def test_the_prefetch_after_an_import_fills_what_the_next_pages_ask_for(imported, monkeypatch):
    from reviewer.app import charts
    from reviewer.app.ui import common
    common.prefetch_after_import(imported, "zh").join(timeout=300)

    def no(*a, **k):
        raise AssertionError("made again after the prefetch")

    monkeypatch.setattr(svc_screening, "screen", no)
    monkeypatch.setattr(svc_conflicts, "detect_conflicts", no)
    monkeypatch.setattr(charts.alt, "Chart", no)                 # no chart is built again either
    assert not svc_screening.screening(imported).summary.empty
    svc_screening.review_items(imported)
    assert common.chart_spec(charts.conflicts_by_rule, svc_conflicts.conflicts_table(imported), "zh")["title"]
    svc_conflicts.conflicts_overview(imported)


def test_a_failing_prefetch_job_does_not_stop_the_others():
    done = []
    t = base.prefetch("test", [lambda: 1 / 0, lambda: done.append("second")])
    t.join(timeout=10)
    assert done == ["second"]


def test_a_table_in_another_row_order_is_another_table():
    from reviewer.app.ui.common import _fingerprint
    df = pd.DataFrame({"a": ["x", "y", "z"], "n": [1, 2, 3]})
    back = df.iloc[::-1].reset_index(drop=True)
    assert _fingerprint(df) != _fingerprint(back)
    assert _fingerprint(df) == _fingerprint(df.copy())


def test_the_waiver_form_lists_the_chosen_applications_conflicts_only(tmp_path, monkeypatch):
    from tests.test_app_pages import start, texts
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))          # as tests/test_app_pages.py's appdata

    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    from reviewer.app import auth
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    base.memo_clear()
    at = start("views/experts.py")
    assert not any(s.key == "waive_app" for s in at.selectbox)   # the 豁免 tab is not made until opened
    at.session_state["experts_tab"] = "豁免"
    at.run()
    pick = next(s for s in at.selectbox if s.key == "waive_app")
    rid = at.session_state["round_id"]
    b = svc_imports.load_bundle(rid)
    t = svc_conflicts.conflicts_table(rid)
    cand = t[t["rule"].isin(b.policy.conflicts.waivable_rules) & ~t["waived"]]
    assert len(cand) > 500                                    # one list of them all would be unusable
    assert [o.split(" ")[0] for o in pick.options] == sorted(set(cand["application_id"]))   # shown with names
    other = pick.options[1].split(" ")[0]
    pick.set_value(other).run()
    pairs = next(s for s in at.selectbox if s.label.startswith("回避关系"))
    assert pairs.options and all(o.startswith(other + " ") for o in pairs.options)
    assert len(pairs.options) == int((cand["application_id"] == other).sum())
    chosen = pairs.options[-1]
    pairs.set_value(chosen)
    at.text_area[0].input("经核实无利害关系")
    next(b for b in at.button if b.label == "豁免").click().run()
    assert "已豁免" in texts(at)
    a, e, r = chosen.split(" ")
    assert ((svc_conflicts.waivers(rid)[["application_id", "expert_id", "rule"]] == [a, e, r]).all(axis=1)).any()
