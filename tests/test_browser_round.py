"""Acceptance (issue 13): a whole round done in the browser only, as staff, in headless Chromium:
create a round → import → screening → conflicts → panels for the three stages (a random draw and two
optimised plans) → publish → packs and personal links → score sheets back (the experts' filled sheets
uploaded) → reminders → ranking sign-off (确认发布) → annual evaluation recorded.

Every step is a click or an upload in the page; nothing is done through the service layer or the CLI
(the experts' filling-in of their sheets is done to the downloaded files, as experts would, offline).
Screenshots at 1440×900 go to tests/artifacts/round_*.png. The time of every planning action and
page switch is measured in the browser and written to tests/artifacts/round_timings.json
(`benchmarks/bench_app_speed.py` runs this test and keeps the numbers in benchmarks/results/app_speed.md).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reviewer.app import auth
from reviewer.resources import DEMO_DIR
from reviewer.scoring.scoresheets import META, SHEET
from tests import browser_support as bs
from tests.browser_support import ARTIFACTS, idle

PASSWORD = "round-test-pass-1"
STAGES = ("初审评估", "现场考察", "认定评审")
TIMINGS: list[dict] = []
_LOG: dict = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    data = tmp_path_factory.mktemp("round")
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    _LOG["path"] = data / "streamlit.log"
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data}


@pytest.fixture(scope="module")
def page(server):
    with bs.browser(server["exe"]) as b:
        yield bs.new_page(b, 1440, 900)


def visible(page, text: str, timeout: int = bs.WAIT) -> None:
    bs.visible(page, text, timeout, log=_LOG.get("path"))


def shot(page, name: str) -> None:
    idle(page)
    bs.shot(page, f"round_{name}")


def timed(kind: str, what: str, act, done_text: str) -> float:
    """Run `act` (a click) and record how long the user waits: until the run it starts is over and the page
    shows `done_text` with its charts drawn (`browser_support.RunClock`)."""
    idle(_PAGE["p"])                     # the previous run is over: the clock starts at the click
    s = _PAGE["clock"].time(act, done_text)
    TIMINGS.append({"kind": kind, "what": what, "seconds": round(s, 2), **_PAGE["clock"].last})
    return s


_PAGE: dict = {}


def go(page, title_zh: str, heading: str) -> None:
    """Switch page by the sidebar link; the time until the page's heading shows and the run is over."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title_zh).first

    def click() -> None:
        link.click()
        try:
            page.get_by_text(heading, exact=False).first.wait_for(state="visible", timeout=15_000)
        except Exception:  # noqa: BLE001 - a click during a rerun's end can be lost: once more
            idle(page)
            link.click()

    timed("page", title_zh, click, heading)


def button(page, name: str, settle: bool = True) -> None:
    """Click the enabled button of that name (a run that just ended may still show a faded copy)."""
    if settle:
        idle(page)
    page.get_by_role("button", name=name, exact=True, disabled=False).last.click()


def main_text(page) -> str:
    return page.locator("section[data-testid='stMain'], .main, body").first.inner_text()


def upload(page, files, nth: int = 0) -> None:
    page.locator("input[type='file']").nth(nth).set_input_files(files=files)
    idle(page)


def fill_sheets(zip_bytes: bytes, stage: str) -> list[dict]:
    """Every expert's score sheet of `stage` from the downloaded packs, filled in as an expert would."""
    z = zipfile.ZipFile(io.BytesIO(zip_bytes))
    out = []
    for name in sorted(n for n in z.namelist() if "/评分表_" in n):
        wb = load_workbook(io.BytesIO(z.read(name)))
        meta = {r[0]: r[1] for r in wb[META].iter_rows(values_only=True) if r and r[0]}
        issued = set(str(meta.get("applications") or "").split(","))
        ws = wb[SHEET]
        header = [str(c.value or "") for c in ws[2]]
        crit_cols = [i + 1 for i, h in enumerate(header) if "(≤" in h]
        for r in range(3, ws.max_row + 1):
            app = str(ws.cell(r, 1).value)
            if app not in issued:
                continue
            quality = 0.55 + 0.4 * ((int(app[-3:]) * 7) % 10) / 10           # applications differ, experts agree
            for c in crit_cols:
                top = float(header[c - 1].rsplit("(≤", 1)[1].rstrip(")"))
                ws.cell(r, c, round(top * quality, 1))
        buf = io.BytesIO()
        wb.save(buf)
        out.append({"name": Path(name).name, "mimeType": "application/vnd.openxmlformats-officedocument."
                                                         "spreadsheetml.sheet", "buffer": buf.getvalue()})
    return out


def plan_and_publish(page, stage: str, draw: bool) -> None:
    page.get_by_text(f"{stage}（").first.click()
    idle(page)
    if draw:
        page.get_by_text("随机抽取（概率上限）").first.click()
        idle(page)
    timed("planning", f"{stage} {'随机抽取' if draw else '求解'}",
          lambda: button(page, "求解", settle=False), "完成：")
    visible(page, "个专家组")
    shot(page, f"05_panels_{stage}")
    page.get_by_role("tab", name="发布").click()
    page.get_by_text("我已核对专家组").first.click()
    idle(page)
    timed("planning", f"{stage} 发布", lambda: button(page, "发布", settle=False),
          "专家组已发布")


