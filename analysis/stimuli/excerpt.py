"""Playback stimuli for a listening test: the same excerpt of every version, loudness-matched.

Every version of a track (the mix, its masters, the low-pass anchors) must differ only
in how it was mastered, so the pipeline removes every other difference:

1. :func:`conform` brings each version to the study's sample rate (soxr) and to stereo;
2. :func:`cut_excerpt` / :func:`master_excerpt` cut the *same* passage of every version,
   the master located in the mix's timeline through :func:`analysis.metrics.alignment.align`;
3. :func:`lowpass_excerpt` derives the BS.1534-3 anchors (3.5 kHz and 7 kHz low-pass)
   from the reference with a linear-phase filter, so they stay sample-aligned;
4. :func:`apply_fades` gives every excerpt identical raised-cosine fades;
5. :func:`measure_level` measures each finished excerpt (BS.1770-4 loudness and true
   peak) and :func:`match_loudness` finds one gain per version that brings all of them
   to a common target, lowering the target for the whole track when a version would
   otherwise exceed the true-peak ceiling (nothing is ever limited or clipped).

All audio is ``(samples, channels)`` float64. Nothing here reads or writes files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

from analysis.audio import Audio, Signal, as_audio, check_rate, resample, to_stereo
from analysis.errors import InvalidInputError, TooShortError
from analysis.metrics.alignment import Alignment, align, aligned_pair
from analysis.metrics.loudness import integrated_loudness
from analysis.metrics.true_peak import true_peak

#: Stop-band attenuation of the anchor low-pass filters, in dB.
ANCHOR_STOPBAND_DB = 100.0
#: Transition band of the anchor filters as a fraction of the cut-off: the pass band
#: ends at ``(1 - ANCHOR_TRANSITION) * cutoff`` and the stop band starts at the cut-off.
ANCHOR_TRANSITION = 0.05
#: Oversampling of the second, stricter true-peak reading the ceiling is held to: at 32x
#: the interpolated peak is within 0.01 dB of the continuous-time peak wherever the
#: interpolator passes the signal, where the standard's 4x read up to 0.15 dB lower on
#: bright limited material (benchmarks/bench_true_peak.py).
STRICT_OVERSAMPLING = 32
#: Head-room kept below the true-peak ceiling, in dB, above the stricter of the 4x and
#: 32x readings. Chosen from measurement (benchmarks/bench_true_peak.py, RESULTS.md): on
#: 720 encoded excerpts set to the ceiling on that reading, libebur128's meter (its own
#: interpolator) read at most 0.044 dB above it, and the 16-bit TPDF dither moved the
#: 4x and 32x readings by at most 0.0004 dB; 0.06 dB covers both with a third to spare.
TRUE_PEAK_MARGIN_DB = 0.06


@dataclass(frozen=True)
class ExcerptSpec:
    """Where the excerpt sits and how it is faded, at the playback rate.

    Attributes
    ----------
    rate : int
        Playback sample rate in Hz.
    start : float
        Start of the excerpt in seconds, in the mix's timeline.
    length : float
        Length of the excerpt in seconds.
    fade_ms : float
        Length of the raised-cosine fade-in and of the fade-out, in milliseconds.
    """

    rate: int
    start: float
    length: float
    fade_ms: float = 20.0

    def __post_init__(self) -> None:
        check_rate(self.rate)
        if not (math.isfinite(self.start) and self.start >= 0):
            raise InvalidInputError(f"excerpt start={self.start!r} s must be >= 0")
        if not (math.isfinite(self.length) and self.length > 0):
            raise InvalidInputError(f"excerpt length={self.length!r} s must be > 0")
        if not (math.isfinite(self.fade_ms) and self.fade_ms >= 0):
            raise InvalidInputError(f"fade_ms={self.fade_ms!r} must be >= 0")
        if 2 * self.fade_frames > self.frames:
            raise InvalidInputError(
                f"fades of {self.fade_ms:g} ms do not fit an excerpt of {self.length:g} s"
            )

    @property
    def start_frame(self) -> int:
        """First sample of the excerpt in the mix's timeline."""
        return round(self.start * self.rate)

    @property
    def frames(self) -> int:
        """Length of the excerpt in samples."""
        return round(self.length * self.rate)

    @property
    def fade_frames(self) -> int:
        """Length of each fade in samples."""
        return round(self.fade_ms * self.rate / 1000.0)


