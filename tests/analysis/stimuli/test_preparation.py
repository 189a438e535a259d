"""Stimulus preparation: excerpts, fades, anchors and loudness matching, checked from outside."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm as pyln
import pytest
from scipy import signal

from analysis.audio import resample
from analysis.errors import AlignmentError, InvalidInputError, TooShortError
from analysis.stimuli.anchors import ANCHOR_TRANSITION, lowpass, lowpass_excerpt
from analysis.stimuli.excerpt import (
    ExcerptSpec,
    align_to_mix,
    apply_fades,
    conform,
    conform_span,
    cut_excerpt,
    master_excerpt,
    raised_cosine,
)
from analysis.stimuli.levels import Level, apply_gain, match_loudness, measure_level
from analysis.stimuli.synthesis import engineer_style_master, synthetic_mix

RATE = 16000


@pytest.fixture(scope="module")
def mix() -> np.ndarray:
    return synthetic_mix(12.0, RATE, genre="rock", seed=5)


def test_excerpt_spec_counts_samples() -> None:
    spec = ExcerptSpec(rate=48000, start=1.5, length=4.0, fade_ms=10.0)
    assert (spec.start_frame, spec.frames, spec.fade_frames) == (72000, 192000, 480)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": -1.0}, "excerpt start=-1.0 s must be >= 0"),
        ({"length": 0.0}, "excerpt length=0.0 s must be > 0"),
        ({"fade_ms": 3000.0}, "fades of 3000 ms do not fit an excerpt of 4 s"),
        ({"rate": 100}, "rate=100 must be a whole number of Hz >= 8000"),
    ],
)
def test_excerpt_spec_rejects_bad_values(kwargs: dict[str, float], message: str) -> None:
    options = {"rate": 48000, "start": 0.0, "length": 4.0, "fade_ms": 10.0, **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        ExcerptSpec(**options)  # type: ignore[arg-type]


def test_cut_excerpt_takes_the_exact_samples(rng: np.random.Generator) -> None:
    x = rng.standard_normal((RATE * 3, 2))
    spec = ExcerptSpec(rate=RATE, start=1.0, length=1.0, fade_ms=0)
    np.testing.assert_array_equal(cut_excerpt(x, spec), x[RATE : 2 * RATE])
    np.testing.assert_array_equal(cut_excerpt(x, spec, offset=-100), x[RATE - 100 : 2 * RATE - 100])


def test_cut_excerpt_says_how_much_audio_there_is(rng: np.random.Generator) -> None:
    x = rng.standard_normal((round(RATE * 1.5), 2))
    spec = ExcerptSpec(rate=RATE, start=1.0, length=1.0, fade_ms=0)
    with pytest.raises(TooShortError, match=r"the excerpt of the master .* got 0\.500 s") as raised:
        cut_excerpt(x, spec, name="master")
    assert raised.value.seconds == pytest.approx(0.5)


def test_conform_resamples_and_makes_stereo(mix: np.ndarray) -> None:
    y = conform(mix[:, :1], RATE, 48000)
    assert y.shape == (mix.shape[0] * 3, 2)
    np.testing.assert_array_equal(y[:, 0], y[:, 1])


@pytest.mark.parametrize(
    ("lead_in", "trim", "rate", "polarity"),
    [(0.5, 0.0, RATE, 1), (0.0, 0.3, RATE, -1), (0.25, 0.1, 22050, -1), (1.0, 0.0, 44100, 1)],
)
def test_master_excerpt_recovers_the_passage_to_the_sample(
    mix: np.ndarray, lead_in: float, trim: float, rate: int, polarity: int
) -> None:
    """Added silence, trimming, another delivery rate and inverted polarity are all undone."""
    master = engineer_style_master(mix, RATE)
    delivered = np.concatenate([np.zeros((round(lead_in * RATE), 2)), master[round(trim * RATE) :]])
    delivered = polarity * resample(delivered, RATE, rate)
    spec = ExcerptSpec(rate=RATE, start=3.0, length=4.0, fade_ms=0)
    conformed = conform(delivered, rate, RATE)
    excerpt, alignment = master_excerpt(conformed, mix, spec)
    assert alignment.lag == round((lead_in - trim) * RATE)
    assert alignment.polarity == polarity
    # The excerpt is the delivered master's own samples at the mix's passage.
    want = polarity * cut_excerpt(conformed, spec, offset=alignment.lag)
    np.testing.assert_allclose(excerpt, want, atol=1e-12)
    # And it lines up with the mix: the cross-correlation peaks at lag 0.
    reference = cut_excerpt(mix, spec).mean(axis=1)
    corr = signal.correlate(excerpt.mean(axis=1), reference, mode="full")
    assert int(np.argmax(corr)) - (reference.size - 1) == 0


def test_align_to_mix_gives_the_offset_of_the_mix(mix: np.ndarray) -> None:
    master = engineer_style_master(mix, RATE)[RATE:]  # starts 1 s into the music
    y, offset, alignment = align_to_mix(master, mix, RATE)
    assert (alignment.lag, offset) == (-RATE, -RATE)
    np.testing.assert_allclose(y[:100], master[:100])


def test_master_excerpt_refuses_another_song(mix: np.ndarray) -> None:
    other = synthetic_mix(12.0, RATE, genre="jazz", seed=99)
    spec = ExcerptSpec(rate=RATE, start=3.0, length=4.0)
    with pytest.raises(AlignmentError, match="best correlation found"):
        master_excerpt(other, mix, spec)


def test_raised_cosine_is_half_a_hann_window() -> None:
    n = 64
    k = np.arange(n)
    np.testing.assert_allclose(raised_cosine(n), 0.5 - 0.5 * np.cos(np.pi * k / n), atol=0)
    assert np.all(np.diff(raised_cosine(n)) > 0)
    # scipy's periodic Hann of length 2n has the same rising half.
    np.testing.assert_allclose(raised_cosine(n), signal.windows.hann(2 * n, sym=False)[:n])


def test_apply_fades_is_identical_in_and_out() -> None:
    spec = ExcerptSpec(rate=RATE, start=0, length=1.0, fade_ms=25.0)
    y = apply_fades(np.ones((RATE, 2)), spec)
    n = spec.fade_frames
    np.testing.assert_allclose(y[:n, 0], raised_cosine(n))
    np.testing.assert_allclose(y[-n:, 1], raised_cosine(n)[::-1])
    assert np.all(y[n:-n] == 1.0)
    assert y[0, 0] == 0.0
    assert y[-1, 0] == 0.0


@pytest.mark.parametrize("cutoff", [3500.0, 7000.0])
def test_lowpass_stops_everything_above_the_cutoff(cutoff: float) -> None:
    rate = 48000
    t = np.arange(rate) / rate
    core = slice(5000, -5000)  # away from the convolution's edges
    for freq, want_db in ((0.9 * cutoff, 0.0), (cutoff, -95.0), (1.5 * cutoff, -95.0)):
        x = np.sin(2 * np.pi * freq * t)[:, np.newaxis]
        gain = 20 * np.log10(np.max(np.abs(lowpass(x, rate, cutoff)[core])))
        if want_db == 0.0:
            assert gain == pytest.approx(0.0, abs=0.001)
        else:
            assert gain < want_db


def test_lowpass_leaves_no_energy_above_the_cutoff(rng: np.random.Generator) -> None:
    rate = 44100
    noise = rng.standard_normal((rate * 4, 2))
    y = lowpass(noise, rate, 3500.0)
    f, pxx = signal.welch(y[:, 0], rate, nperseg=4096)
    assert 10 * np.log10(pxx[f >= 3500.0].sum() / pxx.sum()) < -60.0
    # The pass band is flat up to (1 - ANCHOR_TRANSITION) x cutoff.
    _, pin = signal.welch(noise[:, 0], rate, nperseg=4096)
    band = (f > 100) & (f < (1 - ANCHOR_TRANSITION) * 3500.0 - 50)
    np.testing.assert_allclose(pxx[band] / pin[band], 1.0, rtol=1e-3)


def test_lowpass_adds_no_delay() -> None:
    x = np.zeros((8000, 1))
    x[4000] = 1.0
    y = lowpass(x, 48000, 7000.0)
    assert int(np.argmax(y[:, 0])) == 4000
    np.testing.assert_allclose(y[3000:4000, 0], y[4001:5001, 0][::-1], atol=1e-15)  # symmetric


def test_lowpass_excerpt_matches_filtering_the_whole_signal(mix: np.ndarray) -> None:
    spec = ExcerptSpec(rate=RATE, start=3.0, length=4.0, fade_ms=0)
    whole = cut_excerpt(lowpass(mix, RATE, 3500.0), spec)
    np.testing.assert_allclose(lowpass_excerpt(mix, spec, 3500.0), whole, atol=1e-12)


def test_measure_level_agrees_with_pyloudnorm() -> None:
    rate = 48000
    t = np.arange(rate * 5) / rate
    amplitude = 10 ** (-23 / 20)
    x = np.stack([amplitude * np.sin(2 * np.pi * 997 * t)] * 2, axis=1)
    level = measure_level(x, rate)
    reference = pyln.Meter(rate, filter_class="DeMan").integrated_loudness(x)
    assert level.loudness_lufs == pytest.approx(reference, abs=0.02)
    assert level.loudness_lufs == pytest.approx(-23.0, abs=0.05)  # EBU Tech 3341 case 1
    assert level.true_peak_dbtp == pytest.approx(-23.0, abs=0.05)


def test_match_loudness_gives_each_version_one_gain_to_the_target() -> None:
    levels = [Level(-10.0, -0.5), Level(-16.0, -8.0), Level(-30.0, -20.0)]
    match = match_loudness(levels, target_lufs=-23.0, ceiling_dbtp=-1.0, margin_db=0.0)
    assert match.target_lufs == -23.0
    assert match.gains_db == (-13.0, -7.0, 7.0)
    assert match.true_peaks_dbtp == (-13.5, -15.0, -13.0)
    assert match.lowered_by == 0.0


def test_match_loudness_lowers_the_target_for_the_whole_track() -> None:
    # PLRs of 19 and 8 dB: at -14 LUFS the first would peak at +5 dBTP.
    levels = [Level(-20.0, -1.0), Level(-9.0, -1.0)]
    match = match_loudness(levels, target_lufs=-14.0, ceiling_dbtp=-1.0, margin_db=0.0)
    assert match.target_lufs == pytest.approx(-20.0)  # ceiling - max PLR
    assert match.lowered_by == pytest.approx(6.0)
    assert match.gains_db == pytest.approx((0.0, -11.0))
    assert max(match.true_peaks_dbtp) == pytest.approx(-1.0)
    margin = match_loudness(levels, target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert max(margin.true_peaks_dbtp) < -1.0


def test_match_loudness_rejects_nonsense() -> None:
    with pytest.raises(InvalidInputError, match="at least one level"):
        match_loudness([], target_lufs=-23.0, ceiling_dbtp=-1.0)
    with pytest.raises(InvalidInputError, match="target_lufs=nan must be finite"):
        match_loudness([Level(-20.0, -5.0)], target_lufs=math.nan, ceiling_dbtp=-1.0)


def test_apply_gain_scales_by_decibels() -> None:
    assert apply_gain(np.ones((2, 1)), 20 * math.log10(0.5))[0, 0] == pytest.approx(0.5)


@pytest.mark.parametrize("rate_in", [32000, 44100, 48000, 96000])
@pytest.mark.parametrize("steps", [0, 1, 77])
def test_conform_span_equals_conforming_the_whole_track(
    rng: np.random.Generator, rate_in: int, steps: int
) -> None:
    # The outside reference is the plain path: soxr on the whole track, then the cut. The
    # offset is a whole number of playback samples, so the whole-track path can cut it too.
    scale = math.gcd(rate_in, 48000)
    offset, whole_offset = steps * (rate_in // scale), steps * (48000 // scale)
    x = rng.standard_normal((round(9.0 * rate_in) + offset, 2)) * 0.1
    spec = ExcerptSpec(rate=48000, start=3.217, length=2.5, fade_ms=0)
    whole = conform(x, rate_in, 48000)
    want = cut_excerpt(whole, spec, offset=whole_offset)
    span, span_offset = conform_span(x, rate_in, spec, offset=offset)
    got = cut_excerpt(span, spec, offset=span_offset)
    assert span.shape[0] < 0.5 * whole.shape[0]  # only the span was resampled
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_conform_span_of_a_master_that_starts_too_late_is_named() -> None:
    spec = ExcerptSpec(rate=48000, start=1.0, length=2.0, fade_ms=0)
    master = np.full((44100 * 4, 2), 0.1)
    span, span_offset = conform_span(master, 44100, spec, offset=-66150)  # starts 1.5 s late
    with pytest.raises(TooShortError, match="master"):
        cut_excerpt(span, spec, offset=span_offset, name="master")
