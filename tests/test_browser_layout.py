"""What a person sees in the staff app at 1440×900 (issue 13 item 16), in a real Chromium on the demo round
with a published 初审评估 plan and a 现场考察 draft: every staff page and each of its tabs — no table wider than
its place (no horizontal scrolling), every column header in Chinese (no raw snake_case key), no number with more
than 3 decimals, no English-only message box, chart axes and legends in Chinese with every label shown, an
unknown address answered in Chinese. Tables and charts are read from what the server sent (tests/layout_support);
widths from the page. Screenshots in tests/artifacts/layout-*.png."""
from __future__ import annotations

import os

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
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(d => {
  const s = d.querySelector('.dvn-scroller'); const r = d.getBoundingClientRect();
  return s ? {sw: s.scrollWidth, cw: s.clientWidth, right: Math.round(r.right), w: Math.round(r.width)} : null; })"""
ALERTS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stAlert"], [data-testid="stException"]'))
  .map(a => [a.getAttribute('data-testid'), a.innerText])"""


def _prepare(home) -> None:
    """The demo round, 初审评估 planned and published, 现场考察 planned (a draft)."""
    from reviewer.app import panels, rounds
    old = os.environ.get("REVIEWER_HOME")
    os.environ["REVIEWER_HOME"] = str(home)
    try:
        rid = rounds.ensure_demo_round()
        panels.plan_stage(rid, "初审评估", user="admin1")
        panels.publish(rid, "初审评估", user="admin1")
        panels.plan_stage(rid, "现场考察", user="admin1")
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
    _prepare(home)
    with app_server(home) as url, browser(exe) as b:
        yield {"url": url, "browser": b, "home": home}


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
    """Streamlit done and every table drawn (a table's grid appears a moment after the run ends)."""
    idle(page)
    for _ in range(40):
        if page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=\"stDataFrame\"]'))"
                         ".every(d => d.querySelector('.dvn-scroller'))"):
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(400)


def look(page, where: str) -> list[str]:
    problems = []
    for i, t in enumerate(page.evaluate(OVERFLOW_JS)):
        if t and t["w"] > 0 and (t["sw"] > t["cw"] + 2 or t["right"] > 1440):
            problems.append(f"{where}: table {i + 1} scrolls sideways ({t['sw']} px of content in {t['cw']} px)")
    for kind, text in page.evaluate(ALERTS_JS):
        if kind == "stException" or not ls.CJK.search(text):
            problems.append(f"{where}: English-only or exception box: {text[:200]!r}")
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
        shot(page, f"layout-{key}", full_page=False)
        tabs = page.get_by_role("tab")
        for j in range(1, tabs.count()):
            name = tabs.nth(j).inner_text().strip()
            tabs.nth(j).click()
            settle(page)
            problems += look(page, f"{key}/{name}")
            shot(page, f"layout-{key}-tab{j}", full_page=False)
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
    shot(page, "layout-unknown-address", full_page=False)
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