@dataclass(frozen=True)
class Level:
    """Loudness and true peak of one finished excerpt, before any gain.

    Attributes
    ----------
    loudness_lufs : float
        BS.1770-4 integrated loudness, LUFS.
    true_peak_dbtp : float
        BS.1770-4 Annex 2 true peak (4x oversampling at 44.1/48 kHz), dBTP.
    oversampled_peak_dbtp : float, optional
        True peak at :data:`STRICT_OVERSAMPLING` times the rate, dBTP (None: not
        measured).
    """

    loudness_lufs: float
    true_peak_dbtp: float
    oversampled_peak_dbtp: float | None = None

    @property
    def peak_dbtp(self) -> float:
        """The higher of the two true-peak readings, dBTP: what the ceiling is held to."""
        if self.oversampled_peak_dbtp is None:
            return self.true_peak_dbtp
        return max(self.true_peak_dbtp, self.oversampled_peak_dbtp)

    @property
    def plr(self) -> float:
        """Peak-to-loudness ratio in dB (of :attr:`peak_dbtp`): what a gain cannot change."""
        return self.peak_dbtp - self.loudness_lufs


@dataclass(frozen=True)
class LoudnessMatch:
    """The common playback loudness of a track's versions and the gain of each.

    Attributes
    ----------
    target_lufs : float
        Loudness every version plays at: the requested target, or lower when a
        version would otherwise exceed the true-peak ceiling.
    requested_lufs : float
        The study's target.
    gains_db : tuple of float
        Gain of each version, in the order given.
    true_peaks_dbtp : tuple of float
        True peak of each version after its gain (the higher reading, see
        :attr:`Level.peak_dbtp`).
    """

    target_lufs: float
    requested_lufs: float
    gains_db: tuple[float, ...]
    true_peaks_dbtp: tuple[float, ...]

    @property
    def lowered_by(self) -> float:
        """How far the target was lowered to respect the ceiling, in LU (0 when not)."""
        return self.requested_lufs - self.target_lufs


def conform(x: Audio, rate_in: int, rate_out: int) -> Audio:
    """Resample audio to the playback rate and make it stereo.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` mono or stereo audio.
    rate_in, rate_out : int
        Sample rates in Hz.

    Returns
    -------
    numpy.ndarray
        ``(samples, 2)`` float64 audio at ``rate_out`` (soxr very-high quality).

    Examples
    --------
    >>> conform(np.zeros((44100, 1)), 44100, 48000).shape
    (48000, 2)
    """
    x = as_audio(x)
    return to_stereo(resample(x, check_rate(rate_in), check_rate(rate_out)))


