"""Rounding and formatting of result tables for display (the report's only formatter).

The statistics functions return full precision; numbers are rounded only here
(the pattern of pingouin's ``_postprocess_dataframe``). The rules:

- p values in APA style: three decimals without the leading zero, ``< .001`` below;
- degrees of freedom as numbers: ``23`` when whole, else one decimal (``7.7``);
- every other float column with enough decimals that its smallest non-zero value
  keeps three significant digits (at most six decimals), so a small metric
  difference (ESTOI 0.0031) is never shown as ``0.00``;
- NaN as an em dash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

#: Column names holding degrees of freedom.
DF_COLUMNS: Final = frozenset({"df", "dof", "num_df", "den_df", "ddof1", "ddof2"})
#: Significant digits kept in ordinary number columns.
SIGNIFICANT: Final = 3


def is_p_column(name: str) -> bool:
    """Whether a column holds p values (``p``, ``p_*`` or ``*_p``)."""
    return name == "p" or name.startswith("p_") or name.endswith("_p")


def format_p(p: float) -> str:
    """Format a p value in APA style.

    Examples
    --------
    >>> format_p(0.0081), format_p(0.00002), format_p(0.5), format_p(float("nan"))
    ('.008', '< .001', '.500', '—')
    """
    if not np.isfinite(p):
        return "—"
    if p < 0.001:
        return "< .001"
    return f"{p:.3f}".lstrip("0") if p < 1 else "1.000"


def format_df(df: float) -> str:
    """Format degrees of freedom: whole numbers without decimals, else one decimal.

    Examples
    --------
    >>> format_df(23.0), format_df(7.6561), format_df(float("inf"))
    ('23', '7.7', '∞')
    """
    if math.isinf(df):
        return "∞"
    if not np.isfinite(df):
        return "—"
    if abs(df - round(df)) < 1e-6:
        return f"{round(df):d}"
    return f"{df:.1f}"


def column_decimals(values: pd.Series | np.ndarray) -> int:
    """Decimals that keep three significant digits of a column's smallest non-zero value.

    Examples
    --------
    >>> column_decimals(np.array([60.25, 1.5])), column_decimals(np.array([0.0031, 0.9]))
    (2, 5)
    """
    x = np.abs(np.asarray(values, dtype=float))
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return 0
    exponent = math.floor(math.log10(float(x.min())))
    return int(min(6, max(0, SIGNIFICANT - 1 - exponent)))


def format_number(value: float, decimals: int) -> str:
    """Format one number with ``decimals`` decimals (NaN as an em dash, −0 as 0)."""
    if not np.isfinite(value):
        return "—" if np.isnan(value) else ("∞" if value > 0 else "−∞")
    text = f"{value:.{decimals}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def format_table(table: pd.DataFrame, by_row: Sequence[str] = ()) -> pd.DataFrame:
    """Return a display copy of a result table with rounded, formatted numbers.

    Parameters
    ----------
    table : pandas.DataFrame
        Any result table of :mod:`analysis.stats`.
    by_row : sequence of str, optional
        Columns whose decimals are chosen per row (from the row's smallest non-zero
        value among them): for tables whose rows are quantities of different
        scales, such as one row per metric.

    Returns
    -------
    pandas.DataFrame
        A copy whose float columns are strings ready for HTML or CSV display.

    References
    ----------
    APA Publication Manual, 7th ed., §6.36 (p values) and §6.35 (decimals).

    Examples
    --------
    >>> shown = format_table(pd.DataFrame({"t": [2.345678], "df": [7.0], "p": [0.00001]}))
    >>> shown.iloc[0].tolist()
    ['2.35', '7', '< .001']
    """
    out = table.copy()
    scaled = [c for c in by_row if c in out.columns and pd.api.types.is_float_dtype(out[c])]
    if scaled:
        block = table[scaled].to_numpy(dtype=float)
        row_decimals = [column_decimals(row) for row in block]
        for j, column in enumerate(scaled):
            out[column] = [
                format_number(float(v), d) for v, d in zip(block[:, j], row_decimals, strict=True)
            ]
    for column in out.columns:
        values = out[column]
        if not pd.api.types.is_float_dtype(values) or column in scaled:
            continue
        name = str(column)
        if is_p_column(name):
            out[column] = [format_p(float(v)) for v in values]
        elif name in DF_COLUMNS:
            out[column] = [format_df(float(v)) for v in values]
        else:
            decimals = column_decimals(values.to_numpy(dtype=float))
            out[column] = [format_number(float(v), decimals) for v in values]
    return out
