"""The app's demo round agrees with `reviewer demo` (stages17c item 3): made in the app, it carries the demo's
registers (its past centres replayed to the round date, the replay the CLI demo ranks against), in its own
scope, so its 排名 recommends the same centres and refuses the same occupied fields; a real round's register
stays empty until imported, and its 排名 page says so."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from reviewer.app import auth
from reviewer.app import ranking as svc_ranking
from reviewer.app import registers as svc_reg
from reviewer.app import rounds as svc_rounds
from reviewer.app import store as app_store
from reviewer.app.ui import MAIN
from reviewer.demo.pipeline import run_demo
from reviewer.policy import load_policy
from reviewer.resources import DEMO_DIR
from reviewer.store import registers

TIMEOUT = 180


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return tmp_path


def test_the_app_demo_round_recommends_what_the_cli_demo_recommends(appdata):
    cli = run_demo(DEMO_DIR, appdata / "demo-out", load_policy(), echo=lambda _: None)["ranking"]
    rid = svc_rounds.ensure_demo_round()
    app = svc_ranking.ranking(rid, "认定评审")
    want = sorted(cli.loc[cli["decision"] == "recommend", "application_id"])
    assert len(want) == 6
    assert sorted(app.loc[app["decision"] == "recommend", "application_id"]) == want
    # the same occupied fields refused, with the register as the reason
    refused = app[app["decision"] == "field_has_centre"]
    assert {"GX2026-003", "GX2026-035"} <= set(refused["application_id"])
    assert set(refused["field"]) == set(cli.loc[cli["decision"] == "field_has_centre", "field"])
    assert refused["reason_zh"].str.contains("中心名录").all()
    assert not svc_ranking.register_empty(rid)


def test_demo_registers_are_the_demo_rounds_own(appdata):
    rid = svc_rounds.ensure_demo_round()
    svc_rounds.ensure_demo_round()                                   # made once: nothing twice
    demo_taken = set(svc_reg.fields_taken(rid)["领域"])
    assert {"汽车", "机械", "高端有色金属新材料", "电子信息"} <= demo_taken
    assert svc_reg.record_demo_lifecycle(rid, "张三") == (0, 0)
    real = svc_rounds.create_round("2027年度制造业创新中心试点", copy_demo_inputs=True).round_id
    assert svc_reg.fields_taken(real).empty and svc_reg.ledger(real)[0].empty   # the synthetic centres stay out
    assert svc_ranking.register_empty(real)
    with app_store.store().read() as s:                               # and so does the department's CLI view
        day = svc_rounds.policy_for(rid).as_of_date()
        assert registers.centre_entries(s) == [] and registers.load_ledger(s, load_policy(), day).entries == []
    # importing on 登记册 fills the real round's (the department's) register; the demo's is unchanged
    n, m = svc_reg.record_demo_lifecycle(real, "张三")
    assert n > 0 and m > 0 and not svc_ranking.register_empty(real)
    assert set(svc_reg.fields_taken(rid)["领域"]) == demo_taken


def test_the_cli_reaches_the_demo_rounds_registers_by_its_code(appdata, capsys):
    from tests.test_store_support import run_cli
    svc_rounds.ensure_demo_round()
    db = app_store.url()
    code, out = run_cli(["register", "show", "--as-of", "2026-11-01", "--round", svc_rounds.DEMO_ROUND_ID, "--db", db],
                        capsys)
    assert code == 0 and "5 fields taken" in out and "800万元 granted" in out, out
    code, out = run_cli(["register", "show", "--as-of", "2026-11-01", "--db", db], capsys)
    assert code == 0 and "0 fields taken" in out, out                   # the department's: untouched


def test_a_real_round_with_an_empty_register_says_so_on_the_ranking_page(appdata):
    real = svc_rounds.create_round("空登记册轮次").round_id
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    at.session_state["round_id"] = real
    at.run()
    at.switch_page("views/ranking.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("中心登记册为空：一领域一中心未核对" in str(w.value) for w in at.warning)
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/ranking.py").run()                           # the demo round: its register is there
    assert not at.exception and not any("中心登记册为空" in str(w.value) for w in at.warning)
