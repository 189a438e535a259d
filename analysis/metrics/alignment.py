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

For edited masters, :func:`local_alignment` finds the residual lag of every 2 s
segment of an aligned pair and flags the segments that do not match (step 5).

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
import numpy.typing as npt
import soxr
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, optimize

from analysis.audio import (
    Audio,
    Signal,
    as_audio,
    check_rate,
    resample,
)
from analysis.errors import AlignmentError, InvalidInputError, SilentAudioError, TooShortError

#: Rate of the coarse GCC-PHAT search, in Hz (docs/metrics.md, alignment).
COARSE_RATE = 8000
#: Rates further apart than this factor are both resampled to :data:`FALLBACK_RATE`.
EXTREME_RATE_RATIO = 2.0
#: Common rate for very different delivery rates (docs/metrics.md, alignment).
FALLBACK_RATE = 48000
#: Length of the fine-alignment excerpt and of the drift windows, in seconds.
EXCERPT_SECONDS = 20.0
#: Where the drift windows sit, as fractions of the overlapping span.
DRIFT_POSITIONS = (0.1, 0.5, 0.9)
#: Shortest drift window and length of the drift probes, in seconds; pairs that
#: overlap by less than five of these are not drift-checked.
MIN_DRIFT_WINDOW_SECONDS = 2.0
#: Largest clock drift searched for (relative): 0.1 % covers NTSC pull-up/down and
#: is far beyond real clock errors (a 44.1 kHz file labelled 44.11 kHz is 0.023 %).
MAX_DRIFT = 1e-3
#: Window lags that differ by more than this many samples indicate drift.
DRIFT_TOLERANCE_SAMPLES = 2
#: Residual lags that scatter by more than this indicate an edited master, in s.
EDIT_TOLERANCE_SECONDS = 0.005
#: PHAT denominator regulariser, relative to the largest cross-spectrum magnitude.
PHAT_EPSILON = 1e-6
#: Raised-cosine taper at each end of the mix before whitening, in seconds.
TAPER_SECONDS = 0.25

_DRIFT_ITERATIONS = 4
# Samples either side of the peak in the sub-sample (sinc) interpolation.
_SINC_HALF = 256
# Largest fit residual, as a fraction of the spread, of probe lags taken as a drift.
_STRAIGHTNESS = 0.1
# Samples per block when downmixing and decimating a whole track.
_BLOCK = 1 << 18
# Mean-square level under which a segment of the mix is digital silence (-150 dBFS).
_SILENT_POWER = 1e-15


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
        the mix at all: the master was edited (use :func:`local_alignment`).
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


@dataclass(frozen=True, eq=False)
class LocalAlignment:
    """Residual alignment of every segment of an aligned pair.

    Attributes
    ----------
    segment, hop : int
        Segment length and hop in samples.
    lags : numpy.ndarray
        Local residual lag of each segment (int64), in samples, with the same
        convention as :attr:`Alignment.lag`.
    correlations : numpy.ndarray
        Local peak normalised correlation of each segment (float64); NaN where the
        mix segment is digital silence.
    unaligned : numpy.ndarray
        Segments whose correlation is below the threshold (bool); never the silent
        ones.
    """

    segment: int
    hop: int
    lags: npt.NDArray[np.int64]
    correlations: npt.NDArray[np.float64]
    unaligned: npt.NDArray[np.bool_]

    @property
    def unaligned_share(self) -> float:
        """Fraction of all segments flagged as unaligned, in [0, 1]."""
        return float(np.mean(self.unaligned)) if self.unaligned.size else 0.0


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
    _require_signal(master, name="master")
    _require_signal(mix, name="mix")

    # Mono downmixes at 8 kHz; the full-rate mono is only ever cut out per excerpt.
    x8 = _decimate(mix, rate)
    y8 = _decimate(master, rate)
    search = _Search(mix, master, x8, y8, rate)

    # Coarse: whitened cross-correlation of the whole 8 kHz signals over ±max_lag.
    max_lag8 = max(1, round(max_lag_seconds * COARSE_RATE))
    r = _xcorr(_tapered(x8, COARSE_RATE), _padded(y8, -max_lag8, x8.size + max_lag8))
    coarse = round((_peak(r)[0] - max_lag8) * rate / COARSE_RATE)

    # Fine: the central excerpt of the overlap, searched wide enough to find the
    # lag at its centre even if drift smeared the whole-track coarse peak.
    start, stop = _overlap(mix.shape[0], master.shape[0], coarse)
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
        check = _DriftCheck(search, start, stop, window, excerpt, length, min_correlation)
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
        y = _undrift(y, alignment.drift)
    start, stop = _overlap(mix.shape[0], y.shape[0], alignment.lag)
    if stop <= start:
        raise AlignmentError(
            f"master and mix do not overlap at lag={alignment.lag}", alignment.correlation
        )
    lag = alignment.lag
    return (
        np.ascontiguousarray(y[start + lag : stop + lag]),
        np.ascontiguousarray(mix[start:stop]),
    )


