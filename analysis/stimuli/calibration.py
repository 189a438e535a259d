"""The calibration signal played before the screening (docs/stimuli.md).

Pink noise (or a prepared excerpt) at the study's loudness, on which the listener sets a
comfortable level before the screening trials.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from analysis.audio import Audio, Signal, as_audio, check_rate, require_signal, to_stereo
from analysis.errors import InvalidInputError
from analysis.metrics.true_peak import true_peak
from analysis.stimuli.shaping import Seed, gain_to, hann_ramps, positive, ramp_samples, rng_from


def pink_noise(
    duration_s: float, rate: int = 44100, *, seed: Seed = 0, band: tuple[float, float] = (20, 20000)
) -> Signal:
    """Generate seeded pink (1/f power, -3 dB per octave) Gaussian noise.

    White Gaussian noise is shaped in the frequency domain by ``1/sqrt(f)`` inside
    ``band`` (clamped below Nyquist) and zeroed outside it.

    Parameters
    ----------
    duration_s : float
        Length in seconds.
    rate : int
        Sample rate in Hz.
    seed : int or numpy.random.Generator
        Seed of the noise.
    band : tuple of float
        Lowest and highest frequency in Hz.

    Returns
    -------
    numpy.ndarray
        1-D float64 noise with unit RMS.

    Raises
    ------
    InvalidInputError
        For a non-positive duration or an empty band.

    Examples
    --------
    >>> x = pink_noise(1.0, 16000, seed=0)
    >>> x.shape, round(float(np.sqrt(np.mean(x**2))), 6)
    ((16000,), 1.0)
    """
    rate = check_rate(rate)
    n = round(positive(duration_s, "duration_s") * rate)
    low, high = float(band[0]), min(float(band[1]), 0.49 * rate)
    if not 0 < low < high:
        raise InvalidInputError(f"band={band!r} must be 0 < low < high below Nyquist")
    spectrum = np.fft.rfft(rng_from(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    inside = (freqs >= low) & (freqs <= high)
    if not inside.any():
        raise InvalidInputError(f"duration_s={duration_s!r} is too short for band={band!r}")
    shaping = np.zeros_like(freqs)
    shaping[inside] = 1.0 / np.sqrt(freqs[inside])
    noise = np.fft.irfft(spectrum * shaping, n)
    return np.asarray(noise / np.sqrt(np.mean(noise**2)), dtype=np.float64)


def calibration_signal(
    rate: int = 44100,
    *,
    target_lufs: float = -23.0,
    duration_s: float = 10.0,
    seed: Seed = 0,
    music: npt.ArrayLike | None = None,
    fade_s: float = 0.05,
    ceiling_dbtp: float = -1.0,
) -> Audio:
    """Make the volume-calibration signal at the study's loudness.

    Participants set a comfortable level on this signal and keep it for the rest of
    the session, so it is normalised to the same BS.1770 integrated loudness as the
    (loudness-matched) stimuli. Without ``music`` it is diotic pink noise with
    raised-cosine fades; with ``music`` (for instance one of the study's prepared
    excerpts) it is that audio, as stereo, scaled to the target.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.
    target_lufs : float
        Integrated loudness of the result in LUFS (the study's loudness target).
    duration_s : float
        Length of the pink noise in seconds (ignored with ``music``).
    seed : int or numpy.random.Generator
        Seed of the noise.
    music : array_like, optional
        ``(samples, channels)`` audio at ``rate`` to use instead of noise.
    fade_s : float
        Fade-in and fade-out of the noise in seconds.
    ceiling_dbtp : float
        Highest true peak (BS.1770-4 Annex 2) allowed after scaling, in dBTP; the
        gain is never limited or clipped to meet it.

    Returns
    -------
    numpy.ndarray
        ``(samples, 2)`` float64 audio at ``target_lufs``.

    Raises
    ------
    InvalidInputError
        If the scaled signal would peak above ``ceiling_dbtp`` (choose a lower
        target) or if ``music`` is not valid audio.
    SilentAudioError
        If ``music`` is digital silence.

    References
    ----------
    .. [1] ITU-R BS.1770-4, "Algorithms to measure audio programme loudness and
       true-peak audio level", 2015.
    .. [2] docs/stimuli.md (Headphone screening): volume calibration precedes both headphone tests.

    Examples
    --------
    >>> x = calibration_signal(16000, target_lufs=-30.0, duration_s=2.0)
    >>> x.shape
    (32000, 2)
    """
    rate = check_rate(rate)
    if music is None:
        noise = pink_noise(duration_s, rate, seed=seed)
        noise *= hann_ramps(noise.size, ramp_samples(fade_s, noise.size, rate, "fade_s"))
        x = np.column_stack([noise, noise])
    else:
        x = to_stereo(as_audio(music, name="music"))
        require_signal(x, name="music", metric="the calibration signal")
    y = x * gain_to(x, rate, target_lufs)
    peak_dbtp = true_peak(y, rate)
    if peak_dbtp > ceiling_dbtp:
        raise InvalidInputError(
            f"target_lufs={target_lufs!r} would put the calibration signal's true peak at "
            f"{peak_dbtp:.1f} dBTP, above ceiling_dbtp={ceiling_dbtp!r}; choose a lower target"
        )
    return np.ascontiguousarray(y)
