"""Sample peak and true peak (ITU-R BS.1770-4 Annex 2).

True peak follows BS.1770-4 Annex 2 with the interpolator of
``scipy.signal.resample_poly(x, up, 1, window=("kaiser", 10.0))``, evaluated phase by
phase on overlapping chunks so that the oversampled signal is never held in memory.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, signal

from analysis.audio import Audio, as_audio, check_rate
from analysis.errors import InvalidInputError
from analysis.metrics.threads import pmap

__all__ = [
    "interpolation_gain",
    "sample_peak",
    "true_peak",
]


TRUE_PEAK_MIN_RATE = 176400
"""Oversample to at least this rate for true peak (4x at 44.1/48 kHz, 2x at 88.2/96 kHz)."""

_TP_FFT = 2048  # FFT size of the overlap-save true-peak interpolation
_TP_BATCH = 32  # chunks per batch (keeps the working set in cache)


def _prepare(x: npt.ArrayLike, rate: int) -> tuple[Audio, int]:
    return as_audio(x), check_rate(rate)


def peak_abs(x: npt.NDArray[np.float64]) -> float:
    return max(float(np.max(x)), -float(np.min(x)))


def to_db(value: float) -> float:
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
    return to_db(peak_abs(as_audio(x)))


def oversampling_factor(rate: int) -> int:
    """Return the true-peak oversampling factor at ``rate`` Hz: the smallest reaching 176.4 kHz.

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
    >>> round(interpolation_gain(48000), 3)
    2.019
    """
    up = oversampling_factor(rate) if oversampling is None else oversampling
    if up == 1:
        return 1.0
    return max(1.0, _interpolator(up)[2])


def true_peak_linear(x: Audio, rate: int, up: int | None = None) -> float:
    """Largest absolute value of the oversampled signal (linear), as resample_poly gives it.

    ``up`` is the oversampling factor (default: :func:`oversampling_factor`).

    Overlap-save FFT convolution of every phase, a batch of chunks at a time, so
    memory stays bounded; chunks whose input peak times the interpolator's gain
    cannot beat the sample peak are skipped (an exact bound, not an approximation).
    """
    up = oversampling_factor(rate) if up is None else up
    peak = peak_abs(x)
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

    best.extend(pmap(batch, range(0, n_chunks, _TP_BATCH)))
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
        Sample rate in Hz; the standard's oversampling factor follows from it
        (:func:`oversampling_factor`).
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
    return to_db(true_peak_linear(x, rate, oversampling))
