"""Panels in the staff app: plan a stage, locks and forbids, replace a declining expert, publish.

Every plan is a recorded store run (reviewer.store.runs.run_planning: one solver worker, so
`reviewer reproduce RUN_ID` gives the same seats). A stage's plan is what the store says, and
nothing of a plan is kept in files beside the store:

* published: the publication's seats as they stand (replacements included);
* else the draft: the seats of the round's newest planning run of the stage.

A draft is 已过期 (stale) when the round changed after its run in a way that planning reads: a
newer import, a lock or forbid of its stage, a waiver, a needs-review decision, or a seat published
in another stage (`reviewer.app.store.stale_reasons`, from what the run recorded). A stale draft is
not published until it is re-planned, or a staff member confirms the differences with a reason that
goes into the publication's audited reason.

An expert who declines on a draft is forbidden on those applications in that stage (recorded with
the reason) and the stage is re-planned with the draft's seed and settings: one store run again.
On a published stage each replacement is one store transaction (reviewer.store.replacement), the
solver's repair changing as few seats as possible. The tables shown (panels with names, loads,
coverage) are derived from the seats each time, never read back.

A forbid because of a newly found relation (与申报单位有合作项目 ...) is a conflict of the pair
(reviewer.store.pair_conflicts): it is recorded for every stage, published ones included, in one
transaction, with its evidence and the label 【回避·全部阶段】; the pair's published seats are recused
and refilled through the checked 补抽 path. A forbid of one stage only is labelled 【仅本阶段】.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from reviewer.app import pool as app_pool
from reviewer.app import store as app_store
from reviewer.app.base import acting_user, memo
from reviewer.app.conflicts import conflicts
from reviewer.app.imports import Bundle, load_bundle, store_version
from reviewer.app.rounds import audit, fingerprint, policy_for
from reviewer.errors import UserError
from reviewer.panels import service
from reviewer.panels.problem import build_problem, plan_from_panels
from reviewer.panels.tables import coverage_table, loads_table, panels_table
from reviewer.store import pair_conflicts, seat_refill
from reviewer.store.draws import draw_now
from reviewer.store.runs import run_planning
from solver.model import FEASIBLE, OPTIMAL

PLAN_TABLES = ("panels", "loads", "summary", "diagnostics", "coverage")
DIAGNOSTIC_COLS = ["rule", "stage", "application_id", "category", "message_zh", "message_en", "counts"]
SEAT_COLS = ["stage", "application_id", "expert_id", "role"]


@dataclass
class SavedPlan:
    stage: str
    panels: pd.DataFrame
    loads: pd.DataFrame
    summary: pd.DataFrame
    diagnostics: pd.DataFrame
    coverage: pd.DataFrame
    meta: dict

    @property
    def feasible(self) -> bool:
        return bool(self.meta.get("feasible"))

    @property
    def published(self) -> bool:
        return bool(self.meta.get("published"))

    def breakdown(self) -> pd.DataFrame:
        s = self.summary
        b = s[s["item"].astype(str).str.startswith("objective.")].copy()
        b["term"] = b["item"].str.slice(len("objective."))
        b["value"] = pd.to_numeric(b["value"], errors="coerce")
        return b[b["term"].isin(["affinity", "load_balance", "soft_conflict", "continuity"])][["term", "value"]]


# ---------------------------------------------------------------- plans

def _check_stage(round_id: str, stage: str) -> None:
    policy_for(round_id).stage(stage)


def pair_changes(changes: pd.DataFrame) -> list[list[str]]:
    """(application, removed expert, added expert) of a seat diff (`diff_panels`), per application."""
    pairs = []
    for app_id, g in changes.groupby("application_id"):
        out = list(g[g["change"] == "removed"]["expert_id"])
        inn = list(g[g["change"] == "added"]["expert_id"])
        if len(out) != len(inn):
            raise UserError(f"{app_id}: {len(out)} seats out but {len(inn)} in; the published panel must keep its size")
        pairs += [[app_id, o, i] for o, i in zip(out, inn)]
    return pairs


# ---------------------------------------------------------------- a stage's plan, from the store

def plan_state(round_id: str, stage: str) -> tuple[dict | None, dict | None, pd.DataFrame | None]:
    """(run, publication, seats) of a stage: the published seats, else the newest run's seats;
    seats None when there is no plan, empty when the run found none."""
    pub = app_store.publication(round_id, stage)
    if pub is not None:
        run = app_store.plan_run(pub["run_id"]) if pub["run_id"] else None
        return run, pub, app_store.published_seats(round_id, stage)[SEAT_COLS]
    run = app_store.latest_plan_run(round_id, stage)
    if run is None:
        return None, None, None
    return run, None, app_store.run_seats(run["id"], stage)


def stage_seats(round_id: str, stage: str) -> pd.DataFrame | None:
    """The seats (stage, application_id, expert_id, role) of a stage's plan, None without a plan."""
    return plan_state(round_id, stage)[2]


