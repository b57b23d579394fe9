"""Audit benchmark: the cost of the keyed chain that covers the facts, on the demo round.

    python benchmarks/bench_audit.py [--db URL] [--repeat N]

A fresh store (SQLite in a scratch folder unless --db) in a scratch REVIEWER_HOME: the demo round
imported, 现场考察 and 认定评审 published from the demo panels file, every seat scored on every rubric
criterion (one `scores` entry), then a correction. Times (wall clock): the import, each publication,
the score submission, and `audit verify` (chain, key signatures, anchor and the replay of every
recorded fact against the tables), with the number of entries, scores and the size of the scores
entry. Writes benchmarks/results/audit.json and audit.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["REVIEWER_HOME"] = tempfile.mkdtemp(prefix="bench-audit-home-")

from reviewer.cli.publication import read_panels  # noqa: E402
from reviewer.demo.pipeline import demo_policy  # noqa: E402
from reviewer.intake.io import load_round_from  # noqa: E402
from reviewer.policy import load_policy  # noqa: E402
from reviewer.resources import DEMO_DIR  # noqa: E402
from reviewer.store import Store, audit, repo  # noqa: E402
from reviewer.store.publishing import publish_file  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def all_scores(seats: pd.DataFrame, pol) -> pd.DataFrame:
    # each stage on its own instrument (现场考察: the verification checklist)
    return pd.DataFrame([{"stage": x.stage, "application_id": x.application_id, "expert_id": x.expert_id,
                          "criterion": c.id, "family": pol.instrument(x.stage).family_of(c.id),
                          "score": round(c.max * 0.7, 1), "confidence": None, "void": False}
                         for x in seats.itertuples(index=False) for c in pol.instrument(x.stage).criteria])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    st = Store(args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}")
    data, report = load_round_from(DEMO_DIR / "round2026.xlsx", demo_policy(load_policy()))
    t = {}
    with st.write() as s:
        r = repo.create_round(s, "2026", user="bench", as_of="2026-11-01")
        _, t["import_s"] = timed(lambda: repo.record_import(s, r, data, report, user="bench", source="round2026.xlsx"))
    panels = read_panels(DEMO_DIR / "demo_panels.csv")
    for stage in ("现场考察", "认定评审"):
        with st.write() as s:
            r = repo.get_round(s, "2026")
            _, t[f"publish_{stage}_s"] = timed(lambda: publish_file(s, r, stage, panels, source="demo_panels.csv",
                                                                     sha256=None, user="bench"))
    with st.write() as s:
        r = repo.get_round(s, "2026")
        pol = repo.round_policy(r)
        seats = pd.concat([repo.published_seats(s, r, x) for x in ("现场考察", "认定评审")])
        scores = all_scores(seats, pol)
        n, t["submit_scores_s"] = timed(lambda: repo.submit_scores(s, r, scores, user="bench", source="sheets"))
    with st.read() as s:
        entries = audit.entries_frame(s)
        runs = [timed(lambda: audit.verify(s)) for _ in range(args.repeat)]
    assert all(v.ok for v, _ in runs), runs[0][0].problems[:3]
    t["verify_s"] = min(x for _, x in runs)
    out = {"machine": platform.platform(), "python": platform.python_version(), "backend": st.backend,
           "entries": len(entries), "scores": int(n), "seats": len(seats),
           "scores_entry_bytes": int(entries[entries["action"] == "scores"]["after"].str.len().sum()),
           **{k: round(v, 3) for k, v in t.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audit.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    (RESULTS / "audit.md").write_text("# Audit chain benchmark (bench_audit.py)\n\n| item | value |\n|---|---|\n" +
                                      "".join(f"| {k} | {v} |\n" for k, v in out.items()), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
