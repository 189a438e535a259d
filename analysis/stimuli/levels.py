"""Levels of finished excerpts and the loudness match across the versions of a track.

:func:`measure_level` measures each finished excerpt (BS.1770-4 loudness and true
peak) and :func:`match_loudness` finds one gain per version that brings all of them to
a common target, lowering the target for the whole track when a version would
otherwise exceed the true-peak ceiling (nothing is ever limited or clipped);
:func:`apply_gain` and :func:`quantize` finish the excerpt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.audio import Audio, as_audio
from analysis.errors import InvalidInputError
from analysis.metrics.loudness import integrated_loudness
from analysis.metrics.true_peak import true_peak

#: Oversampling of the second, stricter true-peak reading the ceiling is held to: at 32x
#: the interpolated peak is within 0.01 dB of the continuous-time peak wherever the
#: interpolator passes the signal, where the standard's 4x read up to 0.15 dB lower on
#: bright limited material (benchmarks/bench_true_peak.py).
STRICT_OVERSAMPLING = 32
#: Head-room kept below the true-peak ceiling, in dB, above the stricter of the 4x and
#: 32x readings. Chosen from measurement (benchmarks/bench_true_peak.py, RESULTS.md): on
#: 720 encoded excerpts set to the ceiling on that reading, libebur128's meter (its own
#: interpolator) read at most 0.044 dB above it, and the 16-bit TPDF dither moved the
#: 4x and 32x readings by at most 0.0004 dB; 0.06 dB covers both with a third to spare.
TRUE_PEAK_MARGIN_DB = 0.06


@dataclass(frozen=True)
class Level:
    """Loudness and true peak of one finished excerpt, before any gain.

    Attributes
    ----------
    loudness_lufs : float
        BS.1770-4 integrated loudness, LUFS.
    true_peak_dbtp : float
        BS.1770-4 Annex 2 true peak (4x oversampling at 44.1/48 kHz), dBTP.
    oversampled_peak_dbtp : float, optional
        True peak at :data:`STRICT_OVERSAMPLING` times the rate, dBTP (None: not
        measured).
    """

    loudness_lufs: float
    true_peak_dbtp: float
    oversampled_peak_dbtp: float | None = None

    @property
    def peak_dbtp(self) -> float:
        """The higher of the two true-peak readings, dBTP: what the ceiling is held to."""
        if self.oversampled_peak_dbtp is None:
            return self.true_peak_dbtp
        return max(self.true_peak_dbtp, self.oversampled_peak_dbtp)

    @property
    def plr(self) -> float:
        """Peak-to-loudness ratio in dB (of :attr:`peak_dbtp`): what a gain cannot change."""
        return self.peak_dbtp - self.loudness_lufs


@dataclass(frozen=True)
class LoudnessMatch:
    """The common playback loudness of a track's versions and the gain of each.

    Attributes
    ----------
    target_lufs : float
        Loudness every version plays at: the requested target, or lower when a
        version would otherwise exceed the true-peak ceiling.
    requested_lufs : float
        The study's target.
    gains_db : tuple of float
        Gain of each version, in the order given.
    true_peaks_dbtp : tuple of float
        True peak of each version after its gain (the higher reading, see
        :attr:`Level.peak_dbtp`).
    """

    target_lufs: float
    requested_lufs: float
    gains_db: tuple[float, ...]
    true_peaks_dbtp: tuple[float, ...]

    @property
    def lowered_by(self) -> float:
        """How far the target was lowered to respect the ceiling, in LU (0 when not)."""
        return self.requested_lufs - self.target_lufs


def measure_level(x: Audio, rate: int, *, name: str = "excerpt") -> Level:
    """Measure the integrated loudness and true peak of a finished excerpt.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` excerpt, exactly as it will play.
    rate : int
        Sample rate in Hz.
    name : str
        What the audio is, for error messages.

    Returns
    -------
    Level
        Loudness (LUFS), true peak at the standard's oversampling and at
        :data:`STRICT_OVERSAMPLING` (dBTP).

    Raises
    ------
    SilentAudioError, TooShortError
        If the excerpt has no measurable loudness.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1 (loudness) and Annex 2 (true peak).
    """
    x = as_audio(x, name=name)
    return Level(
        integrated_loudness(x, rate),
        true_peak(x, rate),
        true_peak(x, rate, oversampling=STRICT_OVERSAMPLING),
    )


def match_loudness(
    levels: Sequence[Level],
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    margin_db: float = TRUE_PEAK_MARGIN_DB,
) -> LoudnessMatch:
    """Find one gain per version that brings every version of a track to one loudness.

    If some version would then exceed the true-peak ceiling, the common target is
    lowered for the whole track until the version with the highest peak-to-loudness
    ratio just meets it: ``target = min(target, ceiling - margin - max(PLR))``, where
    the PLR uses the higher of the 4x and 32x true-peak readings and the margin covers
    other meters' interpolators and the encoder's dither. Every version still gets a
    plain gain; nothing is limited.

    Parameters
    ----------
    levels : sequence of Level
        Loudness and true peak of each finished excerpt, before gain.
    target_lufs : float
        The study's loudness target, LUFS (e.g. -23).
    ceiling_dbtp : float
        Highest true peak allowed after gain, dBTP (e.g. -1).
    margin_db : float
        Head-room under the ceiling for other meters and the encoder's dither
        (:data:`TRUE_PEAK_MARGIN_DB`).

    Returns
    -------
    LoudnessMatch
        The track's playback loudness and each version's gain.

    References
    ----------
    .. [1] ITU-R BS.1770-4 (loudness and true peak); EBU R 128 (normalise to a
       loudness target with a true-peak ceiling).
    .. [2] docs/statistics.md (Post-screening of assessors), "Loudness matching for this project".

    Examples
    --------
    >>> m = match_loudness([Level(-10.0, -0.5), Level(-16.0, -8.0)],
    ...                    target_lufs=-14.0, ceiling_dbtp=-1.0, margin_db=0.0)
    >>> m.target_lufs, m.gains_db
    (-14.0, (-4.0, 2.0))
    >>> match_loudness([Level(-20.0, -3.0)], target_lufs=-14.0, ceiling_dbtp=-1.0,
    ...                margin_db=0.0).target_lufs
    -18.0
    """
    if not levels:
        raise InvalidInputError("match_loudness needs at least one level")
    for value, name in ((target_lufs, "target_lufs"), (ceiling_dbtp, "ceiling_dbtp")):
        if not math.isfinite(value):
            raise InvalidInputError(f"{name}={value!r} must be finite")
    worst = max(level.plr for level in levels)
    target = min(float(target_lufs), float(ceiling_dbtp) - float(margin_db) - worst)
    gains = tuple(target - level.loudness_lufs for level in levels)
    peaks = tuple(level.peak_dbtp + g for level, g in zip(levels, gains, strict=True))
    return LoudnessMatch(
        target_lufs=target,
        requested_lufs=float(target_lufs),
        gains_db=gains,
        true_peaks_dbtp=peaks,
    )


def apply_gain(x: Audio, gain_db: float) -> Audio:
    """Scale audio by a gain in dB.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio.
    gain_db : float
        Gain in dB.

    Returns
    -------
    numpy.ndarray
        Scaled copy.

    Examples
    --------
    >>> round(float(apply_gain(np.ones((1, 1)), -6.0206)[0, 0]), 4)
    0.5
    """
    scaled: Audio = as_audio(x) * math.pow(10.0, gain_db / 20.0)
    return scaled


def quantize(x: Audio, bits: int, *, rng: np.random.Generator | None = None) -> Audio:
    """Round audio to the grid of ``bits``-bit PCM, with TPDF dither when ``rng`` is given.

    The dither is the sum of two independent uniform variables of one LSB each
    (triangular, peak ±1 LSB), added before rounding, so the error is signal-
    independent noise (Lipshitz, Wannamaker & Vanderkooy 1992). The result is exactly
    representable, so writing it as ``PCM_<bits>`` stores these values unchanged.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio in [-1, 1].
    bits : int
        16 or 24.
    rng : numpy.random.Generator, optional
        Source of the dither; None rounds without dither.

    Returns
    -------
    numpy.ndarray
        ``k / 2**(bits - 1)`` for integers ``k`` in ``[-2**(bits-1), 2**(bits-1) - 1]``.

    Raises
    ------
    InvalidInputError
        If ``bits`` is not 16 or 24.

    References
    ----------
    .. [1] S. P. Lipshitz, R. A. Wannamaker and J. Vanderkooy, "Quantization and
       dither: a theoretical survey", J. Audio Eng. Soc. 40(5), 355-375, 1992.

    Examples
    --------
    >>> quantize(np.array([[0.1], [-0.1]]), 16).ravel().tolist()
    [0.100006103515625, -0.100006103515625]
    """
    if bits not in (16, 24):
        raise InvalidInputError(f"bits={bits!r} must be 16 or 24")
    x = as_audio(x)
    scale = float(2 ** (bits - 1))
    y = x * scale
    if rng is not None:
        y += rng.uniform(-0.5, 0.5, y.shape)
        y += rng.uniform(-0.5, 0.5, y.shape)
    quantized: Audio = np.clip(np.round(y), -scale, scale - 1.0) / scale
    return quantized
