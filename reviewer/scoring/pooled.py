"""Rater calibration that borrows strength from an expert's other scores (issue 18, calib18b).

Why: on 认定评审 each expert scores one (or very few) applications of the stage, so the
stage-only calibration (:class:`reviewer.scoring.calibration.Calibration`, leniency constrained per
connected component) cannot tell an expert's leniency from the application's quality. The store
knows more about the expert: their scores on the same 100-point instrument in the other stages of
the round (初审评估) and in past rounds. :class:`PooledCalibration` fits the leniency on all of them.

Model (a linear mixed model, application x stage as the items)::

    y_ji = v_i + b_j + e_ji,     b_j ~ N(0, tau^2),     e_ji ~ N(0, sigma^2 / w_ji)

* ``i`` is an *item*: one application in one stage of one round (the stage being ranked, and each
  borrowed source: another stage of the round, a past round's stage). The item value ``v_i`` is a
  fixed effect: an application's quality is NOT assumed equal across stages or rounds, only the
  expert's leniency ``b_j`` is shared.
* Assumed: leniency is a trait of the expert, stable across stages and rounds scored on the same
  instrument (the caller passes only scores of that instrument: same criteria and maxima); the
  experts' leniencies are independent draws from N(0, tau^2); noise is independent with variance
  sigma^2 / w (w = the expert's confidence when given, else 1).
* Which scores: the expert totals of the stage being ranked (``fit(df)``) plus ``borrow`` (a long
  table with a ``panel`` column naming each source, e.g. ``2026·初审评估``; incomplete sheets of a
  source are left out, as in the stage itself).
* Variance components (method of moments, deterministic): sigma^2 = the residual variance of the
  fixed-effect fit (MacKay et al. 2017, the :class:`Calibration` of all the items), which only
  experts with two or more items inform; sigma^2 + tau^2 = the pooled within-item variance
  ``sum_i sum_j w (y_ji - ybar_i)^2 / sum_i (n_i - 1)``; tau^2 = the difference, at least 0.
* Estimates: Henderson's mixed-model equations with lambda = sigma^2 / tau^2: eliminate v, solve
  ``(L + lambda I) b = r`` (L the expert Laplacian of :class:`Calibration`) by conjugate gradients,
  then ``v_i = sum_j w (y_ji - b_j) / sum_j w``. The ranked score is ``v_i`` of the stage's items:
  what an expert of average leniency would have given.
* An expert with no other score is shrunk toward 0 by the prior from the others (their b is the
  BLUP ``tau^2 / (tau^2 + sigma^2 / w) x`` their deviation from the item, so it counts for little):
  their score is used with the weight 1 / (sigma^2 + tau^2) of an unknown leniency. When no
  expert has a second score anywhere (nothing to separate leniency from quality) or tau^2 = 0,
  b = 0 and ``v_i`` is the panel's (confidence-weighted) mean: the plain estimator, no error.
* Intervals: ``v_i +- z se_i`` with ``se_i^2 = sigma^2 (1/D_i + a_i' (L + lambda I)^-1 a_i)``, the
  prediction-error variance from the mixed-model equations, *given* the variance components (their
  own uncertainty is not included, so with few linked experts the interval is a little short).
  Exact (dense inverse) up to ``exact_se_max_experts`` experts, else the diagonal approximation.
  When the components cannot be separated the interval is ``mean +- z sqrt(S_w / n_i)``: it
  includes the leniency spread, so it is wide, but it is an interval (the stage-only calibration
  gives none there).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve
from scipy.sparse.linalg import LinearOperator, cg
from scipy.stats import norm

from reviewer.errors import UserError
from reviewer.scoring.calibration import Calibration, _Model, estimate_frame
from reviewer.scoring.scores import APP, CONFIDENCE, EXPERT, PANEL, SCORE, Rounding, normalize_scores

__all__ = ["PooledCalibration", "POOLED_SCHEME_ZH", "instrument_key", "same_instrument_stages", "source_label"]


def instrument_key(rubric: Any) -> tuple:
    """What makes two score sheets the same instrument: the criteria (id and maximum) and the total."""
    return (tuple((c.id, float(c.max)) for c in rubric.criteria), float(rubric.total))


def same_instrument_stages(policy: Any, stage: str) -> list[str]:
    """The policy's other stages scored with the instrument of `stage` (e.g. 认定评审 -> [初审评估]; the
    现场考察 checklist is another instrument and never borrowed)."""
    key = instrument_key(policy.instrument(stage))
    return [s for s in policy.stages.order if s != stage and instrument_key(policy.instrument(s)) == key]


def source_label(round_code: Any, stage: Any) -> str:
    """How a borrowed source is named (the `panel` of the borrowed table): ``2025·认定评审``."""
    parts = [str(x) for x in (round_code, stage) if x is not None and str(x) not in ("", "nan", "None")]
    return "·".join(parts) or "borrowed"

POOLED_SCHEME_ZH = ("跨阶段校准：专家宽严尺度按其在同一百分制评分表上的全部评分（本轮其他阶段、往届批次）估计，"
                    "视为专家稳定的个人特征；无其他评分的专家按其他专家的分布收缩至 0；申报得分为扣除宽严尺度后的得分，"
                    "区间为混合模型的预测误差（给定方差分量）。")


class PooledCalibration(_Model):
    """Calibration borrowing strength from the experts' other scores on the same instrument. See
    the module doc. ``borrow``: the other scores (long table with ``panel`` = source label,
    ``application_id``, ``expert_id``, ``score``, optional ``criterion``/``confidence``), or None."""

    method = "calibrated_pooled"

    def __init__(self, *, borrow: pd.DataFrame | None = None, decimals: int = 2, rounding: Rounding = "half_up",
                 use_confidence: bool = True, level: float = 0.95, tol: float = 1e-10, max_iter: int = 5000,
                 exact_se_max_experts: int = 1500) -> None:
        super().__init__(decimals=decimals, rounding=rounding, use_confidence=use_confidence)
        if not 0 < level < 1:
            raise UserError(f"level {level}: expected a number between 0 and 1")
        if borrow is not None and not isinstance(borrow, pd.DataFrame):
            raise UserError(f"borrow: expected a score table (DataFrame), got {type(borrow).__name__}")
        self.borrow = borrow
        self.level = float(level)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.exact_se_max_experts = int(exact_se_max_experts)

    def __repr__(self) -> str:   # the borrowed table is data, not a setting: its size only
        n = 0 if self.borrow is None else len(self.borrow)
        return f"PooledCalibration(borrow=<{n} rows>, decimals={self.decimals!r}, level={self.level!r})"

    # -- the data --------------------------------------------------------------------------
    def _borrowed_totals(self) -> pd.DataFrame:
        b = self.borrow
        if b is None or b.empty:
            return pd.DataFrame(columns=[PANEL, APP, EXPERT, SCORE])
        if PANEL not in b.columns:
            raise UserError("borrowed scores: missing column 'panel' (the source of each score, e.g. 2026·初审评估); "
                            f"got {list(b.columns)}")
        tot, probs = normalize_scores(b, criteria=self.criteria, source="borrowed scores")
        self.borrow_problems_ = probs
        tot = tot[tot[SCORE].notna()]
        return tot[[c for c in (PANEL, APP, EXPERT, SCORE, CONFIDENCE) if c in tot.columns]]

    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        self.borrow_problems_ = pd.DataFrame()
        totals, problems, apps, ai_t, ej_t, experts_t, y_t, w_t, n_rows = self._prepare(df)
        bt = self._borrowed_totals()
        nA = len(apps)
        # items: the stage's applications first (0..nA-1), then each borrowed (source, application)
        b_items = pd.MultiIndex.from_frame(bt[[PANEL, APP]].astype(str)) if len(bt) else pd.MultiIndex.from_tuples(
            [], names=[PANEL, APP])
        bi_codes, b_uniq = pd.factorize(b_items, sort=True) if len(bt) else (np.zeros(0, np.intp), [])
        experts = pd.Index(sorted(set(map(str, experts_t)) | set(map(str, bt[EXPERT]))))
        ai = np.r_[ai_t, nA + np.asarray(bi_codes, dtype=np.intp)].astype(np.intp)
        ej = np.r_[experts.get_indexer(experts_t[ej_t].astype(str)),
                   experts.get_indexer(bt[EXPERT].astype(str))].astype(np.intp)
        y = np.r_[y_t, bt[SCORE].to_numpy(float)]
        wb = (bt[CONFIDENCE].to_numpy(float) if self.use_confidence and CONFIDENCE in bt.columns
              else np.ones(len(bt)))
        w = np.r_[w_t, np.where(np.isfinite(wb), wb, 1.0)]
        nI, nE = nA + len(b_uniq), len(experts)
        sig2, tau2, s_w, fe = self._components(ai, ej, y, w, nI)
        b, var_b, quad, lam, se_method = self._solve(ai, ej, y, w, nI, nE, nA, sig2, tau2)
        Dv = np.bincount(ai, w, nI)
        scored = Dv[:nA] > 0
        Dv_safe = np.where(Dv > 0, Dv, 1.0)
        v = np.bincount(ai, w * (y - b[ej]), nI) / Dv_safe
        v_t = np.where(scored, v[:nA], np.nan)
        if np.isfinite(lam):
            var_v = sig2 * (1.0 / Dv_safe[:nA] + quad)
        else:   # leniency not separable (or tau^2 = 0): the mean's variance, the leniency spread included
            s2 = sig2 + tau2 if np.isfinite(sig2) else s_w          # S_w estimates sigma^2 + tau^2
            var_v = s2 / Dv_safe[:nA] if np.isfinite(s2) else np.full(nA, np.nan)
        se_v = np.where(scored, np.sqrt(var_v), np.nan)
        z = norm.ppf(0.5 + self.level / 2)
        other = np.zeros(nE, dtype=bool)
        other[ej[ai >= nA]] = True
        n_items = np.bincount(ej, minlength=nE)
        linked = other | (np.bincount(ej[ai < nA], minlength=nE) > 1)
        n_scores = np.bincount(ai_t, minlength=nA)
        n_linked = np.bincount(ai_t, linked[ej[: ai_t.size]].astype(float), nA).astype(int)
        res = estimate_frame(apps, v_t, se_v, z, n_scores, n_rows, self)
        res.insert(res.columns.get_loc("method"), "n_linked", n_linked)
        res["rule"] = np.where(scored, "calibrated across stages/rounds (mixed model, leniency borrowed)", "no scores")
        res["comparable"] = scored
        ex = pd.DataFrame({EXPERT: np.asarray(experts, dtype=object), "leniency": b, "se": np.sqrt(sig2 * var_b)
                           if np.isfinite(sig2) else np.nan, "n_scores": np.bincount(ej[ai < nA], minlength=nE),
                           "n_borrowed": np.bincount(ej[ai >= nA], minlength=nE), "n_items": n_items,
                           "informed": linked})
        ex["ci_low"] = ex["leniency"] - z * ex["se"]
        ex["ci_high"] = ex["leniency"] + z * ex["se"]
        self.experts_ = ex
        self.sigma_ = float(np.sqrt(sig2)) if np.isfinite(sig2) else np.nan
        self.tau_ = float(np.sqrt(tau2)) if np.isfinite(tau2) else np.nan
        self.lambda_ = lam
        self.se_method_ = se_method
        self.fixed_effect_sigma_ = fe
        stage_experts = np.unique(ej[ai < nA])
        self.n_linked_experts_ = int(linked[stage_experts].sum())
        self.n_stage_experts_ = int(stage_experts.size)
        src = bt.groupby(PANEL).agg(n_scores=(SCORE, "size"), n_experts=(EXPERT, "nunique")) if len(bt) else \
            pd.DataFrame(columns=["n_scores", "n_experts"])
        shared = set(map(str, experts[stage_experts]))
        src["n_shared_experts"] = [len(shared & set(map(str, g))) for _, g in bt.groupby(PANEL)[EXPERT]] \
            if len(bt) else []
        self.sources_ = src.reset_index().rename(columns={PANEL: "source"}) if len(bt) else \
            pd.DataFrame(columns=["source", "n_scores", "n_experts", "n_shared_experts"])
        self.warnings_ = self._notes()
        self.result_, self.problems_, self.totals_ = res, problems, totals
        return res

    # -- the estimator ---------------------------------------------------------------------
    def _components(self, ai, ej, y, w, nI) -> tuple[float, float, float, float]:
        """(sigma^2, tau^2, S_w, fixed-effect sigma): see the module doc. sigma^2 is NaN when no
        expert has two items (nothing separates leniency from noise)."""
        n_i = np.bincount(ai, minlength=nI)
        Dv = np.bincount(ai, w, nI)
        ybar = np.bincount(ai, w * y, nI) / np.where(Dv > 0, Dv, 1.0)
        dof_w = float(np.sum(np.clip(n_i - 1, 0, None)))
        s_w = float(np.sum(w * (y - ybar[ai]) ** 2) / dof_w) if dof_w > 0 else np.nan
        if y.size == 0 or np.bincount(ej).max(initial=0) < 2:
            return np.nan, np.nan, s_w, np.nan
        # the fixed-effect fit of all items (items as "applications"); no dense SE needed here
        fe = Calibration(use_confidence=True, exact_se_max_experts=0, tol=self.tol, max_iter=self.max_iter)
        fe.fit(pd.DataFrame({APP: ai.astype(str), EXPERT: ej.astype(str), SCORE: y, CONFIDENCE: w}))
        sig2 = fe.sigma_ ** 2 if np.isfinite(fe.sigma_) else np.nan
        if not np.isfinite(sig2) or not np.isfinite(s_w):
            return np.nan, np.nan, s_w, fe.sigma_
        return sig2, max(s_w - sig2, 0.0), s_w, fe.sigma_

    def _solve(self, ai, ej, y, w, nI, nE, nA, sig2, tau2):
        """(b, var_b factor, quad of the stage's items, lambda, se method) of the mixed-model equations."""
        if not (np.isfinite(sig2) and np.isfinite(tau2)) or tau2 <= 0 or nE == 0:
            return np.zeros(nE), np.zeros(nE), np.zeros(nA), np.inf, "not separable: mean of the panel"
        lam = sig2 / tau2
        W = sparse.csr_matrix((w, (ai, ej)), shape=(nI, nE))
        WT = W.T.tocsr()
        Dv = np.bincount(ai, w, nI)
        Db = np.bincount(ej, w, nE)
        Dv_safe = np.where(Dv > 0, Dv, 1.0)
        rv, rb = np.bincount(ai, w * y, nI), np.bincount(ej, w * y, nE)
        Ldiag = Db - (W.multiply(W)).T @ (1.0 / Dv_safe)
        op = LinearOperator((nE, nE), matvec=lambda x: Db * x - WT @ ((W @ x) / Dv_safe) + lam * x, dtype=float)
        pre = LinearOperator((nE, nE), matvec=lambda r: r / (Ldiag + lam), dtype=float)
        b, info = cg(op, rb - WT @ (rv / Dv_safe), rtol=self.tol, atol=0.0, maxiter=self.max_iter, M=pre)
        if info != 0:
            raise UserError(f"calibration across stages: the solver did not converge in {self.max_iter} iterations")
        A = (sparse.diags(1.0 / Dv_safe) @ W).tocsr()
        At = A[:nA]
        if nE <= self.exact_se_max_experts:
            S = np.diag(Db + lam) - (WT @ A).toarray()
            cf = cho_factor(S)
            Minv = cho_solve(cf, np.eye(nE))
            var_b = np.clip(np.diag(Minv), 0, None)
            Atd = At.toarray()
            quad = np.einsum("ij,ij->i", Atd @ Minv, Atd)
            return b, var_b, quad, lam, "exact"
        var_b = 1.0 / (Ldiag + lam)
        quad = np.asarray(At.multiply(At) @ var_b).ravel()
        return b, var_b, quad, lam, "diagonal approximation"

    def _notes(self) -> list[str]:
        n_src = len(self.sources_)
        head = (f"calibrated_pooled: {self.n_linked_experts_} of {self.n_stage_experts_} experts of this stage have "
                f"other scores on the same instrument ({n_src} other source(s), "
                f"{int(self.sources_['n_scores'].sum()) if n_src else 0} scores)")
        if not np.isfinite(self.lambda_):
            why = ("no expert has a second score" if not np.isfinite(self.sigma_) else
                   "the estimated leniency spread is 0")
            return [head + f"; {why}: leniency cannot be separated, the score is the panel's mean and its interval "
                           "includes the leniency spread"]
        return [head + f"; leniency sd tau = {self.tau_:.2f}, noise sd sigma = {self.sigma_:.2f}; experts with no "
                       "other score are shrunk toward 0 (the prior from the others)"]

    def record(self) -> dict[str, Any]:
        """What the fit used, for a run's record: the sources and the variance components."""
        return {"sources": self.sources_.to_dict("records"), "sigma": self.sigma_, "tau": self.tau_,
                "linked_experts": self.n_linked_experts_, "stage_experts": self.n_stage_experts_}
