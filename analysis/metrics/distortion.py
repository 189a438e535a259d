"""Distortion meter (DM) and high-frequency distortion (HFD) by multiple coherence.

Each master channel is modelled as a linear, time-invariant function of the mix
channels plus a residual (distortion, gain riding, added noise). Per 2 s segment,
the multiple coherence of the master channel on (mix L, mix R) gives the share of
the master's power that the mix predicts linearly; the rest is the residual
(docs/metrics.md, DM/HFD model). DM is the share of segments whose coherent signal-to-distortion
ratio (CSDR) falls below 10 dB; HFD is the unexplained share of the master's
power in the 4-8, 8-12 and 12-16 kHz bands (docs/metrics.md, HFD definition).

The pair must already be aligned, polarity-corrected and trimmed to equal length
(:mod:`analysis.metrics.alignment`). The per-segment cross-spectra and the coherent
and residual powers are computed in :mod:`analysis.metrics.coherence`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from analysis.audio import Audio, BoolArray, as_aligned_pair, require_signal
from analysis.errors import InvalidInputError, TooShortError
from analysis.metrics.coherence import segment_residuals
from analysis.metrics.segments import excluded_segments, gain_track, segment_grid

METRIC = "DM/HFD"
THETA_DM = 10.0
"""CSDR threshold in dB below which a segment counts as distorted."""
BAND_LOW_HZ = 50.0
BAND_HIGH_HZ = 16000.0
BAND_HIGH_NYQUIST_SHARE = 0.45
HF_BANDS: tuple[tuple[str, float, float], ...] = (
    ("4-8k", 4000.0, 8000.0),
    ("8-12k", 8000.0, 12000.0),
    ("12-16k", 12000.0, 16000.0),
    ("16-20k", 16000.0, 20000.0),
)
"""HFD bands; HFD is the mean of the first three, B4 is reported separately."""
HFD_BANDS = ("4-8k", "8-12k", "12-16k")
HF_SKIP_DB = 60.0
"""Band-segments this far below the segment's in-band total are skipped."""
MIX_BAND_FLOOR_DB = 50.0
"""An HFD band holding less than this share (in dB) of the mix's 50 Hz-16 kHz power is not
applicable: the mix has nothing there for the master to be explained by, so any content
the master has in the band (noise, an exciter, limiter harmonics) reads as ~100 %
"distortion" whatever the mastering did (e.g. a telephone-band or band-limited recording).
Full-range music holds -20 to -40 dB in 12-16 kHz."""
CSDR_LIMIT_DB = 120.0
"""CSDR is clipped to +-120 dB, far beyond the numerical floor (about 87 dB) of the estimator."""
MIN_FRAMES = 8
"""A segment must hold at least this many STFT frames for the coherence to mean anything."""


