"""The written forms of a table: CSV (safe for spreadsheets), JSON Lines, and the MUSHRA
ratings in webMUSHRA's layout, streamed chunk by chunk."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from listening.models import Study
from listening.research.exports.columns import RATING_COLUMNS, WEBMUSHRA_COLUMNS
from listening.research.exports.snapshot import snapshot
from listening.research.exports.tables import CHUNK_SIZE, ROW_BUILDERS, Rows, rating_rows


def webmushra_stimulus(kind: str, system: str, provider: str) -> str:
    """Name a condition the way webMUSHRA's results name it."""
    if kind == "hidden_reference":
        return "reference"
    if kind.startswith("anchor_"):
        return f"anchor{kind.removeprefix('anchor_')[:2]}"  # anchor_3500 -> anchor35
    if kind == "mix":
        return "mix"
    return f"{system}_{slugify(provider)}" if provider else system


def webmushra_rows(study: Study) -> Rows:
    """The MUSHRA ratings in webMUSHRA's ``mushra.csv`` layout; :data:`WEBMUSHRA_COLUMNS`."""
    _, ratings = rating_rows(study)
    test_id = f"study-{study.pk}"
    c = {name: i for i, name in enumerate(RATING_COLUMNS)}

    @lru_cache(maxsize=1024)
    def page_ms(started: str | None, completed: str | None) -> int | None:
        if not (started and completed):
            return None
        delta = datetime.fromisoformat(completed) - datetime.fromisoformat(started)
        return round(delta.total_seconds() * 1000)

    @lru_cache(maxsize=1024)
    def session_uuid(session: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"listening:{study.pk}:{session}"))

    def rows() -> Iterator[Sequence[Any]]:
        for r in ratings:
            yield (
                test_id,
                session_uuid(r[c["session"]]),
                f"{slugify(r[c['track']])}__{slugify(r[c['attribute']])}",
                webmushra_stimulus(r[c["condition_kind"]], r[c["system"]], r[c["provider"]]),
                r[c["score"]],
                page_ms(r[c["trial_started_at"]], r[c["trial_completed_at"]]),
                "",
                r[c["participant"]],
                r[c["attribute"]],
                r[c["simulated"]],
            )

    return list(WEBMUSHRA_COLUMNS), rows()


#: First characters that make a spreadsheet read a text cell as a formula (OWASP's list), and
#: the quote itself, so that exactly one quote comes off every text cell that starts with one.
_ESCAPED_STARTS = frozenset("=+-@\t\r'")


def spreadsheet_text(value: Any) -> Any:
    """Return a CSV cell that no spreadsheet runs as a formula (OWASP CSV injection).

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``,
    and so does text already starting with ``'``: remove one ``'`` from any text cell
    that starts with one to get the raw text back. Numbers are never text here (they
    stay plain numbers, negative ones included); JSON Lines keep the raw text.
    """
    if value.__class__ is str and value[:1] in _ESCAPED_STARTS:
        return "'" + value
    return value


def csv_chunks(columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    """Yield CSV text (header first) in chunks of :data:`CHUNK_SIZE` rows, every text cell
    made safe for spreadsheets (:func:`spreadsheet_text`)."""
    buffer = io.StringIO()
    # RFC 4180's CRLF: Python's writer then quotes a field holding a lone carriage return
    # too (with "\n" it did not, and a participant's "\r" split the row for readers).
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_text(c) for c in columns])
    starts = _ESCAPED_STARTS
    while True:
        batch = list(islice(rows, CHUNK_SIZE))
        # spreadsheet_text, inlined: a call per cell costs a second on 500,000 ratings.
        writer.writerows(
            [["'" + v if v.__class__ is str and v[:1] in starts else v for v in r] for r in batch]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < CHUNK_SIZE:
            return


def jsonl_chunks(columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    """Yield JSON Lines (one object per row) in chunks of :data:`CHUNK_SIZE` rows."""
    while True:
        batch = list(islice(rows, CHUNK_SIZE))
        if batch:
            yield "".join(
                json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n"
                for row in batch
            )
        if len(batch) < CHUNK_SIZE:
            return


WRITERS = {"csv": csv_chunks, "jsonl": jsonl_chunks}


def export_chunks(study: Study, table: str, fmt: str = "csv") -> Iterator[str]:
    """Yield one table (or ``"webmushra"``) as CSV or JSON Lines, read in one snapshot."""
    build = webmushra_rows if table == "webmushra" else ROW_BUILDERS[table]
    with snapshot():
        columns, rows = build(study)
        yield from WRITERS[fmt](columns, rows)


def export_filename(study: Study, table: str, fmt: str = "csv") -> str:
    extension = "jsonl" if fmt == "jsonl" else "csv"
    return f"study-{study.pk}-{table}.{extension}"


def streaming_response(study: Study, table: str, fmt: str = "csv") -> StreamingHttpResponse:
    """Stream one table as an attachment (the view only picks the study and the table)."""
    content_type = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    response = StreamingHttpResponse(export_chunks(study, table, fmt), content_type=content_type)
    filename = export_filename(study, table, fmt)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
