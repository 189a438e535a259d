"""Loudness range (LRA) of EBU Tech 3342, computed as libebur128 computes it.

The loudness range takes its 3 s windows every second, with nearest-rank percentiles
and no appended silence, as libebur128 does (a 10 Hz hop with 1.5 s of appended
silence, as in pyloudnorm, moved LRA by up to 2 LU away from libebur128 on 30 s
excerpts; the tests hold it to libebur128 within 0.01 LU; docs/metrics.md, LRA). The
windows come from the K-weighted 100 ms sub-block energies of
:mod:`analysis.metrics.k_weighting`, so :func:`~analysis.metrics.loudness.measure_loudness`
shares them with the other loudness measures.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from analysis.audio import Audio, as_audio, check_rate
from analysis.errors import SilentAudioError
from analysis.metrics.k_weighting import (
    ABSOLUTE_GATE,
    LOUDNESS_OFFSET,
    SHORT_TERM_SUBBLOCKS,
    require_subblocks,
    subblock_energy,
    subblock_hop,
    window_power,
)

__all__ = [
    "LRA_HOP_SUBBLOCKS",
    "LRA_PERCENTILES",
    "LRA_RELATIVE_GATE",
    "loudness_range",
    "range_of_energy",
]

LRA_RELATIVE_GATE = -20.0
"""Relative gate of the loudness range, in LU (EBU Tech 3342)."""
LRA_PERCENTILES = (10.0, 95.0)
"""Low and high percentiles of the loudness range (EBU Tech 3342)."""
LRA_HOP_SUBBLOCKS = 10
"""Hop of the loudness-range short-term windows in 100 ms sub-blocks: 1 s, so successive
3 s windows overlap by 2 s (EBU Tech 3342's minimum overlap, and libebur128's hop)."""


def range_of_energy(energy: npt.NDArray[np.float64], hop: int) -> float:
    """EBU Tech 3342 from 100 ms sub-block energies, as libebur128 computes it.

    3 s windows every second (the first ending 3 s in, no silence appended); windows
    at or above -70 LUFS pass the absolute gate; those at or above the mean power of
    the passing windows minus 20 LU pass the relative gate; P10 and P95 are the
    windows of rank ``floor((n - 1) p + 0.5)`` in ascending order (nearest rank).
    ``energy`` and ``hop`` are those of :func:`~analysis.metrics.k_weighting.subblock_energy`
    and :func:`~analysis.metrics.k_weighting.subblock_hop`; raises
    :class:`~analysis.errors.SilentAudioError` when no window passes the absolute gate.
    """
    power = window_power(energy, SHORT_TERM_SUBBLOCKS, hop)[::LRA_HOP_SUBBLOCKS]
    # Gates compare powers, not rounded LUFS: -70 LUFS is this mean square.
    kept = np.sort(power[power >= 10.0 ** ((ABSOLUTE_GATE - LOUDNESS_OFFSET) / 10.0)])
    if kept.size == 0:
        raise SilentAudioError(
            f"no 3 s window is above the {ABSOLUTE_GATE:g} LUFS absolute gate; "
            "loudness range is undefined"
        )
    kept = kept[kept >= float(np.mean(kept)) * 10.0 ** (LRA_RELATIVE_GATE / 10.0)]
    low, high = (kept[int((kept.size - 1) * p / 100.0 + 0.5)] for p in LRA_PERCENTILES)
    return float(10.0 * math.log10(high / low))


def loudness_range(x: Audio, rate: int) -> float:
    """Measure the loudness range (LRA) of EBU Tech 3342, in LU.

    Short-term loudness of 3 s windows every 1 s (the first ending 3 s into the
    programme; successive windows overlap by 2 s), gated at -70 LUFS absolute and
    -20 LU relative to the windows' mean power; LRA is the difference of the 95th
    and 10th percentiles, taken as the windows of rank ``floor((n - 1) p + 0.5)``.
    This is the computation of libebur128 (the EBU-compliant reference meter), so
    the two agree to rounding error; a 10 Hz hop with interpolated percentiles and
    1.5 s of appended silence (pyloudnorm) reads up to about 2 LU higher on 30 s
    excerpts with a fade, where those choices weigh most.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, at least 3 s long.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    float
        Loudness range in LU.

    Raises
    ------
    TooShortError
        If the audio is shorter than 3 s.
    SilentAudioError
        If no 3 s window is above -70 LUFS.

    References
    ----------
    .. [1] EBU Tech 3342 (2016), "Loudness range: a measure to supplement EBU R 128
       loudness normalization".
    .. [2] libebur128 1.2.6, ``ebur128_loudness_range`` (J. Kliemann), the
       reference the tests compare with (through pyebur128).

    Examples
    --------
    >>> t = np.arange(48000 * 40) / 48000
    >>> level = np.where(t < 20, 10 ** (-20 / 20), 10 ** (-30 / 20))
    >>> round(loudness_range(level * np.sin(2 * np.pi * 1000 * t), 48000))
    10
    """
    x, rate = as_audio(x), check_rate(rate)
    require_subblocks(x, rate, SHORT_TERM_SUBBLOCKS, "loudness range")
    return range_of_energy(subblock_energy(x, rate), subblock_hop(rate))
