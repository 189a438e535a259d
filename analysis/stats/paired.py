"""Paired comparisons: t test, Wilcoxon signed-rank and d_z / g_z with exact intervals.

Every paired table of the report (systems against each other, objective metrics across
tracks) computes its rows here, so they all report the same statistics the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.audio import FloatArray
from analysis.stats.corrections import adjust


def t_interval(
    mean: FloatArray, sd: FloatArray, n: FloatArray, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return mean ± t_{(1+c)/2, n-1}·s/√n elementwise (NaN where n < 2)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        crit = stats.t.ppf(0.5 + confidence / 2, np.where(n > 1, n - 1, np.nan))
        half = crit * np.asarray(sd, dtype=float) / np.sqrt(n)
    return np.asarray(mean - half, dtype=float), np.asarray(mean + half, dtype=float)


def hedges_j(n: int | float) -> float:
    """Return Hedges' small-sample correction J = 1 − 3/(4·df − 1) with df = n − 1."""
    return float(1.0 - 3.0 / (4.0 * (n - 1) - 1.0))


def noncentral_t_ci(t: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of d_z = t/√n by inverting the noncentral t distribution.

    The bounds are the noncentrality parameters λ with P(T ≥ t | λ) = α/2 and
    P(T ≤ t | λ) = α/2 (df = n − 1), divided by √n (Steiger & Fouladi 1997).
    """
    if n < 2 or not np.isfinite(t):
        return (np.nan, np.nan)
    df = n - 1
    alpha = 1.0 - confidence

    def solve(target: float) -> float:
        def f(ncp: float) -> float:
            return float(stats.nct.cdf(t, df, ncp)) - target

        width = 2.0 + abs(t) * 0.5
        lo, hi = t - width, t + width
        while f(lo) < 0:
            lo -= width
        while f(hi) > 0:
            hi += width
        return float(optimize.brentq(f, lo, hi, xtol=1e-10))

    # cdf decreases with ncp: the lower bound leaves 1 − α/2 below t, the upper α/2.
    return (solve(1 - alpha / 2) / np.sqrt(n), solve(alpha / 2) / np.sqrt(n))


def paired_tests(a: FloatArray, b: FloatArray, confidence: float = 0.95) -> dict[str, float]:
    """Paired t, Wilcoxon signed-rank and d_z / g_z on the differences ``b − a``.

    Rows where either value is NaN are dropped. Returns NaN statistics when fewer
    than two pairs remain or the differences have no variance.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    d = b - a
    row: dict[str, float] = {
        "n": float(n),
        "mean_a": float(a.mean()) if n else np.nan,
        "mean_b": float(b.mean()) if n else np.nan,
        "mean_diff": float(d.mean()) if n else np.nan,
        "sd_diff": float(d.std(ddof=1)) if n > 1 else np.nan,
    }
    nan_keys = (
        *("ci_low", "ci_high", "t", "dof", "p_t", "W", "p_wilcoxon"),
        *("d_z", "d_z_ci_low", "d_z_ci_high", "g_z", "g_z_ci_low", "g_z_ci_high"),
    )
    row.update(dict.fromkeys(nan_keys, np.nan))
    if n < 2 or not row["sd_diff"] > 0:
        return row
    tt = stats.ttest_rel(b, a)
    ci = tt.confidence_interval(confidence)
    t = float(tt.statistic)
    row.update(
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        t=t,
        dof=float(tt.df),
        p_t=float(tt.pvalue),
        d_z=t / np.sqrt(n),
    )
    if np.any(d != 0):
        w = stats.wilcoxon(b, a)
        row.update(W=float(w.statistic), p_wilcoxon=float(w.pvalue))
    lo, hi = noncentral_t_ci(t, n, confidence)
    j = hedges_j(n) if n > 2 else np.nan
    row.update(
        d_z_ci_low=lo,
        d_z_ci_high=hi,
        g_z=row["d_z"] * j,
        g_z_ci_low=lo * j,
        g_z_ci_high=hi * j,
    )
    return row


def paired_table(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Tabulate rows holding :func:`paired_tests` and Holm-adjust both p values across them.

    Adds ``p_t_holm`` and ``p_wilcoxon_holm`` (the family is the table's rows) and makes
    ``n`` an integer column.
    """
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype(int)
    out["p_t_holm"] = adjust(out["p_t"].to_numpy(dtype=float), "holm")
    out["p_wilcoxon_holm"] = adjust(out["p_wilcoxon"].to_numpy(dtype=float), "holm")
    return out
