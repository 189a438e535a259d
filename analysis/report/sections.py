"""The sections of the report about the listeners' answers, one function each.

Design, participants and exclusions, the primary analysis, genres, AB/ABX choices and
the secondary tests; each returns the HTML body of its section (the page adds the
headings). The sections about the objective metrics are in
:mod:`analysis.report.metric_sections`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.figures import (
    forest_plot,
    histogram_plot,
    proportions_plot,
)
from analysis.report.findings import system_names
from analysis.report.tables import MAX_ROWS, html_note, html_table
from analysis.stats import StudyResults
from analysis.stats.format import format_df, format_p


# ----------------------------------------------------------------------- sections
def design_section(design: Mapping[str, Any]) -> str:
    """Return the "Design" section: the study design as a table."""
    rows = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="text">{html.escape(str(v))}</td></tr>'
        for k, v in design.items()
    )
    return f"<table>{rows}</table>" if rows else html_note("No design summary given.")


def participants_section(results: StudyResults) -> str:
    """Return the "Participants and exclusions" section."""
    parts: list[str] = []
    s = results.screening
    if s is not None:
        parts.append(
            f"<p>{s.n_before} participants rated; {s.n_excluded} excluded by BS.1534-3 "
            f"post-screening (hidden reference &lt; {s.hidden_ref_threshold:g} or mid anchor "
            f"&gt; {s.anchor_threshold:g} in more than {s.max_share * 100:g} % of items; an "
            f"item is one track rated on one attribute); {s.n_after} analysed.</p>"
        )
        parts.append(
            html_table(
                s.excluded,
                {
                    "participant": "participant",
                    "n_items": "items",
                    "hidden_ref_share": "share hidden ref. low",
                    "anchor_share": "share anchor high",
                    "reason": "reason",
                },
                "Excluded participants",
                text_columns=("reason",),
            )
            if s.n_excluded
            else html_note("No participant was excluded.")
        )
    for name, table in (("ABX", results.abx_model), ("AB preference", results.preference_model)):
        if table is not None and len(table):
            total = int(table["n"].sum())
            people = int(table["n_participants"].max())
            parts.append(f"<p>{name}: {total} answers from {people} participants.</p>")
    return "".join(parts) or html_note("No participant data.")


def primary_section(results: StudyResults) -> str:
    """Return the primary analysis: ratings per condition and AI versus human."""
    a, b = system_names(results)
    primary = results.primary
    if primary is None:
        return html_note("The study has no MUSHRA ratings of both systems.")
    parts = [
        forest_plot(
            [str(x) for x in primary["attribute"]],
            primary,
            f"{b} − {a} (rating points; > 0 favours {b})",
            f"{b} − {a} per attribute, 95 % CI",
        ),
        html_table(
            primary,
            {
                "attribute": "attribute",
                "estimate": f"{b} − {a}",
                "ci_low": "CI low",
                "ci_high": "CI high",
                "se": "SE",
                "df": "df",
                "t": "t",
                "p": "p",
                "p_holm": "p (Holm)",
                "n_participants": "participants",
                "n_tracks": "tracks",
                "n_obs": "ratings",
            },
            "Primary model: the answer per attribute",
        ),
    ]
    formulas = pd.DataFrame(
        {
            "attribute": primary["attribute"],
            "formula": primary["formula"],
            "notes": primary["notes"].replace("", "—"),
            "converged": primary["converged"].map({True: "yes", False: "NO"}),
        }
    )
    parts.append(
        html_table(
            formulas,
            None,
            "Model actually fitted (lme4 notation, REML)",
            text_columns=("formula", "notes"),
        )
    )
    variance_columns = {c: c.removeprefix("var_") for c in primary.columns if c.startswith("var_")}
    parts.append(
        html_table(
            primary,
            {"attribute": "attribute", **variance_columns},
            "Variance components (rating points²; — where the term is not in the model)",
        )
    )
    if results.primary_logit is not None:
        parts.append(
            html_table(
                results.primary_logit,
                {
                    "attribute": "attribute",
                    "estimate": f"{b} − {a} (logit units)",
                    "ci_low": "CI low",
                    "ci_high": "CI high",
                    "df": "df",
                    "p": "p",
                    "p_holm": "p (Holm)",
                },
                "Sensitivity: the same model on logit((score + 0.5)/101), robust to the "
                "ceiling of the scale",
            )
        )
    return "".join(parts)


def genres_section(results: StudyResults) -> str:
    """Return the per-genre effects section."""
    a, b = system_names(results)
    parts: list[str] = []
    for attribute, effects in results.genre.items():
        table = effects.table
        tested = table.loc[table["tested"]]
        parts.append(f"<h3>{html.escape(attribute)}</h3>")
        if len(tested):
            parts.append(
                forest_plot(
                    [str(g) for g in tested["genre"]],
                    tested,
                    f"{b} − {a} (rating points)",
                    f"{b} − {a} per genre, {attribute}, 95 % CI",
                )
            )
            if effects.interaction is not None:
                f = effects.interaction
                parts.append(
                    html_note(
                        f"Does the difference depend on genre? F({format_df(f.num_df)}, "
                        f"{format_df(f.den_df)}) = {f.f:.2f}, p = {format_p(f.p)} "
                        f"(Satterthwaite). Model: {html.escape(effects.formula)}."
                    )
                )
        parts.append(
            html_table(
                table,
                {
                    "genre": "genre",
                    "n_tracks": "tracks",
                    "estimate": f"{b} − {a}",
                    "ci_low": "CI low",
                    "ci_high": "CI high",
                    "df": "df",
                    "p": "p",
                    "p_holm": "p (Holm)",
                    "reason": "not tested because",
                },
                text_columns=("reason",),
            )
        )
    if results.descriptives_genre is not None:
        parts.append(
            html_table(
                results.descriptives_genre,
                {
                    "attribute": "attribute",
                    "genre": "genre",
                    "condition": "system",
                    "n": "participants",
                    "mean": "mean",
                    "ci_low": "CI low",
                    "ci_high": "CI high",
                },
                "Descriptives per genre (over participants)",
            )
        )
    return "".join(parts) or html_note("No ratings per genre.")


def choices_section(results: StudyResults) -> str:
    """Return the AB preference and ABX discrimination section."""
    a, b = system_names(results)
    parts: list[str] = []
    model_columns = {
        "n": "answers",
        "n_participants": "participants",
        "n_tracks": "tracks",
        "share": "raw share",
        "prob": "model estimate",
        "prob_ci_low": "CI low",
        "prob_ci_high": "CI high",
        "df": "df",
        "p": "p",
    }
    pref = results.preference_model
    if pref is not None and len(pref):
        fitted = pref.loc[np.isfinite(pref.get("prob", pd.Series(np.nan, index=pref.index)))]
        if len(fitted):
            parts.append(
                proportions_plot(
                    fitted, "attribute", f"Share of AB answers preferring {b}, 95 % CI"
                )
            )
        parts.append(
            html_table(
                pref,
                {
                    "attribute": "attribute",
                    **model_columns,
                    "ties": "ties",
                    "p_holm": "p (Holm)",
                    "position_log_odds": "A-position bias (log-odds)",
                    "position_p": "bias p",
                },
                f"AB preference ({b} over {a}): logistic mixed model",
            )
        )
        parts.append(
            html_table(
                pref,
                {"attribute": "attribute", "formula": "model", "notes": "notes"},
                text_columns=("model", "notes"),
            )
        )
    if results.preference is not None and len(results.preference):
        parts.append(
            html_table(
                results.preference,
                {
                    "attribute": "attribute",
                    "pair": "pair",
                    "system": "counted",
                    "n": "answers",
                    "ties": "ties",
                    "k": "chosen",
                    "share": "share",
                    "chose_a": "chose A",
                },
                "AB answers per pair (counts)",
            )
        )
    abx_model = results.abx_model
    if abx_model is not None and len(abx_model):
        parts.append(
            html_table(
                abx_model,
                {"pair": "pair", **model_columns, "formula": "model", "notes": "notes"},
                "ABX: rate of correct answers (logistic mixed model, one-sided against 50 %)",
                text_columns=("model", "notes"),
            )
        )
    abx = results.abx
    if abx is not None and len(abx):
        per = abx.loc[abx["level"] == "participant"]
        pooled = abx.loc[abx["level"] == "pooled"]
        if len(per):
            significant = int((per["p"] < 0.05).sum())
            parts.append(
                html_note(
                    f"{significant} of {len(per)} participants individually scored above "
                    "chance (exact one-sided binomial, p < .05)."
                )
            )
            parts.append(
                histogram_plot(
                    per["share"].to_numpy(dtype=float),
                    "share of correct ABX answers",
                    "Per-participant ABX scores",
                )
            )
        columns = {
            "participant": "participant",
            "pair": "pair",
            "k": "correct",
            "n": "answers",
            "share": "share",
            "p": "p",
            "ci_low": "lower bound",
        }
        parts.append(html_table(pooled, columns, "ABX pooled (exact binomial)"))
        if 0 < len(per) <= MAX_ROWS:
            parts.append(html_table(per, columns, "ABX per participant (exact one-sided binomial)"))
        elif len(per):
            parts.append(html_note(f"The {len(per)} per-participant rows are in the abx export."))
    return "".join(parts) or html_note("The study has no ABX or AB answers.")


def secondary_section(results: StudyResults) -> str:
    """Return the secondary analyses section."""
    a, b = system_names(results)
    if results.secondary is None:
        return html_note("No ratings.")
    return html_note(
        "These tests average each participant over the tracks and treat the tracks as fixed: "
        "they answer whether these participants preferred the human masters <em>of these "
        "tracks</em>. They do not generalise to music in general and reject a true null far "
        "more often than 5 % when tracks differ; the primary model above is the answer."
    ) + html_table(
        results.secondary,
        {
            "attribute": "attribute",
            "n": "participants",
            "mean_diff": f"{b} − {a}",
            "ci_low": "CI low",
            "ci_high": "CI high",
            "dof": "df",
            "p_t": "p (t)",
            "p_wilcoxon": "p (Wilcoxon)",
            "d_z": "d_z",
        },
        "Paired tests on per-participant means (tracks fixed)",
    )