def test_a_whole_round_in_the_browser(server, page):
    base = server["url"]
    _PAGE["p"] = page
    _PAGE["clock"] = bs.RunClock(page)
    TIMINGS.clear()
    bs.sign_in(page, base, "staff1", PASSWORD)
    visible(page, "轮次 Round")
    # the chart library is preloaded while staff read the first page (reviewer.app.ui.chart_preload)
    page.wait_for_function("() => document.querySelector('link[rel=modulepreload][href*=\"ArrowVegaLiteChart.\"]')",
                           timeout=15_000)

    # create a round
    page.get_by_text("新建轮次").first.click()
    page.get_by_label("轮次名称").fill("2027年度制造业创新中心试点（浏览器验收）")
    button(page, "创建")
    visible(page, "已创建轮次")
    shot(page, "01_round_created")

    # import the round's workbook
    go(page, "导入", "导入 Import")
    upload(page, str(DEMO_DIR / "round2026.xlsx"))
    timed("action", "导入申报与专家库", lambda: button(page, "导入", settle=False), "本次导入")
    shot(page, "02_import")
    assert "2027年度制造业创新中心试点（浏览器验收）" in main_text(page)

    # screening and conflicts
    go(page, "形式审查", "形式审查结果")
    shot(page, "03_screening")
    go(page, "专家与回避", "专家库：按类别")
    page.get_by_role("tab", name="回避").click()
    idle(page)
    shot(page, "04_conflicts")

    # panels for the three stages: a random draw, then two optimised plans, each published
    go(page, "专家组", "专家组 Panels")
    for i, stage in enumerate(STAGES):
        plan_and_publish(page, stage, draw=(i == 0))

    # packs and personal links of the last stage; the sheets come back filled
    go(page, "通知", "通知 Packs")
    page.get_by_text("认定评审").first.click()
    idle(page)
    timed("action", "生成通知包（认定评审）", lambda: button(page, "生成通知包", settle=False),
          "下载全部通知包")
    with page.expect_download() as d:
        button(page, "下载全部通知包（zip）")
    zip_bytes = Path(d.value.path()).read_bytes()
    page.get_by_label("系统地址（专家访问用）").fill("https://review.gxgxt.example")
    page.get_by_label("系统地址（专家访问用）").press("Enter")
    idle(page)
    timed("action", "生成个人链接", lambda: button(page, "生成个人链接", settle=False), "下载链接清单")
    shot(page, "06_packs_links")
    with page.expect_download() as d:
        button(page, "下载链接清单（CSV）")
    links = Path(d.value.path()).read_text(encoding="utf-8-sig")
    assert links.count("https://review.gxgxt.example/?token=") >= 100   # one link per expert of the stage

    sheets = fill_sheets(zip_bytes, "认定评审")
    assert len(sheets) >= 100
    go(page, "催交", "催交 Reminders")
    page.get_by_text("认定评审").first.click()
    visible(page, "未交齐的专家")
    shot(page, "07_reminders_before")

    go(page, "评分", "评分 Scores")
    upload(page, sheets)
    timed("action", f"导入 {len(sheets)} 份评分表", lambda: button(page, "导入评分", settle=False),
          "逐个文件的结果")
    shot(page, "08_scores_imported")
    txt = main_text(page)
    assert "0 处错误" in txt, txt[:2000]

    go(page, "催交", "催交 Reminders")
    page.get_by_text("认定评审").first.click()
    visible(page, "本阶段评分表已全部交齐")
    shot(page, "09_reminders_after")

    # ranking and its sign-off
    go(page, "排名", "推荐认定名单")
    shot(page, "10_ranking")
    page.get_by_role("tab", name="确认发布").click()
    visible(page, "尚未确认发布")
    page.get_by_text("我已核对 认定评审 排名").first.click()
    idle(page)
    timed("action", "确认发布排名", lambda: button(page, "确认发布", settle=False),
          "排名已确认发布")
    page.get_by_role("tab", name="确认发布").click()
    visible(page, "即已确认发布的第")
    shot(page, "11_ranking_signed_off")

    # the annual evaluation, recorded in the store
    go(page, "考核", "考核 Evaluation")
    visible(page, "系统中尚无考核记录")
    assert "GXMIC-" not in main_text(page)                 # no demo centres in a real round
    upload(page, str(DEMO_DIR / "indicators.xlsx"), 0)
    upload(page, str(DEMO_DIR / "past_centres.xlsx"), 1)
    visible(page, "年度考核名单")
    timed("action", "记录考核结果", lambda: button(page, "记录到系统", settle=False), "已记录")
    visible(page, "系统中已记录的考核结果")
    shot(page, "12_evaluation_recorded")

    # back on the round page: every stage published and scored
    go(page, "轮次", "各阶段状态")
    shot(page, "13_round_done")
    (ARTIFACTS / "round_timings.json").write_text(json.dumps(TIMINGS, ensure_ascii=False, indent=1), encoding="utf-8")
