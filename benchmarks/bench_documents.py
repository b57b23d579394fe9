"""Official documents benchmark: every document of the demo round, .docx and PDF.

    python benchmarks/bench_documents.py [--pdf-sample N]

A fresh SQLite store in a scratch REVIEWER_HOME: the demo round imported, 现场考察 and 认定评审 published from
the demo panels file, scored from the demo scores and aggregated (no solver run: 初审评估 is not
published). Times (wall clock): reading the round from the store, writing every .docx, and converting
a sample of N .docx to PDF in one LibreOffice run (per-document PDF time = that / N). Writes
benchmarks/results/documents.json and documents.md.
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
os.environ["REVIEWER_HOME"] = tempfile.mkdtemp(prefix="bench-documents-home-")

from reviewer.cli.publication import read_panels  # noqa: E402
from reviewer.demo.pipeline import demo_policy  # noqa: E402
from reviewer.documents.official import generate  # noqa: E402
from reviewer.documents.pdf import to_pdf  # noqa: E402
from reviewer.documents.round_facts import read_round  # noqa: E402
from reviewer.intake.io import load_round_from  # noqa: E402
from reviewer.policy import load_policy  # noqa: E402
from reviewer.resources import DEMO_DIR  # noqa: E402
from reviewer.store import Store, repo  # noqa: E402
from reviewer.store.runs import run_aggregation  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
STAGES = ("现场考察", "认定评审")


def demo_store(folder: Path) -> Store:
    st = Store(f"sqlite:///{folder / 'reviewer.sqlite'}")
    data, report = load_round_from(DEMO_DIR / "round2026.xlsx", demo_policy(load_policy()))
    panels = read_panels(DEMO_DIR / "demo_panels.csv")
    raw = pd.read_csv(DEMO_DIR / "scores.csv", dtype=str)
    scores = pd.DataFrame({"stage": raw["阶段"], "application_id": raw["申报编号"], "expert_id": raw["专家编号"],
                           "criterion": raw["评分项"], "family": raw["评分项"].str[0],
                           "score": raw["得分"].astype(float), "confidence": None, "void": False})
    with st.write() as s:
        r = repo.create_round(s, "2026", user="bench", as_of="2026-11-01")
        repo.record_import(s, r, data, report, user="bench", source="round2026.xlsx")
        for stage in STAGES:
            repo.publish(s, r, stage, panels[panels["stage"] == stage], user="bench", source="demo_panels.csv")
        # the published stages' scores only (the demo's 初审评估 panels are not published here)
        repo.submit_scores(s, r, scores[scores["stage"].isin(STAGES)], user="bench", source="scores.csv")
    for stage in STAGES:
        run_aggregation(st, "2026", stage, user="bench", resamples=200)
    return st


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdf-sample", type=int, default=12)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        st = demo_store(Path(tmp))
        t0 = time.perf_counter()
        read_round(st, "2026")
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = generate(st, "2026", Path(tmp) / "out", pdf=False)
        t_docx = time.perf_counter() - t0
        sample = res.docx[:args.pdf_sample]
        t0 = time.perf_counter()
        to_pdf(sample)
        t_pdf = time.perf_counter() - t0
    out = {"documents": len(res.docx), "read_round_s": round(t_read, 2), "all_docx_s": round(t_docx, 2),
           "pdf_sample": len(sample), "pdf_sample_s": round(t_pdf, 2),
           "pdf_per_document_s": round(t_pdf / max(1, len(sample)), 2), "machine": platform.platform(),
           "cpus": os.cpu_count()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "documents.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    (RESULTS / "documents.md").write_text(
        "# Official documents of the demo round\n\n| measure | value |\n|---|---|\n"
        + "".join(f"| {k} | {v} |\n" for k, v in out.items()), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
