"""IT (ESTOI) and STOI against pystoi 0.4.1 called directly (docs/metrics.md)."""

from __future__ import annotations

import numpy as np
import pytest
from pystoi import stoi as pystoi_stoi
from pystoi.utils import resample_oct

from analysis.errors import InvalidInputError, SilentAudioError, TooShortError
from analysis.metrics.intelligibility import (
    Intelligibility,
    _resample_to_stoi_rate,
    intelligibility,
)
from analysis.stimuli.synthesis import ai_style_master, synthetic_mix

# pystoi adds machine-epsilon random noise before ESTOI's normalisations and sums in
# another order; everything else is the same arithmetic, so agreement is ~1e-15.
TOL = 1e-9


def degraded_pair(rng: np.random.Generator, rate: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    mix = synthetic_mix(12.0, rate, genre="pop", seed=11)
    if kind == "noise":
        master = mix + 0.03 * rng.standard_normal(mix.shape)
    else:
        master = ai_style_master(mix, rate)
    return master, mix


@pytest.mark.parametrize("rate", [44100, 16000])
@pytest.mark.parametrize("kind", ["noise", "ai_master"])
def test_it_matches_pystoi(rng: np.random.Generator, rate: int, kind: str) -> None:
    master, mix = degraded_pair(rng, rate, kind)
    it = intelligibility(master, mix, rate)
    x, y = mix.mean(axis=1), master.mean(axis=1)  # mid channel, mix = clean reference
    assert it.stoi == pytest.approx(pystoi_stoi(x, y, rate, extended=False), abs=TOL)
    assert it.estoi == pytest.approx(pystoi_stoi(x, y, rate, extended=True), abs=TOL)
    assert it.channel == "mid"


def test_mono_matches_pystoi(rng: np.random.Generator) -> None:
    x = synthetic_mix(6.0, 10000, seed=3)[:, 0]  # 10 kHz: no resampling at all
    y = np.tanh(3 * x) + 0.01 * rng.standard_normal(x.size)
    it = intelligibility(y[:, None], x[:, None], 10000)
    assert it.stoi == pytest.approx(pystoi_stoi(x, y, 10000), abs=TOL)
    assert it.estoi == pytest.approx(pystoi_stoi(x, y, 10000, extended=True), abs=TOL)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000])
def test_resampling_matches_pystoi_resample_oct(rng: np.random.Generator, rate: int) -> None:
    x = rng.standard_normal(rate + 123)
    ours = _resample_to_stoi_rate(x[:, None], rate)
    reference = resample_oct(x, 10000, rate)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)


def test_identity_scores_one() -> None:
    mix = synthetic_mix(6.0, 16000, seed=5)
    it = intelligibility(mix, mix, 16000)
    assert it.estoi == pytest.approx(1.0, abs=1e-12)
    assert it.stoi == pytest.approx(1.0, abs=1e-12)


def test_it_is_gain_invariant(rng: np.random.Generator) -> None:
    master, mix = degraded_pair(rng, 16000, "noise")
    reference = intelligibility(master, mix, 16000)
    scaled = intelligibility(0.25 * master, 3.0 * mix, 16000)
    assert scaled.estoi == pytest.approx(reference.estoi, abs=1e-12)
    assert scaled.stoi == pytest.approx(reference.stoi, abs=1e-9)


def test_independent_noise_scores_near_zero(rng: np.random.Generator) -> None:
    mix = synthetic_mix(12.0, 16000, seed=6)
    it = intelligibility(0.1 * rng.standard_normal(mix.shape), mix, 16000)
    assert abs(it.estoi) < 0.05
    assert abs(it.stoi) < 0.15


def test_too_little_non_silent_signal_is_an_error(rng: np.random.Generator) -> None:
    burst = np.zeros((5 * 16000, 2))
    burst[16000:19200] = rng.standard_normal((3200, 2))  # 0.2 s of signal in 5 s
    with pytest.raises(TooShortError, match=r"IT \(ESTOI\) needs at least 0.4 s") as info:
        intelligibility(burst, burst, 16000)
    assert 0.15 < info.value.seconds < 0.3
    short = rng.standard_normal((4000, 1))
    with pytest.raises(TooShortError):
        intelligibility(short, short, 16000)


def test_invalid_input_is_named(rng: np.random.Generator) -> None:
    x = rng.standard_normal((16000, 2))
    with pytest.raises(SilentAudioError, match="master"):
        intelligibility(np.zeros_like(x), x, 16000)
    with pytest.raises(InvalidInputError, match="equal length"):
        intelligibility(x[:-1], x, 16000)


def test_as_dict() -> None:
    row = Intelligibility(estoi=0.8, stoi=0.7, channel="mid").as_dict()
    assert row == {"estoi": 0.8, "stoi": 0.7, "channel": "mid"}
