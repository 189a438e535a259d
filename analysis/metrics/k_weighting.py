"""K-weighting and block gating of ITU-R BS.1770-4: the one pass every loudness measure shares.

The audio is K-weighted once per channel and the energies of its complete 100 ms
sub-blocks are summed over channels (channel weights 1.0: mono and stereo only). 4
sub-blocks make a 400 ms gating block (momentary and integrated loudness), 30 a 3 s
window (short-term loudness, loudness range). Only complete sub-blocks count, as in
libebur128, so a trailing partial 100 ms is ignored.

The measures built on this pass are in :mod:`analysis.metrics.loudness` (integrated,
momentary and short-term loudness, :func:`~analysis.metrics.loudness.measure_loudness`)
and :mod:`analysis.metrics.loudness_range` (LRA). See docs/metrics.md (Loudness, true
peak, loudness range, PLR and PSR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from analysis.audio import Audio, BoolArray, FloatArray, as_audio, check_rate, require_duration
from analysis.errors import SilentAudioError
from analysis.metrics.threads import pmap

__all__ = [
    "ABSOLUTE_GATE",
    "LOUDNESS_OFFSET",
    "MOMENTARY_SUBBLOCKS",
    "RELATIVE_GATE",
    "SHORT_TERM_SUBBLOCKS",
    "BlockGate",
    "block_gate",
    "gate_mask",
    "gated_blocks",
    "gated_loudness",
    "k_weighting_filters",
    "lufs",
    "require_subblocks",
    "subblock_energy",
    "subblock_hop",
    "window_power",
]


LOUDNESS_OFFSET = -0.691
"""Constant of BS.1770 eq. 2: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LKFS."""
ABSOLUTE_GATE = -70.0
"""Absolute gate in LUFS (BS.1770-4 §2.8; EBU Tech 3342)."""
RELATIVE_GATE = -10.0
"""Relative gate of integrated loudness, in LU (BS.1770-4)."""
MOMENTARY_SUBBLOCKS = 4
"""400 ms gating block / momentary window, in 100 ms sub-blocks."""
SHORT_TERM_SUBBLOCKS = 30
"""3 s short-term window, in 100 ms sub-blocks."""


def k_weighting_filters(
    rate: int,
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Return the two K-weighting biquads ``((b1, a1), (b2, a2))`` for a sample rate.

    Stage 1 is the high-shelf pre-filter (the acoustic effect of the head), stage 2
    the RLB high-pass. The coefficients come from the analogue prototypes through
    the bilinear transform, as in libebur128, and reproduce the 48 kHz table of
    BS.1770-4 to rounding error.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.

    Returns
    -------
    tuple
        ``((b1, a1), (b2, a2))``, each a length-3 float64 array with ``a[0] == 1``.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1, Tables 1 and 2.
    .. [2] libebur128, ``ebur128/ebur128.c``, filter initialisation (J. Kliemann).

    Examples
    --------
    >>> (b1, a1), (b2, a2) = k_weighting_filters(48000)
    >>> round(float(a2[1]), 8)
    -1.99004745
    """
    rate = check_rate(rate)
    # Stage 1: high shelf.
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b1 = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a1 = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    # Stage 2: RLB high-pass; b = [1, -2, 1] stays unnormalised, as in the standard.
    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    b2 = np.array([1.0, -2.0, 1.0])
    a2 = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return (b1, a1), (b2, a2)


@lru_cache(maxsize=16)
def _k_sos(rate: int) -> FloatArray:
    (b1, a1), (b2, a2) = k_weighting_filters(rate)
    return np.array([np.concatenate([b1, a1]), np.concatenate([b2, a2])])


def subblock_hop(rate: int) -> int:
    """Return the samples in 100 ms at ``rate`` Hz, rounded as libebur128 does."""
    return (rate + 5) // 10


