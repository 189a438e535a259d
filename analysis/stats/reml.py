"""Linear mixed models with crossed random intercepts, fitted by REML as lme4 does.

The model is ``y = Xβ + Σ_k Z_k b_k + ε`` with one random intercept per level of
each grouping factor k (participant, track, track × system, participant × system),
``b_k ~ N(0, σ_k² I)`` and ``ε ~ N(0, σ² I)``. It is lme4's formulation (Bates,
Mächler, Bolker & Walker 2015, §3): relative standard deviations θ_k = σ_k / σ,
spherical random effects u, and for a given θ the penalised least-squares problem

    min over u, β of  ‖y − ZΛ_θ u − Xβ‖² + ‖u‖²

whose solution gives the profiled REML criterion (their eq. 42)

    d_R(θ) = log|L_θ|² + log|R_X|² + (n − p)·(1 + log(2π·r²_θ / (n − p))).

Why not statsmodels: its ``MixedLM`` expresses crossed factors as variance
components of one group with dense design matrices (40,000 ratings × 3,000 random
effects for a 1,000-participant study: about 1 GB per attribute) and reports no
denominator degrees of freedom. The linear algebra here (:mod:`analysis.stats.pls`)
eliminates the participants' random effects blockwise, so the model is fitted on
every participant of a large study in about a second, and the REML gradient is
analytic. The fits are checked against R's lmerTest in ``tests/analysis``.

Denominator degrees of freedom follow Satterthwaite (1946) exactly as lmerTest
computes them (Kuznetsova, Brockhoff & Christensen 2017): the asymptotic
covariance of the variance parameters (θ, σ) is twice the inverse Hessian of the
REML deviance, and the gradient of a contrast's variance is taken numerically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats

from analysis.audio import FloatArray
from analysis.errors import InvalidInputError
from analysis.stats.derivatives import jacobian
from analysis.stats.optimise import minimise
from analysis.stats.pls import MixedModel, Solution, solve

#: A relative SD θ_k below this counts as a singular (boundary) fit, as lme4's
#: ``isSingular(tol = 1e-4)``.
SINGULAR_TOL: Final = 1e-4


@dataclass(frozen=True, eq=False)
class ContrastResult:
    """A linear combination Lβ with its Satterthwaite t test.

    Attributes
    ----------
    estimate, se, df, t, p, ci_low, ci_high : float
        Lβ, its standard error, the Satterthwaite denominator degrees of freedom,
        t = estimate/se, the two-sided p value from t(df) and the CI bounds.
    """

    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, eq=False)
class FTestResult:
    """A multi-degree-of-freedom F test of Lβ = 0 (lmerTest's ``contestMD``).

    Attributes
    ----------
    f, num_df, den_df, p : float
        The F statistic, its numerator and Satterthwaite denominator df, and p.
    """

    f: float
    num_df: float
    den_df: float
    p: float


@dataclass(frozen=True, eq=False)
class LmmFit:
    """A REML (or ML) fit of a crossed-random-intercepts LMM.

    Attributes
    ----------
    beta : numpy.ndarray
        Fixed-effect estimates, in the order of ``x_names``.
    vcov : numpy.ndarray
        Their covariance σ²(R_X'R_X)⁻¹.
    x_names : tuple of str
        Names of the fixed-effect columns.
    theta : numpy.ndarray
        Relative SDs θ_k = σ_k/σ, in the order of ``groupings``.
    sigma : float
        Residual SD.
    groupings : tuple of str
        Names of the grouping factors.
    deviance : float
        The REML criterion at the optimum (lme4's ``REMLcrit``).
    n_obs : int
        Number of observations.
    converged : bool
        Whether the projected gradient of the criterion is small at the optimum.
    vcov_varpar : numpy.ndarray
        Asymptotic covariance of (θ, σ): twice the pseudo-inverse of the
        deviance Hessian (lmerTest's ``vcov_varpar``).
    jac_vcov : numpy.ndarray
        ∂ vcov / ∂(θ, σ), shape (k + 1, p, p) (lmerTest's ``Jac_list``).
    hessian_ok : bool
        Whether the Hessian was positive definite (lmerTest warns otherwise).
    """

    beta: FloatArray
    vcov: FloatArray
    x_names: tuple[str, ...]
    theta: FloatArray
    sigma: float
    groupings: tuple[str, ...]
    deviance: float
    n_obs: int
    converged: bool
    vcov_varpar: FloatArray
    jac_vcov: FloatArray
    hessian_ok: bool

    @property
    def variances(self) -> dict[str, float]:
        """Variance of every random effect and of the residual (σ_k² = σ²θ_k²)."""
        out = {
            name: float((self.sigma * t) ** 2)
            for name, t in zip(self.groupings, self.theta, strict=True)
        }
        out["residual"] = float(self.sigma**2)
        return out

    @property
    def singular(self) -> tuple[str, ...]:
        """Groupings whose variance is estimated on the boundary (θ_k < 1e-4)."""
        return tuple(
            name
            for name, t in zip(self.groupings, self.theta, strict=True)
            if abs(t) < SINGULAR_TOL
        )

    def contrast(
        self, weights: Sequence[float] | FloatArray, confidence: float = 0.95
    ) -> ContrastResult:
        """Test one contrast Lβ = 0 with Satterthwaite's df (lmerTest ``contest1D``).

        Parameters
        ----------
        weights : sequence of float
            L, one weight per fixed effect.
        confidence : float, default 0.95
            Level of the t confidence interval.

        Returns
        -------
        ContrastResult
            Estimate, SE, df, t, p and CI.
        """
        lvec = np.asarray(weights, dtype=float)
        if lvec.shape != self.beta.shape:
            raise InvalidInputError(
                f"contrast has {lvec.size} weights, the model {self.beta.size} fixed effects"
            )
        estimate = float(lvec @ self.beta)
        var = float(lvec @ self.vcov @ lvec)
        grad = np.einsum("i,kij,j->k", lvec, self.jac_vcov, lvec)
        denom = float(grad @ self.vcov_varpar @ grad)
        df = 2.0 * var**2 / denom if denom > 0 else np.inf
        se = float(np.sqrt(var))
        t = estimate / se if se > 0 else np.nan
        p = float(2.0 * stats.t.sf(abs(t), df)) if np.isfinite(t) else np.nan
        crit = float(stats.t.ppf(0.5 + confidence / 2.0, df))
        return ContrastResult(
            estimate=estimate,
            se=se,
            df=float(df),
            t=float(t),
            p=p,
            ci_low=estimate - crit * se,
            ci_high=estimate + crit * se,
        )

    def f_test(self, lmat: FloatArray) -> FTestResult:
        """Test Lβ = 0 for a matrix L with Satterthwaite's df (lmerTest ``contestMD``).

        The rows of L are rotated to the eigenvectors of L·vcov·L'; each rotated
        row gets its own Satterthwaite df ν_m and the F statistic's denominator df
        is 2E/(E − q) with E = Σ ν_m/(ν_m − 2) (Kuznetsova et al. 2017, eq. 8-9).
        """
        lmat = np.atleast_2d(np.asarray(lmat, dtype=float))
        vl = lmat @ self.vcov @ lmat.T
        evals, evecs = np.linalg.eigh(vl)
        order = np.argsort(evals)[::-1]
        evals, evecs = evals[order], evecs[:, order]
        tol = max(float(evals[0]), 0.0) * 1e-8 if evals.size else 0.0
        pos = evals > tol
        q = int(pos.sum())
        if q == 0:
            return FTestResult(f=np.nan, num_df=0.0, den_df=np.nan, p=np.nan)
        ptl = evecs[:, pos].T @ lmat
        t2 = (ptl @ self.beta) ** 2 / evals[pos]
        f = float(t2.sum() / q)
        nu = np.empty(q)
        for m in range(q):
            grad = np.einsum("i,kij,j->k", ptl[m], self.jac_vcov, ptl[m])
            denom = float(grad @ self.vcov_varpar @ grad)
            nu[m] = 2.0 * evals[pos][m] ** 2 / denom if denom > 0 else np.inf
        if q == 1 or np.all(np.abs(nu - nu[0]) < 1e-8):
            den = float(nu[0])
        elif np.any(nu <= 2):
            den = 2.0
        else:
            e = float(np.sum(nu / (nu - 2.0)))
            den = 2.0 * e / (e - q)
        p = float(stats.f.sf(f, q, den))
        return FTestResult(f=f, num_df=float(q), den_df=den, p=p)


class CrossedLMM(MixedModel):
    """The REML criterion of one data set, for any θ (see the module docstring).

    Parameters
    ----------
    y : array_like, shape (n,)
        Responses.
    x : array_like, shape (n, p)
        Fixed-effects design, full column rank.
    groupings : sequence of Grouping
        Grouping factors with a random intercept each (at least one).
    x_names : sequence of str, optional
        Names of the columns of ``x``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> from analysis.stats.pls import Grouping
    >>> g = Grouping.from_labels("participant", np.repeat(np.arange(10), 4))
    >>> y = np.repeat(rng.normal(size=10), 4) + rng.normal(size=40)
    >>> fit = CrossedLMM(y, np.ones((40, 1)), [g]).fit()
    >>> fit.groupings, fit.beta.shape
    (('participant',), (1,))
    """

    def _setup(self) -> None:
        self._products = self._layout.products(None, self.y)

    def _solve(self, theta: FloatArray, gradient: bool = False) -> Solution:
        return solve(self._layout, self._products, theta, gradient)

    def profiled_deviance(self, theta: FloatArray) -> float:
        """Return the REML criterion d_R(θ), profiled over β and σ (lme4's ``REMLcrit``)."""
        s = self._solve(theta)
        dof = self.n - self.p
        return float(s.ld_l2 + s.ld_rx2 + dof * (1.0 + np.log(2.0 * np.pi * s.r2 / dof)))

    def profiled_deviance_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """d_R(θ) and its gradient.

        With P the REML projection, ∂V/∂θ_k = 2θ_k Z_k Z_k', ‖Z_k'Py‖² = ‖u_k‖²/θ_k²
        and θ_k² tr(Z_k'PZ_k) = q_k − tr[(M⁻¹)_uu]_k for the PLS matrix M, the
        derivative tr(P ∂V) − (n − p)·y'P ∂V P y / r² becomes
        (2/θ_k)·(q_k − tr_k − (n − p)‖u_k‖²/r²); it is 0 at θ_k = 0, where d_R
        is even in θ_k.
        """
        s = self._solve(theta, gradient=True)
        if s.trace is None or s.q is None or s.usq is None:  # pragma: no cover
            raise AssertionError("solve(gradient=True) fills the traces")
        dof = self.n - self.p
        value = s.ld_l2 + s.ld_rx2 + dof * (1.0 + np.log(2.0 * np.pi * s.r2 / dof))
        grad = _by_theta(theta, s.q - s.trace - dof * s.usq / s.r2)
        return float(value), grad

    def deviance(self, varpar: FloatArray) -> float:
        """Return the REML deviance at (θ, σ) without profiling (lmerTest's ``devfun_vp``)."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        s = self._solve(theta)
        sigma2 = sigma * sigma
        dof = self.n - self.p
        return float(s.ld_l2 + s.ld_rx2 + s.r2 / sigma2 + dof * np.log(2.0 * np.pi * sigma2))

    def deviance_gradient(self, varpar: FloatArray) -> FloatArray:
        """Gradient of :meth:`deviance` over (θ, σ)."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        s = self._solve(theta, gradient=True)
        if s.trace is None or s.q is None or s.usq is None:  # pragma: no cover
            raise AssertionError("solve(gradient=True) fills the traces")
        dof = self.n - self.p
        sigma2 = sigma * sigma
        g_theta = _by_theta(theta, s.q - s.trace - s.usq / sigma2)
        g_sigma = -2.0 * s.r2 / (sigma2 * sigma) + 2.0 * dof / sigma
        return np.append(g_theta, g_sigma)

    def _vcov(self, varpar: FloatArray) -> FloatArray:
        s = self._solve(np.asarray(varpar[:-1], dtype=float))
        return float(varpar[-1]) ** 2 * s.rx_inv

    # ---------------------------------------------------------------- fitting
    def optimise(self, start: Sequence[float] | FloatArray | None = None) -> FloatArray:
        """Return the REML estimate of θ (θ ≥ 0), starting from ``start`` (default 1, as lme4)."""
        k = len(self.groupings)
        theta0 = np.ones(k) if start is None else np.asarray(start, dtype=float)
        return minimise(
            self.profiled_deviance_gradient,
            theta0,
            k,
            jac=True,
            options={"ftol": 1e-13, "gtol": 1e-6, "maxiter": 1000},
        )

    def fit(self, start: Sequence[float] | None = None, theta: FloatArray | None = None) -> LmmFit:
        """Minimise the REML criterion over θ ≥ 0 and derive the inference.

        Parameters
        ----------
        start : sequence of float, optional
            Starting θ (default 1 for every grouping, as lme4).
        theta : numpy.ndarray, optional
            An optimum already found by :meth:`optimise` (then ``start`` is unused).

        Returns
        -------
        LmmFit
            Estimates, covariances and the Satterthwaite ingredients.
        """
        if theta is None:
            theta = self.optimise(start)
        s = self._solve(theta)
        sigma = float(np.sqrt(s.r2 / (self.n - self.p)))
        varpar = np.append(theta, sigma)
        # One central difference per step is accurate to ~1e-8 here: df need 1 %.
        hess = jacobian(self.deviance_gradient, varpar, richardson=False)
        hess = (hess + hess.T) / 2.0
        evals, evecs = np.linalg.eigh(hess)
        pos = evals > 1e-8
        hessian_ok = bool(np.all(pos))
        h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
        jac = jacobian(self._vcov, varpar, richardson=False)
        _, grad = self.profiled_deviance_gradient(theta)
        projected = np.where(theta > 0, np.abs(grad), np.maximum(-grad, 0.0))
        return LmmFit(
            beta=s.beta.copy(),
            vcov=sigma**2 * s.rx_inv,
            x_names=self.x_names,
            theta=theta,
            sigma=sigma,
            groupings=tuple(g.name for g in self.groupings),
            deviance=float(self.profiled_deviance(theta)),
            n_obs=self.n,
            converged=bool(float(projected.max(initial=0.0)) < 1e-3),
            vcov_varpar=2.0 * h_inv,
            jac_vcov=jac,
            hessian_ok=hessian_ok,
        )


def _by_theta(theta: FloatArray, bracket: FloatArray) -> FloatArray:
    """(2/θ_k)·bracket_k, and 0 where θ_k = 0 (the criterion is even in θ_k)."""
    theta = np.asarray(theta, dtype=float)
    safe = np.where(theta == 0.0, 1.0, theta)
    return np.where(theta == 0.0, 0.0, 2.0 * bracket / safe)