@dataclass(frozen=True)
class Distortion:
    """DM, HFD and their companions for one master against its mix.

    Attributes
    ----------
    dm : float
        Percentage of valid segments with CSDR below 10 dB (θ_DM).
    dm_at : dict of float to float
        DM at each threshold θ in dB (sensitivity analysis, docs/metrics.md, DM definition).
    median_csdr : float
        Median CSDR of the valid segments, in dB (clipped to ±120 dB).
    mean_unexplained : float
        Mean unexplained fraction u_k of the valid segments, in %.
    hfd : float or None
        Mean of HFD over 4-8, 8-12 and 12-16 kHz in %, over the bands that could be
        measured; None when none could (sample rate too low, or no HF content).
    hfd_bands : dict of str to float or None
        HFD per band (``"4-8k"``, ``"8-12k"``, ``"12-16k"``, ``"16-20k"``) in %; None for a
        band above the Nyquist frequency, without measurable content, or not applicable.
    hfd_not_applicable : dict of str to str
        Bands left out of HFD because the mix has no energy there, with the reason
        (``"the mix has no energy in 8-12 kHz (-87 dB of its 50 Hz-16 kHz power)"``).
    segments : int
        Segments on the grid.
    valid_segments : int
        Segments that were measured.
    excluded_share : float
        Share of segments excluded (fade or edit, silence, the caller's exclusion), 0-1.
    """

    dm: float
    dm_at: dict[float, float]
    median_csdr: float
    mean_unexplained: float
    hfd: float | None
    hfd_bands: dict[str, float | None]
    segments: int
    valid_segments: int
    excluded_share: float
    hfd_not_applicable: dict[str, str] = field(default_factory=dict)

    @property
    def hfd_note(self) -> str:
        """Why HFD (or some of its bands) is not applicable; empty when every band is."""
        return "; ".join(self.hfd_not_applicable.values())

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the values as one flat dictionary.

        Returns
        -------
        dict
            ``dm``, ``dm_<θ>`` (e.g. ``dm_6``, ``dm_15``), ``median_csdr``,
            ``mean_unexplained``, ``hfd``, ``hfd_<band>`` (e.g. ``hfd_4_8k``),
            ``segments``, ``valid_segments`` and ``excluded_share`` (the reasons for
            bands left out are :attr:`hfd_note`).
        """
        row: dict[str, float | int | None] = {"dm": self.dm}
        for theta, value in self.dm_at.items():
            row[f"dm_{theta:g}".replace(".", "p").replace("-", "m")] = value
        row["median_csdr"] = self.median_csdr
        row["mean_unexplained"] = self.mean_unexplained
        row["hfd"] = self.hfd
        for band, band_value in self.hfd_bands.items():
            row["hfd_" + band.replace("-", "_")] = band_value
        row["segments"] = self.segments
        row["valid_segments"] = self.valid_segments
        row["excluded_share"] = self.excluded_share
        return row


def stft_length(rate: int) -> int:
    """Return the Welch/STFT frame length used at ``rate`` Hz (docs/metrics.md).

    2048 at 44.1 and 48 kHz, else ``2**round(log2(0.046 * rate))``.

    Examples
    --------
    >>> stft_length(44100), stft_length(96000), stft_length(16000)
    (2048, 4096, 1024)
    """
    if rate in (44100, 48000):
        return 2048
    return int(2 ** round(math.log2(0.046 * rate)))


def distortion(
    master: Audio,
    mix: Audio,
    rate: int,
    *,
    exclude: BoolArray | None = None,
    segment_seconds: float = 2.0,
    hop_seconds: float = 1.0,
    thresholds: Sequence[float] = (6.0, 10.0, 15.0, 20.0),
    wave: bool = False,
) -> Distortion:
    """Measure DM and HFD of a master against its aligned mix by multiple coherence.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master, aligned to the mix (mono or stereo).
    mix : numpy.ndarray
        ``(samples, channels)`` mix with as many samples as ``master``.
    rate : int
        Sample rate of both, in Hz.
    exclude : numpy.ndarray of bool, optional
        Segments to leave out (e.g. those that do not align locally), one flag per
        segment of the grid (see :func:`segment_grid`).
    segment_seconds, hop_seconds : float
        Segment length and hop (2 s and 1 s, docs/metrics.md).
    thresholds : sequence of float
        CSDR thresholds in dB at which DM is also reported.
    wave : bool
        Compute the diagnostic DM_wave instead: the master is first divided by the
        smoothed broadband gain track ``sqrt(LP(y_mid²) / LP(x_mid²))`` (zero-phase
        one-pole low-pass, τ = 20 ms), which removes slow gain riding. Fade and
        edit exclusion still uses the unnormalised master.

    Returns
    -------
    Distortion
        DM, DM at each threshold, median CSDR, mean unexplained share, HFD per band,
        and the segment counts.

    Raises
    ------
    InvalidInputError
        If the lengths differ, a parameter is out of range, ``exclude`` does not
        match the grid, or no segment is left to measure.
    SilentAudioError
        If either signal is digital silence.
    TooShortError
        If the pair is shorter than one segment.

    Notes
    -----
    - Spectra: Hann window (periodic), ``nperseg`` from :func:`stft_length`, hop
      ``nperseg/2``, no detrending. An STFT frame belongs to a segment when it lies
      fully inside it, so segment 0 uses exactly the frames ``scipy.signal.csd``
      would use on the segment's samples.
    - Multiple coherence of master channel c on the mix channels, per bin:
      ``γ²_c = s_c Sxx⁻¹ s_cᴴ / S_yy,c`` with ``s_c = E[Y_c Xᴴ]`` and
      ``Sxx + 1e-9·trace(Sxx)·I`` (closed-form 2×2 inverse; a mono mix uses the
      ordinary coherence, unregularised). For a stereo master the coherent and
      residual powers are summed over channels, i.e. γ²(f) is the power-weighted
      mean over channels, and ``E_y(f) = Σ_c S_yy,c(f)``.
    - CSDR_k = 10 log10(Σ E_y γ² / Σ E_y (1 - γ²)) over 50 Hz ≤ f ≤ min(16 kHz,
      0.45 fs); u_k = 1 / (1 + 10^(CSDR_k/10)).
    - HFD bands are half-open, lo ≤ f < hi; a band whose upper edge exceeds the
      Nyquist frequency is None.
    - Excluded segments (docs/metrics.md, alignment): gain ``g_k = 10 log10(P_y,k / P_x,k)``
      (mean square over samples and channels) more than 3 dB from the median gain of
      the non-silent segments, dilated by one segment each side; mix level below
      -70 dBFS (mean square, full-scale square wave = 0 dB) or more than 30 dB below
      the mix's mean level; the caller's ``exclude``.

    References
    ----------
    .. [1] J. S. Bendat and A. G. Piersol, *Random Data: Analysis and Measurement
       Procedures*, 4th ed., Wiley, 2010, ch. 7 (multiple and ordinary coherence).
    .. [2] P. D. Welch, "The use of fast Fourier transform for the estimation of
       power spectra", IEEE Trans. Audio Electroacoust. 15(2), 1967.
    .. [3] docs/metrics.md (DM and HFD definitions of this project).

    Examples
    --------
    >>> from analysis.stimuli.synthesis import synthetic_mix
    >>> mix = synthetic_mix(10.0, 44100, seed=1)
    >>> d = distortion(2.0 * mix, mix, 44100)
    >>> d.dm, d.median_csdr > 60
    (0.0, True)
    """
    y, x, rate = as_aligned_pair(master, mix, rate)
    for name, value in (("segment_seconds", segment_seconds), ("hop_seconds", hop_seconds)):
        if not (math.isfinite(value) and value > 0):
            raise InvalidInputError(f"{name}={value!r} must be a positive number of seconds")
    thetas = tuple(float(t) for t in thresholds)
    if not all(math.isfinite(t) for t in thetas):
        raise InvalidInputError(f"thresholds={thresholds!r} must be finite dB values")
    n_fft = stft_length(rate)
    seg, hop = round(segment_seconds * rate), round(hop_seconds * rate)
    if hop < 1 or seg < n_fft + (MIN_FRAMES - 1) * (n_fft // 2):
        raise InvalidInputError(
            f"segment_seconds={segment_seconds!r} must hold at least {MIN_FRAMES} STFT "
            f"frames of {n_fft} samples at {rate} Hz, and hop_seconds={hop_seconds!r} "
            f"at least one sample"
        )
    if y.shape[0] < seg:
        raise TooShortError(METRIC, y.shape[0] / rate, segment_seconds)
    for name, audio in (("master", y), ("mix", x)):
        require_signal(audio, name=name, metric=METRIC)
    n_segments = segment_grid(y.shape[0], rate, segment_seconds, hop_seconds)

    excluded = excluded_segments(y, x, seg, hop, n_segments)
    if exclude is not None:
        mask = np.asarray(exclude)
        if mask.shape != (n_segments,) or mask.dtype != np.bool_:
            raise InvalidInputError(
                f"exclude must be a bool array with one flag per segment ({n_segments}), "
                f"got {mask.dtype} array of shape {mask.shape}"
            )
        excluded |= mask

    y_gain = gain_track(y, x, rate) if wave else None
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    band_top = min(BAND_HIGH_HZ, BAND_HIGH_NYQUIST_SHARE * rate)
    hf_ok = [hi <= rate / 2 for _, _, hi in HF_BANDS]
    top = max([band_top] + [hi for (_, _, hi), ok in zip(HF_BANDS, hf_ok, strict=True) if ok])
    b0 = int(np.searchsorted(freqs, BAND_LOW_HZ))
    b1 = int(np.searchsorted(freqs, top, side="right"))
    power, residual = segment_residuals(y, x, n_fft, seg, hop, n_segments, b0, b1, y_gain)
    freqs = freqs[b0:b1]

    in_band = freqs <= band_top
    total = power[:, in_band].sum(axis=1)
    unexplained = residual[:, in_band].sum(axis=1)
    valid = ~excluded & (total > 0)
    if not valid.any():
        raise InvalidInputError(
            f"no valid segment left for {METRIC}: all {n_segments} segments are silent, "
            "faded, edited or excluded by the caller"
        )
    total, unexplained = total[valid], unexplained[valid]
    floor = total * 10.0 ** (-CSDR_LIMIT_DB / 10.0)
    csdr = 10.0 * np.log10(np.maximum(total - unexplained, floor) / np.maximum(unexplained, floor))
    csdr = np.clip(csdr, -CSDR_LIMIT_DB, CSDR_LIMIT_DB)
    u = 1.0 / (1.0 + 10.0 ** (csdr / 10.0))

    hfd_bands: dict[str, float | None] = {}
    empty = _bands_without_mix_energy(x, rate, n_fft, band_top)
    for (name, lo, hi), ok in zip(HF_BANDS, hf_ok, strict=True):
        sel = (freqs >= lo) & (freqs < hi)
        if not ok or not sel.any() or name in empty:
            hfd_bands[name] = None
            continue
        band_power = power[valid][:, sel].sum(axis=1)
        band_residual = residual[valid][:, sel].sum(axis=1)
        keep = (band_power > 0) & (band_power >= total * 10.0 ** (-HF_SKIP_DB / 10.0))
        if not keep.any():
            hfd_bands[name] = None
            continue
        hfd_bands[name] = float(100.0 * np.mean(band_residual[keep] / band_power[keep]))
    measured = [v for b, v in hfd_bands.items() if b in HFD_BANDS and v is not None]

    return Distortion(
        dm=float(100.0 * np.mean(csdr < THETA_DM)),
        dm_at={t: float(100.0 * np.mean(csdr < t)) for t in thetas},
        median_csdr=float(np.median(csdr)),
        mean_unexplained=float(100.0 * np.mean(u)),
        hfd=float(np.mean(measured)) if measured else None,
        hfd_bands=hfd_bands,
        segments=n_segments,
        valid_segments=int(valid.sum()),
        excluded_share=float(1.0 - valid.sum() / n_segments),
        hfd_not_applicable=empty,
    )


def _bands_without_mix_energy(x: Audio, rate: int, n_fft: int, top: float) -> dict[str, str]:
    """HF bands whose share of the mix's 50 Hz-``top`` power is below MIX_BAND_FLOOR_DB.

    Welch PSD (Hann, ``n_fft``, 50 % overlap) of the mix, summed over channels.
    """
    freqs, psd = signal.welch(x, fs=rate, nperseg=n_fft, axis=0)
    power = np.asarray(psd, dtype=np.float64).reshape(freqs.size, -1).sum(axis=1)
    total = float(power[(freqs >= BAND_LOW_HZ) & (freqs <= top)].sum())
    empty: dict[str, str] = {}
    for name, lo, hi in HF_BANDS:
        if hi > rate / 2 or total <= 0:
            continue
        share = float(power[(freqs >= lo) & (freqs < hi)].sum()) / total
        level = 10.0 * math.log10(share) if share > 0 else -math.inf
        if level < -MIX_BAND_FLOOR_DB:
            shown = f"{level:.0f} dB" if math.isfinite(level) else "none"
            empty[name] = (
                f"the mix has no energy in {name.replace('k', '')} kHz ({shown} of its "
                f"{BAND_LOW_HZ:g} Hz-{top / 1000:g} kHz power)"
            )
    return empty
