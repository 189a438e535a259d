"""Figures of the report: matplotlib PNGs embedded as base64 data URIs, laid out in a grid."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


# ----------------------------------------------------------------------- HTML parts
def png_img(fig: Figure, alt: str) -> str:
    """Encode a figure as an embedded PNG <img> and release its canvas."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    fig.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def figure_grid(
    n: int, width: float = 3.6, height: float = 3.0, cols: int = 4
) -> tuple[Figure, np.ndarray]:
    """Return a bare Agg figure and its axes for ``n`` panels, ``cols`` to a row."""
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
def condition_plot(descriptives: pd.DataFrame) -> str:
    """Mean ± 95 % CI per condition, one panel per attribute."""
    attributes = list(pd.unique(descriptives["attribute"]))
    fig, axes = figure_grid(len(attributes))
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
    return png_img(fig, "Mean score with 95 % confidence interval per condition and attribute")


def interval_axes(
    labels: Sequence[str],
    estimate: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
    reference: float,
) -> tuple[Figure, Axes]:
    """Return a bare Agg figure with one row per label: the estimate, its CI, a reference line.

    The rows run top to bottom in the order of ``labels``; the dashed line marks
    ``reference`` (no difference, or chance). The caller adds titles and limits.
    """
    n = len(labels)
    fig = Figure(figsize=(7.5, 0.5 * n + 1.3), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    ax.errorbar(
        estimate,
        y,
        xerr=[estimate - ci_low, ci_high - estimate],
        fmt="s",
        color="#1f4e79",
        capsize=4,
    )
    ax.axvline(reference, color="#b00020", lw=1, ls="--")
    ax.set_yticks(y, list(labels))
    return fig, ax


def forest_plot(labels: Sequence[str], table: pd.DataFrame, xlabel: str, title: str) -> str:
    """Estimates with CIs on a difference axis, with the no-difference line."""
    fig, ax = interval_axes(
        labels,
        table["estimate"].to_numpy(dtype=float),
        table["ci_low"].to_numpy(dtype=float),
        table["ci_high"].to_numpy(dtype=float),
        0.0,
    )
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return png_img(fig, title)


def scatter_plot(deltas: pd.DataFrame, correlations: pd.DataFrame, attribute: str) -> str:
    """Δmetric against Δrating per track for one attribute, one panel per metric."""
    rows = correlations.loc[correlations["attribute"] == attribute]
    block = deltas.loc[deltas["attribute"] == attribute]
    fig, axes = figure_grid(len(rows), 3.0, 2.6)
    for ax, (_, row) in zip(axes, rows.iterrows(), strict=False):
        ax.scatter(block[f"delta_{row['metric']}"], block["delta_rating"], s=16)
        rho = "—" if not np.isfinite(row["rho"]) else f"{row['rho']:.2f}"
        ax.set_title(f"{row['metric']}: ρ = {rho}", fontsize=9)
        ax.set_xlabel("Δ metric (human − AI)", fontsize=8)
        ax.set_ylabel("Δ rating", fontsize=8)
        ax.axhline(0.0, color="#999", lw=0.8)
    return png_img(fig, f"Per-track metric difference against rating difference, {attribute}")


def proportions_plot(table: pd.DataFrame, label: str, title: str) -> str:
    """Estimated proportions with CIs on a 0-1 axis, with the chance line."""
    fig, ax = interval_axes(
        [str(v) for v in table[label]],
        table["prob"].to_numpy(dtype=float),
        table["prob_ci_low"].to_numpy(dtype=float),
        np.clip(table["prob_ci_high"].to_numpy(dtype=float), 0, 1),
        0.5,
    )
    ax.set_xlim(0, 1)
    ax.set_title(title, fontsize=10)
    return png_img(fig, title)


def histogram_plot(values: np.ndarray, xlabel: str, title: str) -> str:
    """Return a histogram of ``values`` as an embedded PNG."""
    fig = Figure(figsize=(6.0, 2.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.hist(values, bins=[i / 20 for i in range(21)], color="#1f4e79", edgecolor="white")
    ax.axvline(0.5, color="#b00020", lw=1, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("participants")
    ax.set_title(title, fontsize=10)
    return png_img(fig, title)
