"""Spectral balance: gated LTAS, third-octave levels, WSC, centroid, tilt.

The long-term average spectrum (LTAS) is a Welch PSD of the mid channel averaged
only over the 400 ms blocks that pass the BS.1770 gates, so silence and fades do not
bias it. Third-octave band powers integrate the PSD over the IEC 61260 base-2 band
edges ``fc * 2**(+-1/6)``, ``fc = 1000 * 2**(m/3)``, counting each FFT bin by the
share of its width inside the band. The bass excitation ratio and the tonal-balance
deviation built on these spectra are in :mod:`analysis.metrics.tonal_balance`. See
docs/metrics.md (Spectral balance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, signal

from analysis.audio import Audio, FloatArray, as_audio, check_rate
from analysis.errors import InvalidInputError, SilentAudioError, TooShortError
from analysis.metrics.k_weighting import BlockGate, gated_blocks

__all__ = [
    "Spectrum",
    "band_centres",
    "ltas_nperseg",
    "measure_spectrum",
]


BAND_RANGE = (-16, 12)
"""Band indices ``m`` of the third-octave bands kept: nominal 25 Hz to 16 kHz."""
TILT_RANGE = (-13, 10)
"""Band indices of the tilt fit: nominal 50 Hz to 10 kHz."""
CENTROID_RANGE = (20.0, 20000.0)
TOTAL_RANGE = (20.0, 16000.0)
LOW_BAND_EDGES = (150.0, 250.0)
LEVEL_FLOOR = 1e-20
"""Band powers are floored at this fraction of the loudest band (-200 dB) so levels stay finite."""


def ltas_nperseg(rate: int) -> int:
    """Return the Welch segment length at ``rate`` Hz: 8192 at 44.1/48 kHz, scaled in powers of 2.

    That is ``2 ** round(log2(8192 / 44100 * rate))``.
    """
    return int(2 ** round(math.log2(8192 / 44100 * check_rate(rate))))


def band_indices(centres: FloatArray) -> npt.NDArray[np.int64]:
    """Return the third-octave band index ``m`` of each centre (``fc = 1000 * 2**(m/3)``)."""
    return np.asarray(np.round(3.0 * np.log2(centres / 1000.0)), dtype=np.int64)


def band_centres(rate: int) -> FloatArray:
    """Return the exact third-octave centres ``1000 * 2**(m/3)`` from 25 Hz to 16 kHz.

    Parameters
    ----------
    rate : int
        Sample rate in Hz: bands whose upper edge ``fc * 2**(1/6)`` lies above its
        Nyquist frequency are dropped.

    Returns
    -------
    numpy.ndarray
        Centre frequencies in Hz, ascending.

    References
    ----------
    .. [1] IEC 61260-1:2014, base-2 fractional-octave bands.
    """
    m = np.arange(BAND_RANGE[0], BAND_RANGE[1] + 1)
    centres = 1000.0 * 2.0 ** (m / 3.0)
    return np.asarray(centres[centres * 2.0 ** (1 / 6) <= check_rate(rate) / 2.0])


def _band_power(freqs: FloatArray, psd: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Integrate a PSD over ``[lo, hi)`` bands; each bin spans ``f +- df/2``, counted pro rata."""
    df = freqs[1] - freqs[0]
    left = np.maximum(freqs - df / 2.0, 0.0)
    right = freqs + df / 2.0
    overlap = np.minimum(hi[:, np.newaxis], right) - np.maximum(lo[:, np.newaxis], left)
    return np.asarray(np.clip(overlap, 0.0, None) @ psd, dtype=np.float64)


