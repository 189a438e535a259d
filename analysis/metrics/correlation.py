"""Cross-correlation primitives of the alignment (docs/metrics.md, alignment).

The whitened (GCC-PHAT) correlation and its sub-sample peak, the normalised
correlation at a lag, and the downmix, taper, padding and window energies they
work on. Shared by :mod:`analysis.metrics.alignment` and
:mod:`analysis.metrics.local_alignment`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import soxr
from scipy import fft, optimize

from analysis.audio import Audio, Signal
from analysis.errors import SilentAudioError

#: PHAT denominator regulariser, relative to the largest cross-spectrum magnitude.
PHAT_EPSILON = 1e-6
#: Raised-cosine taper at each end of the mix before whitening, in seconds.
TAPER_SECONDS = 0.25
# Samples either side of the peak in the sub-sample (sinc) interpolation.
SINC_HALF = 256
# Mean-square level under which a segment of the mix is digital silence (-150 dBFS).
SILENT_POWER = 1e-15


def require_nonsilent(x: Audio, *, name: str) -> None:
    """Raise :class:`SilentAudioError` for digital silence (peak <= -150 dBFS).

    The same test as :func:`analysis.audio.require_signal`, without the temporary
    ``abs`` array (a quarter of the alignment time on a 4-minute track).
    """
    floor = 10.0 ** (-150.0 / 20.0)
    if float(np.max(x)) <= floor and float(np.min(x)) >= -floor:
        raise SilentAudioError(f"{name} is digital silence; alignment needs signal")


def downmix(x: Audio) -> Signal:
    """Mono downmix ``(L + R) / 2`` (the same as :func:`analysis.audio.mid`, faster)."""
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    out = np.add(x[:, 0], x[:, 1])
    out *= 0.5
    return out


def undrift(x: npt.NDArray[np.float64], drift: float) -> npt.NDArray[np.float64]:
    """Resample from ``rate·(1 + drift)`` to ``rate`` (soxr only needs the ratio)."""
    y = soxr.resample(x, 1.0 + drift, 1.0, quality="VHQ")
    return np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1, *x.shape[1:]))


def tapered(x: Signal, rate: int) -> Signal:
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


def overlap(n_mix: int, n_master: int, lag: int) -> tuple[int, int]:
    """Mix-sample span ``[start, stop)`` where ``master[n + lag]`` exists."""
    return max(0, -lag), min(n_mix, n_master - lag)


def padded(x: Signal, start: int, stop: int) -> Signal:
    """``x[start:stop]`` with zeros where the span leaves the signal."""
    out = np.zeros(stop - start)
    lo, hi = max(start, 0), min(stop, x.size)
    if lo < hi:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def mono_padded(x: Audio, start: int, stop: int) -> Signal:
    """Mono downmix of ``x[start:stop]`` with zeros where the span leaves the audio."""
    out = np.zeros(stop - start)
    lo, hi = max(start, 0), min(stop, x.shape[0])
    if lo < hi:
        out[lo - start : hi - start] = downmix(x[lo:hi])
    return out


def window_energies(
    x: Signal, length: int, starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Energy of ``x[s : s + length]`` for every start ``s`` (any array shape)."""
    cumulative = np.empty(x.size + 1)
    cumulative[0] = 0.0
    np.square(x, out=cumulative[1:])
    np.cumsum(cumulative[1:], out=cumulative[1:])
    energies: npt.NDArray[np.float64] = cumulative[starts + length] - cumulative[starts]
    return np.maximum(energies, 0.0)


def whitened_xcorr(x: Signal, y: Signal) -> Signal:
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


def phat_peak(x: Signal, y: Signal) -> tuple[int, float]:
    """Lag ``k`` in ``0 .. len(y) - len(x)`` of the GCC-PHAT peak, and its sub-sample offset.

    The offset, in [-0.5, 0.5], is where the band-limited (sinc) interpolation of the
    whitened correlation peaks, from the :data:`SINC_HALF` samples either side of
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
    index, value, _ = correlation_peak(circular[:span])
    m = np.arange(-SINC_HALF, SINC_HALF + 1)
    around = circular[(index + m) % nfft] * (1.0 if value >= 0 else -1.0)
    found = optimize.minimize_scalar(
        lambda t: -float(np.sinc(t - m) @ around),
        bounds=(-0.5, 0.5),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return index, float(found.x)


def ncc(x: Signal, y: Signal, k: int) -> float:
    """Normalised plain cross-correlation of ``x`` with ``y[k : k + len(x)]``, in [-1, 1]."""
    window = y[k : k + x.size]

    def dot(a: Signal, b: Signal) -> float:
        return float(np.einsum("i,i->", a, b))  # einsum: no BLAS thread start-up per call

    denominator = math.sqrt(dot(x, x) * dot(window, window))
    return dot(x, window) / denominator if denominator > 0 else 0.0


def correlation_peak(r: Signal) -> tuple[int, float, float]:
    """Index and signed value of the largest ``|r|``, and its parabolic sub-sample offset."""
    index = int(np.argmax(np.abs(r)))
    offset = 0.0
    if 0 < index < r.size - 1:
        before, top, after = np.abs(r[index - 1 : index + 2])
        curvature = before - 2.0 * top + after
        if curvature < 0:
            offset = float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))
    return index, float(r[index]), offset
