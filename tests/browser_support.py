"""Helpers of the browser tests: a real `reviewer app` server on a free port with its own home folder,
headless Debian Chromium through Playwright, waiting for Streamlit, screenshots in tests/artifacts/.
In CI (CI=true) a missing Chromium is a failure, not a skip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT = 90_000  # ms
SIGN_IN_TITLE = "制造业创新中心试点 专家评审系统"


def chromium() -> str | None:
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser")):
        if c and Path(c).exists():
            return c
    return None


def need_browser() -> str:
    exe = chromium()
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(home: Path, *extra: str):
    """`reviewer app --port N --address 127.0.0.1 [extra]` on `home`; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REVIEWER_DB_URL", "REVIEWER_HOME", "REVIEWER_APP_DEMO")}
    env.update({"REVIEWER_HOME": str(home), "PYTHONUNBUFFERED": "1", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
    log_path = home / "streamlit.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "reviewer.cli.main", "app", "--port", str(port),
                             "--address", "127.0.0.1", *extra], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("streamlit did not start: " + log_path.read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def browser(exe: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_page(b, width: int = 1440, height: int = 900):
    """A page in a fresh browser context (its own cookies and storage: another browser)."""
    ctx = b.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT)
    return pg


def idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT)
    page.wait_for_timeout(300)


def shot(page, name: str, full_page: bool = True) -> Path:
    p = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(p), full_page=full_page)
    return p


def visible(page, text: str, timeout: int = WAIT, log: Path | None = None) -> None:
    try:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout)
    except Exception:
        shot(page, "failure")
        body = page.locator("body").inner_text()[:3000]
        tail = log.read_text()[-3000:] if log and log.exists() else ""
        pytest.fail(f"{text!r} did not appear on {page.url} within {timeout / 1000:.0f} s.\n--- page text ---\n{body}"
                    f"\n--- streamlit log ---\n{tail}")


def body_text(page) -> str:
    return page.locator("body").inner_text()


def sign_in(page, base: str, name: str, password: str) -> None:
    page.goto(base + "/")
    visible(page, SIGN_IN_TITLE)
    idle(page)
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    idle(page)


def go(page, title_zh: str) -> None:
    """Open a staff page by its sidebar link (a page switch inside the signed-in session; typing an
    address reloads the app, which is a new session that signs in again)."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title_zh).first.click()
    idle(page)
