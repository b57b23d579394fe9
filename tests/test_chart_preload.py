"""The chart library preload (reviewer.app.ui.chart_preload): the files are found in the installed Streamlit,
the script adds only modulepreload links for them, once. The browser side is checked in tests/test_browser_round.py
(the links are in the document after signing in)."""
from __future__ import annotations

import json
import re

from reviewer.app.ui import chart_preload


def test_the_chart_files_are_found_in_streamlit_with_what_they_import():
    files = chart_preload.chart_files()
    assert files and files[0].startswith(chart_preload.ENTRY_PREFIX)
    assert any(f.startswith("embed.") for f in files)           # vega-embed: the big one
    assert not any(f.startswith("index.") for f in files)       # the main bundle is loaded already
    assert len(set(files)) == len(files) and all(re.fullmatch(r"[\w.\-]+\.js", f) for f in files)


def test_the_script_only_adds_modulepreload_links_for_those_files():
    js = chart_preload.script(("ArrowVegaLiteChart.x.js", "embed.y.js"))
    assert js.startswith("<script>") and js.rstrip().endswith("</script>")
    assert json.dumps(["ArrowVegaLiteChart.x.js", "embed.y.js"]) in js
    assert "l.rel = 'modulepreload'" in js and "__reviewerChartsPreloaded" in js
    assert "fetch(" not in js and "eval(" not in js and "innerHTML" not in js


def test_sent_once_per_session():
    sent = []

    class St:
        @staticmethod
        def html(body, unsafe_allow_javascript=False):
            sent.append((body, unsafe_allow_javascript))

    state: dict = {}
    chart_preload.preload_once(St, state)
    chart_preload.preload_once(St, state)
    assert len(sent) == 1 and sent[0][1] is True and "modulepreload" in sent[0][0]
