"""Descriptives of MUSHRA ratings and the secondary per-participant paired test.

docs/statistics.md (Post-screening of assessors) and 'The primary model'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.stats.inputs import (
    RATING_COLUMNS,
    condition_label,
    require_columns,
    require_rows,
    system_ratings,
)
from analysis.stats.paired import paired_table, paired_tests, t_interval


def _with_condition(ratings: pd.DataFrame) -> pd.DataFrame:
    if "condition" in ratings.columns:
        return ratings
    return ratings.assign(condition=condition_label(ratings))


def descriptives(
    ratings: pd.DataFrame,
    by: Sequence[str] = ("attribute", "condition"),
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean, SD, n, SEM and t confidence interval per group, over participants.

    Each participant's scores are first averaged over the items (tracks and
    repetitions) within the group; the statistics are then taken over those
    per-participant means, so n is the number of participants (BS.1534-3 §9.3
    allows either; this is the one that respects the repeated measures).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings (``participant, track, attribute, condition_kind, system,
        score`` and whatever ``by`` names).
    by : sequence of str, default ("attribute", "condition")
        Grouping columns. ``"condition"`` is derived when absent: the system name
        (``ai``, ``human``) for systems under test, else ``condition_kind``
        (``hidden_reference``, ``anchor_3500``, ``anchor_7000``, ``mix``).
    confidence : float, default 0.95
        Level of the interval mean ± t_{(1+c)/2, n−1}·s/√n.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``n, mean, sd, sem, ci_low, ci_high``.

    References
    ----------
    ITU-R BS.1534-3 (2015), §9.3 (statistical analysis: means and 95 % CIs).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"participant": ["p1", "p2", "p3"], "track": "t1",
    ...     "attribute": "q", "condition_kind": "system", "system": "ai",
    ...     "score": [50.0, 60.0, 70.0]})
    >>> descriptives(r)[["condition", "n", "mean", "sd"]].to_dict("records")
    [{'condition': 'ai', 'n': 3, 'mean': 60.0, 'sd': 10.0}]
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    require_rows(ratings, "ratings")
    data = _with_condition(ratings)
    keys = list(by)
    require_columns(data, keys, "ratings")
    per_participant = data.groupby([*keys, "participant"], observed=True, sort=True)["score"].mean()
    grouped = per_participant.groupby(level=list(range(len(keys))), observed=True, sort=True)
    out = pd.DataFrame(
        {"n": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}
    ).reset_index()
    n = out["n"].to_numpy(dtype=float)
    out["sem"] = out["sd"] / np.sqrt(n)
    low, high = t_interval(
        out["mean"].to_numpy(dtype=float), out["sd"].to_numpy(dtype=float), n, confidence
    )
    out["ci_low"] = low
    out["ci_high"] = high
    return out


def participant_means(
    ratings: pd.DataFrame, systems: Sequence[str], by: Sequence[str] = ("attribute",)
) -> pd.DataFrame:
    """Per-participant mean score of each system, wide: one column per system.

    Participants who lack a system in a group are dropped from that group.
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    keys = list(by)
    data = system_ratings(ratings, systems)
    wide = (
        data.groupby([*keys, "participant", "system"], observed=True)["score"]
        .mean()
        .unstack("system")
    )
    missing = [s for s in systems if s not in wide.columns]
    if missing:
        raise InvalidInputError(f"ratings have no scores for system(s) {missing!r}")
    return wide[list(systems)].dropna().reset_index()


def compare_systems(
    ratings: pd.DataFrame, *, a: str = "ai", b: str = "human", confidence: float = 0.95
) -> pd.DataFrame:
    """Paired AI-versus-human tests on per-participant means, one row per attribute.

    Secondary: these tests treat the study's tracks as fixed, so they answer "did
    these participants rate the human masters of *these tracks* higher?", not the
    question about mastering in general (see :func:`analysis.stats.system_effects`,
    whose model also samples the tracks). Only ratings of the masters as systems
    (``condition_kind == "system"``) enter.

    For every attribute each participant's scores of system ``a`` and ``b`` are
    averaged over tracks; the differences d = mean(b) − mean(a) are tested with a
    paired t-test (``scipy.stats.ttest_rel``, with the CI of the mean difference)
    and the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``). Effect sizes:
    d_z = t/√n and Hedges' g_z = J·d_z with J = 1 − 3/(4(n − 1) − 1); their CIs
    invert the noncentral t distribution (Steiger & Fouladi 1997). Both p values are
    Holm-adjusted across attributes (``p_t_holm``, ``p_wilcoxon_holm``).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy (screened) ratings.
    a, b : str, default "ai", "human"
        The systems compared; differences are ``b − a``.
    confidence : float, default 0.95
        Level of every confidence interval.

    Returns
    -------
    pandas.DataFrame
        One row per attribute: ``attribute, a, b, n, mean_a, mean_b, mean_diff,
        sd_diff, ci_low, ci_high, t, dof, p_t, W, p_wilcoxon, d_z, d_z_ci_low,
        d_z_ci_high, g_z, g_z_ci_low, g_z_ci_high, p_t_holm, p_wilcoxon_holm``.

    References
    ----------
    docs/statistics.md; Lakens (2013), Front. Psychol. 4:863 (d_z, Hedges' J);
    Steiger & Fouladi (1997), noncentrality interval estimation; Holm (1979),
    Scand. J. Stat. 6:65-70.

    Examples
    --------
    >>> table = compare_systems(ratings)  # doctest: +SKIP
    >>> table[["attribute", "mean_diff", "p_t_holm"]]  # doctest: +SKIP
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    require_rows(ratings, "ratings")
    wide = participant_means(ratings, (a, b))
    rows = []
    for attribute, group in wide.groupby("attribute", sort=True, observed=True):
        row: dict[str, object] = {"attribute": attribute, "a": a, "b": b}
        row.update(
            paired_tests(group[a].to_numpy(dtype=float), group[b].to_numpy(dtype=float), confidence)
        )
        rows.append(row)
    return paired_table(rows)
