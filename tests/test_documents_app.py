"""The staff app's documents page (公文): generation from a published stage as a zip, and the
editable templates (upload checked before it is kept, restore the shipped one)."""
from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document

from reviewer.app import documents as svc_docs
from reviewer.app import panels as svc_panels
from reviewer.app import rounds as svc_rounds
from reviewer.errors import UserError
from tests.test_app_pages import appdata, button, start, texts  # noqa: F401


def test_documents_page_needs_a_published_stage_then_makes_the_zip(appdata):
    at = start("views/documents.py")
    assert "尚无已发布的专家组" in texts(at)
    rid = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(rid, "初审评估", time_limit=20)
    svc_panels.publish(rid, "初审评估")
    at = start("views/documents.py")
    [c for c in at.checkbox if c.label == "PDF"][0].uncheck().run()
    button(at, "生成").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "份 .docx" in shown and "公示" in shown      # the 公示 needs a ranking: skipped, with the reason
    out = svc_docs.make_documents(rid, ["初审评估"], ["report", "signin"], pdf=False)
    names = zipfile.ZipFile(io.BytesIO(out["zip"])).namelist()
    assert names == [f"评审报告_{rid}_初审评估.docx", f"签到表_{rid}_初审评估.docx"]


def test_an_uploaded_template_is_checked_kept_and_restored(appdata):
    with pytest.raises(UserError, match="不是可用的 .docx 模板"):
        svc_docs.save_template("signin", b"not a docx")
    d = Document(io.BytesIO(svc_docs.template_bytes("signin")))
    d.paragraphs[0].runs[0].text = "{% if %}"
    buf = io.BytesIO()
    d.save(buf)
    with pytest.raises(UserError, match="模板"):
        svc_docs.save_template("signin", buf.getvalue())
    assert not any(t["edited"] for t in svc_docs.template_state())    # a broken upload is not kept
    d.paragraphs[0].runs[0].text = "专家签到（修改版）{{ stage }}"
    buf = io.BytesIO()
    d.save(buf)
    svc_docs.save_template("signin", buf.getvalue())
    assert [t["kind"] for t in svc_docs.template_state() if t["edited"]] == ["signin"]
    assert "修改版" in "".join(p.text for p in Document(io.BytesIO(svc_docs.template_bytes("signin"))).paragraphs)
    assert svc_docs.restore_template("signin") and not any(t["edited"] for t in svc_docs.template_state())
