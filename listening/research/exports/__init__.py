"""Tidy exports of a study's results: ratings, answers, stimuli and sessions.

Every table is long format, one row per observation, with the column names that
:mod:`analysis.stats` reads, so ``pandas.read_csv`` + ``analyse_study`` work on it
directly (and R's ``read.csv`` and pingouin likewise). Rows are read with
``values_list(...).iterator(chunk_size=...)`` and written out chunk by chunk, so a
study of 500,000 ratings streams in constant memory. Everything one export writes is
read inside one transaction, a consistent snapshot (see :func:`snapshot`).

Simulated sessions (``manage.py simulate_participants``) carry ``simulated=True`` on
every row that comes from them.

The parts: :mod:`.columns` (what every column means, also the bundle's README),
:mod:`.snapshot` (one consistent read), :mod:`.tables` (a row builder per table),
:mod:`.formats` (CSV, JSON Lines and webMUSHRA, streamed) and :mod:`.bundle` (the zip of
every table with the report and the README). This module is their public API.
"""

from listening.research.exports.bundle import (
    analysis_tables,
    bundle_response,
    readme_text,
    study_report,
    write_bundle,
)
from listening.research.exports.columns import (
    ABX_COLUMNS,
    PREFERENCE_COLUMNS,
    RATING_COLUMNS,
    SESSION_COLUMNS,
    STIMULUS_COLUMNS,
    TABLES,
    WEBMUSHRA_COLUMNS,
)
from listening.research.exports.formats import (
    export_chunks,
    export_filename,
    spreadsheet_text,
    streaming_response,
    webmushra_rows,
)
from listening.research.exports.snapshot import snapshot
from listening.research.exports.tables import (
    ROW_BUILDERS,
    condition_kind,
    rating_rows,
    session_rows,
    stimulus_rows,
)

__all__ = [
    "ABX_COLUMNS",
    "PREFERENCE_COLUMNS",
    "RATING_COLUMNS",
    "ROW_BUILDERS",
    "SESSION_COLUMNS",
    "STIMULUS_COLUMNS",
    "TABLES",
    "WEBMUSHRA_COLUMNS",
    "analysis_tables",
    "bundle_response",
    "condition_kind",
    "export_chunks",
    "export_filename",
    "rating_rows",
    "readme_text",
    "session_rows",
    "snapshot",
    "spreadsheet_text",
    "stimulus_rows",
    "streaming_response",
    "study_report",
    "webmushra_rows",
    "write_bundle",
]