def conform_span(
    x: Audio,
    rate_in: int,
    spec: ExcerptSpec,
    *,
    offset: int = 0,
    margin_seconds: float = 0.5,
) -> tuple[Audio, int]:
    """Conform only the part of a track around the excerpt to the playback rate.

    Resampling a whole 4-minute track to play 30 s of it is most of the cost of
    preparing a stimulus. This cuts the excerpt plus ``margin_seconds`` on each side
    at the source rate, on the grid where source and playback samples coincide, and
    conforms just that, so the excerpt is the same as one cut from :func:`conform`
    of the whole track (the margin absorbs the resampler's edge transients).

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` mono or stereo audio at ``rate_in``.
    rate_in : int
        Sample rate of ``x`` in Hz.
    spec : ExcerptSpec
        The excerpt, in the mix's timeline at the playback rate.
    offset : int
        Index in ``x`` (at ``rate_in``) of the mix's sample 0: 0 for the mix, the
        offset from :func:`align_to_mix` for a master aligned at ``rate_in``.
    margin_seconds : float
        Audio kept on each side of the excerpt, where ``x`` has it (for the resampler
        and for the anchors' low-pass filter).

    Returns
    -------
    span : numpy.ndarray
        ``(samples, 2)`` float64 audio at ``spec.rate``.
    span_offset : int
        Index in ``span`` of the mix's sample 0 at the playback rate (usually
        negative), for :func:`cut_excerpt` and :func:`lowpass_excerpt`.

    Examples
    --------
    >>> spec = ExcerptSpec(rate=48000, start=2.0, length=1.0, fade_ms=0)
    >>> span, span_offset = conform_span(np.ones((44100 * 5, 1)), 44100, spec)
    >>> cut_excerpt(span, spec, offset=span_offset).shape
    (48000, 2)
    """
    rate_in = check_rate(rate_in)
    common = math.gcd(rate_in, spec.rate)
    step_in, step_out = rate_in // common, spec.rate // common  # grid where samples coincide
    first = math.floor(max(0.0, spec.start - margin_seconds) * rate_in / step_in)
    first = max(first, -(offset // step_in))  # do not start before x does
    lo = offset + first * step_in
    hi = min(x.shape[0], offset + math.ceil((spec.start + spec.length + margin_seconds) * rate_in))
    if hi <= lo:  # x holds nothing of the excerpt: cut_excerpt names the problem
        return np.zeros((0, 2)), -first * step_out
    return conform(x[lo:hi], rate_in, spec.rate), -first * step_out


def cut_excerpt(x: Audio, spec: ExcerptSpec, *, offset: int = 0, name: str = "audio") -> Audio:
    """Cut the excerpt from audio whose sample ``offset`` is the mix's first sample.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio at ``spec.rate``.
    spec : ExcerptSpec
        Where the excerpt sits in the mix's timeline.
    offset : int
        Index in ``x`` of the mix's sample 0 (0 for the mix itself; the alignment lag
        for a master that was not trimmed).
    name : str
        What the audio is, for the error message.

    Returns
    -------
    numpy.ndarray
        ``(spec.frames, channels)`` copy of the excerpt.

    Raises
    ------
    TooShortError
        If the audio does not cover the whole excerpt; the message gives how much of
        it the audio holds.

    Examples
    --------
    >>> spec = ExcerptSpec(rate=8000, start=1.0, length=0.5, fade_ms=0)
    >>> cut_excerpt(np.ones((16000, 2)), spec).shape
    (4000, 2)
    """
    x = np.asarray(x)
    if x.ndim != 2:
        x = as_audio(x, name=name)
    first = spec.start_frame + offset
    last = first + spec.frames
    if first < 0 or last > x.shape[0]:
        available = max(0, min(last, x.shape[0]) - max(first, 0))
        raise TooShortError(
            f"the excerpt of the {name} ({spec.start:g}-{spec.start + spec.length:g} s "
            "in the mix's timeline)",
            available / spec.rate,
            spec.length,
        )
    # Validate only what is used: whole tracks are long and were checked when decoded.
    return np.array(as_audio(x[first:last], name=name), dtype=np.float64, copy=True)


def align_to_mix(
    master: Audio,
    mix: Audio,
    rate: int,
    *,
    max_lag_seconds: float = 10.0,
    min_correlation: float = 0.3,
) -> tuple[Audio, int, Alignment]:
    """Align a master to its mix and say where the mix's first sample falls in it.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master at ``rate`` (see :func:`conform`).
    mix : numpy.ndarray
        ``(samples, channels)`` mix at ``rate``.
    rate : int
        The common sample rate in Hz.
    max_lag_seconds : float
        Largest offset between master and mix searched for.
    min_correlation : float
        Smallest correlation accepted as "the same music".

    Returns
    -------
    master : numpy.ndarray
        The polarity-corrected master; when its clock drifts, also resampled to the
        mix's clock and trimmed to the span it shares with the mix.
    offset : int
        Index in the returned master of the mix's sample 0 (negative when the master
        starts later in the music than the mix), for :func:`cut_excerpt`.
    alignment : Alignment
        The lag, polarity, correlation and drift found.

    Raises
    ------
    AlignmentError
        If the master does not match the mix (the message gives the best correlation).

    References
    ----------
    .. [1] docs/metrics.md (alignment) and ITU-R BS.1534-3 (every item of a trial plays
       the same excerpt).
    """
    alignment = align(
        master, mix, rate, max_lag_seconds=max_lag_seconds, min_correlation=min_correlation
    )
    if alignment.drift != 0.0:
        # Resample the drifting clock away; aligned_pair also drops the mix's start
        # when the master begins later in the music.
        y, _ = aligned_pair(master, mix, alignment)
        return y, -max(0, -alignment.lag), alignment
    # Without drift a shift is enough: no copy of the whole track beyond the polarity.
    y = np.asarray(master, dtype=np.float64)
    return (y if alignment.polarity > 0 else -y), alignment.lag, alignment


def master_excerpt(
    master: Audio,
    mix: Audio,
    spec: ExcerptSpec,
    *,
    max_lag_seconds: float = 10.0,
    min_correlation: float = 0.3,
) -> tuple[Audio, Alignment]:
    """Align a master to its mix and cut the mix's excerpt from it.

    Parameters
    ----------
    master : numpy.ndarray
        ``(samples, channels)`` master at ``spec.rate`` (see :func:`conform`).
    mix : numpy.ndarray
        ``(samples, channels)`` mix at ``spec.rate``.
    spec : ExcerptSpec
        The excerpt, in the mix's timeline.
    max_lag_seconds : float
        Largest offset between master and mix searched for.
    min_correlation : float
        Smallest correlation accepted as "the same music".

    Returns
    -------
    excerpt : numpy.ndarray
        ``(spec.frames, channels)`` polarity- and drift-corrected master excerpt that
        lines up sample for sample with the mix's excerpt.
    alignment : Alignment
        The lag, polarity, correlation and drift found.

    Raises
    ------
    AlignmentError
        If the master does not match the mix (the message gives the best correlation).
    TooShortError
        If the master does not cover the whole excerpt once aligned.

    Examples
    --------
    >>> mix = np.random.default_rng(0).standard_normal((80000, 2))
    >>> master = -np.concatenate([np.zeros((4000, 2)), mix])
    >>> spec = ExcerptSpec(rate=8000, start=2.0, length=3.0, fade_ms=0)
    >>> excerpt, alignment = master_excerpt(master, mix, spec)
    >>> alignment.lag, bool(np.allclose(excerpt, cut_excerpt(mix, spec)))
    (4000, True)
    """
    y, offset, alignment = align_to_mix(
        master, mix, spec.rate, max_lag_seconds=max_lag_seconds, min_correlation=min_correlation
    )
    return cut_excerpt(y, spec, offset=offset, name="master"), alignment


@lru_cache(maxsize=16)
def _lowpass_taps(rate: int, cutoff_hz: float) -> Signal:
    width = ANCHOR_TRANSITION * cutoff_hz
    numtaps, beta = signal.kaiserord(ANCHOR_STOPBAND_DB, width / (0.5 * rate))
    numtaps |= 1  # odd length: a whole-sample delay that "same" convolution removes
    taps = signal.firwin(
        numtaps, cutoff_hz - width / 2, window=("kaiser", beta), fs=rate, scale=True
    )
    return np.asarray(taps, dtype=np.float64)


def lowpass(x: Audio, rate: int, cutoff_hz: float) -> Audio:
    """Low-pass audio with a linear-phase FIR whose stop band starts at the cut-off.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio.
    rate : int
        Sample rate in Hz.
    cutoff_hz : float
        Start of the stop band, in Hz; everything above it is attenuated by at least
        :data:`ANCHOR_STOPBAND_DB`. The pass band ends at ``(1 - ANCHOR_TRANSITION)``
        times the cut-off.

    Returns
    -------
    numpy.ndarray
        Filtered audio, same shape, with no delay (zero-phase in effect).

    References
    ----------
    .. [1] ITU-R BS.1534-3, Attachment 2: low-range (3.5 kHz) and mid-range (7 kHz)
       anchors are low-pass filtered versions of the reference.
    .. [2] J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window
       function", Proc. IEEE ISCAS, 1974 (window design via ``scipy.signal.kaiserord``).

    Examples
    --------
    >>> rate = 48000
    >>> t = np.arange(rate) / rate
    >>> y = lowpass(np.sin(2 * np.pi * 5000 * t)[:, None], rate, 3500.0)
    >>> bool(np.max(np.abs(y[2000:-2000])) < 1e-4)
    True
    """
    x = as_audio(x)
    rate = check_rate(rate)
    if not 0 < cutoff_hz < rate / 2:
        raise InvalidInputError(f"cutoff_hz={cutoff_hz!r} must be between 0 and {rate / 2:g} Hz")
    taps = _lowpass_taps(rate, float(cutoff_hz))
    y = signal.oaconvolve(x, taps[:, np.newaxis], mode="same", axes=0)
    return np.ascontiguousarray(y, dtype=np.float64)


def lowpass_excerpt(
    x: Audio, spec: ExcerptSpec, cutoff_hz: float, *, offset: int = 0, name: str = "reference"
) -> Audio:
    """Cut the excerpt from the reference and low-pass it into an anchor.

    The filter runs over the excerpt plus the filter's half length on each side where
    the audio has it, so the anchor has no edge transient that the other versions lack.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` reference audio at ``spec.rate``.
    spec : ExcerptSpec
        The excerpt.
    cutoff_hz : float
        Anchor cut-off (3500 or 7000 Hz in BS.1534-3).
    offset : int
        Index in ``x`` of the mix's sample 0.
    name : str
        What the audio is, for error messages.

    Returns
    -------
    numpy.ndarray
        ``(spec.frames, channels)`` band-limited excerpt, sample-aligned with the
        reference's excerpt.
    """
    cut_excerpt(x, spec, offset=offset, name=name)  # same range check and message
    x = np.asarray(x, dtype=np.float64)
    margin = _lowpass_taps(spec.rate, float(cutoff_hz)).size // 2
    first = spec.start_frame + offset
    lo = max(0, first - margin)
    hi = min(x.shape[0], first + spec.frames + margin)
    filtered = lowpass(x[lo:hi], spec.rate, cutoff_hz)
    return np.ascontiguousarray(filtered[first - lo : first - lo + spec.frames])


def raised_cosine(n: int) -> Signal:
    """Return a raised-cosine (half Hann) fade-in of ``n`` samples, from 0 towards 1.

    Parameters
    ----------
    n : int
        Length in samples.

    Returns
    -------
    numpy.ndarray
        ``0.5 - 0.5 cos(pi k / n)`` for ``k = 0 .. n-1``.

    Examples
    --------
    >>> raised_cosine(4).round(3).tolist()
    [0.0, 0.146, 0.5, 0.854]
    """
    if n < 0:
        raise InvalidInputError(f"fade length n={n} must be >= 0")
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * np.arange(n) / max(n, 1)), dtype=np.float64)


