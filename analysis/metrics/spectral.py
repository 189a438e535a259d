"""Spectral balance: gated LTAS, third-octave levels, WSC, centroid, tilt, BER, TBD.

The long-term average spectrum (LTAS) is a Welch PSD of the mid channel averaged
only over the 400 ms blocks that pass the BS.1770 gates, so silence and fades do not
bias it. Third-octave band powers integrate the PSD over the IEC 61260 base-2 band
edges ``fc * 2**(+-1/6)``, ``fc = 1000 * 2**(m/3)``, counting each FFT bin by the
share of its width inside the band. See docs/metrics.md (Spectral balance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, signal

from analysis.audio import Audio, as_audio, check_rate
from analysis.errors import InvalidInputError, SilentAudioError, TooShortError
from analysis.metrics.loudness import BlockGate, gated_blocks

__all__ = [
    "BROAD_BANDS",
    "BassExcitation",
    "Spectrum",
    "TonalBalance",
    "TonalTarget",
    "band_centres",
    "bass_excitation_ratio",
    "ltas_nperseg",
    "measure_spectrum",
    "normalise_levels",
    "tonal_balance_deviation",
    "tonal_target",
]

FloatArray = npt.NDArray[np.float64]

BAND_RANGE = (-16, 12)
"""Band indices ``m`` of the third-octave bands kept: nominal 25 Hz to 16 kHz."""
TILT_RANGE = (-13, 10)
"""Band indices of the tilt fit: nominal 50 Hz to 10 kHz."""
NORMALISE_RANGE = (-6, 6)
"""Band indices of the tonal-balance level reference: nominal 250 Hz to 4 kHz."""
BROAD_BANDS: dict[str, tuple[int, int]] = {
    "low": (-99, -7),  # below 250 Hz
    "low_mid": (-6, 2),  # 250 Hz - 2 kHz
    "high_mid": (3, 8),  # 2 kHz - 8 kHz
    "high": (9, 99),  # 8 kHz and above
}
"""Broad bands of the tonal-balance view (inclusive band-index ranges)."""
CENTROID_RANGE = (20.0, 20000.0)
TOTAL_RANGE = (20.0, 16000.0)
LOW_BAND_EDGES = (150.0, 250.0)
LEVEL_FLOOR = 1e-20
"""Band powers are floored at this fraction of the loudest band (-200 dB) so levels stay finite."""


def ltas_nperseg(rate: int) -> int:
    """Return the Welch segment length: 8192 at 44.1/48 kHz, scaled by rate in powers of 2.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.

    Returns
    -------
    int
        ``2 ** round(log2(8192 / 44100 * rate))``.
    """
    return int(2 ** round(math.log2(8192 / 44100 * check_rate(rate))))


def _indices(centres: FloatArray) -> npt.NDArray[np.int64]:
    return np.asarray(np.round(3.0 * np.log2(centres / 1000.0)), dtype=np.int64)


def band_centres(rate: int) -> FloatArray:
    """Return the exact third-octave centres ``1000 * 2**(m/3)`` from 25 Hz to 16 kHz.

    Bands whose upper edge ``fc * 2**(1/6)`` lies above the Nyquist frequency are dropped.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.

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


def _readonly(a: FloatArray) -> FloatArray:
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
        (:func:`analysis.metrics.loudness.gated_blocks`).

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

    m = _indices(centres)
    fit = (m >= TILT_RANGE[0]) & (m <= TILT_RANGE[1])
    tilt = float(np.polyfit(np.log2(centres[fit]), levels[fit], 1)[0])

    lo, hi = CENTROID_RANGE[0], min(CENTROID_RANGE[1], nyquist)
    weight = _band_power(freqs, psd * freqs, np.array([lo]), np.array([hi]))[0]
    centroid = float(weight / _band_power(freqs, psd, np.array([lo]), np.array([hi]))[0])

    edges_lo = np.full(3, TOTAL_RANGE[0])
    edges_hi = np.array([min(TOTAL_RANGE[1], nyquist), *LOW_BAND_EDGES])
    total, low_150, low_250 = _band_power(freqs, psd, edges_lo, edges_hi)

    return Spectrum(
        band_centres=_readonly(centres),
        band_levels=_readonly(levels),
        centroid_hz=centroid,
        wsc=wsc,
        tilt=tilt,
        low_share_150=float(low_150 / total),
        low_share_250=float(low_250 / total),
        frequencies=_readonly(freqs),
        psd=_readonly(psd),
    )


