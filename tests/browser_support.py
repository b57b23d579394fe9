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


# A drawn page: the given text is shown, every chart in view has drawn its canvas or SVG, and no element of the
# previous run is still on the page (Streamlit marks those stale until the run is over).
_DRAWN_JS = """(text) => {
  if (!document.body.innerText.includes(text)) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (c.getBoundingClientRect().width === 0) continue;     // in a tab not shown: drawn when opened
    const g = c.querySelector('canvas, svg.marks');
    if (!g || g.getBoundingClientRect().width === 0) return false;
  }
  return true;
}"""


class RunClock:
    """How long a click keeps the user waiting: from the click until the server's run is over and the
    page has drawn its result.

    The end of a run is Streamlit's own signal, the `script_finished` message on the page's websocket
    (the running-man widget is no signal: Streamlit shows it only after a run has lasted 0.5 s). A run
    that ends by starting another (st.rerun) is followed to the last one. What is drawn is polled every
    15 ms in the page. The 0.3 s during which the result must stay put (no new run, text still there)
    is a check, not part of the time."""

    STABLE = 0.3

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.page = page
        self.events: list[tuple[float, str]] = []
        self.last: dict = {}
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        m = self._msg()
        try:
            m.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg: not a run boundary
            return
        kind = m.WhichOneof("type")
        if kind in ("new_session", "script_finished"):
            self.events.append((time.perf_counter(), kind))

    def time(self, act, text: str, timeout: float = WAIT / 1000) -> float:
        """Seconds from `act()` (a click) until the run it started is over and `text` is drawn."""
        t0 = time.perf_counter()
        act()
        drawn_at = None
        while True:
            self.page.wait_for_timeout(15)          # lets Playwright deliver the websocket events
            now = time.perf_counter()
            if self.page.evaluate(_DRAWN_JS, text):
                drawn_at = drawn_at or now
            else:
                drawn_at = None
            after = [(t, k) for t, k in self.events if t >= t0]
            started = any(k == "new_session" for _, k in after)
            last = after[-1] if after else None
            if drawn_at and started and last[1] == "script_finished":
                end = max(drawn_at, last[0])
                if now - end >= self.STABLE:
                    self.last = {"run_over": round(last[0] - t0, 2), "drawn": round(drawn_at - t0, 2),
                                 "runs": sum(k == "new_session" for _, k in after)}
                    return end - t0
            if now - t0 > timeout:
                shot(self.page, "failure")
                pytest.fail(f"{text!r} not drawn, or the run not over, {timeout:.0f} s after the click on "
                            f"{self.page.url}; runs seen: {after}")
