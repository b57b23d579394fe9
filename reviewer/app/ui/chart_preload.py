"""Streamlit's chart library fetched and compiled while staff read their first page after signing in.

Streamlit loads the code that draws charts (Vega-Lite, ~1 MB of JavaScript in ~20 files) only when a page first
shows a chart, so the first chart page of a browser session waited ~0.5–0.8 s in the browser after the server had
finished (形式审查, right after an import; `benchmarks/results/app_speed.md`). On the first staff page of a session
the browser is told, once the page is idle, to preload those files as modules (`<link rel="modulepreload">`:
fetched and compiled, not run); the first chart then finds them ready.

The files are found in the installed Streamlit's static folder — its chart entry file and the files it imports,
followed through their imports — so a Streamlit upgrade with new file names keeps working; if the entry file is not
found nothing is sent and charts load as before. Nothing here is data: only the names of Streamlit's own files.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

ENTRY_PREFIX = "ArrowVegaLiteChart."      # Streamlit's chart element (st.altair_chart / st.vega_lite_chart)
_IMPORT = re.compile(r"""(?:from|import)\s*["']\./([\w.\-]+\.js)["']""")
_LIMIT = 200                               # never more names than this (the chart and the shared files it imports)


def _static_js() -> Path | None:
    try:
        import streamlit
    except ImportError:  # pragma: no cover
        return None
    p = Path(streamlit.__file__).resolve().parent / "static" / "static" / "js"
    return p if p.is_dir() else None


@functools.lru_cache(maxsize=1)
def chart_files() -> tuple[str, ...]:
    """The chart entry file and every file it imports (transitively), by name, in the order found; () when the
    installed Streamlit has no such entry file. The app's main bundle (index.*) is loaded already: left out; the
    shared files it loaded too are skipped in the browser (`script`)."""
    folder = _static_js()
    entry = sorted(folder.glob(f"{ENTRY_PREFIX}*.js")) if folder else []
    if not entry:
        return ()
    seen: list[str] = []
    todo = [entry[0].name]
    while todo and len(seen) < _LIMIT:
        name = todo.pop(0)
        if name in seen or name.startswith("index."):
            continue
        path = folder / name
        if not path.is_file():
            continue
        seen.append(name)
        todo += [m for m in _IMPORT.findall(path.read_text(encoding="utf-8", errors="replace")) if m not in seen]
    return tuple(seen)


def script(files: tuple[str, ...]) -> str:
    """A <script> that, once the page is idle, adds one modulepreload link per file the page has not loaded yet,
    next to Streamlit's own bundle (same folder, so a base URL path is kept); once per browser tab."""
    return f"""<script>
(() => {{
  const w = window;     // st.html runs this script in the app's own document
  if (w.__reviewerChartsPreloaded) return;
  w.__reviewerChartsPreloaded = true;
  const d = w.document;
  const main = d.querySelector('script[src*="/static/js/index."]');
  if (!main) return;
  const base = main.src.slice(0, main.src.lastIndexOf('/') + 1);
  const go = () => {{
    const have = new Set(w.performance.getEntriesByType('resource').map((e) => e.name));
    for (const f of {json.dumps(list(files))}) {{
      if (have.has(base + f)) continue;
      const l = d.createElement('link');
      l.rel = 'modulepreload';
      l.href = base + f;
      d.head.appendChild(l);
    }}
  }};
  (w.requestIdleCallback || ((f) => w.setTimeout(f, 500)))(go, {{timeout: 2000}});
}})();
</script>"""


def preload_once(st_module, session_state) -> None:
    """Send the preload once per session (the first staff page after signing in)."""
    if session_state.get("charts_preloaded"):
        return
    session_state["charts_preloaded"] = True
    files = chart_files()
    if files:
        st_module.html(script(files), unsafe_allow_javascript=True)
