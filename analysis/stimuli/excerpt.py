"""Playback stimuli for a listening test: the same excerpt of every version, loudness-matched.

Every version of a track (the mix, its masters, the low-pass anchors) must differ only
in how it was mastered, so the pipeline removes every other difference:

1. :func:`conform` brings each version to the study's sample rate (soxr) and to stereo;
2. :func:`cut_excerpt` / :func:`master_excerpt` cut the *same* passage of every version,
   the master located in the mix's timeline through :func:`analysis.metrics.alignment.align`;
3. :func:`analysis.stimuli.anchors.lowpass_excerpt` derives the BS.1534-3 anchors
   (3.5 kHz and 7 kHz low-pass) from the reference with a linear-phase filter, so they
   stay sample-aligned;
4. :func:`apply_fades` gives every excerpt identical raised-cosine fades;
5. :func:`analysis.stimuli.levels.measure_level` measures each finished excerpt
   (BS.1770-4 loudness and true peak) and
   :func:`analysis.stimuli.levels.match_loudness` finds one gain per version that
   brings all of them to a common target, lowering the target for the whole track
   when a version would otherwise exceed the true-peak ceiling (nothing is ever
   limited or clipped).

All audio is ``(samples, channels)`` float64. Nothing here reads or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.audio import Audio, Signal, as_audio, check_rate, resample, to_stereo
from analysis.errors import InvalidInputError, TooShortError
from analysis.metrics.alignment import Alignment, align, aligned_pair


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
        negative), for :func:`cut_excerpt` and :func:`analysis.stimuli.anchors.lowpass_excerpt`.

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
    master, mix : numpy.ndarray
        ``(samples, channels)`` master and mix at ``spec.rate``, as for :func:`align_to_mix`.
    spec : ExcerptSpec
        The excerpt, in the mix's timeline.
    max_lag_seconds, min_correlation : float
        The search range and the acceptance threshold of :func:`align_to_mix`.

    Returns
    -------
    excerpt : numpy.ndarray
        ``(spec.frames, channels)`` polarity- and drift-corrected master excerpt that
        lines up sample for sample with the mix's excerpt.
    alignment : Alignment
        What :func:`align_to_mix` found.

    Raises
    ------
    AlignmentError
        As :func:`align_to_mix`.
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
