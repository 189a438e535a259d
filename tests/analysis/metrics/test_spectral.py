"""Gated LTAS, WSC, centroid, tilt, BER and TBD (docs/metrics.md) against closed forms and scipy."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import signal

from analysis.errors import InvalidInputError, SilentAudioError, TooShortError
from analysis.metrics.k_weighting import gated_blocks
from analysis.metrics.spectral import band_centres, ltas_nperseg, measure_spectrum
from analysis.metrics.tonal_balance import (
    bass_excitation_ratio,
    tonal_balance_deviation,
    tonal_target,
)

RATE = 44100


def noise(rng: np.random.Generator, seconds: float, rate: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum proportional to f**-exponent (0 white, 1 pink)."""
    n = round(seconds * rate)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / rate)
    spec[1:] /= f[1:] ** (exponent / 2)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return np.asarray(0.1 * x / x.std())


def sines(parts: list[tuple[float, float]], seconds: float = 6.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return sum(a * np.sin(2 * np.pi * f * t + f) for f, a in parts)  # type: ignore[return-value]


def test_segment_length_scales_with_the_rate() -> None:
    assert [ltas_nperseg(r) for r in (22050, 44100, 48000, 96000)] == [4096, 8192, 8192, 16384]


def test_band_centres_are_base_2_thirds_from_25_hz_to_16_khz() -> None:
    centres = band_centres(44100)
    assert centres.size == 29
    np.testing.assert_allclose(centres, 1000 * 2.0 ** (np.arange(-16, 13) / 3), rtol=1e-12)
    assert band_centres(32000)[-1] == pytest.approx(1000 * 2 ** (11 / 3))  # 16 kHz above Nyquist


@pytest.mark.parametrize("channels", [1, 2])
def test_ungated_ltas_equals_scipy_welch(channels: int, rng: np.random.Generator) -> None:
    x = 0.1 * rng.standard_normal((10 * RATE, channels))  # every 400 ms block passes
    spectrum = measure_spectrum(x, RATE)
    freqs, psd = signal.welch(x.mean(axis=1), RATE, nperseg=8192)
    np.testing.assert_allclose(spectrum.frequencies, freqs, rtol=1e-12)
    np.testing.assert_allclose(spectrum.psd, psd, rtol=1e-9)


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize(("exponent", "tilt"), [(1.0, 0.0), (0.0, 10 * math.log10(2))])
def test_tilt_of_pink_and_white_noise(
    rate: int, exponent: float, tilt: float, rng: np.random.Generator
) -> None:
    # Band power grows with bandwidth: white noise +3.01 dB/oct, pink noise 0 dB/oct.
    spectrum = measure_spectrum(noise(rng, 60.0, rate, exponent), rate)
    assert spectrum.tilt == pytest.approx(tilt, abs=0.3)


@pytest.mark.parametrize("freq", [250.0, 1000.0, 4000.0])
def test_a_sine_has_its_frequency_as_centroid(freq: float) -> None:
    spectrum = measure_spectrum(sines([(freq, 0.5)]), RATE)
    assert spectrum.centroid_hz == pytest.approx(freq, abs=0.5)
    assert spectrum.wsc == pytest.approx(math.log10(freq / 20) / 3, abs=1e-3)
    # The band holding the sine carries its power A**2 / 2.
    band = int(np.argmin(np.abs(spectrum.band_centres - freq)))
    assert spectrum.band_levels[band] == pytest.approx(10 * math.log10(0.5**2 / 2), abs=0.01)


LOW = [(50.0, 0.3), (100.0, 0.2)]  # 20-150 Hz
MID_LOW = [(200.0, 0.25)]  # 150-250 Hz
HIGH = [(500.0, 0.3), (2000.0, 0.2), (6000.0, 0.1)]


def power(parts: list[tuple[float, float]]) -> float:
    return sum(a**2 / 2 for _, a in parts)


def test_ber_of_a_signal_against_itself_is_one() -> None:
    spectrum = measure_spectrum(sines(LOW + MID_LOW + HIGH), RATE)
    ber = bass_excitation_ratio(spectrum, spectrum)
    assert (ber.ratio, ber.db, ber.ratio_250, ber.db_250) == (1.0, 0.0, 1.0, 0.0)


def test_ber_of_a_6_db_bass_boost_in_closed_form() -> None:
    mix = measure_spectrum(sines(LOW + MID_LOW + HIGH), RATE)
    boosted = [(f, 2 * a) for f, a in LOW]  # +6.02 dB on 20-150 Hz only
    master = measure_spectrum(sines(boosted + MID_LOW + HIGH), RATE)
    ber = bass_excitation_ratio(master, mix)
    low, mid, high = power(LOW), power(MID_LOW), power(HIGH)
    total = low + mid + high
    expected = (4 * low / (4 * low + mid + high)) / (low / total)
    expected_250 = ((4 * low + mid) / (4 * low + mid + high)) / ((low + mid) / total)
    assert ber.ratio == pytest.approx(expected, rel=1e-4)
    assert ber.db == pytest.approx(10 * math.log10(expected), abs=1e-3)
    assert ber.ratio_250 == pytest.approx(expected_250, rel=1e-4)


def test_shape_figures_are_invariant_to_gain(rng: np.random.Generator) -> None:
    x = noise(rng, 10.0, RATE, 1.0) + sines(LOW, 10.0)
    a, b = measure_spectrum(x, RATE), measure_spectrum(0.1 * x, RATE)
    for field in ("wsc", "tilt", "centroid_hz", "low_share_150", "low_share_250"):
        assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-9), field
    np.testing.assert_allclose(b.band_levels, a.band_levels - 20.0, atol=1e-9)
    assert bass_excitation_ratio(b, a).ratio == pytest.approx(1.0, rel=1e-9)


