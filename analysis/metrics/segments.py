"""The segment grid of the distortion metrics, its exclusions and the gain track.

:func:`segment_grid` counts the segments (2 s every 1 s by default) over an aligned
pair; :func:`excluded_segments` flags the silent segments and those whose gain strays
from the median gain (fades, edits); :func:`gain_track` is the smoothed broadband gain
of the master over the mix that DM_wave divides out; :func:`frame_runs` and
:func:`run_sums` sum STFT frames per segment. See docs/metrics.md (Distortion).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from analysis.audio import Audio, BoolArray, FloatArray, IntArray

EDIT_TOLERANCE_DB = 3.0
"""Segments whose gain differs from the median gain by more are fades or edits."""
SILENCE_DBFS = -70.0
SILENCE_BELOW_MEAN_DB = 30.0
WAVE_TAU_SECONDS = 0.020
_SMOOTH_CHUNK = 1 << 16


def segment_grid(samples: int, rate: int, segment_seconds: float, hop_seconds: float) -> int:
    """Return the number of segments on the DM grid.

    Segment k covers samples ``[k*hop, k*hop + segment)``, with ``hop`` and ``segment``
    rounded to whole samples; there are ``floor((samples - segment)/hop) + 1``.

    Parameters
    ----------
    samples : int
        Length of the pair in samples.
    rate : int
        Sample rate in Hz.
    segment_seconds, hop_seconds : float
        Segment length and hop in seconds.

    Returns
    -------
    int
        Number of segments (0 when the pair is shorter than one segment).

    Examples
    --------
    >>> segment_grid(44100 * 10, 44100, 2.0, 1.0)
    9
    """
    seg, hop = round(segment_seconds * rate), round(hop_seconds * rate)
    if samples < seg:
        return 0
    return (samples - seg) // hop + 1


def _segment_powers(x: Audio, seg: int, hop: int, n_segments: int) -> tuple[FloatArray, float]:
    """Return the mean square of each segment and of the whole of ``x`` (over channels).

    The signal is cut at every segment edge; each piece's energy is one ``einsum`` (no
    full-length temporaries, and no BLAS threads, which stall on a busy 2-core machine),
    and a segment's energy is the sum of its pieces.
    """
    starts = np.arange(n_segments, dtype=np.int64) * hop
    edges = np.unique(np.concatenate([[0, x.shape[0]], starts, starts + seg]))
    pieces = np.array(
        [
            float(np.einsum("i,i->", block, block))
            for block in (x[a:b].ravel() for a, b in itertools.pairwise(edges))
        ]
    )
    prefix = np.concatenate([[0.0], np.cumsum(pieces)])
    first = np.searchsorted(edges, starts)
    last = np.searchsorted(edges, starts + seg)
    energy = np.maximum(prefix[last] - prefix[first], 0.0)
    return energy / (seg * x.shape[1]), float(prefix[-1]) / x.size


def excluded_segments(y: Audio, x: Audio, seg: int, hop: int, n_segments: int) -> BoolArray:
    """Flag faded or edited (gain outlier) and silent segments (docs/metrics.md steps 6-7)."""
    p_x, mean_x = _segment_powers(x, seg, hop, n_segments)
    p_y, _ = _segment_powers(y, seg, hop, n_segments)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = 10.0 * np.log10(p_x)
        gain = 10.0 * np.log10(p_y / p_x)
    mean_level = 10.0 * np.log10(mean_x)
    silent = (level < SILENCE_DBFS) | (level < mean_level - SILENCE_BELOW_MEAN_DB)
    reference = np.isfinite(gain) & ~silent
    if not reference.any():
        return np.ones(n_segments, dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        outlier = ~np.isfinite(gain) | (
            np.abs(gain - np.median(gain[reference])) > EDIT_TOLERANCE_DB
        )
    outlier &= ~silent
    dilated = outlier.copy()
    dilated[1:] |= outlier[:-1]
    dilated[:-1] |= outlier[1:]
    return np.asarray(dilated | silent, dtype=np.bool_)


def gain_track(y: Audio, x: Audio, rate: int) -> FloatArray:
    """Return the smoothed broadband gain of ``y`` over ``x`` that DM_wave divides out.

    ``g(t) = sqrt(LP(y_mid²) / LP(x_mid²))`` with a zero-phase (forward-backward)
    one-pole low-pass of time constant 20 ms.
    """
    env_y = _smooth_zero_phase(_mid_power(y), rate)
    env_x = _smooth_zero_phase(_mid_power(x), rate)
    # A small floor keeps the gain finite where either mid channel is (nearly) silent.
    env_y += 1e-12 * max(float(np.mean(env_y)), 1e-30)
    env_x += 1e-12 * max(float(np.mean(env_x)), 1e-30)
    env_y /= env_x
    return np.asarray(np.sqrt(env_y, out=env_y), dtype=np.float64)


def _smooth_zero_phase(p: FloatArray, rate: int) -> FloatArray:
    """Filter ``p`` in place forward then backward with a one-pole low-pass (τ = 20 ms).

    Each pass starts in the steady state of its first sample (no edge transient) and
    runs chunk by chunk, carrying the filter state, so no full-length copy is made.
    """
    a = math.exp(-1.0 / (WAVE_TAU_SECONDS * rate))
    b_lp, a_lp = np.array([1.0 - a]), np.array([1.0, -a])
    n = p.size
    state = np.array([a * p[0]])
    for c0 in range(0, n, _SMOOTH_CHUNK):
        p[c0 : c0 + _SMOOTH_CHUNK], state = signal.lfilter(
            b_lp, a_lp, p[c0 : c0 + _SMOOTH_CHUNK], zi=state
        )
    state = np.array([a * p[-1]])
    for c1 in range(n, 0, -_SMOOTH_CHUNK):
        c0 = max(0, c1 - _SMOOTH_CHUNK)
        backward, state = signal.lfilter(b_lp, a_lp, p[c0:c1][::-1], zi=state)
        p[c0:c1] = backward[::-1]
    return np.maximum(p, 0.0, out=p)


def _mid_power(x: Audio) -> FloatArray:
    """Return the squared mid channel ``((L + R)/2)²`` (``x²`` for mono)."""
    m = x[:, 0] + x[:, 1] if x.shape[1] == 2 else x[:, 0].copy()
    if x.shape[1] == 2:
        m *= 0.5
    return np.asarray(np.square(m, out=m), dtype=np.float64)


def frame_runs(
    n_frames: int, step: int, n_fft: int, seg: int, hop: int, n_segments: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Group STFT frames into runs that belong to the same set of segments.

    Frame j (samples ``[j*step, j*step + n_fft)``) belongs to segment k when it lies
    fully inside it: ``k*hop <= j*step`` and ``j*step + n_fft <= k*hop + seg``, i.e. to
    the segments ``lo_j..hi_j``. Consecutive frames with the same (lo, hi) form a run.

    Returns
    -------
    starts, lo, hi : numpy.ndarray
        First frame of each run and its first and last segment (lo > hi: no segment).
    """
    start = np.arange(n_frames, dtype=np.int64) * step
    hi = np.minimum(start // hop, n_segments - 1)
    lo = np.maximum(-((seg - n_fft - start) // hop), 0)  # ceil((start + n_fft - seg) / hop)
    change = np.flatnonzero((lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    return starts, lo[starts], hi[starts]


def run_sums(a: npt.NDArray[Any], starts: IntArray, axis: int) -> npt.NDArray[Any]:
    """Sum ``a`` along ``axis`` over the runs that begin at ``starts`` (and end at the next).

    Equivalent to ``np.add.reduceat`` for increasing ``starts`` beginning at 0, but
    about three times faster here: a few slice sums per chunk.
    """
    frames = np.moveaxis(a, axis, 0)
    ends = [*starts[1:].tolist(), frames.shape[0]]
    sums = [frames[s:e].sum(axis=0) for s, e in zip(starts.tolist(), ends, strict=True)]
    return np.stack(sums, axis=axis)
