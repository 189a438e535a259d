"""The HTML report fits a 1,200-pixel window: no horizontal overflow, in Chromium."""

from __future__ import annotations

import pytest

from analysis.report import render_report
from analysis.stats import analyse_study
from analysis.stats.simulation import simulate_study

pytestmark = pytest.mark.browser

ATTRIBUTES = ("overall quality", "clarity", "tonal balance", "loudness")
GENRES = ("singer-songwriter", "progressive metal", "drum and bass", "chamber music")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    study = simulate_study(30, 12, attributes=ATTRIBUTES, genres=GENRES, seed=21)
    results = analyse_study(
        study.ratings,
        metrics=study.metrics,
        abx=study.abx,
        preferences=study.preferences,
        n_resamples=199,
    )
    design = {"paradigm": "MUSHRA (BS.1534-3)", "attributes": ", ".join(ATTRIBUTES)}
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(results, design=design), encoding="utf-8")
    return path


def test_the_report_has_no_horizontal_overflow_at_1200_px(browser, report):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(report.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('table, img')]"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= page.evaluate("document.body.getBoundingClientRect().right") + 1
    context.close()
