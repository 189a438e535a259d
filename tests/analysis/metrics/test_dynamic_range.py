"""DR meter (docs/metrics.md): the test-vector table at 44.1 and 48 kHz, in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.errors import TooShortError
from analysis.metrics.dynamic_range import block_samples, dynamic_range

RATES = [44100, 48000]
SECONDS = 30


def sine(rate: int, peak: float) -> np.ndarray:
    return peak * np.sin(2 * np.pi * 1000 * np.arange(SECONDS * rate) / rate)


def with_impulses(x: np.ndarray, rate: int, impulses: list[tuple[float, float]]) -> np.ndarray:
    y = x.copy()
    for seconds, value in impulses:
        y[round(seconds * rate)] = value
    return y


def stereo(left: np.ndarray, right: np.ndarray | None = None) -> np.ndarray:
    return np.stack([left, left if right is None else right], axis=1)


def impulse_tolerance(rate: int, peak: float) -> float:
    """1e-3 dB plus what one full-scale impulse adds to a sine block's RMS (2/n of RMS**2)."""
    return 1e-3 + 10 * math.log10(1 + 2 / (block_samples(rate) * peak**2))


def test_block_length_follows_the_official_meter() -> None:
    assert block_samples(44100) == 132480  # 3 x 44 160, as in "Measuring DR ENv3"
    assert block_samples(48000) == 144000
    assert block_samples(96000) == 288000


@pytest.mark.parametrize("rate", RATES)
def test_a_sine_has_dr_0(rate: int) -> None:
    result = dynamic_range(stereo(sine(rate, 0.5)), rate)
    assert result.per_channel == pytest.approx((0.0, 0.0), abs=1e-3)
    assert result.dr == 0


@pytest.mark.parametrize("rate", RATES)
def test_the_second_highest_block_peak_sets_the_dr(rate: int) -> None:
    x = with_impulses(sine(rate, 0.5), rate, [(5.0, 1.0), (20.0, 0.9)])
    result = dynamic_range(stereo(x), rate)
    expected = 20 * math.log10(0.9 / 0.5)  # 5.105
    assert result.per_channel == pytest.approx((expected,) * 2, abs=impulse_tolerance(rate, 0.5))
    assert result.dr == 5


@pytest.mark.parametrize("rate", RATES)
def test_a_single_impulse_is_ignored(rate: int) -> None:
    x = with_impulses(sine(rate, 0.5), rate, [(5.0, 1.0)])
    result = dynamic_range(stereo(x), rate)
    assert result.per_channel == pytest.approx((0.0, 0.0), abs=impulse_tolerance(rate, 0.5))
    assert result.dr == 0


@pytest.mark.parametrize("rate", RATES)
def test_a_square_wave_shows_the_sqrt2_convention(rate: int) -> None:
    square = np.where(sine(rate, 1.0) >= 0, 0.5, -0.5)
    result = dynamic_range(stereo(square), rate)
    assert result.value == pytest.approx(-10 * math.log10(2), abs=1e-3)  # -3.010
    assert result.dr == -3


@pytest.mark.parametrize("rate", RATES)
def test_channels_are_averaged_before_rounding(rate: int) -> None:
    left = with_impulses(sine(rate, 0.5), rate, [(5.0, 1.0), (20.0, 0.9)])
    right = with_impulses(sine(rate, 0.25), rate, [(2.0, 1.0), (9.0, 1.0)])
    result = dynamic_range(stereo(left, right), rate)
    expected = (20 * math.log10(0.9 / 0.5), 20 * math.log10(1.0 / 0.25))  # 5.105, 12.041
    assert result.per_channel == pytest.approx(expected, abs=impulse_tolerance(rate, 0.25))
    assert result.value == pytest.approx(sum(expected) / 2, abs=impulse_tolerance(rate, 0.25))
    assert result.dr == 9  # floor(8.573 + 0.5)


@pytest.mark.parametrize("rate", RATES)
def test_gaussian_noise(rate: int, rng: np.random.Generator) -> None:
    result = dynamic_range(0.1 * rng.standard_normal((SECONDS * rate, 2)), rate)
    # docs/metrics.md: about 10.3-10.9 dB, seed-dependent (the peak of ~130 000 samples).
    for value in result.per_channel:
        assert 10.2 <= value <= 11.2
    assert result.dr in (10, 11)


def test_impulse_placement_depends_on_the_block_length() -> None:
    # Impulses at 3 s and 4 s: different blocks with 3.0041 s blocks at 44.1 kHz (DR4),
    # the same block with exactly 3 s blocks at 48 kHz, where the second-largest peak
    # is then the sine's (DR0).
    for rate, dr in ((44100, 4), (48000, 0)):
        x = with_impulses(sine(rate, 0.5), rate, [(3.0, 1.0), (4.0, 0.8)])
        assert dynamic_range(stereo(x), rate).dr == dr


def test_a_silent_channel_counts_as_dr_0() -> None:
    x = stereo(sine(48000, 0.5), np.zeros(SECONDS * 48000))
    result = dynamic_range(x, 48000)
    assert result.per_channel[1] == 0.0
    mono = dynamic_range(np.zeros(SECONDS * 48000), 48000)
    assert (mono.dr, mono.value, mono.per_channel) == (0, 0.0, (0.0,))


def test_the_partial_last_block_counts_over_its_real_length() -> None:
    # 16.5 s at 48 kHz: five full blocks of a 0.1 sine and a 1.5 s block at 0.4; the
    # top 20 % (one block) is the partial one, whose RMS must not be diluted.
    rate = 48000
    t = np.arange(round(16.5 * rate)) / rate
    x = np.where(t < 15.0, 0.1, 0.4) * np.sin(2 * np.pi * 1000 * t)
    x[round(1.5 * rate)] = 0.8
    x[round(4.5 * rate)] = 0.5  # the second-largest block peak
    result = dynamic_range(x, rate)
    assert result.value == pytest.approx(20 * math.log10(0.5 / 0.4), abs=1e-3)


def test_audio_shorter_than_15_s_is_refused() -> None:
    with pytest.raises(TooShortError, match=r"DR needs at least 15 s"):
        dynamic_range(np.ones((14 * 44100, 2)) * 0.1, 44100)
