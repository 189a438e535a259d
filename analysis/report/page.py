"""The report page: the HTML template, the software versions and render_report."""

from __future__ import annotations

import html
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from string import Template
from typing import Any, Final

from analysis import METRICS_VERSION
from analysis.report.figures import (
    condition_plot,
)
from analysis.report.findings import key_findings
from analysis.report.metric_sections import correlations_section, objective_section
from analysis.report.sections import (
    choices_section,
    design_section,
    genres_section,
    participants_section,
    primary_section,
    secondary_section,
)
from analysis.report.tables import html_note, html_table
from analysis.stats import StudyResults

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

    section(SECTIONS[0], key_findings(results))
    section(SECTIONS[1], design_section(design))
    section(SECTIONS[2], participants_section(results))
    if results.descriptives is not None and results.screening is not None:
        desc = results.descriptives
        section(
            SECTIONS[3],
            html_note(
                "Each participant is first averaged over tracks; mean ± t<sub>0.975, n−1</sub>"
                "·s/√n over participants (BS.1534-3 §9.3)."
            ),
            condition_plot(desc),
            html_table(
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
        section(SECTIONS[3], html_note("The study has no MUSHRA ratings."))
    section(SECTIONS[4], primary_section(results))
    section(SECTIONS[5], genres_section(results))
    section(SECTIONS[6], objective_section(results))
    section(SECTIONS[7], correlations_section(results))
    section(SECTIONS[8], choices_section(results))
    section(SECTIONS[9], secondary_section(results))
    versions = software_versions()
    if results.metrics_versions:
        versions["metrics of the data"] = ", ".join(results.metrics_versions)
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in versions.items()
    )
    section(SECTIONS[10], f"<table>{rows}</table>")
    banner = f'<div class="banner">{SIMULATED_BANNER}.</div>' if flagged else ""
    return PAGE.substitute(title=html.escape(title), banner=banner, body="\n".join(body))
