"""The manifest of a folder of mixes and masters: one CSV row per file.

Columns (any order, case-insensitive): ``track, genre, file, role, system, provider``.
``manage.py import_study`` and the workspace's folder upload read it with
:func:`read_manifest`, so both take the same files.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass

COLUMNS = ("track", "genre", "file", "role", "system", "provider")


class ManifestError(ValueError):
    """A manifest that cannot be read at all (a missing column, no rows)."""


@dataclass
class ManifestRow:
    number: int  # line in the CSV file (the header is line 1)
    track: str
    genre: str
    file: str
    role: str
    system: str
    provider: str


def read_manifest(lines: Iterable[str], *, name: str) -> list[ManifestRow]:
    """Parse the manifest's lines (``name`` is shown in errors); raise ManifestError."""
    reader = csv.DictReader(lines)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(
            f"{name}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        value = {c: (record.get(c) or "").strip() for c in COLUMNS}
        rows.append(ManifestRow(number=reader.line_num, **value))
    if not rows:
        raise ManifestError(f"{name} lists no files")
    return rows
