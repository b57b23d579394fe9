"""Expert packs of a published stage in the staff app (reviewer.documents.packs, from the store's
published seats) and the experts who get them."""
from __future__ import annotations

import tempfile

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.conflicts import experts_table
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import audit
from reviewer.documents.packs import make_packs as _make_packs
from reviewer.errors import UserError


def published_stages(round_id: str, stages) -> list[str]:
    """Those of `stages` that are published."""
    load_bundle(round_id)
    return [s for s in stages if app_store.publication(round_id, s) is not None]


def published_experts(round_id: str, stage: str) -> pd.DataFrame:
    seats = app_store.published_seats(round_id, stage) if app_store.publication(round_id, stage) else pd.DataFrame(
        columns=["expert_id"])
    ex = experts_table(load_bundle(round_id).data).rename(columns={"name": "expert_name"})
    return ex[ex["expert_id"].isin(set(seats["expert_id"]))][["expert_id", "expert_name", "category", "employer"]] \
        .reset_index(drop=True)


def make_packs(round_id: str, stage: str, user: str | None = None) -> dict:
    """Every expert's pack of a published stage: the zip, the staff summary and a table of what each expert got."""
    load_bundle(round_id)
    if app_store.publication(round_id, stage) is None:
        raise UserError(f"{stage}: not published yet; packs are made from a published assignment only")
    with tempfile.TemporaryDirectory() as tmp:
        res = _make_packs(app_store.store(), round_id, stage, tmp)
        names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
        rows = [{"expert_id": e, "expert_name": names.get(e, ""), "files": len(fs),
                 "file_names": "、".join(p.name for p in fs)} for e, fs in sorted(res.packs.items())]
        out = {"zip": res.zip_path.read_bytes(), "zip_name": res.zip_path.name,
               "summary": res.summary_path.read_bytes(), "summary_name": res.summary_path.name,
               "n_experts": len(res.packs), "experts": pd.DataFrame(rows)}
    audit(round_id, user, "packs", {"stage": stage, "experts": out["n_experts"]})
    return out
