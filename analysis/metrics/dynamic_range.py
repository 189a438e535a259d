"""Dynamic range (DR) as measured by the Pleasurize Music Foundation / TT DR meter.

Per channel: 3 s blocks (132 480 samples at 44.1 kHz, as the official meter uses),
block RMS with the factor sqrt(2) so a full-scale sine has RMS = peak, the RMS of the
loudest 20 % of blocks against the second-largest block peak. The track DR is the
channel mean, shown rounded as "DRn". See docs/metrics.md (Dynamic range (DR meter)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.audio import Audio, as_audio, check_rate, require_duration

__all__ = ["DynamicRange", "block_samples", "dynamic_range"]

DR_MIN_SECONDS = 15.0
"""Shortest audio with a defined DR: 5 blocks, so the top 20 % holds a full block."""
SILENT_RMS = 2.0**-24
"""Top-block RMS below which a channel counts as silent and gets DR 0 (as dr14_t.meter)."""


@dataclass(frozen=True)
class DynamicRange:
    """The DR of a track.

    Attributes
    ----------
    dr : int or None
        The mean over channels rounded half up, ``floor(value + 0.5)``; the "DRn"
        figure. None only where a caller records an undefined DR (e.g. audio shorter
        than 15 s); :func:`dynamic_range` raises instead.
    value : float or None
        The unrounded channel mean, dB.
    per_channel : tuple of float
        DR of each channel, dB.
    """

    dr: int | None
    value: float | None
    per_channel: tuple[float, ...]


def block_samples(rate: int) -> int:
    """Return the DR block length in samples at ``rate`` Hz: 132 480 at 44.1 kHz, else ``3 * rate``.

    The official meter uses 3 x 44 160 samples (3.0041 s) at 44.1 kHz; dr14_t.meter
    reproduces it as ``3 * (rate + 60)``.

    References
    ----------
    .. [1] Pleasurize Music Foundation, "Measuring DR ENv3".
    """
    rate = check_rate(rate)
    return 3 * (rate + 60) if rate == 44100 else 3 * rate


def dynamic_range(x: Audio, rate: int) -> DynamicRange:
    """Measure the DR ("DR14", TT Dynamic Range meter) of a track.

    Each channel is cut into blocks of :func:`block_samples`; the last, partial
    block is kept, with its RMS over its real length. With
    ``RMS_b = sqrt(2 * mean(s**2))`` and ``Pk_b = max |s|`` per block, the channel's
    DR is ``20 log10(Pk_2nd / RMS_top)``, where ``RMS_top`` is the quadratic mean of
    the ``N = max(1, floor(0.2 * blocks))`` largest block RMS values and ``Pk_2nd``
    the second-largest block peak. A channel whose ``RMS_top`` is below 2**-24 (or
    whose second-largest block peak is 0) gets DR 0, as in dr14_t.meter. The track
    DR is the channel mean, rounded half up.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, at least 15 s long.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    DynamicRange
        Rounded and unrounded DR and the per-channel values.

    Raises
    ------
    TooShortError
        If the audio is shorter than 15 s (the metric is named "DR").

    References
    ----------
    .. [1] Pleasurize Music Foundation, "Measuring DR ENv3" (2009), archived at
       web.archive.org (dynamicrange.de).
    .. [2] S. Riva, dr14_t.meter, ``dr14tmeter/compute_dr14.py``.

    Examples
    --------
    >>> t = np.arange(30 * 48000) / 48000
    >>> sine = 0.5 * np.sin(2 * np.pi * 1000 * t)
    >>> dynamic_range(np.stack([sine, sine], axis=1), 48000).dr
    0
    """
    x = as_audio(x)
    rate = check_rate(rate)
    require_duration(x, rate, seconds=DR_MIN_SECONDS, metric="DR")
    n = block_samples(rate)
    total, channels = x.shape
    full = total // n
    blocks = x[: full * n].reshape(full, n, channels)
    energy = np.einsum("ijc,ijc->ic", blocks, blocks)
    lengths = np.full(full, float(n))
    if total > full * n:  # the partial last block, over its real length
        tail = x[full * n :]
        energy = np.vstack([energy, np.einsum("jc,jc->c", tail, tail)])
        lengths = np.append(lengths, float(tail.shape[0]))
    starts = np.arange(0, total, n)
    peak = np.maximum(
        np.maximum.reduceat(x, starts, axis=0), -np.minimum.reduceat(x, starts, axis=0)
    )
    rms = np.sqrt(2.0 * energy / lengths[:, np.newaxis])
    count = rms.shape[0]
    top = max(1, count // 5)  # floor(0.2 * count), in integers
    rms_top = np.sqrt(np.mean(np.sort(rms, axis=0)[-top:] ** 2, axis=0))
    peaks = np.sort(peak, axis=0)
    second = peaks[-2] if count >= 2 else peaks[-1]
    defined = (rms_top >= SILENT_RMS) & (second > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_channel = np.where(defined, 20.0 * np.log10(second / rms_top), 0.0)
    value = float(np.mean(per_channel))
    return DynamicRange(
        dr=math.floor(value + 0.5),
        value=value,
        per_channel=tuple(float(v) for v in per_channel),
    )
