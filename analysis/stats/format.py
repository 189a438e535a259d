"""Rounding and formatting of result tables for display (the report's only formatter)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def format_table(table: pd.DataFrame, *, decimals: int = 2, p_decimals: int = 4) -> pd.DataFrame:
    """Return a display copy of a result table with rounded, formatted numbers.

    The statistics functions return full precision; this is the one place where
    numbers are rounded (the pattern of pingouin's ``_postprocess_dataframe``).
    P-value columns (named ``p`` or starting with ``p_``) get ``p_decimals`` decimals
    and "< 0.0001"-style floors; other floats get ``decimals``; NaN becomes "—".

    Parameters
    ----------
    table : pandas.DataFrame
        Any result table of :mod:`analysis.stats`.
    decimals : int, default 2
        Decimals of ordinary numbers.
    p_decimals : int, default 4
        Decimals of p values.

    Returns
    -------
    pandas.DataFrame
        A copy whose float columns are strings ready for HTML or CSV display.

    References
    ----------
    APA Publication Manual, 7th ed., §6.36 (reporting p values).

    Examples
    --------
    >>> import pandas as pd
    >>> format_table(pd.DataFrame({"t": [2.345678], "p_t": [0.00001]})).iloc[0].tolist()
    ['2.35', '< 0.0001']
    """
    out = table.copy()
    floor = 10.0**-p_decimals
    for column in out.columns:
        values = out[column]
        if not pd.api.types.is_float_dtype(values):
            continue
        name = str(column)
        if name == "p" or name.startswith("p_"):
            out[column] = [
                "—"
                if not np.isfinite(v)
                else (f"< {floor:.{p_decimals}f}" if v < floor else f"{v:.{p_decimals}f}")
                for v in values
            ]
        else:
            out[column] = ["—" if not np.isfinite(v) else f"{v:.{decimals}f}" for v in values]
    return out
