"""The AI-versus-human contrast per genre (docs/statistics.md, The primary model).

The primary crossed model of :mod:`analysis.stats.mixed` gains a system × genre
interaction over the genres with enough tracks to be told apart from their tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from analysis.stats.corrections import adjust
from analysis.stats.inputs import RATING_COLUMNS, require_columns
from analysis.stats.mixed import crossed_groupings, fit_crossed, master_ratings
from analysis.stats.reml import ContrastResult, FTestResult

#: Fewest tracks a genre needs for its own AI-versus-human estimate (docs/statistics.md).
MIN_TRACKS_PER_GENRE: Final = 2


@dataclass(frozen=True, eq=False)
class GenreEffects:
    """Human − AI per genre, from the primary model with a system × genre interaction.

    Attributes
    ----------
    attribute : str
        The rated attribute.
    table : pandas.DataFrame
        One row per genre: ``genre, n_tracks, tested`` and, for tested genres,
        ``estimate, se, df, t, p, ci_low, ci_high, p_holm`` (Holm across the
        tested genres); ``reason`` says why a genre is not tested.
    interaction : FTestResult or None
        F test that the human − AI difference is the same in every tested genre.
    formula : str
        The model fitted ("" when no genre could be tested).
    notes : tuple of str
        Terms left out or removed, as in :class:`SystemEffect`.
    """

    attribute: str
    table: pd.DataFrame
    interaction: FTestResult | None
    formula: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def genre_effects(
    ratings: pd.DataFrame,
    attribute: str,
    *,
    a: str = "ai",
    b: str = "human",
    confidence: float = 0.95,
) -> GenreEffects:
    """Human − AI per genre, where a genre has at least two tracks.

    The primary model gains fixed effects ``system * genre`` (one mean and one
    human − AI difference per genre) over the genres with ≥ 2 tracks; a genre with
    one track is confounded with its track and only described (docs/statistics.md).
    The per-genre differences get Satterthwaite t tests (Holm across genres) and
    their equality an F test (lmerTest's ``contestMD``).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Tidy ratings with a ``genre`` column.
    attribute : str
        The attribute analysed.
    a, b : str, default "ai", "human"
        Systems; estimates are ``b − a``.
    confidence : float, default 0.95
        Level of the CIs.

    Returns
    -------
    GenreEffects
        The per-genre table, the interaction test and the model fitted.

    References
    ----------
    docs/statistics.md (The primary model); Kuznetsova, Brockhoff & Christensen (2017), eq. 8-9.

    Examples
    --------
    >>> from analysis.stats.crossed_simulation import simulate_ratings
    >>> r = simulate_ratings(10, 8, genres=("rock", "jazz"), seed=2)
    >>> genre_effects(r, "overall quality").table["tested"].tolist()
    [True, True]
    """
    require_columns(ratings, [*RATING_COLUMNS, "genre"], "ratings")
    data = master_ratings(ratings, attribute, a, b, "none")
    data["genre"] = data["genre"].astype(str)
    tracks = data.groupby("genre")["track"].nunique()
    testable = [str(g) for g in tracks.index if tracks[g] >= MIN_TRACKS_PER_GENRE]
    rows: list[dict[str, object]] = [
        {
            "genre": str(g),
            "n_tracks": int(tracks[g]),
            "tested": str(g) in testable and len(testable) >= 2,
            "reason": "",
        }
        for g in tracks.index
    ]
    for row in rows:
        if row["tested"]:
            continue
        if int(str(row["n_tracks"])) < MIN_TRACKS_PER_GENRE:
            row["reason"] = (
                "one track only: the genre cannot be told apart from its track, so it is "
                "described, not tested"
            )
        else:
            row["reason"] = "fewer than two genres have two or more tracks: nothing to compare"
    table = pd.DataFrame(rows)
    if len(testable) < 2:
        return GenreEffects(attribute=attribute, table=table, interaction=None, formula="")
    data = data.loc[data["genre"].isin(testable)].reset_index(drop=True)
    y = data["y"].to_numpy(dtype=float)
    code = np.where(data["system"] == b, 0.5, -0.5)
    columns, names = [], []
    for g in testable:
        member = (data["genre"] == g).to_numpy(dtype=float)
        columns += [member, member * code]
        names += [f"genre {g}", f"{b} - {a} | genre {g}"]
    x = np.column_stack(columns)
    fit, formula, notes = fit_crossed(y, x, names, crossed_groupings(data), "system * genre")
    results: dict[str, ContrastResult] = {}
    for i, g in enumerate(testable):
        weights = np.zeros(len(names))
        weights[2 * i + 1] = 1.0
        results[g] = fit.contrast(weights, confidence)
    lmat = np.zeros((len(testable) - 1, len(names)))
    for i in range(len(testable) - 1):
        lmat[i, 2 * i + 1] = 1.0
        lmat[i, 2 * i + 3] = -1.0
    for key in ("estimate", "se", "df", "t", "p", "ci_low", "ci_high"):
        table[key] = [getattr(results[g], key) if g in results else np.nan for g in table["genre"]]
    table["p_holm"] = adjust(table["p"].to_numpy(dtype=float), "holm")
    return GenreEffects(
        attribute=attribute,
        table=table,
        interaction=fit.f_test(lmat),
        formula=formula,
        notes=notes,
    )
