"""Objective metrics AI versus human across tracks, and against ratings (docs/statistics.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analysis.errors import InvalidInputError
from analysis.stats.corrections import with_holm
from analysis.stats.inputs import RATING_COLUMNS, require_columns, require_rows, system_ratings
from analysis.stats.paired import paired_table, paired_tests

#: Metric columns of :func:`analysis.metrics.measure.measure` compared by default, in table order.
DEFAULT_METRICS: Final = (
    "integrated",
    "true_peak",
    "loudness_range",
    "plr",
    "psr",
    "dr_value",
    "lp_spotify",
    "dm",
    "median_csdr",
    "hfd",
    "it",
    "stoi",
    "wsc",
    "centroid_hz",
    "tilt_db_per_octave",
    "ber",
)
#: The pre-declared family of objective-versus-subjective correlations: the seven
#: metrics of the 2025 study, one column each (no re-expressions such as ``ber_db``,
#: whose rank correlation equals ``ber``'s), Holm-adjusted per attribute.
CORRELATION_FAMILY: Final = ("dm", "dr_value", "lp_spotify", "it", "hfd", "wsc", "ber")
#: Below this many tracks a rank correlation's CI spans most of [−1, 1].
FEW_TRACKS: Final = 10

METRIC_COLUMNS: Final = ("track", "genre", "system")


def _metric_names(metrics: pd.DataFrame, names: Sequence[str] | None) -> list[str]:
    if names is None:
        chosen = [m for m in DEFAULT_METRICS if m in metrics.columns]
        if not chosen:
            raise InvalidInputError(
                f"metrics has none of the default metric columns {list(DEFAULT_METRICS)!r}"
            )
        return chosen
    require_columns(metrics, names, "metrics")
    return list(names)


def _by_system(
    metrics: pd.DataFrame, names: Sequence[str], a: str, b: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the ``a`` and ``b`` rows indexed by track, aligned, one row per track."""
    require_columns(metrics, METRIC_COLUMNS, "metrics")
    require_rows(metrics, "metrics")
    rows = metrics.loc[metrics["system"].isin([a, b])]
    dup = rows.duplicated(["track", "system"], keep=False)
    if dup.any():
        pairs = rows.loc[dup, ["track", "system"]].drop_duplicates().head(5).values.tolist()
        raise InvalidInputError(
            f"metrics has several rows per track and system, e.g. {pairs!r}; "
            "filter to one provider per system first"
        )
    values = rows.set_index(["track", "system"])[list(names)].apply(pd.to_numeric, errors="coerce")
    wide_a = values.xs(a, level="system")
    wide_b = values.xs(b, level="system")
    tracks = wide_a.index.intersection(wide_b.index).sort_values()
    if len(tracks) == 0:
        raise InvalidInputError(f"no track has metrics for both systems {a!r} and {b!r}")
    return wide_a.loc[tracks].astype(float), wide_b.loc[tracks].astype(float)


