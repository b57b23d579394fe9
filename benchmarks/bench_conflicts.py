"""Benchmark: conflicts detection up to 1 M expert-application pairs, vectorised vs pair by pair (issue 14).

    python benchmarks/bench_conflicts.py                 # every round, both detectors
    python benchmarks/bench_conflicts.py --only 1000x1000 --only demo

Rounds: synthetic rounds where every rule fires (`benchmarks/conflicts_round.py`: 100 x 100,
300 x 300, 1,000 experts x 1,000 applications, and 1,000 x 1,000 with everyone in one city, where
the same-city rule hits every pair: 1.1 M hits), the bundled demo round (400 x 40) and the demo round
duplicated to 5,200 experts x 200 applications (`benchmarks/duplicated_round.py`, 1.04 M pairs).

Each (round, detector) runs in its own subprocess, so peak RSS is that run's: `detect` is
`detect_conflicts` alone; `run` adds what the conflicts step of a round does with the result (the
excluded and soft matrices for the planner, the hit table written to the workbook/store, the
per-application counts). Peak RSS is the whole process (Python, pandas, the round's records
included); `round MiB` is the RSS before detection. `same` compares a hash of the hit table of the
two detectors. The pair-by-pair detector is the test oracle `tests/conflicts_oracle.py` (the
detector before issue 14). Writes benchmarks/results/conflicts.{md,json}.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROUNDS = ["100x100", "300x300", "1000x1000", "1000x1000-one-city", "demo", "dup-5200x200"]
PREVIOUS = "55 s / 1.5 GB at 1 M pairs (issue 14, pair by pair)"
TARGET = (10.0, 500.0)   # seconds, MiB at 1 M pairs


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(name: str):
    from reviewer.demo.reference import demo_policy
    from reviewer.policy import load_policy
    policy = demo_policy(load_policy())
    if name in ("demo", "dup-5200x200"):
        from duplicated_round import duplicated_round

        from reviewer.intake.io import load_round_from
        from reviewer.resources import DEMO_DIR
        data, _ = load_round_from(DEMO_DIR / "applications.xlsx", policy)
        return (duplicated_round(data, 5, 13) if name != "demo" else data), policy
    from conflicts_round import conflicts_round
    size = name.split("-")[0]
    n_experts, n_apps = (int(x) for x in size.split("x"))
    return conflicts_round(policy, n_experts, n_apps, seed=0, one_city=name.endswith("one-city")), policy


def one(name: str, impl: str) -> dict:
    data, policy = load(name)
    if impl == "vectorised":
        from reviewer.conflicts.detector import detect_conflicts
    else:
        from tests.conflicts_oracle import detect_conflicts
    pd.DataFrame({"x": ["warm up pandas' string arrays"]})    # a one-off import, not the table's cost
    rss_round = rss_mib()
    t0 = time.perf_counter()
    cs = detect_conflicts(data, policy)
    t_detect = time.perf_counter() - t0
    rss_detect = rss_mib()
    t0 = time.perf_counter()
    excluded = cs.excluded_matrix()
    cs.soft_matrix(policy.conflicts.soft_penalties())
    table = cs.table()
    cs.per_application()
    t_run = t_detect + time.perf_counter() - t0
    rss_run = rss_mib()       # before hashing the table for the comparison (not part of the step)
    digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()).hexdigest()[:16]
    return {"round": name, "impl": impl, "experts": len(data.experts), "applications": len(data.applications),
            "pairs": len(data.experts) * len(data.applications), "hits": len(table),
            "excluded_pairs": int(np.count_nonzero(excluded)), "round_mib": round(rss_round, 1),
            "detect_s": round(t_detect, 3), "detect_peak_mib": round(rss_detect, 1), "run_s": round(t_run, 3),
            "run_peak_mib": round(rss_run, 1), "table_hash": digest}


def machine() -> dict:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def report(rows: list[dict], m: dict) -> str:
    lines = ["# Conflicts detection at scale: vectorised vs pair by pair (issue 14)", "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, numpy {m['numpy']}, pandas "
             f"{m['pandas']}; {m['date']}. Shared machine: load average {m['load_before']} before, "
             f"{m['load_after']} after (1/5/15 min); wall times under load are inflated.", "",
             "One subprocess per cell. `detect`: `detect_conflicts`; `run`: detect + excluded and soft matrices + "
             "hit table + per-application counts (what the conflicts step does with it). Peak RSS is the whole "
             "process, round records included (`round` = RSS before detection). `same`: the two detectors' hit "
             f"tables hash equal. Previous figure: {PREVIOUS}.", "",
             "| round | experts × apps | pairs | hits | round MiB | pair by pair: detect s / peak MiB | run s / peak MiB "
             "| vectorised: detect s / peak MiB | run s / peak MiB | speed-up (detect) | same |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["round"], r.get("impl")): r for r in rows}
    for name in dict.fromkeys(r["round"] for r in rows):
        old, new = by.get((name, "pair-by-pair")), by.get((name, "vectorised"))
        ref = new or old
        if ref is None or "error" in ref:
            lines.append(f"| {name} | error: {(ref or {}).get('error', 'no result')} |||||||||| ")
            continue

        def cell(r, k):
            return "–" if r is None or "error" in r else f"{r[k + '_s']} / {r[k + '_peak_mib']}"
        speed = (f"{old['detect_s'] / max(new['detect_s'], 1e-9):.0f}×"
                 if old and new and "error" not in old and "error" not in new else "–")
        same = ("yes" if old["table_hash"] == new["table_hash"] else "NO") if old and new else "–"
        lines.append(f"| {name} | {ref['experts']:,} × {ref['applications']:,} | {ref['pairs']:,} | {ref['hits']:,} | "
                     f"{ref['round_mib']} | {cell(old, 'detect')} | {cell(old, 'run')} | {cell(new, 'detect')} | "
                     f"{cell(new, 'run')} | {speed} | {same} |")
    lines.append("")
    for r in rows:
        if r.get("impl") == "vectorised" and r["pairs"] >= 1_000_000 and "error" not in r:
            met = r["detect_s"] <= TARGET[0] and r["detect_peak_mib"] <= TARGET[1]
            lines.append(f"Target {r['round']} ({r['pairs']:,} pairs): detection ≤ {TARGET[0]:g} s and ≤ "
                         f"{TARGET[1]:g} MB — {'MET' if met else 'NOT MET'} ({r['detect_s']} s, peak "
                         f"{r['detect_peak_mib']} MiB; whole conflicts step {r['run_s']} s, {r['run_peak_mib']} MiB).")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=ROUNDS)
    ap.add_argument("--impl", action="append", choices=["pair-by-pair", "vectorised"])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "conflicts"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one(*a.child)))
        return
    m = machine()
    m["load_before"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for name in a.only or ROUNDS:
        for impl in a.impl or ["pair-by-pair", "vectorised"]:
            res = subprocess.run([sys.executable, __file__, "--child", name, impl], capture_output=True, text=True,
                                 check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
            try:
                rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            except (IndexError, json.JSONDecodeError):
                rows.append({"round": name, "impl": impl,
                             "error": (res.stderr.strip().splitlines() or ["no output"])[-1][:200]})
            print(rows[-1], flush=True)
    m["load_after"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"machine": m, "rows": rows}, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
    out.with_suffix(".md").write_text(report(rows, m), encoding="utf-8")
    print(report(rows, m))


if __name__ == "__main__":
    main()
