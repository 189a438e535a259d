"""Self-contained HTML report of a listening study (ITU-R BS.1534-3, METRICS.md §7-8).

:func:`render_report` turns :class:`analysis.stats.StudyResults` into one HTML
string: plots are matplotlib PNGs embedded as base64 data URIs, styles are inline,
so the file opens offline. Figures are drawn on matplotlib's Agg canvas without
pyplot. Numbers are rounded only here, by
:func:`analysis.stats.format_table`.
"""

from __future__ import annotations

import base64
import html
import io
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from string import Template
from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import METRICS_VERSION
from analysis.stats import StudyResults, format_table
from analysis.stats._common import condition_label

#: Packages whose versions the report states.
PACKAGES: Final = ("numpy", "scipy", "pandas", "pingouin", "statsmodels", "matplotlib")
#: Section headings, in order (the tests check that each appears).
SECTIONS: Final = (
    "Design",
    "Participants and exclusions",
    "MUSHRA ratings per condition",
    "AI versus human",
    "Per-genre results",
    "Repeated-measures ANOVA and Friedman test",
    "Linear mixed models",
    "Objective metrics",
    "Objective versus subjective",
    "ABX and preference tests",
    "Software and metric versions",
)
SIMULATED_BANNER: Final = "This report contains simulated participants"

