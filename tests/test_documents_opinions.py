"""The 专家组意见表 prints the opinions the store holds (issue 16 item 5 → issue 17 part 4): an expert's
评审意见 and the chair's 专家组综合意见 with the recorded dissent, not the labelled blank."""
from __future__ import annotations


import pandas as pd

from reviewer.documents.official import generate
from reviewer.store import opinions, repo
from tests.test_documents import demo_scores, one, scored_round, text_of
from tests.test_store_support import demo_store


def test_opinion_form_prints_stored_opinions(tmp_path):
    st = demo_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    scored_round(st, draw_first=False)
    stage = "认定评审"
    with st.write() as s:
        r = repo.get_round(s, "2026")
        seats = repo.published_seats(s, r, stage)
        app = sorted(seats["application_id"])[0]
        panel = seats[seats["application_id"] == app]
        member = panel[panel["role"] != "chair"]["expert_id"].iloc[0]
        sc = demo_scores()
        mine = sc[(sc["stage"] == stage) & (sc["application_id"] == app) & (sc["expert_id"] == member)]
        said = [{"stage": stage, "application_id": app, "expert_id": member, "text": "技术路线清晰，产业化路径需细化",
                 "total": float(mine["score"].sum()), "file": "t.xlsx", "row": 2}]

        opinions.submit_scores_with_opinions(s, r, mine, pd.DataFrame(said), user="秘书", source="t.xlsx")
        opinions.record_panel_opinion(s, r, stage, app, text="同意推荐认定", dissent={member: "建议补充中试数据"},
                                      user="组长")
    res = generate(st, "2026", tmp_path / "out", stages=[stage], kinds=["opinion"], pdf=False)
    body = text_of(one(res, f"专家组意见表_{app}."))
    assert "技术路线清晰，产业化路径需细化" in body
    assert "同意推荐认定" in body and "建议补充中试数据" in body
