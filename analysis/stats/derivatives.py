"""Numerical derivatives by central differences with Richardson extrapolation.

The Satterthwaite degrees of freedom (lmerTest) and the Hessian-based standard
errors of a GLMM (lme4) are defined through derivatives of a deviance that has no
closed form; lmerTest takes them with numDeriv (Richardson extrapolation of
central differences, relative step 1e-4). These helpers do the same with one
extrapolation step (h and h/2), which removes the O(h²) error term.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analysis.audio import FloatArray


def step(x: float) -> float:
    """Return the central-difference step for x: 1e-4·|x|, or 1e-4 near 0 (numDeriv's d).

    Examples
    --------
    >>> step(2.0), step(0.0)
    (0.0002, 0.0001)
    """
    return 1e-4 * abs(x) if abs(x) > 1e-4 else 1e-4


def jacobian(
    f: Callable[[FloatArray], FloatArray], x: FloatArray, richardson: bool = True
) -> FloatArray:
    """Differentiate an array-valued f along every coordinate of x.

    Parameters
    ----------
    f : callable
        Function of a 1-D array returning an array of any shape.
    x : numpy.ndarray
        The point.
    richardson : bool, default True
        Extrapolate from steps h and h/2 (twice the evaluations).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(x), *f(x).shape)``: ∂f/∂x_k stacked along the first axis.

    Examples
    --------
    >>> d = jacobian(lambda v: np.array([v[0] ** 2, v[0] * v[1]]), np.array([1.0, 3.0]))
    >>> np.round(d, 8).tolist()
    [[2.0, 3.0], [0.0, 1.0]]
    """
    x = np.asarray(x, dtype=float)
    out: list[FloatArray] = []
    for i in range(x.size):
        h = step(float(x[i]))

        def diff(size: float, i: int = i) -> FloatArray:
            e = np.zeros(x.size)
            e[i] = size
            return (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2.0 * size)

        out.append((4.0 * diff(h / 2) - diff(h)) / 3.0 if richardson else diff(h))
    return np.asarray(out)


def hessian(f: Callable[[FloatArray], float], x: FloatArray, richardson: bool = True) -> FloatArray:
    """Hessian of a scalar f at x from function values only.

    Parameters
    ----------
    f : callable
        Scalar function of a 1-D array.
    x : numpy.ndarray
        The point.
    richardson : bool, default True
        Extrapolate from steps h and h/2 (twice the evaluations); without it the
        error is O(h²) ≈ 1e-8 relative, ample for standard errors.

    Returns
    -------
    numpy.ndarray
        The symmetric (k, k) matrix of second derivatives.

    Examples
    --------
    >>> h = hessian(lambda v: v[0] ** 2 * v[1], np.array([1.0, 2.0]))
    >>> np.round(h, 6).tolist()
    [[4.0, 2.0], [2.0, 0.0]]
    """
    x = np.asarray(x, dtype=float)
    k = x.size
    h = np.array([step(float(v)) for v in x])
    f0 = float(f(x))

    def second(i: int, j: int, scale: float) -> float:
        ei = np.zeros(k)
        ej = np.zeros(k)
        ei[i] = h[i] * scale
        ej[j] = h[j] * scale
        if i == j:
            return (float(f(x + ei)) - 2.0 * f0 + float(f(x - ei))) / float(ei[i] ** 2)
        total = float(f(x + ei + ej)) - float(f(x + ei - ej))
        total += float(f(x - ei - ej)) - float(f(x - ei + ej))
        return total / float(4.0 * ei[i] * ej[j])

    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            if richardson:
                out[i, j] = out[j, i] = (4.0 * second(i, j, 0.5) - second(i, j, 1.0)) / 3.0
            else:
                out[i, j] = out[j, i] = second(i, j, 1.0)
    return out
