"""Staff-app speed without the browser (issue 13 item 15): the CPU seconds of every page and planning
action of the demo round, measured in-process (load-independent, unlike benchmarks/bench_app_speed.py,
whose wall-clock seconds in Chromium grow with the machine's load).

    python benchmarks/app_speed_cpu.py                  # writes benchmarks/results/app_speed_cpu.{json,md}
    python benchmarks/app_speed_cpu.py --label before   # keeps this run under a label (before/after)
    python benchmarks/app_speed_cpu.py --profile solve  # also prints a cProfile of the steps whose name has "solve"

A fresh home in demo mode (no sign-in) with the bundled demo round; each page is one Streamlit run through
streamlit.testing (AppTest, the same page scripts the server runs), each action the service call its
button makes. Time is CPU seconds (`os.times()`: this process, all threads, and its child processes), so a busy machine does
not inflate it; a page is measured twice (first visit after a change, then a plain rerun).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import logging
import os
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGES = ["round", "import_data", "screening", "experts", "panels", "packs", "responses", "notify", "scores",
         "reminders", "ranking", "documents", "analysis", "draws", "evaluation"]
STAGES = ["初审评估", "现场考察", "认定评审"]


def machine() -> str:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    return f"{cpu}; nproc {os.cpu_count()}; Python {platform.python_version()}"


def cpu_now() -> float:
    """CPU seconds of this process (all threads) and of its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def fill_sheets(zip_bytes: bytes) -> list[tuple[str, bytes]]:
    """Every expert's score sheet from the packs, filled as an expert would (as tests/test_browser_round.py)."""
    import zipfile

    from openpyxl import load_workbook

    from reviewer.scoring.scoresheets import META, SHEET
    z = zipfile.ZipFile(io.BytesIO(zip_bytes))
    out = []
    for name in sorted(n for n in z.namelist() if "/评分表_" in n):
        wb = load_workbook(io.BytesIO(z.read(name)))
        meta = {r[0]: r[1] for r in wb[META].iter_rows(values_only=True) if r and r[0]}
        issued = set(str(meta.get("applications") or "").split(","))
        ws = wb[SHEET]
        header = [str(c.value or "") for c in ws[2]]
        crit_cols = [i + 1 for i, h in enumerate(header) if "(≤" in h]
        for r in range(3, ws.max_row + 1):
            app = str(ws.cell(r, 1).value)
            if app in issued:
                quality = 0.55 + 0.4 * ((int(app[-3:]) * 7) % 10) / 10
                for c in crit_cols:
                    ws.cell(r, c, round(float(header[c - 1].rsplit("(≤", 1)[1].rstrip(")")) * quality, 1))
        buf = io.BytesIO()
        wb.save(buf)
        out.append((Path(name).name, buf.getvalue()))
    return out


_PROFILES: list = []


def profile_scripts() -> None:
    """AppTest runs the page script in its own thread, where a cProfile started here does not see it:
    wrap Streamlit's script call so that each page run is profiled in its thread."""
    from streamlit.runtime.scriptrunner import script_runner

    inner = script_runner.exec_func_with_error_handling

    def wrapped(func, ctx):
        if not _PROFILES:
            return inner(func, ctx)
        prof = _PROFILES[-1]
        prof.enable()
        try:
            return inner(func, ctx)
        finally:
            prof.disable()

    script_runner.exec_func_with_error_handling = wrapped


class Clock:
    def __init__(self, profile: str | None):
        self.rows: list[dict] = []
        self.profile = profile

    def __call__(self, kind: str, what: str, fn):
        prof = cProfile.Profile() if self.profile and any(x in what for x in self.profile.split(",")) else None
        c0, w0 = cpu_now(), time.perf_counter()
        if prof and kind in ("page", "rerun"):
            _PROFILES.append(prof)
        elif prof:
            prof.enable()
        try:
            out = fn()
        finally:
            if prof and _PROFILES:
                _PROFILES.clear()
            elif prof:
                prof.disable()
        cpu, wall = cpu_now() - c0, time.perf_counter() - w0
        self.rows.append({"kind": kind, "what": what, "cpu": round(cpu, 3), "wall": round(wall, 3)})
        print(f"{kind:8} {what:28} cpu {cpu:7.2f} s  wall {wall:7.2f} s", flush=True)
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        return out


def run(profile: str | None, only_new: bool = False) -> list[dict]:
    home = tempfile.mkdtemp(prefix="app-speed-")
    os.environ["REVIEWER_HOME"] = home
    os.environ.pop("REVIEWER_DB_URL", None)
    from streamlit.testing.v1 import AppTest

    from reviewer.app import auth
    from reviewer.app import packs as svc_packs
    from reviewer.app import panels as svc_panels
    from reviewer.app import scores as svc_scores
    from reviewer.app.ui import MAIN
    os.environ[auth.DEMO_ENV] = "1"
    clock = Clock(profile)
    if profile:
        profile_scripts()
    at = AppTest.from_file(str(MAIN), default_timeout=600)
    clock("page", "start (轮次)", at.run)
    rid = at.session_state["round_id"]

    def visit(name: str, note: str = "") -> None:
        def go():
            at.switch_page(f"views/{name}.py").run()
            if at.exception:
                raise SystemExit(f"page {name}: {[e.value for e in at.exception]}")
        clock("page", f"{name}{note}", go)
        clock("rerun", f"{name}{note}", at.run)

    if only_new:
        new_round(at, clock, visit)
        return clock.rows
    for p in PAGES:
        visit(p)
    for i, stage in enumerate(STAGES):
        draw = i == 0
        clock("planning", f"{stage} {'draw' if draw else 'solve'}",
              lambda: svc_panels.plan_stage(rid, stage, randomize=draw, seed=1, time_limit=30))
        visit("panels", f" after {stage} plan")
        clock("planning", f"{stage} publish", lambda: svc_panels.publish(rid, stage))
        visit("panels", f" after {stage} publish")
    packs = clock("action", "packs 认定评审", lambda: svc_packs.make_packs(rid, "认定评审"))
    sheets = fill_sheets(packs["zip"])
    clock("action", f"import {len(sheets)} score sheets", lambda: svc_scores.upload_scores(rid, sheets))
    clock("action", "links 认定评审", lambda: svc_packs.make_links(rid, "认定评审", "http://localhost:8501", 7))
    for p in PAGES:
        visit(p, " (end)")
    new_round(at, clock, visit)
    return clock.rows


