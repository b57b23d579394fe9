"""Benchmark: the random draw (随机抽取), side by side with OpenReview's matcher `RandomizedSolver` in one run.

    python benchmarks/bench_lottery.py                      # writes benchmarks/results/lottery.{md,json}
    MATCHER_DIR=/path/to/matcher-harness python benchmarks/bench_lottery.py
    python benchmarks/bench_lottery.py --rounds-only        # part 2 again; part 1 kept from lottery.json

MATCHER_DIR (optional): a folder holding openreview-matcher's `matcher/` package (only matcher/solvers
core, simple_solver, minmax_solver, randomized_solver and bvn_extension are imported) and its compiled
`_bvn_extension` module (cffi; `python matcher/solvers/bvn_extension/bvn_extension_build.py` in that
folder), plus cffi on sys.path (MATCHER_PATH, os.pathsep-separated, is added too). No matcher code is
part of this repository. Without it the matcher columns are left empty.

Part 1, the peer data (../shared/data/peer-review relative to the repo root, or $PEER_REVIEW_DATA): plain assignment, paper demand 3,
reviewer load 6, every pair's probability capped at q = 0.5. Ours: `build_lottery` (the flow lottery:
one scaled min-cost flow = LP(q), then dependent rounding per draw), build time from the loaded
matrix (problem arrays included); draw time over DRAWS seeds. The matcher: RandomizedSolver.solve()
(its LP, its deterministic solve and one sample), median of 3; its sample alone timed separately.
LP(q): HiGHS (scipy) on the same pairs, independently of both.

Part 2, rounds with every hard rule, three stages: the demo round and guangxi_round(150, 3000):
lottery + one draw, the draws' mean objective / the deterministic optimum, violations over the draws.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_demo_round import machine  # noqa: E402
from solver import PanelProblem, SolveOptions, check_plan, solve  # noqa: E402
from solver.compile import compile_problem  # noqa: E402
from solver.randomized import build_lottery  # noqa: E402
from solver.synthetic import guangxi_round  # noqa: E402

Q = 0.5
DEMAND, LOAD = 3, 6
DRAWS = 200
INSTANCES = ["preflib1", "query", "preflib3"]


def peer_dir() -> Path:
    """The shared peer-review data: $PEER_REVIEW_DATA, else ../shared/data/peer-review beside the repo
    (the same place bench_assignment looks)."""
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("PEER_REVIEW_DATA", root / ".." / "shared" / "data" / "peer-review"))


def load(name):
    z = np.load(peer_dir() / f"{name}.npz")
    return z["similarity_matrix"].astype(np.float64), z["mask_matrix"].astype(bool)


def capped_lp(S, M, q=Q):
    """LP(q) by HiGHS: max sum S x, paper demand, reviewer load, 0 <= x <= q, conflicts 0."""
    E, A = S.shape
    r, c = np.nonzero(~M)
    n = len(r)
    A_ub = sp.csr_matrix((np.ones(n), (r, np.arange(n))), shape=(E, n))
    A_eq = sp.csr_matrix((np.ones(n), (c, np.arange(n))), shape=(A, n))
    res = linprog(-S[r, c], A_ub=A_ub, b_ub=np.full(E, LOAD), A_eq=A_eq, b_eq=np.full(A, DEMAND), bounds=(0, q),
                  method="highs")
    return -res.fun


def ours(S, M):
    t0 = time.perf_counter()
    prob = PanelProblem.plain(S, DEMAND, LOAD, excluded=M)
    lot = build_lottery(prob, Q)
    build = time.perf_counter() - t0
    times, totals = [], []
    for seed in range(DRAWS):
        t = time.perf_counter()
        cols = lot.draw_columns(seed)
        times.append(time.perf_counter() - t)
        totals.append(float(lot.comp.col_aff[cols].sum()))
    viol = sum(len(check_plan(prob, lot.draw(s))) for s in range(0, DRAWS, 10))
    return {"method": lot.info["method"], "build_s": build, "draw_ms_median": 1e3 * statistics.median(times),
            "draw_ms_max": 1e3 * max(times), "expected_total": lot.expected_value / lot.comp.scale,
            "mean_total_draws": float(np.mean(totals)), "max_seat_probability": float(lot.marginals.max()),
            "violations": viol, "fractional_arcs": lot.info["fractional_arcs"]}


def matcher_available() -> bool:
    d = os.environ.get("MATCHER_DIR")
    if not d:
        return False
    for p in [d] + [x for x in os.environ.get("MATCHER_PATH", "").split(os.pathsep) if x]:
        sys.path.insert(0, p)
    try:
        from matcher.solvers.randomized_solver import RandomizedSolver  # noqa: F401
    except ImportError as e:
        print(f"matcher not importable from {d}: {e}")
        return False
    return True


def matcher(S, M):
    from matcher.solvers.randomized_solver import RandomizedSolver

    class Encoder:  # as in the matcher's own tests: papers x reviewers, cost = -100 x similarity
        def __init__(self):
            self.cost_matrix = np.rint(-100 * S.T)
            self.constraint_matrix = np.where(M.T, -1, 0)
            self.prob_limit_matrix = np.full(S.T.shape, Q)

    E, A = S.shape
    runs, sample_s = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        sol = RandomizedSolver(np.zeros(E), np.full(E, LOAD), np.full(A, DEMAND), Encoder())
        sol.solve()
        runs.append(time.perf_counter() - t0)
        t = time.perf_counter()
        sol.sample_assignment()
        sample_s.append(time.perf_counter() - t)
    fa = sol.fractional_assignment_matrix
    return {"build_s": statistics.median(runs), "sample_ms_median": 1e3 * statistics.median(sample_s),
            "expected_total": float((fa * S.T).sum()), "max_seat_probability": float(fa.max()),
            "solved": bool(sol.solved)}


def round_row(name, prob, n_draws):
    comp = compile_problem(prob, SolveOptions().scale, None)
    t0 = time.perf_counter()
    lot = build_lottery(prob, Q, comp=comp)
    build = time.perf_counter() - t0
    t = time.perf_counter()
    first = lot.draw(0)
    first_s = time.perf_counter() - t
    vals, viol, counts = [], 0, np.zeros(comp.n_cols)
    for seed in range(n_draws):
        cols = lot.draw_columns(seed)
        counts[cols] += 1
        vals.append(comp.int_objective(cols) / comp.scale)
    viol = len(check_plan(prob, first)) + sum(len(check_plan(prob, lot.draw(s))) for s in range(1, min(n_draws, 10)))
    t = time.perf_counter()
    det = solve(prob, SolveOptions(time_limit=120))
    det_s = time.perf_counter() - t
    return {"round": name, "method": lot.info["method"], "lottery_s": build, "draw_s": first_s,
            "lottery_plus_draw_s": build + first_s, "draws": n_draws, "mean_objective": float(np.mean(vals)),
            "deterministic": det.objective, "deterministic_status": det.status, "deterministic_s": det_s,
            "ratio": float(np.mean(vals)) / det.objective, "bound_ratio": lot.upper_bound / comp.scale / det.objective,
            "max_empirical": float(counts.max() / n_draws), "violations_in_10_draws": viol}


def demo_problem():
    from reviewer.conflicts.detector import detect_conflicts
    from reviewer.demo.pipeline import demo_policy
    from reviewer.intake.io import load_round_from
    from reviewer.panels.problem import build_problem
    from reviewer.policy import load_policy
    from reviewer.screening.eligibility import screen

    policy = demo_policy(load_policy())
    data, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    eligible = screen(data, policy).eligible_ids()
    inp = build_problem(data, detect_conflicts(data, policy), policy,
                        stage_applications={s: eligible for s in policy.stages.order}, cache_dir=None)
    return inp.problem


def main() -> None:
    load_before = os.getloadavg()
    out = ROOT / "benchmarks" / "results"
    rounds_only = "--rounds-only" in sys.argv[1:]
    kept = json.loads((out / "lottery.json").read_text(encoding="utf-8")) if rounds_only else None
    have_matcher = kept["matcher"] if kept else matcher_available()
    peer = kept["peer"] if kept else []
    for name in ([] if kept else INSTANCES):
        S, M = load(name)
        row = {"instance": name, "shape": f"{S.shape[0]}x{S.shape[1]}", "lp_q": capped_lp(S, M), "ours": ours(S, M)}
        row["matcher"] = matcher(S, M) if have_matcher else None
        peer.append(row)
        print(json.dumps(row))
    rounds = [round_row("demo round (29 x 400)", demo_problem(), 100),
              round_row("guangxi 150x3000", guangxi_round(150, 3000), 20)]
    for r in rounds:
        print(json.dumps(r))
    res = {"machine": {**machine(), "load_before": load_before, "load_after": os.getloadavg()}, "q": Q,
           "draws": DRAWS, "peer": peer, "rounds": rounds, "matcher": have_matcher}
    if kept:  # part 1 from the earlier run, with its machine state
        res["peer_machine"] = kept.get("peer_machine", kept["machine"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "lottery.json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "lottery.md").write_text(report(res), encoding="utf-8")
    print(report(res))


def report(res) -> str:
    m = res["machine"]
    L = ["# Random draw (随机抽取): lottery build, draw, expected value — side by side with OpenReview's matcher", "",
         f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory']}; Python {m['python']}, OR-Tools {m['ortools']}, "
         f"scipy {m['scipy']}; {m['date']}. Load average (1/5/15 min) before "
         f"{' / '.join(f'{x:.1f}' for x in m['load_before'])}, after {' / '.join(f'{x:.1f}' for x in m['load_after'])} "
         "(a shared machine: other jobs inflate every time).", "",
         f"Command: `MATCHER_DIR=... python benchmarks/bench_lottery.py` (both tools in one process, one after the "
         f"other per instance). q = {res['q']}; paper demand {DEMAND}, reviewer load {LOAD}. LP(q) = HiGHS LP with every "
         "pair capped at q: no randomized assignment capped at q has a larger expected total.", "",
         *([f"Part 1 (the peer data) is kept from the run of {res['peer_machine']['date']} (load average before "
            f"{' / '.join(f'{x:.1f}' for x in res['peer_machine']['load_before'])}); only the rounds below were "
            "re-run (`--rounds-only`).", ""] if res.get("peer_machine") else []),
         "| instance | ours: method / build s / E[total] ÷ LP(q) / draw ms (median, max) / max seat p / violations | "
         "matcher Randomized: build s / E[total] ÷ LP(q) / sample ms / max seat p |", "|---|---|---|"]
    for r in res["peer"]:
        o, mt, lp = r["ours"], r["matcher"], r["lp_q"]
        mcol = (f"{mt['build_s']:.3f} / {mt['expected_total'] / lp:.4f} / {mt['sample_ms_median']:.1f} / "
                f"{mt['max_seat_probability']:.3f}" if mt else "not run")
        L.append(f"| {r['instance']} ({r['shape']}) | {o['method']} / {o['build_s']:.3f} / "
                 f"{o['expected_total'] / lp:.4f} (draws' mean {o['mean_total_draws'] / lp:.4f}) / "
                 f"{o['draw_ms_median']:.2f}, {o['draw_ms_max']:.2f} / {o['max_seat_probability']:.3f} / "
                 f"{o['violations']} | {mcol} |")
    L += ["", "Rounds with every hard rule (five categories, chair, field-matched technical, one per employer, loads, "
          "stage independence), three stages, q = 0.5:", "",
          "| round | method | lottery + draw s | draws' mean ÷ deterministic optimum | capped bound ÷ optimum | "
          "max empirical seat frequency (draws) | violations (10 draws) | deterministic solve s |",
          "|---|---|---|---|---|---|---|---|"]
    for r in res["rounds"]:
        L.append(f"| {r['round']} | {r['method']} | {r['lottery_plus_draw_s']:.2f} | {r['ratio']:.4f} | "
                 f"{r['bound_ratio']:.4f} | {r['max_empirical']:.2f} ({r['draws']}) | {r['violations_in_10_draws']} | "
                 f"{r['deterministic_s']:.1f} |")
    L += ["", "Targets (issue 14):"]
    for r in res["peer"]:
        o, mt, lp = r["ours"], r["matcher"], r["lp_q"]
        ok = (o["expected_total"] >= 0.995 * lp and o["max_seat_probability"] <= Q and o["draw_ms_median"] <= 10
              and (mt is None or o["build_s"] <= mt["build_s"]))
        L.append(f"- {r['instance']}: build {o['build_s']:.3f} s" + (f" (matcher {mt['build_s']:.3f} s)" if mt else "")
                 + f", E ÷ LP(q) {o['expected_total'] / lp:.4f}, max p {o['max_seat_probability']:.3f}, draw median "
                 f"{o['draw_ms_median']:.2f} ms: {'MET' if ok else 'NOT MET'}")
    d, g = res["rounds"]
    L.append(f"- demo round lottery + draw ≤ 2 s: {d['lottery_plus_draw_s']:.2f} s: "
             f"{'MET' if d['lottery_plus_draw_s'] <= 2 else 'NOT MET'} (draws' mean {d['ratio']:.4f} of the optimum)")
    L.append(f"- 150x3000 ≤ 10 s at ≥ 0.98 of the optimum: {g['lottery_plus_draw_s']:.2f} s, {g['ratio']:.4f}: "
             f"{'MET' if g['lottery_plus_draw_s'] <= 10 and g['ratio'] >= 0.98 else 'NOT MET'}")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
