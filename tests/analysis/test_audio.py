"""The shared input check of the pairwise metrics (DM/HFD, IT): analysis.audio.as_aligned_pair."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.audio import as_aligned_pair
from analysis.errors import ChannelCountError, InvalidInputError


def test_an_aligned_pair_comes_back_as_float64_sample_by_channel_arrays() -> None:
    master = np.arange(8, dtype=np.float32) / 10
    mix = np.zeros((8, 2))
    y, x, rate = as_aligned_pair(master, mix, 48000.0)
    assert y.shape == (8, 1)
    assert y.dtype == np.float64
    assert np.array_equal(y[:, 0], master.astype(np.float64))
    assert x.shape == (8, 2)
    assert rate == 48000
    assert isinstance(rate, int)


def test_unequal_lengths_are_refused_with_both_lengths() -> None:
    with pytest.raises(InvalidInputError, match=r"equal length.*got 9 and 8 samples"):
        as_aligned_pair(np.zeros((9, 2)), np.zeros((8, 2)), 44100)


def test_the_rate_is_checked_first_then_each_signal_by_name() -> None:
    with pytest.raises(InvalidInputError, match="rate"):
        as_aligned_pair(np.zeros((9, 2)), np.zeros((8, 2)), 100)
    with pytest.raises(ChannelCountError, match="mix"):
        as_aligned_pair(np.zeros((8, 2)), np.zeros((8, 3)), 44100)
