"""The masters' ratings of a crossed study, drawn from the primary model (docs/statistics.md).

For the calibration of the primary test and for power by simulation: every
participant rates both masters of every track, with chosen variance components. The
whole simulated study (every condition, ABX, AB preferences, metrics, participants
who fail the post-screening) is :mod:`analysis.stats.simulation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError

#: Variance components of docs/statistics.md's calibration (rating points, as SDs).
REALISTIC_SDS: Final = {
    "participant": 8.0,
    "track": 6.0,
    "track:system": 5.0,
    "participant:system": 3.0,
    "residual": 10.0,
}


def simulate_ratings(
    n_participants: int,
    n_tracks: int,
    *,
    effect: float = 0.0,
    sds: dict[str, float] | None = None,
    mean: float = 60.0,
    attributes: Sequence[str] = ("overall quality",),
    genres: Sequence[str] = ("pop",),
    missing: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Draw the masters' ratings of a crossed study from the primary model.

    score = mean ± effect/2 (human +, AI −) + participant + track + track × system
    + participant × system + residual, clipped to [0, 100]; every participant rates
    every track's two masters on every attribute (each attribute drawn
    independently), and a share ``missing`` of ratings is then dropped at random.

    Parameters
    ----------
    n_participants, n_tracks : int
        Size of the design (at least 1 each).
    effect : float, default 0
        True human − AI difference in rating points.
    sds : dict, optional
        SDs of ``participant, track, track:system, participant:system, residual``;
        default :data:`REALISTIC_SDS`. Missing keys count as 0.
    mean : float, default 60
        Mean rating of the masters.
    attributes : sequence of str, default ("overall quality",)
        Attributes rated.
    genres : sequence of str, default ("pop",)
        Genres given to tracks in turn.
    missing : float, default 0
        Share of ratings dropped, in [0, 1).
    seed : int or numpy.random.Generator, default 0
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        The ratings export's columns ``participant, track, genre, attribute,
        condition_kind, system, score, simulated``.

    References
    ----------
    docs/statistics.md (calibration) and its 'Sample-size planning' (power by simulation).

    Examples
    --------
    >>> r = simulate_ratings(4, 3, seed=1)
    >>> len(r), sorted(r["system"].unique())
    (24, ['ai', 'human'])
    """
    if n_participants < 1 or n_tracks < 1:
        raise InvalidInputError(
            f"need ≥ 1 participant and track, got {n_participants!r} and {n_tracks!r}"
        )
    if not 0.0 <= missing < 1.0:
        raise InvalidInputError(f"missing={missing!r} must be in [0, 1)")
    spread = {**dict.fromkeys(REALISTIC_SDS, 0.0), **(REALISTIC_SDS if sds is None else sds)}
    unknown = set(spread) - set(REALISTIC_SDS)
    if unknown:
        raise InvalidInputError(f"unknown variance components {sorted(unknown)!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_p, n_t, n_a = n_participants, n_tracks, len(attributes)
    p, t, a, s = (idx.ravel() for idx in np.indices((n_p, n_t, n_a, 2)))
    score = (
        mean
        + np.where(s == 1, effect / 2.0, -effect / 2.0)
        + rng.normal(0.0, spread["participant"], (n_p, n_a))[p, a]
        + rng.normal(0.0, spread["track"], (n_t, n_a))[t, a]
        + rng.normal(0.0, spread["track:system"], (n_t, n_a, 2))[t, a, s]
        + rng.normal(0.0, spread["participant:system"], (n_p, n_a, 2))[p, a, s]
        + rng.normal(0.0, spread["residual"], p.size)
    )
    keep = rng.random(p.size) >= missing
    track_genre = np.array([genres[i % len(genres)] for i in range(n_t)])
    out = pd.DataFrame(
        {
            "participant": np.char.add("P", np.char.zfill(p[keep].astype(str), 4)),
            "track": np.char.add("T", np.char.zfill(t[keep].astype(str), 3)),
            "genre": track_genre[t[keep]],
            "attribute": np.asarray(list(attributes), dtype=object)[a[keep]],
            "condition_kind": "system",
            "system": np.where(s[keep] == 1, "human", "ai"),
            "score": np.clip(score[keep], 0.0, 100.0),
            "simulated": True,
        }
    )
    return out
