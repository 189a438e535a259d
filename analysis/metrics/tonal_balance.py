"""Tonal balance from third-octave spectra: bass excitation ratio (BER) and TBD.

:func:`bass_excitation_ratio` compares the low bands of a master with its mix;
:func:`tonal_target` averages reference spectra normalised by :func:`normalise_levels`
into a target, and :func:`tonal_balance_deviation` measures a spectrum against it,
in total and per :data:`BROAD_BANDS`. The spectra come from
:func:`analysis.metrics.spectral.measure_spectrum`. See docs/metrics.md (Spectral
balance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.audio import FloatArray
from analysis.errors import InvalidInputError
from analysis.metrics.spectral import Spectrum, band_indices, readonly

__all__ = [
    "BROAD_BANDS",
    "BassExcitation",
    "TonalBalance",
    "TonalTarget",
    "bass_excitation_ratio",
    "normalise_levels",
    "tonal_balance_deviation",
    "tonal_target",
]


NORMALISE_RANGE = (-6, 6)
"""Band indices of the tonal-balance level reference: nominal 250 Hz to 4 kHz."""
BROAD_BANDS: dict[str, tuple[int, int]] = {
    "low": (-99, -7),  # below 250 Hz
    "low_mid": (-6, 2),  # 250 Hz - 2 kHz
    "high_mid": (3, 8),  # 2 kHz - 8 kHz
    "high": (9, 99),  # 8 kHz and above
}
"""Broad bands of the tonal-balance view (inclusive band-index ranges)."""


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
    >>> from analysis.metrics.spectral import measure_spectrum
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
    m = band_indices(fc)
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
        band_centres=readonly(fc),
        median=readonly(median),
        p10=readonly(p10),
        p90=readonly(p90),
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
    m_spec = band_indices(spectrum.band_centres)
    m_target = band_indices(target.band_centres)
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