def _tables(round_id: str, b: Bundle, stage: str, seats: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """Panels (with names, affinity, field match), loads and coverage of `seats`, as a planning run makes them."""
    digest = hashlib.sha256(repr(sorted(map(tuple, seats[SEAT_COLS].astype(str).values))).encode()).hexdigest()

    def make():
        inp = build_problem(b.data, conflicts(round_id), b.policy)
        plan = plan_from_panels(inp, seats)
        panels = panels_table(inp, plan)
        loads = loads_table(inp, plan)
        return (panels, loads[loads["stage"] == stage].reset_index(drop=True),
                coverage_table(panels, list(b.policy.panel_rules.categories)))

    return memo(("plan_tables", *fingerprint(round_id, "sources.json"), store_version(), stage, digest), make)


def _summary(run: dict | None) -> pd.DataFrame:
    if run is None:
        return pd.DataFrame(columns=["item", "value"])
    rows = [{"item": k, "value": v} for k, v in (("status", run["status"]), ("path", run["path"]),
                                                 ("objective", run["objective"]), ("gap", run["gap"]),
                                                 ("wall_seconds", round(run["wall_seconds"] or 0, 3)),
                                                 ("seed", run["seed"]))]
    rows += [{"item": f"objective.{k}", "value": v} for k, v in run["breakdown"].items()]
    return pd.DataFrame(rows, columns=["item", "value"])


def _meta(stage: str, run: dict | None, pub: dict | None, stale: list[str]) -> dict:
    p = (run or {}).get("parameters", {})
    feasible = pub is not None or (run is not None and run["status"] in (OPTIMAL, FEASIBLE))
    meta = {"stage": stage, "run_id": run and run["id"], "status": run["status"] if run else "PUBLISHED",
            "feasible": feasible, "path": run and run["path"], "seed": run and run["seed"],
            "randomize": bool(p.get("randomize")), "time_limit": p.get("time_limit"),
            "objective": run and run["objective"], "gap": run and run["gap"],
            "wall_seconds": round((run or {}).get("wall_seconds") or 0.0, 3),
            "locks": sum(1 for x in p.get("locks", []) if x[0] == stage),
            "forbids": sum(1 for x in p.get("forbids", []) if x[0] == stage),
            "include_review": bool(p.get("include_review")), "planned_at": (run or {}).get("created", ""),
            "planned_by": (run or {}).get("created_by", ""), "policy_sha256": (run or {}).get("policy_sha256"),
            "published": pub is not None, "stale": stale}
    if pub is not None:
        meta["published_at"], meta["published_by"] = pub["at"], pub["by"]
    return meta


def saved_plan(round_id: str, stage: str) -> SavedPlan | None:
    """The stage's plan (published, else the draft) with its tables, or None before the first plan."""
    b = load_bundle(round_id)  # the round and its inputs are in the store
    _check_stage(round_id, stage)
    run, pub, seats = plan_state(round_id, stage)
    if seats is None:
        return None
    stale = app_store.stale_reasons(round_id, run) if pub is None and run is not None else []
    if seats.empty:
        panels, loads, coverage = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    else:
        panels, loads, coverage = _tables(round_id, b, stage, seats)
    diagnostics = pd.DataFrame((run or {}).get("summary", {}).get("diagnostics", []), columns=DIAGNOSTIC_COLS)
    meta = _meta(stage, run, pub, stale)
    if pub is not None:
        panels, meta["overrides"] = with_overrides(panels, app_store.overrides(round_id, stage))
    return SavedPlan(stage, panels, loads, _summary(run), diagnostics, coverage, meta)


def with_overrides(panels: pd.DataFrame, overrides: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """The panels with an `override` column (例外 override: RULE – reason, on the seat it came with)
    and the overrides in force as records (application, expert, rule, reason, who, when, text)."""
    records = overrides[["application_id", "expert_id", "rule", "reason", "user", "at", "text"]].to_dict("records")
    if panels.empty:
        return panels, records
    texts: dict[tuple[str, str], list[str]] = {}
    for o in records:
        texts.setdefault((o["application_id"], o["expert_id"]), []).append(o["text"])
    panels = panels.copy()
    panels["override"] = ["; ".join(texts.get((a, e), [])) for a, e in zip(panels["application_id"], panels["expert_id"])]
    return panels, records


# ---------------------------------------------------------------- locks and forbids

PAIR_FORBID = pair_conflicts.PAIR_LABEL   # label of a forbid for a newly found relation: the pair, every stage
STAGE_ONLY = "【仅本阶段】"          # label of a forbid (or lock) of one stage only
SCOPE_ZH = {"pair": "全部阶段（回避）", "stage": "仅本阶段"}


def constraints(round_id: str, stage: str | None = None) -> pd.DataFrame:
    """The active locks and forbids (stage, kind, expert_id, application_id, scope, reason, user, at);
    scope says whether a forbid is the pair's (every stage) or one stage's."""
    load_bundle(round_id)
    c = pd.DataFrame(app_store.seat_rules(round_id),
                     columns=["stage", "kind", "expert_id", "application_id", "reason", "user", "at"])
    c.insert(4, "scope", ["pair" if str(r).startswith(PAIR_FORBID) else "stage" for r in c["reason"]])
    c["scope_zh"] = c["scope"].map(SCOPE_ZH)
    return c if stage is None else c[c["stage"] == stage].reset_index(drop=True)


def _check_editable(round_id: str, stage: str) -> None:
    if app_store.publication(round_id, stage) is not None:
        raise UserError(f"{stage}: 已发布，不可更改 the plan is published and cannot change "
                        f"(replace a declining expert instead)")


def _check_pair(round_id: str, expert_id: str, application_id: str) -> None:
    b = load_bundle(round_id)
    if expert_id not in {e.expert_id for e in b.data.experts}:
        raise UserError(f"专家库中没有专家 {expert_id!r} / unknown expert id {expert_id!r}")
    if application_id not in {a.application_id for a in b.data.applications}:
        raise UserError(f"没有申报 {application_id!r} / unknown application id {application_id!r}")


def set_constraint(round_id: str, stage: str, kind: str, expert_id: str, application_id: str, reason: str,
                   user: str | None = None, all_stages: bool = False) -> list[str]:
    """Lock (force) or forbid an expert-application pair; a manual pick needs a reason.

    all_stages (forbid only): a newly found relation is a conflict of the pair, so the forbid is
    recorded for every stage, published ones included, in one transaction, labelled 【回避·全部阶段】
    with the reason as its evidence (refused while the pair is locked in a stage). A published seat of
    the pair is recused and refilled per the policy's [responses] refill (补抽, the checked path); the
    returned notes name each such stage and what became of the seat. Otherwise the rule is of `stage`
    only, labelled 【仅本阶段】. Returns notes for the staff (the store's notes on a lock)."""
    if kind not in ("lock", "forbid"):
        raise UserError(f"{kind!r}: expected lock or forbid")
    if not (reason or "").strip():
        raise UserError("锁定或禁止须写明理由 / a lock or forbid needs a reason (manual picks are recorded)")
    if all_stages and kind != "forbid":
        raise UserError("只有禁止可以覆盖全部阶段 / only a forbid covers every stage")
    _check_pair(round_id, expert_id, application_id)
    if not all_stages:
        _check_editable(round_id, stage)
        return app_store.add_seat_rules(round_id, kind, [(stage, expert_id, application_id)],
                                        f"{STAGE_ONLY}{reason.strip()}", user)
    published = app_store.published_seat_pairs(round_id)
    stages = policy_for(round_id).stages.order
    done = {(x.stage, x.expert_id, x.application_id) for x in constraints(round_id).itertuples()
            if x.kind == "forbid" and x.scope == "pair"}
    if all((st, expert_id, application_id) in done for st in stages):
        raise UserError(f"{expert_id} × {application_id}：各阶段均已回避 / already forbidden in every stage")
    seated = [st for st in stages if (st, expert_id, application_id) in published]
    recused = app_store.record_pair_conflict(round_id, expert_id, application_id, reason.strip(), user)
    notes = []
    for st in seated:   # the pair's published seat is refilled through the checked path (补抽)
        rep = seat_refill.auto_refill(app_store.store(), round_id, st) if st in recused else None
        got = [p.candidate for p in rep.done if (p.leaving, p.application_id) == (expert_id, application_id)] \
            if rep else []
        notes.append(f"{st} 已发布且 {expert_id} 在 {application_id} 的专家组中：" + (
            f"已补抽替换为 {got[0]} / replaced by {got[0]}" if got else
            "已标记回避，待补抽替换（见答复看板） / recused: replace the seat on the response board"))
    return notes


def remove_constraint(round_id: str, stage: str, expert_id: str, application_id: str, user: str | None = None,
                      reason: str = "") -> None:
    """Withdraw the active lock or forbid of a seat (reason required, audited by the store)."""
    _check_editable(round_id, stage)
    c = constraints(round_id, stage)
    hit = c[(c.expert_id == expert_id) & (c.application_id == application_id)]
    if hit.empty:
        raise UserError(f"{stage} {expert_id} × {application_id}：没有生效的锁定或禁止 / no active lock or forbid")
    if not (reason or "").strip():
        raise UserError("撤销锁定或禁止须写明理由 / withdrawing a lock or forbid needs a reason")
    app_store.remove_seat_rule(round_id, hit.kind.iloc[0], stage, expert_id, application_id, reason.strip(), user)


# ---------------------------------------------------------------- planning and publication

def _other_stage_seats(round_id: str, stage: str) -> list[tuple[str, str, str]]:
    seats = []
    for s in policy_for(round_id).stages.order:
        x = stage_seats(round_id, s) if s != stage else None
        if x is not None and not x.empty:
            seats += [(s, e, a) for e, a in zip(x.expert_id, x.application_id)]
    return seats


def plan_stage(round_id: str, stage: str, *, randomize: bool = False, seed: int = 0, time_limit: float = 30.0,
               include_review: bool = False, echo: Callable[[str], None] = lambda s: None,
               user: str | None = None, action: str = "plan") -> SavedPlan:
    """Solve (or randomly draw) the panels of one stage with the round's locks and forbids; other
    stages' plans stay fixed. The plan is a recorded store run (one solver worker, deterministic), which
    becomes the stage's draft. An infeasible run is the draft too, with its plain-language reasons."""
    _check_stage(round_id, stage)
    if action == "plan":
        _check_editable(round_id, stage)
    if not 1 <= float(time_limit) <= 600:
        raise UserError(f"time limit {time_limit}: expected 1 to 600 seconds")
    load_bundle(round_id)  # also records the round's current inputs in the store
    if randomize:   # 随机抽取: a commitment is recorded first (reviewer verify-draw RUN checks the draw)
        run, _, _ = draw_now(app_store.store(), round_id, user=acting_user(user), stages=[stage], seed=int(seed),
                             time_limit=float(time_limit), include_review=include_review, echo=echo,
                             fixed=_other_stage_seats(round_id, stage))
    else:
        run, _ = run_planning(app_store.store(), round_id, user=acting_user(user), stages=[stage],
                              seed=int(seed), randomize=randomize, time_limit=float(time_limit), workers=1,
                              include_review=include_review, echo=echo,
                              fixed=_other_stage_seats(round_id, stage))
    saved = saved_plan(round_id, stage)
    audit(round_id, user, action, {"stage": stage, "status": run.status, "seed": int(seed), "randomize": bool(randomize),
                                   "time_limit": float(time_limit), "locks": saved.meta["locks"],
                                   "forbids": saved.meta["forbids"], "run_id": run.id})
    return saved


def publish(round_id: str, stage: str, user: str | None = None, confirm_stale: str = "") -> SavedPlan:
    """Publish the draft: the run's seats with its run id (one store transaction). A draft made before
    a later import, lock, forbid, waiver, decision or publication (meta["stale"]) is refused until it
    is re-planned, unless `confirm_stale` gives the staff member's reason for publishing it as it is;
    the differences and that reason go into the publication's audited reason. The store decides, in
    the publishing transaction (reviewer.store.publishing.publish_run), as for `reviewer publish`."""
    p = saved_plan(round_id, stage)
    if p is None or not p.feasible:
        raise UserError(f"{stage}: no feasible plan to publish")
    if p.published:
        raise UserError(f"{stage}: already published")
    reason = f"seed {p.meta.get('seed')}, {'random draw' if p.meta.get('randomize') else 'optimised'}"
    app_store.publish(round_id, stage, p.meta["run_id"], user, reason=reason, confirm_stale=confirm_stale or "")
    return saved_plan(round_id, stage)


def diff_panels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Seats removed and added between two panel tables (stage, application_id, expert_id)."""
    key = ["stage", "application_id", "expert_id"]
    cols = key + [c for c in ("expert_name", "category", "role_zh") if c in new.columns or c in old.columns]
    o = old[[c for c in cols if c in old.columns]].copy()
    n = new[[c for c in cols if c in new.columns]].copy()
    m = o.merge(n[key], on=key, how="left", indicator=True)
    removed = m[m["_merge"] == "left_only"].drop(columns="_merge").assign(change="removed")
    m = n.merge(o[key], on=key, how="left", indicator=True)
    added = m[m["_merge"] == "left_only"].drop(columns="_merge").assign(change="added")
    out = pd.concat([removed, added], ignore_index=True)
    out["change_zh"] = out["change"].map({"removed": "移出", "added": "补入"})
    return out.sort_values(["application_id", "change"], ascending=[True, False], ignore_index=True)


def _repair(round_id: str, stage: str, old: SavedPlan, expert_id: str, application_id: str | None,
            time_limit: float) -> pd.DataFrame:
    """The solver's repair (reviewer.panels.service.repair): the declined seats refilled changing
    as few other seats as possible; every other stage stays as it is. Returns the stage's new panels."""
    b = load_bundle(round_id)
    c = constraints(round_id, stage)
    locks = [(stage, e, a) for e, a in zip(c[c.kind == "lock"].expert_id, c[c.kind == "lock"].application_id)
             if not (e == expert_id and (application_id is None or a == application_id))]
    forbids = [(stage, e, a) for e, a in zip(c[c.kind == "forbid"].expert_id, c[c.kind == "forbid"].application_id)]
    others = [x for s in b.policy.stages.order if s != stage for x in [stage_seats(round_id, s)]
              if x is not None and not x.empty]
    everything = pd.concat([old.panels[SEAT_COLS], *others], ignore_index=True)
    try:
        result, _ = service.repair(b.data, b.policy, everything, [(stage, expert_id, application_id)],
                                     time_limit=time_limit, locks=locks, forbids=forbids,
                                     conflicts=conflicts(round_id), bars=app_pool.round_bars(round_id))
    except UserError as e:
        raise UserError(f"no replacement for {expert_id} fits the panel rules; the plan is unchanged. {e}") from None
    return result.panels[result.panels["stage"] == stage]


def replace_expert(round_id: str, stage: str, expert_id: str, application_id: str | None, reason: str,
                   time_limit: float = 30.0, user: str | None = None) -> tuple[SavedPlan, pd.DataFrame]:
    """An expert declines (one panel, or the whole stage when application_id is None): the solver's
    repair refills the seats changing as few other seats as possible. On a published plan each change is
    recorded in the store at once (one transaction). On a draft the declined seats are forbidden (with the
    reason) and the stage is planned again with the draft's seed and settings."""
    if not (reason or "").strip():
        raise UserError("replacing an expert needs a reason (e.g. 专家因故无法参加)")
    old = saved_plan(round_id, stage)
    if old is None or old.panels.empty:
        raise UserError(f"{stage}: no plan yet")
    p = old.panels
    hit = p[(p.expert_id == expert_id) & ((p.application_id == application_id) if application_id else True)]
    if hit.empty:
        raise UserError(f"{expert_id} is not on {'the panel of ' + application_id if application_id else 'any panel'} "
                        f"in {stage}")
    if old.published and stage == policy_for(round_id).stages.site and app_store.site_team_routes(round_id):
        # a published 现场考察 plan: the routes and days stay; each seat refilled within the team first
        app_store.replace_on_site_team(round_id, stage, expert_id, sorted(set(hit.application_id)), reason.strip(),
                                       user, load_bundle(round_id).data)
        new = saved_plan(round_id, stage)
        return new, diff_panels(p, new.panels)
    if old.published:
        changes = diff_panels(p, _repair(round_id, stage, old, expert_id, application_id, time_limit))
        app_store.replace_seats(round_id, stage, pair_changes(changes), reason.strip(), user,
                                load_bundle(round_id).data)
        return saved_plan(round_id, stage), changes
    # a draft: forbid the declined seats (recorded with the reason) and plan the stage again
    app_store.add_seat_rules(round_id, "forbid", [(stage, expert_id, a) for a in sorted(set(hit.application_id))],
                             f"{STAGE_ONLY}专家请辞 declined: {reason.strip()}", user)
    m = old.meta
    new = plan_stage(round_id, stage, randomize=m["randomize"], seed=int(m["seed"] or 0),
                     time_limit=float(time_limit), include_review=m["include_review"], user=user, action="replace_expert")
    return new, diff_panels(p, new.panels)


def affinity_by_panel(plan: SavedPlan) -> pd.DataFrame:
    p = plan.panels
    if p.empty:
        return pd.DataFrame(columns=["application_id", "mean_affinity", "field_matched", "same_city"])
    return p.groupby("application_id").agg(mean_affinity=("affinity", "mean"), field_matched=("field_match", "sum"),
                                           same_city=("same_city", "sum")).reset_index()


def coverage_long(plan: SavedPlan, categories: list[str]) -> pd.DataFrame:
    c = plan.coverage
    if c.empty:
        return pd.DataFrame(columns=["application_id", "category", "n"])
    return c.melt(id_vars=["stage", "application_id"], value_vars=[x for x in categories if x in c.columns],
                  var_name="category", value_name="n")
