"""Redraw the analyst figures of the README (docs/figures/analytics_*.png) from the running app.

    PYTHONPATH=. python docs/figures/make_analytics_figures.py

Starts `reviewer app --demo` on a free port with a scratch home, opens the 分析 page in headless
Chromium (Playwright; /usr/bin/chromium or $CHROMIUM) and screenshots the charts: the relation-bias
effects of the demo round, a what-if (认定评审, trimmed → calibrated_pooled 跨阶段校准), and the predictive validity of
the demo's past rounds. The app renders the Altair charts itself, so no extra package is needed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WAIT = int(os.environ.get("FIG_WAIT", "180000"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT)
    page.wait_for_timeout(800)


def _pick(page, label: str, option: str) -> None:
    """Open the select box labelled `label` and choose `option`."""
    page.get_by_role("combobox", name=label).first.click()
    page.locator("[role='option']").filter(has_text=option).first.click()
    page.wait_for_timeout(300)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="reviewer-figures-"))
    port = _port()
    env = {**os.environ, "REVIEWER_HOME": str(home), "PYTHONPATH": str(ROOT),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    env.pop("REVIEWER_DB_URL", None)
    log = open(home / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "reviewer.cli.main", "app", "--demo", "--port", str(port),
                             "--address", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                  args=["--no-sandbox"], headless=True)
            page = b.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN").new_page()
            page.set_default_timeout(WAIT)
            page.goto(url + "/analysis?lang=zh")
            page.get_by_text("关系偏差：各关系类型的评分效应").first.wait_for(state="visible")
            _idle(page)
            charts = page.locator("[data-testid='stVegaLiteChart']:visible")
            charts.first.screenshot(path=str(HERE / "analytics_bias.png"))
            page.get_by_role("tab", name="假设方案重排").click()
            _idle(page)
            _pick(page, "评审阶段", "认定评审")
            _pick(page, "汇总方法", "calibrated_pooled")
            page.get_by_role("button", name="计算并记录分析运行").click()
            page.get_by_text("已记录的排名未改变").first.wait_for(state="visible")
            _idle(page)
            page.locator("[data-testid='stVegaLiteChart']:visible").first.screenshot(
                path=str(HERE / "analytics_whatif.png"))
            page.get_by_role("tab", name="预测效度").click()
            page.get_by_text("哪些评分分项预测了后续考核").first.wait_for(state="visible")
            _idle(page)
            page.locator("[data-testid='stHorizontalBlock']:visible").filter(
                has=page.locator("[data-testid='stVegaLiteChart']")).first.screenshot(
                path=str(HERE / "analytics_validity.png"))
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    print("written:", *sorted(p.name for p in HERE.glob("analytics_*.png")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
