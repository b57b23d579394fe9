"""Simulated scores of the demo round's panels, each stage on its own instrument (the policy's
[stages.gates] instrument: the 现场考察 verification checklist, the 100-point rubric), with planted
scoring quirks, the planted same-city bias and an optional planted veto."""
from __future__ import annotations

import random
from typing import Any, Iterable

import numpy as np
import pandas as pd

from reviewer.intake import schema
from reviewer.policy import Policy, Rubric

SCORE_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"),
                 ("criterion", "评分项"), ("score", "得分"))
_SHEET = ["stage", "application_id", "expert_id"]
# Planted relation bias (issue 18): an expert in the same city as the lead unit (C9, a soft relation,
# allowed on a panel) gives that application this many points more of 100 (spread over the criteria
# in proportion to their maxima, before the 0..max clip and rounding). No other relation is biased.
SAME_CITY_BIAS_POINTS = 5.0


def _keyed(df: pd.DataFrame, columns: Iterable[tuple[str, str]]) -> pd.DataFrame:
    return df.rename(columns={zh: key for key, zh in columns})


def instrument_of(policy: Policy, stage: str) -> Rubric:
    """The instrument a sheet of `stage` is scored with (a stage the policy does not know: [rubric])."""
    return policy.instrument(stage) if stage in policy.stages.order else policy.rubric


class _Profiles:
    """Each application's planted true quality (about 74 of 100, sd 7, from the seed and its id;
    `quality` may override it) and per-criterion deviations (of every instrument's criteria)."""

    def __init__(self, policy: Policy, seed: int, quality: dict[str, dict]):
        # The rubric's criteria first, in their order, so a rubric-only policy draws as it always did.
        insts = [policy.rubric, *(policy.instrument(s) for s in policy.stages.order)]
        self.criteria = list({c.id: c for r in insts for c in r.criteria}.values())
        self.family = {c.id: next(r.family_of(c.id) for r in insts if c in r.criteria) for c in self.criteria}
        self.seed, self.quality = seed, quality

    def __call__(self, app_id: str) -> tuple[float, dict[str, float]]:
        r = random.Random(f"quality:{self.seed}:{app_id}")
        q = min(93.0, max(52.0, r.gauss(74, 7)))
        dev = {c.id: r.gauss(0, 0.05) for c in self.criteria}
        over = self.quality.get(app_id, {})
        q = float(over.get("total", q))
        for c in self.criteria:
            dev[c.id] += float(over.get("families", {}).get(self.family[c.id], 0.0))
        return q / 100, dev


def planted_leniency(seed: int, expert_id: str) -> float:
    """An expert's planted leniency in points of 100: the stable part, the same in every stage (the
    harsh / lenient / erratic raters drawn per stage come on top of it). The first draw of
    `_leniencies`'s generator for the expert, so the two always agree."""
    return random.Random(f"leniency:{seed}:{expert_id}").gauss(0, 0.025) * 100