def subblock_energy(x: Audio, rate: int) -> FloatArray:
    """Return the K-weighted energy of every complete 100 ms sub-block, summed over channels.

    ``x`` is ``(samples, channels)`` audio already checked by :func:`analysis.audio.as_audio`
    and ``rate`` a checked sample rate; each channel is filtered on its own thread.
    """
    sos = _k_sos(rate)
    hop = subblock_hop(rate)

    def channel(c: int) -> FloatArray:
        y = signal.sosfilt(sos, x[:, c])
        v = y[: y.shape[0] // hop * hop].reshape(-1, hop)
        return np.asarray(np.einsum("ij,ij->i", v, v), dtype=np.float64)

    return np.asarray(np.sum(pmap(channel, range(x.shape[1])), axis=0), dtype=np.float64)


def window_power(energy: FloatArray, n: int, hop: int) -> FloatArray:
    """Mean square (summed over channels) of windows of ``n`` sub-blocks, one per sub-block.

    ``energy`` comes from :func:`subblock_energy` and ``hop`` is :func:`subblock_hop`;
    the result is empty when fewer than ``n`` sub-blocks exist.
    """
    if energy.shape[0] < n:
        return np.zeros(0)
    return np.asarray(sliding_window_view(energy, n).sum(axis=-1) / (n * hop), dtype=np.float64)


def lufs(power: npt.ArrayLike) -> FloatArray:
    """Convert K-weighted mean squares to LUFS (BS.1770 eq. 2; ``-inf`` for zero power)."""
    with np.errstate(divide="ignore"):
        return np.asarray(LOUDNESS_OFFSET + 10.0 * np.log10(power), dtype=np.float64)


def gate_mask(power: FloatArray) -> BoolArray:
    """BS.1770-4 gating of 400 ms block powers: absolute then relative gate.

    Raises :class:`~analysis.errors.SilentAudioError` when no block passes the
    absolute gate (integrated loudness is then undefined).
    """
    loudness = lufs(power)
    absolute = loudness > ABSOLUTE_GATE
    if not np.any(absolute):
        loudest = float(np.max(loudness)) if loudness.size else float("-inf")
        raise SilentAudioError(
            f"no 400 ms block is above the {ABSOLUTE_GATE:g} LUFS absolute gate "
            f"(loudest block {loudest:.1f} LUFS); integrated loudness is undefined"
        )
    relative = float(lufs(np.mean(power[absolute]))) + RELATIVE_GATE
    return np.asarray(absolute & (loudness > relative), dtype=np.bool_)


def gated_loudness(block_power: FloatArray) -> float:
    """Return the integrated loudness, in LUFS, of 400 ms block powers (:func:`gate_mask`)."""
    return float(lufs(np.mean(block_power[gate_mask(block_power)])))


def require_subblocks(x: Audio, rate: int, subblocks: int, metric: str) -> None:
    """Raise :class:`~analysis.errors.TooShortError` if ``x`` is shorter than ``subblocks``.

    The check of :func:`analysis.audio.require_duration`, for whole 100 ms sub-blocks.
    """
    require_duration(x, rate, seconds=subblocks * subblock_hop(rate) / rate, metric=metric)


@dataclass(frozen=True, eq=False)
class BlockGate:
    """Which 400 ms blocks pass both BS.1770 gates.

    Block ``j`` covers samples ``[j * hop, j * hop + block)``.

    Attributes
    ----------
    mask : numpy.ndarray
        Boolean, one entry per complete 400 ms block (a new block every 100 ms).
    block : int
        Block length in samples (400 ms).
    hop : int
        Block hop in samples (100 ms).
    """

    mask: BoolArray
    block: int
    hop: int

    def covers(self, positions: npt.ArrayLike) -> BoolArray:
        """Tell, for each sample position, whether it lies in at least one passing block.

        Parameters
        ----------
        positions : array_like of int
            Sample indices.

        Returns
        -------
        numpy.ndarray
            Boolean array of the same shape as ``positions``.
        """
        pos = np.asarray(positions, dtype=np.int64)
        count = np.concatenate([[0], np.cumsum(self.mask, dtype=np.int64)])
        n = self.mask.shape[0]
        # Blocks containing position s: j with j*hop <= s < j*hop + block.
        first = np.clip(-((self.block - 1 - pos) // self.hop), 0, n)  # ceil((s-block+1)/hop)
        last = np.clip(pos // self.hop + 1, 0, n)  # exclusive
        return np.asarray((count[last] - count[first]) > 0, dtype=np.bool_)


def block_gate(block_power: FloatArray, hop: int) -> BlockGate:
    """Return the read-only :class:`BlockGate` of 400 ms block powers (:func:`gate_mask`)."""
    mask = gate_mask(block_power)
    mask.setflags(write=False)
    return BlockGate(mask=mask, block=MOMENTARY_SUBBLOCKS * hop, hop=hop)


def gated_blocks(x: Audio, rate: int) -> BlockGate:
    """Return the 400 ms blocks that pass the BS.1770 absolute and relative gates.

    Parameters
    ----------
    x : numpy.ndarray
        ``(samples, channels)`` audio, at least one 400 ms block long.
    rate : int
        Sample rate in Hz.

    Returns
    -------
    BlockGate
        The pass mask with the block length and hop in samples.

    Raises
    ------
    TooShortError
        If the audio is shorter than one 400 ms block.
    SilentAudioError
        If no block passes the absolute gate.

    References
    ----------
    .. [1] ITU-R BS.1770-4, Annex 1, eqs. 3-7.

    Examples
    --------
    >>> t = np.arange(48000) / 48000
    >>> gate = gated_blocks(0.1 * np.sin(2 * np.pi * 1000 * t), 48000)
    >>> gate.mask.shape, gate.block, gate.hop
    ((7,), 19200, 4800)
    """
    x, rate = as_audio(x), check_rate(rate)
    require_subblocks(x, rate, MOMENTARY_SUBBLOCKS, "gated loudness blocks")
    hop = subblock_hop(rate)
    return block_gate(window_power(subblock_energy(x, rate), MOMENTARY_SUBBLOCKS, hop), hop)
