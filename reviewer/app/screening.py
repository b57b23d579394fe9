"""Screening in the staff app: every application's checks (reviewer.screening.eligibility) with the
staff's needs-review decisions from the store."""
from __future__ import annotations

import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import memo
from reviewer.app.imports import load_bundle, store_version
from reviewer.app.rounds import fingerprint
from reviewer.errors import UserError
from reviewer.screening.eligibility import ScreeningResult, screen

OUTCOMES = ("pass", "fail", "needs-review")


def _decisions(round_id: str) -> list[dict]:
    load_bundle(round_id)  # the round and its import are in the store
    return app_store.review_decisions(round_id)


def screening(round_id: str) -> ScreeningResult:
    key = ("screen", *fingerprint(round_id, "sources.json"), store_version())

    def make():
        b = load_bundle(round_id)
        over = {(x["application_id"], x["rule"]): (x["outcome"], x["reason"]) for x in _decisions(round_id)}
        return screen(b.data, b.policy, over)

    return memo(key, make)


def review_items(round_id: str) -> pd.DataFrame:
    """Checks that came out needs-review, with the staff decision taken on each (if any); kept between
    reruns under the store's version (a decision, from here or the CLI, makes a new key)."""
    key = ("review_items", *fingerprint(round_id, "sources.json"), store_version())
    return memo(key, lambda: _review_items(round_id)).copy()


def _review_items(round_id: str) -> pd.DataFrame:
    b = load_bundle(round_id)
    raw = screen(b.data, b.policy).checks
    items = raw[raw["outcome"] == "needs-review"].copy()
    dec = {(x["application_id"], x["rule"]): x for x in _decisions(round_id)}
    pairs = list(zip(items.application_id, items.rule))
    items["decision"] = [dec.get(k, {}).get("outcome", "") for k in pairs]
    items["decision_reason"] = [dec.get(k, {}).get("reason", "") for k in pairs]
    items["decided_by"] = [dec.get(k, {}).get("user", "") for k in pairs]
    return items.reset_index(drop=True)


def decide_review(round_id: str, application_id: str, rule: str, outcome: str, reason: str,
                  user: str | None = None) -> None:
    """Staff decision on a needs-review check: pass or fail, with a reason (audited)."""
    if outcome not in ("pass", "fail"):
        raise UserError(f"decision {outcome!r}: expected pass or fail")
    if not (reason or "").strip():
        raise UserError("a decision on a needs-review check needs a reason")
    items = review_items(round_id)
    if not ((items.application_id == application_id) & (items.rule == rule)).any():
        raise UserError(f"{application_id} {rule}: not a needs-review check of this round")
    app_store.decide_review(round_id, application_id, rule, outcome, reason.strip(), user)
