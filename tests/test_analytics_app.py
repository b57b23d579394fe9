"""The analyst page (issue 18) through streamlit.testing and its service: the three tabs open on
the demo round with their charts; a what-if is recorded as an analyst run and changes nothing else."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from reviewer.analytics.whatif import Scenario
from reviewer.app import analysis as svc
from reviewer.app import auth
from reviewer.app import ranking as svc_ranking
from reviewer.app import rounds as svc_rounds
from reviewer.app.ui import MAIN

TIMEOUT = 180


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return tmp_path


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("title", "markdown", "caption", "error", "info", "success", "subheader")
                     for e in getattr(at, kind))


def test_analysis_page_shows_bias_whatif_and_validity(appdata):
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("views/analysis.py").run()
    assert not at.exception, [e.value for e in at.exception]
    t = _texts(at)
    assert "分析 Analysis" in t and "组内置换关系标签" in t and "演示用往年批次" in t
    assert len(at.get("vega_lite_chart")) >= 3           # bias effects, expert effects, validity x2
    rel = at.dataframe[0].value
    # the table shows the relation by its Chinese name (the raw code column is no longer shown, issue 13 item 16)
    from reviewer.analytics.relations import relation_name
    assert relation_name("C9") in set(rel["relation_zh"])
    # what-if: calibrated on the recognition stage (现场考察 is scored with the checklist since stages17b)
    at.selectbox[1].set_value("认定评审")
    at.selectbox[2].set_value("calibrated")
    [b for b in at.button if "计算并记录" in b.label][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    t = _texts(at)
    assert "已记录的排名未改变" in t and "结论变化（2）" in t
    assert any("GX2026-012" in set(d.value.get("application_id", [])) for d in at.dataframe)


def test_whatif_service_records_an_analyst_run_and_leaves_the_ranking(appdata):
    rid = svc_rounds.ensure_demo_round()
    before = svc_ranking.ranking(rid, "认定评审", "trimmed")[["application_id", "decision"]]
    cmp_, notes, run_id = svc.whatif(rid, "认定评审", Scenario(method="calibrated"), user="分析员", resamples=50)
    assert run_id is not None and cmp_.loc[cmp_["changed"], "application_id"].tolist() == ["GX2026-012", "GX2026-015"]
    after = svc_ranking.ranking(rid, "认定评审", "trimmed")[["application_id", "decision"]]
    assert not svc_ranking.ranking(rid, "现场考察", "trimmed").empty    # a checklist stage ranks by its own total
    assert before.equals(after)
    runs = svc.whatif_runs(rid)
    assert runs.iloc[0]["run"] == run_id and runs.iloc[0]["created_by"] == "分析员" and runs.iloc[0]["changed"] == 2
    data = svc.whatif_xlsx(cmp_, "测试", {"run": run_id})
    assert data[:2] == b"PK"
