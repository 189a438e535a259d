"""Alignment of masters made through real DSP, checked against an independent GCC-PHAT.

The masters are bass-heavy (a sub-bass line under the synthetic mix), then processed
the ways real masters are (``analysis.stimuli.synthesis``: pedalboard's JUCE processors and
numpy): a steep high-pass and low shelf, multiband compression, a limiter driven hard
and clipping, gentle EQ and glue compression, and an MP3 round trip through
libsndfile. A fixed whole number of samples is then added or trimmed. The expected lag
is that number, and an independent GCC-PHAT written here (numpy FFTs over the whole
files, nothing from ``analysis.metrics.alignment``) must agree with it, so the test knows its
reference is sound.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache

import numpy as np
import pedalboard as pb
import pytest
import soundfile as sf

from analysis.audio import resample
from analysis.metrics.alignment import align, match_rates
from analysis.stimuli.excerpt import ExcerptSpec, cut_excerpt, master_excerpt
from analysis.stimuli.synthesis import loud_master, multiband_master, synthetic_mix, with_sub_bass

RATE = 44100
SECONDS = 24.0

Chain = Callable[[np.ndarray, int], np.ndarray]


def gcc_phat_lag(master: np.ndarray, mix: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag of ``master`` against ``mix`` (``master[n + lag] ~ mix[n]``) and its sub-sample peak.

    Whole-file GCC-PHAT of the mono downmixes; the sub-sample position is the maximum,
    on a 1/64-sample grid, of the whitened correlation's sinc interpolation over the
    4096 samples either side of the peak. Nothing here comes from the code under test.
    """
    x, y = mix.mean(axis=1), master.mean(axis=1)
    n = 1 << int(np.ceil(np.log2(x.size + y.size)))
    cross = np.conj(np.fft.rfft(x, n)) * np.fft.rfft(y, n)
    cross /= np.abs(cross) + 1e-12 * np.abs(cross).max()
    r = np.fft.irfft(cross, n)
    window = np.concatenate([r[-max_lag:], r[: max_lag + 1]])
    lag = int(np.argmax(np.abs(window))) - max_lag
    m = np.arange(-4096, 4097)
    around = np.roll(r, -lag)[m] * np.sign(window[lag + max_lag])
    grid = np.arange(-64, 65) / 64
    interpolated = np.sinc(grid[:, np.newaxis] - m[np.newaxis, :]) @ around
    return lag, float(grid[np.argmax(interpolated)])


def run(board: pb.Pedalboard, x: np.ndarray, rate: int) -> np.ndarray:
    return np.asarray(board(x.T.astype(np.float32), rate), dtype=np.float64).T.copy()


@cache
def bass_heavy_mix(rate: int = RATE, seed: int = 3) -> np.ndarray:
    """A hip-hop style mix with a loud sub-bass line (41-55 Hz notes, slow decay)."""
    mix = synthetic_mix(SECONDS, rate, genre="hiphop", seed=seed, fade_out=0.0)
    return with_sub_bass(mix, rate, seed=seed)


heavy = loud_master
multiband = multiband_master


def gentle(x: np.ndarray, rate: int) -> np.ndarray:
    board = pb.Pedalboard(
        [
            pb.PeakFilter(250, -1.5, 1.0),
            pb.HighShelfFilter(10000, 1.5, 0.7),
            pb.Compressor(-16, 2, 30, 200),
            pb.Gain(3),
            pb.Limiter(-1.0, 150),
        ]
    )
    return run(board, x, rate)


def mp3_heavy(x: np.ndarray, rate: int) -> np.ndarray:
    """The heavy master through an MP3 encode and decode (libsndfile, LAME and mpg123)."""
    buffer = io.BytesIO()
    sf.write(buffer, heavy(x, rate), rate, format="MP3")
    buffer.seek(0)
    y, _ = sf.read(buffer)
    return np.asarray(y, dtype=np.float64)


CHAINS: dict[str, Chain] = {
    "heavy": heavy,
    "multiband": multiband,
    "gentle": gentle,
    "mp3": mp3_heavy,
}


@cache
def master(chain: str, rate: int = RATE) -> np.ndarray:
    return CHAINS[chain](bass_heavy_mix(rate), rate)


