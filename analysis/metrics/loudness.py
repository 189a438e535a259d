"""Loudness of ITU-R BS.1770-4 and EBU Tech 3341, with PLR and PSR, from one K-weighting pass.

Integrated loudness gates the 400 ms blocks; momentary (400 ms) and short-term (3 s)
loudness are the ungated windows, one every 100 ms. :func:`measure_loudness` reports
all of them with the loudness range (:mod:`analysis.metrics.loudness_range`) and the
true peak (:mod:`analysis.metrics.true_peak`) from the 100 ms sub-block energies of
:mod:`analysis.metrics.k_weighting`, computed once. See docs/metrics.md (Loudness,
true peak, loudness range, PLR and PSR).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from analysis.audio import Audio, Signal, as_audio, check_rate
from analysis.errors import SilentAudioError
from analysis.metrics.k_weighting import (
    MOMENTARY_SUBBLOCKS,
    SHORT_TERM_SUBBLOCKS,
    BlockGate,
    block_gate,
    gated_loudness,
    lufs,
    require_subblocks,
    subblock_energy,
    subblock_hop,
    window_power,
)
from analysis.metrics.loudness_range import range_of_energy
from analysis.metrics.true_peak import peak_abs, to_db, true_peak_linear

__all__ = [
    "LoudnessStats",
    "integrated_loudness",
    "measure_loudness",
    "measure_loudness_and_gate",
    "momentary_loudness",
    "short_term_loudness",
    "windowed_loudness",
]


# --------------------------------------------------------------------------- loudness


def integrated_loudness(x: Audio, rate: int) -> float:
    """Measure the gated integrated loudness of ITU-R BS.1770-4, in LUFS.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio (channel weights 1.0).
    rate : int
        Sample rate in Hz.

    Returns
    -------
    float
        Integrated loudness in LUFS (= LKFS).

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block.
    SilentAudioError
        If no 400 ms block is above -70 LUFS.

    References
    ----------
    .. [1] ITU-R BS.1770-4 (2015), "Algorithms to measure audio programme loudness
       and true-peak audio level", Annex 1.

    Examples
    --------
    >>> t = np.arange(48000 * 2) / 48000
    >>> sine = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> round(integrated_loudness(np.stack([sine, sine], axis=1), 48000), 1)
    -23.0
    """
    x, rate = as_audio(x), check_rate(rate)
    require_subblocks(x, rate, MOMENTARY_SUBBLOCKS, "integrated loudness")
    energy = subblock_energy(x, rate)
    return gated_loudness(window_power(energy, MOMENTARY_SUBBLOCKS, subblock_hop(rate)))


def windowed_loudness(
    x: Audio, rate: int, subblocks: int, *, metric: str = "windowed loudness"
) -> Signal:
    """Measure ungated loudness of windows of ``subblocks`` x 100 ms, one every 100 ms, in LUFS.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, at least one window long.
    rate : int
        Sample rate in Hz.
    subblocks : int
        Window length in 100 ms sub-blocks (4: momentary, 30: short-term).
    metric : str, optional
        The measure's name, for the error message.

    Returns
    -------
    numpy.ndarray
        One value per complete window (window ``k`` ends at ``(k + subblocks) * 100 ms``);
        ``-inf`` where the window is digital silence.

    Raises
    ------
    TooShortError
        If the audio is shorter than one window.

    References
    ----------
    .. [1] EBU Tech 3341 (2016), "Loudness metering: 'EBU mode' metering", §2.
    """
    x, rate = as_audio(x), check_rate(rate)
    require_subblocks(x, rate, subblocks, metric)
    return lufs(window_power(subblock_energy(x, rate), subblocks, subblock_hop(rate)))


def momentary_loudness(x: Audio, rate: int) -> Signal:
    """Measure EBU Tech 3341 momentary loudness: :func:`windowed_loudness` of 400 ms."""
    return windowed_loudness(x, rate, MOMENTARY_SUBBLOCKS, metric="momentary loudness")


def short_term_loudness(x: Audio, rate: int) -> Signal:
    """Measure EBU Tech 3341 short-term loudness: :func:`windowed_loudness` of 3 s."""
    return windowed_loudness(x, rate, SHORT_TERM_SUBBLOCKS, metric="short-term loudness")


# --------------------------------------------------------------------------- all at once


@dataclass(frozen=True)
class LoudnessStats:
    """Loudness statistics of one programme.

    Attributes
    ----------
    integrated : float
        BS.1770-4 integrated loudness, LUFS.
    true_peak : float
        BS.1770-4 true peak, dBTP.
    sample_peak : float
        Sample peak, dBFS.
    loudness_range : float
        EBU Tech 3342 loudness range, LU (NaN for audio shorter than 3 s or when no
        3 s window passes the absolute gate).
    max_momentary : float
        Largest momentary (400 ms) loudness, LUFS.
    max_short_term : float
        Largest short-term (3 s) loudness, LUFS (NaN for audio shorter than 3 s).
    plr : float
        Peak-to-loudness ratio ``true_peak - integrated``, dB.
    psr : float
        Peak-to-short-term-loudness ratio ``true_peak - max_short_term``, dB.
    """

    integrated: float
    true_peak: float
    sample_peak: float
    loudness_range: float
    max_momentary: float
    max_short_term: float
    plr: float
    psr: float

    def as_dict(self) -> dict[str, float]:
        """Return the statistics as a flat ``{name: value}`` dict.

        Returns
        -------
        dict of str to float
            Keys are the attribute names.
        """
        return asdict(self)


def measure_loudness(x: Audio, rate: int) -> LoudnessStats:
    """Measure integrated loudness, true peak, LRA, PLR and PSR in one pass.

    The audio is K-weighted once; 100 ms sub-block energies are shared by the
    momentary, short-term, integrated and loudness-range computations.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, at least 400 ms long (the statistics of
        short-term loudness need 3 s).
    rate : int
        Sample rate in Hz.

    Returns
    -------
    LoudnessStats
        All statistics. The short-term based ones (``loudness_range``,
        ``max_short_term``, ``psr``) are NaN when the audio is shorter than 3 s.

    Raises
    ------
    TooShortError, SilentAudioError
        As :func:`integrated_loudness`: the audio is shorter than one 400 ms block,
        or no block is above -70 LUFS.

    References
    ----------
    .. [1] ITU-R BS.1770-4 (integrated loudness, true peak).
    .. [2] EBU Tech 3341 (momentary, short-term) and Tech 3342 (loudness range).
    .. [3] AES TD1004 / Ian Shepherd (PLR); docs/metrics.md (PLR and PSR) (PSR).

    Examples
    --------
    >>> t = np.arange(48000 * 5) / 48000
    >>> sine = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> stats = measure_loudness(np.stack([sine, sine], axis=1), 48000)
    >>> round(stats.integrated, 1), round(stats.sample_peak, 1)
    (-23.0, -23.0)
    """
    return measure_loudness_and_gate(x, rate)[0]


def measure_loudness_and_gate(x: Audio, rate: int) -> tuple[LoudnessStats, BlockGate]:
    """Measure :func:`measure_loudness` and the gated 400 ms blocks from one K-weighting pass.

    Takes the arguments and raises the errors of :func:`measure_loudness`; the blocks
    are those of :func:`analysis.metrics.k_weighting.gated_blocks` (for the gated LTAS
    of :func:`analysis.metrics.spectral.measure_spectrum`).

    Returns
    -------
    tuple of LoudnessStats and BlockGate
        The statistics and the gated blocks.
    """
    x, rate = as_audio(x), check_rate(rate)
    require_subblocks(x, rate, MOMENTARY_SUBBLOCKS, "integrated loudness")
    hop = subblock_hop(rate)
    energy = subblock_energy(x, rate)  # complete sub-blocks of the programme

    block_power = window_power(energy, MOMENTARY_SUBBLOCKS, hop)
    integrated = gated_loudness(block_power)
    max_momentary = float(np.max(lufs(block_power)))
    nan = float("nan")
    lra = max_short_term = nan
    if energy.shape[0] >= SHORT_TERM_SUBBLOCKS:
        max_short_term = float(np.max(lufs(window_power(energy, SHORT_TERM_SUBBLOCKS, hop))))
        try:
            lra = range_of_energy(energy, hop)
        except SilentAudioError:
            lra = nan
    tp = to_db(true_peak_linear(x, rate))
    gate = block_gate(block_power, hop)
    stats = LoudnessStats(
        integrated=integrated,
        true_peak=tp,
        sample_peak=to_db(peak_abs(x)),
        loudness_range=lra,
        max_momentary=max_momentary,
        max_short_term=max_short_term,
        plr=tp - integrated,
        psr=tp - max_short_term,
    )
    return stats, gate
