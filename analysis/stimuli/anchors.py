"""Low-pass anchors (ITU-R BS.1534-3): the reference through a linear-phase low-pass.

The 3.5 kHz and 7 kHz anchors are filtered with a linear-phase FIR so they stay
sample-aligned with the reference they are derived from.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from analysis.audio import Audio, Signal, as_audio, check_rate
from analysis.errors import InvalidInputError
from analysis.stimuli.excerpt import ExcerptSpec, cut_excerpt

#: Stop-band attenuation of the anchor low-pass filters, in dB.
ANCHOR_STOPBAND_DB = 100.0
#: Transition band of the anchor filters as a fraction of the cut-off: the pass band
#: ends at ``(1 - ANCHOR_TRANSITION) * cutoff`` and the stop band starts at the cut-off.
ANCHOR_TRANSITION = 0.05


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
