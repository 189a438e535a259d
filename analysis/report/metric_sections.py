"""The sections of the report about the objective metrics, one function each.

The metrics of the two systems across tracks (tables split by metric family so that
each fits the page) and their relation to the ratings; each returns the HTML body of
its section (the page adds the headings).
"""

from __future__ import annotations

import html
from typing import Final

import pandas as pd

from analysis.report.figures import scatter_plot
from analysis.report.findings import display_name, system_names
from analysis.report.tables import html_note, html_table
from analysis.stats import StudyResults

#: Columns of the metrics-per-track table, grouped so that each table fits the page.
METRIC_FAMILIES: Final = (
    ("Loudness", ("integrated", "true_peak", "loudness_range", "plr", "psr")),
    ("Dynamics and penalty", ("dr_value", "lp_spotify")),
    ("Distortion and intelligibility", ("dm", "median_csdr", "hfd", "it", "stoi")),
    ("Spectrum", ("wsc", "centroid_hz", "tilt_db_per_octave", "ber")),
)


def objective_section(results: StudyResults) -> str:
    """Return the objective-metrics section (tables split by metric family)."""
    raw_a, raw_b = results.systems
    a, b = system_names(results)
    if results.objective is None:
        return html_note("No objective metrics given.")
    parts = [
        html_note(
            f"Per metric, the per-track differences {b} − {a} are tested across tracks "
            "(paired t and Wilcoxon; the track is the unit), Holm across metrics."
        ),
        html_table(
            results.objective,
            {
                "metric": "metric",
                "n": "tracks",
                "mean_a": f"mean {a}",
                "mean_b": f"mean {b}",
                "mean_diff": f"{b} − {a}",
                "ci_low": "CI low",
                "ci_high": "CI high",
                "df": "df",
                "dof": "df",
                "p_t": "p (t)",
                "p_t_holm": "p (t, Holm)",
                "p_wilcoxon_holm": "p (Wilcoxon, Holm)",
                "d_z": "d_z",
            },
            f"Metrics, {a} versus {b}, across tracks",
            by_row=("mean_a", "mean_b", "mean_diff", "ci_low", "ci_high"),
        ),
    ]
    if results.metric_notes:
        parts.append(
            '<p class="note">Not applicable (left out of the tables above):</p><ul>'
            + "".join(f"<li>{html.escape(n)}</li>" for n in results.metric_notes)
            + "</ul>"
        )
    per_track = results.per_track
    if per_track is not None:
        for family, names in METRIC_FAMILIES:
            columns = {"track": "track", "genre": "genre"}
            for name in names:
                for system in (raw_a, raw_b):
                    column = f"{name}_{system}"
                    if column in per_track.columns:
                        columns[column] = f"{name} {display_name(system)}"
            if len(columns) > 2:
                parts.append(html_table(per_track, columns, f"Metrics per track: {family}"))
    return "".join(parts)


def correlations_section(results: StudyResults) -> str:
    """Return the section relating ratings to the objective metrics."""
    table, deltas = results.objective_subjective, results.track_deltas
    if table is None or deltas is None:
        return html_note("Needs both objective metrics and ratings.")
    attributes = list(pd.unique(table["attribute"]))
    columns = {
        "attribute": "attribute",
        "metric": "metric",
        "n": "tracks",
        "rho": "ρ",
        "ci_low": "CI low",
        "ci_high": "CI high",
        "p": "p",
        "p_holm": "p (Holm)",
        "note": "note",
    }
    parts = [
        html_note(
            "Spearman ρ of the per-track metric difference (human − AI) against the per-track "
            "rating difference, for every attribute; the family (one entry per metric) is "
            "Holm-adjusted within each attribute; BCa bootstrap CIs."
        ),
        scatter_plot(deltas, table, str(attributes[0])),
    ]
    notes = set(table["note"])
    if len(notes) == 1:
        # One caveat for every row (e.g. too few tracks): say it once, above the table.
        (note,) = notes
        if note:
            parts.append(f'<p class="note"><strong>{html.escape(note)}.</strong></p>')
        del columns["note"]
    parts.append(html_table(table, columns, text_columns=("note",)))
    return "".join(parts)
