"""The 现场考察 page in a real browser: the demo round's site plan (made in the store before the server
starts), the day x team timeline, the route map of the 14 cities, a team's itinerary. Screenshots
docs/screenshots/site-timeline.png and site-map.png (and tests/artifacts/)."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from reviewer.app import auth
from tests import browser_support as bs

PASSWORD = "browser-test-pass-1"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = bs.need_browser()
    data = tmp_path_factory.mktemp("siteapp")
    old = {k: os.environ.get(k) for k in ("REVIEWER_HOME", "REVIEWER_DB_URL")}
    os.environ["REVIEWER_HOME"] = str(data)
    os.environ.pop("REVIEWER_DB_URL", None)
    try:   # the demo round imported into the server's store, its site stage planned (one recorded run)
        from reviewer.app import imports as svc_imports
        from reviewer.app import rounds as svc_rounds
        from reviewer.app import site as svc_site
        rid = svc_rounds.ensure_demo_round()
        svc_imports.load_bundle(rid)
        run_id = svc_site.plan(rid, dt.date(2026, 12, 7), dt.date(2026, 12, 18), work_limit=2.0, user="张工作")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    auth.add_user("staff1", PASSWORD, role="staff", display_name="张工作", folder=data)
    with bs.app_server(data) as url:
        yield {"url": url, "exe": exe, "data": data, "run_id": run_id}


def test_site_page_shows_timeline_map_and_itinerary(server):
    base, log = server["url"], server["data"] / "streamlit.log"
    with bs.browser(server["exe"]) as br:
        page = bs.new_page(br, height=1250)
        bs.sign_in(page, base, "staff1", PASSWORD)
        bs.go(page, "现场考察")
        bs.visible(page, "独立检查", log=log)
        bs.visible(page, "查看方案", log=log)
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for(state="visible")
        bs.idle(page)
        txt = bs.body_text(page)
        assert "考察组" in txt and "专家人·天" in txt and "重新规划" in txt and "发布现场考察方案" in txt
        DOCS.mkdir(parents=True, exist_ok=True)
        page.locator("[data-testid='stVegaLiteChart']").first.scroll_into_view_if_needed()
        bs.idle(page)
        shutil.copy(bs.shot(page, "site-timeline"), DOCS / "site-timeline.png")
        page.get_by_role("tab", name="路线图").click()
        bs.idle(page)
        chart = page.locator("[data-testid='stVegaLiteChart']").nth(1)
        chart.wait_for(state="visible")
        chart.scroll_into_view_if_needed()
        bs.idle(page)
        shutil.copy(bs.shot(page, "site-map"), DOCS / "site-map.png")
        page.get_by_role("tab", name="各组行程").click()
        bs.idle(page)
        page.locator("[data-testid='stTabPanel'] [data-testid='stDataFrame']").first.wait_for(state="visible")
