"""MUSHRA post-screening of assessors (ITU-R BS.1534-3, docs/statistics.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.stats.inputs import (
    HIDDEN_REFERENCE,
    MID_ANCHOR,
    RATING_COLUMNS,
    require_columns,
    require_rows,
)


@dataclass(frozen=True, eq=False)
class ScreeningResult:
    """Outcome of MUSHRA post-screening.

    Attributes
    ----------
    participants : pandas.DataFrame
        One row per participant: ``participant``, ``n_items`` (trials with a hidden
        reference), ``hidden_ref_below`` (trials whose hidden reference scored below
        the threshold), ``hidden_ref_share``, ``n_anchor_items``, ``anchor_above``,
        ``anchor_share``, ``excluded`` (bool) and ``reason`` ("" when kept).
    ratings : pandas.DataFrame
        The input ratings without the excluded participants.
    hidden_ref_threshold, anchor_threshold, max_share : float
        The rule applied.
    """

    participants: pd.DataFrame
    ratings: pd.DataFrame
    hidden_ref_threshold: float
    anchor_threshold: float
    max_share: float

    @property
    def excluded(self) -> pd.DataFrame:
        """Rows of :attr:`participants` that were excluded, with their reasons."""
        return self.participants.loc[self.participants["excluded"]].reset_index(drop=True)

    @property
    def n_before(self) -> int:
        """Number of participants before screening."""
        return len(self.participants)

    @property
    def n_excluded(self) -> int:
        """Number of participants excluded."""
        return int(self.participants["excluded"].sum())

    @property
    def n_after(self) -> int:
        """Number of participants kept (report it with every result)."""
        return self.n_before - self.n_excluded


def post_screening(
    ratings: pd.DataFrame,
    *,
    hidden_ref_threshold: float = 90.0,
    anchor_threshold: float = 90.0,
    max_share: float = 0.15,
) -> ScreeningResult:
    """Exclude assessors by the BS.1534-3 post-screening rules.

    An assessor is excluded when they

    (a) rate the hidden reference below ``hidden_ref_threshold`` for more than
        ``max_share`` of the items, or
    (b) rate the mid-range anchor (7 kHz low-pass, ``condition_kind ==
        "anchor_7000"``) above ``anchor_threshold`` for more than ``max_share`` of
        the items.

    An *item* is one trial: one track (test excerpt) rated on one attribute, so a
    participant who rated 20 tracks on 4 attributes has 80 items. The share is
    counted over the items that contain the hidden reference (for a) or the mid
    anchor (for b); a rule whose condition is absent from the design (e.g. a
    BS.2132 test without a hidden reference) excludes nobody. If an item holds
    several ratings of the same condition, each rating counts once.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings with at least ``participant, track, attribute,
        condition_kind, system, score``.
    hidden_ref_threshold : float, default 90
        A hidden-reference score strictly below this fails the item.
    anchor_threshold : float, default 90
        A mid-anchor score strictly above this fails the item.
    max_share : float, default 0.15
        Exclude when the failed share is strictly greater than this.

    Returns
    -------
    ScreeningResult
        Per-participant counts, shares and reasons, plus the screened ratings.

    References
    ----------
    ITU-R BS.1534-3 (2015), "Method for the subjective assessment of intermediate
    quality level of audio systems", §4.1.2 (post-screening of assessors).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"participant": ["p1"] * 2, "track": ["t1", "t2"],
    ...     "attribute": "quality", "condition_kind": "hidden_reference",
    ...     "system": "none", "score": [100.0, 50.0]})
    >>> post_screening(r).excluded["reason"].tolist()
    ['hidden reference < 90 in 50.0 % of 2 items (> 15 %)']
    """
    require_columns(ratings, RATING_COLUMNS, "ratings")
    require_rows(ratings, "ratings")
    if not 0.0 <= max_share < 1.0:
        raise InvalidInputError(f"max_share={max_share!r} must be in [0, 1)")
    participant = ratings["participant"]
    kind = ratings["condition_kind"]
    score = ratings["score"].astype(float)

    def tally(mask: pd.Series, fail: pd.Series) -> pd.DataFrame:
        grouped = fail[mask].groupby(participant[mask])
        return pd.DataFrame({"n": grouped.size(), "fail": grouped.sum()})

    ref = tally(kind == HIDDEN_REFERENCE, score < hidden_ref_threshold)
    anchor = tally(kind == MID_ANCHOR, score > anchor_threshold)
    everyone = pd.Index(pd.unique(participant), name="participant")
    table = pd.DataFrame(index=everyone)
    table["n_items"] = ref["n"].reindex(everyone).fillna(0).astype(int)
    table["hidden_ref_below"] = ref["fail"].reindex(everyone).fillna(0).astype(int)
    table["n_anchor_items"] = anchor["n"].reindex(everyone).fillna(0).astype(int)
    table["anchor_above"] = anchor["fail"].reindex(everyone).fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["hidden_ref_share"] = table["hidden_ref_below"] / table["n_items"]
        table["anchor_share"] = table["anchor_above"] / table["n_anchor_items"]
    fail_ref = table["hidden_ref_share"].fillna(0.0) > max_share
    fail_anchor = table["anchor_share"].fillna(0.0) > max_share
    pct = f"{max_share * 100:g} %"

    def failed(rule: str, share: pd.Series, items: pd.Series) -> pd.Series:
        """Say which rule failed, in what share of how many items."""
        return (
            f"{rule} in "
            + (share * 100).round(1).astype(str)
            + " % of "
            + items.astype(str)
            + f" items (> {pct})"
        )

    reason_ref = failed(
        f"hidden reference < {hidden_ref_threshold:g}", table["hidden_ref_share"], table["n_items"]
    )
    reason_anchor = failed(
        f"mid anchor (7 kHz) > {anchor_threshold:g}", table["anchor_share"], table["n_anchor_items"]
    )
    reason = reason_ref.where(fail_ref, "")
    both = fail_ref & fail_anchor
    reason = reason.where(~both, reason + "; ")
    reason = reason + reason_anchor.where(fail_anchor, "")
    table["excluded"] = fail_ref | fail_anchor
    table["reason"] = reason
    table = table.reset_index()[
        [
            "participant",
            "n_items",
            "hidden_ref_below",
            "hidden_ref_share",
            "n_anchor_items",
            "anchor_above",
            "anchor_share",
            "excluded",
            "reason",
        ]
    ]
    dropped = set(table.loc[table["excluded"], "participant"])
    kept = ratings.loc[~participant.isin(dropped)].reset_index(drop=True)
    return ScreeningResult(
        participants=table,
        ratings=kept,
        hidden_ref_threshold=float(hidden_ref_threshold),
        anchor_threshold=float(anchor_threshold),
        max_share=float(max_share),
    )
