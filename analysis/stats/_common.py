"""Shared helpers of :mod:`analysis.stats`: input checks, paired tests, corrections.

Private: the public functions validate their tables here once and share the paired
t / Wilcoxon / effect-size computations so every table reports them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pingouin as pg
from scipy import optimize, stats

from analysis.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]

#: ``condition_kind`` of the systems under test (AI and human masters).
SYSTEM_KIND: Final = "system"
#: ``condition_kind`` of the hidden reference (BS.1534-3).
HIDDEN_REFERENCE: Final = "hidden_reference"
#: ``condition_kind`` of the mid-range (7 kHz low-pass) anchor (BS.1534-3).
MID_ANCHOR: Final = "anchor_7000"

RATING_COLUMNS: Final = ("participant", "track", "attribute", "condition_kind", "system", "score")


def require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise InvalidInputError naming every required column that ``table`` lacks."""
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{name} is missing required column(s) {missing!r}; it has {list(table.columns)!r}"
        )


def require_rows(table: pd.DataFrame, name: str) -> None:
    """Raise InvalidInputError when ``table`` has no rows."""
    if len(table) == 0:
        raise InvalidInputError(f"{name} has no rows to analyse")


def system_ratings(ratings: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Keep the ratings of the masters under test: ``condition_kind == "system"``.

    A master that is also the study's reference is rated as the hidden reference
    too; those ratings carry ``condition_kind == "hidden_reference"`` and must never
    count as that master's system (screening forces them near 100).
    """
    kind = ratings["condition_kind"].astype(str)
    keep = (kind == SYSTEM_KIND) & ratings["system"].astype(str).isin(list(systems))
    return ratings.loc[keep]


def condition_label(ratings: pd.DataFrame) -> pd.Series:
    """Name each rating's condition: the system for systems, else the condition kind."""
    kind = ratings["condition_kind"].astype(str)
    return kind.where(kind != SYSTEM_KIND, ratings["system"].astype(str))


def adjust(pvalues: Sequence[float] | FloatArray, method: str) -> FloatArray:
    """Adjust p values with ``pingouin.multicomp``, leaving NaN entries out.

    ``method`` is ``"holm"`` or ``"fdr_bh"`` (docs/statistics.md). Not statsmodels'
    ``multipletests``: its Holm branch runs ``gc.collect()`` on every call, which
    cost 0.16 s per call in a process holding a study's tables.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = np.asarray(pg.multicomp(p[ok], method=method)[1], dtype=float)
    return out


def with_holm(table: pd.DataFrame, column: str = "p") -> pd.DataFrame:
    """Insert ``<column>_holm`` (Holm-adjusted ``column``) right after ``column``."""
    position = list(table.columns).index(column) + 1
    table.insert(position, f"{column}_holm", adjust(table[column].to_numpy(dtype=float), "holm"))
    return table


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
