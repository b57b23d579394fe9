"""The app's pages of issue 17 (stages17b) through streamlit.testing and their services: 阶段晋级 (propose and
record advancement with reasons; the planted veto of the demo round is out at 现场考察), 答辩安排 (the order
drawn with a logged seed, time slots, notices) and 登记册 (centre and technology-centre registers, the ledger)."""
from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from reviewer.app import auth
from reviewer.app import registers as svc_reg
from reviewer.app import round_settings as svc_settings
from reviewer.app import stages as svc
from reviewer.app.rounds import DEMO_ROUND_ID as RID
from reviewer.app.ui import MAIN
from reviewer.errors import UserError
from reviewer.stage_gates import draw_order

TIMEOUT = 180


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return tmp_path


def start(page: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("title", "markdown", "caption", "error", "warning", "info", "success",
                                               "subheader") for e in getattr(at, kind))


def button(at: AppTest, label: str):
    hits = [b for b in at.button if label in str(b.label)]
    assert hits, [b.label for b in at.button]
    return hits[0]


def proposal(at: AppTest) -> pd.DataFrame:
    """The proposal as shown: a static table (st.table) with Chinese headers, so long reasons wrap."""
    return [t.value for t in at.table if "晋级" in t.value.columns][0]


def test_advancement_page_proposes_and_records_with_reasons(appdata):
    at = start("views/stages.py")
    t = texts(at)
    assert "阶段晋级 Advancement" in t and "初审评估 → 现场考察" in t
    prop = proposal(at)
    assert len(prop) == 29 and (prop["晋级"] == "是").all()   # booleans shown as 是/否                 # the demo's 初审: everything passes the line
    # recording needs a reason: refused with a clear message, nothing recorded
    button(at, "确认晋级名单").click().run()
    assert "确认晋级需要说明理由" in texts(at) and svc.decisions(RID).empty
    at.text_input(key="adv_reason").set_value("初审会议确认")
    button(at, "确认晋级名单").click().run()
    assert not at.exception
    assert "已记录：29/29 项晋级至现场考察" in texts(at)
    run = svc.decisions(RID)["run_id"]                               # the aggregation run it was decided from
    assert run.notna().all() and run.nunique() == 1 and f"初审评估 #{int(run.iloc[0])}" in texts(at)
    # 现场考察 (the checklist): the planted veto is out, with its reason
    at.selectbox(key="adv_stage").set_value("现场考察").run()
    prop = proposal(at)
    vetoed = prop[prop["建议"] == "一票否决"]
    assert len(vetoed) == 1 and "不属实" in vetoed["理由"].iloc[0] and "现场考察核查表" in texts(at)
    keep_out = prop.loc[prop["晋级"] == "是", "申报编号"].iloc[-1]
    at.multiselect(key="adv_drop").set_value([keep_out])
    at.text_input(key="adv_reason").set_value("现场考察会议确认")
    button(at, "确认晋级名单").click().run()
    assert "调整建议须说明理由" in texts(at)                        # an overrule needs its own reason
    at.text_input(key="adv_change_reason").set_value("现场核实研发场地尚未投入使用")
    button(at, "确认晋级名单").click().run()
    assert "已记录：27/29 项晋级至认定评审" in texts(at)
    dec = svc.decisions(RID)
    site = dec[dec["stage"] == "现场考察"].set_index("application_id")
    assert not site.loc[keep_out, "advanced"] and "工作人员调整" in site.loc[keep_out, "reason"]
    assert "一票否决" in site.loc[vetoed["申报编号"].iloc[0], "reason"]
    recorded = [t.value for t in at.table if "汇总运行" in t.value.columns][0]     # the recorded list, reasons whole
    assert len(recorded) == 58 and set(recorded["结果"]) == {"晋级", "未晋级"}


def test_defence_page_draws_a_logged_order_with_slots_and_notices(appdata):
    at = start("views/defence.py")
    assert "答辩安排 Defence schedule" in texts(at)
    svc.record(RID, "初审评估", "张三", "初审会议确认")
    svc.record(RID, "现场考察", "张三", "现场考察会议确认")
    went = svc.defence_state(RID)["applications"]
    assert len(went) == 28                                          # only what passed the visit defends
    at = start("views/defence.py")
    assert "会议开始时间未设置" in texts(at)
    at.number_input(key="defence_seed").set_value(11)
    button(at, "抽取并记录").click().run()
    assert "抽取答辩顺序需要说明理由" in texts(at) and not svc.defence_state(RID)["order"]
    at.text_input(key="defence_reason").set_value("答辩顺序抽签")
    button(at, "抽取并记录").click().run()
    d = svc.defence_state(RID)
    assert d["seed"] == 11 and d["order"] == draw_order(went, 11)  # reproducible from the logged seed
    assert "答辩顺序已抽取并记录（种子 11）" in texts(at)
    with pytest.raises(UserError):
        svc.schedule(RID)                                           # no start time: a clear error, not a guess
    settings, version, _ = svc_settings.current(RID)
    svc_settings.save(RID, stage="认定评审", meeting={"date": "2026-12-22", "time": "09:00", "place": "南宁市民族大道 1 号"},
                      site_start=None, site_end=None, user="张三", version=version)
    at = start("views/defence.py")
    sched = at.dataframe[0].value
    assert list(sched["application_id"]) == d["order"] and sched["start"].iloc[0] == "09:00"
    z = zipfile.ZipFile(io.BytesIO(svc.documents_zip(RID)))
    names = z.namelist()
    assert f"答辩日程_{RID}.xlsx" in names and sum(n.startswith("答辩通知_") for n in names) == 28
    assert any(n.startswith("签到表_") for n in names)


def test_registers_page_shows_the_registers_and_the_ledger(appdata):
    at = start("views/registers.py")
    # the demo round comes with its own registers (its past centres, as `reviewer demo` ranks against)
    assert "登记册 Registers" in texts(at) and "中心名录为空。演示" not in texts(at)
    button(at, "导入演示往年中心的生命周期").click().run()
    assert not at.exception and "已记录 0 条名录事件、0 条补助台账记录" in texts(at)   # nothing twice
    taken = set(svc_reg.fields_taken(RID)["领域"])
    assert {"汽车", "机械", "高端有色金属新材料"} <= taken
    ledger, total = svc_reg.ledger(RID)
    assert total > 0 and not ledger[ledger["结果"] == "已发放"].duplicated(["中心编号", "补助类别"]).any()
    assert set(ledger["补助类别"]) <= {"新认定自治区制造业创新中心一次性补助", "国家制造业创新中心一次性补助"}
    at = start("views/registers.py")
    assert "基准日已占用的领域" in texts(at)
    shown = at.dataframe[0].value
    assert set(shown["领域"]) == taken
    reg = svc_reg.centre_register(RID)
    in_force = reg[reg["占用领域（基准日）"] == "是"]
    assert set(in_force["领域"]) == taken and not in_force["领域"].duplicated().any()   # one entry per taken field
    n_again = svc_reg.record_demo_lifecycle(RID, "张三")
    assert n_again == (0, 0)                                        # only what is new: nothing twice
