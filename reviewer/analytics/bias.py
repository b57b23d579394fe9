"""Relation-bias audit (issue 18 part 1): do experts with a (soft, allowed) relation to an
application score it differently from the rest of its panel?

Input: a *long* table, one row per score (expert, application, score; optional criterion, whose
rows are summed to the expert's total, and panel/stage), and the relations (expert, application,
relation) — a column of the score table or a separate table; see :mod:`reviewer.analytics.relations`
for the relations of a stored round. Works on any such table, on any score scale.

Method (stated in every result as :data:`SCHEME`):

* **Deviation** of a seat (one expert's total on one application in one panel):
  ``d = x - mean(other members' totals)``; panels with fewer than two totals are left out.
  Within a panel the deviations sum to zero, so a relation that does nothing has expected
  deviation 0 whatever the application's quality. If a related expert adds delta points and is the
  only related member of the panel, E[d] = delta.
* **Effect of a relation** = the within-panel (panel fixed-effects) least-squares estimate
  ``sum (r - rbar_p)(x - xbar_p) / sum (r - rbar_p)^2`` (r = 1 on a related seat): with one related
  member in a panel it is exactly that seat's deviation; with several it is not diluted by the
  related members' lifting each other's "others' mean". Its interval is a t interval with a
  standard error clustered by expert (an expert's seats are not independent: their own leniency
  recurs), df = experts with the relation - 1.
* **Permutation p-value** (two-sided): the relation labels are permuted *within panels* — each
  panel keeps its number of related seats, which seats they are is drawn at random — so the
  application's quality and the panel's composition are held fixed; p = (1 + #{|T*| >= |T|}) / (B + 1).
* **Multiple testing**: Benjamini-Hochberg false discovery rate over the relation types (q-values);
  a relation is flagged when q < alpha.
* **Per expert** (for the pool record, never an automatic penalty): the expert's own relation
  effect = mean deviation on their related seats minus on their other seats (their leniency
  removed), with sampling variance s^2 (1/n_rel + 1/n_other), s^2 the pooled within-expert variance
  of the deviations; shrunk toward 0 by the normal empirical-Bayes prior N(0, tau^2) (tau^2 by the
  method of moments over the experts with that relation). Flagged when the posterior interval
  excludes 0 *and* the Benjamini-Hochberg q of the unshrunk z-test over all (expert, relation)
  rows is below alpha.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from reviewer.analytics.relations import relation_name
from reviewer.errors import UserError

__all__ = ["SCHEME", "BiasAudit", "seat_deviations", "relation_test", "benjamini_hochberg", "audit_bias", "report_section",
           "expert_effects"]

SCHEME = ("effect = within-panel estimate (with one related member: expert total minus the mean of the other "
          "panel members' totals), over the related seats; interval: t with standard error clustered by expert; p: permutation of the relation labels "
          "within panels (each panel keeps its count of related seats), two-sided; multiple testing: "
          "Benjamini-Hochberg FDR over relation types; per expert: empirical-Bayes shrinkage toward 0, flagged when "
          "the posterior interval excludes 0 and the BH q over (expert, relation) rows < alpha")
SCHEME_ZH = ("效应 = 组内估计（组内仅一名有关系专家时即其总分减去同组其他专家总分均值）；区间：按专家聚类标准误的 t 区间；"
             "p 值：在各专家组内置换关系标签（每组关系评分个数不变）的双侧置换检验；多重检验：按关系类型的 "
             "Benjamini-Hochberg 错误发现率控制；个人效应：经验贝叶斯向 0 收缩，后验区间不含 0 且 BH q < alpha 时标记")


@dataclass
class BiasAudit:
    relations: pd.DataFrame     # one row per relation type
    experts: pd.DataFrame       # one row per (expert, relation) estimable
    seats: pd.DataFrame         # one row per seat: panel, application, expert, total, deviation, relations
    level: float = 0.95
    alpha: float = 0.05
    n_permutations: int = 0
    seed: int = 0
    scheme: str = SCHEME
    notes: list[str] = field(default_factory=list)


def seat_deviations(totals: pd.DataFrame) -> pd.DataFrame:
    """`totals` (panel, application_id, expert_id, total) -> the same rows of panels with at least two
    totals, with ``n_panel`` and ``deviation`` = total - mean of the other members' totals."""
    t = totals.dropna(subset=["total"]).copy()
    g = t.groupby(["panel", "application_id"], sort=False)["total"]
    n = g.transform("size")
    s = g.transform("sum")
    t = t[n >= 2].copy()
    n, s = n[n >= 2], s[n >= 2]
    t["n_panel"] = n.astype(int)
    t["deviation"] = t["total"] - (s - t["total"]) / (n - 1)
    return t.reset_index(drop=True)


