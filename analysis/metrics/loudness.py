"""Loudness and loudness range (ITU-R BS.1770-4, EBU Tech 3341/3342), with PLR and PSR.

Everything is derived from one pass of K-weighting: the mean squares of 100 ms
sub-blocks are computed once per channel, and 4 of them make a 400 ms gating block
(momentary loudness, integrated loudness), 30 of them a 3 s window (short-term
loudness, loudness range). Only complete sub-blocks count, as in libebur128, so a
trailing partial 100 ms is ignored. Channel weights are 1.0 (mono and stereo only).
The loudness range takes its 3 s windows every second, with nearest-rank percentiles
and no appended silence, as libebur128 does (a 10 Hz hop with 1.5 s of appended
silence, as in pyloudnorm, moved LRA by up to 2 LU away from libebur128 on 30 s
excerpts; the tests hold it to libebur128 within 0.01 LU; docs/metrics.md, LRA).

True peak is in :mod:`analysis.metrics.true_peak`; :func:`measure_loudness` reports it
with the loudness. See docs/metrics.md (Loudness, true peak, loudness range, PLR and PSR).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from analysis.audio import Audio, Signal, as_audio, check_rate
from analysis.errors import SilentAudioError, TooShortError
from analysis.metrics.threads import pmap
from analysis.metrics.true_peak import peak_abs, to_db, true_peak_linear

__all__ = [
    "BlockGate",
    "LoudnessStats",
    "gated_blocks",
    "integrated_loudness",
    "k_weighting_filters",
    "loudness_range",
    "measure_loudness",
    "momentary_loudness",
    "short_term_loudness",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LOUDNESS_OFFSET = -0.691
"""Constant of BS.1770 eq. 2: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LKFS."""
ABSOLUTE_GATE = -70.0
"""Absolute gate in LUFS (BS.1770-4 §2.8; EBU Tech 3342)."""
RELATIVE_GATE = -10.0
"""Relative gate of integrated loudness, in LU (BS.1770-4)."""
LRA_RELATIVE_GATE = -20.0
"""Relative gate of the loudness range, in LU (EBU Tech 3342)."""
LRA_PERCENTILES = (10.0, 95.0)
"""Low and high percentiles of the loudness range (EBU Tech 3342)."""
LRA_HOP_SUBBLOCKS = 10
"""Hop of the loudness-range short-term windows in 100 ms sub-blocks: 1 s, so successive
3 s windows overlap by 2 s (EBU Tech 3342's minimum overlap, and libebur128's hop)."""
MOMENTARY_SUBBLOCKS = 4
"""400 ms gating block / momentary window, in 100 ms sub-blocks."""
SHORT_TERM_SUBBLOCKS = 30
"""3 s short-term window, in 100 ms sub-blocks."""


# --------------------------------------------------------------------------- K-weighting


def k_weighting_filters(
    rate: int,
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Return the two K-weighting biquads ``((b1, a1), (b2, a2))`` for a sample rate.

    Stage 1 is the high-shelf pre-filter (the acoustic effect of the head), stage 2
    the RLB high-pass. The coefficients come from the analogue prototypes through
    the bilinear transform, as in libebur128, and reproduce the 48 kHz table of
    BS.1770-4 to rounding error.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.

    Returns
    -------
    tuple
        ``((b1, a1), (b2, a2))``, each a length-3 float64 array with ``a[0] == 1``.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1, Tables 1 and 2.
    .. [2] libebur128, ``ebur128/ebur128.c``, filter initialisation (J. Kliemann).

    Examples
    --------
    >>> (b1, a1), (b2, a2) = k_weighting_filters(48000)
    >>> round(float(a2[1]), 8)
    -1.99004745
    """
    rate = check_rate(rate)
    # Stage 1: high shelf.
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b1 = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a1 = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    # Stage 2: RLB high-pass; b = [1, -2, 1] stays unnormalised, as in the standard.
    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    b2 = np.array([1.0, -2.0, 1.0])
    a2 = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return (b1, a1), (b2, a2)


@lru_cache(maxsize=16)
def _k_sos(rate: int) -> FloatArray:
    (b1, a1), (b2, a2) = k_weighting_filters(rate)
    return np.array([np.concatenate([b1, a1]), np.concatenate([b2, a2])])


def _hop(rate: int) -> int:
    """Return the samples in 100 ms, rounded as libebur128 does."""
    return (rate + 5) // 10


