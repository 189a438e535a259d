"""Self-contained HTML report of a listening study that leads with the answer.

:func:`render_report` turns :class:`analysis.stats.StudyResults` into one HTML
string. It opens with the key findings in sentences with their numbers, then the
plots and tables a researcher expects. Plots are matplotlib PNGs embedded as
base64 data URIs and styles are inline, so the file opens offline; figures are
drawn on matplotlib's Agg canvas without pyplot. Numbers are rounded only by
:mod:`analysis.stats.format`. Every table is narrow enough for a 1,200-pixel
page; wide tables (metrics per track) are split by metric family.
"""

from __future__ import annotations

import base64
import html
import io
import platform
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from string import Template
from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import METRICS_VERSION
from analysis.stats import StudyResults
from analysis.stats.format import format_df, format_number, format_p, format_table

#: Packages whose versions the report states.
PACKAGES: Final = ("numpy", "scipy", "pandas", "pingouin", "statsmodels", "matplotlib")
#: Section headings, in order (the tests check that each appears).
SECTIONS: Final = (
    "Key findings",
    "Design",
    "Participants and exclusions",
    "Ratings per condition",
    "AI versus human",
    "Per genre",
    "Objective metrics",
    "Objective versus subjective",
    "ABX and AB preference",
    "Secondary analyses",
    "Software and metric versions",
)
SIMULATED_BANNER: Final = "This report contains simulated participants"
#: Columns of the metrics-per-track table, grouped so that each table fits the page.
METRIC_FAMILIES: Final = (
    ("Loudness", ("integrated", "true_peak", "loudness_range", "plr", "psr")),
    ("Dynamics and penalty", ("dr_value", "lp_spotify")),
    ("Distortion and intelligibility", ("dm", "median_csdr", "hfd", "it", "stoi")),
    ("Spectrum", ("wsc", "centroid_hz", "tilt_db_per_octave", "ber")),
)
#: Largest number of per-participant rows shown inline (the rest are in the CSV).
MAX_ROWS: Final = 60

