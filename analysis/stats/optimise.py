"""Bounded minimisation of mixed-model criteria that are even in each variance parameter.

The REML criterion of an LMM and the Laplace deviance of a GLMM depend on each
relative SD θ_k only through θ_k², so their derivative along θ_k vanishes at
θ_k = 0 whether that is a minimum or a maximum in that direction. A gradient-based
method that reaches the bound θ_k = 0 stays there. :func:`minimise` therefore
probes every component at 0 after each run with small positive values and
restarts from any that lowers the criterion (lme4's derivative-free bobyqa does
not have this trap; the fits are compared with lme4 in the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
from scipy import optimize

from analysis.audio import FloatArray

#: Values a component at 0 is probed with.
PROBES: Final = (1e-3, 1e-2, 0.1, 0.3, 1.0)


def minimise(
    fun: Callable[..., Any],
    x0: FloatArray,
    n_theta: int,
    *,
    jac: bool = False,
    upper: float | None = None,
    options: dict[str, Any] | None = None,
) -> FloatArray:
    """Minimise ``fun`` over x = (θ, rest) with θ ≥ 0, escaping spurious zeros.

    Parameters
    ----------
    fun : callable
        The criterion of x; with ``jac`` it returns (value, gradient).
    x0 : numpy.ndarray
        Start; its first ``n_theta`` entries are the variance parameters.
    n_theta : int
        How many leading entries are bounded below by 0.
    jac : bool, default False
        Whether ``fun`` returns its gradient too (else L-BFGS-B differentiates).
    upper : float, optional
        Upper bound of the θ entries.
    options : dict, optional
        L-BFGS-B options.

    Returns
    -------
    numpy.ndarray
        The minimiser; θ entries below 1e-7 are set to exactly 0.

    Examples
    --------
    >>> f = lambda x: (x[0] ** 2 - 1.0) ** 2 + (x[1] - 2.0) ** 2
    >>> np.round(minimise(f, np.array([0.0, 0.0]), 1), 4).tolist()
    [1.0, 2.0]
    """
    x = np.asarray(x0, dtype=float)
    bounds = [(0.0, upper)] * n_theta + [(None, None)] * (x.size - n_theta)

    def value(point: FloatArray) -> float:
        out = fun(point)
        return float(out[0] if jac else out)

    for _ in range(2 * n_theta + 1):
        res = optimize.minimize(
            fun, x, jac=jac or None, method="L-BFGS-B", bounds=bounds, options=options or {}
        )
        x = np.asarray(res.x, dtype=float)
        x[:n_theta] = np.where(x[:n_theta] < 1e-7, 0.0, x[:n_theta])
        best = value(x)
        escape = None
        for i in np.flatnonzero(x[:n_theta] == 0.0):
            for probe in PROBES:
                trial = x.copy()
                trial[i] = probe
                candidate = value(trial)
                if candidate < best - 1e-9 * (abs(best) + 1.0):
                    best, escape = candidate, trial
        if escape is None:
            return x
        x = escape
    return x
