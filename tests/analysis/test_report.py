"""The HTML report renders offline, with every section, and flags simulated data."""

from __future__ import annotations

import re

import pytest

from analysis.report import SECTIONS, SIMULATED_BANNER, render_report, software_versions
from analysis.stats import analyse_study
from analysis.stats.simulation import simulate_study


@pytest.fixture(scope="module")
def results():
    study = simulate_study(16, 6, seed=9)
    return analyse_study(
        study.ratings,
        metrics=study.metrics,
        abx=study.abx,
        preferences=study.preferences,
        n_resamples=199,
    )


@pytest.fixture(scope="module")
def page(results):
    return render_report(results, design={"paradigm": "MUSHRA", "tracks": 6})


def test_it_has_every_section(page):
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page


def test_images_are_embedded_and_nothing_is_fetched(page):
    images = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(images) >= 5
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="https?://', page)
    assert "<link" not in page
    assert "<script" not in page


def test_it_reports_exclusions_tables_and_versions(page, results):
    assert "2 excluded" in page
    assert "14 analysed" in page
    assert "hidden reference &lt; 90" in page
    assert "Table 2" in page
    assert "Table 1" in page
    assert "Bradley-Terry" in page
    assert "p_GG_corr" in page
    for name, value in software_versions().items():
        assert f"<th>{name}</th><td>{value}</td>" in page
    assert results.lmm_note in page


def test_the_simulated_banner_follows_the_data_or_the_flag(page, results):
    assert results.simulated
    assert SIMULATED_BANNER in page
    assert SIMULATED_BANNER not in render_report(results, design={}, simulated=False)


def test_metrics_that_do_not_apply_are_named_with_the_reason() -> None:
    study = simulate_study(8, 4, seed=3)
    metrics = study.metrics.copy()
    metrics["hfd_note"] = ""
    first = metrics.index[0]
    metrics.loc[first, "hfd_note"] = "the mix has no energy in 8-12 kHz (-87 dB of its power)"
    results = analyse_study(study.ratings, metrics=metrics, n_resamples=99)
    track, system = metrics.loc[first, "track"], metrics.loc[first, "system"]
    assert len(results.metric_notes) == 1
    assert results.metric_notes[0].startswith(f"HFD of {track} ({system}")
    page = render_report(results, design={})
    assert "Not applicable (left out of the tables above)" in page
    assert "the mix has no energy in 8-12 kHz (-87 dB of its power)" in page
