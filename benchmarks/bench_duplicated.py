"""Benchmark: tie-heavy rounds made by duplicating the demo round (issue 14 item 0).

    python benchmarks/bench_duplicated.py                     # the four sizes, --time-limit 30 (the CLI default)
    python benchmarks/bench_duplicated.py --only 200x2800 --time-limit 300
    python benchmarks/bench_duplicated.py --no-symmetry       # the plain model (before solver.symmetry)

Each size runs in its own subprocess (peak memory per size): screening, conflicts detection (the
200 x 5,200 round has 1.04 M expert-application pairs), the solver arrays, then one solve of the
three stages together through the planning service (all rules), the independent checker on the
plan. Identical experts are solved as one class (solver.symmetry) unless --no-symmetry. Records time, peak RSS, status, path, objective, bound and gap, and the machine's core count
and load average before and after (the 2-core machine is shared: timings under load are inflated).
Writes benchmarks/results/duplicated.{md,json}.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scipy  # noqa: E402
from duplicated_round import SIZES, duplicated_round  # noqa: E402

from reviewer.conflicts.detector import detect_conflicts  # noqa: E402
from reviewer.demo.pipeline import demo_policy  # noqa: E402
from reviewer.intake.io import load_round_from  # noqa: E402
from reviewer.panels.problem import build_problem  # noqa: E402
from reviewer.panels.service import solve_round  # noqa: E402
from reviewer.policy import load_policy  # noqa: E402
from reviewer.screening.eligibility import screen  # noqa: E402
from solver import SolveOptions, solve  # noqa: E402
from solver.check import check_plan  # noqa: E402

TARGET_S = {"200x2800": 10.0, "200x5200": 10.0}  # proven optimal within (issue 14)


def one(name: str, time_limit: float, symmetry: bool = True) -> dict:
    policy = demo_policy(load_policy())
    base, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    data = duplicated_round(base, *SIZES[name])
    t0 = time.perf_counter()
    eligible = screen(data, policy).eligible_ids()
    t_screen = time.perf_counter() - t0
    t0 = time.perf_counter()
    conflicts = detect_conflicts(data, policy)
    t_conf = time.perf_counter() - t0
    rss_conf = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    inp = build_problem(data, conflicts, policy, stage_applications={s: eligible for s in policy.stages.order},
                        cache_dir=None)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    if symmetry:
        plan = solve_round(inp, time_limit=time_limit)
    else:  # solve_round's options, without the symmetry
        plan = solve(inp.problem, SolveOptions(time_limit=time_limit, num_workers=2, symmetry=False))
    wall = time.perf_counter() - t0
    sym = plan.info.get("symmetry") or {}
    info = plan.info
    return {"round": name, "applications": len(data.applications), "eligible": len(eligible),
            "experts": len(data.experts), "pairs": len(data.applications) * len(data.experts),
            "excluded_pairs": int(inp.problem.excluded.sum()), "screening_s": round(t_screen, 2),
            "conflicts_s": round(t_conf, 2), "peak_rss_after_conflicts_mib": round(rss_conf, 1),
            "build_s": round(t_build, 2), "time_limit_s": time_limit, "solve_s": round(wall, 2),
            "status": plan.status, "path": plan.path, "objective": round(plan.objective, 3),
            "bound": round(plan.bound, 3), "gap": plan.gap,
            "violations": len(check_plan(inp.problem, plan)) if plan.feasible else None,
            "lp_s": round(info.get("lp_time", float("nan")), 2), "lp_iterations": info.get("lp_iterations"),
            "lp_columns": info.get("lp_columns"), "lp_fractional": info.get("lp_fractional"),
            "first_mip_columns": info.get("first_mip_columns"), "rc_kept": info.get("rc_kept"),
            "columns": info.get("columns"), "symmetry": symmetry, "classes": sym.get("classes"),
            "largest_class": sym.get("largest_class"),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def machine() -> dict:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "scipy": scipy.__version__,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def table(rows: list[dict], m: dict) -> str:
    lines = ["# Tie-heavy rounds: the demo round duplicated (issue 14)", "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, scipy {m['scipy']}; {m['date']}. "
             f"Shared machine: load average {m['load_before']} before, {m['load_after']} after (1/5/15 min); "
             "with other jobs running, wall times are inflated, to be re-run on an idle machine.", "",
             "Rounds: `benchmarks/duplicated_round.py` (applications x copies, experts x copies; identical experts "
             "are interchangeable, so the objective has ties everywhere). Three stages together, every rule, "
             "`solve_round` as the CLI calls it"
             + (", identical experts solved as one class (`solver.symmetry`; classes = experts after aggregation)."
                if rows and rows[0].get("symmetry", True) else ", **without** the symmetry (`--no-symmetry`)."), "",
             "| round | eligible apps × experts | pairs | conflicts s / peak MiB | solve s (limit) | status | path | gap | "
             "classes (largest) | LP s / iterations / fractional | peak MiB | violations |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['round']} | – | – | – | – | error: {r['error']} | | | | | | |")
            continue
        gap = "–" if r["gap"] != r["gap"] else f"{r['gap']:.2e}"
        lines.append(f"| {r['round']} | {r['eligible']} × {r['experts']} | {r['pairs']:,} | {r['conflicts_s']} / "
                     f"{r['peak_rss_after_conflicts_mib']} | "
                     f"{r['solve_s']} ({r['time_limit_s']:g}) | {r['status']} | {r['path']} | {gap} | "
                     f"{r.get('classes') or '–'} ({r.get('largest_class') or '–'}) | "
                     f"{r['lp_s']} / {r['lp_iterations']} / {r['lp_fractional']} | {r['peak_rss_mib']} | "
                     f"{r['violations']} |")
    lines.append("")
    for name, target in TARGET_S.items():
        r = next((x for x in rows if x["round"] == name and "error" not in x), None)
        if r is not None:
            met = r["status"] == "OPTIMAL" and r["solve_s"] <= target
            lines.append(f"Target {name}: proven optimal in ≤ {target:g} s — {'MET' if met else 'NOT MET'} "
                         f"({r['status']}, {r['solve_s']} s).")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=list(SIZES))
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--no-symmetry", action="store_true", help="the plain model (SolveOptions.symmetry=False)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "duplicated"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one(a.child, a.time_limit, not a.no_symmetry)))
        return
    m = machine()
    m["load_before"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for name in a.only or list(SIZES):
        res = subprocess.run([sys.executable, __file__, "--child", name, "--time-limit", str(a.time_limit)]
                             + (["--no-symmetry"] if a.no_symmetry else []), capture_output=True, text=True, check=False)
        try:
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            rows.append({"round": name, "error": (res.stderr.strip().splitlines() or ["no output"])[-1][:200]})
        print(rows[-1], flush=True)
    m["load_after"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    out = Path(a.out if a.time_limit == 30.0 or a.out != ap.get_default("out") else f"{a.out}-{a.time_limit:g}s")
    if a.no_symmetry and a.out == ap.get_default("out"):
        out = out.with_name(out.name + "-nosym")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"machine": m, "rows": rows}, ensure_ascii=False, indent=2),
                                        encoding="utf-8")
    out.with_suffix(".md").write_text(table(rows, m), encoding="utf-8")
    print(table(rows, m))


if __name__ == "__main__":
    main()
