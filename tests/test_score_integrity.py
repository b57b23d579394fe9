"""Scores only where they belong (issue 12, holes 2 and 3) and stores that predate the keyed chain.

- The store's one score writer refuses a score for a stage that is not published, a made-up stage,
  a seat the expert does not hold, another expert's row in an expert's own upload, an unknown
  criterion: the whole submission, naming each row; a correction goes through the same check.
- Score sheets of a stored round are signed: a sheet whose hidden `_meta!B1` was changed to another
  expert's id is refused by `reviewer scores import` (exit 1) and the refusal is an audit entry; the
  genuine sheet is stored and the import is an audit entry.
- A store whose audit entries predate the key (migration 0003) verifies as before; its first keyed
  act records a baseline of the facts, so a later change to an old score is caught too.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from reviewer.errors import UserError
from reviewer.scoring.scoresheets import SHEET
from reviewer.store import audit, keys, repo
from reviewer.store.publishing import publish_file
from tests.test_store_support import DEMO, demo_store, run_cli, store_url  # noqa: F401
from tests.test_tamper import STAGE, drop_guards, problems, published_round, score_rows


def _published(url: str):
    from reviewer.cli.publication import read_panels
    st = demo_store(url)
    with st.write() as s:
        publish_file(s, repo.get_round(s, "2026"), STAGE, read_panels(DEMO / "demo_panels.csv"), source="p.csv",
                     sha256=None, user="张三")
    return st


def test_scores_outside_a_held_seat_of_a_published_stage_are_refused_whole(store_url):
    st = _published(store_url)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        pol = repo.round_policy(r)
        seats = repo.published_seats(s, r, STAGE)
    seat = seats.iloc[[0]]
    good = score_rows(seat, pol)
    other = seats[seats["application_id"] != seat["application_id"].iloc[0]]["expert_id"]
    outsider = next(e for e in other if e not in set(seats[seats["application_id"] == seat["application_id"].iloc[0]]
                                                         ["expert_id"]))
    cases = {"not published": good.assign(stage="认定评审"), "unknown stage 'XYZ'": good.assign(stage="XYZ"),
             f"expert {outsider} holds no seat": good.assign(expert_id=outsider),
             "unknown criterion 'Z9'": good.assign(criterion="Z9"),
             "expected a number from 0 to": good.assign(score=99.0)}
    for why, rows in cases.items():
        with pytest.raises(UserError, match="scores refused, nothing was stored") as e, st.write() as s:
            repo.submit_scores(s, repo.get_round(s, "2026"), pd.concat([good, rows]), user="李四", source="x")
        assert why in str(e.value) and f"row {len(good) + 1}:" in str(e.value)
    with pytest.raises(UserError, match="for another expert"), st.write() as s:
        repo.submit_scores(s, repo.get_round(s, "2026"), good, user="李四", source="x", as_expert=outsider)
    with st.read() as s:
        assert repo.scores_frame(s, repo.get_round(s, "2026")).empty
    with st.write() as s:   # the expert's own scores of their own seat are stored
        assert repo.submit_scores(s, repo.get_round(s, "2026"), good, user="李四", source="x",
                                  as_expert=seat["expert_id"].iloc[0]) == len(good)
    crit = pol.instrument(STAGE).criteria[0].id      # 现场考察: the checklist's first item
    with pytest.raises(UserError, match="not published"), st.write() as s:
        repo.correct_score(s, repo.get_round(s, "2026"), "认定评审", seat["application_id"].iloc[0],
                           seat["expert_id"].iloc[0], crit, 1.0, reason="更正", user="张三")
    with st.write() as s:
        repo.correct_score(s, repo.get_round(s, "2026"), STAGE, seat["application_id"].iloc[0],
                           seat["expert_id"].iloc[0], crit, 1.0, reason="专家来函更正", user="张三")
    with st.read() as s:
        assert audit.entries_frame(s)["action"].tolist()[-2:] == ["scores", "score_correction"]
        assert audit.verify(s).ok


def _fill_all(path, values: float = 2.0) -> None:
    wb = load_workbook(path)
    ws = wb[SHEET]
    n_crit = sum(1 for c in ws[2] if c.value and "(≤" in str(c.value))
    r = 3
    while ws.cell(r, 1).value and str(ws.cell(r, 1).value).startswith("GX"):
        for k in range(n_crit):
            ws.cell(r, 4 + k, values)
        r += 1
    wb.save(path)


def test_a_sheet_with_another_experts_id_in_meta_is_refused_and_audited(store_url, tmp_path, capsys):
    st = _published(store_url)
    code, out = run_cli(["packs", "--round", "2026", "--stage", STAGE, "--out", str(tmp_path), "--db", store_url],
                        capsys)
    assert code == 0, out
    with st.read() as s:
        seats = repo.published_seats(s, repo.get_round(s, "2026"), STAGE)
    app = seats["application_id"].iloc[0]
    victim, forger = seats[seats["application_id"] == app]["expert_id"].iloc[:2]
    sheet = next(tmp_path.rglob(f"评分表_{forger}_*.xlsx"))
    _fill_all(sheet)
    forged = tmp_path / "forged.xlsx"
    wb = load_workbook(sheet)
    wb["_meta"]["B1"] = victim
    wb.save(forged)
    code, out = run_cli(["scores", "import", str(forged), "--round", "2026", "--db", store_url, "--user", "李四"], capsys)
    assert code == 1 and "signature does not match" in out and "refused" in out
    with st.read() as s:
        r = repo.get_round(s, "2026")
        assert repo.scores_frame(s, r).empty
        last = audit.entries_frame(s).iloc[-1]
    assert last["action"] == "score_sheet.refused" and victim in last["entity"] and "forged.xlsx" in last["entity"]
    code, out = run_cli(["scores", "import", str(sheet), "--round", "2026", "--db", store_url, "--user", "李四"], capsys)
    assert code == 0, out
    with st.read() as s:
        stored = repo.scores_frame(s, repo.get_round(s, "2026"))
        assert set(stored["expert_id"]) == {forger} and audit.entries_frame(s)["action"].iloc[-1] == "scores"
        assert audit.verify(s).ok
    secret = keys.round_sheet_key("2026").hex()
    assert secret not in out and keys.read_key().hex() not in out


def _make_legacy(st, url: str) -> None:
    """The store as it was before the chain was keyed: no scores entry, no fact records, no key
    signatures, no anchor (hashes recomputed as the old program wrote them)."""
    drop_guards(st)
    with st.read() as s:
        df = audit.entries_frame(s)
    prev = audit.GENESIS
    with st.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE action = 'scores'"))
        for e in df[df["action"] != "scores"].itertuples(index=False):
            after = json.loads(e.after)
            for k in ("import_id", "row_hashes", "assignments", "stage"):
                after.pop(k, None)
            after_text = audit.canonical(after)
            h = audit.entry_hash(id=e.id, at=e.time_utc, user_name=e.user, action=e.action, round_code=e.round,
                                 entity=e.entity, reason=e.reason, before=e.before, after=after_text, prev_hash=prev)
            c.execute(text("UPDATE audit_log SET after = :a, prev_hash = :p, hash = :h, mac = NULL, key_id = NULL "
                           "WHERE id = :i"), {"a": after_text, "p": prev, "h": h, "i": e.id})
            prev = h
    with st.read() as s:
        keys.anchor_path(audit.store_label(s)).unlink()


def test_a_store_from_before_the_key_verifies_and_its_first_keyed_act_records_a_baseline(store_url):
    st = published_round(store_url)
    _make_legacy(st, store_url)
    with st.read() as s:
        v = audit.verify(s)
    assert v.ok, v.problems
    assert any("predates" in n for n in v.notes) and any("no anchor file" in n for n in v.notes)
    with st.read() as s:
        r = repo.get_round(s, "2026")
        x = repo.scores_frame(s, r).iloc[0]
    with st.write() as s:
        repo.correct_score(s, repo.get_round(s, "2026"), x.stage, x.application_id, x.expert_id, x.criterion, 1.0,
                           reason="专家来函更正", user="张三")
    with st.read() as s:
        v = audit.verify(s)
        actions = audit.entries_frame(s)["action"].tolist()
    assert v.ok, v.problems
    assert actions[-2:] == ["audit.baseline", "score_correction"]
    with st.engine.begin() as c:   # now an old score (recorded only by the baseline) is voided with SQL
        old = c.execute(text("SELECT id FROM scores WHERE void = false ORDER BY id LIMIT 1")).scalar_one()
        c.execute(text("UPDATE scores SET void = true WHERE id = :i"), {"i": old})
    assert any(f"score #{old}" in p and "void in the table" in p for p in problems(st))
