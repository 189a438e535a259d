"""BS.1770-4 loudness, true peak and EBU loudness range against the standards' test cases.

The EBU Tech 3341/3342 signals are synthesised as docs/metrics.md: Test vectors) describes (the EBU
files are not redistributable); tolerances are the EBU's. pyloudnorm's "DeMan" filter
class and scipy's resample_poly are the outside references for general signals, and
libebur128 (through pyebur128) for the loudness range: pyloudnorm's LRA hops by 90 ms
and interpolates its percentiles, which reads up to 2 LU away from libebur128 on 30 s
excerpts, and libebur128 is the reference the project's LRA is held to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyebur128
import pyloudnorm as pyln
import pytest
from scipy import signal

from analysis.errors import ChannelCountError, SilentAudioError, TooShortError
from analysis.metrics.k_weighting import gated_blocks, k_weighting_filters
from analysis.metrics.loudness import (
    integrated_loudness,
    measure_loudness,
    momentary_loudness,
    short_term_loudness,
)
from analysis.metrics.loudness_range import loudness_range
from analysis.metrics.true_peak import oversampling_factor, sample_peak, true_peak
from analysis.stimuli.synthesis import ai_style_master, synthetic_mix

RATES = [44100, 48000]


def tone(segments: Sequence[tuple[float, float]], rate: int, freq: float = 1000.0) -> np.ndarray:
    """Stereo sine through consecutive (dBFS, seconds) segments, no crossfade."""
    levels = [np.full(round(sec * rate), 10 ** (db / 20)) for db, sec in segments]
    amp = np.concatenate(levels)
    x = amp * np.sin(2 * np.pi * freq * np.arange(amp.size) / rate)
    return np.stack([x, x], axis=1)


def tapered_sine(rate: int, cycles: float, peak: float, phase_deg: float) -> np.ndarray:
    """Tech 3341 true-peak signal: sine at rate/cycles, 1 s, 0.1 s half-Hann ramps."""
    n = np.arange(rate)
    x = peak * np.sin(2 * np.pi * n / cycles + math.radians(phase_deg))
    ramp = round(0.1 * rate)
    fade = np.hanning(2 * ramp)
    x[:ramp] *= fade[:ramp]
    x[-ramp:] *= fade[ramp:]
    return np.stack([x, x], axis=1)


def test_k_weighting_reproduces_the_bs1770_table_at_48k() -> None:
    (b1, a1), (b2, a2) = k_weighting_filters(48000)
    # ITU-R BS.1770-4 Annex 1, Tables 1 and 2.
    np.testing.assert_allclose(
        b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], rtol=0, atol=1e-12)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0], rtol=0, atol=0)
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], rtol=0, atol=1e-12)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 88200, 96000, 192000])
def test_k_weighting_at_other_rates_matches_pyloudnorms_deman_filters(rate: int) -> None:
    # Brecht De Man's derivation of the same analogue prototypes (constants to ~13 digits).
    filters = pyln.Meter(rate, filter_class="DeMan")._filters
    shelf, high_pass = filters["high_shelf_DeMan"], filters["high_pass_DeMan"]
    (b1, a1), (b2, a2) = k_weighting_filters(rate)
    for ours, theirs in ((b1, shelf.b), (a1, shelf.a), (b2, high_pass.b), (a2, high_pass.a)):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-11)


@pytest.mark.parametrize("rate", RATES)
def test_k_weighting_gain_at_997_hz_cancels_the_offset(rate: int) -> None:
    # The -0.691 constant exists because K-weighting gains +0.691 dB at 997 Hz.
    (b1, a1), (b2, a2) = k_weighting_filters(rate)
    _, h1 = signal.freqz(b1, a1, worN=[997.0], fs=rate)
    _, h2 = signal.freqz(b2, a2, worN=[997.0], fs=rate)
    assert 20 * np.log10(abs(h1[0] * h2[0])) == pytest.approx(0.691, abs=0.005)


@pytest.mark.parametrize("rate", RATES)
def test_a_mono_full_scale_997_hz_sine_reads_minus_3_01(rate: int) -> None:
    x = np.sin(2 * np.pi * 997 * np.arange(5 * rate) / rate)
    assert integrated_loudness(x, rate) == pytest.approx(-3.01, abs=0.01)


# EBU Tech 3341 Table 1, cases 1-5: expected I = -23.0 / -33.0 LUFS, tolerance +-0.1 LU.
TECH_3341: dict[str, tuple[list[tuple[float, float]], float]] = {
    "3341-1": ([(-23, 20)], -23.0),
    "3341-2": ([(-33, 20)], -33.0),
    "3341-3": ([(-36, 10), (-23, 60), (-36, 10)], -23.0),
    "3341-4": ([(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),
    "3341-5": ([(-26, 20), (-20, 20.1), (-26, 20)], -23.0),
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3341))
def test_tech_3341_integrated_loudness(case: str, rate: int) -> None:
    segments, expected = TECH_3341[case]
    assert integrated_loudness(tone(segments, rate), rate) == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech_3341_cases_1_and_2_read_the_same_momentary_and_short_term(rate: int) -> None:
    for level in (-23, -33):
        x = tone([(level, 20)], rate)
        np.testing.assert_allclose(momentary_loudness(x, rate), level, atol=0.1)
        np.testing.assert_allclose(short_term_loudness(x, rate), level, atol=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech_3341_case_9_short_term_is_constant_after_3_s(rate: int) -> None:
    x = tone([(-20, 1.34), (-30, 1.66)] * 5, rate)
    st = short_term_loudness(x, rate)  # first value: the window ending at 3 s
    assert st.size == 121
    np.testing.assert_allclose(st, -23.0, atol=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_tech_3341_case_12_momentary_is_constant_after_1_s(rate: int) -> None:
    x = tone([(-20, 0.18), (-30, 0.22)] * 25, rate)
    mom = momentary_loudness(x, rate)
    np.testing.assert_allclose(mom[6:], -23.0, atol=0.1)  # windows ending at >= 1 s


# Tech 3341 cases 15-19: (cycles per period, peak, phase in degrees, expected dBTP).
TRUE_PEAK_CASES: dict[str, tuple[int, float, float, float]] = {
    "3341-15": (4, 0.50, 0.0, -6.0),
    "3341-16": (4, 0.50, 45.0, -6.0),
    "3341-17": (6, 0.50, 60.0, -6.0),
    "3341-18": (8, 0.50, 67.5, -6.0),
    "3341-19": (4, 1.41, 45.0, 3.0),
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("case", sorted(TRUE_PEAK_CASES))
def test_tech_3341_true_peak(case: str, rate: int) -> None:
    cycles, peak, phase, expected = TRUE_PEAK_CASES[case]
    x = tapered_sine(rate, cycles, peak, phase)
    tp = true_peak(x, rate)
    assert expected - 0.4 <= tp <= expected + 0.2
    # The sample peak in closed form: the largest |sin| on the sampling grid.
    grid = np.abs(np.sin(2 * np.pi * np.arange(cycles) / cycles + math.radians(phase)))
    assert sample_peak(x) == pytest.approx(20 * np.log10(peak * grid.max()), abs=1e-9)
    assert measure_loudness(x, rate).true_peak == tp


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 88200, 96000, 192000])
def test_true_peak_equals_resample_poly(rate: int, rng: np.random.Generator) -> None:
    n = rate + 4321  # not a multiple of any chunk length
    x = 0.1 * rng.standard_normal((n, 2))
    x[-1, 1] = 0.9  # a peak on the very last sample: the edges must match too
    up = oversampling_factor(rate)
    reference = signal.resample_poly(x, up, 1, axis=0, window=("kaiser", 10.0))
    assert true_peak(x, rate) == pytest.approx(20 * np.log10(np.abs(reference).max()), abs=1e-9)


def test_oversampling_reaches_about_192_khz() -> None:
    assert [oversampling_factor(r) for r in (44100, 48000, 88200, 96000, 176400, 192000)] == [
        4, 4, 2, 2, 1, 1,
    ]  # fmt: skip


# EBU Tech 3342 cases 1-4: expected LRA, tolerance +-1 LU.
TECH_3342: dict[str, tuple[list[tuple[float, float]], float]] = {
    "3342-1": ([(-20, 20), (-30, 20)], 10.0),
    "3342-2": ([(-20, 20), (-15, 20)], 5.0),
    "3342-3": ([(-40, 20), (-20, 20)], 20.0),
    "3342-4": ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0),
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3342))
def test_tech_3342_loudness_range(case: str, rate: int) -> None:
    segments, expected = TECH_3342[case]
    lra = loudness_range(tone(segments, rate), rate)
    assert lra == pytest.approx(expected, abs=1.0)


@pytest.fixture(scope="module", params=RATES)
def music(request: pytest.FixtureRequest) -> tuple[np.ndarray, int]:
    rate = int(request.param)
    return synthetic_mix(60.0, rate, genre="rock", seed=7), rate


def test_integrated_loudness_agrees_with_pyloudnorm_on_music(music: tuple[np.ndarray, int]) -> None:
    mix, rate = music
    meter = pyln.Meter(rate, filter_class="DeMan")
    for x in (mix, ai_style_master(mix, rate)):
        assert integrated_loudness(x, rate) == pytest.approx(meter.integrated_loudness(x), abs=0.02)


def ebur128_loudness_range(x: np.ndarray, rate: int) -> float:
    """LRA from libebur128 1.2.6 (pyebur128 wants interleaved 1-D float64)."""
    state = pyebur128.R128State(x.shape[1], rate, pyebur128.MeasurementMode.MODE_LRA)
    state.add_frames(np.ascontiguousarray(x, dtype=np.float64).ravel(), x.shape[0])
    return float(pyebur128.get_loudness_range(state))


def test_loudness_range_agrees_with_libebur128_on_music(music: tuple[np.ndarray, int]) -> None:
    mix, rate = music
    assert loudness_range(mix, rate) == pytest.approx(ebur128_loudness_range(mix, rate), abs=0.01)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("genre", ["pop", "jazz", "classical", "hiphop"])
@pytest.mark.parametrize("shape", ["mix", "master", "fade", "mono"])
def test_loudness_range_agrees_with_libebur128_on_30_s_excerpts(
    rate: int, genre: str, shape: str
) -> None:
    # 30 s excerpts are where the window hop, the appended silence and the percentile
    # rule weigh most: a 20 dB fade over the excerpt moved LRA by up to 2 LU.
    x = synthetic_mix(30.0, rate, genre=genre, seed=5, fade_out=0.0)
    if shape == "master":
        x = ai_style_master(x, rate)
    elif shape == "fade":
        x = x * np.geomspace(1.0, 0.1, x.shape[0])[:, np.newaxis]
    elif shape == "mono":
        x = x.mean(axis=1, keepdims=True)
    expected = ebur128_loudness_range(x, rate)
    assert loudness_range(x, rate) == pytest.approx(expected, abs=0.01)
    assert measure_loudness(x, rate).loudness_range == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
def test_integrated_loudness_agrees_with_pyloudnorm_on_noise(
    rate: int, channels: int, rng: np.random.Generator
) -> None:
    # Noise whose level drifts by 30 dB, so both gates take part.
    n = 30 * rate
    x = rng.standard_normal((n, channels)) * np.geomspace(0.3, 0.01, n)[:, np.newaxis]
    meter = pyln.Meter(rate, filter_class="DeMan")
    assert integrated_loudness(x, rate) == pytest.approx(meter.integrated_loudness(x), abs=0.02)
    assert loudness_range(x, rate) == pytest.approx(ebur128_loudness_range(x, rate), abs=0.01)


@pytest.mark.parametrize("rate", RATES)
def test_momentary_and_short_term_match_pyloudnorm_blocks(
    rate: int, rng: np.random.Generator
) -> None:
    x = rng.standard_normal((12 * rate, 2)) * np.linspace(0.02, 0.2, 12 * rate)[:, np.newaxis]
    for ours, block in ((momentary_loudness(x, rate), 0.4), (short_term_loudness(x, rate), 3.0)):
        meter = pyln.Meter(rate, filter_class="DeMan", block_size=block, overlap=1 - 0.1 / block)
        meter.integrated_loudness(x)  # fills meter.blockwise_loudness, ungated
        theirs = np.asarray(meter.blockwise_loudness)[: ours.size]
        np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_gain_shifts_loudness_by_exactly_the_gain(rng: np.random.Generator) -> None:
    x = rng.standard_normal((10 * 44100, 2)) * np.linspace(0.01, 0.3, 10 * 44100)[:, np.newaxis]
    base = measure_loudness(x, 44100)
    louder = measure_loudness(x * 2.0, 44100)
    gain = 20 * math.log10(2.0)
    assert louder.integrated - base.integrated == pytest.approx(gain, abs=1e-9)
    assert louder.true_peak - base.true_peak == pytest.approx(gain, abs=1e-9)
    assert louder.loudness_range == pytest.approx(base.loudness_range, abs=1e-9)


def test_measure_loudness_agrees_with_the_single_functions(music: tuple[np.ndarray, int]) -> None:
    x, rate = music
    stats = measure_loudness(x, rate)
    st = short_term_loudness(x, rate)
    assert stats.integrated == integrated_loudness(x, rate)
    assert stats.true_peak == true_peak(x, rate)
    assert stats.sample_peak == sample_peak(x)
    assert stats.loudness_range == pytest.approx(loudness_range(x, rate), abs=1e-12)
    assert stats.max_momentary == pytest.approx(momentary_loudness(x, rate).max(), abs=1e-12)
    assert stats.max_short_term == pytest.approx(st.max(), abs=1e-12)
    assert stats.plr == stats.true_peak - stats.integrated  # docs/metrics.md (PLR and PSR)
    assert stats.psr == stats.true_peak - stats.max_short_term
    assert set(stats.as_dict()) == {
        "integrated", "true_peak", "sample_peak", "loudness_range",
        "max_momentary", "max_short_term", "plr", "psr",
    }  # fmt: skip


def test_short_audio_has_no_short_term_statistics() -> None:
    x = tone([(-23, 2.0)], 48000)
    stats = measure_loudness(x, 48000)
    assert stats.integrated == pytest.approx(-23.0, abs=0.1)
    assert math.isnan(stats.loudness_range)
    assert math.isnan(stats.max_short_term)
    assert math.isnan(stats.psr)
    with pytest.raises(TooShortError, match="short-term loudness needs at least 3 s"):
        short_term_loudness(x, 48000)


def test_gated_blocks_drop_silence_and_quiet_passages() -> None:
    rate = 48000
    x = tone([(-80, 2.0), (-20, 3.0), (-40, 2.0)], rate)  # below -70, loud, below relative gate
    gate = gated_blocks(x, rate)
    assert (gate.block, gate.hop) == (19200, 4800)
    assert gate.mask.shape == (7 * 10 - 3,)
    starts = np.arange(gate.mask.size) * 0.1
    inside = (starts >= 2.0 - 0.3) & (starts < 5.0)  # blocks overlapping the loud part
    np.testing.assert_array_equal(gate.mask[(starts >= 2.0) & (starts <= 4.6)], True)
    np.testing.assert_array_equal(gate.mask[~inside], False)
    positions = np.arange(0, x.shape[0], 997)
    brute = [
        any(gate.mask[j] and j * gate.hop <= p < j * gate.hop + gate.block for j in range(67))
        for p in positions
    ]
    np.testing.assert_array_equal(gate.covers(positions), brute)


def test_silence_and_sub_gate_audio_are_refused() -> None:
    with pytest.raises(SilentAudioError, match="-70 LUFS"):
        integrated_loudness(np.zeros((48000, 2)), 48000)
    with pytest.raises(SilentAudioError):
        measure_loudness(tone([(-80, 2.0)], 48000), 48000)  # not digital silence, but < -70
    assert true_peak(np.zeros((4800, 2)), 48000) == -math.inf
    assert sample_peak(np.zeros(10)) == -math.inf


def test_too_short_and_too_many_channels_are_refused() -> None:
    with pytest.raises(TooShortError, match=r"integrated loudness needs at least 0\.4 s"):
        integrated_loudness(np.ones((round(0.39 * 48000), 2)), 48000)
    with pytest.raises(TooShortError, match="loudness range"):
        loudness_range(np.ones((2 * 48000, 2)), 48000)
    with pytest.raises(ChannelCountError, match="3 channels"):
        integrated_loudness(np.ones((48000, 3)), 48000)


def test_measure_loudness_and_gate_shares_one_pass_with_the_separate_functions() -> None:
    from analysis.metrics.loudness import measure_loudness, measure_loudness_and_gate
    from analysis.stimuli.synthesis import synthetic_mix

    x = synthetic_mix(12.0, 44100, genre="jazz", seed=4)
    stats, gate = measure_loudness_and_gate(x, 44100)
    separate = gated_blocks(x, 44100)
    assert stats == measure_loudness(x, 44100)
    assert np.array_equal(gate.mask, separate.mask)
    assert (gate.block, gate.hop) == (separate.block, separate.hop)