PAGE: Final = Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f2f2f2} td:first-child,th:first-child{text-align:left}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;font-size:1.1em}
.note{color:#555;font-size:.9em} img{max-width:100%}
</style></head><body>
$banner<h1>$title</h1>
$body
</body></html>
"""
)


def _png(fig: Figure) -> str:
    """Encode a figure as an embedded PNG <img> and release its canvas."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    fig.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(table: pd.DataFrame | None, caption: str = "") -> str:
    if table is None or table.empty:
        return '<p class="note">No data.</p>'
    shown = format_table(table)
    text = shown.to_html(index=False, na_rep="—", escape=True, border=0)
    return (f"<p><b>{html.escape(caption)}</b></p>" if caption else "") + text


def _grid(n: int, width: float = 4.0, height: float = 3.2) -> tuple[Figure, np.ndarray]:
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    # A bare Figure on the Agg canvas: no pyplot, so no global figure registry
    # to leak into and no backend switch for the host process.
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _boxplots(ratings: pd.DataFrame) -> str:
    """Boxplots of per-participant mean scores per condition, one panel per attribute."""
    data = ratings.assign(condition=condition_label(ratings))
    means = data.groupby(["attribute", "condition", "participant"], observed=True)["score"].mean()
    attributes = list(means.index.get_level_values(0).unique())
    fig, axes = _grid(len(attributes))
    for ax, attribute in zip(axes, attributes, strict=False):
        block = means.xs(attribute, level="attribute")
        conditions = list(block.index.get_level_values(0).unique())
        values = [block.xs(c, level="condition").to_numpy() for c in conditions]
        ax.boxplot(values, tick_labels=conditions)
        ax.set_title(str(attribute))
        ax.set_ylim(0, 100)
        ax.set_ylabel("score (per-participant mean)")
        ax.tick_params(axis="x", rotation=45)
    return _png(fig)


def _bars(table: pd.DataFrame, label: str, a: str, b: str) -> str:
    """Means of a and b with the CI of the difference, one panel per row of ``table``."""
    fig, axes = _grid(len(table), 3.0, 2.8)
    for ax, (_, row) in zip(axes, table.iterrows(), strict=False):
        ax.bar([a, b], [row["mean_a"], row["mean_b"]], color=["#4c72b0", "#dd8452"])
        half = (row["ci_high"] - row["ci_low"]) / 2
        if np.isfinite(half):
            ax.errorbar([b], [row["mean_b"]], yerr=[[half], [half]], color="k", capsize=4)
        ax.set_title(f"{row[label]}\nΔ = {row['mean_diff']:.3g}", fontsize=9)
    fig.suptitle(f"mean of {a} and {b}; error bar: 95 % CI of {b} − {a}", fontsize=9)
    return _png(fig)


def _genre_panels(table: pd.DataFrame) -> str:
    """Per-genre means with 95 % CIs, one panel per attribute."""
    attributes = list(pd.unique(table["attribute"]))
    fig, axes = _grid(len(attributes))
    for ax, attribute in zip(axes, attributes, strict=False):
        block = table.loc[table["attribute"] == attribute]
        genres = list(pd.unique(block["genre"]))
        conditions = list(pd.unique(block["condition"]))
        width = 0.8 / max(len(conditions), 1)
        for i, condition in enumerate(conditions):
            rows = block.loc[block["condition"] == condition].set_index("genre").reindex(genres)
            x = np.arange(len(genres)) + i * width
            err = (rows["ci_high"] - rows["ci_low"]).to_numpy(dtype=float) / 2
            ax.bar(
                x, rows["mean"].to_numpy(dtype=float), width, yerr=err, capsize=3, label=condition
            )
        ax.set_xticks(np.arange(len(genres)) + width * (len(conditions) - 1) / 2, genres)
        ax.set_title(str(attribute))
        ax.legend(fontsize=8)
    return _png(fig)


def _scatter(deltas: pd.DataFrame, correlations: pd.DataFrame) -> str:
    """Δmetric against Δrating per track, one panel per metric."""
    fig, axes = _grid(len(correlations), 3.0, 2.6)
    for ax, (_, row) in zip(axes, correlations.iterrows(), strict=False):
        ax.scatter(deltas[f"delta_{row['metric']}"], deltas["delta_rating"], s=14)
        ax.set_title(f"{row['metric']}: ρ = {row['rho']:.2f}", fontsize=9)
        ax.set_xlabel("Δ metric (human − AI)", fontsize=8)
        ax.set_ylabel("Δ rating", fontsize=8)
    return _png(fig)


def software_versions() -> dict[str, str]:
    """Return the versions of Python, the statistics packages and the metric definitions.

    Returns
    -------
    dict of str to str
        ``python``, each of :data:`PACKAGES` and ``analysis metrics``.

    References
    ----------
    METRICS.md §10 (store versions with every result).

    Examples
    --------
    >>> "scipy" in software_versions()
    True
    """
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out["analysis metrics"] = METRICS_VERSION
    return out


def _lmm_tables(results: StudyResults) -> str:
    parts = [
        f'<p class="note">Crossed random intercepts for participant and track, '
        f"REML; {html.escape(results.lmm_note)}.</p>"
    ]
    for label, fits in (
        ("", results.lmm),
        (" (logit-transformed, sensitivity)", results.lmm_logit),
    ):
        for attribute, fit in fits.items():
            parts.append(f"<h3>{html.escape(str(attribute))}{label}</h3>")
            parts.append(
                f'<p class="note">{html.escape(fit.formula)}; n = {fit.n_obs} '
                f"({fit.n_participants} participants, {fit.n_tracks} tracks); "
                f"converged: {fit.converged}</p>"
            )
            parts.append(_table(fit.fixed, "Fixed effects"))
            parts.append(_table(fit.variance, "Variance components"))
            parts.append(_table(fit.lrt, "Likelihood-ratio test of system (ML fits)"))
    return "".join(parts)


def render_report(
    results: StudyResults,
    *,
    design: Mapping[str, Any],
    simulated: bool | None = None,
    title: str = "Listening-test report",
    systems: tuple[str, str] = ("ai", "human"),
) -> str:
    """Render every table and plot of a study as one self-contained HTML page.

    Parameters
    ----------
    results : StudyResults
        Output of :func:`analysis.stats.analyse_study`.
    design : mapping
        Design summary shown first (e.g. paradigm, attributes, tracks, conditions,
        loudness target, preregistration link); values are shown as text.
    simulated : bool, optional
        Show the "contains simulated participants" banner; default: whether any
        input row was simulated (``results.simulated``).
    title : str, default "Listening-test report"
        Page title.
    systems : tuple of str, default ("ai", "human")
        The systems compared, as passed to ``analyse_study``.

    Returns
    -------
    str
        The HTML document; images are base64 PNG data URIs, nothing is fetched.

    References
    ----------
    ITU-R BS.1534-3 (2015), §9 (presentation of results); METRICS.md §7-8, §10.

    Examples
    --------
    >>> from analysis.stats import analyse_study
    >>> from analysis.stats.simulation import simulate_study
    >>> study = simulate_study(6, 4, seed=3)
    >>> res = analyse_study(study.ratings, lmm_sensitivity=False, n_resamples=99)
    >>> "simulated participants" in render_report(res, design={"paradigm": "MUSHRA"})
    True
    """
    a, b = systems
    flagged = results.simulated if simulated is None else simulated
    screening = results.screening
    body: list[str] = []

    def section(name: str, *parts: str) -> None:
        body.append(f"<h2>{html.escape(name)}</h2>" + "".join(parts))

    design_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in design.items()
    )
    section(SECTIONS[0], f"<table>{design_rows}</table>")
    section(
        SECTIONS[1],
        f"<p>{screening.n_before} participants; {screening.n_excluded} excluded by "
        f"BS.1534-3 post-screening (hidden reference &lt; {screening.hidden_ref_threshold:g} "
        f"or mid anchor &gt; {screening.anchor_threshold:g} in more than "
        f"{screening.max_share * 100:g} % of items; an item is one track rated on one "
        f"attribute); {screening.n_after} analysed.</p>",
        _table(screening.excluded[["participant", "reason"]], "Excluded participants"),
    )
    section(
        SECTIONS[2],
        '<p class="note">Statistics over participants after averaging each participant '
        "over tracks; 95 % CI = mean ± t<sub>0.975, n−1</sub>·s/√n.</p>",
        _boxplots(screening.ratings),
        _table(results.descriptives, "Descriptives"),
    )
    section(
        SECTIONS[3],
        f'<p class="note">Per-participant means; Δ = {b} − {a}; paired t and Wilcoxon, '
        "d<sub>z</sub> and g<sub>z</sub> with noncentral-t CIs, Holm across attributes.</p>",
        _bars(results.comparison, "attribute", a, b),
        _table(results.comparison),
    )
    section(
        SECTIONS[4], _genre_panels(results.descriptives_genre), _table(results.descriptives_genre)
    )
    section(
        SECTIONS[5],
        '<p class="note">Greenhouse-Geisser corrected p in <code>p_GG_corr</code>.</p>',
        _table(results.rm_anova, "rm-ANOVA (system × genre)"),
        _table(results.friedman, "Friedman"),
    )
    section(SECTIONS[6], _lmm_tables(results))
    if results.objective is not None:
        section(
            SECTIONS[7],
            _bars(results.objective, "metric", a, b),
            _table(results.objective, "Table 2: AI versus human across tracks (Holm)"),
            _table(results.per_track, "Table 1: metrics per track"),
            *(
                [
                    '<p class="note">Not applicable (left out of the tables above):</p><ul>'
                    + "".join(f"<li>{html.escape(n)}</li>" for n in results.metric_notes)
                    + "</ul>"
                ]
                if results.metric_notes
                else []
            ),
        )
    else:
        section(SECTIONS[7], '<p class="note">No objective metrics given.</p>')
    if results.objective_subjective is not None and results.track_deltas is not None:
        section(
            SECTIONS[8],
            f'<p class="note">Spearman ρ of per-track Δmetric against Δ mean rating of '
            f'"{html.escape(results.objective_attribute)}"; BCa bootstrap CI; BH across '
            "metrics.</p>",
            _scatter(results.track_deltas, results.objective_subjective),
            _table(results.objective_subjective),
        )
    else:
        section(SECTIONS[8], '<p class="note">No objective metrics given.</p>')
    pooled = None if results.abx is None else results.abx.loc[results.abx["level"] == "pooled"]
    section(
        SECTIONS[9],
        _table(pooled, "ABX, pooled (exact one-sided binomial, Clopper-Pearson)"),
        _table(results.abx, "ABX per participant"),
        _table(results.preference, "AB preference (two-sided sign test, ties excluded)"),
        _table(results.bradley_terry, "Bradley-Terry log-strengths"),
    )
    versions = software_versions()
    if results.metrics_versions:
        versions["metrics of the data"] = ", ".join(results.metrics_versions)
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in versions.items()
    )
    section(SECTIONS[10], f"<table>{rows}</table>")
    banner = f'<div class="banner">{SIMULATED_BANNER}.</div>' if flagged else ""
    return PAGE.substitute(title=html.escape(title), banner=banner, body="\n".join(body))
