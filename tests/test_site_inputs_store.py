"""现场考察 inputs in the store (issue 15, site15c): `reviewer site-inputs import/show` validates the files like
file mode (a bad row refuses the file naming file, row, column, value, expected; nothing stored), keeps them
per round (audited; a re-import replaces with counts), `site-plan --round` plans with them and records
which rows it used, `reproduce` reads exactly those rows after a later re-import, and the stored host
address and contact reach the itinerary (and so notices and calendars)."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from reviewer.store import repo
from reviewer.store.models import AuditEntry, Run
from reviewer.store.models_site import SiteInput
from reviewer.store.reproduce import reproduce
from reviewer.store.site_visits import run_site_plan, stored_plan
from tests.test_store_support import demo_store, run_cli

START, END = "2026-12-07", "2026-12-18"


def _ids(st):
    with st.read() as s:
        data = repo.load_data(s, repo.latest_import(s, repo.get_round(s, "2026")).id)
    return [e.expert_id for e in data.experts], sorted(a.application_id for a in data.applications)


def _csv(path, rows, cols):
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)
    return path


def test_import_show_reimport_and_formulas_neutralised(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    st = demo_store(url)
    experts, apps = _ids(st)
    un = _csv(tmp_path / "不可用.csv", [[experts[0], "2026-12-08", "2026-12-09", "出差"], [experts[1], "2026-12-10", "", ""]],
              ["专家编号", "不可用日期", "截止日期", "原因"])
    sites = _csv(tmp_path / "考察点.csv", [[apps[0], "全天", "=HYPERLINK(\"http://x\")", "王五", "0771-1234567", ""]],
                 ["申报编号", "考察时长", "考察地址", "联系人", "联系电话", "锁定日期"])
    limits = _csv(tmp_path / "出行.csv", [[experts[2], 2]], ["专家编号", "最多连续考察天数"])
    code, out = run_cli(["site-inputs", "import", "--round", "2026", "--unavailable", str(un), "--sites", str(sites),
                         "--travel-limits", str(limits), "--db", url, "--user", "张三"], capsys)
    assert code == 0, out
    assert "专家不可用日期 不可用.csv: 2 条" in out and "考察点 考察点.csv: 1 条" in out and "first import" in out
    code, out = run_cli(["site-inputs", "show", "--round", "2026", "--db", url, "-o", str(tmp_path / "show")], capsys)
    assert code == 0 and "专家出行限制 (travel_limits): 出行.csv, 1 条" in out
    shown = pd.read_csv(tmp_path / "show" / "site_inputs_sites.csv", dtype=str, encoding="utf-8-sig")
    assert not shown["address"].iloc[0].startswith("=")          # formula-like text neutralised on output
    days = pd.read_csv(tmp_path / "show" / "site_inputs_unavailable.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(days["date"]) == ["2026-12-08", "2026-12-09", "2026-12-10"]
    # a re-import replaces the kind: counts printed and audited; the old row kept, stamped
    un2 = _csv(tmp_path / "不可用2.csv", [[experts[0], "2026-12-08", "", ""], [experts[3], "2026-12-11", "", ""]],
               ["专家编号", "不可用日期", "截止日期", "原因"])
    code, out = run_cli(["site-inputs", "import", "--round", "2026", "--unavailable", str(un2), "--db", url,
                         "--user", "李四", "--reason", "专家来函更新"], capsys)
    assert code == 0 and "新增 1、删除 1、变更 1、未变 0" in out, out
    with st.read() as s:
        rows = s.execute(select(SiteInput).where(SiteInput.kind == "unavailable").order_by(SiteInput.id)).scalars().all()
        assert [x.replaced_at is None for x in rows] == [False, True]
        assert rows[1].content == {experts[0]: ["2026-12-08"], experts[3]: ["2026-12-11"]}
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "site_inputs.import")
                            .order_by(AuditEntry.id)).scalars().all()
    assert len(entries) == 4 and entries[-1].user_name == "李四" and entries[-1].reason == "专家来函更新"
    assert '"removed":1' in entries[-1].after.replace(" ", "") and f'"id":{rows[0].id}' in entries[-1].before.replace(" ", "")
    code, out = run_cli(["audit", "verify", "--db", url], capsys)
    assert code == 0, out


def test_a_bad_file_is_refused_naming_file_row_column_value_and_nothing_is_stored(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    st = demo_store(url)
    experts, apps = _ids(st)
    good = _csv(tmp_path / "ok.csv", [[apps[0], "半天", "南宁市", "", "", ""]],
                ["申报编号", "考察时长", "考察地址", "联系人", "联系电话", "锁定日期"])
    bad = _csv(tmp_path / "不可用.csv", [[experts[0], "2026-12-08"], ["ZJ-NOBODY", "2026-12-09"], [experts[1], "12月32日"]],
               ["专家编号", "不可用日期"])
    code, out = run_cli(["site-inputs", "import", "--round", "2026", "--sites", str(good), "--unavailable", str(bad),
                         "--db", url, "--user", "张三"], capsys)
    assert code == 2 and "Traceback" not in out
    assert out.lstrip().startswith(str(bad)) or "不可用.csv" in out.splitlines()[0]
    assert "处错误，文件未读入" in out                                            # Chinese first
    assert "row 3" in out and "专家编号" in out and "ZJ-NOBODY" in out and "an expert id of the pool" in out
    assert "row 4" in out and "不可用日期" in out and "12月32日" in out
    with st.read() as s:   # all or nothing: the good sites file was not stored either
        assert s.execute(select(SiteInput)).first() is None
    bad_len = _csv(tmp_path / "s.csv", [[apps[0], "两天", "", "", "", ""]],
                   ["申报编号", "考察时长", "考察地址", "联系人", "联系电话", "锁定日期"])
    code, out = run_cli(["site-inputs", "import", "--round", "2026", "--sites", str(bad_len), "--db", url,
                         "--user", "张三"], capsys)
    assert code == 2 and "考察时长" in out and "两天" in out and "半天 or 全天" in out


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A first plan, then the first team's core made unavailable the whole window and a site's host details
    stored, then a second plan with them."""
    folder = tmp_path_factory.mktemp("site_inputs_store")
    st = demo_store(f"sqlite:///{folder / 'r.sqlite'}")
    first, sp1 = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0)
    assert sp1.feasible
    core = sorted(sp1.inp.experts[e].expert_id for e in sp1.teams.core[0])
    site = sp1.sites[sp1.routes.routes[0][0][0]]
    un = _csv(folder / "un.csv", [[e, START, END, ""] for e in core], ["专家编号", "不可用日期", "截止日期", "原因"])
    sites = _csv(folder / "sites.csv", [[site, "", "南宁市青秀区民族大道 1 号", "王五", "0771-1234567", ""]],
                 ["申报编号", "考察时长", "考察地址", "联系人", "联系电话", "锁定日期"])
    from reviewer.store import site_inputs
    with st.write() as s:
        site_inputs.import_files(s, repo.get_round(s, "2026"), {"unavailable": un, "sites": sites}, user="张三")
    second, sp2 = run_site_plan(st, "2026", user="张三", start=START, end=END, work_limit=2.0)
    return st, folder, core, site, second, sp2


