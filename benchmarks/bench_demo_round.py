"""Benchmark: the real demo round (reviewer/data/demo), planned end to end through the domain layer.

    python benchmarks/bench_demo_round.py            # writes benchmarks/results/demo_round.{md,json}

Measures, for the bundled demo round: import + screening + conflicts, building the solver arrays,
and the time to a proven-optimal plan for all three stages together and for each stage alone
(with the earlier stages fixed), plus the solver path and the objective by named term.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.conflicts.detector import detect_conflicts  # noqa: E402
from reviewer.screening.eligibility import screen  # noqa: E402
from reviewer.intake.io import load_round_from  # noqa: E402
from reviewer.demo.pipeline import demo_policy  # noqa: E402
from reviewer.panels.problem import build_problem  # noqa: E402
from reviewer.panels.service import solve_round  # noqa: E402
from reviewer.panels.tables import panels_table  # noqa: E402
from reviewer.policy import load_policy  # noqa: E402
from solver.check import check_plan  # noqa: E402


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    import ortools
    import scipy
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "ortools": ortools.__version__, "scipy": scipy.__version__,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def main() -> None:
    policy = demo_policy(load_policy())
    t0 = time.perf_counter()
    data, report = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    eligible = screen(data, policy).eligible_ids()
    cs = detect_conflicts(data, policy)
    t_screen = time.perf_counter() - t0
    t0 = time.perf_counter()
    inp = build_problem(data, cs, policy, stage_applications={s: eligible for s in policy.stages.order},
                        cache_dir=None)
    t_build = time.perf_counter() - t0
    rows = []
    t0 = time.perf_counter()
    plan = solve_round(inp, time_limit=60)
    rows.append({"run": "all three stages together", "status": plan.status, "path": plan.path,
                 "seats": int(len(panels_table(inp, plan))), "wall_s": round(time.perf_counter() - t0, 3),
                 "objective": round(plan.objective, 2), "gap": plan.gap,
                 "violations": len(check_plan(inp.problem, plan)),
                 "breakdown": {k: round(float(v), 2) for k, v in plan.breakdown.items()
                               if k in ("affinity", "load_balance", "soft_conflict", "continuity")}})
    for s in policy.stages.order:
        t0 = time.perf_counter()
        p = solve_round(inp, stages=[s], time_limit=60)
        rows.append({"run": f"{s} alone", "status": p.status, "path": p.path,
                     "seats": int(len(panels_table(inp, p))), "wall_s": round(time.perf_counter() - t0, 3),
                     "objective": round(p.objective, 2), "gap": p.gap,
                     "violations": len(check_plan(inp.problem, p, stages=[inp.stage_index(s)])), "breakdown": {}})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"machine": machine(), "round": {"applications": len(data.applications), "eligible": len(eligible),
                                              "experts": len(data.experts),
                                              "excluded_pairs": int(inp.problem.excluded.sum())},
              "seconds": {"import": round(t_import, 3), "screening+conflicts": round(t_screen, 3),
                          "build_arrays": round(t_build, 3)},
              "plans": rows, "peak_rss_mib": round(peak, 1)}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_round.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    m = result["machine"]
    lines = ["# Demo round: planning through the domain layer", "",
             f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory']}; Python {m['python']}, OR-Tools {m['ortools']}, "
             f"scipy {m['scipy']}; {m['date']}.", "",
             f"Round: {result['round']['applications']} applications ({result['round']['eligible']} eligible), "
             f"{result['round']['experts']} experts, {result['round']['excluded_pairs']} excluded pairs.", "",
             f"Import {result['seconds']['import']} s; screening + conflicts {result['seconds']['screening+conflicts']} s; "
             f"solver arrays {result['seconds']['build_arrays']} s; peak RSS {result['peak_rss_mib']} MiB.", "",
             "| run | status | path | seats | wall s | objective | gap | rule violations |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['status']} | {r['path']} | {r['seats']} | {r['wall_s']} | {r['objective']} | "
                     f"{r['gap']:.2e} | {r['violations']} |")
    lines += ["", "Target (issue 3): the demo round, all three stages, proven optimal in under 10 s: "
              + ("MET" if rows[0]["status"] == "OPTIMAL" and rows[0]["wall_s"] < 10 else "NOT MET")]
    (out / "demo_round.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
