"""Alignment of a master to its mix (docs/metrics.md, Alignment of a master to its mix).

Every master here is built from its mix with a known offset, gain, polarity, rate or
clock, so the expected lag is a closed-form number of samples. Correlations are
checked against numpy's own dot products and scipy.signal.correlate on the aligned
pair; resampling goes through soxr as the pipeline does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from analysis.audio import resample
from analysis.errors import (
    AlignmentError,
    InvalidInputError,
    SilentAudioError,
    TooShortError,
)
from analysis.metrics.alignment import Alignment, align, aligned_pair, match_rates
from analysis.metrics.local_alignment import local_alignment
from analysis.stimuli.synthesis import ai_style_master, engineer_style_master, synthetic_mix

RATE = 44100


@cache
def mix20() -> np.ndarray:
    """A 20 s seeded pop mix, shared by the tests (hypothesis needs no fixture)."""
    return synthetic_mix(20.0, RATE, seed=11)


@cache
def ai_master20() -> np.ndarray:
    return ai_style_master(mix20(), RATE)


@cache
def ai_reference() -> Alignment:
    """The alignment of the AI-style master with a 4321-sample lead-in, at unit gain."""
    return align(offset(ai_master20(), 4321), mix20(), RATE)


def offset(x: np.ndarray, samples: int) -> np.ndarray:
    """Add ``samples`` of leading silence (positive) or trim them from the start."""
    if samples >= 0:
        return np.concatenate([np.zeros((samples, x.shape[1])), x])
    return x[-samples:]


def residual_lag(
    master: np.ndarray, mix: np.ndarray, start: int, length: int, search: int = 50
) -> tuple[int, float]:
    """Lag and normalised peak of scipy's cross-correlation of one aligned piece."""
    x = mix[start : start + length].mean(axis=1)
    y = master[start - search : start + length + search].mean(axis=1)
    c = signal.correlate(y, x, mode="valid")
    k = int(np.argmax(np.abs(c)))
    energy = np.dot(y[k : k + length], y[k : k + length]) * np.dot(x, x)
    return k - search, float(c[k] / np.sqrt(energy))


def test_it_recovers_added_leading_silence() -> None:
    mix = mix20()
    a = align(offset(mix, round(0.5 * RATE)), mix, RATE)
    assert (a.lag, a.polarity) == (22050, 1)
    assert a.correlation == pytest.approx(1.0, abs=1e-9)
    assert (a.drift, a.edited, a.drift_checked) == (0.0, False, True)
    assert a.window_lags == (22050, 22050, 22050)


def test_it_recovers_a_trimmed_start() -> None:
    mix = mix20()
    trim = round(1.234 * RATE)  # 54419 samples
    a = align(offset(mix, -trim), mix, RATE)
    assert a.lag == -54419
    y, x = aligned_pair(offset(mix, -trim), mix, a)
    assert y.shape == x.shape == (mix.shape[0] - trim, 2)
    np.testing.assert_array_equal(y, x)


def test_it_recovers_a_lead_in_with_a_fade_out() -> None:
    mix = synthetic_mix(20.0, RATE, seed=11, fade_out=0.0)
    faded = mix.copy()
    n = round(3.0 * RATE)
    faded[-n:] *= np.linspace(1.0, 0.0, n)[:, np.newaxis]
    a = align(offset(faded, round(0.5 * RATE)), mix, RATE)
    assert (a.lag, a.polarity, a.edited) == (22050, 1, False)


