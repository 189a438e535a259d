"""One trial of either headphone-screening test (docs/stimuli.md, Headphone screening).

Two three-interval forced-choice tests tell headphone listeners from loudspeaker
listeners:

* the anti-phase test of Woods et al. (2017): "which tone is quietest?", where one
  of three 200 Hz tones is in anti-phase between the ears (R = -L) and sounds
  quietest only over loudspeakers, and another is 6 dB down (the right answer);
* the Huggins-pitch test of Milne et al. (2021): "which noise contains the hidden
  beep?", where one of three white-noise bursts has a 180° interaural phase shift
  in a ±6 % band around 600 Hz, audible as a faint pitch only over headphones.

The stimuli are generated on the server from a seed, so the answer never has to
reach the browser. Audio is ``(samples, 2)`` float64, interval indices are 0-based.
Seeded blocks of trials and their scoring are in :mod:`analysis.stimuli.screening`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from analysis.audio import Audio, Signal, check_rate
from analysis.errors import InvalidInputError
from analysis.stimuli.shaping import Seed, hann_ramps, positive, ramp_samples, rng_from

#: Number of intervals in every screening trial (three-alternative forced choice).
N_INTERVALS: Final = 3

#: The six orderings of the anti-phase test, as in the reference file names
#: ``antiphase_HC_<order>.wav``: I = in-phase standard, O = out-of-phase
#: (anti-phase) standard, S = soft (6 dB down, the correct answer).
ANTIPHASE_ORDERS: Final = ("ISO", "IOS", "SOI", "SIO", "OSI", "OIS")

#: Amplitude ratio of the soft tone: half the standard, 20·log10(2) = 6.02 dB down.
SOFT_RATIO: Final = 0.5
#: Gaussian noise is clipped at this many standard deviations (Milne et al. 2021).
NOISE_CLIP_SIGMA: Final = 4.2
#: The clipped noise is scaled so that the clip level lands here (full scale = 1).
NOISE_PEAK: Final = 0.99


@dataclass(frozen=True)
class ScreeningTrial:
    """One three-interval screening trial.

    Attributes
    ----------
    kind : str
        ``"antiphase"`` or ``"huggins"``.
    audio : numpy.ndarray
        ``(samples, 2)`` float64 stereo clip holding the three intervals.
    rate : int
        Sample rate in Hz.
    correct : int
        Index (0, 1 or 2) of the interval the listener should pick; keep it on the server.
    order : str
        One letter per interval: ``I``/``O``/``S`` (in-phase, out-of-phase, soft) for the
        anti-phase test, ``N``/``H`` (diotic noise, Huggins pitch) for the Huggins test.
    onsets : tuple of float
        Start time of each interval in seconds.
    """

    kind: str
    audio: Audio
    rate: int
    correct: int
    order: str
    onsets: tuple[float, ...]


def _concatenate(intervals: Sequence[Audio], gap: int) -> tuple[Audio, tuple[int, ...]]:
    """Join stereo intervals with ``gap`` samples of silence between them."""
    silence = np.zeros((gap, 2))
    parts: list[Audio] = []
    onsets: list[int] = []
    at = 0
    for k, part in enumerate(intervals):
        if k:
            parts.append(silence)
            at += gap
        onsets.append(at)
        parts.append(part)
        at += part.shape[0]
    return np.ascontiguousarray(np.concatenate(parts)), tuple(onsets)


def antiphase_trial(
    seed: Seed = 0,
    rate: int = 44100,
    *,
    order: str | None = None,
    tone_hz: float = 200.0,
    tone_s: float = 1.0,
    ramp_s: float = 0.1,
    gap_s: float = 0.5,
    peak: float = 0.5,
) -> ScreeningTrial:
    """Generate one trial of the anti-phase headphone test ("which tone is quietest?").

    Three ``tone_hz`` sine tones of ``tone_s`` seconds, each with raised-cosine on and
    off ramps of ``ramp_s`` seconds, separated by ``gap_s`` seconds of silence: a
    diotic standard (``I``), the same tone in anti-phase between the ears, R = -L
    (``O``), and a diotic tone at half the standard's amplitude, 6.02 dB down (``S``,
    the correct answer). Over loudspeakers the anti-phase tone partly cancels and
    sounds quietest, so loudspeaker listeners tend to pick it.

    The defaults follow the reference stimuli of Woods et al.: 200 Hz, 1 s tones with
    100 ms ramps (an 800 ms steady part) and 500 ms gaps. Every tone starts at sine
    phase 0, so the three intervals differ only in level and interaural phase.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Draws the order uniformly from :data:`ANTIPHASE_ORDERS` when ``order`` is None.
    rate : int
        Sample rate in Hz.
    order : str, optional
        One of :data:`ANTIPHASE_ORDERS` to fix the order instead of drawing it.
    tone_hz : float
        Tone frequency in Hz.
    tone_s, ramp_s, gap_s : float
        Tone length, ramp length and gap length in seconds.
    peak : float
        Peak amplitude of the standard tones (full scale = 1); the soft tone peaks at
        half of it. Scale the result to a calibrated level with
        :func:`analysis.stimuli.screening.screening_trials`.

    Returns
    -------
    ScreeningTrial
        ``audio`` is ``(samples, 2)``; ``correct`` is the index of the soft tone.

    Raises
    ------
    InvalidInputError
        For an unknown order, a non-positive duration or frequency, a ramp longer than
        half the tone, a frequency at or above Nyquist, or a peak outside (0, 1].

    References
    ----------
    .. [1] K. J. P. Woods, M. H. Siegel, J. Traer and J. H. McDermott, "Headphone
       screening to facilitate web-based auditory experiments", Atten. Percept.
       Psychophys. 79(7), 2064-2072, 2017. Reference code: mcdermottLab/HeadphoneCheck.

    Examples
    --------
    >>> trial = antiphase_trial(seed=1, rate=16000)
    >>> trial.audio.shape, trial.order[trial.correct]
    ((64000, 2), 'S')
    """
    rate = check_rate(rate)
    if order is None:
        order = ANTIPHASE_ORDERS[int(rng_from(seed).integers(len(ANTIPHASE_ORDERS)))]
    if order not in ANTIPHASE_ORDERS:
        raise InvalidInputError(f"order={order!r} must be one of {ANTIPHASE_ORDERS}")
    tone_hz = positive(tone_hz, "tone_hz")
    if tone_hz >= rate / 2:
        raise InvalidInputError(f"tone_hz={tone_hz!r} must be below Nyquist ({rate / 2:g} Hz)")
    if not 0 < peak <= 1:
        raise InvalidInputError(f"peak={peak!r} must be in (0, 1]")
    n = round(positive(tone_s, "tone_s") * rate)
    gap = round(positive(gap_s, "gap_s") * rate)
    ramp = ramp_samples(ramp_s, n, rate, "ramp_s")

    tone = peak * np.sin(2.0 * np.pi * tone_hz * np.arange(n) / rate) * hann_ramps(n, ramp)
    standard = np.column_stack([tone, tone])
    intervals = {
        "I": standard,
        "O": np.column_stack([tone, -tone]),
        "S": SOFT_RATIO * standard,
    }
    audio, onsets = _concatenate([intervals[letter] for letter in order], gap)
    return ScreeningTrial(
        kind="antiphase",
        audio=audio,
        rate=rate,
        correct=order.index("S"),
        order=order,
        onsets=tuple(k / rate for k in onsets),
    )


def _clipped_noise(rng: np.random.Generator, n: int) -> Signal:
    """Gaussian white noise clipped at ±4.2 σ and scaled so the clip level is 0.99."""
    noise = np.clip(rng.standard_normal(n), -NOISE_CLIP_SIGMA, NOISE_CLIP_SIGMA)
    return noise * (NOISE_PEAK / NOISE_CLIP_SIGMA)


def huggins_band(
    n: int, rate: int, centre_hz: float = 600.0, width: float = 0.06
) -> npt.NDArray[np.bool_]:
    """Return which ``rfft`` bins of an ``n``-sample frame lie in the Huggins band.

    Parameters
    ----------
    n : int
        Frame length in samples.
    rate : int
        Sample rate in Hz.
    centre_hz : float
        Centre frequency of the phase-shifted band.
    width : float
        Relative half-width: the band is ``centre_hz * (1 ± width)`` inclusive.

    Returns
    -------
    numpy.ndarray
        Boolean mask of length ``n // 2 + 1``.

    Examples
    --------
    >>> int(huggins_band(44100, 44100).sum())  # 564..636 Hz at 1 Hz spacing
    73
    """
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    tolerance = 1e-9 * rate  # so that band edges computed in floating point are included
    low, high = centre_hz * (1.0 - width), centre_hz * (1.0 + width)
    return np.asarray((freqs >= low - tolerance) & (freqs <= high + tolerance))


def huggins_trial(
    seed: Seed = 0,
    rate: int = 44100,
    *,
    target: int | None = None,
    centre_hz: float = 600.0,
    width: float = 0.06,
    burst_s: float = 1.0,
    gap_s: float = 1.0,
    ramp_s: float = 0.01,
) -> ScreeningTrial:
    """Generate one trial of the Huggins-pitch headphone test ("which noise has the beep?").

    Three bursts of independent Gaussian white noise (clipped at ±4.2 σ and scaled so
    that the clip level is 0.99 of full scale), ``burst_s`` seconds each, separated by
    ``gap_s`` seconds of silence. Two bursts are diotic (``N``). In the target burst
    (``H``) the right ear receives the same noise with the sign of every FFT bin in
    ``centre_hz * (1 ± width)`` flipped (a 180° phase shift, 564-636 Hz by default):
    each ear alone has exactly the same magnitude spectrum, and only the interaural
    phase differs, which over headphones is heard as a faint pitch near 600 Hz.

    The burst is shaped by raised-cosine ramps of ``ramp_s`` seconds *before* its band is
    flipped, so both ears keep identical magnitude spectra; the reference generator uses
    no ramps (``ramp_s=0`` reproduces it). It flips the left ear while the paper names
    the right one; either works, and this follows the paper. Levels follow the reference
    (the flipped ear can peak slightly above 0.99): scale the result to the study's
    listening level, e.g. with :func:`analysis.stimuli.screening.screening_trials`.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Seeds the noise and, when ``target`` is None, draws the target burst uniformly.
    rate : int
        Sample rate in Hz.
    target : int, optional
        Index (0, 1 or 2) of the Huggins burst, to fix it instead of drawing it.
    centre_hz, width : float
        Centre frequency of the phase-shifted band and its relative half-width.
    burst_s, gap_s, ramp_s : float
        Burst length, silence between bursts and on/off ramp length in seconds.

    Returns
    -------
    ScreeningTrial
        ``audio`` is ``(samples, 2)``; ``correct`` is the index of the Huggins burst.

    Raises
    ------
    InvalidInputError
        For a target outside 0..2, a non-positive duration, a band that does not fit
        below Nyquist or holds no FFT bin, or a ramp longer than half a burst.

    References
    ----------
    .. [1] A. E. Milne, R. Bianco, K. C. Poole, S. Zhao, A. J. Oxenham, A. J. Billig and
       M. Chait, "An online headphone screening test based on dichotic pitch", Behav.
       Res. Methods 53, 1551-1562, 2021. Reference code: ChaitLabUCL/HeadphoneCheck_Test
       (``generateStim_HugginsPitch/makeHPitch.m``).
    .. [2] E. M. Cramer and W. H. Huggins, "Creation of pitch through binaural
       interaction", J. Acoust. Soc. Am. 30(5), 413-417, 1958.

    Examples
    --------
    >>> trial = huggins_trial(seed=3, rate=16000)
    >>> trial.audio.shape, trial.order.count("H")
    ((80000, 2), 1)
    """
    rate = check_rate(rate)
    rng = rng_from(seed)
    if target is None:
        target = int(rng.integers(N_INTERVALS))
    if target not in range(N_INTERVALS):
        raise InvalidInputError(f"target={target!r} must be 0, 1 or 2")
    centre_hz = positive(centre_hz, "centre_hz")
    if not 0 < width < 1:
        raise InvalidInputError(f"width={width!r} must be in (0, 1)")
    if centre_hz * (1 + width) >= rate / 2:
        raise InvalidInputError(
            f"centre_hz={centre_hz!r} with width={width!r} reaches Nyquist ({rate / 2:g} Hz)"
        )
    n = round(positive(burst_s, "burst_s") * rate)
    gap = round(positive(gap_s, "gap_s") * rate)
    envelope = hann_ramps(n, ramp_samples(ramp_s, n, rate, "ramp_s"))
    band = huggins_band(n, rate, centre_hz, width)
    if not band.any():
        raise InvalidInputError(
            f"burst_s={burst_s!r} is too short to resolve the {centre_hz:g} Hz ± "
            f"{100 * width:g} % band"
        )

    bursts: list[Audio] = []
    for k in range(N_INTERVALS):
        noise = _clipped_noise(rng, n) * envelope
        if k == target:
            spectrum = np.fft.rfft(noise)
            spectrum[band] *= -1.0
            flipped = np.fft.irfft(spectrum, n)
            bursts.append(np.column_stack([noise, flipped]))
        else:
            bursts.append(np.column_stack([noise, noise]))
    audio, onsets = _concatenate(bursts, gap)
    return ScreeningTrial(
        kind="huggins",
        audio=audio,
        rate=rate,
        correct=target,
        order="".join("H" if k == target else "N" for k in range(N_INTERVALS)),
        onsets=tuple(k / rate for k in onsets),
    )