def _gated_psd(m: FloatArray, rate: int, gate: BlockGate) -> tuple[FloatArray, FloatArray]:
    """Welch PSD (Hann, 50 % overlap, constant detrend, density) over gated segments only.

    A segment counts when its centre lies in a block that passes both gates. With every
    segment kept this equals ``scipy.signal.welch(m, rate, nperseg=ltas_nperseg(rate))``.
    """
    nperseg = ltas_nperseg(rate)
    if m.shape[0] < nperseg:
        raise TooShortError("LTAS", m.shape[0] / rate, nperseg / rate)
    step = nperseg // 2
    frames = sliding_window_view(m, nperseg)[::step]
    keep = np.flatnonzero(gate.covers(np.arange(frames.shape[0]) * step + nperseg // 2))
    if keep.size == 0:
        raise SilentAudioError("no Welch segment lies in a block that passes the loudness gates")
    window = signal.get_window("hann", nperseg)
    total = np.zeros(nperseg // 2 + 1)
    for start in range(0, keep.size, 128):  # bounded memory
        seg = frames[keep[start : start + 128]]
        seg = (seg - seg.mean(axis=1, keepdims=True)) * window
        spec = fft.rfft(seg, axis=-1)
        total += np.sum(spec.real**2 + spec.imag**2, axis=0)
    psd = total / keep.size / (rate * float(np.sum(window**2)))
    psd[1:-1] *= 2.0  # one-sided; nperseg is even, so the last bin is Nyquist
    freqs = np.arange(psd.shape[0], dtype=np.float64) * (rate / nperseg)
    return freqs, psd


def readonly(a: FloatArray) -> FloatArray:
    """Return a read-only float64 copy of ``a``."""
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Gated long-term spectrum of a programme's mid channel and its summary figures.

    Attributes
    ----------
    band_centres : numpy.ndarray
        Exact third-octave centre frequencies, Hz (25 Hz to 16 kHz, below Nyquist).
    band_levels : numpy.ndarray
        Band power levels, dB re full scale squared.
    centroid_hz : float
        Power-weighted linear spectral centroid over 20 Hz to min(20 kHz, fs/2), Hz.
    wsc : float
        Normalised log-frequency centroid of the band powers, 0 (20 Hz) to 1 (20 kHz).
    tilt : float
        Least-squares slope of band level against log2 frequency, 50 Hz to 10 kHz, dB/octave.
    low_share_150 : float
        Share of the 20 Hz to 16 kHz power that lies in 20-150 Hz.
    low_share_250 : float
        Share of the 20 Hz to 16 kHz power that lies in 20-250 Hz.
    frequencies : numpy.ndarray
        Frequencies of the LTAS bins, Hz.
    psd : numpy.ndarray
        The gated LTAS, power spectral density (full scale squared per Hz).
    """

    band_centres: FloatArray
    band_levels: FloatArray
    centroid_hz: float
    wsc: float
    tilt: float
    low_share_150: float
    low_share_250: float
    frequencies: FloatArray
    psd: FloatArray


def measure_spectrum(x: Audio, rate: int, *, gate: BlockGate | None = None) -> Spectrum:
    """Measure the gated LTAS of the mid channel and its WSC, centroid, tilt and bass share.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio; the mid channel ``(L + R) / 2`` is analysed.
    rate : int
        Sample rate in Hz.
    gate : BlockGate, optional
        The BS.1770 gate of ``x`` if already computed
        (:func:`analysis.metrics.k_weighting.gated_blocks`).

    Returns
    -------
    Spectrum
        LTAS, third-octave levels and summary figures.

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block or one Welch segment.
    SilentAudioError
        If no block passes the absolute gate, or the mid channel is silent.
    InvalidInputError
        If ``gate`` does not belong to audio of this length.

    References
    ----------
    .. [1] ITU-R BS.1770-4 (gating); Welch (1967), IEEE Trans. Audio Electroacoust. 15(2).
    .. [2] IEC 61260-1:2014 (band edges); docs/metrics.md, 6.5.

    Examples
    --------
    >>> t = np.arange(10 * 44100) / 44100
    >>> s = measure_spectrum(0.5 * np.sin(2 * np.pi * 1000 * t), 44100)
    >>> round(s.centroid_hz), round(s.wsc, 3)
    (1000, 0.566)
    """
    x = as_audio(x)
    rate = check_rate(rate)
    if gate is None:
        try:
            gate = gated_blocks(x, rate)
        except TooShortError as error:
            raise TooShortError("LTAS", error.seconds, error.required) from None
    elif gate.mask.shape[0] != x.shape[0] // gate.hop - (gate.block // gate.hop - 1):
        raise InvalidInputError(
            f"gate has {gate.mask.shape[0]} blocks, which does not fit {x.shape[0]} samples"
        )
    # (L + R) / 2 as analysis.audio.mid defines it; written out because it is ~5x faster
    # than a mean over the channel axis on long files.
    mid_channel = x[:, 0] if x.shape[1] == 1 else 0.5 * (x[:, 0] + x[:, 1])
    freqs, psd = _gated_psd(np.ascontiguousarray(mid_channel), rate, gate)
    if not np.any(psd > 0.0):
        raise SilentAudioError("the mid channel (L + R) / 2 is silent: the channels cancel")
    nyquist = rate / 2.0

    centres = band_centres(rate)
    power = _band_power(freqs, psd, centres * 2.0 ** (-1 / 6), centres * 2.0 ** (1 / 6))
    power = np.maximum(power, LEVEL_FLOOR * float(power.max()))
    levels = 10.0 * np.log10(power)
    wsc = float(np.sum(power * np.log10(centres / 20.0)) / (np.sum(power) * math.log10(1000.0)))

    m = band_indices(centres)
    fit = (m >= TILT_RANGE[0]) & (m <= TILT_RANGE[1])
    tilt = float(np.polyfit(np.log2(centres[fit]), levels[fit], 1)[0])

    lo, hi = CENTROID_RANGE[0], min(CENTROID_RANGE[1], nyquist)
    weight = _band_power(freqs, psd * freqs, np.array([lo]), np.array([hi]))[0]
    centroid = float(weight / _band_power(freqs, psd, np.array([lo]), np.array([hi]))[0])

    edges_lo = np.full(3, TOTAL_RANGE[0])
    edges_hi = np.array([min(TOTAL_RANGE[1], nyquist), *LOW_BAND_EDGES])
    total, low_150, low_250 = _band_power(freqs, psd, edges_lo, edges_hi)

    return Spectrum(
        band_centres=readonly(centres),
        band_levels=readonly(levels),
        centroid_hz=centroid,
        wsc=wsc,
        tilt=tilt,
        low_share_150=float(low_150 / total),
        low_share_250=float(low_250 / total),
        frequencies=readonly(freqs),
        psd=readonly(psd),
    )


# --------------------------------------------------------------------------- BER


# --------------------------------------------------------------------------- tonal balance
