"""The staff app's Streamlit views: `main.py` (sign-in, the expert link, sidebar, navigation) and one
file per page in `pages/`. They only show things: every computation is in reviewer.app's service
modules (rounds, imports, screening, conflicts, panels, scores, ranking, packs, expert_view ...).

Start it with `reviewer app [--port N]` (or `streamlit run app.py` in a source checkout)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAIN = HERE / "main.py"

# The app's Streamlit options (the same as .streamlit/config.toml of a source checkout), passed on the
# command line by `reviewer app` so they hold from any folder.
STREAMLIT_OPTIONS = {
    "server.headless": "true",
    "server.maxUploadSize": "50",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "theme.base": "light",
    "theme.primaryColor": "#b22222",
    "theme.font": "sans serif",
}


def streamlit_command(port: int | None = None, address: str | None = None) -> list[str]:
    """`python -m streamlit run <packaged main.py>` with the app's options (this interpreter's streamlit)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(MAIN)]
    opts = dict(STREAMLIT_OPTIONS)
    if port is not None:
        opts["server.port"] = str(int(port))
    if address:
        opts["server.address"] = address
    for k, v in opts.items():
        cmd += [f"--{k}", v]
    return cmd