PAGE: Final = Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.45}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em;max-width:100%}
th,td{border:1px solid #ccc;padding:.2em .45em;text-align:right;vertical-align:top}
th{background:#f2f2f2} td:first-child,th:first-child{text-align:left}
td.text{text-align:left;max-width:28em;overflow-wrap:anywhere}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;font-size:1.1em}
.note{color:#555;font-size:.9em} img{max-width:100%;height:auto}
.findings li{margin:.35em 0}
</style></head><body>
$banner<h1>$title</h1>
$body
</body></html>
"""
)


# ----------------------------------------------------------------------- HTML parts
def _png(fig: Figure, alt: str) -> str:
    """Encode a figure as an embedded PNG <img> and release its canvas."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    fig.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(
    table: pd.DataFrame | None,
    columns: Mapping[str, str] | None = None,
    caption: str = "",
    text_columns: Sequence[str] = (),
    by_row: Sequence[str] = (),
) -> str:
    """Render selected columns of a table with readable headers."""
    if table is None or table.empty:
        return '<p class="note">No data.</p>'
    if columns is not None:
        present = {k: v for k, v in columns.items() if k in table.columns}
        shown = format_table(table[list(present)], by_row).rename(columns=present)
        text = [present[c] for c in text_columns if c in present]
    else:
        shown = format_table(table, by_row)
        text = list(text_columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for _, row in shown.iterrows():
        cells = []
        for column, value in row.items():
            shown_value = (
                "—" if value is None or (isinstance(value, float) and np.isnan(value)) else value
            )
            klass = ' class="text"' if column in text else ""
            cells.append(f"<td{klass}>{html.escape(str(shown_value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _grid(
    n: int, width: float = 3.6, height: float = 3.0, cols: int = 4
) -> tuple[Figure, np.ndarray]:
    cols = max(1, min(n, cols))
    rows = int(np.ceil(n / cols))
    # A bare Figure on the Agg canvas: no pyplot, so no global figure registry
    # to leak into and no backend switch for the host process.
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


# ----------------------------------------------------------------------- plots
def _condition_plot(descriptives: pd.DataFrame) -> str:
    """Mean ± 95 % CI per condition, one panel per attribute."""
    attributes = list(pd.unique(descriptives["attribute"]))
    fig, axes = _grid(len(attributes))
    for ax, attribute in zip(axes, attributes, strict=False):
        block = descriptives.loc[descriptives["attribute"] == attribute]
        x = np.arange(len(block))
        mean = block["mean"].to_numpy(dtype=float)
        low = mean - block["ci_low"].to_numpy(dtype=float)
        high = block["ci_high"].to_numpy(dtype=float) - mean
        ax.errorbar(x, mean, yerr=[low, high], fmt="o", capsize=4, color="#333")
        ax.set_xticks(x, [str(c) for c in block["condition"]], rotation=45, ha="right")
        ax.set_ylim(0, 100)
        ax.set_title(str(attribute), fontsize=10)
        ax.set_ylabel("score (mean ± 95 % CI)")
        ax.grid(axis="y", alpha=0.3)
    return _png(fig, "Mean score with 95 % confidence interval per condition and attribute")


def _forest(labels: Sequence[str], table: pd.DataFrame, xlabel: str, title: str) -> str:
    """Estimates with CIs on a difference axis, with the no-difference line."""
    n = len(labels)
    fig = Figure(figsize=(7.5, 0.5 * n + 1.3), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    est = table["estimate"].to_numpy(dtype=float)
    low = est - table["ci_low"].to_numpy(dtype=float)
    high = table["ci_high"].to_numpy(dtype=float) - est
    ax.errorbar(est, y, xerr=[low, high], fmt="s", color="#1f4e79", capsize=4)
    ax.axvline(0.0, color="#b00020", lw=1, ls="--")
    ax.set_yticks(y, list(labels))
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig, title)


def _scatter(deltas: pd.DataFrame, correlations: pd.DataFrame, attribute: str) -> str:
    """Δmetric against Δrating per track for one attribute, one panel per metric."""
    rows = correlations.loc[correlations["attribute"] == attribute]
    block = deltas.loc[deltas["attribute"] == attribute]
    fig, axes = _grid(len(rows), 3.0, 2.6)
    for ax, (_, row) in zip(axes, rows.iterrows(), strict=False):
        ax.scatter(block[f"delta_{row['metric']}"], block["delta_rating"], s=16)
        rho = "—" if not np.isfinite(row["rho"]) else f"{row['rho']:.2f}"
        ax.set_title(f"{row['metric']}: ρ = {rho}", fontsize=9)
        ax.set_xlabel("Δ metric (human − AI)", fontsize=8)
        ax.set_ylabel("Δ rating", fontsize=8)
        ax.axhline(0.0, color="#999", lw=0.8)
    return _png(fig, f"Per-track metric difference against rating difference, {attribute}")


def _proportions(table: pd.DataFrame, label: str, title: str) -> str:
    """Estimated proportions with CIs on a 0-1 axis, with the chance line."""
    n = len(table)
    fig = Figure(figsize=(7.5, 0.5 * n + 1.3), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    prob = table["prob"].to_numpy(dtype=float)
    low = prob - table["prob_ci_low"].to_numpy(dtype=float)
    high = np.clip(table["prob_ci_high"].to_numpy(dtype=float), 0, 1) - prob
    ax.errorbar(prob, y, xerr=[low, high], fmt="s", color="#1f4e79", capsize=4)
    ax.axvline(0.5, color="#b00020", lw=1, ls="--")
    ax.set_xlim(0, 1)
    ax.set_yticks(y, [str(v) for v in table[label]])
    ax.set_title(title, fontsize=10)
    return _png(fig, title)


def _histogram(values: np.ndarray, xlabel: str, title: str) -> str:
    fig = Figure(figsize=(6.0, 2.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.hist(values, bins=[i / 20 for i in range(21)], color="#1f4e79", edgecolor="white")
    ax.axvline(0.5, color="#b00020", lw=1, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("participants")
    ax.set_title(title, fontsize=10)
    return _png(fig, title)


# ----------------------------------------------------------------------- sentences
def _name(system: str) -> str:
    """Display name of a system ("ai" is shown as "AI")."""
    return "AI" if system.lower() == "ai" else system


def _names(results: StudyResults) -> tuple[str, str]:
    a, b = results.systems
    return _name(a), _name(b)


def _points(value: float) -> str:
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
        f"{b[:1].upper() + b[1:]} masters were rated {_points(est)} points {direction} "
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


def _key_findings(results: StudyResults) -> str:
    a, b = _names(results)
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
        return _note("No result could be computed from the data given.")
    method = ""
    if results.primary is not None:
        method = _note(
            "Ratings: a linear mixed model with participants and tracks as crossed random "
            "samples, including a track-by-system random effect, so the answer generalises "
            "over listeners and music; Satterthwaite degrees of freedom; Holm across "
            "attributes. Only ratings of the masters enter (never the hidden reference, "
            "anchors or the mix)."
        )
    return '<ul class="findings">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>" + method


# ----------------------------------------------------------------------- sections
def _design(design: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="text">{html.escape(str(v))}</td></tr>'
        for k, v in design.items()
    )
    return f"<table>{rows}</table>" if rows else _note("No design summary given.")


def _participants(results: StudyResults) -> str:
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
            _table(
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
            else _note("No participant was excluded.")
        )
    for name, table in (("ABX", results.abx_model), ("AB preference", results.preference_model)):
        if table is not None and len(table):
            total = int(table["n"].sum())
            people = int(table["n_participants"].max())
            parts.append(f"<p>{name}: {total} answers from {people} participants.</p>")
    return "".join(parts) or _note("No participant data.")


def _primary(results: StudyResults) -> str:
    a, b = _names(results)
    primary = results.primary
    if primary is None:
        return _note("The study has no MUSHRA ratings of both systems.")
    parts = [
        _forest(
            [str(x) for x in primary["attribute"]],
            primary,
            f"{b} − {a} (rating points; > 0 favours {b})",
            f"{b} − {a} per attribute, 95 % CI",
        ),
        _table(
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
        _table(
            formulas,
            None,
            "Model actually fitted (lme4 notation, REML)",
            text_columns=("formula", "notes"),
        )
    )
    variance_columns = {c: c.removeprefix("var_") for c in primary.columns if c.startswith("var_")}
    parts.append(
        _table(
            primary,
            {"attribute": "attribute", **variance_columns},
            "Variance components (rating points²; — where the term is not in the model)",
        )
    )
    if results.primary_logit is not None:
        parts.append(
            _table(
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


def _genres(results: StudyResults) -> str:
    a, b = _names(results)
    parts: list[str] = []
    for attribute, effects in results.genre.items():
        table = effects.table
        tested = table.loc[table["tested"]]
        parts.append(f"<h3>{html.escape(attribute)}</h3>")
        if len(tested):
            parts.append(
                _forest(
                    [str(g) for g in tested["genre"]],
                    tested,
                    f"{b} − {a} (rating points)",
                    f"{b} − {a} per genre, {attribute}, 95 % CI",
                )
            )
            if effects.interaction is not None:
                f = effects.interaction
                parts.append(
                    _note(
                        f"Does the difference depend on genre? F({format_df(f.num_df)}, "
                        f"{format_df(f.den_df)}) = {f.f:.2f}, p = {format_p(f.p)} "
                        f"(Satterthwaite). Model: {html.escape(effects.formula)}."
                    )
                )
        parts.append(
            _table(
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
            _table(
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
    return "".join(parts) or _note("No ratings per genre.")


def _objective(results: StudyResults) -> str:
    raw_a, raw_b = results.systems
    a, b = _names(results)
    if results.objective is None:
        return _note("No objective metrics given.")
    parts = [
        _note(
            f"Per metric, the per-track differences {b} − {a} are tested across tracks "
            "(paired t and Wilcoxon; the track is the unit), Holm across metrics."
        ),
        _table(
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
                        columns[column] = f"{name} {_name(system)}"
            if len(columns) > 2:
                parts.append(_table(per_track, columns, f"Metrics per track: {family}"))
    return "".join(parts)


def _correlations(results: StudyResults) -> str:
    table, deltas = results.objective_subjective, results.track_deltas
    if table is None or deltas is None:
        return _note("Needs both objective metrics and ratings.")
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
        _note(
            "Spearman ρ of the per-track metric difference (human − AI) against the per-track "
            "rating difference, for every attribute; the family (one entry per metric) is "
            "Holm-adjusted within each attribute; BCa bootstrap CIs."
        ),
        _scatter(deltas, table, str(attributes[0])),
    ]
    notes = set(table["note"])
    if len(notes) == 1:
        # One caveat for every row (e.g. too few tracks): say it once, above the table.
        (note,) = notes
        if note:
            parts.append(f'<p class="note"><strong>{html.escape(note)}.</strong></p>')
        del columns["note"]
    parts.append(_table(table, columns, text_columns=("note",)))
    return "".join(parts)


def _choices(results: StudyResults) -> str:
    a, b = _names(results)
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
                _proportions(fitted, "attribute", f"Share of AB answers preferring {b}, 95 % CI")
            )
        parts.append(
            _table(
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
            _table(
                pref,
                {"attribute": "attribute", "formula": "model", "notes": "notes"},
                text_columns=("model", "notes"),
            )
        )
    if results.preference is not None and len(results.preference):
        parts.append(
            _table(
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
            _table(
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
                _note(
                    f"{significant} of {len(per)} participants individually scored above "
                    "chance (exact one-sided binomial, p < .05)."
                )
            )
            parts.append(
                _histogram(
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
        parts.append(_table(pooled, columns, "ABX pooled (exact binomial)"))
        if 0 < len(per) <= MAX_ROWS:
            parts.append(_table(per, columns, "ABX per participant (exact one-sided binomial)"))
        elif len(per):
            parts.append(_note(f"The {len(per)} per-participant rows are in the abx export."))
    return "".join(parts) or _note("The study has no ABX or AB answers.")


def _secondary(results: StudyResults) -> str:
    a, b = _names(results)
    if results.secondary is None:
        return _note("No ratings.")
    return _note(
        "These tests average each participant over the tracks and treat the tracks as fixed: "
        "they answer whether these participants preferred the human masters <em>of these "
        "tracks</em>. They do not generalise to music in general and reject a true null far "
        "more often than 5 % when tracks differ; the primary model above is the answer."
    ) + _table(
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


def software_versions() -> dict[str, str]:
    """Return the versions of Python, the statistics packages and the metric definitions.

    Returns
    -------
    dict of str to str
        ``python``, each of :data:`PACKAGES` and ``analysis metrics``.

    References
    ----------
    docs/metrics.md (Versions and reproducibility) (store versions with every result).

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


def render_report(
    results: StudyResults,
    *,
    design: Mapping[str, Any],
    simulated: bool | None = None,
    title: str = "Listening-test report",
) -> str:
    """Render every result of a study as one self-contained HTML page.

    Parameters
    ----------
    results : StudyResults
        Output of :func:`analysis.stats.analyse_study`.
    design : mapping
        Design summary (e.g. paradigm, attributes, tracks, conditions, loudness
        target, preregistration link); values are shown as text.
    simulated : bool, optional
        Show the "contains simulated participants" banner; default: whether any
        input row was simulated (``results.simulated``).
    title : str, default "Listening-test report"
        Page title.

    Returns
    -------
    str
        The HTML document; images are base64 PNG data URIs, nothing is fetched.

    References
    ----------
    ITU-R BS.1534-3 (2015), §9 (presentation of results); docs/statistics.md; docs/metrics.md.

    Examples
    --------
    >>> from analysis.stats import analyse_study
    >>> from analysis.stats.simulation import simulate_study
    >>> study = simulate_study(6, 4, seed=3)
    >>> res = analyse_study(study.ratings, sensitivity=False, n_resamples=99)
    >>> "simulated participants" in render_report(res, design={"paradigm": "MUSHRA"})
    True
    """
    flagged = results.simulated if simulated is None else simulated
    body: list[str] = []

    def section(name: str, *parts: str) -> None:
        body.append(f"<h2>{html.escape(name)}</h2>" + "".join(parts))

    section(SECTIONS[0], _key_findings(results))
    section(SECTIONS[1], _design(design))
    section(SECTIONS[2], _participants(results))
    if results.descriptives is not None and results.screening is not None:
        desc = results.descriptives
        section(
            SECTIONS[3],
            _note(
                "Each participant is first averaged over tracks; mean ± t<sub>0.975, n−1</sub>"
                "·s/√n over participants (BS.1534-3 §9.3)."
            ),
            _condition_plot(desc),
            _table(
                desc,
                {
                    "attribute": "attribute",
                    "condition": "condition",
                    "n": "participants",
                    "mean": "mean",
                    "sd": "SD",
                    "ci_low": "CI low",
                    "ci_high": "CI high",
                },
            ),
        )
    else:
        section(SECTIONS[3], _note("The study has no MUSHRA ratings."))
    section(SECTIONS[4], _primary(results))
    section(SECTIONS[5], _genres(results))
    section(SECTIONS[6], _objective(results))
    section(SECTIONS[7], _correlations(results))
    section(SECTIONS[8], _choices(results))
    section(SECTIONS[9], _secondary(results))
    versions = software_versions()
    if results.metrics_versions:
        versions["metrics of the data"] = ", ".join(results.metrics_versions)
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in versions.items()
    )
    section(SECTIONS[10], f"<table>{rows}</table>")
    banner = f'<div class="banner">{SIMULATED_BANNER}.</div>' if flagged else ""
    return PAGE.substitute(title=html.escape(title), banner=banner, body="\n".join(body))