@pytest.mark.parametrize(("gain_db", "polarity"), [(0.0, -1), (-18.0, 1), (14.0, -1)])
def test_it_recovers_polarity_and_ignores_gain(gain_db: float, polarity: int) -> None:
    mix = mix20()
    master = polarity * 10 ** (gain_db / 20) * offset(mix, 777)
    a = align(master, mix, RATE)
    assert (a.lag, a.polarity) == (777, polarity)
    y, x = aligned_pair(master, mix, a)
    np.testing.assert_allclose(y * 10 ** (-gain_db / 20), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("chain", [ai_style_master, engineer_style_master])
@pytest.mark.parametrize("shift", [13230, -30870])  # +0.3 s lead-in, 0.7 s trimmed
def test_it_aligns_real_mastering_chains_to_the_sample(
    chain: Callable[[np.ndarray, int], np.ndarray], shift: int
) -> None:
    mix = mix20()
    master = offset(chain(mix, RATE), shift)
    a = align(master, mix, RATE)
    assert (a.lag, a.polarity, a.edited, a.drift) == (shift, 1, False, 0.0)
    # The reported correlation is the normalised dot product of the central 20 s
    # excerpt of the aligned mono pair (here the whole overlap), computed by numpy.
    y, x = aligned_pair(master, mix, a)
    ym, xm = y.mean(axis=1), x.mean(axis=1)
    expected = np.dot(ym, xm) / np.sqrt(np.dot(ym, ym) * np.dot(xm, xm))
    assert a.correlation == pytest.approx(expected, abs=1e-9)
    assert 0.8 < a.correlation < 1.0


def test_a_48k_master_is_aligned_to_a_44k_mix() -> None:
    mix = mix20()
    master48 = offset(resample(mix, RATE, 48000), 24000)  # 0.5 s lead-in at 48 kHz
    master, same_mix, rate = match_rates(master48, 48000, mix, RATE)
    assert rate == RATE
    assert same_mix is mix
    a = align(master, same_mix, rate)
    assert abs(a.lag - 22050) <= 1
    assert a.correlation > 0.99


def test_a_44k_master_is_aligned_to_a_48k_mix() -> None:
    mix48 = synthetic_mix(20.0, 48000, seed=12)
    master44 = offset(resample(mix48, 48000, RATE), 22050)  # 0.5 s lead-in at 44.1 kHz
    master, mix, rate = match_rates(master44, RATE, mix48, 48000)
    assert rate == 48000
    assert abs(align(master, mix, rate).lag - 24000) <= 1


def test_match_rates_uses_48k_for_very_different_rates() -> None:
    master = np.ones((32000, 2))
    mix = np.ones((96000, 1))
    m, x, rate = match_rates(master, 32000, mix, 96000)
    assert rate == 48000
    assert m.shape == (48000, 2)
    assert x.shape == (48000, 1)
    unchanged = match_rates(master, 44100, mix, 44100)
    assert unchanged[0] is master
    assert unchanged[1] is mix
    assert unchanged[2] == 44100


def test_clock_drift_is_detected_and_corrected() -> None:
    mix = synthetic_mix(30.0, RATE, seed=13)
    # 44.1 kHz audio labelled 44.11 kHz: match_rates squeezes it by 44100/44110.
    master, mix, rate = match_rates(offset(mix, 11025), 44110, mix, RATE)
    a = align(master, mix, rate)
    expected = 44100 / 44110 - 1  # -2.267e-4
    assert a.drift == pytest.approx(expected, rel=0.01)
    assert not a.edited
    assert a.window_lags[0] - a.window_lags[2] > 100  # the raw lags did drift

    y, x = aligned_pair(master, mix, a)
    n = x.shape[0]
    for start in (RATE, n - 2 * RATE):  # both ends of the aligned pair
        lag, corr = residual_lag(y, x, start, RATE)
        assert abs(lag) <= 1
        assert corr > 0.99
    # Without the correction the two ends are ~270 samples apart.
    y0, x0 = aligned_pair(master, mix, dataclasses.replace(a, drift=0.0))
    ends = [residual_lag(y0, x0, start, RATE, search=500)[0] for start in (RATE, n - 2 * RATE)]
    spread = ends[1] - ends[0]
    assert spread == pytest.approx(expected * (n - 3 * RATE), abs=3)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    shift=st.integers(-3 * RATE, 3 * RATE),
    gain_db=st.floats(-20.0, 20.0),
    polarity=st.sampled_from([-1, 1]),
)
def test_property_offset_and_polarity_are_recovered(
    shift: int, gain_db: float, polarity: int
) -> None:
    mix = mix20()
    a = align(polarity * 10 ** (gain_db / 20) * offset(mix, shift), mix, RATE)
    assert (a.lag, a.polarity) == (shift, polarity)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(gain_db=st.floats(-20.0, 20.0))
def test_property_gain_does_not_change_the_lag(gain_db: float) -> None:
    master = offset(ai_master20(), 4321)
    a = align(10 ** (gain_db / 20) * master, mix20(), RATE)
    reference = ai_reference()
    assert a.lag == reference.lag == 4321
    assert a.correlation == pytest.approx(reference.correlation, abs=1e-9)


def test_aligned_pair_corresponds_sample_for_sample() -> None:
    mix = mix20()
    master = 0.25 * offset(mix, 5000)
    y, x = aligned_pair(master, mix, align(master, mix, RATE))
    assert y.shape == x.shape == mix.shape
    assert np.corrcoef(y[:, 0], x[:, 0])[0, 1] > 0.99
    np.testing.assert_allclose(4 * y, x, rtol=0, atol=1e-12)


def test_an_unrelated_signal_is_rejected(rng: np.random.Generator) -> None:
    mix = mix20()
    noise = 0.1 * rng.standard_normal(mix.shape)
    other_track = synthetic_mix(20.0, RATE, genre="rock", seed=2)
    for unrelated in (noise, other_track):
        with pytest.raises(AlignmentError, match="correlation") as info:
            align(unrelated, mix, RATE)
        assert "does not match its mix" in str(info.value)
        assert info.value.best_correlation < 0.3


def test_digital_silence_is_rejected() -> None:
    mix = mix20()
    with pytest.raises(SilentAudioError, match="master"):
        align(np.zeros_like(mix), mix, RATE)
    with pytest.raises(SilentAudioError, match="mix"):
        align(mix, np.zeros_like(mix), RATE)


