"""Every analysis of a study in one call, for the report and the results bundle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.stats._common import RATING_COLUMNS, require_columns, require_rows
from analysis.stats.choices import abx_tests, bradley_terry, preference_tests
from analysis.stats.mixed import MixedModelResult, mixed_model
from analysis.stats.objective import (
    objective_table,
    objective_vs_subjective,
    per_track_table,
    track_differences,
)
from analysis.stats.ratings import (
    compare_systems,
    descriptives,
    friedman_systems,
    rm_anova_system_genre,
)
from analysis.stats.screening import ScreeningResult, post_screening

#: Largest number of participants the crossed LMM is fitted on by default: statsmodels
#: fits crossed effects densely, so its cost grows with (participants + tracks)² × ratings.
LMM_MAX_PARTICIPANTS = 40


@dataclass(frozen=True, eq=False)
class StudyResults:
    """All result tables of one study (full precision; format with ``format_table``).

    Attributes
    ----------
    screening : ScreeningResult
        Post-screening outcome; every other rating table uses ``screening.ratings``.
    descriptives, descriptives_genre : pandas.DataFrame
        Per attribute × condition, and per attribute × genre × condition.
    comparison : pandas.DataFrame
        AI versus human per attribute (:func:`compare_systems`).
    rm_anova, friedman : pandas.DataFrame
        Per attribute, concatenated.
    lmm, lmm_logit : dict of str to MixedModelResult
        Crossed LMM per attribute, raw and logit-transformed.
    lmm_note : str
        What data the LMMs were fitted on.
    objective, per_track, objective_subjective, track_deltas : pandas.DataFrame or None
        Objective-metric tables, when metrics were given.
    abx, preference, bradley_terry : pandas.DataFrame or None
        Choice-task tables, when given (Bradley-Terry only with > 2 systems).
    simulated : bool
        Whether any input row is simulated.
    objective_attribute : str
        The attribute correlated with the metrics.
    metrics_versions : tuple of str
        Versions of the metric definitions in the data.
    metric_notes : tuple of str
        Metrics not applicable to some masters, with the reason (HFD bands where the
        mix has no energy, lossy sources).
    """

    screening: ScreeningResult
    descriptives: pd.DataFrame
    descriptives_genre: pd.DataFrame
    comparison: pd.DataFrame
    rm_anova: pd.DataFrame
    friedman: pd.DataFrame
    lmm: dict[str, MixedModelResult]
    lmm_logit: dict[str, MixedModelResult]
    lmm_note: str
    objective_attribute: str
    simulated: bool
    objective: pd.DataFrame | None = None
    per_track: pd.DataFrame | None = None
    objective_subjective: pd.DataFrame | None = None
    track_deltas: pd.DataFrame | None = None
    abx: pd.DataFrame | None = None
    preference: pd.DataFrame | None = None
    bradley_terry: pd.DataFrame | None = None
    metrics_versions: tuple[str, ...] = field(default_factory=tuple)
    metric_notes: tuple[str, ...] = field(default_factory=tuple)


def _is_simulated(*tables: pd.DataFrame | None) -> bool:
    return any(
        t is not None and "simulated" in t.columns and bool(t["simulated"].astype(bool).any())
        for t in tables
    )


def analyse_study(
    ratings: pd.DataFrame,
    *,
    metrics: pd.DataFrame | None = None,
    abx: pd.DataFrame | None = None,
    preferences: pd.DataFrame | None = None,
    systems: Sequence[str] = ("ai", "human"),
    objective_attribute: str | None = None,
    lmm_max_participants: int | None = LMM_MAX_PARTICIPANTS,
    lmm_sensitivity: bool = True,
    n_resamples: int = 9999,
    seed: int = 0,
) -> StudyResults:
    """Screen the ratings and run every analysis of METRICS.md §7-8.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy MUSHRA ratings (export columns, with ``genre``).
    metrics, abx, preferences : pandas.DataFrame, optional
        Objective metrics per master, ABX answers and AB preference answers.
    systems : sequence of str, default ("ai", "human")
        The two systems compared (differences are second − first).
    objective_attribute : str, optional
        Attribute correlated with the metrics; default: "overall quality" when
        rated, else the first attribute.
    lmm_max_participants : int or None, default 40
        Fit the LMMs on a seeded random subset of this many screened participants
        when there are more (None: all). The subset is stated in ``lmm_note``.
    lmm_sensitivity : bool, default True
        Also fit the logit-transformed LMM.
    n_resamples : int, default 9999
        Bootstrap resamples of the objective-subjective CIs.
    seed : int, default 0
        Seed of the LMM subset and of the bootstrap.

    Returns
    -------
    StudyResults
        Every table, at full precision.

    References
    ----------
    ITU-R BS.1534-3 (2015); METRICS.md §7-8.

    Examples
    --------
    >>> from analysis.stats.simulation import simulate_study
    >>> study = simulate_study(8, 4, seed=2)
    >>> results = analyse_study(study.ratings, lmm_sensitivity=False, n_resamples=99)
    >>> results.screening.n_after
    6
    """
    require_columns(ratings, [*RATING_COLUMNS, "genre"], "ratings")
    require_rows(ratings, "ratings")
    a, b = systems
    screening = post_screening(ratings)
    kept = screening.ratings
    if kept.empty:
        raise InvalidInputError("every participant was excluded by post-screening")
    attributes = [str(x) for x in pd.unique(kept["attribute"])]
    if objective_attribute is None:
        objective_attribute = (
            "overall quality" if "overall quality" in attributes else attributes[0]
        )

    rm_tables, friedman_tables = [], []
    for attribute in attributes:
        rm_tables.append(rm_anova_system_genre(kept, attribute, systems=systems))
        friedman_tables.append(friedman_systems(kept, attribute, systems=systems))

    participants = np.asarray(sorted(map(str, pd.unique(kept["participant"]))))
    n_all = len(participants)
    lmm_data = kept
    note = f"fitted on all {n_all} screened participants"
    if lmm_max_participants is not None and n_all > lmm_max_participants:
        chosen = np.random.default_rng(seed).choice(
            participants, lmm_max_participants, replace=False
        )
        lmm_data = kept.loc[kept["participant"].astype(str).isin(set(chosen))]
        note = (
            f"fitted on a seeded random subset of {lmm_max_participants} of {n_all} screened "
            f"participants (seed {seed}): statsmodels fits crossed random effects densely, "
            "so the cost grows with (participants + tracks)² × ratings; the aggregate tests "
            "above use every participant"
        )
    lmm = {x: mixed_model(lmm_data, x, systems=systems, reference=b) for x in attributes}
    lmm_logit = (
        {
            x: mixed_model(lmm_data, x, systems=systems, reference=b, transform="logit")
            for x in attributes
        }
        if lmm_sensitivity
        else {}
    )

    genre_rows = kept.loc[kept["system"].isin(systems)]
    extra: dict[str, pd.DataFrame | None] = {}
    versions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if metrics is not None:
        extra["objective"] = objective_table(metrics, a=a, b=b)
        extra["per_track"] = per_track_table(metrics, a=a, b=b)
        extra["objective_subjective"] = objective_vs_subjective(
            metrics, kept, objective_attribute, a=a, b=b, n_resamples=n_resamples, seed=seed
        )
        extra["track_deltas"] = track_differences(metrics, kept, objective_attribute, a=a, b=b)
        if "metrics_version" in metrics.columns:
            versions = tuple(sorted(map(str, pd.unique(metrics["metrics_version"].dropna()))))
        notes = _metric_notes(metrics)
    if abx is not None:
        extra["abx"] = abx_tests(abx)
    if preferences is not None:
        extra["preference"] = preference_tests(preferences, system=a)
        n_systems = len(set(preferences["a_system"]) | set(preferences["b_system"]))
        if n_systems > 2:
            extra["bradley_terry"] = bradley_terry(preferences, reference=a)
    return StudyResults(
        screening=screening,
        descriptives=descriptives(kept, ("attribute", "condition")),
        descriptives_genre=descriptives(genre_rows, ("attribute", "genre", "condition")),
        comparison=compare_systems(kept, a=a, b=b),
        rm_anova=pd.concat(rm_tables, ignore_index=True),
        friedman=pd.concat(friedman_tables, ignore_index=True),
        lmm=lmm,
        lmm_logit=lmm_logit,
        lmm_note=note,
        objective_attribute=objective_attribute,
        simulated=_is_simulated(ratings, metrics, abx, preferences),
        metrics_versions=versions,
        metric_notes=notes,
        **extra,
    )


def _metric_notes(metrics: pd.DataFrame) -> tuple[str, ...]:
    """One line per master whose HFD (or part of it) is not applicable, with the reason."""
    if "hfd_note" not in metrics.columns:
        return ()
    rows = metrics.loc[metrics["hfd_note"].fillna("").astype(str) != ""]
    return tuple(
        f"HFD of {row.get('track', '?')} ({row.get('system', '?')}"
        + (f", {row['provider']}" if row.get("provider") else "")
        + f"): {row['hfd_note']}"
        for _, row in rows.iterrows()
    )