def apply_fades(x: Audio, spec: ExcerptSpec) -> Audio:
    """Fade an excerpt in and out with identical raised-cosine ramps.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` excerpt.
    spec : ExcerptSpec
        Gives the fade length.

    Returns
    -------
    numpy.ndarray
        Faded copy of the excerpt.

    Examples
    --------
    >>> spec = ExcerptSpec(rate=8000, start=0, length=1.0, fade_ms=10)
    >>> y = apply_fades(np.ones((8000, 1)), spec)
    >>> float(y[0, 0]), float(y[4000, 0]), float(y[-1, 0])
    (0.0, 1.0, 0.0)
    """
    x = as_audio(x)
    n = spec.fade_frames
    if 2 * n > x.shape[0]:
        raise InvalidInputError(f"fades of {n} samples do not fit {x.shape[0]} samples")
    y = x.copy()
    if n:
        ramp = raised_cosine(n)[:, np.newaxis]
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def measure_level(x: Audio, rate: int, *, name: str = "excerpt") -> Level:
    """Measure the integrated loudness and true peak of a finished excerpt.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` excerpt, exactly as it will play.
    rate : int
        Sample rate in Hz.
    name : str
        What the audio is, for error messages.

    Returns
    -------
    Level
        Loudness (LUFS), true peak at the standard's oversampling and at
        :data:`STRICT_OVERSAMPLING` (dBTP).

    Raises
    ------
    SilentAudioError, TooShortError
        If the excerpt has no measurable loudness.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1 (loudness) and Annex 2 (true peak).
    """
    x = as_audio(x, name=name)
    return Level(
        integrated_loudness(x, rate),
        true_peak(x, rate),
        true_peak(x, rate, oversampling=STRICT_OVERSAMPLING),
    )


