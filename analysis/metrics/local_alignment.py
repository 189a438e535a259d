"""Local alignment: the residual lag of every segment of an aligned pair (step 5).

A per-segment cross-correlation of a master against its mix flags the segments
that do not match (edits), which the distortion metrics exclude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft

from analysis.audio import Audio, Signal, as_audio, check_rate
from analysis.errors import InvalidInputError, TooShortError
from analysis.metrics.correlation import SILENT_POWER, downmix, window_energies


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

    x = downmix(mix)
    y = np.pad(downmix(master), search)
    count = (n - segment) // hop + 1
    starts = np.arange(count) * hop
    span = 2 * search + 1
    raw = _segment_xcorr(x, y, segment, hop, count, span)
    energy_x = window_energies(x, segment, starts)
    energy_y = window_energies(y, segment, starts[:, np.newaxis] + np.arange(span))
    denominator = np.sqrt(energy_x[:, np.newaxis] * energy_y)
    ncc = np.divide(raw, denominator, out=np.zeros_like(raw), where=denominator > 0)
    best = np.argmax(ncc, axis=1)
    correlations = np.clip(ncc[np.arange(count), best], 0.0, 1.0)
    silent = energy_x <= SILENT_POWER * segment
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
