"""Demo panels (temporary: the demo's own draw, replaced by the real planner in the next step)."""
from __future__ import annotations

import datetime as dt
import math
import random
from typing import Iterable

import pandas as pd

from reviewer.conflicts.detector import years_before
from reviewer.demo.applications import DemoApp
from reviewer.policy import Policy

REFERENCE_DATE = dt.date(2026, 11, 1)
STAGE_DATES = {"初审评估": dt.date(2026, 10, 20), "现场考察": dt.date(2026, 11, 18), "认定评审": dt.date(2026, 12, 10)}
DEMO_STAGES = ("现场考察", "认定评审")
PANEL_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"), ("role", "角色"))


def excluded_pairs(apps: list[DemoApp], experts: list[dict], history: list[dict], declared: list[dict],
              policy: Policy, as_of: dt.date) -> dict[str, set[str]]:
    """application id -> expert ids a hard rule excludes (our own reading of SPEC §4, for the demo draw only)."""
    c = policy.conflicts
    apps_by_code: dict[str, list[DemoApp]] = {}
    apps_by_name: dict[str, list[DemoApp]] = {}
    for a in apps:
        for code in a.unit_codes:
            apps_by_code.setdefault(code, []).append(a)
        for n in [a.lead.name] + [m["unit_name"] for m in a.members]:
            apps_by_name.setdefault(n, []).append(a)

    def units(code: str | None, name: str | None) -> list[DemoApp]:
        return apps_by_code.get(code, []) if code else apps_by_name.get(name or "", [])

    out: dict[str, set[str]] = {a.app_id: set() for a in apps}
    by_expert: dict[str, list[dict]] = {}
    for h in history:
        by_expert.setdefault(h["expert_id"], []).append(h)
    for e in experts:
        eid = e["expert_id"]
        if e["status"] != "可用" or e["department"] == "自治区":
            for a in apps:
                out[a.app_id].add(eid)
            continue
        own = units(e["employer_credit_code"], e["employer"])
        for a in own:
            out[a.app_id].add(eid)
            for b in apps:
                if b.proposal.field == a.proposal.field:
                    out[b.app_id].add(eid)
        if e["department"]:
            for a in apps:
                if a.proposal.city == e["department"]:
                    out[a.app_id].add(eid)
        for h in by_expert.get(eid, []):
            window = {"任职": c.employment_window_years, "董监高": c.board_role_window_years,
                      "股东": c.board_role_window_years, "合作": c.relation_window_years}.get(h["kind"])
            if window is not None and h["end"] is not None and h["end"] < years_before(as_of, window):
                continue
            if h["kind"] in ("任职", "董监高", "股东", "合作"):
                for a in units(h["org_credit_code"], h["org_name"]):
                    out[a.app_id].add(eid)
            if h["person"]:
                for a in apps:
                    if h["person"] in (a.row["legal_representative"], a.row["centre_head"]):
                        out[a.app_id].add(eid)
    waived = {(d["application_id"], d["expert_id"]) for d in declared if d["kind"] == "豁免"}
    for d in declared:
        if d["kind"] == "回避" or (d["kind"] == "不适宜" and (d["application_id"], d["expert_id"]) not in waived):
            out[d["application_id"]].add(d["expert_id"])
    return out


def _stage_rules(policy: Policy, stage: str) -> dict:
    """Panel rules for a stage (per-stage overrides when the policy has them)."""
    if hasattr(policy, "stage_rules"):
        return policy.stage_rules(stage)
    pr = policy.panel_rules
    return {"min_per_category": pr.min_per_category, "tech_industry_share": pr.tech_industry_share,
            "min_field_matched_technical": pr.min_field_matched_technical, "chair_required": pr.chair_required}


def _stage_date(policy: Policy, stage: str) -> dt.date:
    """The policy's date for the stage, else the demo's (the policy's dates are blank by default)."""
    d = policy.stages.date_of(stage) if hasattr(policy.stages, "date_of") else None
    return d or STAGE_DATES.get(stage, REFERENCE_DATE)