# --------------------------------------------------------------------------- BER


@dataclass(frozen=True)
class BassExcitation:
    """Bass excitation ratio of a master relative to its mix.

    Attributes
    ----------
    ratio : float
        ``(P_low/P_total)(master) / (P_low/P_total)(mix)``, low band 20-150 Hz.
    db : float
        ``10 log10(ratio)``.
    ratio_250 : float
        The same with the low band 20-250 Hz.
    db_250 : float
        ``10 log10(ratio_250)``.
    """

    ratio: float
    db: float
    ratio_250: float
    db_250: float


def _ratio(master: float, mix: float, band: str) -> tuple[float, float]:
    if not mix > 0.0:
        raise InvalidInputError(f"the mix has no power in {band}; BER is undefined")
    ratio = master / mix
    return ratio, (10.0 * math.log10(ratio) if ratio > 0.0 else float("-inf"))


def bass_excitation_ratio(master: Spectrum, mix: Spectrum) -> BassExcitation:
    """Compute the bass excitation ratio (BER) of a master against its mix.

    Parameters
    ----------
    master, mix : Spectrum
        Gated spectra of the master and of the unmastered mix (:func:`measure_spectrum`).

    Returns
    -------
    BassExcitation
        BER for the 20-150 Hz and 20-250 Hz low bands, as ratios and in dB; above 1
        (0 dB) the master shifted energy toward the bass. Invariant to overall gain.

    Raises
    ------
    InvalidInputError
        If the mix has no power in the low band.

    References
    ----------
    .. [1] docs/metrics.md (Bass excitation ratio (BER)).

    Examples
    --------
    >>> t = np.arange(5 * 44100) / 44100
    >>> x = np.sin(2 * np.pi * 80 * t) + np.sin(2 * np.pi * 1000 * t)
    >>> y = 2 * np.sin(2 * np.pi * 80 * t) + np.sin(2 * np.pi * 1000 * t)
    >>> ber = bass_excitation_ratio(measure_spectrum(y, 44100), measure_spectrum(x, 44100))
    >>> round(ber.ratio, 2)
    1.6
    """
    ratio, db = _ratio(master.low_share_150, mix.low_share_150, "20-150 Hz")
    ratio_250, db_250 = _ratio(master.low_share_250, mix.low_share_250, "20-250 Hz")
    return BassExcitation(ratio=ratio, db=db, ratio_250=ratio_250, db_250=db_250)


# --------------------------------------------------------------------------- tonal balance


