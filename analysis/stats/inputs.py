"""The tables :mod:`analysis.stats` takes: their columns, condition kinds and checks.

Every public function validates its tables here, so a missing column or an empty
table is refused with the same message wherever it is passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import pandas as pd

from analysis.errors import InvalidInputError

#: ``condition_kind`` of the systems under test (AI and human masters).
SYSTEM_KIND: Final = "system"
#: ``condition_kind`` of the hidden reference (BS.1534-3).
HIDDEN_REFERENCE: Final = "hidden_reference"
#: ``condition_kind`` of the mid-range (7 kHz low-pass) anchor (BS.1534-3).
MID_ANCHOR: Final = "anchor_7000"

RATING_COLUMNS: Final = ("participant", "track", "attribute", "condition_kind", "system", "score")


def require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise InvalidInputError naming every required column that ``table`` lacks."""
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{name} is missing required column(s) {missing!r}; it has {list(table.columns)!r}"
        )


def require_rows(table: pd.DataFrame, name: str) -> None:
    """Raise InvalidInputError when ``table`` has no rows."""
    if len(table) == 0:
        raise InvalidInputError(f"{name} has no rows to analyse")


def system_ratings(ratings: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Keep the ratings of the masters under test: ``condition_kind == "system"``.

    A master that is also the study's reference is rated as the hidden reference
    too; those ratings carry ``condition_kind == "hidden_reference"`` and must never
    count as that master's system (screening forces them near 100).
    """
    kind = ratings["condition_kind"].astype(str)
    keep = (kind == SYSTEM_KIND) & ratings["system"].astype(str).isin(list(systems))
    return ratings.loc[keep]


def condition_label(ratings: pd.DataFrame) -> pd.Series:
    """Name each rating's condition: the system for systems, else the condition kind."""
    kind = ratings["condition_kind"].astype(str)
    return kind.where(kind != SYSTEM_KIND, ratings["system"].astype(str))
