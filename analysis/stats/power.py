"""Sample size for a paired comparison (docs/statistics.md, Sample-size planning)."""

from __future__ import annotations

import math

from statsmodels.stats.power import TTestPower

from analysis.errors import InvalidInputError


def power_paired_t(d: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Return how many participants a two-sided paired t-test needs for effect d_z.

    Solves the noncentral-t power equation with
    ``statsmodels.stats.power.TTestPower().solve_power`` and rounds up.

    Parameters
    ----------
    d : float
        Expected standardised mean difference d_z = mean(diff)/sd(diff), non-zero.
    power : float, default 0.8
        Target power, in (0, 1).
    alpha : float, default 0.05
        Two-sided significance level, in (0, 1).

    Returns
    -------
    int
        The smallest whole number of participants reaching ``power``.

    References
    ----------
    Cohen (1988), *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed.,
    ch. 2; docs/statistics.md (Sample-size planning) (d_z = 0.5 → 34, d_z = 0.8 → 15).

    Examples
    --------
    >>> power_paired_t(0.5), power_paired_t(0.8)
    (34, 15)
    """
    if not math.isfinite(d) or d == 0:
        raise InvalidInputError(f"d={d!r} must be a finite non-zero effect size")
    for name, value in (("power", power), ("alpha", alpha)):
        if not 0.0 < value < 1.0:
            raise InvalidInputError(f"{name}={value!r} must be in (0, 1)")
    n = TTestPower().solve_power(effect_size=abs(d), alpha=alpha, power=power)
    return math.ceil(float(n))