def _permuted_sums(d: np.ndarray, panel: np.ndarray, related: np.ndarray, B: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(B,) sums of d over random relabellings: in each panel as many related seats as observed."""
    codes, _ = pd.factorize(panel)
    k = np.bincount(codes, weights=related.astype(float), minlength=codes.max() + 1).astype(int)
    keep = k[codes] > 0
    d, codes = d[keep], codes[keep]
    out = np.zeros(B)
    sizes = np.bincount(codes)
    for size in np.unique(sizes[sizes > 0]):
        pans = np.flatnonzero(sizes == size)
        sel = np.isin(codes, pans)
        order = np.lexsort((np.arange(sel.sum()), codes[sel]))
        dm = d[sel][order].reshape(len(pans), size)                  # panel x seat
        kk = k[np.sort(pans)]
        ranks = np.argsort(np.argsort(rng.random((B, len(pans), size)), axis=2), axis=2)
        out += np.einsum("bps,ps->b", (ranks < kk[None, :, None]).astype(float), dm)
    return out


def relation_test(x: np.ndarray, panel: np.ndarray, expert: np.ndarray, related: np.ndarray, *,
                  n_permutations: int = 2999, level: float = 0.95,
                  rng: np.random.Generator | None = None) -> dict:
    """Effect of one relation on plain arrays (one entry per seat: total `x`, its panel, its expert,
    whether it carries the relation): the within-panel estimate (module doc), expert-clustered t
    interval, within-panel permutation p."""
    rng = rng or np.random.default_rng(0)
    related = np.asarray(related, dtype=bool)
    x = np.asarray(x, dtype=float)
    n = int(related.sum())
    out = dict(n_seats=n, n_experts=0, n_panels=0, effect=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
               p_perm=np.nan)
    if n == 0:
        return out
    pc = pd.factorize(np.asarray(panel))[0]
    size = np.bincount(pc)
    xc = x - (np.bincount(pc, weights=x) / size)[pc]                 # total minus its panel mean
    rc = related - (np.bincount(pc, weights=related.astype(float)) / size)[pc]
    S = float(np.sum(rc ** 2))
    out.update(n_experts=int(pd.unique(np.asarray(expert)[related]).size),
               n_panels=int(pd.unique(np.asarray(panel)[related]).size))
    if S <= 0:                                                        # every seat of its panels related
        return out
    effect = float(np.sum(rc * xc) / S)
    out["effect"] = effect
    G = out["n_experts"]
    if G >= 2:
        ex = pd.factorize(np.asarray(expert))[0]
        u = np.bincount(ex, weights=rc / S * (xc - effect * rc))
        se = float(np.sqrt(G / (G - 1) * np.sum(u ** 2)))
        t = stats.t.ppf(0.5 + level / 2, G - 1)
        out.update(se=se, ci_low=effect - t * se, ci_high=effect + t * se)
    if n_permutations > 0:
        T = _permuted_sums(xc, pc, related, int(n_permutations), rng)
        obs = float(xc[related].sum())
        out["p_perm"] = float((1 + np.sum(np.abs(T) >= abs(obs) - 1e-9)) / (n_permutations + 1))
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok])]
    m = ok.size
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    q[order] = np.minimum(adj, 1.0)
    return q


def _pooled_within_variance(seats: pd.DataFrame) -> float:
    """Pooled variance of the deviations around each expert's own mean (df = seats - experts)."""
    g = seats.groupby("expert_id")["deviation"]
    resid = seats["deviation"] - g.transform("mean")
    df = len(seats) - g.ngroups
    return float(np.sum(resid ** 2) / df) if df > 0 else float(np.var(seats["deviation"], ddof=1))


def expert_effects(seats: pd.DataFrame, *, level: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    """Per (expert, relation): own relation effect, its empirical-Bayes shrunken value and flag
    (module doc). `seats` as from :func:`audit_bias` (column ``relations``: a tuple per seat)."""
    s2 = _pooled_within_variance(seats)
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    labels = sorted({r for rs in seats["relations"] for r in rs})
    for rel in labels:
        has = seats["relations"].map(lambda rs, rel=rel: rel in rs)
        per = seats.assign(_rel=has).groupby(["expert_id", "_rel"])["deviation"].agg(["mean", "size"]).unstack()
        per = per.dropna()
        if per.empty:
            continue
        raw = (per[("mean", True)] - per[("mean", False)]).to_numpy()
        v = s2 * (1 / per[("size", True)].to_numpy() + 1 / per[("size", False)].to_numpy())
        tau2 = max(0.0, float(np.mean(raw ** 2 - v)))
        w = tau2 / (tau2 + v)
        post, post_sd = w * raw, np.sqrt(w * v)
        for i, e in enumerate(per.index):
            rows.append(dict(expert_id=e, relation=rel, relation_zh=relation_name(rel),
                             n_related=int(per[("size", True)].iat[i]), n_other=int(per[("size", False)].iat[i]),
                             mean_related=float(per[("mean", True)].iat[i]),
                             mean_other=float(per[("mean", False)].iat[i]), raw_effect=float(raw[i]),
                             raw_se=float(np.sqrt(v[i])), tau=float(np.sqrt(tau2)), shrunk_effect=float(post[i]),
                             post_low=float(post[i] - z * post_sd[i]), post_high=float(post[i] + z * post_sd[i]),
                             p_value=float(2 * stats.norm.sf(abs(raw[i]) / np.sqrt(v[i])))))
    cols = ["expert_id", "relation", "relation_zh", "n_related", "n_other", "mean_related", "mean_other", "raw_effect",
            "raw_se", "tau", "shrunk_effect", "post_low", "post_high", "p_value"]
    out = pd.DataFrame(rows, columns=cols)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["flagged"] = ((out["post_low"] > 0) | (out["post_high"] < 0)) & (out["q_value"] < alpha)
    out["evidence"] = [_evidence(x) for x in out.itertuples()]
    return out.sort_values(["flagged", "q_value"], ascending=[False, True], ignore_index=True)


def _evidence(x) -> str:
    return (f"{x.relation_zh} {x.n_related} 份评分比同组其他专家均值 {x.mean_related:+.2f} 分，其余 {x.n_other} 份 "
            f"{x.mean_other:+.2f} 分；个人效应 {x.raw_effect:+.2f}（收缩后 {x.shrunk_effect:+.2f}，区间 "
            f"[{x.post_low:+.2f}, {x.post_high:+.2f}]，q = {x.q_value:.3f}）")


def _seat_table(totals: pd.DataFrame, relations: pd.DataFrame | None) -> pd.DataFrame:
    need = {"panel", "application_id", "expert_id", "total"}
    if not need <= set(totals.columns):
        raise UserError(f"bias audit: totals need columns {sorted(need)}; got {list(totals.columns)}")
    seats = seat_deviations(totals)
    labels: dict[tuple[str, str], tuple[str, ...]] = {}
    if relations is not None and not relations.empty:
        r = relations.dropna(subset=["relation"]).astype({"expert_id": str, "application_id": str, "relation": str})
        r = r.assign(relation=r["relation"].str.strip())
        r = r[r["relation"] != ""].drop_duplicates(["expert_id", "application_id", "relation"])
        on_panel = set(zip(seats["expert_id"].astype(str), seats["application_id"].astype(str)))
        r = r[[k in on_panel for k in zip(r["expert_id"], r["application_id"])]].sort_values("relation")
        for (e, a), rel in zip(zip(r["expert_id"], r["application_id"]), r["relation"]):
            labels[(e, a)] = labels.get((e, a), ()) + (rel,)
    seats["relations"] = [labels.get((str(e), str(a)), ()) for e, a in zip(seats["expert_id"], seats["application_id"])]
    return seats


def audit_bias(totals: pd.DataFrame, relations: pd.DataFrame | None = None, *, level: float = 0.95,
               alpha: float = 0.05, n_permutations: int = 2999, seed: int = 0) -> BiasAudit:
    """The audit (module doc) of expert `totals` (panel, application_id, expert_id, total) against
    `relations` (expert_id, application_id, relation; several rows per pair allowed)."""
    if not 0 < level < 1 or not 0 < alpha < 1:
        raise UserError(f"level {level} / alpha {alpha}: expected numbers between 0 and 1")
    if int(n_permutations) < 0:
        raise UserError(f"permutations {n_permutations}: expected an integer >= 0")
    seats = _seat_table(totals, relations)
    notes = []
    if seats.empty:
        raise UserError("bias audit: no panel has two or more expert totals; nothing to compare")
    x = seats["total"].to_numpy(float)
    panel = (seats["panel"].astype(str) + "\x1f" + seats["application_id"].astype(str)).to_numpy()
    expert = seats["expert_id"].astype(str).to_numpy()
    rows = []
    labels = sorted({r for rs in seats["relations"] for r in rs})
    if not labels:
        notes.append("no seat carries a relation: nothing to test")
    for i, rel in enumerate(labels):
        related = seats["relations"].map(lambda rs, rel=rel: rel in rs).to_numpy()
        res = relation_test(x, panel, expert, related, n_permutations=n_permutations, level=level,
                            rng=np.random.default_rng([int(seed), i]))
        rows.append(dict(relation=rel, relation_zh=relation_name(rel), **res))
    cols = ["relation", "relation_zh", "n_seats", "n_experts", "n_panels", "effect", "se", "ci_low", "ci_high", "p_perm"]
    rel_df = pd.DataFrame(rows, columns=cols)
    rel_df["q_bh"] = benjamini_hochberg(rel_df["p_perm"].to_numpy())
    rel_df["flagged"] = rel_df["q_bh"] < alpha
    experts = expert_effects(seats, level=level, alpha=alpha) if labels else pd.DataFrame()
    return BiasAudit(relations=rel_df, experts=experts, seats=seats, level=level, alpha=alpha,
                     n_permutations=int(n_permutations), seed=int(seed), notes=notes)


def report_section(a: BiasAudit) -> tuple[str, list[str], pd.DataFrame]:
    """The audit as a section of the 评审报告: (heading, paragraphs in Chinese, the relation table
    with Chinese headers), for reviewer.documents to place; the figures are the audit's own."""
    rel = a.relations
    flagged = rel[rel["flagged"]]
    paras = [f"方法：{SCHEME_ZH}。置信水平 {a.level:.0%}，置换 {a.n_permutations} 次，α = {a.alpha}。"]
    if flagged.empty:
        paras.append("各关系类型的评分效应经多重检验校正后均不显著。")
    for x in flagged.itertuples():
        paras.append(f"{x.relation_zh}：{x.n_seats} 份评分平均比同组其他专家高 {x.effect:+.2f} 分"
                     f"（{a.level:.0%} 区间 [{x.ci_low:+.2f}, {x.ci_high:+.2f}]，置换 p = {x.p_perm:.3f}，"
                     f"BH q = {x.q_bh:.3f}），经多重检验校正后显著。")
    ex = a.experts[a.experts["flagged"]] if not a.experts.empty else a.experts
    paras.append(f"专家个人效应：{len(a.experts)} 项可估计，{len(ex)} 项证据充分，记入专家库备查，不自动扣分。")
    paras += [f"{x.expert_id}：{x.evidence}" for x in ex.itertuples()]
    cols = {"relation_zh": "关系", "n_seats": "评分份数", "effect": "效应(分)", "ci_low": "区间下限",
            "ci_high": "区间上限", "p_perm": "置换p值", "q_bh": "BH q值"}
    table = rel[list(cols)].rename(columns=cols).round(3)
    table["结论"] = np.where(rel["flagged"], "显著", "不显著")
    return "关系偏差审计", paras, table