def match_loudness(
    levels: Sequence[Level],
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    margin_db: float = TRUE_PEAK_MARGIN_DB,
) -> LoudnessMatch:
    """Find one gain per version that brings every version of a track to one loudness.

    If some version would then exceed the true-peak ceiling, the common target is
    lowered for the whole track until the version with the highest peak-to-loudness
    ratio just meets it: ``target = min(target, ceiling - margin - max(PLR))``, where
    the PLR uses the higher of the 4x and 32x true-peak readings and the margin covers
    other meters' interpolators and the encoder's dither. Every version still gets a
    plain gain; nothing is limited.

    Parameters
    ----------
    levels : sequence of Level
        Loudness and true peak of each finished excerpt, before gain.
    target_lufs : float
        The study's loudness target, LUFS (e.g. -23).
    ceiling_dbtp : float
        Highest true peak allowed after gain, dBTP (e.g. -1).
    margin_db : float
        Head-room under the ceiling for other meters and the encoder's dither
        (:data:`TRUE_PEAK_MARGIN_DB`).

    Returns
    -------
    LoudnessMatch
        The track's playback loudness and each version's gain.

    References
    ----------
    .. [1] ITU-R BS.1770-4 (loudness and true peak); EBU R 128 (normalise to a
       loudness target with a true-peak ceiling).
    .. [2] docs/statistics.md (Post-screening of assessors), "Loudness matching for this project".

    Examples
    --------
    >>> m = match_loudness([Level(-10.0, -0.5), Level(-16.0, -8.0)],
    ...                    target_lufs=-14.0, ceiling_dbtp=-1.0, margin_db=0.0)
    >>> m.target_lufs, m.gains_db
    (-14.0, (-4.0, 2.0))
    >>> match_loudness([Level(-20.0, -3.0)], target_lufs=-14.0, ceiling_dbtp=-1.0,
    ...                margin_db=0.0).target_lufs
    -18.0
    """
    if not levels:
        raise InvalidInputError("match_loudness needs at least one level")
    for value, name in ((target_lufs, "target_lufs"), (ceiling_dbtp, "ceiling_dbtp")):
        if not math.isfinite(value):
            raise InvalidInputError(f"{name}={value!r} must be finite")
    worst = max(level.plr for level in levels)
    target = min(float(target_lufs), float(ceiling_dbtp) - float(margin_db) - worst)
    gains = tuple(target - level.loudness_lufs for level in levels)
    peaks = tuple(level.peak_dbtp + g for level, g in zip(levels, gains, strict=True))
    return LoudnessMatch(
        target_lufs=target,
        requested_lufs=float(target_lufs),
        gains_db=gains,
        true_peaks_dbtp=peaks,
    )


