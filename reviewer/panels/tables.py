"""Tables of a plan, with ids and names: panels (one row per seat), expert loads, the solver's
summary, the plain-language reasons when there is no plan, category coverage; and the panels
table a person gives (a file to publish or repair) in its canonical columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.panels.problem import PlanningInput
from solver.model import Plan

ROLE_ZH = {"chair": "组长", "member": "成员"}
PANEL_HEADERS = {"阶段": "stage", "stage": "stage", "申报编号": "application_id", "application_id": "application_id",
                 "专家编号": "expert_id", "expert_id": "expert_id", "角色": "role", "role": "role"}
SEAT_COLUMNS = ["stage", "application_id", "expert_id", "role"]


def panels_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for r in plan.to_records(inp.problem):
        e, a = inp.experts[r["expert"]], inp.applications[r["application"]]
        rows.append({"stage": r["stage_name"], "application_id": a.application_id, "application_name": a.name,
                     "field": a.field, "lead_city": a.lead_city, "expert_id": e.expert_id, "expert_name": e.name,
                     "category": r["category_name"], "title_level": e.title_level, "employer": e.employer,
                     "expert_city": e.city, "role": r["role"], "role_zh": ROLE_ZH[r["role"]],
                     "affinity": round(r["affinity"], 4), "field_match": r["field_match"],
                     "same_city": r["soft_penalty"] > 0})
    cols = ["stage", "application_id", "application_name", "field", "lead_city", "expert_id", "expert_name",
            "category", "title_level", "employer", "expert_city", "role", "role_zh", "affinity", "field_match",
            "same_city"]
    df = pd.DataFrame(rows, columns=cols)
    if not df.empty:
        order = {s: i for i, s in enumerate(inp.stage_names)}
        df = df.sort_values(["stage", "application_id", "role", "category"],
                            key=lambda c: c.map(order) if c.name == "stage" else c, ignore_index=True)
    return df


def loads_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for r in plan.load_records():
        e = inp.experts[r["expert"]]
        rows.append({"stage": inp.stage_names[r["stage"]], "expert_id": e.expert_id, "expert_name": e.name,
                     "category": e.category, "employer": e.employer, "load": r["load"],
                     "max_load": int(np.asarray(inp.problem.stages[r["stage"]].max_load)[r["expert"]])
                     if np.ndim(inp.problem.stages[r["stage"]].max_load) else int(inp.problem.stages[r["stage"]].max_load)})
    return pd.DataFrame(rows, columns=["stage", "expert_id", "expert_name", "category", "employer", "load", "max_load"])


def summary_table(plan: Plan) -> pd.DataFrame:
    rows = [{"item": "status", "value": plan.status}, {"item": "path", "value": plan.path},
            {"item": "objective", "value": plan.objective}, {"item": "bound", "value": plan.bound},
            {"item": "gap", "value": plan.gap}, {"item": "wall_seconds", "value": round(plan.wall_time, 3)},
            {"item": "seed", "value": plan.seed}]
    rows += [{"item": f"objective.{k}", "value": v} for k, v in plan.breakdown.items()]
    if plan.path == "lp_randomized":  # what the draw was drawn from: the lottery and its guarantees
        rows += [{"item": f"draw.{k}", "value": plan.info[k]} for k in
                 ("method", "q", "support", "plan_index", "expected_ratio", "expected_ratio_to_bound",
                  "max_marginal", "forced_above_q", "lottery_build_seconds")
                 if plan.info.get(k) is not None]
    return pd.DataFrame(rows)


def diagnostics_table(inp: PlanningInput, plan: Plan) -> pd.DataFrame:
    rows = []
    for d in plan.diagnostics:
        rows.append({"rule": d.rule,
                     "stage": inp.stage_names[d.stage] if 0 <= d.stage < len(inp.stage_names) else "",
                     "application_id": inp.applications[d.application].application_id if d.application >= 0 else "",
                     "category": inp.problem.category_names[d.category] if d.category >= 0 else "",
                     "message_zh": d.message_zh, "message_en": d.message_en,
                     "counts": ", ".join(f"{k}={v}" for k, v in d.counts.items())})
    return pd.DataFrame(rows, columns=["rule", "stage", "application_id", "category", "message_zh", "message_en", "counts"])


def coverage_table(panels: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Experts per category per panel (the heatmap of the app), one row per stage x application."""
    if panels.empty:
        return pd.DataFrame(columns=["stage", "application_id", *categories])
    t = panels.pivot_table(index=["stage", "application_id"], columns="category", values="expert_id",
                           aggfunc="count", fill_value=0)
    return t.reindex(columns=categories, fill_value=0).reset_index()


def seat_frame(raw: pd.DataFrame, source: str = "panels table") -> pd.DataFrame:
    """A panels table as people give it (阶段/stage, 申报编号/application_id, 专家编号/expert_id,
    角色/role with 组长/成员 or chair/member; role optional = member) in the canonical columns
    stage, application_id, expert_id, role (text, surrounding spaces removed)."""
    df = raw.rename(columns={c: PANEL_HEADERS.get(str(c).strip(), c) for c in raw.columns})
    missing = [c for c in ("stage", "application_id", "expert_id") if c not in df.columns]
    if missing:
        raise UserError(f"{source}: 缺少列 missing column(s) {missing}; expected 阶段, 申报编号, 专家编号, 角色")
    df = df.copy()
    if "role" not in df.columns:
        df["role"] = "member"
    for c in SEAT_COLUMNS:
        df[c] = df[c].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    df["role"] = df["role"].map(lambda v: {"组长": "chair", "成员": "member", "": "member"}.get(v, v))
    bad = df[~df["role"].isin(["chair", "member"])]
    if len(bad):
        raise UserError(f"{source}: row {bad.index[0] + 2}, column 角色: {bad['role'].iloc[0]!r}; expected 组长 or 成员")
    blank = df[(df[["stage", "application_id", "expert_id"]] == "").any(axis=1)]
    if len(blank):
        raise UserError(f"{source}: row {blank.index[0] + 2}: 阶段, 申报编号 and 专家编号 must not be blank")
    return df[SEAT_COLUMNS].reset_index(drop=True)


def plan_seats(panels: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """The seats of a panels table as sorted (stage, application_id, expert_id, role) text tuples:
    what a planning run's result hash is computed over."""
    return sorted((str(x.stage), str(x.application_id), str(x.expert_id), str(x.role))
                  for x in panels[SEAT_COLUMNS].itertuples(index=False))
