"""Builders for the expert-pool tests: a small store with rounds, a pool file, published seats."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reviewer.intake.io import ImportReport
from reviewer.intake.schema import EXPERTS
from reviewer.store import Store, repo
from tests.test_planning import small_round

USER = "张三"


def write_pool_file(path: Path, experts) -> Path:
    """The experts as a 专家库 CSV with the Chinese headers staff use."""
    rows = []
    for e in experts:
        d = e.model_dump(mode="json")
        rows.append({c.zh: ("；".join(d[c.key]) if c.key == "fields" else d.get(c.key)) for c in EXPERTS.columns})
    pd.DataFrame(rows, columns=[c.zh for c in EXPERTS.columns]).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def small_store(path: Path) -> Store:
    return Store(f"sqlite:///{path}")


def add_round(st: Store, code: str, as_of: str, data=None):
    """A round dated `as_of` with the small round imported; returns the data."""
    data = data or small_round()
    with st.write() as s:
        r = repo.create_round(s, code, user=USER, as_of=as_of)
        repo.record_import(s, r, data, ImportReport(), user=USER, source="small_round")
    return data


def publish_seats(st: Store, code: str, seats: list[tuple[str, str, str]], stage: str = "初审评估") -> None:
    """Publish (application, expert, role) seats of `stage` straight through the store's writer."""
    frame = pd.DataFrame([{"stage": stage, "application_id": a, "expert_id": e, "role": role} for a, e, role in seats])
    with st.write() as s:
        repo.publish(s, repo.get_round(s, code), stage, frame, user=USER, reason="历史批次")
