"""Key findings: the answer of the study in sentences with their numbers."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.report.tables import html_note
from analysis.stats import StudyResults
from analysis.stats.format import format_number, format_p


# ----------------------------------------------------------------------- sentences
def display_name(system: str) -> str:
    """Display name of a system ("ai" is shown as "AI")."""
    return "AI" if system.lower() == "ai" else system


def system_names(results: StudyResults) -> tuple[str, str]:
    """Return the display names of the two systems compared (A, B)."""
    a, b = results.systems
    return display_name(a), display_name(b)


def points_text(value: float) -> str:
    """Return ``|value|`` in rating points to one decimal (the sentence gives the direction)."""
    return format_number(abs(value), 1)


def _finding_rating(row: pd.Series, a: str, b: str) -> str:
    """One sentence per attribute from the primary model."""
    est = float(row["estimate"])
    lo, hi = format_number(float(row["ci_low"]), 1), format_number(float(row["ci_high"]), 1)
    p = format_p(float(row["p_holm"]))
    p_text = f"p = {p}" if not p.startswith("<") else f"p {p}"
    counts = f"{int(row['n_participants'])} participants, {int(row['n_tracks'])} tracks"
    direction = "higher" if est > 0 else "lower"
    subject = (
        f"{b[:1].upper() + b[1:]} masters were rated {points_text(est)} points {direction} "
        f"than {a} masters"
    )
    significant = float(row["p_holm"]) < 0.05
    verdict = "" if significant else " — not a significant difference"
    return (
        f"{subject} on {html.escape(str(row['attribute']))} "
        f"(95 % CI {lo} to {hi}, {p_text} Holm-adjusted, {counts}){verdict}."
    )


def _finding_preference(row: pd.Series, b: str) -> str:
    prob = 100 * float(row["prob"])
    lo, hi = 100 * float(row["prob_ci_low"]), 100 * float(row["prob_ci_high"])
    p = format_p(float(row.get("p_holm", row["p"])))
    p_text = f"p = {p}" if not p.startswith("<") else f"p {p}"
    return (
        f"In AB comparisons of {html.escape(str(row['attribute']))}, listeners preferred the "
        f"{html.escape(b)} master in {prob:.0f} % of answers (model estimate; 95 % CI "
        f"{lo:.0f} to {hi:.0f} %, {p_text}, {int(row['n_participants'])} participants, "
        f"{int(row['n_tracks'])} tracks, {int(row['ties'])} ties left out)."
    )


def _finding_abx(row: pd.Series) -> str:
    prob = 100 * float(row["prob"])
    lo = 100 * float(row["prob_ci_low"])
    p = format_p(float(row["p"]))
    p_text = f"p = {p}" if not p.startswith("<") else f"p {p}"
    verdict = (
        "listeners told the versions apart"
        if float(row["p"]) < 0.05
        else "no evidence that listeners told the versions apart"
    )
    return (
        f"ABX {html.escape(str(row['pair']))}: {verdict}: {prob:.0f} % correct "
        f"(model estimate; one-sided 95 % lower bound {lo:.0f} %, chance 50 %, {p_text}, "
        f"{int(row['n_participants'])} participants, {int(row['n_tracks'])} tracks)."
    )


def key_findings(results: StudyResults) -> str:
    """Return the "Key findings" section: the answer in sentences with their numbers."""
    a, b = system_names(results)
    items: list[str] = []
    if results.primary is not None:
        items += [_finding_rating(row, a, b) for _, row in results.primary.iterrows()]
    if results.preference_model is not None and "prob" in results.preference_model.columns:
        items += [
            _finding_preference(row, b)
            for _, row in results.preference_model.iterrows()
            if np.isfinite(row.get("prob", np.nan))
        ]
    if results.abx_model is not None and "prob" in results.abx_model.columns:
        items += [
            _finding_abx(row)
            for _, row in results.abx_model.iterrows()
            if np.isfinite(row.get("prob", np.nan))
        ]
    if results.objective is not None:
        table = results.objective
        significant = table.loc[table["p_t_holm"] < 0.05, "metric"].tolist()
        if significant:
            items.append(
                f"Objective metrics that differ between {b} and {a} masters across tracks "
                f"(paired t, Holm): {html.escape(', '.join(map(str, significant)))}."
            )
        else:
            items.append(
                f"No objective metric differs significantly between {b} and {a} masters "
                "across tracks (paired t, Holm)."
            )
    if results.screening is not None:
        s = results.screening
        items.append(
            f"{s.n_after} of {s.n_before} participants were analysed; {s.n_excluded} were "
            "excluded by BS.1534-3 post-screening."
        )
    if not items:
        return html_note("No result could be computed from the data given.")
    method = ""
    if results.primary is not None:
        method = html_note(
            "Ratings: a linear mixed model with participants and tracks as crossed random "
            "samples, including a track-by-system random effect, so the answer generalises "
            "over listeners and music; Satterthwaite degrees of freedom; Holm across "
            "attributes. Only ratings of the masters enter (never the hidden reference, "
            "anchors or the mix)."
        )
    return '<ul class="findings">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>" + method