def _available(e: dict, day: dt.date) -> bool:
    return (e["available_from"] is None or e["available_from"] <= day) and \
           (e["available_until"] is None or day <= e["available_until"])


def draw_demo_panels(apps: list[DemoApp], experts: list[dict], excluded: dict[str, set[str]], policy: Policy,
                     seed: int, stages: Iterable[str] = DEMO_STAGES) -> pd.DataFrame:
    """A simple random draw for the demo scores (not the optimiser): per application and stage the
    policy's panel size, every category, a senior field-matched 技术 chair, a second field-matched
    技术/产业 expert, technical + industry experts filling the rest, one expert per employer, loads
    within the per-stage maximum, no expert twice on one application, nobody a hard rule excludes."""
    rng = random.Random(f"panels:{seed}")
    pr = policy.panel_rules
    cats = pr.categories
    rows: list[dict] = []
    seen: dict[str, set[str]] = {a.app_id: set() for a in apps}
    for stage in stages:
        n = policy.panel_size(stage)
        rules = _stage_rules(policy, stage)
        day = _stage_date(policy, stage)
        load: dict[str, int] = {}
        order = list(apps)
        rng.shuffle(order)
        for a in order:
            f = a.proposal.field
            for attempt in range(200):
                pool = [e for e in experts if e["expert_id"] not in excluded[a.app_id]
                        and e["expert_id"] not in seen[a.app_id] and _available(e, day)
                        and load.get(e["expert_id"], 0) < (e["max_load"] or pr.max_load_per_stage)]
                rng.shuffle(pool)
                pool.sort(key=lambda e: load.get(e["expert_id"], 0))   # least loaded first, random among equals
                panel: list[dict] = []
                employers: set[str] = set()

                def take(pred) -> bool:
                    for e in pool:
                        key = e["employer_credit_code"] or e["employer"]
                        if e in panel or key in employers or not pred(e):
                            continue
                        panel.append(e)
                        employers.add(key)
                        return True
                    return False

                matched = lambda e: f in e["fields"].split("、")  # noqa: E731
                ti = pr.tech_industry_categories
                ok = take(lambda e: e["category"] == "技术" and matched(e) and e["title_level"] in pr.chair_title_levels)
                # the second field-matched expert: 技术 when the panel has room, else the one 产业 seat
                second = "技术" if rules["min_field_matched_technical"] >= 2 and n > len(cats) else "产业"
                ok = ok and take(lambda e: e["category"] == second and matched(e))
                for cat in cats:
                    if not any(e["category"] == cat for e in panel):
                        ok = ok and (take(lambda e, cat=cat: e["category"] == cat and matched(e))
                                     or take(lambda e, cat=cat: e["category"] == cat))
                n_ti = math.ceil(n * rules["tech_industry_share"] - 1e-9)
                while ok and len(panel) < n and sum(e["category"] in ti for e in panel) < n_ti:
                    ok = take(lambda e: e["category"] in ti and matched(e)) or take(lambda e: e["category"] in ti)
                while ok and len(panel) < n:
                    ok = take(lambda e: True)
                if ok and len(panel) == n:
                    break
                rng.shuffle(pool)
            else:
                raise RuntimeError(f"demo draw: no panel for {a.app_id} at {stage}")
            for k, e in enumerate(panel):
                load[e["expert_id"]] = load.get(e["expert_id"], 0) + 1
                seen[a.app_id].add(e["expert_id"])
                rows.append(dict(stage=stage, application_id=a.app_id, expert_id=e["expert_id"],
                                 role="组长" if k == 0 else "成员"))
    df = pd.DataFrame(rows, columns=[k for k, _ in PANEL_COLUMNS])
    stage_rank = {s: i for i, s in enumerate(policy.stages.order)}
    df["_s"] = df["stage"].map(stage_rank)
    df["_r"] = (df["role"] != "组长").astype(int)
    return df.sort_values(["_s", "application_id", "_r", "expert_id"]).drop(columns=["_s", "_r"]).reset_index(drop=True)