def test_gating_excludes_a_silent_tail(rng: np.random.Generator) -> None:
    x = noise(rng, 10.0, RATE, 1.0)
    padded = np.concatenate([x, np.zeros(10 * RATE)])
    a, b = measure_spectrum(x, RATE), measure_spectrum(padded, RATE)
    # Without the gate, half the segments would be silent: every level 3 dB lower.
    _, ungated = signal.welch(padded, RATE, nperseg=8192)
    assert 10 * np.log10(ungated.sum() / a.psd.sum()) == pytest.approx(-3.0, abs=0.1)
    # With it, only the blocks straddling the end (<= 300 ms of silence) are admitted.
    np.testing.assert_allclose(b.band_levels, a.band_levels, atol=0.2)
    assert b.wsc == pytest.approx(a.wsc, abs=1e-3)
    assert b.tilt == pytest.approx(a.tilt, abs=0.02)
    assert b.low_share_150 == pytest.approx(a.low_share_150, rel=0.02)


def test_a_precomputed_gate_gives_the_same_spectrum(rng: np.random.Generator) -> None:
    x = noise(rng, 5.0, RATE, 1.0)
    gate = gated_blocks(x, RATE)
    np.testing.assert_array_equal(
        measure_spectrum(x, RATE, gate=gate).psd, measure_spectrum(x, RATE).psd
    )
    with pytest.raises(InvalidInputError, match="does not fit"):
        measure_spectrum(x[: 3 * RATE], RATE, gate=gate)


def tilted(slope_per_band: float, centres: np.ndarray) -> np.ndarray:
    m = np.round(3 * np.log2(centres / 1000))
    return -3.0 * m / 3 + slope_per_band * m / 6  # -3 dB/oct base plus a tilt about 1 kHz


def test_tonal_balance_deviation_in_closed_form(rng: np.random.Generator) -> None:
    spectrum = measure_spectrum(noise(rng, 5.0, RATE, 1.0), RATE)
    centres = spectrum.band_centres
    m = np.round(3 * np.log2(centres / 1000))
    # References tilt by -2..+2 units about 1 kHz; p10 and p90 are then -1.6 and +1.6 units.
    target = tonal_target([tilted(k, centres) + 7.0 * k for k in (-2, -1, 0, 1, 2)], centres)
    np.testing.assert_allclose(target.median, tilted(0, centres), atol=1e-12)

    inside = dataclasses.replace(spectrum, band_levels=tilted(1.0, centres) - 30.0)
    assert tonal_balance_deviation(inside, target).tbd == pytest.approx(0.0, abs=1e-12)

    high = m >= 9  # 8 kHz and above: 5 dB over the median
    boosted = dataclasses.replace(spectrum, band_levels=tilted(0, centres) + 5.0 * high)
    result = tonal_balance_deviation(boosted, target)
    excess = np.where(high, 5.0 - 1.6 * np.abs(m / 6), 0.0)
    assert result.tbd == pytest.approx(math.sqrt(np.mean(excess**2)), abs=1e-9)
    assert result.broad["high"] == pytest.approx(5.0, abs=1e-9)
    for band in ("low", "low_mid", "high_mid"):
        assert result.broad[band] == pytest.approx(0.0, abs=1e-9)


def test_bad_inputs_are_refused(rng: np.random.Generator) -> None:
    with pytest.raises(SilentAudioError):
        measure_spectrum(np.zeros((RATE, 2)), RATE)
    side = 0.1 * rng.standard_normal(RATE)
    with pytest.raises(SilentAudioError, match="channels cancel"):
        measure_spectrum(np.stack([side, -side], axis=1), RATE)
    with pytest.raises(TooShortError, match="LTAS"):
        measure_spectrum(0.1 * rng.standard_normal((8000, 2)), RATE)
    with pytest.raises(InvalidInputError, match="at least one reference"):
        tonal_target([], band_centres(RATE))
    with pytest.raises(InvalidInputError, match="one length"):
        tonal_target([np.zeros(5)], band_centres(RATE))
    spectrum = measure_spectrum(sines(LOW + HIGH), RATE)
    with pytest.raises(InvalidInputError, match="20-150 Hz"):
        bass_excitation_ratio(spectrum, dataclasses.replace(spectrum, low_share_150=0.0))
