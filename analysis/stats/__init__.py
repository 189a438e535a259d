"""Listening-test statistics over tidy pandas tables (docs/statistics.md).

Every function takes long-format DataFrames as exported by the platform (one row
per rating, answer or master) and returns one row per test, at full precision;
:func:`format_table` rounds for display. Errors are
:class:`analysis.errors.InvalidInputError` naming the missing columns or values.
"""

from analysis.stats.choice_models import abx_model, preference_model
from analysis.stats.choices import abx_tests, bradley_terry, preference_tests
from analysis.stats.format import format_table
from analysis.stats.genres import GenreEffects, genre_effects
from analysis.stats.mixed import SystemEffect, system_effect, system_effects
from analysis.stats.objective import (
    DEFAULT_METRICS,
    objective_table,
    objective_vs_subjective,
    per_track_table,
    track_differences,
)
from analysis.stats.power import power_paired_t
from analysis.stats.ratings import compare_systems, descriptives, participant_means
from analysis.stats.screening import ScreeningResult, post_screening
from analysis.stats.study import StudyResults, analyse_study

__all__ = [
    "DEFAULT_METRICS",
    "GenreEffects",
    "ScreeningResult",
    "StudyResults",
    "SystemEffect",
    "abx_model",
    "abx_tests",
    "analyse_study",
    "bradley_terry",
    "compare_systems",
    "descriptives",
    "format_table",
    "genre_effects",
    "objective_table",
    "objective_vs_subjective",
    "participant_means",
    "per_track_table",
    "post_screening",
    "power_paired_t",
    "preference_model",
    "preference_tests",
    "system_effect",
    "system_effects",
    "track_differences",
]