def _subblock_energy(x: Audio, rate: int) -> FloatArray:
    """Sum over channels of the K-weighted energy of every complete 100 ms sub-block."""
    sos = _k_sos(rate)
    hop = _hop(rate)

    def channel(c: int) -> FloatArray:
        y = signal.sosfilt(sos, x[:, c])
        v = y[: y.shape[0] // hop * hop].reshape(-1, hop)
        return np.asarray(np.einsum("ij,ij->i", v, v), dtype=np.float64)

    return np.asarray(np.sum(pmap(channel, range(x.shape[1])), axis=0), dtype=np.float64)


def _window_power(energy: FloatArray, n: int, hop: int) -> FloatArray:
    """Mean square (summed over channels) of windows of ``n`` sub-blocks, one per sub-block."""
    if energy.shape[0] < n:
        return np.zeros(0)
    return np.asarray(sliding_window_view(energy, n).sum(axis=-1) / (n * hop), dtype=np.float64)


def _lufs(power: npt.ArrayLike) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.asarray(LOUDNESS_OFFSET + 10.0 * np.log10(power), dtype=np.float64)


def _gate(power: FloatArray) -> BoolArray:
    """BS.1770-4 gating of 400 ms block powers: absolute then relative gate."""
    loudness = _lufs(power)
    absolute = loudness > ABSOLUTE_GATE
    if not np.any(absolute):
        loudest = float(np.max(loudness)) if loudness.size else float("-inf")
        raise SilentAudioError(
            f"no 400 ms block is above the {ABSOLUTE_GATE:g} LUFS absolute gate "
            f"(loudest block {loudest:.1f} LUFS); integrated loudness is undefined"
        )
    relative = float(_lufs(np.mean(power[absolute]))) + RELATIVE_GATE
    return np.asarray(absolute & (loudness > relative), dtype=np.bool_)


def _integrated(block_power: FloatArray) -> float:
    return float(_lufs(np.mean(block_power[_gate(block_power)])))


def _loudness_range(energy: FloatArray, hop: int) -> float:
    """EBU Tech 3342 from 100 ms sub-block energies, as libebur128 computes it.

    3 s windows every second (the first ending 3 s in, no silence appended); windows
    at or above -70 LUFS pass the absolute gate; those at or above the mean power of
    the passing windows minus 20 LU pass the relative gate; P10 and P95 are the
    windows of rank ``floor((n - 1) p + 0.5)`` in ascending order (nearest rank).
    """
    power = _window_power(energy, SHORT_TERM_SUBBLOCKS, hop)[::LRA_HOP_SUBBLOCKS]
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


def _check_length(x: Audio, rate: int, subblocks: int, metric: str) -> None:
    need = subblocks * _hop(rate)
    if x.shape[0] < need:
        raise TooShortError(metric, x.shape[0] / rate, need / rate)


def _prepare(x: npt.ArrayLike, rate: int) -> tuple[Audio, int]:
    return as_audio(x), check_rate(rate)


# --------------------------------------------------------------------------- gating


@dataclass(frozen=True, eq=False)
class BlockGate:
    """Which 400 ms blocks pass both BS.1770 gates.

    Block ``j`` covers samples ``[j * hop, j * hop + block)``.

    Attributes
    ----------
    mask : numpy.ndarray
        Boolean, one entry per complete 400 ms block (a new block every 100 ms).
    block : int
        Block length in samples (400 ms).
    hop : int
        Block hop in samples (100 ms).
    """

    mask: BoolArray
    block: int
    hop: int

    def covers(self, positions: npt.ArrayLike) -> BoolArray:
        """Tell, for each sample position, whether it lies in at least one passing block.

        Parameters
        ----------
        positions : array_like of int
            Sample indices.

        Returns
        -------
        numpy.ndarray
            Boolean array of the same shape as ``positions``.
        """
        pos = np.asarray(positions, dtype=np.int64)
        count = np.concatenate([[0], np.cumsum(self.mask, dtype=np.int64)])
        n = self.mask.shape[0]
        # Blocks containing position s: j with j*hop <= s < j*hop + block.
        first = np.clip(-((self.block - 1 - pos) // self.hop), 0, n)  # ceil((s-block+1)/hop)
        last = np.clip(pos // self.hop + 1, 0, n)  # exclusive
        return np.asarray((count[last] - count[first]) > 0, dtype=np.bool_)


def gated_blocks(x: Audio, rate: int) -> BlockGate:
    """Return the 400 ms blocks that pass the BS.1770 absolute and relative gates.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, mono or stereo.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    BlockGate
        The pass mask with the block length and hop in samples.

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block.
    SilentAudioError
        If no block passes the absolute gate.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1, eqs. 3-7.

    Examples
    --------
    >>> t = np.arange(48000) / 48000
    >>> gate = gated_blocks(0.1 * np.sin(2 * np.pi * 1000 * t), 48000)
    >>> gate.mask.shape, gate.block, gate.hop
    ((7,), 19200, 4800)
    """
    x, rate = _prepare(x, rate)
    _check_length(x, rate, MOMENTARY_SUBBLOCKS, "gated loudness blocks")
    hop = _hop(rate)
    power = _window_power(_subblock_energy(x, rate), MOMENTARY_SUBBLOCKS, hop)
    mask = _gate(power)
    mask.setflags(write=False)
    return BlockGate(mask=mask, block=MOMENTARY_SUBBLOCKS * hop, hop=hop)


# --------------------------------------------------------------------------- loudness


def integrated_loudness(x: Audio, rate: int) -> float:
    """Measure the gated integrated loudness of ITU-R BS.1770-4, in LUFS.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, mono or stereo (channel weights 1.0).
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
    x, rate = _prepare(x, rate)
    _check_length(x, rate, MOMENTARY_SUBBLOCKS, "integrated loudness")
    energy = _subblock_energy(x, rate)
    return _integrated(_window_power(energy, MOMENTARY_SUBBLOCKS, _hop(rate)))


def momentary_loudness(x: Audio, rate: int) -> Signal:
    """Measure momentary loudness: ungated 400 ms windows every 100 ms, in LUFS.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, mono or stereo.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        One value per complete window (window ``k`` ends at ``(k + 4) * 100 ms``);
        ``-inf`` where the window is digital silence.

    Raises
    ------
    TooShortError
        If the audio is shorter than 400 ms.

    References
    ----------
    .. [1] EBU Tech 3341 (2016), "Loudness metering: 'EBU mode' metering", §2.
    """
    x, rate = _prepare(x, rate)
    _check_length(x, rate, MOMENTARY_SUBBLOCKS, "momentary loudness")
    energy = _subblock_energy(x, rate)
    return _lufs(_window_power(energy, MOMENTARY_SUBBLOCKS, _hop(rate)))


def short_term_loudness(x: Audio, rate: int) -> Signal:
    """Measure short-term loudness: ungated 3 s windows every 100 ms, in LUFS.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, mono or stereo.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray
        One value per complete window (window ``k`` ends at ``(k + 30) * 100 ms``);
        ``-inf`` where the window is digital silence.

    Raises
    ------
    TooShortError
        If the audio is shorter than 3 s.

    References
    ----------
    .. [1] EBU Tech 3341 (2016), "Loudness metering: 'EBU mode' metering", §2.
    """
    x, rate = _prepare(x, rate)
    _check_length(x, rate, SHORT_TERM_SUBBLOCKS, "short-term loudness")
    energy = _subblock_energy(x, rate)
    return _lufs(_window_power(energy, SHORT_TERM_SUBBLOCKS, _hop(rate)))


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
        ``(samples, channels)`` audio, mono or stereo.
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
    x, rate = _prepare(x, rate)
    _check_length(x, rate, SHORT_TERM_SUBBLOCKS, "loudness range")
    return _loudness_range(_subblock_energy(x, rate), _hop(rate))


# --------------------------------------------------------------------------- peaks


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
        ``(samples, channels)`` audio, mono or stereo.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    LoudnessStats
        All statistics. The short-term based ones (``loudness_range``,
        ``max_short_term``, ``psr``) are NaN when the audio is shorter than 3 s.

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block.
    SilentAudioError
        If no 400 ms block is above -70 LUFS.

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
    """Measure :func:`measure_loudness` and :func:`gated_blocks` from one K-weighting pass.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, mono or stereo.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    tuple of LoudnessStats and BlockGate
        The statistics, and the gated 400 ms blocks (for the gated LTAS of
        :func:`analysis.metrics.spectral.measure_spectrum`).

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block.
    SilentAudioError
        If no 400 ms block is above -70 LUFS.

    References
    ----------
    .. [1] ITU-R BS.1770-4; EBU Tech 3341 and 3342.
    """
    x, rate = _prepare(x, rate)
    _check_length(x, rate, MOMENTARY_SUBBLOCKS, "integrated loudness")
    hop = _hop(rate)
    energy = _subblock_energy(x, rate)  # complete sub-blocks of the programme

    block_power = _window_power(energy, MOMENTARY_SUBBLOCKS, hop)
    integrated = _integrated(block_power)
    max_momentary = float(np.max(_lufs(block_power)))
    nan = float("nan")
    lra = max_short_term = nan
    if energy.shape[0] >= SHORT_TERM_SUBBLOCKS:
        max_short_term = float(np.max(_lufs(_window_power(energy, SHORT_TERM_SUBBLOCKS, hop))))
        try:
            lra = _loudness_range(energy, hop)
        except SilentAudioError:
            lra = nan
    tp = to_db(true_peak_linear(x, rate))
    mask = _gate(block_power)
    mask.setflags(write=False)
    gate = BlockGate(mask=mask, block=MOMENTARY_SUBBLOCKS * hop, hop=hop)
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
