"""What a person sees in the staff app at 1440×900 (issue 13 item 16), in a real Chromium on the demo round
with a published 初审评估 plan and a 现场考察 draft: every staff page and each of its tabs — no table wider than
its place (no horizontal scrolling), every column header in Chinese (no raw snake_case key), no number with more
than 3 decimals, no English-only message box, chart axes and legends in Chinese with every label shown, an
unknown address answered in Chinese. Tables and charts are read from what the server sent (tests/layout_support);
widths from the page. Long reasons read whole (no clipped text) on 排名 and 形式审查; the file uploader in Chinese
on the import and expert pages. Screenshots in tests/artifacts/layout-*.png: every page of the navigation and
each tab, the sign-in page and the expert page; with SCREENSHOTS=docs/screenshots they are also copied there
(the committed set, looked at by a person)."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from reviewer.app import auth
from tests import layout_support as ls
from tests.browser_support import (
    SIGN_IN_TITLE,
    app_server,
    body_text,
    browser,
    go,
    idle,
    need_browser,
    new_page,
    shot,
    sign_in,
    visible,
)
from tests.test_browser_access import STAFF_PAGES

PASSWORD = "layout-test-pass-1"
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stTable"]')).map(d => {
  const s = d.querySelector('.dvn-scroller') || d.querySelector('[data-testid="stTableStyledTable"]')?.parentElement;
  const r = d.getBoundingClientRect();
  return s ? {sw: s.scrollWidth, cw: s.clientWidth, right: Math.round(r.right), w: Math.round(r.width)} : null; })"""
# a text element clipped sideways: beyond the window, wider than its own box, or cut by a scrolling or
# clipping parent; text inside the data grid (a canvas that clips long text) counts as clipped
CLIPPED_JS = """e => { const r = e.getBoundingClientRect(); const out = [];
  if (e.closest('[data-testid="stDataFrame"]')) out.push('inside the data grid (canvas, clips long text)');
  if (r.left < 0 || r.right > window.innerWidth + 1) out.push(`beyond the window: ${r.left}-${r.right}`);
  if (e.scrollWidth > e.clientWidth + 1) out.push(`wider than its box: ${e.scrollWidth} > ${e.clientWidth}`);
  for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    const ox = getComputedStyle(a).overflowX; if (ox === 'visible') continue;
    const q = a.getBoundingClientRect();
    if (r.left < q.left - 1 || r.right > q.right + 1) out.push(`cut by a parent (${ox}): ${r.left}-${r.right} in ${q.left}-${q.right}`);
    if (a.scrollWidth > a.clientWidth + 1) out.push(`a parent scrolls sideways: ${a.scrollWidth} > ${a.clientWidth}`);
  }
  return out; }"""