def test_an_edited_master_is_flagged() -> None:
    mix = synthetic_mix(30.0, RATE, seed=14)
    cut = np.concatenate([mix[: 9 * RATE], mix[11 * RATE :]])  # 2 s removed
    a = align(cut, mix, RATE)
    assert a.edited
    assert a.drift == 0.0


def test_a_short_pair_is_aligned_without_a_drift_check() -> None:
    mix = synthetic_mix(6.0, RATE, seed=15)
    a = align(offset(mix, 300), mix, RATE)
    assert (a.lag, a.drift_checked, a.window_lags) == (300, False, ())


def test_as_dict_is_flat_and_json_ready() -> None:
    a = Alignment(
        lag=5,
        polarity=-1,
        correlation=0.9,
        drift=0.0,
        drift_checked=True,
        window_lags=(5, 5, 6),
        edited=False,
    )
    d = a.as_dict()
    assert (d["lag"], d["polarity"], d["window_lag_10"], d["window_lag_90"]) == (5, -1, 5, 6)
    assert set(d) == {
        "lag",
        "subsample",
        "polarity",
        "correlation",
        "drift",
        "drift_checked",
        "edited",
        "window_lag_10",
        "window_lag_50",
        "window_lag_90",
    }
    assert json.loads(json.dumps(d)) == d


def test_invalid_parameters_are_rejected() -> None:
    mix = mix20()
    with pytest.raises(InvalidInputError, match="min_correlation"):
        align(mix, mix, RATE, min_correlation=1.5)
    with pytest.raises(InvalidInputError, match="max_lag_seconds"):
        align(mix, mix, RATE, max_lag_seconds=0.0)
    with pytest.raises(InvalidInputError, match="equal length"):
        local_alignment(mix[:-1], mix, RATE)
    with pytest.raises(TooShortError):
        local_alignment(mix[:RATE], mix[:RATE], RATE)


def scipy_ncc(y: np.ndarray, x: np.ndarray, start: int, segment: int, search: int) -> np.ndarray:
    """Normalised correlation of one segment over ±search lags, from scipy.signal.correlate."""
    xs = x[start : start + segment]
    ys = np.pad(y, search)[start : start + segment + 2 * search]
    numerator = signal.correlate(ys, xs, mode="valid")
    energies = signal.correlate(ys**2, np.ones(segment), mode="valid")
    return np.asarray(numerator / np.sqrt(np.dot(xs, xs) * energies), dtype=np.float64)


@pytest.mark.parametrize("hop_seconds", [1.0, 0.7])
def test_local_alignment_finds_a_known_local_shift(hop_seconds: float) -> None:
    mix = mix20()
    master = 0.5 * offset(mix, 37)[: mix.shape[0]]  # master[n + 37] == mix[n]
    la = local_alignment(master, mix, RATE, hop_seconds=hop_seconds)
    segment, hop = 2 * RATE, round(hop_seconds * RATE)
    assert (la.segment, la.hop) == (segment, hop)
    assert la.lags.size == (mix.shape[0] - segment) // hop + 1
    np.testing.assert_array_equal(la.lags, 37)
    assert la.unaligned_share == 0.0
    # Against a direct numpy computation of one segment's correlation curve.
    curve = scipy_ncc(master.mean(axis=1), mix.mean(axis=1), 5 * hop, segment, 882)
    assert la.correlations[5] == pytest.approx(curve.max(), abs=1e-6)
    assert int(np.argmax(curve)) - 882 == la.lags[5]


def test_local_alignment_flags_a_section_replaced_by_noise(rng: np.random.Generator) -> None:
    mix = mix20()
    master = engineer_style_master(mix, RATE)
    assert not local_alignment(master, mix, RATE).unaligned.any()

    edited = master.copy()
    section = slice(10 * RATE, 11 * RATE)  # 1 s at 10 s: segments 9 and 10 overlap it
    level = np.sqrt(np.mean(master[section] ** 2))
    edited[section] = 4 * level * rng.standard_normal((RATE, 2))
    la = local_alignment(edited, mix, RATE)
    np.testing.assert_array_equal(np.flatnonzero(la.unaligned), [9, 10])
    assert la.unaligned_share == pytest.approx(2 / la.lags.size)
    # Half of each flagged segment is noise: its correlation is close to the
    # closed form E_kept / sqrt(E_mix · (E_kept + E_noise)) of the mono energies.
    xm, ym = mix.mean(axis=1), edited.mean(axis=1)
    for k, kept in ((9, slice(9 * RATE, 10 * RATE)), (10, slice(11 * RATE, 12 * RATE))):
        seg = slice(k * RATE, (k + 2) * RATE)
        e_kept = np.dot(ym[kept], xm[kept])
        e_y = np.dot(ym[seg], ym[seg])
        e_x = np.dot(xm[seg], xm[seg])
        assert la.correlations[k] == pytest.approx(e_kept / np.sqrt(e_x * e_y), abs=0.05)