def new_round(at, clock, visit) -> None:
    """The browser test's order (tests/test_browser_round.py) on a new round: every page is then first
    visited right after the act that changed the store, so its caches are cold, as in the browser."""
    from reviewer.app import imports as svc_imports
    from reviewer.app import packs as svc_packs
    from reviewer.app import panels as svc_panels
    from reviewer.app import rounds as svc_rounds
    from reviewer.app import scores as svc_scores
    from reviewer.resources import DEMO_DIR
    rid = svc_rounds.create_round("2027年度制造业创新中心试点（速度测试）", user="bench").round_id
    at.session_state["round_id"] = rid
    N = " [new round]"
    visit("import_data", N)
    content = (DEMO_DIR / "round2026.xlsx").read_bytes()
    from reviewer.app.ui.common import prefetch_after_import

    def import_and_prefetch():
        # as the page's button: the import, then the next pages' results in the background (counted here)
        svc_imports.import_files(rid, [("round2026.xlsx", content)], None, "bench")
        prefetch_after_import(rid, "zh").join()
    clock("action", "import round2026.xlsx" + N, import_and_prefetch)
    for p in ("screening", "experts", "panels"):
        visit(p, N)
    for i, stage in enumerate(STAGES):
        draw = i == 0
        clock("planning", f"{stage} {'draw' if draw else 'solve'}{N}",
              lambda: svc_panels.plan_stage(rid, stage, randomize=draw, seed=1, time_limit=30))
        clock("planning", f"{stage} publish{N}", lambda: svc_panels.publish(rid, stage))
    visit("packs", N)
    packs = clock("action", "packs 认定评审" + N, lambda: svc_packs.make_packs(rid, "认定评审"))
    clock("action", "links 认定评审" + N, lambda: svc_packs.make_links(rid, "认定评审", "http://localhost:8501", 7))
    visit("reminders", N + " before scores")
    visit("scores", N)
    sheets = fill_sheets(packs["zip"])
    clock("action", f"import {len(sheets)} score sheets{N}", lambda: svc_scores.upload_scores(rid, sheets))
    for p in ("reminders", "ranking", "evaluation", "round"):
        visit(p, N)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="after")
    ap.add_argument("--profile", default=None, help="print a cProfile of steps whose name contains this")
    ap.add_argument("--only-new", action="store_true", help="only the new round in the browser's order "
                    "(quick; prints, writes nothing)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.WARNING)   # AppTest's "missing ScriptRunContext" lines
    rows = run(args.profile, args.only_new)
    if args.only_new:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    jpath = RESULTS / "app_speed_cpu.json"
    allres = json.loads(jpath.read_text(encoding="utf-8")) if jpath.exists() else {}
    allres[args.label] = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                          "load_average_1min": round(os.getloadavg()[0], 1), "rows": rows}
    jpath.write_text(json.dumps(allres, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_md(allres)


def write_md(allres: dict) -> None:
    labels = list(allres)
    keyed = {lab: {(r["kind"], r["what"]): r for r in allres[lab]["rows"]} for lab in labels}
    order = list(dict.fromkeys(k for lab in labels for k in keyed[lab]))
    lines = ["# Staff-app speed: CPU seconds per page and action (issue 13 item 15)", "",
             "Command: `python benchmarks/app_speed_cpu.py --label LABEL` — in-process (streamlit.testing AppTest "
             "for pages, the buttons' service calls for actions) on the bundled demo round (40 applications, "
             "400 experts), fresh home, demo mode. CPU seconds of the process and its children (`os.times`), so other "
             "jobs on the machine do not inflate them; wall seconds in brackets.", ""]
    for lab in labels:
        res = allres[lab]
        lines.append(f"- **{lab}**: {res['date']}; {res['machine']}; load average (1 min) {res['load_average_1min']}")
    lines += ["", "page = first run of the page after a switch; rerun = the same page run again (a widget click "
              "that changes nothing); planning/action = the service call of the button.", "",
              "Rows marked [new round] follow the browser test's order (tests/test_browser_round.py) on a new round: "
              "each page is first visited right after the act that changed the store, so its caches are cold, as "
              "in the browser. Since speed13c the import's row includes the background preparation of 形式审查 and "
              "专家与回避 that the page's button starts (joined, so its CPU is counted there), and the start page's "
              "row the background import of Altair (once per server).", "",
              "| kind | what | " + " | ".join(f"{lab} CPU s (wall)" for lab in labels) + " |",
              "|---|---|" + "---:|" * len(labels)]
    for k in order:
        cells = []
        for lab in labels:
            r = keyed[lab].get(k)
            cells.append("" if r is None else f"{r['cpu']:.2f} ({r['wall']:.2f})")
        lines.append(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")
    (RESULTS / "app_speed_cpu.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
