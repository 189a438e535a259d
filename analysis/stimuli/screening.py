"""Seeded blocks of headphone-screening trials and their scoring (docs/stimuli.md).

A screening runs the anti-phase test of Woods et al. (2017) or the Huggins-pitch test
of Milne et al. (2021) (single trials: :mod:`analysis.stimuli.headphone_trials`) as a
block of trials with balanced answer positions, generated on the server from a
recorded seed so that the answer never reaches the browser; :func:`score_screening`
checks the answers there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np

from analysis.errors import InvalidInputError
from analysis.stimuli.headphone_trials import (
    ANTIPHASE_ORDERS,
    N_INTERVALS,
    ScreeningTrial,
    antiphase_trial,
    huggins_trial,
)
from analysis.stimuli.shaping import Seed, gain_to, rng_from

ScreeningKind: TypeAlias = Literal["antiphase", "huggins"]

#: Trials per test recommended by both reference implementations (docs/stimuli.md).
DEFAULT_TRIALS: Final = 6
#: Pass marks recommended in docs/stimuli.md: anti-phase >= 5/6, Huggins pitch 6/6.
DEFAULT_PASS_MARK: Final[dict[str, int]] = {"antiphase": 5, "huggins": 6}
#: At most two attempts at the screening (docs/stimuli.md, Headphone screening).
MAX_ATTEMPTS: Final = 2


@dataclass(frozen=True)
class ScreeningScore:
    """The outcome of one screening test.

    Attributes
    ----------
    correct : int
        Number of correct answers.
    total : int
        Number of trials.
    passed : bool
        True when ``correct >= pass_mark``.
    """

    correct: int
    total: int
    passed: bool


def screening_trials(
    kind: ScreeningKind,
    n_trials: int = DEFAULT_TRIALS,
    *,
    seed: Seed = 0,
    rate: int = 44100,
    target_lufs: float | None = None,
) -> tuple[ScreeningTrial, ...]:
    """Generate a seeded block of screening trials with balanced answer positions.

    Orders are dealt from shuffled decks holding every ordering once (the six
    anti-phase orders, or the three Huggins target positions), so six trials use every
    answer position exactly twice and a guesser gains nothing from position habits.

    Parameters
    ----------
    kind : {"antiphase", "huggins"}
        Which test.
    n_trials : int
        Number of trials (docs/stimuli.md (Headphone screening) recommends 6 for both tests).
    seed : int or numpy.random.Generator
        Seed; the same seed gives the same trials, samples included.
    rate : int
        Sample rate in Hz.
    target_lufs : float, optional
        Scale each trial to this BS.1770 integrated loudness (e.g. the study's level,
        so the screening plays as loud as the calibration signal). None keeps the
        reference levels of :func:`antiphase_trial` and :func:`huggins_trial`.

    Returns
    -------
    tuple of ScreeningTrial
        ``n_trials`` trials.

    Raises
    ------
    InvalidInputError
        For an unknown kind or a non-positive number of trials.

    References
    ----------
    .. [1] Woods et al. (2017) and Milne et al. (2021); see :func:`antiphase_trial` and
       :func:`huggins_trial`.

    Examples
    --------
    >>> trials = screening_trials("huggins", 6, seed=7, rate=16000)
    >>> sorted(t.correct for t in trials)
    [0, 0, 1, 1, 2, 2]
    """
    if kind not in DEFAULT_PASS_MARK:
        raise InvalidInputError(f"kind={kind!r} must be 'antiphase' or 'huggins'")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise InvalidInputError(f"n_trials={n_trials!r} must be a positive integer")
    rng = rng_from(seed)
    deck_size = len(ANTIPHASE_ORDERS) if kind == "antiphase" else N_INTERVALS
    decks = -(-n_trials // deck_size)  # ceiling division
    draws = np.concatenate([rng.permutation(deck_size) for _ in range(decks)])[:n_trials]
    trials: list[ScreeningTrial] = []
    for draw in draws:
        if kind == "antiphase":
            trial = antiphase_trial(rng, rate, order=ANTIPHASE_ORDERS[int(draw)])
        else:
            trial = huggins_trial(rng, rate, target=int(draw))
        if target_lufs is not None:
            gain = gain_to(trial.audio, trial.rate, target_lufs)
            trial = ScreeningTrial(
                kind=trial.kind,
                audio=trial.audio * gain,
                rate=trial.rate,
                correct=trial.correct,
                order=trial.order,
                onsets=trial.onsets,
            )
        trials.append(trial)
    return tuple(trials)


def score_screening(
    answers: Sequence[int], correct: Sequence[int], pass_mark: int
) -> ScreeningScore:
    """Score a screening test on the server.

    Parameters
    ----------
    answers : sequence of int
        The listener's chosen interval per trial (0, 1 or 2).
    correct : sequence of int
        The correct interval per trial, as generated (``ScreeningTrial.correct``).
    pass_mark : int
        Fewest correct answers that pass (docs/stimuli.md: 5 of 6 for the anti-phase
        test, 6 of 6 for Huggins pitch; see :data:`DEFAULT_PASS_MARK`).

    Returns
    -------
    ScreeningScore
        Correct count, total and whether the test was passed.

    Raises
    ------
    InvalidInputError
        If the sequences differ in length or are empty, an index is not 0, 1 or 2,
        or ``pass_mark`` is outside ``0..total``.

    References
    ----------
    .. [1] Woods et al. (2017), pass at 5 of 6; Milne et al. (2021), pass at 6 of 6.

    Examples
    --------
    >>> score_screening([2, 0, 1, 1, 0, 2], [2, 0, 1, 1, 0, 1], pass_mark=5)
    ScreeningScore(correct=5, total=6, passed=True)
    """
    if len(answers) != len(correct):
        raise InvalidInputError(
            f"got {len(answers)} answers for {len(correct)} trials; they must match"
        )
    if not correct:
        raise InvalidInputError("no trials to score")
    for name, values in (("answers", answers), ("correct", correct)):
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidInputError(f"{name} holds {value!r}; indices must be 0, 1 or 2")
            if value not in range(N_INTERVALS):
                raise InvalidInputError(f"{name} holds {value!r}; indices must be 0, 1 or 2")
    total = len(correct)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 0 <= pass_mark <= total:
        raise InvalidInputError(f"pass_mark={pass_mark!r} must be an integer in 0..{total}")
    hits = sum(int(a) == int(c) for a, c in zip(answers, correct, strict=True))
    return ScreeningScore(correct=hits, total=total, passed=hits >= pass_mark)