def shifted(x: np.ndarray, samples: int) -> np.ndarray:
    if samples >= 0:
        return np.concatenate([np.zeros((samples, x.shape[1])), x])
    return np.ascontiguousarray(x[-samples:])


@pytest.mark.parametrize("lag", [0, 1, -1, 37])
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_the_lag_equals_the_applied_shift_and_gcc_phat(chain: str, lag: int) -> None:
    mix = bass_heavy_mix()
    y = shifted(master(chain), lag)
    reference, _ = gcc_phat_lag(y, mix, 2000)
    assert reference == lag  # the independent reference sees the applied shift
    a = align(y, mix, RATE)
    assert (a.lag, a.polarity, a.edited, a.drift) == (lag, 1, False, 0.0)
    # Every drift window agrees too (they disagreed with each other before).
    assert a.window_lags == (lag, lag, lag)
    assert abs(a.subsample) < 0.25


@pytest.mark.parametrize("chain", ["heavy", "gentle"])
def test_added_leading_silence_and_a_sample_of_delay_are_recovered(chain: str) -> None:
    mix = bass_heavy_mix()
    lead = round(0.75 * RATE) + 1
    y = shifted(master(chain), lead)
    assert gcc_phat_lag(y, mix, RATE)[0] == lead
    assert align(y, mix, RATE).lag == lead


def fractional_delay(x: np.ndarray, delay: float) -> np.ndarray:
    """Delay by a non-integer number of samples (a linear phase shift: band-limited)."""
    n = 1 << int(np.ceil(np.log2(x.shape[0] + 64)))
    spectrum = np.fft.rfft(x, n, axis=0)
    phase = np.exp(-2j * np.pi * np.arange(spectrum.shape[0]) * delay / n)
    return np.fft.irfft(spectrum * phase[:, np.newaxis], n, axis=0)[: x.shape[0] + 8]


@pytest.mark.parametrize("fraction", [0.25, -0.4])
def test_the_sub_sample_residual_is_reported(fraction: float) -> None:
    mix = bass_heavy_mix()
    # The mix itself delayed by 5 + fraction samples: the residual is the fraction.
    a = align(fractional_delay(mix, 5 + fraction), mix, RATE)
    assert (a.lag, a.subsample) == (5, pytest.approx(fraction, abs=0.01))
    assert a.as_dict()["subsample"] == a.subsample
    # A limited master so delayed: the residual agrees with the reference's to its grid.
    y = fractional_delay(master("heavy"), 5 + fraction)
    lag, sub = gcc_phat_lag(y, mix, 100)
    a = align(y, mix, RATE)
    assert (a.lag, lag) == (5, 5)
    assert a.subsample == pytest.approx(sub, abs=1 / 32)
    assert a.subsample == pytest.approx(fraction, abs=0.1)


@pytest.mark.parametrize("lag", [0, 1, -1])
def test_a_48k_master_is_aligned_at_its_own_rate_and_matches_gcc_phat(lag: int) -> None:
    # The pipeline aligns on the master's clock, the mix resampled to it.
    mix48 = resample(bass_heavy_mix(), RATE, 48000)
    y = shifted(heavy(mix48, 48000), lag)
    assert gcc_phat_lag(y, mix48, 2000)[0] == lag
    assert align(y, mix48, 48000).lag == lag
    # measure() brings the master to the mix's rate instead; the lag then scales.
    m, x, rate = match_rates(y, 48000, bass_heavy_mix(), RATE)
    expected, _ = gcc_phat_lag(m, x, 2000)
    assert align(m, x, rate).lag == expected


def test_the_excerpt_cut_from_a_delayed_limited_master_lines_up_with_the_mix() -> None:
    mix = bass_heavy_mix()
    y = shifted(master("heavy"), 1)
    spec = ExcerptSpec(rate=RATE, start=6.0, length=8.0, fade_ms=0.0)
    excerpt, alignment = master_excerpt(y, mix, spec)
    assert alignment.lag == 1
    # The excerpt equals the undelayed master's, sample for sample.
    np.testing.assert_array_equal(excerpt, cut_excerpt(master("heavy"), spec))
    # And an independent GCC-PHAT between the two excerpts finds no residual lag.
    assert gcc_phat_lag(excerpt, cut_excerpt(mix, spec), 200)[0] == 0