def test_site_plan_round_plans_with_the_stored_inputs(planned):
    st, _, core, site, run, sp = planned
    assert sp.feasible and not sp.violations and not sp.day_violations
    assert not set(core) & set(sp.panels["expert_id"])         # unavailable every day: never on the plan
    with st.read() as s:
        run = s.get(Run, run.id)
        refs = run.parameters["site_inputs"]
        assert set(refs) == {"unavailable", "sites"} and all(len(x["sha256"]) == 64 for x in refs.values())
        assert any(str(x.get("table", "")).startswith("site_inputs:") for x in run.inputs)
        view = stored_plan(s, repo.get_round(s, "2026"), run.id)
    from reviewer.panels.site.outputs import itinerary
    row = itinerary(view).set_index("application_id").loc[site]
    assert (row["address"], row["contact"], row["phone"]) == ("南宁市青秀区民族大道 1 号", "王五", "0771-1234567")


def test_reproduce_uses_the_inputs_the_run_used_after_a_reimport(planned):
    st, folder, core, site, run, _ = planned
    un = _csv(folder / "un2.csv", [[core[0], START, "", ""]], ["专家编号", "不可用日期", "截止日期", "原因"])
    sites = _csv(folder / "sites2.csv", [[site, "", "", "赵六", "0771-7654321", ""]],
                 ["申报编号", "考察时长", "考察地址", "联系人", "联系电话", "锁定日期"])
    from reviewer.store import site_inputs
    with st.write() as s:
        site_inputs.import_files(s, repo.get_round(s, "2026"), {"unavailable": un, "sites": sites}, user="张三")
    rep = reproduce(st, run.id)
    assert rep.identical, rep.lines()
    from reviewer.store.publishing import stale_reasons
    with st.read() as s:   # the plan was made with other inputs: publishing it needs a second reason
        stale = stale_reasons(s, repo.get_round(s, "2026"), s.get(Run, run.id))
    assert sorted(x for x in stale if "现场考察输入" in x) == ["现场考察输入已更新 the site inputs changed since the plan: 专家不可用日期",
                                                           "现场考察输入已更新 the site inputs changed since the plan: 考察点"]
    with st.read() as s:   # the later contact reaches the plan's outputs (notices, .ics): stored now
        view = stored_plan(s, repo.get_round(s, "2026"), run.id)
    assert view.details[site].contact == "赵六" and view.details[site].address == "南宁市青秀区民族大道 1 号"
    with st.engine.begin() as c:   # a stored input changed behind the program's back: reproduce refuses, naming it
        ref = run.parameters["site_inputs"]["unavailable"]["id"]
        c.exec_driver_sql("UPDATE site_inputs SET content = '{}' WHERE id = ?", (ref,))
    with pytest.raises(Exception, match="专家不可用日期"):
        reproduce(st, run.id)