def local_alignment(
    master: Audio,
    mix: Audio,
    rate: int,
    *,
    segment_seconds: float = 2.0,
    hop_seconds: float = 1.0,
    search_seconds: float = 0.02,
    threshold: float = 0.5,
) -> LocalAlignment:
    """Find the residual lag of every segment of an aligned pair (docs/metrics.md, alignment).

    Segment ``k`` starts at ``k * hop``; there are ``floor((n - segment) / hop) + 1``
    segments, the grid of the distortion meter. Each segment of the mix's
    mono downmix is cross-correlated with the master's, normalised by the energies
    of the overlapping windows, over ``±search_seconds``; the lag of the largest
    positive peak is the local lag. Segments whose peak is below ``threshold`` are
    flagged "unaligned" (to be excluded, and their share reported); segments where
    the mix is digital silence get a NaN correlation and are not flagged.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master, already aligned (see :func:`aligned_pair`).
    mix : numpy.ndarray
        ``(samples, channels)`` mix of the same length.
    rate : int
        Sample rate in Hz.
    segment_seconds : float
        Segment length in seconds.
    hop_seconds : float
        Hop between segment starts in seconds.
    search_seconds : float
        Largest local lag searched for, in seconds either way.
    threshold : float
        Correlation below which a segment is unaligned, in [0, 1].

    Returns
    -------
    LocalAlignment
        Per-segment lags, correlations and flags.

    Raises
    ------
    InvalidInputError
        If the lengths differ or a parameter is invalid.
    TooShortError
        If the pair is shorter than one segment.

    References
    ----------
    .. [1] docs/metrics.md (Alignment of a master to its mix) (step 5 and the segment grid).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((40000, 1))
    >>> local_alignment(0.5 * x, x, 8000).unaligned_share
    0.0
    """
    master = as_audio(master, name="master")
    mix = as_audio(mix, name="mix")
    rate = check_rate(rate)
    if master.shape[0] != mix.shape[0]:
        raise InvalidInputError(
            f"master ({master.shape[0]} samples) and mix ({mix.shape[0]} samples) must "
            "have equal length; align them with aligned_pair first"
        )
    for name, value in (("segment_seconds", segment_seconds), ("hop_seconds", hop_seconds)):
        if not (math.isfinite(value) and value > 0):
            raise InvalidInputError(f"{name}={value!r} must be positive")
    if not (math.isfinite(search_seconds) and search_seconds >= 0):
        raise InvalidInputError(f"search_seconds={search_seconds!r} must be non-negative")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInputError(f"threshold={threshold!r} must be in [0, 1]")
    segment = max(1, round(segment_seconds * rate))
    hop = max(1, round(hop_seconds * rate))
    search = round(search_seconds * rate)
    n = mix.shape[0]
    if n < segment:
        raise TooShortError("local alignment", n / rate, segment_seconds)

    x = _downmix(mix)
    y = np.pad(_downmix(master), search)
    count = (n - segment) // hop + 1
    starts = np.arange(count) * hop
    span = 2 * search + 1
    raw = _segment_xcorr(x, y, segment, hop, count, span)
    energy_x = _window_energies(x, segment, starts)
    energy_y = _window_energies(y, segment, starts[:, np.newaxis] + np.arange(span))
    denominator = np.sqrt(energy_x[:, np.newaxis] * energy_y)
    ncc = np.divide(raw, denominator, out=np.zeros_like(raw), where=denominator > 0)
    best = np.argmax(ncc, axis=1)
    correlations = np.clip(ncc[np.arange(count), best], 0.0, 1.0)
    silent = energy_x <= _SILENT_POWER * segment
    correlations[silent] = np.nan
    lags = np.where(silent, 0, best - search).astype(np.int64)
    unaligned = ~silent & (correlations < threshold)
    for array in (lags, correlations, unaligned):
        array.setflags(write=False)
    return LocalAlignment(segment, hop, lags, correlations, unaligned)


