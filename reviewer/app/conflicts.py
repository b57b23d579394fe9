"""The expert pool and conflicts of interest in the staff app (reviewer.conflicts.detector), with
the staff's waivers from the store."""
from __future__ import annotations

import numpy as np
import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import memo
from reviewer.app.imports import load_bundle, store_version
from reviewer.app.rounds import fingerprint
from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.policy import Policy


def _key(name: str, round_id: str, *more) -> tuple:
    """A memo key of the round's conflicts: its inputs (sources.json) and the store's version (waivers and
    imports, from the app or the `reviewer` commands), so a cached table is never stale."""
    return (name, *fingerprint(round_id, "sources.json"), store_version(), *more)


def conflicts(round_id: str) -> ConflictSet:
    return memo(_key("conflicts", round_id),
                lambda: detect_conflicts(load_bundle(round_id).data, load_bundle(round_id).policy))


def conflicts_table(round_id: str) -> pd.DataFrame:
    """`conflicts(round_id).table()` (one row per hit), kept between reruns (a copy: callers may change it)."""
    return memo(_key("conflicts_table", round_id), lambda: conflicts(round_id).table()).copy()


def pool_tables(round_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The 专家库 tab's tables (`pool_by_category`, `pool_by_field`, `experts_table`), kept between reruns."""
    def make():
        b = load_bundle(round_id)
        return pool_by_category(b.data, b.policy), pool_by_field(b.data), experts_table(b.data)
    return tuple(t.copy() for t in memo(_key("pool_tables", round_id), make))


def experts_table(data: RoundData) -> pd.DataFrame:
    rows = [{"expert_id": e.expert_id, "name": e.name, "category": e.category, "title_level": e.title_level,
             "employer": e.employer, "city": e.city, "fields": "、".join(e.fields), "status": e.status,
             "drawable": e.drawable} for e in data.experts]
    return pd.DataFrame(rows, columns=["expert_id", "name", "category", "title_level", "employer", "city", "fields",
                                       "status", "drawable"])


def pool_by_category(data: RoundData, policy: Policy) -> pd.DataFrame:
    df = experts_table(data)
    df["availability"] = np.where(df["drawable"], "可抽取", "不可抽取")
    return df.groupby(["category", "availability"]).size().rename("n").reset_index()


def pool_by_field(data: RoundData) -> pd.DataFrame:
    rows = [{"field": f, "category": e.category} for e in data.experts if e.drawable for f in e.fields]
    df = pd.DataFrame(rows, columns=["field", "category"])
    return df.groupby(["field", "category"]).size().rename("n").reset_index()


def conflicts_overview(round_id: str) -> pd.DataFrame:
    """Per application: excluded experts, eligible experts, hits by rule (kept between reruns)."""
    return memo(_key("conflicts_overview", round_id), lambda: _overview(round_id)).copy()


def _overview(round_id: str) -> pd.DataFrame:
    cs = conflicts(round_id)
    b = load_bundle(round_id)
    per = cs.per_application()
    t = cs.table()
    if not t.empty:
        by_rule = t[t["excludes"]].groupby(["application_id", "rule"]).size().unstack(fill_value=0)
        by_rule = by_rule.drop(columns=["C7"], errors="ignore")
        per = per.merge(by_rule.reset_index(), on="application_id", how="left")
        per["waived"] = per["application_id"].map(t[t["waived"]].groupby("application_id").size()).fillna(0).astype(int)
    names = {a.application_id: a.name for a in b.data.applications}
    per.insert(1, "name", per["application_id"].map(names))
    return per.fillna(0)


def conflicts_of(round_id: str, application_id: str) -> pd.DataFrame:
    """The hits of one application with the experts' names (kept between reruns)."""
    def make():
        t = conflicts_table(round_id)
        t = t[t["application_id"] == application_id].copy()
        names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
        t.insert(1, "expert_name", t["expert_id"].map(names))
        return t.reset_index(drop=True)
    return memo(_key("conflicts_of", round_id, application_id), make).copy()


def add_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str,
               user: str | None = None) -> None:
    b = load_bundle(round_id)
    if rule not in b.policy.conflicts.waivable_rules:
        raise UserError(f"rule {rule}: only {', '.join(b.policy.conflicts.waivable_rules)} may be waived "
                        f"(policy conflicts.waivable_rules)")
    if not (reason or "").strip():
        raise UserError("a waiver needs a reason")
    hits = [h for h in conflicts(round_id).pair(expert_id, application_id) if h.rule == rule]
    if not hits:
        raise UserError(f"{expert_id} – {application_id}: no {rule} conflict to waive")
    app_store.add_waiver(round_id, application_id, expert_id, rule, reason.strip(), user)


def waivers(round_id: str) -> pd.DataFrame:
    load_bundle(round_id)
    return pd.DataFrame(app_store.waivers(round_id), columns=["application_id", "expert_id", "rule", "reason", "user", "at"])


def remove_waiver(round_id: str, application_id: str, expert_id: str, rule: str, reason: str,
                  user: str | None = None) -> None:
    """Withdraw a waiver added here (reason required, audited; refused while a published seat relies on
    it). Plans made before are then out of date."""
    load_bundle(round_id)
    if not (reason or "").strip():
        raise UserError("撤销豁免须写明理由 / withdrawing a waiver needs a reason")
    app_store.remove_waiver(round_id, application_id, expert_id, rule, reason.strip(), user)
