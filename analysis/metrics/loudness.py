"""Loudness, true peak and loudness range (ITU-R BS.1770-4, EBU Tech 3341/3342).

Everything is derived from one pass of K-weighting: the mean squares of 100 ms
sub-blocks are computed once per channel, and 4 of them make a 400 ms gating block
(momentary loudness, integrated loudness), 30 of them a 3 s window (short-term
loudness, loudness range). Only complete sub-blocks count, as in libebur128, so a
trailing partial 100 ms is ignored. Channel weights are 1.0 (mono and stereo only).
The loudness range takes its 3 s windows every second, with nearest-rank percentiles
and no appended silence, as libebur128 does (a 10 Hz hop with 1.5 s of appended
silence, as in pyloudnorm, moved LRA by up to 2 LU away from libebur128 on 30 s
excerpts; the tests hold it to libebur128 within 0.01 LU; docs/metrics.md, LRA).

True peak follows BS.1770-4 Annex 2 with the interpolator of
``scipy.signal.resample_poly(x, up, 1, window=("kaiser", 10.0))``, evaluated phase by
phase on overlapping chunks so that the oversampled signal is never held in memory.
See docs/metrics.md (Loudness, true peak, loudness range, PLR and PSR).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, signal

from analysis.audio import Audio, Signal, as_audio, check_rate
from analysis.errors import InvalidInputError, SilentAudioError, TooShortError

__all__ = [
    "BlockGate",
    "LoudnessStats",
    "gated_blocks",
    "integrated_loudness",
    "interpolation_gain",
    "k_weighting_filters",
    "loudness_range",
    "measure_loudness",
    "momentary_loudness",
    "sample_peak",
    "short_term_loudness",
    "true_peak",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_T = TypeVar("_T")
_R = TypeVar("_R")

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
TRUE_PEAK_MIN_RATE = 176400
"""Oversample to at least this rate for true peak (4x at 44.1/48 kHz, 2x at 88.2/96 kHz)."""

_TP_FFT = 2048  # FFT size of the overlap-save true-peak interpolation
_TP_BATCH = 32  # chunks per batch (keeps the working set in cache)


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _pmap(fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """Map ``fn`` over ``items`` on a few threads (the numeric kernels release the GIL)."""
    work = list(items)
    if len(work) <= 1 or _workers() == 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        return list(pool.map(fn, work))


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

    return np.asarray(np.sum(_pmap(channel, range(x.shape[1])), axis=0), dtype=np.float64)


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


def _peak_abs(x: npt.NDArray[np.float64]) -> float:
    return max(float(np.max(x)), -float(np.min(x)))


def _to_db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0.0 else float("-inf")


def sample_peak(x: Audio) -> float:
    """Return the sample peak in dBFS (``-inf`` for digital silence).

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio.

    Returns
    -------
    float
        ``20 log10 max |x|`` over samples and channels.

    References
    ----------
    .. [1] docs/metrics.md (Loudness, true peak, loudness range, PLR and PSR).

    Examples
    --------
    >>> sample_peak(np.array([0.0, -0.5, 0.25]))
    -6.020599913279624
    """
    return _to_db(_peak_abs(as_audio(x)))


def oversampling_factor(rate: int) -> int:
    """Return the true-peak oversampling factor: the smallest reaching 176.4 kHz.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.

    Returns
    -------
    int
        4 at 44.1 and 48 kHz, 2 at 88.2 and 96 kHz, 1 at 176.4 kHz and above.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 2 (oversample to about 192 kHz).
    """
    return max(1, math.ceil(TRUE_PEAK_MIN_RATE / check_rate(rate)))


@lru_cache(maxsize=8)
def _interpolator(up: int) -> tuple[npt.NDArray[np.complex128], float, float, int, int]:
    """Polyphase form of resample_poly's ``(up, 1)`` Kaiser (beta 10) low-pass.

    Output sample ``up*q + p`` of ``resample_poly`` is ``sum_r h[half + p + up*r] x[q - r]``
    with ``h`` its ``20*up + 1``-tap filter. Phase 0 is the input scaled by the centre
    tap (the windowed sinc is zero at the other multiples of ``up``). Returns the
    spectra (FFT size ``_TP_FFT``) of the taps of phases 1..up-1, ``g_p[rmin + k]``;
    the centre tap; the largest L1 norm of a phase (no output exceeds it times the
    local input peak); and the tap range ``rmin..rmax``.
    """
    half = 10 * up
    h = signal.firwin(2 * half + 1, 1.0 / up, window=("kaiser", 10.0)) * up
    rmin = -((half + up - 1) // up)
    rmax = half // up
    r = np.arange(rmin, rmax + 1)
    idx = half + np.arange(1, up)[:, np.newaxis] + up * r
    inside = (idx >= 0) & (idx <= 2 * half)
    taps = np.where(inside, h[np.clip(idx, 0, 2 * half)], 0.0)
    spectra = np.asarray(fft.rfft(taps, n=_TP_FFT, axis=-1), dtype=np.complex128)
    spectra.setflags(write=False)
    gain = float(np.abs(taps).sum(axis=1).max())
    return spectra, float(h[half]), gain, rmin, rmax


def interpolation_gain(rate: int, oversampling: int | None = None) -> float:
    """Return the most the true-peak interpolator can amplify a sample-wise difference.

    The largest L1 norm of a polyphase branch of the interpolator of :func:`true_peak`:
    two signals whose samples differ by at most ``d`` have true peaks (linear) that
    differ by at most ``d`` times this gain (the interpolator is linear).

    Parameters
    ----------
    rate : int
        Sample rate in Hz.
    oversampling : int, optional
        Oversampling factor (default: :func:`oversampling_factor`).

    Returns
    -------
    float
        The gain, at least 1.

    Examples
    --------
    >>> 1.0 <= interpolation_gain(48000) < 2.0
    True
    """
    up = oversampling_factor(rate) if oversampling is None else oversampling
    if up == 1:
        return 1.0
    return max(1.0, _interpolator(up)[2])


def _true_peak_linear(x: Audio, rate: int, up: int | None = None) -> float:
    """Largest absolute value of the oversampled signal (linear), as resample_poly gives it.

    ``up`` is the oversampling factor (default: :func:`oversampling_factor`).

    Overlap-save FFT convolution of every phase, a batch of chunks at a time, so
    memory stays bounded; chunks whose input peak times the interpolator's gain
    cannot beat the sample peak are skipped (an exact bound, not an approximation).
    """
    up = oversampling_factor(rate) if up is None else up
    peak = _peak_abs(x)
    if up == 1 or peak == 0.0:
        return peak
    spectra, centre, gain, rmin, rmax = _interpolator(up)
    taps = rmax - rmin + 1
    step = _TP_FFT - taps + 1  # valid outputs per chunk
    n = x.shape[0]
    floor = centre * peak  # phase 0 already reaches this
    n_chunks = -(-n // step)
    best = [floor]

    def batch(first: int) -> float:
        last = min(first + _TP_BATCH, n_chunks)
        # Chunk c reads x[c*step - rmax : c*step - rmax + _TP_FFT], zero outside the signal.
        lo = first * step - rmax
        hi = (last - 1) * step - rmax + _TP_FFT
        buf = x[max(lo, 0) : min(hi, n)]
        if lo < 0 or hi > n:
            buf = np.pad(buf, ((max(0, -lo), max(0, hi - n)), (0, 0)))
        result = 0.0
        for c in range(x.shape[1]):
            frames = sliding_window_view(buf[:, c], _TP_FFT)[::step]
            bound = gain * np.maximum(frames.max(axis=1), -frames.min(axis=1))
            keep = np.flatnonzero(bound > floor)
            if keep.size == 0:
                continue
            spec = fft.rfft(frames[keep], axis=-1)
            # Outputs past the end of the signal (q >= n) are not part of resample_poly's;
            # only the final chunk has any. Zeroing them cannot change a maximum of |y|.
            tail = n - (first + int(keep[-1])) * step
            for h in spectra:
                y = fft.irfft(spec * h, n=_TP_FFT, axis=-1)[:, taps - 1 :]
                if tail < step:
                    y[-1, tail:] = 0.0
                result = max(result, float(y.max()), -float(y.min()))
        return result

    best.extend(_pmap(batch, range(0, n_chunks, _TP_BATCH)))
    return max(best)


def true_peak(x: Audio, rate: int, *, oversampling: int | None = None) -> float:
    """Measure the true peak of BS.1770-4 Annex 2, in dBTP.

    The signal is oversampled to at least 176.4 kHz (4x at 44.1/48 kHz, 2x at
    88.2/96 kHz, none at 176.4 kHz and above) with the interpolator of
    ``scipy.signal.resample_poly(x, up, 1, axis=0, window=("kaiser", 10.0))`` (a
    ``20 * up + 1``-tap windowed sinc) and the largest absolute value over time and
    channels is converted to dB. The result equals that of ``resample_poly`` to
    rounding error, without holding the oversampled signal in memory, and chunks that
    cannot hold the peak are skipped.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio.
    rate : int
        Sample rate in Hz.
    oversampling : int, optional
        Oversampling factor instead of the standard's (e.g. 32: the interpolated
        signal is then within a few thousandths of a dB of the continuous-time peak
        wherever the interpolator's pass band reaches, where 4x can read 0.15 dB low
        on bright material).

    Returns
    -------
    float
        True peak in dBTP (``-inf`` for digital silence).

    Raises
    ------
    InvalidInputError
        If ``oversampling`` is not a positive whole number.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 2, "Guidelines for accurate measurement of
       'true-peak' level".
    .. [2] EBU Tech 3341 (2016), test signals 15-19 (tolerance +0.2/-0.4 dB).

    Examples
    --------
    >>> n = np.arange(48000)
    >>> x = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)  # fs/4, samples at -9 dBFS
    >>> round(sample_peak(x), 1), round(true_peak(x, 48000))
    (-9.0, -6)
    """
    x, rate = _prepare(x, rate)
    if oversampling is not None and (
        isinstance(oversampling, bool) or not isinstance(oversampling, int) or oversampling < 1
    ):
        raise InvalidInputError(f"oversampling={oversampling!r} must be a positive integer")
    return _to_db(_true_peak_linear(x, rate, oversampling))


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
    tp = _to_db(_true_peak_linear(x, rate))
    mask = _gate(block_power)
    mask.setflags(write=False)
    gate = BlockGate(mask=mask, block=MOMENTARY_SUBBLOCKS * hop, hop=hop)
    stats = LoudnessStats(
        integrated=integrated,
        true_peak=tp,
        sample_peak=_to_db(_peak_abs(x)),
        loudness_range=lra,
        max_momentary=max_momentary,
        max_short_term=max_short_term,
        plr=tp - integrated,
        psr=tp - max_short_term,
    )
    return stats, gate
