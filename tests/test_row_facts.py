"""The later tables (registers, ledger, stage advancement, evaluations, the pool's records, site
visits, ranking publications) are covered by the audit chain row by row (`reviewer.store.row_facts`):
a row inserted, edited or deleted with SQL behind the program's back makes `reviewer audit verify`
fail naming the table and row; everything the program writes verifies. SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import select, text

from reviewer.store import Store, audit, evaluations, registers, repo
from reviewer.store import pool as pool_store
from reviewer.store.models import AuditEntry, CentreRegisterEntry
from tests.test_store_support import demo_store, store_url  # noqa: F401
from tests.test_tamper import drop_guards, problems


def _with_registers(url: str) -> Store:
    st = demo_store(url)
    with st.write() as s:
        pol = repo.round_policy(repo.get_round(s, "2026"))
        registers.add_centre_entry(s, pol, centre_id="GXMIC-2022-01", name="广西智能汽车零部件制造业创新中心",
                                   field="汽车", state="试点", since="2023-04-10", user="张三", reason="登记")
        registers.add_tech_centre(s, pol, name="广西某技术创新中心", field="机械", document_no="桂科发〔2024〕1号",
                                  date="2024-06-30", user="张三")
        evs = evaluations.record_evaluation(s, "GX2023-001", 2025, user="张三", total=81.5, band="良好", state="试点")
        assert evs.id
    return st


def test_what_the_program_writes_verifies(store_url):  # noqa: F811
    st = _with_registers(store_url)
    assert problems(st) == []
    with st.read() as s:
        recorded = [json.loads(e.after).get("row_facts") for e in s.execute(select(AuditEntry)).scalars()]
    tables = {t for rf in recorded if isinstance(rf, dict) for t in rf}
    assert {"centre_register", "tech_centre_register", "annual_evaluations"} <= tables


def test_a_register_row_edited_with_sql_is_named(store_url):  # noqa: F811
    st = _with_registers(store_url)
    drop_guards(st)
    with st.engine.begin() as c:
        c.execute(text("UPDATE centre_register SET state = '撤销' WHERE centre_id = 'GXMIC-2022-01'"))
    found = problems(st)
    assert any("中心名录行被修改" in p and "centre_register row #1" in p for p in found), found


def test_rows_inserted_or_deleted_with_sql_are_named(store_url):  # noqa: F811
    st = _with_registers(store_url)
    drop_guards(st)
    with st.engine.begin() as c:
        c.execute(text("INSERT INTO tech_centre_register (name, field, document_no, date, created_by, created_at) "
                       "VALUES ('伪造中心', '汽车', 'x', '2024-01-01', 'x', '2024-01-01 00:00:00')"))
        c.execute(text("DELETE FROM annual_evaluations"))
    found = problems(st)
    assert any("技术创新中心名录行未经记录" in p for p in found), found
    assert any("年度考核行缺失" in p for p in found), found


def test_a_bulk_statement_of_the_program_is_recorded_whole(store_url):  # noqa: F811
    """A write the program makes with an UPDATE statement (not row by row) and no act after it is
    still recorded (an entry of its own at commit), so it is not mistaken for tampering."""
    st = _with_registers(store_url)
    with st.write() as s:
        from sqlalchemy import update
        s.execute(update(CentreRegisterEntry).values(document_no="桂工信〔2023〕9号"))
    assert problems(st) == []
    with st.read() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert last.action == "audit.rows" and "centre_register" in json.loads(last.after)["row_facts"]


def test_a_pool_rating_changed_with_sql_is_named(store_url):  # noqa: F811
    st = demo_store(store_url)
    with st.write() as s:
        pool_store.import_from_round(s, repo.get_round(s, "2026"), user="张三")
        expert = pool_store.pool_experts(s)[0].expert_id
        pool_store.rate(s, expert_id=expert, round_code="2026", rating=2, note="迟到", user="张三")
    assert problems(st) == []
    drop_guards(st)
    with st.engine.begin() as c:
        c.execute(text("UPDATE pool_ratings SET rating = 5"))
        c.execute(text("UPDATE pool_experts SET active = false WHERE id = 1" if st.backend != "sqlite"
                       else "UPDATE pool_experts SET active = 0 WHERE id = 1"))
    found = problems(st)
    assert any("专家评价行被修改" in p for p in found), found
    assert any("专家库档案行被修改 pool_experts row #1" in p for p in found), found


def test_a_store_from_before_row_facts_gets_a_baseline(store_url):  # noqa: F811
    """Rows an older version wrote (no entry records row facts) are not reported as tampering: verify
    says they are not compared yet, and the first act that writes a covered table records a baseline
    of what the tables held; from then on a change with SQL is named."""
    st = demo_store(store_url)
    with st.engine.begin() as c:   # what an older version left: register rows, no row facts in the log
        c.execute(text("INSERT INTO centre_register (centre_id, name, field, state, since, document_no, created_by, "
                       "created_at) VALUES ('GXMIC-2022-09', '旧中心', '汽车', '试点', '2022-01-01', '', '旧版本', "
                       "'2024-01-01 00:00:00')"))
    with st.read() as s:
        v = audit.verify(s)
    assert v.ok and any("not compared until the next act" in n for n in v.notes), v.notes
    with st.write() as s:
        registers.add_tech_centre(s, repo.round_policy(repo.get_round(s, "2026")), name="某中心", field="机械",
                                  document_no="文号1", date="2024-06-30", user="张三")
    assert problems(st) == []
    with st.read() as s:
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert actions[-2:] == ["audit.rows_baseline", "register.tech_centre"]
    drop_guards(st)
    with st.engine.begin() as c:
        c.execute(text("UPDATE centre_register SET field = '机械' WHERE centre_id = 'GXMIC-2022-09'"))
    assert any("中心名录行被修改" in p for p in problems(st))


def test_stored_site_inputs_edited_with_sql_are_named(tmp_path, capsys):
    """现场考察 inputs (an expert's unavailable dates) edited with SQL: named by audit verify."""
    import pandas as pd

    from tests.test_store_support import run_cli
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    st = demo_store(url)
    with st.read() as s:
        expert = repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id).experts[0].expert_id
    f = tmp_path / "不可用.csv"
    pd.DataFrame([[expert, "2026-12-08", "", ""]], columns=["专家编号", "不可用日期", "截止日期", "原因"]).to_csv(f, index=False)
    code, out = run_cli(["site-inputs", "import", "--round", "2026", "--unavailable", str(f), "--db", url,
                         "--user", "张三"], capsys)
    assert code == 0, out
    assert problems(st) == []
    with st.engine.begin() as c:
        c.execute(text("UPDATE site_inputs SET content = '{}'"))   # the expert's dates gone
    assert any("现场考察输入行被修改" in p for p in problems(st))
