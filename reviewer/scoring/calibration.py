"""Rater-effect calibration and Bayesian expected ranks (issue 4 item 2).

:class:`Calibration` — MacKay, Kenna, Low & Parker (2017), "Calibration with confidence: a
principled method for panel assessment", R. Soc. open sci. 4:160760.  Model
``score_ij = v_i + b_j + e_ij`` with ``Var(e_ij) = sigma^2 / w_ij`` where ``w_ij`` is the expert's
confidence (1 when not given).  Fitted by weighted least squares over all panels at once, with the
leniencies ``b_j`` constrained to mean zero in each connected component of the expert-application
graph.  Solved by eliminating ``v`` and running conjugate gradients on the (expert x expert) Schur
complement, a weighted graph Laplacian, applied matrix-free through the sparse score matrix
(never formed), Jacobi preconditioned.  ``v_i`` is the calibrated score: what an expert of average
leniency would have given.  Standard errors: exact (dense pseudo-inverse of the Laplacian) when
the number of experts is at most ``exact_se_max_experts``, otherwise the diagonal approximation
``Var(b_j) ~ sigma^2 / L_jj`` (slightly too small when experts overlap little); the column
``se_method`` says which.  When the graph is not connected, values of different components are
not comparable (each component has its own zero) and ``warnings_`` says which applications and
experts are apart.

:class:`BayesRank` — Heyard, Ott, Salanti & Egger (2022), "Rethinking the funding line at the
Swiss National Science Foundation: Bayesian ranking and lottery", Statistics and Public Policy
9(1).  Hierarchical model ``score_ij = theta_i + b_j + e_ij`` with ``theta_i ~ N(mu, tau^2)``,
``b_j ~ N(0, tau_b^2)``, ``e_ij ~ N(0, sigma^2 / w_ij)``, flat prior on ``mu`` and weak
inverse-gamma priors ``IG(1, 0.01 Var(y))`` on the three variances.  Posterior by a blocked Gibbs
sampler written in numpy (all conditionals are conjugate; every step is vectorised over
applications / experts), seeded and reproducible.  From each draw of theta the applications are
ranked (1 = best); the expected rank ``ER`` is the posterior mean rank, with an equal-tailed
credible interval, and ``SUCRA = (N - ER) / (N - 1)``.  Given the number of fundable slots n, the
funding line lies between rank n and n + 1: applications whose rank interval lies wholly within
the first n ranks are *funded*, those whose interval crosses the line form the *lottery* group
(a random draw among them fills the remaining ``lottery_slots_``; Heyard et al. draw the line
at the ER of the last fundable proposal, we use the rank scale so integer rank bounds compare
cleanly), the rest are *not funded*.  See :func:`lottery_groups` for the edge cases.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import LinearOperator, cg
from scipy.stats import norm

from reviewer.errors import UserError
from reviewer.scoring.scores import APP, CONFIDENCE, EXPERT, SCORE, Rounding, check_rounding, normalize_scores, round_half

__all__ = ["Calibration", "BayesRank", "connectivity", "lottery_groups"]


class _Model:
    method = "model"

    def __init__(self, *, decimals: int = 2, rounding: Rounding = "half_up", use_confidence: bool = True) -> None:
        check_rounding(rounding)
        self.decimals = int(decimals)
        self.rounding = rounding
        self.use_confidence = bool(use_confidence)
        self.criteria: list[str] | None = None
        self.families: dict[str, str] | None = None

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def set_params(self, **params: Any):
        for k, v in params.items():
            if k not in self.get_params():
                raise UserError(f"{type(self).__name__}: unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k not in ("criteria", "families"))
        return f"{type(self).__name__}({ps})"

    def with_rubric(self, policy: Any):
        self.criteria = [c.id for c in policy.rubric.criteria]
        self.families = {c.id: f.id for f in policy.rubric.families for c in f.criteria}
        return self

    def _prepare(self, df: pd.DataFrame):
        totals, problems = normalize_scores(df, criteria=self.criteria, families=self.families)
        apps_all = pd.Index(pd.unique(totals[APP])).sort_values()
        present = totals[totals[SCORE].notna()]
        ai = apps_all.get_indexer(present[APP])
        ej, experts = pd.factorize(present[EXPERT], sort=True)
        y = present[SCORE].to_numpy(dtype=float)
        if self.use_confidence and CONFIDENCE in present.columns:
            w = present[CONFIDENCE].to_numpy(dtype=float)
        else:
            w = np.ones_like(y)
        n_rows = totals.groupby(APP, observed=True).size().reindex(apps_all).to_numpy()
        return totals, problems, apps_all, ai, ej.astype(np.intp), pd.Index(experts), y, w, n_rows


def estimate_frame(apps, v: np.ndarray, se: np.ndarray, z: float, n_scores: np.ndarray, n_rows: np.ndarray,
                   est) -> pd.DataFrame:
    """The columns every model-based estimator returns per application (score rounded as the policy
    says, raw value, s.e., interval, counts, method); the estimator adds its own after them."""
    res = pd.DataFrame({APP: np.asarray(apps, dtype=object)})
    res[SCORE] = round_half(v, est.decimals, est.rounding)
    res["score_raw"] = v
    res["se"] = se
    res["ci_low"] = v - z * se
    res["ci_high"] = v + z * se
    res["n_scores"] = n_scores
    res["n_absent"] = n_rows - n_scores
    res["n_used"] = n_scores
    res["method"] = est.method
    return res


def connectivity(ai: np.ndarray, ej: np.ndarray, n_apps: int, n_experts: int):
    """Connected components of the bipartite expert-application graph.
    Returns (n_components, component label of each application, of each expert)."""
    n = n_apps + n_experts
    g = sparse.coo_matrix((np.ones(ai.size, dtype=np.int8), (ai, n_apps + ej)), shape=(n, n)).tocsr()
    nc, lab = connected_components(g, directed=False)
    # relabel by size (largest component = 0) for readable reports
    sizes = np.bincount(lab, minlength=nc)
    order = np.argsort(-sizes, kind="stable")
    remap = np.empty(nc, dtype=np.intp)
    remap[order] = np.arange(nc)
    lab = remap[lab]
    return nc, lab[:n_apps], lab[n_apps:]


def _describe_components(nc, comp_a, comp_e, apps, experts, max_ids: int = 8) -> list[str]:
    if nc <= 1:
        return []
    msgs = [f"the expert-application graph has {nc} separate components: calibrated values (and leniencies) "
            f"are comparable only within a component, not across components"]
    for c in range(nc):
        a = apps[comp_a == c]
        e = experts[comp_e == c]
        aa = ", ".join(map(str, a[:max_ids])) + (" ..." if len(a) > max_ids else "")
        ee = ", ".join(map(str, e[:max_ids])) + (" ..." if len(e) > max_ids else "")
        msgs.append(f"component {c}: {len(a)} application(s) [{aa}] scored by {len(e)} expert(s) [{ee}]")
    return msgs


class Calibration(_Model):
    """Weighted least-squares rater-effect calibration (MacKay et al. 2017). See module doc."""

    method = "calibrated"

    def __init__(self, *, decimals: int = 2, rounding: Rounding = "half_up", use_confidence: bool = True,
                 level: float = 0.95, tol: float = 1e-10, max_iter: int = 5000,
                 exact_se_max_experts: int = 1500) -> None:
        super().__init__(decimals=decimals, rounding=rounding, use_confidence=use_confidence)
        if not 0 < level < 1:
            raise UserError(f"level {level}: expected a number between 0 and 1")
        self.level = float(level)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.exact_se_max_experts = int(exact_se_max_experts)

    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        totals, problems, apps, ai, ej, experts, y, w, n_rows = self._prepare(df)
        nA, nE, N = len(apps), len(experts), y.size
        Dv = np.bincount(ai, w, nA)
        Db = np.bincount(ej, w, nE)
        scored = Dv > 0
        rv = np.bincount(ai, w * y, nA)
        rb = np.bincount(ej, w * y, nE)
        nc_all, comp_a, comp_e = connectivity(ai, ej, nA, nE)
        # unscored applications are isolated nodes: not a "component" worth reporting
        comp_a = np.where(scored, comp_a, -1)
        comps = np.unique(np.r_[comp_a[scored], comp_e]) if N else np.zeros(0, dtype=np.intp)
        remap = np.full(max(nc_all, 1), -1, dtype=np.intp)
        remap[comps] = np.arange(comps.size)
        comp_a = np.where(scored, remap[comp_a], -1)
        comp_e = remap[comp_e]
        nc = len(comps)
        W = sparse.csr_matrix((w, (ai, ej)), shape=(nA, nE))
        WT = W.T.tocsr()
        Dv_safe = np.where(scored, Dv, 1.0)
        m_c = np.bincount(comp_e, minlength=nc).astype(float)
        invm = 1.0 / m_c[comp_e]
        Ldiag = Db - (W.multiply(W)).T @ (1.0 / Dv_safe)

        def matvec(b):
            return Db * b - WT @ ((W @ b) / Dv_safe) + np.bincount(comp_e, b, nc)[comp_e] * invm

        rhs = rb - WT @ (rv / Dv_safe)
        if nE:
            op = LinearOperator((nE, nE), matvec=matvec, dtype=float)
            pre = LinearOperator((nE, nE), matvec=lambda r: r / (Ldiag + invm), dtype=float)
            b, info = cg(op, rhs, rtol=self.tol, atol=0.0, maxiter=self.max_iter, M=pre)
            if info != 0:
                raise UserError(f"calibration: the solver did not converge in {self.max_iter} iterations; "
                                f"the expert-application graph may be too weakly connected")
            # exact mean-zero per component (remove the tiny CG residual)
            b = b - (np.bincount(comp_e, b, nc) / m_c)[comp_e]
        else:
            b = np.zeros(0)
        v = np.where(scored, (rv - W @ b) / Dv_safe, np.nan)
        resid = y - v[ai] - b[ej]
        dof = N - int(scored.sum()) - nE + nc
        sigma2 = float(np.sum(w * resid**2) / dof) if dof > 0 else np.nan
        var_b, quad, se_method = _variance_terms(W, WT, Db, Dv_safe, Ldiag, comp_e, nc,
                                                 exact=0 < nE <= self.exact_se_max_experts and N <= 5_000_000)
        se_b = np.sqrt(sigma2 * var_b)
        se_v = np.where(scored, np.sqrt(sigma2 * (1.0 / Dv_safe + quad)), np.nan)
        z = norm.ppf(0.5 + self.level / 2)
        n_scores = np.bincount(ai, minlength=nA)
        res = estimate_frame(apps, v, se_v, z, n_scores, n_rows, self)
        res["rule"] = np.where(scored, "calibrated (WLS, expert leniency removed)", "no scores")
        res["component"] = comp_a
        big = 0
        res["comparable"] = np.where(scored, comp_a == big, False) if nc > 1 else scored
        raw_mean = np.bincount(ej, w * y, nE) / np.where(Db > 0, Db, 1)
        ex = pd.DataFrame({EXPERT: np.asarray(experts, dtype=object), "leniency": b, "se": se_b,
                           "ci_low": b - z * se_b, "ci_high": b + z * se_b,
                           "n_scores": np.bincount(ej, minlength=nE), "mean_score": raw_mean,
                           "component": comp_e, "se_method": se_method})
        self.experts_ = ex
        self.sigma_ = float(np.sqrt(sigma2)) if np.isfinite(sigma2) else np.nan
        self.n_components_ = nc
        self.warnings_ = _describe_components(nc, comp_a, comp_e, np.asarray(apps), np.asarray(experts))
        if dof <= 0 and N:
            self.warnings_.append("calibration: no residual degrees of freedom (too few scores for "
                                  f"{nA} applications and {nE} experts); standard errors are unknown")
        self.se_method_ = se_method
        self.result_, self.problems_, self.totals_ = res, problems, totals
        return res


def _variance_terms(W, WT, Db, Dv_safe, Ldiag, comp_e, nc: int, exact: bool):
    """Variance factors of the leniencies (var_b) and the quadratic terms of the calibrated scores'
    variance (quad), both to be scaled by sigma^2: exact (dense pseudo-inverse of the Laplacian)
    or the diagonal approximation."""
    nA, nE = W.shape
    if exact:
        A = sparse.diags(1.0 / Dv_safe) @ W
        L = np.diag(Db) - (WT @ A).toarray()
        P = np.zeros((nE, nE))
        for c in range(nc):
            idx = np.flatnonzero(comp_e == c)
            P[np.ix_(idx, idx)] = 1.0 / len(idx)
        M = np.linalg.inv(L + P) - P
        var_b = np.clip(np.diag(M), 0, None)
        quad = np.asarray((A @ M * A.toarray()).sum(axis=1)).ravel() if nA * nE <= 30_000_000 else \
            np.asarray((A.multiply(A)) @ var_b).ravel()
        se_method = "exact"
    else:
        var_b = 1.0 / np.where(Ldiag > 1e-12, Ldiag, np.inf)
        quad = np.asarray((W.multiply(W)) @ var_b).ravel() / Dv_safe**2
        se_method = "diagonal approximation"
    return var_b, quad, se_method


def lottery_groups(er, r_lo, r_hi, pm, ids, n_slots):
    """Funding line between rank n_slots and n_slots + 1 (Heyard et al. 2022, on the rank scale).

    Funded: rank interval wholly within the slots (upper bound <= n_slots); should more than
    n_slots qualify, the best n_slots by ER are funded and the others join the lottery.  Lottery:
    the interval crosses the line (lower bound <= n_slots < upper bound).  Not funded: the rest.
    If no slot is left the candidates are not funded; if there are no more candidates than slots
    left there is no draw: all are funded, and any slot still free goes to the next best by ER.
    Returns (group per application, line = n_slots + 0.5)."""
    n = er.size
    order = np.lexsort((ids.astype(str), -pm, er))
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(1, n + 1)
    if n_slots <= 0:
        return np.full(n, "not funded", dtype=object), 0.5
    if n_slots >= n:
        return np.full(n, "funded", dtype=object), n_slots + 0.5
    funded = r_hi <= n_slots
    lottery = ~funded & (r_lo <= n_slots)
    if funded.sum() > n_slots:
        fo = [j for j in order if funded[j]]
        for j in fo[n_slots:]:
            funded[j] = False
            lottery[j] = True
    grp = np.where(funded, "funded", np.where(lottery, "lottery", "not funded")).astype(object)
    left = n_slots - int(funded.sum())
    if left == 0:
        grp[lottery] = "not funded"
    elif int(lottery.sum()) <= left:
        grp[lottery] = "funded"
        left -= int(lottery.sum())
        for j in order:
            if left <= 0:
                break
            if grp[j] != "funded":
                grp[j] = "funded"
                left -= 1
    return grp, n_slots + 0.5


class BayesRank(_Model):
    """Bayesian expected rank with a Gibbs sampler (Heyard et al. 2022). See module doc.

    ``n_slots``: number of fundable / recommendable slots (the funding line); None = no line.
    ``credible``: mass of the credible intervals (Heyard et al. report 50% intervals for the
    rank; DEFAULT 0.5 here for the lottery group, set 0.9 or 0.95 for a wider one).
    """

    method = "bayes"

    def __init__(self, n_slots: int | None = None, *, draws: int = 2000, burn: int = 500, thin: int = 1,
                 credible: float = 0.5, seed: int = 0, prior_shape: float = 1.0, prior_scale_frac: float = 0.01,
                 decimals: int = 2, rounding: Rounding = "half_up", use_confidence: bool = True) -> None:
        super().__init__(decimals=decimals, rounding=rounding, use_confidence=use_confidence)
        if n_slots is not None and int(n_slots) < 0:
            raise UserError(f"n_slots {n_slots}: expected an integer >= 0")
        if not 0 < credible < 1:
            raise UserError(f"credible {credible}: expected a number between 0 and 1")
        if int(draws) < 10 or int(burn) < 0 or int(thin) < 1:
            raise UserError(f"draws {draws}, burn {burn}, thin {thin}: expected draws >= 10, burn >= 0, thin >= 1")
        self.n_slots = None if n_slots is None else int(n_slots)
        self.draws = int(draws)
        self.burn = int(burn)
        self.thin = int(thin)
        self.credible = float(credible)
        self.seed = int(seed)
        self.prior_shape = float(prior_shape)
        self.prior_scale_frac = float(prior_scale_frac)

    def _gibbs(self, ai, ej, y, w, nA, nE, rng):
        N = y.size
        Dv = np.bincount(ai, w, nA)
        Db = np.bincount(ej, w, nE)
        vy = float(np.var(y)) if N > 1 else 1.0
        vy = vy if vy > 0 else 1.0
        a0, b0 = self.prior_shape, self.prior_scale_frac * vy
        theta = np.bincount(ai, w * y, nA) / Dv
        b = np.zeros(nE)
        mu = float(theta.mean())
        tau2 = max(float(np.var(theta)), 0.1 * vy)
        taub2 = 0.1 * vy
        sig2 = 0.5 * vy
        keep = []
        total = self.burn + self.draws * self.thin
        for it in range(total):
            # theta | rest
            prec = 1.0 / tau2 + Dv / sig2
            mean = (mu / tau2 + np.bincount(ai, w * (y - b[ej]), nA) / sig2) / prec
            theta = mean + rng.standard_normal(nA) / np.sqrt(prec)
            # b | rest
            precb = 1.0 / taub2 + Db / sig2
            meanb = (np.bincount(ej, w * (y - theta[ai]), nE) / sig2) / precb
            b = meanb + rng.standard_normal(nE) / np.sqrt(precb)
            # mu | theta (flat prior)
            mu = float(theta.mean() + rng.standard_normal() * np.sqrt(tau2 / nA))
            # variances | rest (inverse gamma)
            tau2 = (b0 + 0.5 * np.sum((theta - mu) ** 2)) / rng.gamma(a0 + 0.5 * nA)
            taub2 = (b0 + 0.5 * np.sum(b**2)) / rng.gamma(a0 + 0.5 * nE)
            r = y - theta[ai] - b[ej]
            sig2 = (b0 + 0.5 * np.sum(w * r**2)) / rng.gamma(a0 + 0.5 * N)
            if it >= self.burn and (it - self.burn) % self.thin == 0:
                keep.append((theta.copy(), b.copy(), tau2, taub2, sig2))
        th = np.array([k[0] for k in keep])
        bb = np.array([k[1] for k in keep])
        var = np.array([[k[2], k[3], k[4]] for k in keep])
        return th, bb, var

    def fit(self, df: pd.DataFrame) -> pd.DataFrame:
        totals, problems, apps, ai, ej, experts, y, w, n_rows = self._prepare(df)
        nA_all = len(apps)
        scored = np.bincount(ai, minlength=nA_all) > 0
        # sample only scored applications
        idx = np.flatnonzero(scored)
        remap = np.full(nA_all, -1)
        remap[idx] = np.arange(idx.size)
        ai_s = remap[ai]
        nA, nE = idx.size, len(experts)
        if nA == 0:
            raise UserError("bayes: no scores present; nothing to rank")
        rng = np.random.default_rng(self.seed)
        th, bb, var = self._gibbs(ai_s, ej, y, w, nA, nE, rng)
        # ranks per draw: 1 = best (highest theta)
        order = np.argsort(-th, axis=1, kind="stable")
        ranks = np.empty_like(order)
        rows = np.arange(th.shape[0])[:, None]
        ranks[rows, order] = np.arange(1, nA + 1)[None, :]
        er = ranks.mean(axis=0)
        lo_q, hi_q = 0.5 - self.credible / 2, 0.5 + self.credible / 2
        r_lo = np.quantile(ranks, lo_q, axis=0, method="inverted_cdf")
        r_hi = np.quantile(ranks, hi_q, axis=0, method="inverted_cdf")
        sucra = (nA - er) / (nA - 1) if nA > 1 else np.ones(nA)
        pm = th.mean(axis=0)

        def full(v, fill=np.nan):
            out = np.full(nA_all, fill, dtype=float)
            out[idx] = v
            return out

        res = pd.DataFrame({APP: np.asarray(apps, dtype=object)})
        res[SCORE] = round_half(full(pm), self.decimals, self.rounding)
        res["score_raw"] = full(pm)
        res["sd"] = full(th.std(axis=0, ddof=1))
        res["ci_low"] = full(np.quantile(th, lo_q, axis=0))
        res["ci_high"] = full(np.quantile(th, hi_q, axis=0))
        res["expected_rank"] = full(er)
        res["rank_low"] = full(r_lo)
        res["rank_high"] = full(r_hi)
        res["sucra"] = full(sucra)
        res["p_top"] = full((ranks == 1).mean(axis=0))
        n_scores = np.bincount(ai, minlength=nA_all)
        res["n_scores"] = n_scores
        res["n_absent"] = n_rows - n_scores
        res["n_used"] = n_scores
        res["method"] = self.method
        res["rule"] = np.where(scored, "bayes (Gibbs, expert effects)", "no scores")
        if self.n_slots is not None:
            grp, fl = lottery_groups(er, r_lo, r_hi, pm, np.asarray(apps)[idx], self.n_slots)
            res["group"] = pd.Series([None] * nA_all, dtype=object)
            res.loc[idx, "group"] = grp
            res.loc[~scored, "group"] = "no scores"
            self.funding_line_ = fl
            self.lottery_slots_ = max(0, min(self.n_slots, nA) - int((grp == "funded").sum()))
        self.draws_ = th
        self.ranks_ = ranks
        self.experts_ = pd.DataFrame({EXPERT: np.asarray(experts, dtype=object), "leniency": bb.mean(axis=0),
                                      "sd": bb.std(axis=0, ddof=1), "n_scores": np.bincount(ej, minlength=nE)})
        self.variance_ = {"tau2 (applications)": float(var[:, 0].mean()),
                          "tau_b2 (experts)": float(var[:, 1].mean()), "sigma2 (noise)": float(var[:, 2].mean())}
        nc, ca, ce = connectivity(ai_s, ej, nA, nE)
        self.warnings_ = _describe_components(nc, ca, ce, np.asarray(apps)[idx], np.asarray(experts))
        if self.warnings_:
            self.warnings_[0] += " (the Bayesian model still ranks across components, through the priors only)"
        self.result_, self.problems_, self.totals_ = res, problems, totals
        return res