def test_reader_boundaries_range_length_order_and_travel_limit(tmp_path):
    """What the import accepts at its edges: a range of exactly a year (366 days from the first) passes, one
    day more is refused; an end before the start is refused, the same day is one day; limits 1 and 31 pass,
    0 and 32 do not."""
    import datetime as dt

    from reviewer.errors import UserError
    from reviewer.panels.site.inputs import read_travel_limits, read_unavailable
    first = dt.date(2026, 1, 1)
    year = _csv(tmp_path / "y.csv", [["E1", first.isoformat(), (first + dt.timedelta(days=365)).isoformat()],
                                     ["E2", "2026-12-08", "2026-12-08"]], ["专家编号", "不可用日期", "截止日期"])
    got = read_unavailable(year, {"E1", "E2"})
    assert len(got["E1"]) == 366 and got["E2"] == {dt.date(2026, 12, 8)}
    over = _csv(tmp_path / "o.csv", [["E1", first.isoformat(), (first + dt.timedelta(days=366)).isoformat()]],
                ["专家编号", "不可用日期", "截止日期"])
    with pytest.raises(UserError, match="row 2, column 截止日期"):
        read_unavailable(over, {"E1"})
    back = _csv(tmp_path / "b.csv", [["E1", "2026-12-08", "2026-12-07"]], ["专家编号", "不可用日期", "截止日期"])
    with pytest.raises(UserError, match="row 2, column 截止日期: value .*2026-12-07"):
        read_unavailable(back, {"E1"})
    ok = _csv(tmp_path / "l.csv", [["E1", 1], ["E2", 31]], ["专家编号", "最多连续考察天数"])
    assert read_travel_limits(ok, {"E1", "E2"}) == {"E1": 1, "E2": 31}
    for n in (0, 32):
        bad = _csv(tmp_path / f"l{n}.csv", [["E1", n]], ["专家编号", "最多连续考察天数"])
        with pytest.raises(UserError, match="最多连续考察天数"):
            read_travel_limits(bad, {"E1"})
