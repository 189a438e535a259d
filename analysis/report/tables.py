"""HTML building blocks of the report: tables and notes."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from analysis.stats.format import format_table

#: Largest number of per-participant rows shown inline (the rest are in the CSV).
MAX_ROWS: Final = 60


def html_table(
    table: pd.DataFrame | None,
    columns: Mapping[str, str] | None = None,
    caption: str = "",
    text_columns: Sequence[str] = (),
    by_row: Sequence[str] = (),
) -> str:
    """Render selected columns of a table with readable headers."""
    if table is None or table.empty:
        return '<p class="note">No data.</p>'
    if columns is not None:
        present = {k: v for k, v in columns.items() if k in table.columns}
        shown = format_table(table[list(present)], by_row).rename(columns=present)
        text = [present[c] for c in text_columns if c in present]
    else:
        shown = format_table(table, by_row)
        text = list(text_columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for _, row in shown.iterrows():
        cells = []
        for column, value in row.items():
            shown_value = (
                "—" if value is None or (isinstance(value, float) and np.isnan(value)) else value
            )
            klass = ' class="text"' if column in text else ""
            cells.append(f"<td{klass}>{html.escape(str(shown_value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_note(text: str) -> str:
    """Return ``text`` (HTML, not escaped here) as a note paragraph."""
    return f'<p class="note">{text}</p>'