def _segment_xcorr(
    x: Signal, y: Signal, segment: int, hop: int, count: int, span: int
) -> npt.NDArray[np.float64]:
    """``r[k, j] = sum_n x[k·hop + n] y[k·hop + n + j]`` for ``n < segment``, ``j < span``.

    When the segment is a whole number of hops (2 s and 1 s by default), each
    hop-long block is correlated once and neighbouring blocks are summed, which
    halves the FFT work; otherwise every segment is correlated on its own. The
    FFTs run on batches of blocks of about 32 MB.
    """
    block, blocks_per_segment = (hop, segment // hop) if segment % hop == 0 else (segment, 1)
    n_blocks = count + blocks_per_segment - 1
    xs = sliding_window_view(x, block)[::hop][:n_blocks]
    ys = sliding_window_view(y, block + span - 1)[::hop][:n_blocks]
    nfft = fft.next_fast_len(block + span - 1, real=True)
    blocks = np.empty((n_blocks, span))
    chunk = max(1, (1 << 21) // nfft)
    for first in range(0, n_blocks, chunk):
        spectra_x = fft.rfft(xs[first : first + chunk], nfft, axis=1)
        spectra_y = fft.rfft(ys[first : first + chunk], nfft, axis=1)
        cross = fft.irfft(np.conj(spectra_x) * spectra_y, nfft, axis=1)
        blocks[first : first + chunk] = cross[:, :span]
    raw = blocks[:count].copy()
    for i in range(1, blocks_per_segment):
        raw += blocks[i : i + count]
    return raw


def _require_signal(x: Audio, *, name: str) -> None:
    """Raise :class:`SilentAudioError` for digital silence (peak <= -150 dBFS).

    The same test as :func:`analysis.audio.require_signal`, without the temporary
    ``abs`` array (a quarter of the alignment time on a 4-minute track).
    """
    floor = 10.0 ** (-150.0 / 20.0)
    if float(np.max(x)) <= floor and float(np.min(x)) >= -floor:
        raise SilentAudioError(f"{name} is digital silence; alignment needs signal")


def _downmix(x: Audio) -> Signal:
    """Mono downmix ``(L + R) / 2`` (the same as :func:`analysis.audio.mid`, faster)."""
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    out = np.add(x[:, 0], x[:, 1])
    out *= 0.5
    return out


def _decimate(x: Audio, rate: int) -> Signal:
    """Mono downmix resampled to :data:`COARSE_RATE` (anti-aliased), block by block.

    Streaming through soxr gives the same samples as one call on the whole downmix
    without ever holding the full-rate mono signal.
    """
    stream = soxr.ResampleStream(rate, COARSE_RATE, 1, dtype="float64", quality="HQ")
    n = x.shape[0]
    blocks = [
        stream.resample_chunk(_downmix(x[first : first + _BLOCK]), last=first + _BLOCK >= n)
        for first in range(0, n, _BLOCK)
    ]
    return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float64)


def _undrift(x: npt.NDArray[np.float64], drift: float) -> npt.NDArray[np.float64]:
    """Resample from ``rate·(1 + drift)`` to ``rate`` (soxr only needs the ratio)."""
    y = soxr.resample(x, 1.0 + drift, 1.0, quality="VHQ")
    return np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1, *x.shape[1:]))


def _tapered(x: Signal, rate: int) -> Signal:
    """Return a copy with raised-cosine ends (a quarter second, or a tenth of the length).

    Whitening turns the abrupt ends of a cut-out window into broadband clicks that
    correlate with the ends of the other window and can outvote the music; tapered
    ends do not.
    """
    edge = min(round(TAPER_SECONDS * rate), x.size // 10)
    out = x.copy()
    if edge > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(edge) + 0.5) / edge)
        out[:edge] *= ramp
        out[-edge:] *= ramp[::-1]
    return out


