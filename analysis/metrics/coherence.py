"""Per-segment multiple coherence of a master on its mix: the powers DM and HFD are made of.

Each master channel is modelled as a linear, time-invariant function of the mix
channels plus a residual; per segment and frequency bin, the multiple coherence of the
master channel on (mix L, mix R) splits its power into the part the mix predicts
linearly and the residual (docs/metrics.md, DM/HFD model). The spectra are computed
efficiently: one STFT per channel for the whole track, whose outer products are summed
over the frames of each segment (:func:`analysis.metrics.segments.frame_runs`), so a
segment costs O(bins) rather than one Welch estimate each. The measures built on these
powers are in :mod:`analysis.metrics.distortion`.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import scipy.fft
from scipy import signal

from analysis.audio import Audio, FloatArray
from analysis.metrics.segments import frame_runs, run_sums

__all__ = ["REGULARISER", "predicted_power", "segment_residuals", "stft_chunk"]

REGULARISER = 1e-9
"""Diagonal loading of the mix cross-spectral matrix, relative to its trace."""
_CHUNK_FRAMES = 128

ComplexArray = npt.NDArray[np.complex128]


def segment_residuals(
    y: Audio,
    x: Audio,
    n_fft: int,
    seg: int,
    hop: int,
    n_segments: int,
    b0: int,
    b1: int,
    y_gain: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return, per segment and bin ``b0:b1``, the master power E_y and its residual.

    One STFT per channel for the whole track, computed in chunks of frames; the
    products Sxx = X Xᴴ, Syx = Y Xᴴ and Syy = |Y|² are summed over the frames of each
    run (:func:`frame_runs`) and the runs are added into their segments. ``y_gain``,
    if given, divides the master chunk by chunk (DM_wave) without a full-length copy.
    """
    step = n_fft // 2
    n_frames = (x.shape[0] - n_fft) // step + 1
    starts, lo, hi = frame_runs(n_frames, step, n_fft, seg, hop, n_segments)
    last_run = int(np.flatnonzero(lo <= hi)[-1])
    end_frame = int(starts[last_run + 1]) if last_run + 1 < starts.size else n_frames
    starts, lo, hi = starts[: last_run + 1], lo[: last_run + 1], hi[: last_run + 1]

    cx, cy, nb = x.shape[1], y.shape[1], b1 - b0
    s_xx = np.zeros((n_segments, cx, cx, nb), dtype=np.complex128)
    s_yx = np.zeros((n_segments, cy, cx, nb), dtype=np.complex128)
    s_yy = np.zeros((n_segments, cy, nb), dtype=np.float64)
    window = signal.get_window("hann", n_fft)

    # Chunks of about 128 frames that start on run boundaries keep the work in cache.
    first = np.flatnonzero(np.diff(starts // _CHUNK_FRAMES, prepend=-1))
    bounds = [*starts[first].tolist(), end_frame]
    buffer = np.empty((cx + cy, _CHUNK_FRAMES * 2, n_fft))
    for f0, f1 in itertools.pairwise(bounds):
        runs = np.flatnonzero((starts >= f0) & (starts < f1))
        local = starts[runs] - f0
        if buffer.shape[1] < f1 - f0:
            buffer = np.empty((cx + cy, f1 - f0, n_fft))
        spec = stft_chunk((x, y), f0, f1, step, window, b0, b1, y_gain, buffer)
        spec_x, spec_y = spec[:cx], spec[cx:]
        conj_x = np.conj(spec_x)
        # |Z|² summed over a run = the run sums of re² and im², added afterwards.
        squares = run_sums(np.square(spec.view(np.float64)), local, axis=1)
        auto = squares[..., 0::2] + squares[..., 1::2]
        run_xx = np.empty((cx, cx, runs.size, nb), dtype=np.complex128)
        for i in range(cx):
            run_xx[i, i] = auto[i]
            for j in range(i + 1, cx):
                run_xx[i, j] = run_sums(spec_x[i] * conj_x[j], local, axis=0)
                run_xx[j, i] = np.conj(run_xx[i, j])
        run_yx = run_sums(spec_y[:, np.newaxis] * conj_x[np.newaxis], local, axis=2)
        run_yy = auto[cx:]
        # Add each run into every segment it belongs to: a small 0/1 membership matrix.
        r_lo, r_hi = lo[runs], hi[runs]
        if not (r_lo <= r_hi).any():
            continue
        k0, k1 = int(r_lo.min()), int(r_hi.max()) + 1
        k = np.arange(k0, k1)[:, np.newaxis]
        member = ((k >= r_lo) & (k <= r_hi)).astype(np.float64)
        s_xx[k0:k1] += np.einsum("kr,ijrb->kijb", member, run_xx)
        s_yx[k0:k1] += np.einsum("kr,ijrb->kijb", member, run_yx)
        s_yy[k0:k1] += np.einsum("kr,irb->kib", member, run_yy)

    predicted = np.clip(predicted_power(s_xx, s_yx), 0.0, s_yy)
    return s_yy.sum(axis=1), (s_yy - predicted).sum(axis=1)


def stft_chunk(
    signals: tuple[Audio, Audio],
    f0: int,
    f1: int,
    step: int,
    window: FloatArray,
    b0: int,
    b1: int,
    y_gain: FloatArray | None,
    buffer: FloatArray,
) -> ComplexArray:
    """Return STFT frames ``f0:f1``, bins ``b0:b1``, of every channel: (channels, frames, bins).

    The channels of the mix come first, then those of the master (divided by
    ``y_gain`` when given). ``buffer`` holds the windowed frames (it is overwritten).
    """
    n_fft = window.size
    a, b = f0 * step, (f1 - 1) * step + n_fft
    block = np.empty((sum(s.shape[1] for s in signals), b - a))
    row = 0
    for i, s in enumerate(signals):  # channel-major copy; frames are then contiguous views
        for c in range(s.shape[1]):
            block[row] = s[a:b, c]
            if i == 1 and y_gain is not None:
                block[row] /= y_gain[a:b]
            row += 1
    frames = np.lib.stride_tricks.sliding_window_view(block, n_fft, axis=1)[:, ::step]
    windowed = buffer[:, : f1 - f0]
    np.multiply(frames, window, out=windowed)
    return np.asarray(scipy.fft.rfft(windowed, axis=-1, overwrite_x=True)[..., b0:b1])


def predicted_power(s_xx: ComplexArray, s_yx: ComplexArray) -> FloatArray:
    """Return ``s Sxx⁻¹ sᴴ`` per segment, master channel and bin (the coherent power).

    ``s_xx`` is ``(segments, cx, cx, bins)`` and ``s_yx`` is ``(segments, cy, cx, bins)``;
    the 2×2 inverse is written out in closed form.
    """
    if s_xx.shape[1] == 1:  # a mono mix: ordinary coherence
        a = s_xx[:, :1, 0].real  # (segments, 1, bins)
        num = np.abs(s_yx[:, :, 0]) ** 2
        return np.asarray(
            np.divide(num, a, out=np.zeros_like(num), where=np.broadcast_to(a > 0, num.shape))
        )
    load = REGULARISER * (s_xx[:, 0, 0].real + s_xx[:, 1, 1].real)
    a = (s_xx[:, 0, 0].real + load)[:, np.newaxis]
    d = (s_xx[:, 1, 1].real + load)[:, np.newaxis]
    b = s_xx[:, 0, 1][:, np.newaxis]
    det = a * d - np.abs(b) ** 2
    s0, s1 = s_yx[:, :, 0], s_yx[:, :, 1]
    num = d * np.abs(s0) ** 2 + a * np.abs(s1) ** 2 - 2.0 * (s0 * b * np.conj(s1)).real
    return np.asarray(
        np.divide(num, det, out=np.zeros_like(num), where=np.broadcast_to(det > 0, num.shape))
    )
