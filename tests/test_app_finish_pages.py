"""Issue 13 items 10–13 in the staff app's pages (AppTest): ranking sign-off, waiver withdrawal,
the 催交 list, the evaluation page from the store."""
from __future__ import annotations

from reviewer.app import signoff as svc_signoff
from tests.test_app_pages import appdata, button, start, texts  # noqa: F401


def test_ranking_page_signs_off_and_a_second_sign_off_needs_a_reason(appdata):  # noqa: F811
    at = start("views/ranking.py")
    rid = at.session_state["round_id"]
    assert "尚未确认发布" in texts(at)
    at.checkbox[0].check()
    button(at, "确认发布").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "已确认发布" in texts(at) and "即已确认发布的第" in texts(at)
    p = svc_signoff.in_force(rid, "认定评审")
    assert p is not None and p["by"] == "demo"
    at.radio(key="rank_method").set_value("bayes").run()
    assert "不同" in texts(at)                                         # another method: differs from the version
    at.checkbox[0].check()
    button(at, "确认发布").click().run()
    assert any("理由" in e.value for e in at.error)                     # no reason: refused, shown in Chinese
    at.text_input[0].input("专家组会议决定改用贝叶斯汇总")
    at.checkbox[0].check()
    button(at, "确认发布").click().run()
    assert not at.error and svc_signoff.in_force(rid, "认定评审")["method"] == "bayes"
    hist = [d.value for d in at.dataframe if "状态" in d.value.columns][0]
    assert list(hist["状态"]) == ["在用", "已被取代"]
