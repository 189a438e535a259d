"""Logistic mixed models with crossed random intercepts, fitted as lme4's ``glmer``.

For binary answers (AB: "preferred the human master"; ABX: "correct") with random
intercepts for participants and tracks, the likelihood integrates over the random
effects; lme4's Laplace approximation (``glmer``, ``nAGQ = 1``; Bates et al.
2015, §5) evaluates it at the conditional mode u* of the spherical random effects:

    dev(θ, β) = −2 Σ log p(y_i | μ_i(u*)) + ‖u*‖² + log|Λ'Z'W(u*)ZΛ + I|,

where u* comes from penalised iteratively reweighted least squares (PIRLS). As
``glmer``, the fit has two stages: θ with β inside PIRLS (``nAGQ = 0``), then
(θ, β) jointly on dev. Standard errors, as ``vcov.merMod`` with its default
``use.hessian = TRUE``, come from the finite-difference Hessian H of dev over
(θ, β): vcov(β) = 2·[H⁻¹]_ββ. The linear algebra is :mod:`analysis.stats.pls`;
the fits are checked against R's ``glmer`` in ``tests/analysis``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import special
from threadpoolctl import threadpool_limits

from analysis.audio import FloatArray
from analysis.errors import InvalidInputError
from analysis.stats.derivatives import hessian
from analysis.stats.optimise import minimise
from analysis.stats.pls import Layout, MixedModel, solve
from analysis.stats.reml import SINGULAR_TOL

#: Largest random-intercept SD tried, on the log-odds scale (an SD of 20 already
#: means probabilities of 0 or 1 for every level).
MAX_THETA: Final = 20.0
#: Objective value returned where the Laplace deviance cannot be evaluated.
BAD_DEVIANCE: Final = 1e30


@dataclass(frozen=True, eq=False)
class GlmmFit:
    """A Laplace fit of a binomial GLMM with logit link.

    Attributes
    ----------
    beta : numpy.ndarray
        Fixed effects (log-odds scale), in the order of ``x_names``.
    vcov : numpy.ndarray
        Their covariance, 2·[H⁻¹]_ββ (lme4's Hessian-based ``vcov``).
    x_names : tuple of str
        Names of the fixed effects.
    theta : numpy.ndarray
        SDs of the random intercepts (log-odds scale; σ = 1 for a binomial).
    groupings : tuple of str
        Names of the grouping factors.
    n_levels : tuple of int
        Their numbers of levels.
    deviance : float
        The Laplace deviance at the optimum.
    n_obs : int
        Number of answers.
    converged : bool
        Whether PIRLS and the outer optimiser converged and H is positive definite.
    """

    beta: FloatArray
    vcov: FloatArray
    x_names: tuple[str, ...]
    theta: FloatArray
    groupings: tuple[str, ...]
    n_levels: tuple[int, ...]
    deviance: float
    n_obs: int
    converged: bool

    @property
    def singular(self) -> tuple[str, ...]:
        """Groupings whose SD is estimated on the boundary (θ_k < 1e-4)."""
        return tuple(
            g for g, t in zip(self.groupings, self.theta, strict=True) if abs(t) < SINGULAR_TOL
        )

    @property
    def se(self) -> FloatArray:
        """Standard errors of the fixed effects."""
        diagonal = np.diagonal(self.vcov)
        return np.sqrt(np.where(diagonal > 0, diagonal, np.nan))


class BinomialGLMM(MixedModel):
    """The Laplace deviance of one binary data set (see the module docstring).

    Parameters
    ----------
    y : array_like of {0, 1}, shape (n,)
        Answers.
    x : array_like, shape (n, p)
        Fixed-effects design, full column rank.
    groupings : sequence of Grouping
        Grouping factors with a random intercept each.
    x_names : sequence of str, optional
        Names of the columns of ``x``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> from analysis.stats.pls import Grouping
    >>> g = Grouping.from_labels("participant", np.repeat(np.arange(20), 10))
    >>> y = (rng.random(200) < 0.7).astype(float)
    >>> fit = BinomialGLMM(y, np.ones((200, 1)), [g]).fit()
    >>> bool(fit.beta[0] > 0)
    True
    """

    def _setup(self) -> None:
        if not np.isin(self.y, (0.0, 1.0)).all():
            raise InvalidInputError("a binomial GLMM needs answers coded 0 or 1")
        self._random = Layout(self.groupings, np.zeros((self.y.size, 0)))
        self._u_start: FloatArray | None = None

    def _log_lik(self, eta: FloatArray) -> float:
        # log p(y | μ) for a logit link, without overflow: y·η − log(1 + e^η).
        return float(np.sum(self.y * eta - np.logaddexp(0.0, eta)))

    def _pirls(
        self, theta: FloatArray, beta: FloatArray | None
    ) -> tuple[float, FloatArray, FloatArray, bool]:
        """Conditional modes by PIRLS: (Laplace deviance, u, β, converged).

        With ``beta`` None, β is estimated with u (stage 1, ``nAGQ = 0``);
        otherwise the offset Xβ is fixed.
        """
        layout = self._layout if beta is None else self._random
        n_u = layout.n_blocks * layout.k + layout.m
        # Start from the last mode: PIRLS minimises a convex function, so the start
        # changes only how many steps it takes.
        u = np.zeros(n_u) if self._u_start is None else self._u_start.copy()
        b = np.zeros(self.p) if beta is None else np.asarray(beta, dtype=float)
        offset = self.x @ b

        def penalised(u_: FloatArray, b_: FloatArray) -> tuple[float, FloatArray]:
            eta_ = self.x @ b_ + layout.times_u(u_, theta)
            return -2.0 * self._log_lik(eta_) + float(u_ @ u_), eta_

        old, eta = penalised(u, b)
        converged = False
        for _ in range(200):
            mu = special.expit(eta)
            w = np.maximum(mu * (1.0 - mu), 1e-12)
            fixed_part = offset if beta is not None else 0.0
            z = eta - fixed_part + (self.y - mu) / w
            sol = solve(layout, layout.products(w, z), theta)
            new_u = sol.u
            new_b = sol.beta if beta is None else b
            step = 1.0
            while True:
                trial_u = u + step * (new_u - u)
                trial_b = b + step * (new_b - b)
                value, trial_eta = penalised(trial_u, trial_b)
                if value <= old + 1e-10 * abs(old) or step < 1e-8:
                    break
                step /= 2.0
            change = old - value
            u, b, eta = trial_u, trial_b, trial_eta
            if abs(change) < 1e-14 * (abs(value) + 1.0):
                converged = True
                old = value
                break
            old = value
        self._u_start = u
        mu = special.expit(eta)
        w = np.maximum(mu * (1.0 - mu), 1e-12)
        # log|Λ'Z'WZΛ + I| at the mode, from the random-effects-only layout.
        ld = solve(self._random, self._random.products(w, np.zeros(self.y.size)), theta).ld_l2
        dev = -2.0 * self._log_lik(eta) + float(u @ u) + ld
        return dev, u, b, converged

    def deviance(self, params: FloatArray) -> float:
        """Laplace deviance at (θ, β) (glmer's stage-2 objective)."""
        k = len(self.groupings)
        dev, _, _, _ = self._pirls(np.asarray(params[:k], dtype=float), params[k:])
        return dev

    def _stage1(self, theta: FloatArray) -> float:
        return self._guarded(lambda: self._pirls(np.abs(theta), None)[0])

    def _stage2(self, params: FloatArray) -> float:
        return self._guarded(lambda: self.deviance(params))

    def _guarded(self, evaluate: Callable[[], float]) -> float:
        # Far from the optimum (huge θ, separated groups) the weights vanish and the
        # system can lose definiteness; tell the optimiser the point is bad.
        try:
            value = evaluate()
        except np.linalg.LinAlgError:
            self._u_start = None
            return BAD_DEVIANCE
        return value if np.isfinite(value) else BAD_DEVIANCE

    def fit(self) -> GlmmFit:
        """Fit in glmer's two stages and compute the Hessian-based covariance.

        Returns
        -------
        GlmmFit
            Estimates, covariance and convergence.
        """
        k = len(self.groupings)
        with threadpool_limits(limits=1, user_api="blas"):
            # Stage 1 only provides the start of stage 2, so a loose tolerance will do.
            theta1 = minimise(
                self._stage1, np.ones(k), k, upper=MAX_THETA, options={"ftol": 1e-8, "gtol": 1e-4}
            )
            _, _, beta1, _ = self._pirls(theta1, None)
            params = minimise(
                self._stage2,
                np.concatenate([theta1, beta1]),
                k,
                upper=MAX_THETA,
                options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 2000},
            )
            dev, _, _, pirls_ok = self._pirls(params[:k], params[k:])
            h = hessian(self._stage2, params, richardson=False)
        try:
            h_inv = np.linalg.inv(h)
            half = np.asarray(h_inv[k:, k:], dtype=float)
            vcov = half + half.T  # 2·[H⁻¹]_ββ, symmetrised as lme4 does
            hess_ok = bool(np.all(np.linalg.eigvalsh(vcov) > 0))
        except np.linalg.LinAlgError:
            vcov = np.full((self.p, self.p), np.nan)
            hess_ok = False
        return GlmmFit(
            beta=params[k:].copy(),
            vcov=vcov,
            x_names=self.x_names,
            theta=params[:k].copy(),
            groupings=tuple(g.name for g in self.groupings),
            n_levels=tuple(g.n_levels for g in self.groupings),
            deviance=float(dev),
            n_obs=int(self.y.size),
            converged=bool(pirls_ok and hess_ok),
        )
