"""Shaping shared by the generated test signals (screening trials and calibration).

Seeds, Hann on/off ramps and the gain to a target loudness.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

from analysis.audio import Audio, Signal
from analysis.errors import InvalidInputError
from analysis.metrics.loudness import integrated_loudness

Seed: TypeAlias = int | np.random.Generator


def rng_from(seed: Seed) -> np.random.Generator:
    """Return ``seed`` if it is a generator, else a new generator seeded with it."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def positive(value: float, name: str) -> float:
    """Return ``value`` as a float; raise :class:`InvalidInputError` unless finite and > 0."""
    if not np.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name}={value!r} must be a positive number")
    return float(value)


def hann_ramps(n: int, ramp: int) -> Signal:
    """Return an envelope of length ``n`` with raised-cosine on/off ramps of ``ramp`` samples."""
    envelope = np.ones(n)
    if ramp > 0:
        rise = 0.5 * (1.0 - np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp))
        envelope[:ramp] = rise
        envelope[n - ramp :] = rise[::-1]
    return envelope


def ramp_samples(ramp_s: float, n: int, rate: int, name: str) -> int:
    """Return the ramp length in samples; at most half of an ``n``-sample interval."""
    if not np.isfinite(ramp_s) or ramp_s < 0:
        raise InvalidInputError(f"{name}={ramp_s!r} must be >= 0 seconds")
    ramp = round(ramp_s * rate)
    if 2 * ramp > n:
        raise InvalidInputError(f"{name}={ramp_s!r} s is longer than half the interval")
    return ramp


def gain_to(x: Audio, rate: int, target_lufs: float) -> float:
    """Return the linear gain that brings ``x`` to ``target_lufs`` (BS.1770 integrated)."""
    loudness = integrated_loudness(x, rate)
    if not np.isfinite(loudness):
        raise InvalidInputError(f"cannot measure the loudness of the signal ({loudness!r} LUFS)")
    return float(10.0 ** ((target_lufs - loudness) / 20.0))