def apply_gain(x: Audio, gain_db: float) -> Audio:
    """Scale audio by a gain in dB.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio.
    gain_db : float
        Gain in dB.

    Returns
    -------
    numpy.ndarray
        Scaled copy.

    Examples
    --------
    >>> round(float(apply_gain(np.ones((1, 1)), -6.0206)[0, 0]), 4)
    0.5
    """
    scaled: Audio = as_audio(x) * math.pow(10.0, gain_db / 20.0)
    return scaled


def quantize(x: Audio, bits: int, *, rng: np.random.Generator | None = None) -> Audio:
    """Round audio to the grid of ``bits``-bit PCM, with TPDF dither when ``rng`` is given.

    The dither is the sum of two independent uniform variables of one LSB each
    (triangular, peak ±1 LSB), added before rounding, so the error is signal-
    independent noise (Lipshitz, Wannamaker & Vanderkooy 1992). The result is exactly
    representable, so writing it as ``PCM_<bits>`` stores these values unchanged.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio in [-1, 1].
    bits : int
        16 or 24.
    rng : numpy.random.Generator, optional
        Source of the dither; None rounds without dither.

    Returns
    -------
    numpy.ndarray
        ``k / 2**(bits - 1)`` for integers ``k`` in ``[-2**(bits-1), 2**(bits-1) - 1]``.

    Raises
    ------
    InvalidInputError
        If ``bits`` is not 16 or 24.

    References
    ----------
    .. [1] S. P. Lipshitz, R. A. Wannamaker and J. Vanderkooy, "Quantization and
       dither: a theoretical survey", J. Audio Eng. Soc. 40(5), 355-375, 1992.

    Examples
    --------
    >>> quantize(np.array([[0.1], [-0.1]]), 16).ravel().tolist()
    [0.100006103515625, -0.100006103515625]
    """
    if bits not in (16, 24):
        raise InvalidInputError(f"bits={bits!r} must be 16 or 24")
    x = as_audio(x)
    scale = float(2 ** (bits - 1))
    y = x * scale
    if rng is not None:
        y += rng.uniform(-0.5, 0.5, y.shape)
        y += rng.uniform(-0.5, 0.5, y.shape)
    quantized: Audio = np.clip(np.round(y), -scale, scale - 1.0) / scale
    return quantized
