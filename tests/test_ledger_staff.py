"""The subsidy ledger kept by staff (stages17c item 2): record a grant (centre, kind, amount, date, 文号, reason)
or reverse one with a reason, in the store (reviewer.store.registers) by the Ledger's rules — the caps (200万
new, 1000万 national), never twice per centre and kind, the annual budget — refused with a Chinese-first
message naming the rule and the numbers, audited; the CLI (`reviewer register grant|reverse`) and the
登记册 page call the same functions."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reviewer.centres.ledger import SubsidyRefused
from reviewer.demo.reference import demo_policy
from reviewer.errors import UserError
from reviewer.policy import load_policy
from reviewer.store import registers
from reviewer.store.models import AuditEntry, SubsidyEntry


def policy(**funding):
    p = demo_policy(load_policy())
    return p.model_copy(update={"funding": p.funding.model_copy(update=funding)}) if funding else p


@pytest.fixture
def store(tmp_path, monkeypatch):
    from reviewer.store import Store
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    st = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with st.write() as s:
        for cid, field in (("C1", "汽车"), ("C2", "机械")):
            registers.add_centre_entry(s, policy(), centre_id=cid, name=f"中心{cid}", field=field, state="认定",
                                       since="2025-12-31", document_no="桂工信〔2025〕1号", user="张三", reason="认定批复")
    yield st
    st.dispose()


def grant(st, pol=None, **kw):
    args = dict(centre_id="C1", kind="new_centre", amount=2_000_000, date="2026-03-01", document_no="桂财〔2026〕1号",
                reason="认定补助", user="张三")
    args.update(kw)
    with st.write() as s:
        return registers.record_grant(s, pol or policy(), **args)


def ledger(st, pol=None):
    with st.read() as s:
        return registers.load_ledger(s, pol or policy(), policy().as_of_date())


def test_caps_and_never_twice_refused_with_the_rule_and_the_numbers(store):
    with pytest.raises(SubsidyRefused) as e:
        grant(store, amount=2_500_000)
    assert "【单项上限】" in str(e.value) and "250万元" in str(e.value) and "200万元" in str(e.value)
    with pytest.raises(SubsidyRefused, match="【单项上限】.*1000万元"):
        grant(store, kind="national", amount=12_000_000)
    assert ledger(store).entries == []                                  # a refusal records nothing
    e = grant(store)
    assert (e.status, e.amount, e.document_no) == ("granted", 2_000_000, "桂财〔2026〕1号")
    with pytest.raises(SubsidyRefused) as e2:
        grant(store, amount=1_000_000, date="2027-01-05")
    assert "【不重复补助】" in str(e2.value) and "2026-03-01" in str(e2.value) and "200万元" in str(e2.value)
    assert grant(store, kind="national", amount=10_000_000).amount == 10_000_000   # the other kind: its own cap
    assert ledger(store).total() == 12_000_000


def test_the_annual_budget_is_applied_per_year(store):
    pol = policy(annual_budget=3_000_000)
    grant(store, pol)
    with pytest.raises(SubsidyRefused) as e:
        grant(store, pol, centre_id="C2", amount=2_000_000)
    assert "【年度预算】" in str(e.value) and "300万元" in str(e.value) and "仅余 100万元" in str(e.value)
    assert grant(store, pol, centre_id="C2", amount=1_000_000).amount == 1_000_000
    assert grant(store, pol, centre_id="C2", kind="national", amount=3_000_000, date="2027-02-01").amount == 3_000_000


def test_a_reversal_is_an_entry_of_its_own_and_frees_the_grant(store):
    grant(store)
    first = ledger(store).entries[0]
    with pytest.raises(UserError, match="冲销需要说明理由"):
        with store.write() as s:
            registers.reverse_grant(s, policy(), entry_id=first.entry_id, date="2026-04-01", reason=" ", user="张三")
    with store.write() as s:
        back = registers.reverse_grant(s, policy(), entry_id=first.entry_id, date="2026-04-01", reason="重复拨付，收回",
                                       document_no="桂财〔2026〕9号", user="张三")
    assert (back.status, back.amount, back.reverses) == ("reversed", -2_000_000, first.entry_id)
    lg = ledger(store)
    assert lg.total() == 0 and lg.granted("C1", "new_centre") is None and len(lg.entries) == 2
    with pytest.raises(UserError, match="已于 2026-04-01 冲销"):
        with store.write() as s:
            registers.reverse_grant(s, policy(), entry_id=first.entry_id, date="2026-05-01", reason="再冲", user="张三")
    again = grant(store, amount=1_500_000, date="2026-06-01", document_no="桂财〔2026〕12号")   # paid again, once
    assert again.amount == 1_500_000 and ledger(store).total() == 1_500_000
    with pytest.raises(SubsidyRefused, match="不重复补助"):
        grant(store, date="2026-07-01")
    with store.read() as s:
        rows = s.execute(select(SubsidyEntry).order_by(SubsidyEntry.id)).scalars().all()
        assert [x.status for x in rows] == ["granted", "reversed", "granted"]       # the first row never edited
        assert rows[0].granted_key == "C1|new_centre" and rows[2].granted_key == "C1|new_centre|1"
        logged = s.execute(select(AuditEntry).where(AuditEntry.action == "subsidy")).scalars().all()
        assert [x.reason for x in logged] == ["认定补助", "重复拨付，收回", "认定补助"]
    with pytest.raises(IntegrityError):                                 # the database: a grant is reversed once
        with store.write() as s:
            s.add(SubsidyEntry(centre_id="C1", field="汽车", kind="new_centre", amount=-2_000_000, cap=2_000_000,
                               date="2026-08-01", status="reversed", reason="sql", source="sql",
                               reverses_id=rows[0].id, created_by="x"))


def test_bad_entries_are_refused_clearly(store):
    with pytest.raises(UserError, match="不在中心名录或补助台账中"):
        grant(store, centre_id="C9")
    with pytest.raises(UserError, match="补助类别"):
        grant(store, kind="bonus")
    with pytest.raises(UserError, match="文号"):
        grant(store, document_no=" ")
    with pytest.raises(UserError, match="2026-13-01"):
        grant(store, date="2026-13-01")
    with pytest.raises(UserError, match="没有第 99 条|no entry #99"):
        with store.write() as s:
            registers.reverse_grant(s, policy(), entry_id=99, date="2026-04-01", reason="x", user="张三")


def test_grant_and_reverse_commands(tmp_path, capsys, monkeypatch):
    from tests.test_store_support import run_cli
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    base = ["--db", db, "--user", "张三"]
    code, out = run_cli(["register", "centre", "C1", "--name", "中心C1", "--field", "汽车", "--state", "认定",
                         "--since", "2025-12-31", "--reason", "认定批复", *base], capsys)
    assert code == 0, out
    grant_args = ["register", "grant", "C1", "--kind", "new_centre", "--amount", "2000000", "--date", "2026-03-01",
                  "--doc", "桂财〔2026〕1号", "--reason", "认定补助", *base]
    code, out = run_cli(grant_args, capsys)
    assert code == 0 and "200万元" in out, out
    code, out = run_cli(grant_args, capsys)
    assert code == 2 and "【不重复补助】" in out
    code, out = run_cli(["register", "reverse", "1", "--date", "2026-04-01", "--reason", "收回", *base], capsys)
    assert code == 0 and "已冲销" in out, out
    code, out = run_cli(["register", "show", "--as-of", "2026-11-01", "--db", db], capsys)
    assert "0万元 granted, 2 entries" in out and "reversed (reverses #1)" in out and "桂财〔2026〕1号" in out
    code, out = run_cli(["audit", "verify", "--db", db], capsys)
    assert code == 0, out


# ---------------------------------------------------------------- the 登记册 page's ledger form (AppTest)

@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    from reviewer.app import auth
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path / "apphome"))
    (tmp_path / "apphome").mkdir()
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return tmp_path


def _page():
    from streamlit.testing.v1 import AppTest

    from reviewer.app.ui import MAIN
    at = AppTest.from_file(str(MAIN), default_timeout=180)
    at.run()
    at.switch_page("views/registers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _said(at) -> str:
    return "\n".join(str(e.value) for kind in ("error", "success", "markdown", "info") for e in getattr(at, kind))


def _submit(at, label: str):
    [b for b in at.button if b.label == label][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_ledger_form_records_refuses_and_reverses(appdata):
    from reviewer.app import registers as svc_reg
    from reviewer.app.rounds import DEMO_ROUND_ID as RID
    at = _page()
    _, before = svc_reg.ledger(RID)
    at.selectbox(key="ledger_centre").set_value("GXMIC-2022-01")
    at.text_input(key="ledger_doc").set_value("桂财企〔2026〕8号")
    at.text_input(key="ledger_reason").set_value("认定补助")
    _submit(at, "登记发放")                                            # 200万 new-centre again: paid in 2025
    assert "【不重复补助】" in _said(at) and "2025-12-31" in _said(at) and svc_reg.ledger(RID)[1] == before
    at.selectbox(key="ledger_kind").set_value("national")
    at.number_input(key="ledger_amount").set_value(1200.0)
    _submit(at, "登记发放")
    assert "【单项上限】" in _said(at) and "1000万元" in _said(at) and svc_reg.ledger(RID)[1] == before
    at.number_input(key="ledger_amount").set_value(1000.0)
    _submit(at, "登记发放")
    assert "已登记：GXMIC-2022-01 国家制造业创新中心一次性补助 1000 万元" in _said(at)
    ledger, total = svc_reg.ledger(RID)
    assert total == before + 1000 and "桂财企〔2026〕8号" in set(ledger["文号"])
    entry = int(ledger.loc[ledger["文号"] == "桂财企〔2026〕8号", "序号"].iloc[0])
    at = _page()
    at.selectbox(key="ledger_entry").set_value(entry)
    _submit(at, "冲销")
    assert "冲销需要说明理由" in _said(at) and svc_reg.ledger(RID)[1] == before + 1000
    at.text_input(key="ledger_back_reason").set_value("国家级批复撤回，收回补助")
    _submit(at, "冲销")
    ledger, total = svc_reg.ledger(RID)
    assert total == before and ledger["结果"].str.startswith("冲销").sum() == 1
    from reviewer.app import store as app_store
    with app_store.store().read() as s:                                 # both acts audited, with their reasons
        why = [x.reason for x in s.execute(select(AuditEntry).where(AuditEntry.action == "subsidy")).scalars()]
    assert why[-2:] == ["认定补助", "国家级批复撤回，收回补助"]


def test_the_ledger_form_is_read_only_for_analysts(appdata, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from reviewer.app import auth
    from reviewer.app.ui import MAIN
    monkeypatch.delenv(auth.DEMO_ENV)
    auth.add_user("li", "secret-pass-1", role="analyst")
    at = AppTest.from_file(str(MAIN), default_timeout=180)
    at.run()
    at.text_input[0].input("li")
    at.text_input[1].input("secret-pass-1")
    [b for b in at.button if b.label == "登录"][0].click().run()
    at.switch_page("views/registers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b for b in at.button if b.label == "登记发放"][0].disabled
    assert [b for b in at.button if b.label == "冲销"][0].disabled
    assert "只读" in _said(at)


def test_hostile_amounts_and_text_are_refused_or_cleaned(store):
    """A NaN, infinite, negative or 400-digit amount is refused in words (never a database error); control
    characters in the 文号 and reason are dropped before they are stored."""
    for bad in (float("nan"), float("inf"), -5.0, 0.0, float("9" * 400)):
        with pytest.raises(UserError, match="金额"):
            grant(store, amount=bad)
    assert ledger(store).entries == []
    e = grant(store, document_no="桂财\x07〔2026〕\u202e1号", reason="认定\x00补助")
    with store.read() as s:
        row = s.execute(select(SubsidyEntry).order_by(SubsidyEntry.id.desc()).limit(1)).scalar_one()
    assert e.document_no == "桂财〔2026〕1号" and row.document_no == "桂财〔2026〕1号" and row.reason == "认定补助"