def _leniencies(a: pd.DataFrame, rng: random.Random, seed: int) -> tuple[dict, list[str], dict[str, Any]]:
    """(expert id -> (bias, noise sd, scores in whole points), the quirky raters, their record).
    The quirky raters are drawn among the busiest experts, so their effect shows across panels."""
    experts_in = sorted(set(a["expert_id"]))
    counts = a.groupby("expert_id").size()
    regulars = sorted(experts_in, key=lambda e: (-int(counts.get(e, 0)), e))[:max(7, len(experts_in) // 10)]
    special = rng.sample(regulars, min(len(regulars), 7))
    harsh, lenient, erratic = sorted(special[:3]), sorted(special[3:6]), special[6:7]
    lean: dict[str, tuple[float, float, bool]] = {}
    for e in experts_in:
        r = random.Random(f"leniency:{seed}:{e}")
        bias = r.gauss(0, 0.025)          # = planted_leniency(seed, e) / 100: keep the two in step
        sd = 0.045
        if e in harsh:
            bias = -0.09 - r.random() * 0.03
        elif e in lenient:
            bias = 0.07 + r.random() * 0.03
        elif e in erratic:
            sd = 0.2
        lean[e] = (bias, sd, r.random() < 0.4)
    return lean, special, {"harsh": harsh, "lenient": lenient, "erratic": erratic}


def _plant_quirks(df: pd.DataFrame, sheets: list[tuple], rng: random.Random, policy: Policy,
                  planted: dict[str, Any]) -> pd.DataFrame:
    """One sheet far below its panel's median, one sheet not returned, one criterion left blank."""
    out_sheet, absent_sheet, blank_sheet = rng.sample(sheets, 3)
    st, app_id, eid = out_sheet
    tot = df.groupby(_SHEET)["score"].sum()
    panel = tot.loc[(st, app_id)].drop(eid)
    target = max(20.0, float(panel.median()) - policy.aggregation.outlier_points - 7.0)
    frac = target / instrument_of(policy, st).total
    m = (df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid)
    maxes = {c.id: c.max for c in instrument_of(policy, st).criteria}
    df.loc[m, "score"] = [round(maxes[cid] * frac, 1) for cid in df.loc[m, "criterion"]]
    planted["outlier"] = {"stage": st, "application_id": app_id, "expert_id": eid,
                          "total": round(float(df.loc[m, "score"].sum()), 1), "panel_median": float(panel.median())}
    st, app_id, eid = absent_sheet
    df = df[~((df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid))]
    planted["absent_sheet"] = {"stage": st, "application_id": app_id, "expert_id": eid}
    st, app_id, eid = blank_sheet
    crit = rng.choice(instrument_of(policy, st).criteria).id
    m = (df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid) & (df["criterion"] == crit)
    df.loc[m, "score"] = np.nan
    planted["blank_score"] = {"stage": st, "application_id": app_id, "expert_id": eid, "criterion": crit}
    return df


def _plant_veto(df: pd.DataFrame, sheets: pd.DataFrame, policy: Policy, veto: tuple[str, str],
                planted: dict[str, Any]) -> tuple[pd.DataFrame, set[tuple[str, str, str]]]:
    """A majority of the panel of `veto` = (stage, application) find the materials untrue: they score the
    stage's first veto item 0 (the gate's veto_share is below one half)."""
    st, app_id = veto
    item = next((c.id for c in instrument_of(policy, st).criteria if c.veto), None)
    if item is None:
        raise ValueError(f"stage {st}'s instrument has no veto item to plant a veto on")
    panel = sorted(sheets.loc[(sheets["stage"] == st) & (sheets["application_id"] == app_id), "expert_id"])
    if not panel:
        raise ValueError(f"no panel of {app_id} in stage {st} to plant a veto on")
    liars = panel[: len(panel) // 2 + 1]
    m = (df["stage"] == st) & (df["application_id"] == app_id) & df["expert_id"].isin(liars) & (df["criterion"] == item)
    df.loc[m, "score"] = 0.0
    planted["veto"] = {"stage": st, "application_id": app_id, "criterion": item, "experts": liars}
    return df, {(st, app_id, e) for e in liars}


def _same_city_pairs(a: pd.DataFrame, apps: pd.DataFrame, exps: pd.DataFrame) -> set[tuple[str, str]]:
    """(application_id, expert_id) seats whose expert lives in the lead unit's city (rule C9)."""
    lead_city = apps.set_index("application_id")["lead_city"].to_dict()
    city = exps.set_index("expert_id")["city"].to_dict()
    return {(app_id, eid) for app_id, eid in zip(a["application_id"], a["expert_id"])
            if lead_city.get(app_id) is not None and lead_city.get(app_id) == city.get(eid)}


def simulate_scores(assignments: pd.DataFrame, applications: pd.DataFrame, experts: pd.DataFrame,
                    policy: Policy, seed: int, quality: dict[str, dict] | None = None,
                    same_city_points: float = SAME_CITY_BIAS_POINTS,
                    veto: tuple[str, str] | None = None, quirks: bool = True) -> pd.DataFrame:
    """Scores, long format (stage, application_id, expert_id, criterion, score), for a panel plan; each
    stage's sheets on that stage's instrument (`policy.instrument(stage)`).

    Each application has a planted true quality (about 74 of 100, sd 7, from the seed and its id;
    `quality` may override it: {application_id: {"total": 82, "families": {"B": -0.25}}}); each
    expert a leniency (small, with a few harsh and lenient experts and one erratic); plus noise.
    Planted quirks (listed in `.attrs["planted"]`): one sheet whose total is more than the policy's
    outlier distance below its panel median, one sheet not returned (its rows absent), and one
    criterion left blank (score NaN); and the relation bias: a same-city expert (C9) scores
    `same_city_points` of 100 higher (``planted["relation_bias"]``; the quirks are never put on
    such a seat, so the bias audit measures the relation alone). `veto` = (stage, application_id): a
    majority of that panel (the first experts by id) score the instrument's first veto item 0 (材料不实:
    the stage's gate vetoes it; ``planted["veto"]``). `quirks=False`: no outlier, absent or blank sheet.
    Headers may be the English keys or the Chinese ones.
    """
    a = _keyed(assignments, SCORE_COLUMNS)[_SHEET].copy()
    apps = _keyed(applications, [(c.key, c.zh) for c in schema.APPLICATIONS.columns])
    exps = _keyed(experts, [(c.key, c.zh) for c in schema.EXPERTS.columns])
    missing = sorted(set(a["application_id"]) - set(apps["application_id"]))
    if missing:
        raise ValueError(f"assignments name applications not in the applications table: {missing[:5]}")
    profile = _Profiles(policy, seed, quality or {})
    rng = random.Random(f"scores:{seed}")
    lean, special, planted = _leniencies(a, rng, seed)
    unknown = sorted(set(lean) - set(exps["expert_id"]))
    if unknown:
        raise ValueError(f"assignments name experts not in the experts table: {unknown[:5]}")

    same_city = _same_city_pairs(a, apps, exps)
    rows = []
    for st, app_id, eid in a.itertuples(index=False):
        q, dev = profile(app_id)
        bias, sd, whole = lean[eid]
        inst = instrument_of(policy, st)
        bias += same_city_points / inst.total if (app_id, eid) in same_city else 0.0
        r = random.Random(f"sheet:{seed}:{st}:{app_id}:{eid}")
        for c in inst.criteria:
            x = min(1.0, max(0.0, q + dev[c.id] + bias + r.gauss(0, sd)))
            s = c.max * x
            s = float(round(s)) if whole else round(s, 1)
            rows.append((st, app_id, eid, c.id, s))
    df = pd.DataFrame(rows, columns=[k for k, _ in SCORE_COLUMNS])

    sheets = a.drop_duplicates().reset_index(drop=True)
    liars: set[tuple[str, str, str]] = set()
    if veto is not None:
        df, liars = _plant_veto(df, sheets, policy, veto, planted)
    candidates = [tuple(s) for s in sheets.itertuples(index=False)
                  if s.expert_id not in special and (s.application_id, s.expert_id) not in same_city
                  and tuple(s) not in liars]
    if quirks and len(candidates) >= 3:
        df = _plant_quirks(df, candidates, rng, policy, planted)
    planted["relation_bias"] = {"relation": "C9", "points": same_city_points,
                                "seats": [list(x) for x in sheets.itertuples(index=False)
                                          if (x.application_id, x.expert_id) in same_city]}
    planted["quality"] = {app_id: round(profile(app_id)[0] * 100, 1) for app_id in sorted(set(a["application_id"]))}
    df = df.reset_index(drop=True)
    df.attrs["planted"] = planted
    return df


def simulate_stages(assignments: pd.DataFrame, applications: pd.DataFrame, experts: pd.DataFrame, policy: Policy,
                    seed: int, quality: dict[str, dict] | None = None,
                    veto: tuple[str, str] | None = None) -> pd.DataFrame:
    """`simulate_scores` one stage at a time (stage column `stage`), so a stage's scores never depend on the
    seats of a later stage (the generator gates each stage on them before the next is planned). The quirky
    raters are drawn per stage; the outlier, absent and blank sheets are planted in the policy's last stage only.
    ``.attrs["planted"]``: the last stage's record, the same-city seats of every stage, the veto."""
    a = _keyed(assignments, SCORE_COLUMNS)
    order = [s for s in policy.stages.order if s in set(a["stage"])]
    frames, planted = [], {}
    seats: list = []
    for st in order:
        sim = simulate_scores(a[a["stage"] == st], applications, experts, policy, seed, quality,
                              veto=veto if veto is not None and veto[0] == st else None,
                              quirks=st == policy.stages.order[-1])
        frames.append(sim)
        got = sim.attrs.get("planted", {})
        seats += got["relation_bias"]["seats"]
        planted = {**planted, **got}
    if not frames:
        return simulate_scores(a, applications, experts, policy, seed, quality)
    df = pd.concat(frames, ignore_index=True)
    planted["relation_bias"] = {**planted["relation_bias"], "seats": seats}
    planted["quality"] = {k: v for f in frames for k, v in f.attrs["planted"]["quality"].items()}
    df.attrs["planted"] = planted
    return df
