"""Small SVG charts for the live dashboard: numbers in, escaped SVG text out.

Pure functions (no Django, no matplotlib) so the dashboard renders in milliseconds and
the JSON endpoint can send the same figures. Every chart is ``role="img"`` with a
``<title>`` and ``<desc>``; the page puts a data table beneath each one as its text
alternative. Empty input gives a figure that says "No data yet", never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
#: Plot margins (left, right, top, bottom) in SVG units.
MARGIN = (150.0, 20.0, 16.0, 36.0)
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
INK, MUTED, ACCENT, GRID = "#1d1d1f", "#5a5a60", "#1f5fbf", "#d0d0d6"


@dataclass(frozen=True)
class Interval:
    """One row of a forest plot: an estimate with its confidence interval."""

    label: str
    estimate: float
    low: float
    high: float


def linear(value: float, domain: tuple[float, float], span: tuple[float, float]) -> float:
    """Map ``value`` from ``domain`` onto ``span`` linearly (a point domain: the middle)."""
    d0, d1 = domain
    r0, r1 = span
    if d1 == d0:
        return (r0 + r1) / 2
    return r0 + (value - d0) * (r1 - r0) / (d1 - d0)


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _svg(ident: str, title: str, desc: str, height: float, body: list[str]) -> str:
    ident = escape(ident)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {_fmt(height)}" aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def no_data(ident: str, title: str, message: str = "No data yet") -> str:
    """A figure that says there is nothing to plot yet."""
    body = [
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="79" fill="none" stroke="{GRID}"/>',
        f'<text x="{WIDTH / 2:g}" y="45" text-anchor="middle" fill="{MUTED}" {FONT}>'
        f"{escape(message)}</text>",
    ]
    return _svg(ident, title, message, 80, body)


def _extent(values: Sequence[float], *, include: Sequence[float] = ()) -> tuple[float, float]:
    lo, hi = min([*values, *include]), max([*values, *include])
    pad = (hi - lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def forest_plot(
    ident: str,
    rows: Sequence[Interval],
    *,
    title: str,
    desc: str,
    null: float = 0.0,
    unit: str = "",
) -> str:
    """Estimates with their intervals, one row each, and a line at ``null`` (no difference)."""
    if not rows:
        return no_data(ident, title)
    left, right, top, bottom = MARGIN
    row_h = 28.0
    height = top + bottom + row_h * len(rows)
    domain = _extent([v for r in rows for v in (r.low, r.high, r.estimate)], include=[null])
    span = (left, WIDTH - right)
    x0 = linear(null, domain, span)
    plot_bottom = height - bottom
    body = [
        f'<line class="null" x1="{_fmt(x0)}" x2="{_fmt(x0)}" y1="{_fmt(top)}" '
        f'y2="{_fmt(plot_bottom)}" stroke="{MUTED}" stroke-dasharray="4 3"/>',
        f'<text x="{_fmt(x0)}" y="{_fmt(plot_bottom + 14)}" text-anchor="middle" '
        f'fill="{MUTED}" {FONT}>{escape(_fmt(null))}</text>',
    ]
    for end, anchor in ((domain[0], "start"), (domain[1], "end")):
        x = linear(end, domain, span)
        body.append(
            f'<text x="{_fmt(x)}" y="{_fmt(plot_bottom + 14)}" text-anchor="{anchor}" '
            f'fill="{MUTED}" {FONT}>{escape(_fmt(end))}</text>'
        )
    if unit:
        body.append(
            f'<text x="{_fmt((span[0] + span[1]) / 2)}" y="{_fmt(height - 4)}" '
            f'text-anchor="middle" fill="{MUTED}" {FONT}>{escape(unit)}</text>'
        )
    for i, row in enumerate(rows):
        y = top + row_h * (i + 0.5)
        xl, xh, xe = (linear(v, domain, span) for v in (row.low, row.high, row.estimate))
        body += [
            f'<text x="{_fmt(left - 8)}" y="{_fmt(y + 4)}" text-anchor="end" fill="{INK}" '
            f"{FONT}>{escape(row.label)}</text>",
            f'<line class="ci" x1="{_fmt(xl)}" x2="{_fmt(xh)}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            f'stroke="{ACCENT}" stroke-width="2"/>',
            f'<circle class="estimate" cx="{_fmt(xe)}" cy="{_fmt(y)}" r="5" fill="{ACCENT}"/>',
        ]
    return _svg(ident, title, desc, height, body)


def line_chart(
    ident: str,
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str,
    target: float | None = None,
) -> str:
    """A line through evenly spaced ``(label, value)`` points, with an optional target line."""
    if not points:
        return no_data(ident, title)
    left, right, top, bottom = 48.0, 20.0, 16.0, 36.0
    height = 220.0
    values = [v for _, v in points]
    domain = (0.0, max([*values, target or 0.0, 1.0]))
    x_span, y_span = (left, WIDTH - right), (height - bottom, top)
    xs = [linear(i, (0, max(len(points) - 1, 1)), x_span) for i in range(len(points))]
    if len(points) == 1:
        xs = [left]
    coords = " ".join(
        f"{_fmt(x)},{_fmt(linear(v, domain, y_span))}" for x, v in zip(xs, values, strict=True)
    )
    body = [
        f'<line x1="{_fmt(left)}" x2="{_fmt(left)}" y1="{_fmt(top)}" y2="{_fmt(height - bottom)}" '
        f'stroke="{GRID}"/>',
        f'<line x1="{_fmt(left)}" x2="{_fmt(WIDTH - right)}" y1="{_fmt(height - bottom)}" '
        f'y2="{_fmt(height - bottom)}" stroke="{GRID}"/>',
        f'<text x="{_fmt(left - 6)}" y="{_fmt(top + 4)}" text-anchor="end" fill="{MUTED}" '
        f"{FONT}>{escape(_fmt(domain[1]))}</text>",
        f'<text x="{_fmt(left - 6)}" y="{_fmt(height - bottom + 4)}" text-anchor="end" '
        f'fill="{MUTED}" {FONT}>0</text>',
        f'<text x="{_fmt(left)}" y="{_fmt(height - bottom + 18)}" text-anchor="start" '
        f'fill="{MUTED}" {FONT}>{escape(points[0][0])}</text>',
    ]
    if len(points) > 1:
        body.append(
            f'<text x="{_fmt(WIDTH - right)}" y="{_fmt(height - bottom + 18)}" text-anchor="end" '
            f'fill="{MUTED}" {FONT}>{escape(points[-1][0])}</text>'
        )
    if target is not None:
        y = linear(target, domain, y_span)
        body += [
            f'<line class="target" x1="{_fmt(left)}" x2="{_fmt(WIDTH - right)}" y1="{_fmt(y)}" '
            f'y2="{_fmt(y)}" stroke="{MUTED}" stroke-dasharray="4 3"/>',
            f'<text x="{_fmt(WIDTH - right)}" y="{_fmt(y - 4)}" text-anchor="end" fill="{MUTED}" '
            f"{FONT}>target {escape(_fmt(target))}</text>",
        ]
    body.append(
        f'<polyline class="series" points="{coords}" fill="none" stroke="{ACCENT}" '
        f'stroke-width="2"/>'
    )
    body += [
        f'<circle cx="{_fmt(x)}" cy="{_fmt(linear(v, domain, y_span))}" r="2.5" fill="{ACCENT}"/>'
        for x, v in zip(xs, values, strict=True)
    ]
    return _svg(ident, title, desc, height, body)


def bar_chart(
    ident: str,
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    desc: str,
    maximum: float = 100.0,
    unit: str = "%",
) -> str:
    """Horizontal bars from 0 to ``maximum``; a bar without a value says "no data"."""
    if not bars or all(v is None for _, v in bars):
        return no_data(ident, title)
    left, right, top, bottom = MARGIN
    row_h = 30.0
    height = top + bottom + row_h * len(bars)
    span = (left, WIDTH - right - 50)
    body = []
    for i, (label, value) in enumerate(bars):
        y = top + row_h * i
        body.append(
            f'<text x="{_fmt(left - 8)}" y="{_fmt(y + 19)}" text-anchor="end" fill="{INK}" '
            f"{FONT}>{escape(label)}</text>"
        )
        if value is None:
            body.append(
                f'<text x="{_fmt(left)}" y="{_fmt(y + 19)}" fill="{MUTED}" {FONT}>no data</text>'
            )
            continue
        width = linear(min(max(value, 0.0), maximum), (0.0, maximum), span) - left
        body += [
            f'<rect class="bar" x="{_fmt(left)}" y="{_fmt(y + 6)}" width="{_fmt(width)}" '
            f'height="18" fill="{ACCENT}"/>',
            f'<text x="{_fmt(left + width + 6)}" y="{_fmt(y + 19)}" fill="{INK}" {FONT}>'
            f"{escape(_fmt(value) + unit)}</text>",
        ]
    body.append(
        f'<line x1="{_fmt(left)}" x2="{_fmt(left)}" y1="{_fmt(top)}" '
        f'y2="{_fmt(height - bottom)}" stroke="{GRID}"/>'
    )
    return _svg(ident, title, desc, height, body)
