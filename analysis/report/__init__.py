"""Self-contained HTML report of a listening study that leads with the answer.

:func:`render_report` turns :class:`analysis.stats.StudyResults` into one HTML
string. It opens with the key findings in sentences with their numbers, then the
plots and tables a researcher expects. Plots are matplotlib PNGs embedded as
base64 data URIs and styles are inline, so the file opens offline; figures are
drawn on matplotlib's Agg canvas without pyplot. Numbers are rounded only by
:mod:`analysis.stats.format`. Every table is narrow enough for a 1,200-pixel
page; wide tables (metrics per track) are split by metric family.

Modules: :mod:`~analysis.report.page` (the page template, :func:`render_report`,
software versions), :mod:`~analysis.report.findings` (key findings in sentences),
:mod:`~analysis.report.sections` and :mod:`~analysis.report.metric_sections` (one
function per section, about the answers and about the objective metrics), and the building
blocks :mod:`~analysis.report.figures` (plots) and :mod:`~analysis.report.tables`
(HTML tables and notes).
"""

from analysis.report.page import SECTIONS, SIMULATED_BANNER, render_report, software_versions

__all__ = ["SECTIONS", "SIMULATED_BANNER", "render_report", "software_versions"]