def objective_table(
    metrics: pd.DataFrame,
    *,
    names: Sequence[str] | None = None,
    a: str = "ai",
    b: str = "human",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare every metric AI versus human ("Table 2"), one row per metric.

    Per metric the per-track differences d_t = metric(b) − metric(a) are tested
    with a paired t-test and the Wilcoxon signed-rank test; d_z = t/√n with its
    noncentral-t CI; both p values Holm-adjusted across the metrics (the
    confirmatory family of docs/statistics.md). Tracks where the metric is undefined
    for either system (e.g. HFD on lossy files) are left out of that metric only.

    Parameters
    ----------
    metrics : pandas.DataFrame
        One row per master: ``track, genre, system`` and the metric columns.
    names : sequence of str, optional
        Metric columns to compare; default: those of :data:`DEFAULT_METRICS` present.
    a, b : str, default "ai", "human"
        Systems compared; differences are ``b − a`` (human − AI by default).
    confidence : float, default 0.95
        Level of the CIs.

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric, n, mean_a, mean_b, mean_diff, sd_diff,
        ci_low, ci_high, t, dof, p_t, W, p_wilcoxon, d_z, d_z_ci_low, d_z_ci_high,
        g_z, g_z_ci_low, g_z_ci_high, p_t_holm, p_wilcoxon_holm``.

    References
    ----------
    docs/statistics.md and 'Multiple comparisons'; Holm (1979), Scand. J. Stat. 6:65-70.

    Examples
    --------
    >>> objective_table(metrics)[["metric", "mean_diff", "p_t_holm"]]  # doctest: +SKIP
    """
    chosen = _metric_names(metrics, names)
    wide_a, wide_b = _by_system(metrics, chosen, a, b)
    rows = []
    for name in chosen:
        row: dict[str, object] = {"metric": name}
        row.update(paired_tests(wide_a[name].to_numpy(), wide_b[name].to_numpy(), confidence))
        rows.append(row)
    return paired_table(rows)


def per_track_table(
    metrics: pd.DataFrame,
    *,
    names: Sequence[str] | None = None,
    a: str = "ai",
    b: str = "human",
) -> pd.DataFrame:
    """Tabulate every metric per track, AI and human side by side ("Table 1").

    Parameters
    ----------
    metrics : pandas.DataFrame
        One row per master: ``track, genre, system`` and the metric columns.
    names : sequence of str, optional
        Metric columns; default: those of :data:`DEFAULT_METRICS` present.
    a, b : str, default "ai", "human"
        The two systems shown.

    Returns
    -------
    pandas.DataFrame
        One row per track: ``track, genre`` then ``<metric>_<a>, <metric>_<b>`` for
        every metric, in metric order.

    References
    ----------
    docs/metrics.md (metric definitions) and 'Objective metrics across tracks'.

    Examples
    --------
    >>> per_track_table(metrics).columns[:4].tolist()  # doctest: +SKIP
    ['track', 'genre', 'integrated_ai', 'integrated_human']
    """
    chosen = _metric_names(metrics, names)
    wide_a, wide_b = _by_system(metrics, chosen, a, b)
    genre = metrics.drop_duplicates("track").set_index("track")["genre"]
    out = pd.DataFrame({"track": wide_a.index, "genre": genre.reindex(wide_a.index).to_numpy()})
    for name in chosen:
        out[f"{name}_{a}"] = wide_a[name].to_numpy()
        out[f"{name}_{b}"] = wide_b[name].to_numpy()
    return out


def _spearman_rows(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], axis: int = -1) -> Any:
    """Spearman ρ along ``axis``: Pearson correlation of average ranks (vectorised)."""
    rx = stats.rankdata(x, axis=axis)
    ry = stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=axis) / np.sqrt((rx**2).sum(axis=axis) * (ry**2).sum(axis=axis))


def track_differences(
    metrics: pd.DataFrame,
    ratings: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    a: str = "ai",
    b: str = "human",
) -> pd.DataFrame:
    """Per attribute and track: Δrating = mean rating(b) − mean rating(a), and Δmetric.

    Only ratings of the masters as systems (``condition_kind == "system"``) count.

    Returns
    -------
    pandas.DataFrame
        One row per attribute × track present in both tables: ``attribute, track,
        delta_rating`` and one ``delta_<metric>`` column per metric.
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    chosen = _metric_names(metrics, names)
    wide_a, wide_b = _by_system(metrics, chosen, a, b)
    rated = system_ratings(ratings, (a, b))
    if attributes is None:
        attributes = [str(x) for x in pd.unique(rated["attribute"].astype(str))]
    frames = []
    for attribute in attributes:
        sub = rated.loc[rated["attribute"].astype(str) == attribute]
        if sub.empty:
            raise InvalidInputError(f"no ratings of {a!r} and {b!r} for attribute={attribute!r}")
        means = sub.groupby(["track", "system"], observed=True)["score"].mean().unstack("system")
        means.index = means.index.astype(str)
        if a not in means.columns or b not in means.columns:
            continue
        delta_rating = (means[b] - means[a]).dropna()
        index_a = wide_a.index.astype(str)
        tracks = [t for t in index_a if t in delta_rating.index]
        rows = pd.DataFrame(
            {
                "attribute": attribute,
                "track": tracks,
                "delta_rating": delta_rating.loc[tracks].to_numpy(),
            }
        )
        delta = (wide_b - wide_a).set_axis(index_a).loc[tracks]
        for name in chosen:
            rows[f"delta_{name}"] = delta[name].to_numpy()
        frames.append(rows)
    if not frames:
        raise InvalidInputError(f"no attribute has ratings of both {a!r} and {b!r}")
    return pd.concat(frames, ignore_index=True)


def objective_vs_subjective(
    metrics: pd.DataFrame,
    ratings: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    a: str = "ai",
    b: str = "human",
    n_resamples: int = 9999,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Spearman ρ of per-track metric differences against rating differences, per attribute.

    The unit is the track (docs/statistics.md): Δmetric_t = metric(b) − metric(a)
    and Δrating_t = mean rating(b) − mean rating(a) over all participants. For
    each attribute and metric: ρ and its p value (``scipy.stats.spearmanr``) and a
    paired BCa bootstrap CI (``scipy.stats.bootstrap``, seeded). The family is
    pre-declared (:data:`CORRELATION_FAMILY`: one entry per metric) and
    Holm-adjusted within each attribute (docs/statistics.md, Multiple comparisons). With fewer than
    :data:`FEW_TRACKS` tracks the ``note`` column says the CIs are too wide to
    mean much; with fewer than 5 no CI is computed.

    Parameters
    ----------
    metrics : pandas.DataFrame
        One row per master: ``track, genre, system`` and the metric columns.
    ratings : pandas.DataFrame
        Tidy (screened) ratings.
    attributes : sequence of str, optional
        Attributes correlated; default: every attribute with master ratings.
    names : sequence of str, optional
        Metric columns; default: those of :data:`CORRELATION_FAMILY` present.
    a, b : str, default "ai", "human"
        Systems; differences are ``b − a``.
    n_resamples : int, default 9999
        Bootstrap resamples.
    confidence : float, default 0.95
        Level of the bootstrap CI.
    seed : int, default 0
        Seed of the bootstrap generator (one fresh generator per test).

    Returns
    -------
    pandas.DataFrame
        One row per attribute × metric: ``attribute, metric, n, rho, p, p_holm,
        ci_low, ci_high, note``. ρ is NaN when a metric does not vary across tracks.

    References
    ----------
    docs/statistics.md; Efron (1987), J. Am. Stat. Assoc. 82:171-185 (BCa);
    Holm (1979), Scand. J. Stat. 6:65-70.

    Examples
    --------
    >>> objective_vs_subjective(metrics, ratings, n_resamples=999)  # doctest: +SKIP
    """
    if n_resamples < 1:
        raise InvalidInputError(f"n_resamples={n_resamples!r} must be a positive integer")
    if names is None:
        names = [m for m in CORRELATION_FAMILY if m in metrics.columns]
        if not names:
            raise InvalidInputError(
                f"metrics has none of the correlated metrics {list(CORRELATION_FAMILY)!r}"
            )
    chosen = _metric_names(metrics, names)
    deltas = track_differences(metrics, ratings, attributes, names=chosen, a=a, b=b)
    frames = []
    for attribute, block in deltas.groupby("attribute", sort=False):
        rows = []
        for name in chosen:
            pair = block[[f"delta_{name}", "delta_rating"]].dropna()
            x = pair.iloc[:, 0].to_numpy(dtype=float)
            y = pair.iloc[:, 1].to_numpy(dtype=float)
            n = len(x)
            row: dict[str, object] = {"attribute": attribute, "metric": name, "n": n}
            row.update(rho=np.nan, p=np.nan, ci_low=np.nan, ci_high=np.nan, note="")
            if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
                row["note"] = "fewer than 3 tracks, or no variation: no correlation"
            else:
                res = stats.spearmanr(x, y)
                row.update(rho=float(res.statistic), p=float(res.pvalue))
                if n < 5:
                    row["note"] = f"{n} tracks: no CI"
                else:
                    boot = stats.bootstrap(
                        (x, y),
                        _spearman_rows,
                        paired=True,
                        vectorized=True,
                        n_resamples=n_resamples,
                        confidence_level=confidence,
                        method="BCa",
                        rng=np.random.default_rng(seed),
                    )
                    row.update(
                        ci_low=float(boot.confidence_interval.low),
                        ci_high=float(boot.confidence_interval.high),
                    )
                    if n < FEW_TRACKS:
                        row["note"] = (
                            f"only {n} tracks: the CI spans most of [−1, 1]; read as descriptive"
                        )
            rows.append(row)
        table = pd.DataFrame(rows)
        with_holm(table)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
