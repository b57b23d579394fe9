"""A replaced expert's written opinions for that seat stop counting (issue 16 item 5 with item 3): the
评审意见 is kept, marked void with the reason, in the replacement's audit entry, and `audit verify`
replays it; a replaced chair's 专家组综合意见 likewise. Scores were already voided the same way."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import select, text

from reviewer.store import audit, opinions, replacement, repo
from reviewer.store.models import AuditEntry, Opinion, PanelOpinion
from tests.test_store_support import DEMO, demo_store

STAGE = "认定评审"


@pytest.fixture
def db(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'reviewer.sqlite'}")
    panels = pd.read_csv(DEMO / "demo_panels.csv", dtype=str).rename(
        columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id", "角色": "role"})
    seats = panels[panels["stage"] == STAGE].replace({"role": {"组长": "chair", "成员": "member"}})
    with st.write() as s:
        repo.publish(s, repo.get_round(s, "2026"), STAGE, seats, user="张三", source="demo_panels.csv")
    yield st, seats
    st.dispose()


def submit(st, app_id, expert, words):
    with st.write() as s:
        r = repo.get_round(s, "2026")
        crit = repo.round_policy(r).instrument(STAGE).criteria
        scores = pd.DataFrame([{"stage": STAGE, "application_id": app_id, "expert_id": expert, "criterion": c.id,
                                "score": c.max * 0.8} for c in crit])
        said = pd.DataFrame([{"stage": STAGE, "application_id": app_id, "expert_id": expert, "text": words,
                              "total": None, "file": "", "row": None}])
        opinions.submit_scores_with_opinions(s, r, scores, said, user=expert, source="test")


def replace(st, app_id, old):
    with st.write() as s:
        r = repo.get_round(s, "2026")
        new, _ = replacement.pick_replacement(s, r, STAGE, app_id, old)
        replacement.replace_expert(s, r, STAGE, app_id, old, new, reason="因病无法继续评审", user="张三")
    return new


def test_a_replaced_experts_opinion_is_kept_void_with_the_reason_and_audited(db):
    st, seats = db
    app_id = sorted(seats["application_id"])[0]
    panel = seats[seats["application_id"] == app_id]
    member = sorted(panel.loc[panel["role"] == "member", "expert_id"])[0]
    other = sorted(panel.loc[panel["role"] == "member", "expert_id"])[1]
    submit(st, app_id, member, "技术路线清晰，但产业化路径有待论证。")
    submit(st, app_id, other, "同意推荐。")
    new = replace(st, app_id, member)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        now = opinions.opinions_frame(s, r, STAGE)
        kept = opinions.opinions_frame(s, r, STAGE, include_void=True)
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "replacement")
                          .order_by(AuditEntry.id.desc())).scalars().first()
        v = audit.verify(s)
    assert member not in set(now["expert_id"]) and other in set(now["expert_id"])
    gone = kept[kept["expert_id"] == member].iloc[0]
    assert gone["void"] and gone["opinion"] == "技术路线清晰，但产业化路径有待论证。"
    assert member in gone["void_reason"] and "已被替换" in gone["void_reason"] and "因病无法继续评审" in gone["void_reason"]
    assert not kept[kept["expert_id"] == other]["void"].any()
    assert '"voided_opinion_ids":[' in entry.after and new in entry.entity
    assert v.ok, [str(p) for p in v.problems]
    # the void state is a fact of the chain: restored with SQL, `audit verify` names it
    with st.write() as s:
        s.execute(text("UPDATE opinions SET void = 0 WHERE expert_id = :e"), {"e": member})
    with st.read() as s:
        v = audit.verify(s)
    assert not v.ok and any("opinions" in p.what and "作废" in p.what for p in v.problems), [str(p) for p in v.problems]


def test_a_replaced_chairs_consensus_opinion_is_void_too(db):
    st, seats = db
    app_id = sorted(seats["application_id"])[1]
    panel = seats[seats["application_id"] == app_id]
    chair = panel.loc[panel["role"] == "chair", "expert_id"].iloc[0]
    dissenter = sorted(panel.loc[panel["role"] == "member", "expert_id"])[0]
    with st.write() as s:
        opinions.record_panel_opinion(s, repo.get_round(s, "2026"), STAGE, app_id, text="同意推荐。",
                                      dissent={dissenter: "保留意见。"}, user="张三")
    replace(st, app_id, chair)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert opinions.panel_opinions_frame(s, r, STAGE).query("application_id == @app_id").empty
        row = s.query(PanelOpinion).filter_by(application_id=app_id).one()
        assert row.void and chair in row.void_reason and "已被替换" in row.void_reason
        assert s.query(Opinion).count() == 0
        v = audit.verify(s)
    assert v.ok, [str(p) for p in v.problems]


def test_a_replaced_members_dissent_is_void_in_the_store_the_app_and_the_opinion_form(db, tmp_path, monkeypatch):
    """专家组综合意见 with a dissent by X, X replaced: the dissent entry is kept, marked void with the
    reason (in the replacement's audit entry, replayed by `audit verify`); the consensus opinion still
    counts. The app shows the dissent as voided (its own column); the 专家组意见表 leaves it out."""
    st, seats = db
    app_id = sorted(seats["application_id"])[2]
    panel = seats[seats["application_id"] == app_id]
    x, y = sorted(panel.loc[panel["role"] == "member", "expert_id"])[:2]
    with st.write() as s:
        opinions.record_panel_opinion(s, repo.get_round(s, "2026"), STAGE, app_id, text="同意推荐认定。",
                                      dissent={x: "产业化前景存疑。", y: "建议补充中试数据。"}, user="张三")
    new = replace(st, app_id, x)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        row = s.query(PanelOpinion).filter_by(application_id=app_id).one()
        frame = opinions.panel_opinions_frame(s, r, STAGE).query("application_id == @app_id")
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "replacement")
                          .order_by(AuditEntry.id.desc())).scalars().first()
        v = audit.verify(s)
    assert not row.void                                         # the consensus opinion still counts
    mine = {d["expert_id"]: d for d in row.dissent}
    assert mine[x]["void"] is True and x in mine[x]["void_reason"] and "因病无法继续评审" in mine[x]["void_reason"]
    assert mine[x]["text"] == "产业化前景存疑。" and not mine[y].get("void")
    assert len(frame) == 1
    assert frame.iloc[0]["dissent"] == f"{y}：建议补充中试数据。"
    assert "产业化前景存疑。" in frame.iloc[0]["dissent_void"] and "已被替换" in frame.iloc[0]["dissent_void"]
    assert f'"voided_dissent":[[{row.id},"{x}"' in entry.after and new in entry.entity
    assert v.ok, [str(p) for p in v.problems]
    # the app's table shows the voided dissent, labelled
    from reviewer.app import store as app_store
    monkeypatch.setenv("REVIEWER_DB_URL", str(st.engine.url))
    app_store._STORES.clear()
    try:
        panels = app_store.opinion_tables("2026", STAGE)["panels"].query("application_id == @app_id")
    finally:
        app_store._STORES.clear()
    assert "建议补充中试数据。" in panels.iloc[0]["dissent"] and "产业化前景存疑。" not in panels.iloc[0]["dissent"]
    assert "已作废" in panels.iloc[0]["dissent_void"] and "产业化前景存疑。" in panels.iloc[0]["dissent_void"]
    # the 专家组意见表 prints the consensus and the counting dissent only
    from reviewer.documents.official import generate
    from tests.test_documents import one, text_of
    res = generate(st, "2026", tmp_path / "out", stages=[STAGE], kinds=["opinion"], pdf=False)
    body = text_of(one(res, f"专家组意见表_{app_id}."))
    assert "同意推荐认定。" in body and "建议补充中试数据。" in body and "产业化前景存疑。" not in body
    # the void mark is a fact of the chain: removed with SQL, `audit verify` names it
    with st.write() as s:
        s.execute(text("UPDATE panel_opinions SET dissent = :d WHERE id = :i"),
                  {"d": json.dumps([{"expert_id": x, "text": "产业化前景存疑。"},
                                    {"expert_id": y, "text": "建议补充中试数据。"}], ensure_ascii=False), "i": row.id})
    with st.read() as s:
        v = audit.verify(s)
    assert not v.ok and any("panel_opinions" in p.what for p in v.problems), [str(p) for p in v.problems]
