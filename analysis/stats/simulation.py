"""Seeded simulated listening-test data with known effects (for tests, demos and benchmarks).

The rating model is additive: score = condition level + participant effect + track
effect + track-specific system effect + residual, clipped to [0, 100]; a chosen
number of participants break the BS.1534-3 post-screening rules. Every table has
the export columns that :mod:`analysis.stats` reads, and ratings carry
``simulated=True`` so no simulated row can pass for real data. The masters' ratings
alone, drawn from the primary crossed model (for calibration and power), are
:mod:`analysis.stats.crossed_simulation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis import METRICS_VERSION
from analysis.errors import InvalidInputError

#: Condition kinds of one simulated MUSHRA trial, with their roles and systems.
CONDITIONS: Final = (
    ("hidden_reference", "reference", "none"),
    ("anchor_3500", "anchor", "none"),
    ("anchor_7000", "anchor", "none"),
    ("mix", "mix", "none"),
    ("system", "master", "ai"),
    ("system", "master", "human"),
)
#: Mean score of each condition above (before participant and track effects).
LEVELS: Final = (97.0, 20.0, 45.0, 55.0, 65.0, 65.0)
#: Bradley-Terry log-strengths of the simulated preferences (docs/statistics.md, example).
STRENGTHS: Final = {"ai": 0.0, "human": 0.539, "mix": -1.024}


@dataclass(frozen=True, eq=False)
class SimulatedStudy:
    """Simulated tables and the truth they were drawn from.

    Attributes
    ----------
    ratings, abx, preferences, metrics : pandas.DataFrame
        Tables in the export formats read by :mod:`analysis.stats`.
    fail_reference, fail_anchor : tuple of str
        Participants made to fail the hidden-reference or mid-anchor rule.
    truth : dict
        The simulation parameters (``ai_effect`` is AI − human in score points).
    """

    ratings: pd.DataFrame
    abx: pd.DataFrame
    preferences: pd.DataFrame
    metrics: pd.DataFrame
    fail_reference: tuple[str, ...]
    fail_anchor: tuple[str, ...]
    truth: dict[str, float] = field(default_factory=dict)


def simulate_study(
    n_participants: int = 24,
    n_tracks: int = 8,
    *,
    genres: Sequence[str] = ("rock", "pop", "jazz", "electronic"),
    attributes: Sequence[str] = ("overall quality", "clarity", "punch", "width"),
    ai_effect: float = -4.0,
    participant_sd: float = 6.0,
    track_sd: float = 4.0,
    interaction_sd: float = 3.0,
    residual_sd: float = 8.0,
    n_fail_reference: int = 1,
    n_fail_anchor: int = 1,
    abx_trials: int = 16,
    abx_hit_rate: float = 0.7,
    seed: int = 0,
) -> SimulatedStudy:
    """Draw a seeded study: every participant rates every track on every attribute.

    Parameters
    ----------
    n_participants, n_tracks : int
        Size of the fully crossed design; a trial is one track on one attribute
        with the six conditions of :data:`CONDITIONS`.
    genres : sequence of str
        Genres assigned to tracks in turn.
    attributes : sequence of str
        Rated attributes.
    ai_effect : float, default -4
        AI minus human mean score.
    participant_sd, track_sd, interaction_sd, residual_sd : float
        SDs of the participant and track intercepts, of the track-specific
        human − AI difference and of the residual.
    n_fail_reference, n_fail_anchor : int, default 1
        Participants (the first ones) who rate the hidden reference 30-85, and the
        next ones who rate the mid anchor 92-100, in every trial.
    abx_trials : int, default 16
        ABX trials per participant; ``abx_hit_rate`` is the true rate of correct
        answers.
    abx_hit_rate : float, default 0.7
        Probability of a correct ABX answer.
    seed : int, default 0
        Seed of the generator.

    Returns
    -------
    SimulatedStudy
        The tables and the truth.

    References
    ----------
    ITU-R BS.1534-3 (2015) (conditions and post-screening); docs/statistics.md
    (simulate the LMM with assumed variance components).

    Examples
    --------
    >>> study = simulate_study(6, 4, seed=1)
    >>> len(study.ratings) == 6 * 4 * 4 * 6
    True
    """
    if n_participants < 1 or n_tracks < 1 or not attributes or not genres:
        raise InvalidInputError(
            f"need participants, tracks, attributes and genres, got {n_participants!r}, "
            f"{n_tracks!r}, {list(attributes)!r}, {list(genres)!r}"
        )
    if n_fail_reference + n_fail_anchor > n_participants:
        raise InvalidInputError(
            f"{n_fail_reference} + {n_fail_anchor} failing participants exceed {n_participants}"
        )
    rng = np.random.default_rng(seed)
    n_p, n_t, n_a, n_c = n_participants, n_tracks, len(attributes), len(CONDITIONS)
    shape = (n_p, n_t, n_a, n_c)
    p, t, a, c = (idx.ravel() for idx in np.indices(shape))
    participant_eff = rng.normal(0.0, participant_sd, n_p)
    track_eff = rng.normal(0.0, track_sd, n_t)
    interaction = rng.normal(0.0, interaction_sd, n_t)  # human − AI beyond -ai_effect
    levels = np.asarray(LEVELS)
    levels[4] += ai_effect
    is_ai, is_human, is_ref = c == 4, c == 5, c == 0
    score = (
        levels[c]
        + participant_eff[p]
        + track_eff[t]
        + np.where(is_human, interaction[t] / 2, 0.0)
        - np.where(is_ai, interaction[t] / 2, 0.0)
        + rng.normal(0.0, residual_sd, p.size)
    )
    ref_score = 100.0 - np.abs(rng.normal(0.0, 3.0, p.size))
    score = np.where(is_ref, ref_score, score)
    fail_ref = p < n_fail_reference
    fail_anchor = (p >= n_fail_reference) & (p < n_fail_reference + n_fail_anchor)
    score = np.where(is_ref & fail_ref, rng.uniform(30.0, 85.0, p.size), score)
    score = np.where((c == 2) & fail_anchor, rng.uniform(92.0, 100.0, p.size), score)
    score = np.clip(score, 0.0, 100.0)

    trial_order = np.argsort(rng.random((n_p, n_t * n_a)), axis=1).argsort(axis=1)
    condition_order = np.argsort(rng.random((n_p * n_t * n_a, n_c)), axis=1).argsort(axis=1)
    participants = [f"P{i:04d}" for i in range(n_p)]
    tracks = [f"T{i:02d}" for i in range(n_t)]
    track_genre = [genres[i % len(genres)] for i in range(n_t)]
    kinds = sorted({k for k, _, _ in CONDITIONS})
    kind_code = np.array([kinds.index(k) for k, _, _ in CONDITIONS])
    roles = sorted({r for _, r, _ in CONDITIONS})
    role_code = np.array([roles.index(r) for _, r, _ in CONDITIONS])
    systems = ["ai", "human", "none"]
    system_code = np.array([systems.index(s) for _, _, s in CONDITIONS])
    genre_names = sorted(set(genres))
    genre_code = np.array([genre_names.index(g) for g in track_genre])
    stimulus_names = [
        f"{tr}-{kind if system == 'none' else system}"
        for tr in tracks
        for kind, _, system in CONDITIONS
    ]

    def cat(codes: npt.NDArray[np.int64], categories: Sequence[str]) -> pd.Categorical[str]:
        return pd.Categorical.from_codes(
            np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories))
        )

    providers = ["", "engineer", "provider-x"]
    provider_code = np.where(c == 4, 2, np.where(c == 5, 1, 0))
    ratings = pd.DataFrame(
        {
            "session": cat(p, [f"S{i:04d}" for i in range(n_p)]),
            "participant": cat(p, participants),
            "track": cat(t, tracks),
            "genre": cat(genre_code[t], genre_names),
            "stimulus": cat(t * n_c + c, stimulus_names),
            "role": cat(role_code[c], roles),
            "condition_kind": cat(kind_code[c], kinds),
            "system": cat(system_code[c], systems),
            "provider": cat(provider_code, providers),
            "attribute": cat(a, list(attributes)),
            "score": score,
            "trial_position": trial_order[p, t * n_a + a] + 1,
            "condition_position": condition_order[(p * n_t + t) * n_a + a, c] + 1,
            "simulated": np.ones(p.size, dtype=bool),
        }
    )

    ap, rep = (idx.ravel() for idx in np.indices((n_p, abx_trials)))
    abx_track = rep % n_t
    abx = pd.DataFrame(
        {
            "session": [f"S{i:04d}" for i in ap],
            "participant": [participants[i] for i in ap],
            "track": [tracks[i] for i in abx_track],
            "genre": [track_genre[i] for i in abx_track],
            "pair": "ai|human",
            "repetition": rep // n_t + 1,
            "correct": rng.random(ap.size) < abx_hit_rate,
            "simulated": True,
        }
    )

    pairs = (("ai", "human"), ("ai", "mix"), ("human", "mix"))
    pp, pt, pk = (idx.ravel() for idx in np.indices((n_p, n_t, len(pairs))))
    swap = rng.random(pp.size) < 0.5
    first = np.array([pairs[k][0] for k in pk])
    second = np.array([pairs[k][1] for k in pk])
    a_system = np.where(swap, second, first)
    b_system = np.where(swap, first, second)
    beta_a = np.array([STRENGTHS[s] for s in a_system])
    beta_b = np.array([STRENGTHS[s] for s in b_system])
    a_wins = rng.random(pp.size) < 1.0 / (1.0 + np.exp(beta_b - beta_a))
    choice = np.where(a_wins, a_system, b_system)
    choice = np.where(rng.random(pp.size) < 0.1, "none", choice)
    ai_position = np.where(a_system == "ai", "A", np.where(b_system == "ai", "B", ""))
    preferences = pd.DataFrame(
        {
            "session": [f"S{i:04d}" for i in pp],
            "participant": [participants[i] for i in pp],
            "track": [tracks[i] for i in pt],
            "genre": [track_genre[i] for i in pt],
            "attribute": attributes[0],
            "a_system": a_system,
            "b_system": b_system,
            "choice_system": choice,
            "position_of_ai": ai_position,
            "simulated": True,
        }
    )

    delta = -ai_effect + interaction
    base = {
        "integrated": (-9.0, 1.0, -1.0),
        "true_peak": (-0.5, 0.3, -0.4),
        "loudness_range": (6.0, 1.5, 0.8),
        "plr": (8.5, 1.0, 0.6),
        "psr": (9.0, 1.0, 0.7),
        "dr_value": (8.0, 1.5, 1.0),
        "lp_spotify": (-5.0, 1.0, 1.0),
        "dm": (10.0, 5.0, -3.0),
        "median_csdr": (20.0, 3.0, 2.0),
        "hfd": (5.0, 2.0, -1.0),
        "it": (0.9, 0.03, 0.01),
        "stoi": (0.95, 0.02, 0.005),
        "wsc": (0.45, 0.03, 0.0),
        "centroid_hz": (1800.0, 300.0, -50.0),
        "tilt_db_per_octave": (-4.0, 0.5, -0.2),
        "ber": (1.2, 0.1, -0.05),
    }
    rows = []
    for system in ("ai", "human"):
        frame: dict[str, object] = {
            "track": tracks,
            "genre": track_genre,
            "system": system,
            "provider": "provider-x" if system == "ai" else "engineer",
            "metrics_version": METRICS_VERSION,
        }
        for name, (mean, sd, shift) in base.items():
            values = mean + rng.normal(0.0, sd, n_t) * 0.5
            if system == "human":
                values = values + shift
                if name == "dr_value":  # the metric that tracks the ratings
                    values = values + (delta - delta.mean())
            frame[name] = values
        rows.append(pd.DataFrame(frame))
    metrics = pd.concat(rows, ignore_index=True)
    metrics["ber_db"] = 10.0 * np.log10(metrics["ber"])
    return SimulatedStudy(
        ratings=ratings,
        abx=abx,
        preferences=preferences,
        metrics=metrics,
        fail_reference=tuple(participants[:n_fail_reference]),
        fail_anchor=tuple(participants[n_fail_reference : n_fail_reference + n_fail_anchor]),
        truth={
            "ai_effect": ai_effect,
            "participant_sd": participant_sd,
            "track_sd": track_sd,
            "interaction_sd": interaction_sd,
            "residual_sd": residual_sd,
            "abx_hit_rate": abx_hit_rate,
        },
    )