ALERTS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stAlert"], [data-testid="stException"]'))
  .map(a => [a.getAttribute('data-testid'), a.innerText])"""


def _prepare(home) -> dict:
    """The demo round, 初审评估 planned and published, 现场考察 planned (a draft); an expert's link; the
    longest reasons as the pages show them (the ranking of the last scored stage by the default method,
    the screening summary)."""
    from reviewer.app import panels, ranking, rounds, scores, screening
    from reviewer.app.ui import formatting as fmt
    old = os.environ.get("REVIEWER_HOME")
    os.environ["REVIEWER_HOME"] = str(home)
    try:
        rid = rounds.ensure_demo_round()
        plan = panels.plan_stage(rid, "初审评估", user="admin1")
        panels.publish(rid, "初审评估", user="admin1")
        panels.plan_stage(rid, "现场考察", user="admin1")
        expert = sorted(set(plan.panels["expert_id"]))[0]
        token = auth.issue_token(expert, days=7, round_id=rid, folder=home)[0]
        rk = ranking.ranking(rid, scores.scored_stages(rid)[-1], next(iter(ranking.RANK_METHODS)))
        lists = rk[rk["decision"].isin(["recommend", "cultivation"])]
        summary = screening.screening(rid).summary

        def longest(df, col):
            shown = fmt.present(df, [col], width_px=10**6).data[col]    # values as shown, on one line
            return max((v for v in shown if isinstance(v, str)), key=len)
        return {"token": token, "reason_lists": longest(lists, "reason_zh"), "reason_all": longest(rk, "reason_zh"),
                "screening": longest(summary, "reasons")}
    finally:
        if old is None:
            os.environ.pop("REVIEWER_HOME", None)
        else:
            os.environ["REVIEWER_HOME"] = old


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    exe = need_browser()
    home = tmp_path_factory.mktemp("layout")
    auth.add_user("admin1", PASSWORD, role="admin", folder=home)
    made = _prepare(home)
    with app_server(home) as url, browser(exe) as b:
        yield {"url": url, "browser": b, "home": home, **made}


KEEP = os.environ.get("SCREENSHOTS")     # e.g. docs/screenshots: the committed screenshots are copied there


def keep_shot(page, name: str) -> None:
    """A screenshot of the viewport (1440×900) in tests/artifacts/, and in $SCREENSHOTS when set."""
    p = shot(page, name, full_page=False)
    if KEEP:
        dest = Path(KEEP)
        dest = dest if dest.is_absolute() else Path(__file__).resolve().parent.parent / dest
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest / p.name)


class Seen:
    """Tables and charts the server sent since the last `take`."""

    def __init__(self, page):
        self.items: list = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            try:
                self.items.extend(ls.decode_frame(bytes(payload)))
            except Exception as e:  # noqa: BLE001 - a message this test cannot read is a finding, not a crash
                self.items.append(f"undecodable message: {e!r}")

    def take(self) -> list:
        out, self.items = self.items, []
        return out


def settle(page) -> None:
    """Streamlit done and every table drawn (a table's grid appears a moment after the run ends; a lazily
    loaded element is a grey skeleton first, and the skeleton itself appears a moment late: the page counts
    as drawn when it is so on two looks 600 ms apart)."""
    idle(page)
    drawn_js = ("() => Array.from(document.querySelectorAll('[data-testid=\"stDataFrame\"]'))"
                ".every(d => d.querySelector('.dvn-scroller'))"
                " && !document.querySelector('[data-testid=\"stSkeleton\"]')")
    seen = 0
    for _ in range(60):
        seen = seen + 1 if page.evaluate(drawn_js) else 0
        if seen == 2:
            break
        page.wait_for_timeout(600 if seen else 250)
    page.wait_for_timeout(400)


def look(page, where: str) -> list[str]:
    problems = []
    for i, t in enumerate(page.evaluate(OVERFLOW_JS)):
        if t and t["w"] > 0 and (t["sw"] > t["cw"] + 2 or t["right"] > 1440):
            problems.append(f"{where}: table {i + 1} scrolls sideways ({t['sw']} px of content in {t['cw']} px)")
    for kind, text in page.evaluate(ALERTS_JS):
        if kind == "stException" or not ls.CJK.search(text):
            problems.append(f"{where}: English-only or exception box: {text[:200]!r}")
    for t in page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=\"stTable\"]'))"
                           ".map(e => e.innerText)"):
        if re.search(r"\bempty\b", t):
            problems.append(f"{where}: an empty table says 'empty' in English")
    text = body_text(page)
    if "Page not found" in text or "Traceback" in text:
        problems.append(f"{where}: English page-not-found or traceback")
    return problems


def test_every_staff_page_reads_well_at_1440(site):
    page = new_page(site["browser"], 1440, 900)
    seen = Seen(page)
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    problems: list[str] = []
    n_tables = n_charts = 0
    for key, zh in STAFF_PAGES:
        go(page, zh)
        visible(page, zh)
        settle(page)
        problems += look(page, key)
        keep_shot(page, f"layout-{key}")
        tabs = page.get_by_role("tab")
        for j in range(1, tabs.count()):
            name = tabs.nth(j).inner_text().strip()
            tabs.nth(j).click()
            settle(page)
            problems += look(page, f"{key}/{name}")
            keep_shot(page, f"layout-{key}-tab{j}")
        for item in seen.take():
            if isinstance(item, str):
                problems.append(f"{key}: {item}")
            elif isinstance(item, ls.Table):
                n_tables += 1
                problems += [f"{key}: {p}" for p in item.problems()]
            else:
                n_charts += 1
                problems += [f"{key}: chart {item.get('title', '')!r}: {p}" for p in ls.chart_problems(item)]
    assert n_tables >= 20 and n_charts >= 5, (n_tables, n_charts)   # the pages did show their tables
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_an_unknown_address_is_answered_in_chinese(site):
    """Opened in a browser, an address the app does not have is a new session: the sign-in page, without
    Streamlit's English "Page not found" dialog. Inside a signed-in session (back/forward to an old
    address) the browser shows the first page, again without the English dialog."""
    page = new_page(site["browser"], 1440, 900)
    page.goto(site["url"] + "/no-such-page")
    visible(page, SIGN_IN_TITLE)
    idle(page)
    page.wait_for_timeout(1500)
    keep_shot(page, "layout-signin")
    text = body_text(page)
    assert "Page not found" not in text and "does not seem to exist" not in text
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    go(page, "排名")
    page.evaluate("() => { window.history.pushState({}, '', '/no-such-page'); "
                  "window.dispatchEvent(new PopStateEvent('popstate')); }")
    idle(page)
    page.wait_for_timeout(1500)
    text = body_text(page)
    assert "Page not found" not in text and "does not seem to exist" not in text
    assert "评审轮次" in text     # still signed in, a page of the app shown


def read_whole(page, text: str, where: str) -> list[str]:
    """`text` is on the page, readable: shown (not hidden, not only in a grid's canvas) and not cut sideways."""
    loc = page.get_by_text(text, exact=False)
    try:
        loc.first.wait_for(state="visible", timeout=20_000)
    except Exception:  # noqa: BLE001 - reported as the finding
        shot(page, f"failure-{where}")
        return [f"{where}: {text!r} is not shown as text"]
    loc.first.scroll_into_view_if_needed()
    return [f"{where}: {text[:40]!r}…: {p}" for p in loc.first.evaluate(CLIPPED_JS)]


def test_the_longest_reasons_read_whole_at_1440(site):
    """Issue 13 item 16: the reason of a decision is read without scrolling sideways — the longest of the
    ranking's lists and full ranking, and of 形式审查's reasons, whole and inside the window."""
    page = new_page(site["browser"], 1440, 900)
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    go(page, "排名")
    visible(page, "推荐认定名单")
    settle(page)
    problems = read_whole(page, site["reason_lists"], "排名/推荐与培育名单")
    page.get_by_role("tab", name="全部排名").click()
    settle(page)
    problems += read_whole(page, site["reason_all"], "排名/全部排名")
    go(page, "形式审查")
    visible(page, "逐项明细")
    settle(page)
    problems += read_whole(page, site["screening"], "形式审查")
    shot(page, "layout-reasons-screening", full_page=False)
    assert not problems, "\n".join(problems)


UPLOADER_JS = """() => Array.from(document.querySelectorAll('[data-testid="stFileUploaderDropzone"]')).map(z => {
  const b = z.querySelector('button [data-testid="stMarkdownContainer"] p');
  const i = z.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span');
  const drawn = el => el ? getComputedStyle(el, '::after').content : '';
  const seen = el => !!el && getComputedStyle(el).visibility !== 'hidden' && parseFloat(getComputedStyle(el).fontSize) > 0;
  return {button: drawn(b), hint: drawn(i), englishShown: [b, i].filter(seen).map(el => el.textContent),
          width: b ? b.getBoundingClientRect().width : 0}; })"""


def uploader_problems(page, where: str) -> list[str]:
    try:
        page.locator("[data-testid='stFileUploaderDropzone']").first.wait_for(state="visible", timeout=20_000)
    except Exception:  # noqa: BLE001 - reported below
        pass
    found = page.evaluate(UPLOADER_JS)
    if not found:
        return [f"{where}: no file uploader on the page"]
    out = []
    for u in found:
        if "选择文件" not in u["button"] or "拖放文件到此处" not in u["hint"] or "MB" not in u["hint"]:
            out.append(f"{where}: the uploader's words are not Chinese: {u}")
        if u["englishShown"] or u["width"] < 20:
            out.append(f"{where}: English shown in the uploader: {u}")
    for english in ("Upload", "per file", "Drag and drop", "Browse files"):
        # case-sensitive: the button's icon is the ligature "upload" (drawn as an arrow, not as a word)
        if page.get_by_text(re.compile(english)).filter(visible=True).count():
            out.append(f"{where}: {english!r} visible")
    return out


def test_the_file_uploader_speaks_chinese(site):
    """Issue 13: Streamlit's uploader says "Upload" and "50MB per file" (and "Drag and drop files here" while
    a file is dragged over it); staff on the import page and experts on their page read Chinese."""
    page = new_page(site["browser"], 1440, 900)
    sign_in(page, site["url"], "admin1", PASSWORD)
    visible(page, "轮次 Round")
    go(page, "导入")
    settle(page)
    problems = uploader_problems(page, "导入")
    shot(page, "layout-uploader-import", full_page=False)
    expert = new_page(site["browser"], 1440, 900)
    expert.goto(f"{site['url']}/?token={site['token']}")
    visible(expert, "上传已填好的评分表")
    settle(expert)
    problems += uploader_problems(expert, "专家页面")
    keep_shot(expert, "layout-expert")
    assert not problems, "\n".join(problems)
