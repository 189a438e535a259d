"""The HTML report leads with the answer, renders offline, and covers every kind of study."""

from __future__ import annotations

import html
import re

import pytest

from analysis.report import SECTIONS, SIMULATED_BANNER, render_report, software_versions
from analysis.stats import analyse_study
from analysis.stats.format import format_df, format_number, format_p
from analysis.stats.simulation import simulate_study


@pytest.fixture(scope="module")
def study():
    return simulate_study(16, 6, seed=9)


@pytest.fixture(scope="module")
def results(study):
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


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_it_has_every_section_and_leads_with_the_findings(page):
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == [html.escape(h) for h in SECTIONS]
    assert headings[0] == "Key findings"


def test_the_first_finding_states_the_primary_estimate_with_its_numbers(page, results):
    row = results.primary.iloc[0]
    findings = re.search(r'<ul class="findings">(.*?)</ul>', page, re.S).group(1)
    first = html.unescape(re.findall(r"<li>(.*?)</li>", findings, re.S)[0])
    assert first.startswith("Human masters were rated")
    assert f"{format_number(abs(row['estimate']), 1)} points" in first
    assert (
        f"95 % CI {format_number(row['ci_low'], 1)} to {format_number(row['ci_high'], 1)}" in first
    )
    assert format_p(row["p_holm"]) in first
    assert f"{int(row['n_participants'])} participants, {int(row['n_tracks'])} tracks" in first


def test_images_are_embedded_and_nothing_is_fetched(page):
    images = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(images) >= 5
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="https?://', page)
    assert "<link" not in page
    assert "<script" not in page


def test_exclusions_models_and_versions_are_reported(page, results):
    text = _text(page)
    assert "2 excluded" in text
    assert "14 analysed" in text
    assert "hidden reference < 90" in text
    for participant in results.screening.excluded["participant"]:
        assert f"<td>{participant}</td>" in page
    for formula in results.primary["formula"]:
        assert html.escape(formula) in page
    for name, value in software_versions().items():
        assert f"<th>{name}</th><td>{value}</td>" in page


def _table_column(page: str, caption: str, header: str) -> list[str]:
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert table, caption
    headers = re.findall(r"<th>(.*?)</th>", table.group(1))
    rows = re.findall(r"<tr>((?:<td[^>]*>.*?</td>)+)</tr>", table.group(1))
    index = headers.index(header)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row)[index] for row in rows]


def test_degrees_of_freedom_are_numbers_not_fixed_decimals(page, results):
    shown = _table_column(page, "Primary model: the answer per attribute", "df")
    assert shown == [format_df(df) for df in results.primary["df"]]
    assert all(re.fullmatch(r"\d+(\.\d)?", value) for value in shown)


def test_tests_that_treat_tracks_as_fixed_are_marked_secondary(page):
    secondary = page.split("<h2>Secondary analyses</h2>")[1]
    assert "treat the tracks as fixed" in secondary
    main = page.split("<h2>Secondary analyses</h2>")[0]
    assert "Paired tests on per-participant means" not in main


def test_the_simulated_banner_follows_the_data_or_the_flag(page, results):
    assert results.simulated
    assert SIMULATED_BANNER in page
    assert SIMULATED_BANNER not in render_report(results, design={}, simulated=False)


def test_an_ab_and_abx_only_study_gets_findings_and_plots(study):
    results = analyse_study(abx=study.abx, preferences=study.preferences)
    page = render_report(results, design={"paradigm": "AB"})
    text = _text(page)
    assert "listeners preferred the human master in" in text
    assert "ABX ai|human:" in text
    assert len(re.findall(r"<img", page)) >= 2
    assert "The study has no MUSHRA ratings" in text


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
