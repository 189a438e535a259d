"""The results bundle: every table, webmushra.csv, the statistics report and a README that
documents every column, in one zip; and the report on its own."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.http import FileResponse
from django.template.loader import render_to_string
from django.utils import timezone

from listening.models import Session, Study
from listening.research.exports.columns import MATERIAL_NOTES, TABLES, WEBMUSHRA_COLUMNS
from listening.research.exports.formats import csv_chunks, webmushra_rows
from listening.research.exports.snapshot import snapshot
from listening.research.exports.tables import ROW_BUILDERS, Rows


def design_summary(study: Study) -> dict[str, Any]:
    """The design facts the report and the README state first."""
    sessions = Session.objects.filter(study=study)
    return {
        "study": f"{study.title} (id {study.pk})",
        "paradigm": study.get_paradigm_display(),
        "attributes": ", ".join(map(str, study.attributes or [])) or "overall",
        "tracks": study.tracks.count(),
        "reference": study.get_reference_mode_display(),
        "anchors": ", ".join(f"{c / 1000:g} kHz" for c in study.anchor_cutoffs) or "none",
        "loudness target": f"{study.loudness_target_lufs:g} LUFS, ceiling "
        f"{study.true_peak_ceiling_dbtp:g} dBTP",
        "excerpt": f"{study.excerpt_length:g} s from {study.excerpt_start:g} s at "
        f"{study.sample_rate} Hz",
        "trials per participant": study.trials_per_participant or "every track",
        "sessions": f"{sessions.filter(state=Session.State.COMPLETE).count()} complete of "
        f"{sessions.count()}",
        "simulated sessions": sessions.filter(simulated=True).count(),
        "exported": timezone.now().isoformat(timespec="seconds"),
    }


def _frame(path: Path | IO[str]) -> Any:
    """Read a table of the bundle back, with its text as it was (the report shows it raw)."""
    import pandas as pd

    frame = pd.read_csv(path)
    for column in frame.columns:
        # pandas 3 reads text as its own string dtype, older pandas as object.
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(_raw_text)
    for column in ("participant", "track", "genre", "provider", "a_provider", "b_provider"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object).fillna("").astype(str)
    return frame


def _raw_text(value: Any) -> Any:
    """Undo :func:`spreadsheet_text`."""
    return value[1:] if isinstance(value, str) and value[:1] == "'" else value


def _metrics_frame(stimuli: Any) -> tuple[Any, str]:
    """Masters with metrics, one per track and system, or None and the reason."""
    masters = stimuli.loc[(stimuli["role"] == "master") & stimuli["metrics_version"].notna()]
    if masters.empty:
        return None, "no master has objective metrics yet"
    if masters.duplicated(["track", "system"]).any():
        return None, "objective metrics not compared: a track has several masters of one system"
    return masters, ""


def analysis_tables(study: Study) -> dict[str, Any]:
    """The ratings, abx and preferences tables as the report reads them, from one snapshot.

    The same CSV text the bundle holds, read back the same way (:func:`_frame`): the live
    dashboard fits the report's model on exactly these. The text goes through a temporary
    file, not a string, so a large study's tables are never held twice as text in memory.
    """
    frames = {}
    with snapshot():
        for name in ("ratings", "abx", "preferences"):
            names, rows = ROW_BUILDERS[name](study)
            with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as text:
                text.writelines(csv_chunks(names, rows))
                text.seek(0)
                frames[name] = _frame(text)
    return frames


def report_html(folder: Path, *, design: dict[str, Any], title: str) -> str:
    """Analyse the exported tables in ``folder`` and render the HTML report.

    The analysis reads the very CSV files of the bundle, so MUSHRA, ABX- and AB-only
    studies all get the full report. Data that cannot be analysed yet (say, one
    participant) gets a short page with the reason.
    """
    from analysis.errors import AnalysisError
    from analysis.report import SIMULATED_BANNER, render_report
    from analysis.stats import analyse_study

    frames = {name: _frame(folder / f"{name}.csv") for name in TABLES}
    ratings, abx, prefs = frames["ratings"], frames["abx"], frames["preferences"]
    simulated = any(bool(frames[t]["simulated"].any()) for t in ("ratings", "abx", "preferences"))
    metrics, note = _metrics_frame(frames["stimuli"])
    if note:
        design = {**design, "objective metrics": note}
    reason = "the study has no answers yet"
    if len(ratings) or len(abx) or len(prefs):
        try:
            results = analyse_study(
                ratings if len(ratings) else None,
                metrics=metrics,
                abx=abx if len(abx) else None,
                preferences=prefs if len(prefs) else None,
            )
            return render_report(results, design=design, simulated=simulated, title=title)
        except (AnalysisError, ValueError, ArithmeticError) as exc:
            reason = f"the answers cannot be analysed yet: {exc}"
    return render_to_string(
        "results/report_fallback.html",
        {
            "title": title,
            "design": design,
            "reason": reason,
            "banner": SIMULATED_BANNER if simulated else "",
        },
    )


def readme_text(study: Study, columns: dict[str, list[str]]) -> str:
    """Describe the bundle and every column of every table (Markdown)."""
    lines = [
        f"# Results of study {study.pk}: {study.title}",
        "",
        "Exported by the listening-test platform as one consistent snapshot of the database.",
        "Every table is UTF-8 CSV (RFC 4180: CRLF line ends, fields with commas, quotes or line",
        "breaks quoted) with a header row, one row per observation (long format),",
        "readable by `pandas.read_csv`, R's `read.csv` and pingouin. Empty cells are missing",
        "values; times are ISO 8601 in UTC; booleans are `True` / `False`.",
        "",
        "- `report.html`: the statistics report (open offline; plots are embedded).",
        "- `webmushra.csv`: the MUSHRA ratings in webMUSHRA's `mushra.csv` layout.",
        "",
        "Rows of simulated participants (`manage.py simulate_participants`) have",
        "`simulated = True`; never publish them as data.",
        "",
        "Safe to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`, a tab",
        "or a carriage return (which a spreadsheet would run as a formula) starts with an added",
        "`'` in every CSV file, and so does text that already started with `'`. Remove one",
        "leading `'` from any text cell that starts with one to get the raw text back; the",
        "JSON Lines exports keep the raw text. Numbers are never changed (negative values stay",
        "plain numbers).",
        "",
        "Reproduce the analysis:",
        "",
        "```python",
        "import pandas as pd",
        "from analysis.stats import analyse_study",
        "results = analyse_study(pd.read_csv('ratings.csv'))",
        "print(results.primary)  # human - AI per attribute, crossed mixed model",
        "```",
        "",
        "or from a shell: `python -m analysis ratings ratings.csv [--json]`.",
    ]
    lines += ["", *MATERIAL_NOTES]
    docs = {**{name: TABLES[name] for name in TABLES}, "webmushra": (WEBMUSHRA_COLUMNS, "")}
    for name, (documented, note) in docs.items():
        lines += ["", f"## {name}.csv", "", "| column | meaning |", "| --- | --- |"]
        lines += [f"| `{column}` | {text} |" for column, text in documented.items()]
        extra = [c for c in columns.get(name, []) if c not in documented]
        if note:
            lines += ["", note]
        if extra:
            lines += ["", "Extra columns in this export: " + ", ".join(f"`{c}`" for c in extra)]
    return "\n".join(lines) + "\n"


def _write_tables(study: Study, folder: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Write every table and webmushra.csv into ``folder`` from one snapshot."""
    columns: dict[str, list[str]] = {}
    with snapshot():
        design = design_summary(study)
        builders: dict[str, Callable[[Study], Rows]] = {**ROW_BUILDERS, "webmushra": webmushra_rows}
        for name, build in builders.items():
            names, rows = build(study)
            columns[name] = names
            with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as out:
                for chunk in csv_chunks(names, rows):
                    out.write(chunk)
    return columns, design


def report_title(study: Study) -> str:
    return f"Listening-test report: {study.title}"


def study_report(study: Study) -> str:
    """Render the HTML report of a study from the same tables the bundle holds."""
    folder = Path(tempfile.mkdtemp(prefix="results-report-"))
    try:
        _, design = _write_tables(study, folder)
        return report_html(folder, design=design, title=report_title(study))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_bundle(study: Study, target: IO[bytes]) -> None:
    """Write the results bundle (every table, webmushra.csv, report.html, README.md) as zip."""
    folder = Path(tempfile.mkdtemp(prefix="results-bundle-"))
    try:
        columns, design = _write_tables(study, folder)
        (folder / "report.html").write_text(
            report_html(folder, design=design, title=report_title(study)), encoding="utf-8"
        )
        (folder / "README.md").write_text(readme_text(study, columns), encoding="utf-8")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name in [*columns, "report", "README"]:
                path = next(folder.glob(f"{name}.*"))
                bundle.write(path, f"study-{study.pk}-results/{path.name}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bundle_response(study: Study) -> FileResponse:
    """Build the bundle into a temporary file and send it (the file goes when sent)."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
    write_bundle(study, spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"study-{study.pk}-results.zip",
        content_type="application/zip",
    )
