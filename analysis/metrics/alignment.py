"""Time alignment of a master to its mix (docs/metrics.md steps 2-5).

A master is compared with its mix sample for sample, so the two must first share a
sample rate (:func:`match_rates`) and a time origin (:func:`align`, then
:func:`aligned_pair`). Masters add or trim lead-in silence, fade, change gain and
polarity, EQ and limit, and are sometimes delivered with a slightly wrong clock;
:func:`align` undoes all of these:

1. a coarse lag from GCC-PHAT on mono downmixes decimated to 8 kHz, searched over
   ``±max_lag_seconds`` (PHAT whitening makes the peak robust to EQ and level);
2. a fine lag from GCC-PHAT at full rate, ``±W`` samples around the coarse lag
   (``W = 2·fs/8000 + 2``), on a 20 s central excerpt, with its sub-sample position
   from the band-limited interpolation of the whitened correlation; the reported
   correlation is the normalised plain cross-correlation at that lag;
3. a drift check: the lag is re-estimated on 20 s windows at 10 %, 50 % and 90 %
   of the overlap. If the lags differ by more than 2 samples, short probes at the
   same places (which a drift smears less) tell a clock drift, lags on a line, from
   an edit; a drift is removed by resampling the master by ``1 + slope`` and
   re-measuring until the windows agree. If the lags still scatter by more than
   5 ms, or a window does not match the mix at all, the master was edited.

For edited masters, :func:`analysis.metrics.local_alignment.local_alignment` finds
the residual lag of every 2 s segment of an aligned pair and flags the segments that
do not match (step 5).

Why the fine stage is whitened too: a plain cross-correlation weights every frequency
by its power, so on bass-heavy music its peak is a slow low-frequency oscillation a few
ms wide, and a master's phase response there (a high-pass, a low shelf, a limiter's
gain riding) moves it by several samples; in a ``±W`` search it can even sit on the
edge of the window. GCC-PHAT weights every frequency alike, so the peak is as narrow
as the band allows and stays where the bulk of the spectrum puts it.

The lag convention everywhere: ``master[n + lag]`` lines up with ``mix[n]``, so a
positive lag means the master starts later (it has added lead-in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr

from analysis.audio import (
    Audio,
    Signal,
    as_audio,
    check_rate,
    resample,
)
from analysis.errors import AlignmentError, InvalidInputError
from analysis.metrics.correlation import (
    correlation_peak,
    downmix,
    overlap,
    padded,
    require_nonsilent,
    tapered,
    undrift,
    whitened_xcorr,
)
from analysis.metrics.lag_search import (
    COARSE_RATE,
    DRIFT_POSITIONS,
    MAX_DRIFT,
    MIN_DRIFT_WINDOW_SECONDS,
    DriftCheck,
    LagSearch,
)

#: Rates further apart than this factor are both resampled to :data:`FALLBACK_RATE`.
EXTREME_RATE_RATIO = 2.0
#: Common rate for very different delivery rates (docs/metrics.md, alignment).
FALLBACK_RATE = 48000
#: Length of the fine-alignment excerpt and of the drift windows, in seconds.
EXCERPT_SECONDS = 20.0

# Samples per block when downmixing and decimating a whole track.
_BLOCK = 1 << 18


@dataclass(frozen=True)
class Alignment:
    """How a master lines up with its mix.

    Attributes
    ----------
    lag : int
        Samples at the common rate such that ``master[n + lag]`` lines up with
        ``mix[n]`` (positive: the master starts later / has added lead-in). When
        ``drift`` is non-zero the lag refers to the drift-corrected master.
    polarity : int
        +1 or -1; multiply the master by it.
    correlation : float
        Peak normalised cross-correlation of the fine alignment, in [0, 1].
    drift : float
        Relative clock drift corrected (0.0 when none): the lag grew by ``drift``
        samples per mix sample, and the master is resampled from
        ``rate·(1 + drift)`` to ``rate`` to undo it.
    drift_checked : bool
        Whether the 10/50/90 % windows could be checked (overlap of at least
        ``5 · MIN_DRIFT_WINDOW_SECONDS``).
    window_lags : tuple of int
        Lags re-estimated at 10 %, 50 % and 90 % of the overlap, before any drift
        correction (empty when not checked).
    edited : bool
        The residual lags scatter by more than 5 ms, or a window does not match
        the mix at all: the master was edited (use
        :func:`analysis.metrics.local_alignment.local_alignment`).
    subsample : float
        Sub-sample residual in samples, in [-0.5, 0.5]: the whitened correlation
        peaks at ``lag + subsample``, so after a whole-sample shift by ``lag`` the
        master is still ``subsample`` samples late (0 for a whole-sample delay).
    """

    lag: int
    polarity: int
    correlation: float
    drift: float
    drift_checked: bool
    window_lags: tuple[int, ...]
    edited: bool
    subsample: float = 0.0

    def as_dict(self) -> dict[str, float | int | bool]:
        """Return the alignment as a flat dict for storage next to each metric.

        Returns
        -------
        dict
            ``lag``, ``subsample``, ``polarity``, ``correlation``, ``drift``,
            ``drift_checked``, ``edited`` and, when checked, ``window_lag_10``,
            ``window_lag_50`` and ``window_lag_90``.
        """
        out: dict[str, float | int | bool] = {
            "lag": self.lag,
            "subsample": self.subsample,
            "polarity": self.polarity,
            "correlation": self.correlation,
            "drift": self.drift,
            "drift_checked": self.drift_checked,
            "edited": self.edited,
        }
        for position, lag in zip(DRIFT_POSITIONS, self.window_lags, strict=False):
            out[f"window_lag_{round(100 * position)}"] = lag
        return out


def match_rates(
    master: Audio, master_rate: int, mix: Audio, mix_rate: int
) -> tuple[Audio, Audio, int]:
    """Bring a master and its mix to a common sample rate (docs/metrics.md, alignment).

    The master is resampled to the mix's rate. When the rates differ by more than
    a factor :data:`EXTREME_RATE_RATIO` (e.g. 32 kHz against 96 kHz), both are
    resampled to :data:`FALLBACK_RATE` (48 kHz) instead.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master audio.
    master_rate : int
        Sample rate of the master in Hz.
    mix : numpy.ndarray
        ``(samples, channels)`` mix audio.
    mix_rate : int
        Sample rate of the mix in Hz.

    Returns
    -------
    master, mix : numpy.ndarray
        Both at the common rate (unchanged arrays where no resampling was needed).
    rate : int
        The common rate in Hz.

    References
    ----------
    .. [1] SoX Resampler library (libsoxr), "VHQ" recipe, through
       :func:`analysis.audio.resample`.

    Examples
    --------
    >>> import numpy as np
    >>> master, mix, rate = match_rates(np.ones((48000, 2)), 48000, np.ones((44100, 2)), 44100)
    >>> master.shape, rate
    ((44100, 2), 44100)
    """
    master = as_audio(master, name="master")
    mix = as_audio(mix, name="mix")
    master_rate = check_rate(master_rate, name="master_rate")
    mix_rate = check_rate(mix_rate, name="mix_rate")
    if master_rate == mix_rate:
        return master, mix, mix_rate
    if max(master_rate, mix_rate) > EXTREME_RATE_RATIO * min(master_rate, mix_rate):
        return (
            resample(master, master_rate, FALLBACK_RATE),
            resample(mix, mix_rate, FALLBACK_RATE),
            FALLBACK_RATE,
        )
    return resample(master, master_rate, mix_rate), mix, mix_rate


def align(
    master: Audio,
    mix: Audio,
    rate: int,
    *,
    max_lag_seconds: float = 10.0,
    min_correlation: float = 0.3,
) -> Alignment:
    """Find the lag, polarity and clock drift of a master against its mix.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master audio at ``rate`` (see :func:`match_rates`).
    mix : numpy.ndarray
        ``(samples, channels)`` mix audio at ``rate``.
    rate : int
        The common sample rate in Hz.
    max_lag_seconds : float
        Largest offset searched for, in seconds either way.
    min_correlation : float
        Smallest acceptable fine-alignment correlation, in [0, 1]; below it the
        master is taken not to be a master of this mix.

    Returns
    -------
    Alignment
        Lag, polarity, correlation, drift and the drift-check results.

    Raises
    ------
    SilentAudioError
        If either signal is digital silence.
    AlignmentError
        If the best correlation is below ``min_correlation``.
    InvalidInputError
        If the audio or a parameter is invalid.

    References
    ----------
    .. [1] C. H. Knapp and G. C. Carter, "The generalized correlation method for
       estimation of time delay", IEEE Trans. ASSP 24(4), 320-327, 1976 (PHAT).
    .. [2] docs/metrics.md (Alignment of a master to its mix), steps 3-5.

    Examples
    --------
    >>> import numpy as np
    >>> mix = np.random.default_rng(0).standard_normal((80000, 1))
    >>> master = -0.5 * np.concatenate([np.zeros((4000, 1)), mix])
    >>> a = align(master, mix, 8000)
    >>> a.lag, a.polarity
    (4000, -1)
    """
    master = as_audio(master, name="master")
    mix = as_audio(mix, name="mix")
    rate = check_rate(rate)
    if not (math.isfinite(max_lag_seconds) and max_lag_seconds > 0):
        raise InvalidInputError(f"max_lag_seconds={max_lag_seconds!r} must be positive")
    if not 0.0 <= min_correlation <= 1.0:
        raise InvalidInputError(f"min_correlation={min_correlation!r} must be in [0, 1]")
    require_nonsilent(master, name="master")
    require_nonsilent(mix, name="mix")

    # Mono downmixes at 8 kHz; the full-rate mono is only ever cut out per excerpt.
    x8 = _decimate(mix, rate)
    y8 = _decimate(master, rate)
    search = LagSearch(mix, master, x8, y8, rate)

    # Coarse: whitened cross-correlation of the whole 8 kHz signals over ±max_lag.
    max_lag8 = max(1, round(max_lag_seconds * COARSE_RATE))
    r = whitened_xcorr(tapered(x8, COARSE_RATE), padded(y8, -max_lag8, x8.size + max_lag8))
    coarse = round((correlation_peak(r)[0] - max_lag8) * rate / COARSE_RATE)

    # Fine: the central excerpt of the overlap, searched wide enough to find the
    # lag at its centre even if drift smeared the whole-track coarse peak.
    start, stop = overlap(mix.shape[0], master.shape[0], coarse)
    if stop - start < search.fine_search:
        raise AlignmentError("master does not match its mix: the signals do not overlap", 0.0)
    length = min(stop - start, round(EXCERPT_SECONDS * rate))
    excerpt = start + round(0.5 * (stop - start - length))
    allowance = math.ceil(MAX_DRIFT * (stop - start) / 2)
    central = search.estimate(excerpt, length, coarse, allowance)
    if not central.heard:  # a silent middle: use the whole overlap instead
        excerpt, length = start, stop - start
        central = search.estimate(excerpt, length, coarse, allowance)

    drift = 0.0
    window_lags: tuple[int, ...] = ()
    edited = False
    window = min(round(EXCERPT_SECONDS * rate), (stop - start) // 5)
    drift_checked = window >= MIN_DRIFT_WINDOW_SECONDS * rate and central.heard
    if drift_checked:
        check = DriftCheck(search, start, stop, window, excerpt, length, min_correlation)
        drift, central, window_lags, edited = check.run(central)

    best = abs(central.correlation) if central.heard else 0.0
    if best < min_correlation:
        raise AlignmentError(
            f"master does not match its mix: the fine-alignment correlation {best:.3f} is "
            f"below min_correlation={min_correlation:g} (is it a master of another track, "
            f"or offset by more than max_lag_seconds={max_lag_seconds:g}?)",
            best,
        )
    lag = round(central.lag)
    return Alignment(
        lag=lag,
        polarity=1 if central.correlation >= 0 else -1,
        correlation=min(1.0, best),
        drift=drift,
        drift_checked=drift_checked,
        window_lags=window_lags,
        edited=edited,
        subsample=round(central.lag - lag, 4),
    )


def aligned_pair(master: Audio, mix: Audio, alignment: Alignment) -> tuple[Audio, Audio]:
    """Apply an alignment and trim both signals to their overlapping span.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master audio, as passed to :func:`align`.
    mix : numpy.ndarray
        ``(samples, channels)`` mix audio, as passed to :func:`align`.
    alignment : Alignment
        The result of :func:`align` on the same pair.

    Returns
    -------
    master, mix : numpy.ndarray
        Equal-length audio that corresponds sample for sample; each keeps its
        channel count. The master is polarity- and drift-corrected.

    Raises
    ------
    AlignmentError
        If the lag leaves no overlap.

    References
    ----------
    .. [1] docs/metrics.md, step 4 (trim to the overlapping span).

    Examples
    --------
    >>> import numpy as np
    >>> mix = np.random.default_rng(0).standard_normal((80000, 2))
    >>> master = np.concatenate([np.zeros((4000, 2)), mix])
    >>> y, x = aligned_pair(master, mix, align(master, mix, 8000))
    >>> y.shape == x.shape, bool(np.allclose(y, x))
    (True, True)
    """
    master = as_audio(master, name="master")
    mix = as_audio(mix, name="mix")
    y = master * float(alignment.polarity)
    if alignment.drift != 0.0:
        y = undrift(y, alignment.drift)
    start, stop = overlap(mix.shape[0], y.shape[0], alignment.lag)
    if stop <= start:
        raise AlignmentError(
            f"master and mix do not overlap at lag={alignment.lag}", alignment.correlation
        )
    lag = alignment.lag
    return (
        np.ascontiguousarray(y[start + lag : stop + lag]),
        np.ascontiguousarray(mix[start:stop]),
    )


def _decimate(x: Audio, rate: int) -> Signal:
    """Mono downmix resampled to :data:`COARSE_RATE` (anti-aliased), block by block.

    Streaming through soxr gives the same samples as one call on the whole downmix
    without ever holding the full-rate mono signal.
    """
    stream = soxr.ResampleStream(rate, COARSE_RATE, 1, dtype="float64", quality="HQ")
    n = x.shape[0]
    blocks = [
        stream.resample_chunk(downmix(x[first : first + _BLOCK]), last=first + _BLOCK >= n)
        for first in range(0, n, _BLOCK)
    ]
    return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float64)
