"""The pages of issue 17 in a real browser (stages17b): 阶段晋级, 答辩安排 and 登记册 on the demo round with its
advancement recorded (初审评估 29 → 现场考察 28, the planted veto out), the 答辩 order drawn with seed 11 and the
registers filled from the demo's past centres; the ledger form records a grant after refusing one (stages17c).
Screenshots in docs/screenshots/stages-*.png (1440 wide)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from reviewer.app import auth
from tests import browser_support as bs

PASSWORD = "browser-test-pass-1"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    data = tmp_path_factory.mktemp("stagesapp")
    old = {k: os.environ.get(k) for k in ("REVIEWER_HOME", "REVIEWER_DB_URL")}
    os.environ["REVIEWER_HOME"] = str(data)
    os.environ.pop("REVIEWER_DB_URL", None)
    try:   # the demo round's advancement, 答辩 order and registers, recorded in this process on the server's home
        from reviewer.app import registers as svc_reg
        from reviewer.app import round_settings as svc_settings
        from reviewer.app import rounds as svc_rounds
        from reviewer.app import stages as svc
        rid = svc_rounds.ensure_demo_round()
        svc.record(rid, "初审评估", "张三", "初审会议确认")
        svc.record(rid, "现场考察", "张三", "现场考察会议确认")
        _, version, _ = svc_settings.current(rid)
        svc_settings.save(rid, stage="认定评审", meeting={"date": "2026-12-22", "time": "09:00",
                                                      "place": "南宁市青秀区民族大道 1 号 会议室 A", "contact": "李明 0771-1234567"},
                          site_start=None, site_end=None, user="张三", version=version)
        order = svc.draw(rid, 11, "张三", "答辩顺序抽签")
        svc_reg.record_demo_lifecycle(rid, "张三")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data, "order": order}


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = SHOTS / f"stages-{name}.png"
    page.screenshot(path=str(p), full_page=True)
    return p


def test_the_stage_pages_in_a_browser(server):
    base, log = server["url"], server["data"] / "streamlit.log"
    with bs.browser(server["exe"]) as br:
        page = bs.new_page(br)
        bs.sign_in(page, base, "staff1", PASSWORD)
        bs.visible(page, "轮次 Round", log=log)

        bs.go(page, "阶段晋级")
        bs.visible(page, "建议晋级", log=log)
        bs.visible(page, "已记录的晋级", log=log)
        bs.idle(page)
        txt = bs.body_text(page)     # both gates decided: the page opens on the last, 现场考察 (the checklist)
        assert "现场考察 → 认定评审" in txt and "一票否决" in txt and "确认晋级名单" in txt
        assert shot(page, "advancement").stat().st_size > 20_000

        bs.go(page, "答辩安排")
        bs.visible(page, "答辩顺序与时间（种子 11）", log=log)
        bs.visible(page, "下载答辩日程、通知与签到表", log=log)   # the table and the download render after the heading
        bs.idle(page)
        txt = bs.body_text(page)
        assert "南宁市青秀区民族大道 1 号" in txt and "下载答辩日程、通知与签到表" in txt
        assert shot(page, "defence").stat().st_size > 20_000

        bs.go(page, "登记册")
        bs.visible(page, "基准日已占用的领域", log=log)
        bs.idle(page)
        txt = bs.body_text(page)
        assert "中心名录" in txt and "补助台账" in txt
        assert shot(page, "registers").stat().st_size > 20_000
        page.get_by_role("tab", name="补助台账").click()
        bs.idle(page)
        bs.visible(page, "已发放补助", log=log)
        assert shot(page, "ledger").stat().st_size > 10_000

        # the ledger form (stages17c): a grant the rules refuse names the rule and the numbers, then one recorded
        def choose(label: str, typed: str) -> None:
            box = page.get_by_label(label, exact=True)
            box.click()
            page.keyboard.type(typed)
            page.keyboard.press("Enter")
            bs.idle(page)

        choose("中心", "GXMIC-2022-01")
        page.get_by_label("文号", exact=True).fill("桂财企〔2026〕8号")
        page.get_by_label("理由（记入审计日志）", exact=True).fill("获批国家级中心一次性补助")
        page.get_by_role("button", name="登记发放").click()
        bs.idle(page)
        bs.visible(page, "【不重复补助】", log=log)                   # its new-centre subsidy was paid in 2025
        choose("补助类别", "国家制造业")
        page.get_by_label("金额（万元）", exact=True).fill("1000")
        page.get_by_label("金额（万元）", exact=True).press("Tab")
        page.get_by_role("button", name="登记发放").click()
        bs.idle(page)
        bs.visible(page, "已登记：GXMIC-2022-01 国家制造业创新中心一次性补助 1000 万元", log=log)
        page.get_by_role("tab", name="补助台账").click()      # the rerun opens the first tab again
        bs.idle(page)
        bs.visible(page, "冲销一笔已发放的补助", log=log)
        assert "登记补助发放" in bs.body_text(page) and "冲销一笔已发放的补助" in bs.body_text(page)
        assert shot(page, "ledger-form").stat().st_size > 20_000
