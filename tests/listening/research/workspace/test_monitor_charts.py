"""The dashboard's SVG builders: positions, escaping, and empty data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from listening.research.workspace import charts
from listening.research.workspace.charts import Interval

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def scale(value: float, lo: float, hi: float, left: float, right: float) -> float:
    """An independent linear map: the fraction of the domain times the span's length."""
    return left + (right - left) * ((value - lo) / (hi - lo))


def test_linear_maps_ends_and_middle() -> None:
    assert charts.linear(0, (0, 10), (100, 200)) == 100
    assert charts.linear(10, (0, 10), (100, 200)) == 200
    assert charts.linear(2.5, (0, 10), (200, 100)) == 175
    assert charts.linear(3, (3, 3), (0, 50)) == 25


def test_forest_plot_puts_estimates_intervals_and_the_zero_line_where_they_belong() -> None:
    rows = [Interval("clarity", 2.0, -1.0, 5.0), Interval("overall", -3.0, -7.5, 1.5)]
    root = parse(charts.forest_plot("f", rows, title="T", desc="D"))
    left, right = charts.MARGIN[0], charts.WIDTH - charts.MARGIN[1]
    # The domain: the data's extent (with 0 included) padded by 5 % each side.
    lo, hi = -7.5 - 0.05 * 12.5, 5.0 + 0.05 * 12.5
    circles = root.findall(f"{SVG}circle")
    assert [float(c.get("cx")) for c in circles] == pytest.approx(
        [scale(2.0, lo, hi, left, right), scale(-3.0, lo, hi, left, right)], abs=0.01
    )
    cis = root.findall(f"{SVG}line[@class='ci']")
    ends = [float(c.get(end)) for c in cis for end in ("x1", "x2")]
    assert ends == pytest.approx(
        [scale(v, lo, hi, left, right) for v in (-1.0, 5.0, -7.5, 1.5)], abs=0.01
    )
    null = root.find(f"{SVG}line[@class='null']")
    assert float(null.get("x1")) == pytest.approx(scale(0.0, lo, hi, left, right), abs=0.01)
    # Rows go top to bottom in order.
    assert float(circles[0].get("cy")) < float(circles[1].get("cy"))


def test_forest_plot_keeps_the_null_line_in_view_when_every_interval_is_on_one_side() -> None:
    root = parse(charts.forest_plot("f", [Interval("a", 60, 55, 65)], title="T", desc="D", null=50))
    x = float(root.find(f"{SVG}line[@class='null']").get("x1"))
    assert charts.MARGIN[0] <= x <= charts.WIDTH - charts.MARGIN[1]


def test_line_chart_spaces_points_evenly_and_maps_values_to_height() -> None:
    points = [("d1", 0), ("d2", 3), ("d3", 3), ("d4", 6)]
    root = parse(charts.line_chart("l", points, title="T", desc="D", target=8))
    coords = [
        tuple(map(float, pair.split(",")))
        for pair in root.find(f"{SVG}polyline").get("points").split()
    ]
    left, right, top, bottom = 48.0, charts.WIDTH - 20.0, 16.0, 220.0 - 36.0
    assert [x for x, _ in coords] == pytest.approx(
        [scale(i, 0, 3, left, right) for i in range(4)], abs=0.01
    )
    # y runs downwards: value 0 at the bottom, the maximum (the target, 8) at the top.
    assert [y for _, y in coords] == pytest.approx(
        [scale(v, 0, 8, bottom, top) for _, v in points], abs=0.01
    )
    target = root.find(f"{SVG}line[@class='target']")
    assert float(target.get("y1")) == pytest.approx(top, abs=0.01)


def test_bar_chart_widths_are_proportional_and_missing_values_say_so() -> None:
    root = parse(
        charts.bar_chart("b", [("a", 50.0), ("b", 100.0), ("c", None)], title="T", desc="D")
    )
    bars = root.findall(f"{SVG}rect[@class='bar']")
    full = charts.WIDTH - charts.MARGIN[1] - 50 - charts.MARGIN[0]
    assert [float(b.get("width")) for b in bars] == pytest.approx([full / 2, full], abs=0.01)
    assert "no data" in "".join(root.itertext())


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.forest_plot("x", [], title="Est <b>", desc="d"),
        lambda: charts.line_chart("x", [], title="Est <b>", desc="d"),
        lambda: charts.bar_chart("x", [("a", None)], title="Est <b>", desc="d"),
    ],
)
def test_empty_data_gives_a_no_data_figure(build) -> None:
    svg = build()
    root = parse(svg)
    assert "No data yet" in "".join(root.itertext())
    assert root.find(f"{SVG}title").text == "Est <b>"


def test_text_is_escaped_and_the_figure_is_labelled() -> None:
    evil = '<script>alert("x")</script> & "q"'
    svg = charts.forest_plot('id"><x', [Interval(evil, 1, 0, 2)], title=evil, desc=evil, unit=evil)
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == evil
    assert desc.text == evil
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert evil in labels
    assert not re.search(r"<x", svg.split(">", 1)[0])  # the id cannot break out of its attribute
