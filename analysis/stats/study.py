"""Every analysis of a study in one call, for the report, the results bundle and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.errors import InvalidInputError
from analysis.stats.choice_models import abx_model, preference_model
from analysis.stats.choices import abx_tests, preference_tests
from analysis.stats.genres import GenreEffects, genre_effects
from analysis.stats.inputs import RATING_COLUMNS, require_columns, system_ratings
from analysis.stats.mixed import system_effects
from analysis.stats.objective import (
    objective_table,
    objective_vs_subjective,
    per_track_table,
    track_differences,
)
from analysis.stats.ratings import compare_systems, descriptives
from analysis.stats.screening import ScreeningResult, post_screening


@dataclass(frozen=True, eq=False)
class StudyResults:
    """All result tables of one study (full precision; format with ``format_table``).

    Attributes
    ----------
    systems : tuple of str
        The two systems compared (a, b); differences are b − a (human − AI).
    screening : ScreeningResult or None
        BS.1534-3 post-screening of the MUSHRA ratings (None without ratings).
    primary : pandas.DataFrame or None
        The answer: b − a per attribute from the crossed mixed model, Holm across
        attributes (:func:`analysis.stats.system_effects`).
    primary_logit : pandas.DataFrame or None
        The same model on logit-transformed scores (ceiling sensitivity).
    genre : dict of str to GenreEffects
        Per attribute, b − a per genre with ≥ 2 tracks.
    descriptives, descriptives_genre : pandas.DataFrame or None
        Per attribute × condition (and × genre), over participants.
    secondary : pandas.DataFrame or None
        Paired tests on per-participant means: they treat the tracks as fixed.
    objective, per_track : pandas.DataFrame or None
        Metrics AI versus human across tracks, and per track.
    objective_subjective, track_deltas : pandas.DataFrame or None
        Per-track Δmetric against Δrating for every attribute.
    abx, abx_model : pandas.DataFrame or None
        Exact binomial tests per participant and pooled; the mixed logistic model.
    preference, preference_model : pandas.DataFrame or None
        AB answer counts per attribute and pair; the mixed logistic model.
    simulated : bool
        Whether any input row is simulated.
    metrics_versions : tuple of str
        Metric definition versions found in the metrics table.
    metric_notes : tuple of str
        Metrics not applicable to some masters, with the reason (HFD bands where the
        mix has no energy, lossy sources).
    """

    systems: tuple[str, str]
    simulated: bool
    screening: ScreeningResult | None = None
    primary: pd.DataFrame | None = None
    primary_logit: pd.DataFrame | None = None
    genre: dict[str, GenreEffects] = field(default_factory=dict)
    descriptives: pd.DataFrame | None = None
    descriptives_genre: pd.DataFrame | None = None
    secondary: pd.DataFrame | None = None
    objective: pd.DataFrame | None = None
    per_track: pd.DataFrame | None = None
    objective_subjective: pd.DataFrame | None = None
    track_deltas: pd.DataFrame | None = None
    abx: pd.DataFrame | None = None
    abx_model: pd.DataFrame | None = None
    preference: pd.DataFrame | None = None
    preference_model: pd.DataFrame | None = None
    metrics_versions: tuple[str, ...] = ()
    metric_notes: tuple[str, ...] = ()


def _is_simulated(*tables: pd.DataFrame | None) -> bool:
    return any(
        t is not None and "simulated" in t.columns and bool(t["simulated"].astype(bool).any())
        for t in tables
    )


def _present(table: pd.DataFrame | None) -> bool:
    return table is not None and len(table) > 0


def analyse_study(
    ratings: pd.DataFrame | None = None,
    *,
    metrics: pd.DataFrame | None = None,
    abx: pd.DataFrame | None = None,
    preferences: pd.DataFrame | None = None,
    systems: Sequence[str] = ("ai", "human"),
    sensitivity: bool = True,
    n_resamples: int = 9999,
    seed: int = 0,
) -> StudyResults:
    """Screen the ratings and run every analysis of docs/statistics.md.

    Parameters
    ----------
    ratings : pandas.DataFrame, optional
        Tidy MUSHRA ratings (the export's columns, with ``genre``).
    metrics, abx, preferences : pandas.DataFrame, optional
        Objective metrics per master, ABX answers and AB preference answers. A study
        may have any of the tables; at least one must have rows.
    systems : sequence of str, default ("ai", "human")
        The two systems compared (differences are second − first).
    sensitivity : bool, default True
        Also fit the primary model on logit-transformed scores.
    n_resamples : int, default 9999
        Bootstrap resamples of the objective-subjective CIs.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    StudyResults
        Every table, at full precision.

    References
    ----------
    ITU-R BS.1534-3 (2015); docs/statistics.md.

    Examples
    --------
    >>> from analysis.stats.simulation import simulate_study
    >>> study = simulate_study(8, 4, seed=2)
    >>> results = analyse_study(study.ratings, sensitivity=False, n_resamples=99)
    >>> results.screening.n_after, list(results.primary["attribute"])[:1]
    (6, ['overall quality'])
    """
    a, b = (str(s) for s in systems)
    if not any(_present(t) for t in (ratings, abx, preferences, metrics)):
        raise InvalidInputError("nothing to analyse: every table is empty")
    out: dict[str, object] = {}
    kept = None
    if _present(ratings):
        assert ratings is not None
        require_columns(ratings, [*RATING_COLUMNS, "genre"], "ratings")
        screening = post_screening(ratings)
        kept = screening.ratings
        if kept.empty:
            raise InvalidInputError("every participant was excluded by post-screening")
        masters = system_ratings(kept, (a, b))
        attributes = [str(x) for x in pd.unique(masters["attribute"].astype(str))]
        out["screening"] = screening
        out["descriptives"] = descriptives(kept, ("attribute", "condition"))
        out["descriptives_genre"] = descriptives(masters, ("attribute", "genre", "condition"))
        out["primary"] = system_effects(kept, attributes, a=a, b=b)
        if sensitivity:
            out["primary_logit"] = system_effects(kept, attributes, a=a, b=b, transform="logit")
        out["genre"] = {x: genre_effects(kept, x, a=a, b=b) for x in attributes}
        out["secondary"] = compare_systems(kept, a=a, b=b)
    versions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if _present(metrics):
        assert metrics is not None
        out["objective"] = objective_table(metrics, a=a, b=b)
        out["per_track"] = per_track_table(metrics, a=a, b=b)
        if kept is not None:
            out["objective_subjective"] = objective_vs_subjective(
                metrics, kept, a=a, b=b, n_resamples=n_resamples, seed=seed
            )
            out["track_deltas"] = track_differences(metrics, kept, a=a, b=b)
        if "metrics_version" in metrics.columns:
            versions = tuple(sorted(map(str, pd.unique(metrics["metrics_version"].dropna()))))
        notes = _metric_notes(metrics)
    if _present(abx):
        assert abx is not None
        out["abx"] = abx_tests(abx)
        out["abx_model"] = abx_model(abx)
    if _present(preferences):
        assert preferences is not None
        out["preference"] = preference_tests(preferences, system=a)
        out["preference_model"] = preference_model(preferences, a=a, b=b)
    return StudyResults(
        systems=(a, b),
        simulated=_is_simulated(ratings, metrics, abx, preferences),
        metrics_versions=versions,
        metric_notes=notes,
        **out,  # type: ignore[arg-type]
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