def _overlap(n_mix: int, n_master: int, lag: int) -> tuple[int, int]:
    """Mix-sample span ``[start, stop)`` where ``master[n + lag]`` exists."""
    return max(0, -lag), min(n_mix, n_master - lag)


def _padded(x: Signal, start: int, stop: int) -> Signal:
    """``x[start:stop]`` with zeros where the span leaves the signal."""
    out = np.zeros(stop - start)
    lo, hi = max(start, 0), min(stop, x.size)
    if lo < hi:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def _mono_padded(x: Audio, start: int, stop: int) -> Signal:
    """Mono downmix of ``x[start:stop]`` with zeros where the span leaves the audio."""
    out = np.zeros(stop - start)
    lo, hi = max(start, 0), min(stop, x.shape[0])
    if lo < hi:
        out[lo - start : hi - start] = _downmix(x[lo:hi])
    return out


def _window_energies(
    x: Signal, length: int, starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Energy of ``x[s : s + length]`` for every start ``s`` (any array shape)."""
    cumulative = np.empty(x.size + 1)
    cumulative[0] = 0.0
    np.square(x, out=cumulative[1:])
    np.cumsum(cumulative[1:], out=cumulative[1:])
    energies: npt.NDArray[np.float64] = cumulative[starts + length] - cumulative[starts]
    return np.maximum(energies, 0.0)


def _xcorr(x: Signal, y: Signal) -> Signal:
    """Whitened ``r[k] = sum_n x[n] y[n + k]`` over the valid lags ``k = 0 .. len(y) - len(x)``.

    An FFT of at least ``len(y)`` points keeps every valid lag free of circular
    wrap-around. The cross-spectrum is PHAT-weighted, regularised by
    :data:`PHAT_EPSILON` so that empty bins do not blow up, in single precision (the
    coarse peak only has to be found).
    """
    span = y.size - x.size + 1
    nfft = fft.next_fast_len(y.size, real=True)
    x, y = x.astype(np.float32), y.astype(np.float32)
    cross = np.conj(fft.rfft(x, nfft)) * fft.rfft(y, nfft)
    magnitude = np.abs(cross)
    largest = float(np.max(magnitude))
    if largest == 0.0:
        return np.zeros(span)
    cross /= magnitude + PHAT_EPSILON * largest
    return np.asarray(fft.irfft(cross, nfft)[:span], dtype=np.float64)


def _phat_peak(x: Signal, y: Signal) -> tuple[int, float]:
    """Lag ``k`` in ``0 .. len(y) - len(x)`` of the GCC-PHAT peak, and its sub-sample offset.

    The offset, in [-0.5, 0.5], is where the band-limited (sinc) interpolation of the
    whitened correlation peaks, from the :data:`_SINC_HALF` samples either side of
    the peak (away from it the whitened correlation is noise at about
    ``1/sqrt(len(x))`` of the peak, so the terms left out do not move it). A
    parabola through three samples would be biased toward the sample by up to a
    tenth of a sample on such a sinc-shaped peak.
    """
    span = y.size - x.size + 1
    nfft = fft.next_fast_len(y.size, real=True)
    cross = np.conj(fft.rfft(x, nfft)) * fft.rfft(y, nfft)
    magnitude = np.abs(cross)
    largest = float(np.max(magnitude))
    if largest == 0.0:
        return 0, 0.0
    cross /= magnitude + PHAT_EPSILON * largest
    circular = np.asarray(fft.irfft(cross, nfft), dtype=np.float64)
    index, value, _ = _peak(circular[:span])
    m = np.arange(-_SINC_HALF, _SINC_HALF + 1)
    around = circular[(index + m) % nfft] * (1.0 if value >= 0 else -1.0)
    found = optimize.minimize_scalar(
        lambda t: -float(np.sinc(t - m) @ around),
        bounds=(-0.5, 0.5),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return index, float(found.x)


def _ncc(x: Signal, y: Signal, k: int) -> float:
    """Normalised plain cross-correlation of ``x`` with ``y[k : k + len(x)]``, in [-1, 1]."""
    window = y[k : k + x.size]

    def dot(a: Signal, b: Signal) -> float:
        return float(np.einsum("i,i->", a, b))  # einsum: no BLAS thread start-up per call

    denominator = math.sqrt(dot(x, x) * dot(window, window))
    return dot(x, window) / denominator if denominator > 0 else 0.0


def _peak(r: Signal) -> tuple[int, float, float]:
    """Index and signed value of the largest ``|r|``, and its parabolic sub-sample offset."""
    index = int(np.argmax(np.abs(r)))
    offset = 0.0
    if 0 < index < r.size - 1:
        before, top, after = np.abs(r[index - 1 : index + 2])
        curvature = before - 2.0 * top + after
        if curvature < 0:
            offset = float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))
    return index, float(r[index]), offset


@dataclass(frozen=True)
class _Estimate:
    """A lag estimate: sub-sample lag and signed normalised correlation (NaN: silence)."""

    lag: float
    correlation: float

    @property
    def heard(self) -> bool:
        return math.isfinite(self.correlation)


@dataclass(frozen=True)
class _Search:
    """Mix and master at full rate and mono at 8 kHz, and the lag search on them."""

    mix: Audio
    master: Audio  # or the drift-corrected mono downmix, as (samples, 1)
    x8: Signal
    y8: Signal | None  # None: search only at full rate (a drift-corrected master)
    rate: int

    @property
    def fine_search(self) -> int:
        """``W = 2·fs/8000 + 2``: the accuracy of an 8 kHz lag, with a margin."""
        return math.ceil(2 * self.rate / COARSE_RATE) + 2

    def undrifted(self, drift: float) -> _Search:
        """Return the same search on the master resampled by ``1 + drift``."""
        master = _undrift(_downmix(self.master), drift)[:, np.newaxis]
        return _Search(self.mix, master, self.x8, None, self.rate)

    def estimate(self, start: int, length: int, lag: int, allowance: int) -> _Estimate:
        """Lag of ``x[start : start + length]`` in ``y`` within ``lag ± allowance``.

        A whitened search at 8 kHz over the allowance when it is wider than ``W``,
        then the normalised plain cross-correlation at full rate over ``±W``.
        """
        xs = _downmix(self.mix[start : start + length])
        if float(xs @ xs) <= _SILENT_POWER * length:
            return _Estimate(float(lag), math.nan)
        search = self.fine_search
        if allowance <= search or self.y8 is None:
            search += allowance
        else:
            scale = COARSE_RATE / self.rate
            start8, stop8 = round(start * scale), round((start + length) * scale)
            lag8, search8 = round(lag * scale), math.ceil(allowance * scale) + 1
            x8 = self.x8[start8:stop8]
            if x8.size and float(x8 @ x8) > 0:
                y8 = _padded(self.y8, start8 + lag8 - search8, stop8 + lag8 + search8)
                r8 = _xcorr(_tapered(x8, COARSE_RATE), y8)
                lag = round((lag8 - search8 + _peak(r8)[0]) / scale)
        ys = _mono_padded(self.master, start + lag - search, start + length + lag + search)
        index, offset = _phat_peak(_tapered(xs, self.rate), ys)
        return _Estimate(lag - search + index + offset, _ncc(xs, ys, index))


@dataclass(frozen=True)
class _Line:
    """A straight line through lag estimates, and how well they agree."""

    matched: bool  # every heard window correlates at least min_correlation
    spread: float  # max - min of the heard lags
    slope: float
    intercept: float
    residual: float  # largest distance of a heard lag from the line

    @classmethod
    def fit(cls, estimates: list[_Estimate], centres: list[float], min_correlation: float) -> _Line:
        heard = [(c, e) for c, e in zip(centres, estimates, strict=True) if e.heard]
        matched = all(abs(e.correlation) >= min_correlation for _, e in heard)
        if len(heard) < 2:
            return cls(matched, 0.0, 0.0, heard[0][1].lag if heard else 0.0, 0.0)
        t = np.array([c for c, _ in heard])
        lags = np.array([e.lag for _, e in heard])
        slope, intercept = np.polyfit(t, lags, 1)
        residual = float(np.max(np.abs(lags - (intercept + slope * t))))
        return cls(matched, float(np.ptp(lags)), float(slope), float(intercept), residual)


@dataclass(frozen=True)
class _DriftCheck:
    """The drift check on windows at 10 %, 50 % and 90 % of the overlap."""

    search: _Search
    start: int
    stop: int
    window: int
    excerpt: int  # start of the central fine-alignment excerpt
    length: int  # its length
    min_correlation: float

    def run(self, central: _Estimate) -> tuple[float, _Estimate, tuple[int, ...], bool]:
        """Check the windows, correct drift if they lie on a line, and detect edits.

        Returns the drift, the central estimate (after any correction), the window
        lags before correction, and whether the master was edited.
        """
        rate = self.search.rate
        edit_tolerance = EDIT_TOLERANCE_SECONDS * rate
        lag = round(central.lag)
        windows = self._measure(self.search, self.window, lag, central, drifting=True)
        window_lags = tuple(round(e.lag) for e in windows)
        line = _Line.fit(windows, self._centres(self.window), self.min_correlation)
        if line.matched and line.spread <= DRIFT_TOLERANCE_SAMPLES:
            return 0.0, central, window_lags, False

        # Drift smears long windows; short probes tell a drift (a line) from an edit.
        probe = round(MIN_DRIFT_WINDOW_SECONDS * rate)
        probes = self._measure(self.search, probe, lag, None, drifting=True)
        trend = _Line.fit(probes, self._centres(probe), self.min_correlation)
        # Three lags on a line leave residuals far below their spread; a step (an
        # edit between two windows) leaves a third of it, scatter about as much.
        straight = trend.residual <= max(DRIFT_TOLERANCE_SAMPLES, _STRAIGHTNESS * trend.spread)
        if not (
            trend.matched
            and trend.spread > DRIFT_TOLERANCE_SAMPLES
            and straight
            and trend.residual <= edit_tolerance
            and abs(trend.slope) <= 2 * MAX_DRIFT  # estimates near the limit scatter
        ):
            return 0.0, central, window_lags, not line.matched or line.spread > edit_tolerance

        # Resample the master and re-measure on the long windows until the lags are flat.
        drift = 0.0
        margin = math.ceil(trend.residual + MAX_DRIFT * probe) + DRIFT_TOLERANCE_SAMPLES
        for _ in range(_DRIFT_ITERATIONS):
            drift = (1.0 + drift) * (1.0 + trend.slope) - 1.0
            predicted = round(trend.intercept / (1.0 + trend.slope))
            corrected = self.search.undrifted(drift)
            central = corrected.estimate(self.excerpt, self.length, predicted, margin)
            windows = self._measure(corrected, self.window, predicted, central, margin=margin)
            trend = _Line.fit(windows, self._centres(self.window), self.min_correlation)
            margin = math.ceil(trend.spread) + DRIFT_TOLERANCE_SAMPLES
            if not trend.matched or abs(trend.slope) * (self.stop - self.start) < 0.5:
                break
        edited = not trend.matched or trend.spread > edit_tolerance
        return drift, central, window_lags, edited

    def _starts(self, window: int) -> list[int]:
        span = self.stop - self.start
        return [self.start + round(p * (span - window)) for p in DRIFT_POSITIONS]

    def _centres(self, window: int) -> list[float]:
        return [s + window / 2 for s in self._starts(window)]

    def _measure(
        self,
        search: _Search,
        window: int,
        lag: int,
        central: _Estimate | None,
        *,
        drifting: bool = False,
        margin: int = 0,
    ) -> list[_Estimate]:
        """Estimate the lag on each window; reuse the central estimate when it is one."""
        middle = self.excerpt + self.length / 2
        out = []
        for start, centre in zip(self._starts(window), self._centres(window), strict=True):
            if central is not None and start == self.excerpt and window == self.length:
                out.append(central)
                continue
            allowance = margin
            if drifting:  # the lag may wander by MAX_DRIFT away from the central excerpt
                allowance = math.ceil(MAX_DRIFT * (abs(centre - middle) + self.length / 2))
            out.append(search.estimate(start, window, lag, allowance))
        return out