def normalise_levels(levels: npt.ArrayLike, centres: npt.ArrayLike) -> FloatArray:
    """Shift band levels so their mean over the 250 Hz to 4 kHz bands is 0 dB.

    Parameters
    ----------
    levels : array_like
        Third-octave band levels, dB.
    centres : array_like
        Their centre frequencies, Hz (exact or nominal).

    Returns
    -------
    numpy.ndarray
        Level-normalised band levels, dB.

    Raises
    ------
    InvalidInputError
        If the arrays differ in length or no band lies in 250 Hz to 4 kHz.
    """
    lv = np.asarray(levels, dtype=np.float64)
    fc = np.asarray(centres, dtype=np.float64)
    if lv.shape != fc.shape or lv.ndim != 1:
        raise InvalidInputError(
            f"levels {lv.shape} and centres {fc.shape} must be 1-D arrays of one length"
        )
    m = _indices(fc)
    ref = (m >= NORMALISE_RANGE[0]) & (m <= NORMALISE_RANGE[1])
    if not np.any(ref):
        raise InvalidInputError("no band between 250 Hz and 4 kHz to normalise the level by")
    return np.asarray(lv - np.mean(lv[ref]), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class TonalTarget:
    """A tonal-balance target: per-band median and 10th/90th percentiles.

    Attributes
    ----------
    band_centres : numpy.ndarray
        Centre frequencies, Hz.
    median, p10, p90 : numpy.ndarray
        Level-normalised band levels of the references, dB.
    count : int
        Number of reference spectra the target was built from.
    """

    band_centres: FloatArray
    median: FloatArray
    p10: FloatArray
    p90: FloatArray
    count: int


def tonal_target(levels: Sequence[npt.ArrayLike], centres: npt.ArrayLike) -> TonalTarget:
    """Build a tonal-balance target from reference band levels.

    Each reference is level-normalised (:func:`normalise_levels`) before the
    per-band median and 10th/90th percentiles (linear interpolation) are taken.
    For a leave-one-out target, pass the human masters of the other tracks.

    Parameters
    ----------
    levels : sequence of array_like
        Band levels (dB) of each reference, e.g. ``Spectrum.band_levels``.
    centres : array_like
        Their common centre frequencies, Hz.

    Returns
    -------
    TonalTarget
        The target curve and its band.

    Raises
    ------
    InvalidInputError
        If no reference is given or the arrays differ in length.

    References
    ----------
    .. [1] iZotope, Tonal Balance Control 2, "Targets and views".
    .. [2] docs/metrics.md (Spectral balance).
    """
    if len(levels) == 0:
        raise InvalidInputError("a tonal target needs at least one reference spectrum")
    fc = np.asarray(centres, dtype=np.float64)
    stack = np.array([normalise_levels(lv, fc) for lv in levels])
    p10, median, p90 = np.percentile(stack, [10.0, 50.0, 90.0], axis=0)
    return TonalTarget(
        band_centres=_readonly(fc),
        median=_readonly(median),
        p10=_readonly(p10),
        p90=_readonly(p90),
        count=len(levels),
    )


@dataclass(frozen=True)
class TonalBalance:
    """Deviation of a spectrum from a tonal target.

    Attributes
    ----------
    tbd : float
        RMS over bands of the distance (dB) outside the target's [p10, p90] range.
    broad : dict of str to float
        Level of each broad band (``"low"``, ``"low_mid"``, ``"high_mid"``,
        ``"high"``) minus the target median's, dB (power sums of the normalised bands).
    """

    tbd: float
    broad: dict[str, float]


def tonal_balance_deviation(spectrum: Spectrum, target: TonalTarget) -> TonalBalance:
    """Measure how far a spectrum lies outside a tonal target (TBD).

    Only bands present in both (matched by nominal centre) are compared, so a
    target built at another sample rate still applies.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum to judge (:func:`measure_spectrum`).
    target : TonalTarget
        The target (:func:`tonal_target`).

    Returns
    -------
    TonalBalance
        TBD in dB and the four broad-band deviations.

    Raises
    ------
    InvalidInputError
        If the spectrum and the target share no band.

    References
    ----------
    .. [1] iZotope, Tonal Balance Control 2, "Targets and views" (broad view bands
       after joeunsoo.com/article/222).
    .. [2] docs/metrics.md (Spectral balance).
    """
    m_spec = _indices(spectrum.band_centres)
    m_target = _indices(target.band_centres)
    common, i_spec, i_target = np.intersect1d(m_spec, m_target, return_indices=True)
    if common.size == 0:
        raise InvalidInputError("the spectrum and the tonal target share no band")
    fc = spectrum.band_centres[i_spec]
    levels = normalise_levels(spectrum.band_levels[i_spec], fc)
    median = normalise_levels(target.median[i_target], fc)
    shift = median - target.median[i_target]  # re-normalisation if bands were dropped
    p10 = target.p10[i_target] + shift
    p90 = target.p90[i_target] + shift
    distance = np.maximum(np.maximum(p10 - levels, levels - p90), 0.0)
    tbd = float(np.sqrt(np.mean(distance**2)))

    broad: dict[str, float] = {}
    for name, (first, last) in BROAD_BANDS.items():
        inside = (common >= first) & (common <= last)
        if np.any(inside):
            own = 10.0 * np.log10(np.sum(10.0 ** (levels[inside] / 10.0)))
            ref = 10.0 * np.log10(np.sum(10.0 ** (median[inside] / 10.0)))
            broad[name] = float(own - ref)
        else:
            broad[name] = float("nan")
    return TonalBalance(tbd=tbd, broad=broad)
