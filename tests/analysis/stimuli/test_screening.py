"""Headphone-screening stimuli (docs/stimuli.md) checked against closed-form properties.

Outside references: R = -L and 20·log10(2) dB for the anti-phase test (Woods et al.
2017); identical per-ear magnitude spectra and an interaural phase of exactly π in
564-636 Hz for Huggins pitch (Milne et al. 2021, rebuilt here with numpy's complex
FFT as in the reference MATLAB); pyloudnorm for loudness; scipy for the chi-square
and Welch estimates.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyloudnorm
import pytest
from scipy import signal, stats

from analysis.errors import InvalidInputError, SilentAudioError
from analysis.stimuli.calibration import calibration_signal
from analysis.stimuli.headphone_trials import (
    ANTIPHASE_ORDERS,
    N_INTERVALS,
    antiphase_trial,
    huggins_trial,
)
from analysis.stimuli.screening import (
    DEFAULT_PASS_MARK,
    ScreeningScore,
    score_screening,
    screening_trials,
)
from analysis.stimuli.synthesis import synthetic_mix

RATE = 44100


def intervals(trial, length_s):
    """Cut a trial into its three intervals."""
    n = round(length_s * trial.rate)
    return [trial.audio[round(t * trial.rate) : round(t * trial.rate) + n] for t in trial.onsets]


def rms_db(x):
    return 20 * np.log10(np.sqrt(np.mean(x**2)))


def pyloudnorm_lufs(x, rate):
    return pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(x)


# ---------------------------------------------------------------------------- anti-phase


@pytest.mark.parametrize("order", ANTIPHASE_ORDERS)
def test_antiphase_intervals_are_standard_antiphase_and_soft(order):
    trial = antiphase_trial(order=order, rate=RATE)
    assert trial.order == order
    assert trial.correct == order.index("S")
    # 3 tones of 1 s, two 0.5 s gaps (Woods et al. reference stimuli).
    assert trial.audio.shape == (3 * RATE + 2 * RATE // 2, 2)
    assert trial.onsets == pytest.approx((0.0, 1.5, 3.0))
    parts = dict(zip(order, intervals(trial, 1.0), strict=True))

    np.testing.assert_array_equal(parts["O"][:, 1], -parts["O"][:, 0])  # R = -L exactly
    np.testing.assert_array_equal(parts["I"][:, 1], parts["I"][:, 0])
    np.testing.assert_array_equal(parts["S"][:, 1], parts["S"][:, 0])
    np.testing.assert_array_equal(parts["O"][:, 0], parts["I"][:, 0])  # same level

    # The soft tone is 6.02 dB (20·log10 2) below the standard, in RMS, per channel.
    drop = rms_db(parts["I"][:, 0]) - rms_db(parts["S"][:, 0])
    assert drop == pytest.approx(20 * np.log10(2), abs=1e-9)
    assert rms_db(parts["O"][:, 1]) == pytest.approx(rms_db(parts["I"][:, 1]), abs=1e-12)

    # Silence between the tones.
    assert not trial.audio[RATE : RATE + RATE // 2].any()
    assert not trial.audio[int(2.5 * RATE) : 3 * RATE].any()


def test_antiphase_tone_is_200_hz_with_ramps():
    trial = antiphase_trial(order="ISO", rate=RATE, peak=0.5)
    tone = intervals(trial, 1.0)[0][:, 0]
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.argmax(spectrum) * RATE / tone.size == pytest.approx(200.0)  # 1 Hz bins
    # Raised-cosine ramps: ~0 at the edges, full amplitude in the steady 800 ms.
    assert abs(tone[0]) < 1e-3
    assert abs(tone[-1]) < 1e-3
    n = np.arange(round(0.1 * RATE), round(0.9 * RATE))
    np.testing.assert_allclose(
        tone[n], 0.5 * np.sin(2 * np.pi * 200 * n / RATE), rtol=0, atol=1e-12
    )


def test_antiphase_orders_are_uniform_over_seeds():
    orders = Counter(
        antiphase_trial(seed=s, rate=8000, tone_s=0.1, ramp_s=0.01, gap_s=0.05).order
        for s in range(1200)
    )
    assert set(orders) == set(ANTIPHASE_ORDERS)
    assert stats.chisquare(list(orders.values())).pvalue > 0.01
    answers = Counter(o.index("S") for o in orders.elements())
    assert stats.chisquare([answers[k] for k in range(3)]).pvalue > 0.01


# ---------------------------------------------------------------------------- Huggins


def band_bins(n, rate):
    """Bins of 564..636 Hz (600 Hz ± 6 %), computed independently of the module."""
    freqs = np.arange(n // 2 + 1) * rate / n
    return (freqs >= 564 - 1e-6) & (freqs <= 636 + 1e-6)


@pytest.mark.parametrize(("rate", "target"), [(44100, 0), (44100, 2), (48000, 1)])
def test_huggins_ears_differ_only_in_phase_inside_the_band(rate, target):
    trial = huggins_trial(seed=11, rate=rate, target=target)
    assert trial.correct == target
    assert trial.order == "".join("H" if k == target else "N" for k in range(3))
    assert trial.onsets == pytest.approx((0.0, 2.0, 4.0))  # 1 s bursts, 1 s silences
    band = band_bins(rate, rate)
    assert band.sum() == 73  # 564..636 Hz at 1 Hz resolution

    for k, burst in enumerate(intervals(trial, 1.0)):
        left, right = np.fft.rfft(burst[:, 0]), np.fft.rfft(burst[:, 1])
        # No monaural cue: each ear alone has the same magnitude spectrum.
        np.testing.assert_allclose(np.abs(right), np.abs(left), rtol=0, atol=1e-9)
        ipd = np.angle(right * np.conj(left))
        if k == target:
            np.testing.assert_allclose(np.abs(ipd[band]), np.pi, rtol=0, atol=1e-9)
            np.testing.assert_allclose(ipd[~band], 0.0, rtol=0, atol=1e-9)
        else:
            np.testing.assert_array_equal(burst[:, 0], burst[:, 1])  # diotic


def test_huggins_without_ramps_matches_the_reference_generator():
    # makeHPitch.m: clipped noise in one ear, the other ear the complex FFT with the
    # band's bins (and their mirror images) sign-flipped.
    trial = huggins_trial(seed=5, rate=RATE, target=1, ramp_s=0.0)
    noise, flipped = intervals(trial, 1.0)[1].T
    spectrum = np.fft.fft(noise)
    for f in range(564, 637):
        spectrum[f] *= -1
        spectrum[RATE - f] = np.conj(spectrum[f])
    np.testing.assert_allclose(flipped, np.fft.ifft(spectrum).real, rtol=0, atol=1e-12)
    # Gaussian noise clipped at 4.2 sigma, scaled so the clip lands at 0.99 FS.
    bursts = np.concatenate([b[:, 0] for b in intervals(trial, 1.0)])
    assert np.max(np.abs(bursts)) <= 0.99
    assert np.std(bursts) == pytest.approx(0.99 / 4.2, rel=0.02)


def test_huggins_targets_are_uniform_over_seeds():
    targets = Counter(
        huggins_trial(seed=s, rate=8000, burst_s=0.25, gap_s=0.05).correct for s in range(900)
    )
    assert set(targets) == {0, 1, 2}
    assert stats.chisquare([targets[k] for k in range(3)]).pvalue > 0.01


# ---------------------------------------------------------------------------- blocks


@pytest.mark.parametrize("kind", ["antiphase", "huggins"])
def test_blocks_are_reproducible_and_balanced(kind):
    first = screening_trials(kind, 6, seed=42, rate=8000)
    again = screening_trials(kind, 6, seed=42, rate=8000)
    other = screening_trials(kind, 6, seed=43, rate=8000)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.audio, b.audio)
        assert a.correct == b.correct
    assert any(
        a.audio.shape != b.audio.shape or not np.array_equal(a.audio, b.audio)
        for a, b in zip(first, other, strict=True)
    )
    # Six trials use every answer position exactly twice.
    assert Counter(t.correct for t in first) == {0: 2, 1: 2, 2: 2}
    if kind == "antiphase":
        assert sorted(t.order for t in first) == sorted(ANTIPHASE_ORDERS)


def test_blocks_answer_positions_are_uniform_over_seeds():
    counts = Counter(
        t.correct for s in range(200) for t in screening_trials("antiphase", 4, seed=s, rate=8000)
    )
    assert stats.chisquare([counts[k] for k in range(3)]).pvalue > 0.01


@pytest.mark.parametrize("kind", ["antiphase", "huggins"])
def test_blocks_scale_to_the_target_loudness(kind):
    for trial in screening_trials(kind, 2, seed=1, rate=48000, target_lufs=-30.0):
        assert pyloudnorm_lufs(trial.audio, 48000) == pytest.approx(-30.0, abs=0.1)


def test_antiphase_loudness_scaling_keeps_the_6_db_step():
    trial = screening_trials("antiphase", 1, seed=3, rate=RATE, target_lufs=-25.0)[0]
    parts = dict(zip(trial.order, intervals(trial, 1.0), strict=True))
    drop = rms_db(parts["I"]) - rms_db(parts["S"])
    assert drop == pytest.approx(20 * np.log10(2), abs=1e-9)


# ---------------------------------------------------------------------------- calibration


def test_calibration_noise_is_pink_at_the_target_loudness():
    x = calibration_signal(48000, target_lufs=-23.0, duration_s=10.0, seed=2)
    assert x.shape == (480000, 2)
    np.testing.assert_array_equal(x[:, 0], x[:, 1])  # diotic
    assert pyloudnorm_lufs(x, 48000) == pytest.approx(-23.0, abs=0.1)
    # Pink: power spectral density falls 10 dB per decade (-3.01 dB per octave).
    freqs, psd = signal.welch(x[:, 0], 48000, nperseg=8192)
    keep = (freqs >= 50) & (freqs <= 10000)
    slope = np.polyfit(np.log10(freqs[keep]), 10 * np.log10(psd[keep]), 1)[0]
    assert slope == pytest.approx(-10.0, abs=0.5)
    assert abs(x[0, 0]) < 1e-4  # faded in
    assert abs(x[-1, 0]) < 1e-4  # and out


def test_calibration_music_is_scaled_to_the_target():
    mix = synthetic_mix(4.0, 44100, genre="rock", seed=3)
    x = calibration_signal(44100, target_lufs=-26.0, music=mix)
    assert x.shape == mix.shape
    assert pyloudnorm_lufs(x, 44100) == pytest.approx(-26.0, abs=0.1)
    loud = np.abs(mix) > 1e-3
    assert np.std(x[loud] / mix[loud]) < 1e-9  # one gain, no processing

    mono = calibration_signal(44100, target_lufs=-26.0, music=mix[:, 0])
    assert mono.shape == (mix.shape[0], 2)


def test_calibration_refuses_a_target_above_the_true_peak_ceiling():
    with pytest.raises(InvalidInputError, match="dBTP"):
        calibration_signal(48000, target_lufs=-3.0, duration_s=2.0)
    with pytest.raises(SilentAudioError):
        calibration_signal(48000, music=np.zeros((48000, 2)))


# ---------------------------------------------------------------------------- scoring


def test_score_screening():
    assert score_screening([2, 0, 1, 1, 0, 2], [2, 0, 1, 1, 0, 1], 5) == ScreeningScore(5, 6, True)
    assert score_screening([2, 0, 1, 1, 0, 2], [2, 0, 1, 1, 0, 1], 6) == ScreeningScore(5, 6, False)
    assert score_screening([0] * 6, [0] * 6, DEFAULT_PASS_MARK["huggins"]).passed
    assert N_INTERVALS == 3


@pytest.mark.parametrize(
    ("answers", "correct", "pass_mark", "match"),
    [
        ([0, 1], [0, 1, 2], 1, "2 answers for 3 trials"),
        ([], [], 0, "no trials"),
        ([0, 3], [0, 1], 1, "answers holds 3"),
        ([0, "1"], [0, 1], 1, "answers holds '1'"),
        ([0, True], [0, 1], 1, "answers holds True"),
        ([0, 1], [0, -1], 1, "correct holds -1"),
        ([0, 1], [0, 1], 3, "pass_mark=3"),
    ],
)
def test_score_screening_rejects_bad_input(answers, correct, pass_mark, match):
    with pytest.raises(InvalidInputError, match=match):
        score_screening(answers, correct, pass_mark)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: antiphase_trial(order="SSI"), "order='SSI'"),
        (lambda: antiphase_trial(rate=8000, tone_hz=4000), "Nyquist"),
        (lambda: antiphase_trial(ramp_s=0.6), "ramp_s=0.6"),
        (lambda: antiphase_trial(peak=1.5), "peak=1.5"),
        (lambda: huggins_trial(target=3), "target=3"),
        (lambda: huggins_trial(burst_s=-1.0), "burst_s=-1.0"),
        (lambda: huggins_trial(burst_s=0.004, ramp_s=0.0), "too short"),
        (lambda: screening_trials("binaural", 6), "kind='binaural'"),
        (lambda: screening_trials("huggins", 0), "n_trials=0"),
    ],
)
def test_generators_reject_bad_parameters(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()
