"""The staff app in a real browser: `reviewer app --port N` (Streamlit on the packaged app) on a free
port, headless Chromium (Debian's `chromium`, driven by Playwright) through round -> import ->
screening -> experts -> panels (solve) -> scores -> ranking, a screenshot of each page in
tests/artifacts/, assertions on visible text. In CI (CI=true) a missing Chromium is a failure, not a skip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT = 90_000  # ms


def _chromium() -> str | None:
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser")):
        if c and Path(c).exists():
            return c
    return None


def _need_browser() -> str:
    exe = _chromium()
    why = None
    if exe is None:
        why = ("Chromium not found (looked at $CHROMIUM, /usr/bin/chromium, chromium on PATH); "
               "install it with `apt-get install -y chromium fonts-noto-cjk`")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "the playwright Python package is missing: pip install -e '.[test]'"
    if why:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("browser test cannot run in CI: " + why)
        pytest.skip(why)
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = _need_browser()
    data = tmp_path_factory.mktemp("appdata")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REVIEWER_DB_URL", "REVIEWER_HOME")}
    env.update({"REVIEWER_HOME": str(data), "PYTHONUNBUFFERED": "1", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    log = open(data / "streamlit.log", "w")
    _LOG["path"] = data / "streamlit.log"
    proc = subprocess.Popen([sys.executable, "-m", "reviewer.cli.main", "app", "--port", str(port),
                             "--address", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("streamlit did not start: " + (data / "streamlit.log").read_text()[-2000:])
        time.sleep(0.3)
    yield {"url": url, "exe": exe, "data": data}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=server["exe"], args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1800}, locale="zh-CN")
        pg = ctx.new_page()
        pg.set_default_timeout(WAIT)
        yield pg
        browser.close()


_LOG: dict = {}


def visible(page, text: str, timeout: int = WAIT):
    try:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout)
    except Exception:
        shot(page, "failure")
        body = page.locator("body").inner_text()[:3000]
        log = Path(_LOG["path"]).read_text()[-3000:] if _LOG.get("path") else ""
        pytest.fail(f"{text!r} did not appear on {page.url} within {timeout / 1000:.0f} s.\n--- page text ---\n{body}"
                    f"\n--- streamlit log ---\n{log}")


def idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT)
    page.wait_for_timeout(300)


def shot(page, name: str) -> Path:
    p = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(p), full_page=True)
    return p


def main_text(page) -> str:
    return page.locator("section[data-testid='stMain'], .main, body").first.inner_text()


def test_round_import_screening_panels_ranking_in_chromium(server, page):
    base = server["url"]
    # 1 轮次 Round: opens on the bundled demo round with no setup
    page.goto(base + "/")
    visible(page, "轮次 Round")
    visible(page, "2026年度制造业创新中心试点（演示）")
    visible(page, "各阶段状态")
    idle(page)
    shot(page, "01_round")
    assert "400 (392)" in main_text(page)

    # 2 导入 Import: a file with two bad rows shows the row errors, the good rows load
    page.goto(base + "/import")
    visible(page, "导入 Import")
    apps = pd.read_excel(ROOT / "reviewer" / "data" / "demo" / "round2026.xlsx", sheet_name="申报书", dtype=str)
    apps.loc[2, "牵头单位统一社会信用代码"] = "NOT-A-CODE"
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": "申报书.csv", "mimeType": "text/csv", "buffer": apps.to_csv(index=False).encode("utf-8")}])
    visible(page, "申报书.csv")
    idle(page)  # the upload's rerun is over before the click
    page.get_by_role("button", name="导入", exact=True).click()
    visible(page, "逐行错误")
    idle(page)
    shot(page, "02_import_errors")
    txt = main_text(page)
    assert "处错误" in txt and "本次导入" in txt
    # put the demo workbook back so the round is whole again
    page.locator("input[type='file']").first.set_input_files(str(ROOT / "reviewer" / "data" / "demo" / "round2026.xlsx"))
    visible(page, "round2026.xlsx")
    idle(page)
    page.get_by_role("button", name="导入", exact=True).click()
    visible(page, "导入成功")
    idle(page)

    # 3 形式审查 Screening
    page.goto(base + "/screening")
    visible(page, "形式审查 Screening")
    visible(page, "形式审查结果")      # the chart's title
    visible(page, "需复核事项")
    idle(page)
    shot(page, "03_screening")

    # 4 专家与回避 Experts & conflicts
    page.goto(base + "/experts")
    visible(page, "专家与回避 Experts & conflicts")
    visible(page, "专家库：按类别")
    idle(page)
    shot(page, "04_experts")

    # 5 专家组 Panels: solve with a seed, progress, then the plan, its coverage heatmap
    page.goto(base + "/panels")
    visible(page, "专家组 Panels")
    visible(page, "本阶段尚无方案")
    seed = page.get_by_label("随机种子")
    seed.fill("11")
    seed.press("Enter")
    idle(page)
    page.get_by_role("button", name="求解", exact=True).click()
    visible(page, "完成：OPTIMAL")
    visible(page, "个专家组")
    idle(page)
    shot(page, "05_panels")
    assert "随机种子 11" in main_text(page)
    page.get_by_role("tab", name="类别覆盖").click()
    visible(page, "各专家组的类别覆盖")
    idle(page)
    shot(page, "06_panels_coverage")
    page.get_by_role("tab", name="负载").click()
    idle(page)
    shot(page, "07_panels_load")
    # a refresh keeps the plan (state is in the app data folder, not only in the browser session)
    page.reload()
    visible(page, "专家组 Panels")
    visible(page, "随机种子 11")

    # publish the plan (the expert link below shows published seats only)
    page.get_by_role("tab", name="发布").click()
    page.get_by_text("我已核对专家组").first.click()
    idle(page)
    page.get_by_role("button", name="发布", exact=True).click()
    visible(page, "专家组已发布")
    idle(page)

    # 6 评分 Scores
    page.goto(base + "/scores")
    visible(page, "评分 Scores")
    visible(page, "评分一致性")
    idle(page)
    shot(page, "08_scores")

    # 7 排名 Ranking: lists with reasons, methods side by side, intervals per field
    page.goto(base + "/ranking")
    visible(page, "排名 Ranking")
    visible(page, "推荐认定名单")
    idle(page)
    shot(page, "09_ranking")
    page.get_by_role("tab", name="方法对比").click()
    idle(page)
    shot(page, "10_ranking_methods")
    page.get_by_role("tab", name="各领域得分区间").click()
    idle(page)
    shot(page, "11_ranking_intervals")

    # an expert's personal link, made with the CLI; expert_id=<another expert> in the URL changes nothing
    from reviewer.app import store as app_store
    old_home = os.environ.get("REVIEWER_HOME")
    os.environ["REVIEWER_HOME"] = str(server["data"])
    try:
        seats = app_store.published_seats("demo-2026", "初审评估")
    finally:
        if old_home is None:
            os.environ.pop("REVIEWER_HOME", None)
        else:
            os.environ["REVIEWER_HOME"] = old_home
        app_store._STORES.clear()
    mine_e = seats["expert_id"].iloc[0]
    other_e = next(e for e in seats["expert_id"] if e != mine_e)
    out = subprocess.run([sys.executable, "-m", "reviewer.cli.main", "token", mine_e, "--round", "demo-2026", "--url", base],
                         env={**os.environ, "REVIEWER_HOME": str(server["data"])}, capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip().splitlines()[-1]
    page.goto(link + f"&expert_id={other_e}")
    visible(page, "我的评审任务 My assignments")
    visible(page, f"（{mine_e}）")
    page.locator("[data-testid='stDataFrame']").first.wait_for(state="visible", timeout=WAIT)
    idle(page)
    shot(page, "13_expert_link")
    body = page.locator("body").inner_text()
    assert mine_e in body and other_e not in body
    assert "轮次 Round" not in body                       # no staff pages

    # English switch
    page.goto(base + "/")
    visible(page, "轮次 Round")
    page.locator("[data-testid='stSidebar'] label").filter(has_text="English").first.click()
    visible(page, "Stages")
    idle(page)
    shot(page, "12_round_english")
