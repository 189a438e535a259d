"""DM and HFD by multiple coherence, against docs/metrics.md and scipy's Welch estimates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from analysis.errors import ChannelCountError, InvalidInputError, SilentAudioError, TooShortError
from analysis.metrics.distortion import Distortion, distortion, stft_length
from analysis.metrics.segments import segment_grid
from analysis.stimuli.synthesis import ai_style_master, engineer_style_master, synthetic_mix

FS = 44100
N_FFT = 2048


def band_limited(rng: np.random.Generator, seconds: float, channels: int = 2) -> np.ndarray:
    """Gaussian noise with every component outside 50 Hz-16 kHz removed (exact in-band SNRs)."""
    n = round(seconds * FS)
    spectrum = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    freqs = np.fft.rfftfreq(n, 1 / FS)
    spectrum[(freqs < 50) | (freqs > 16000)] = 0
    x = np.fft.irfft(spectrum, n, axis=0)
    if channels == 2:
        x[:, 1] = 0.6 * x[:, 1] + 0.4 * x[:, 0]  # partly correlated, like a real stereo mix
    return 0.1 * x / np.std(x)


def shelf(kind: str, f0: float, gain_db: float) -> tuple[np.ndarray, np.ndarray]:
    """RBJ Audio EQ Cookbook shelving biquad (S = 1), as (b, a)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / FS
    cos, alpha = np.cos(w0), np.sin(w0) / 2 * np.sqrt(2)
    root = 2 * np.sqrt(amp) * alpha
    sign = 1 if kind == "low" else -1
    b = amp * np.array(
        [
            (amp + 1) - sign * (amp - 1) * cos + root,
            sign * 2 * ((amp - 1) - sign * (amp + 1) * cos),
            (amp + 1) - sign * (amp - 1) * cos - root,
        ]
    )
    a = np.array(
        [
            (amp + 1) + sign * (amp - 1) * cos + root,
            -sign * 2 * ((amp - 1) + sign * (amp + 1) * cos),
            (amp + 1) + sign * (amp - 1) * cos - root,
        ]
    )
    return b / a[0], a / a[0]


@pytest.fixture
def mix(rng: np.random.Generator) -> np.ndarray:
    return band_limited(rng, 20.0)


def test_it_reads_zero_for_the_mix_itself(mix: np.ndarray) -> None:
    d = distortion(mix, mix, FS)
    assert d.dm == 0.0
    assert d.median_csdr > 60  # identity -> numerical floor (87 dB with the regulariser)
    assert d.hfd is not None
    assert d.hfd < 1e-3
    assert (d.segments, d.valid_segments, d.excluded_share) == (19, 19, 0.0)


@pytest.mark.parametrize(
    "process",
    [
        pytest.param(lambda x: 2.0 * x, id="+6 dB"),
        pytest.param(lambda x: -x, id="polarity"),
        pytest.param(
            lambda x: signal.lfilter(
                *shelf("high", 8000, -3), signal.lfilter(*shelf("low", 100, 3), x, axis=0), axis=0
            ),
            id="shelves",
        ),
    ],
)
def test_it_ignores_gain_polarity_and_static_eq(mix: np.ndarray, process) -> None:
    d = distortion(process(mix), mix, FS)
    assert d.dm == 0.0
    assert d.dm_at[20.0] == 0.0
    assert d.median_csdr > 25


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_added_noise_reads_its_in_band_snr(
    rng: np.random.Generator, mix: np.ndarray, snr: float
) -> None:
    noise = band_limited(rng, 20.0)
    noise *= np.sqrt(np.sum(mix**2) / np.sum(noise**2)) * 10 ** (-snr / 20)
    d = distortion(mix + noise, mix, FS)
    assert d.median_csdr == pytest.approx(snr, abs=1.5)
    # u_k = 1 / (1 + SNR) in closed form
    assert d.mean_unexplained == pytest.approx(100 / (1 + 10 ** (snr / 10)), rel=0.15)


def test_independent_noise_is_all_distortion(rng: np.random.Generator, mix: np.ndarray) -> None:
    d = distortion(band_limited(rng, 20.0), mix, FS)
    assert d.dm == 100.0
    assert d.median_csdr < -10  # estimator floor: about -16 dB with 85 Welch frames
    assert d.hfd is not None
    assert d.hfd > 90


def test_static_high_shelf_is_not_high_frequency_distortion(mix: np.ndarray) -> None:
    d = distortion(signal.lfilter(*shelf("high", 8000, 3), mix, axis=0), mix, FS)
    assert d.hfd is not None
    assert d.hfd < 1.0
    assert all(v is not None and v < 1.0 for v in d.hfd_bands.values())


def test_saturation_raises_hfd() -> None:
    music = synthetic_mix(20.0, FS, seed=4)
    clean = distortion(music, music, FS)
    saturated = distortion(np.tanh(4 * music), music, FS)
    assert clean.hfd is not None
    assert saturated.hfd is not None
    assert saturated.hfd > 0.5 > clean.hfd


def test_ai_style_master_distorts_more_than_engineer_style() -> None:
    music = synthetic_mix(20.0, FS, seed=2)
    ai = distortion(ai_style_master(music, FS), music, FS)
    engineer = distortion(engineer_style_master(music, FS), music, FS)
    assert ai.median_csdr < engineer.median_csdr
    assert ai.dm_at[20.0] >= engineer.dm_at[20.0]
    assert ai.mean_unexplained > engineer.mean_unexplained


def _welch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, s = signal.csd(a, b, FS, window="hann", nperseg=N_FFT, noverlap=N_FFT // 2, detrend=False)
    return s


def test_mono_equals_scipy_coherence_on_one_segment(rng: np.random.Generator) -> None:
    x = band_limited(rng, 2.0, channels=1)[:, 0]
    y = signal.lfilter(*shelf("low", 200, 4), x) + 0.1 * band_limited(rng, 2.0, 1)[:, 0]
    f, coh = signal.coherence(
        x, y, FS, window="hann", nperseg=N_FFT, noverlap=N_FFT // 2, detrend=False
    )
    syy = _welch(y, y).real
    band = (f >= 50) & (f <= 16000)
    expected = 10 * np.log10(np.sum(syy[band] * coh[band]) / np.sum(syy[band] * (1 - coh[band])))
    hf = (f >= 4000) & (f < 8000)
    expected_b1 = 100 * np.sum(syy[hf] * (1 - coh[hf])) / np.sum(syy[hf])

    d = distortion(y, x, FS)
    assert d.segments == 1
    assert d.median_csdr == pytest.approx(expected, abs=1e-6)
    assert d.hfd_bands["4-8k"] == pytest.approx(expected_b1, rel=1e-6)


def test_stereo_equals_multiple_coherence_from_scipy_csd(rng: np.random.Generator) -> None:
    x = band_limited(rng, 2.0)
    y = np.stack([0.7 * x[:, 0] - 0.2 * x[:, 1], signal.lfilter(*shelf("high", 3000, 3), x[:, 1])])
    y = y.T + 0.05 * band_limited(rng, 2.0)
    f = np.fft.rfftfreq(N_FFT, 1 / FS)
    sxx = np.array([[_welch(x[:, i], x[:, j]) for j in range(2)] for i in range(2)])
    sxx = np.moveaxis(sxx, -1, 0)  # (bins, 2, 2), S_ij = E[X_i X_j*] (scipy: conj(first)·second)
    sxx = np.conj(sxx)
    sxx += 1e-9 * np.trace(sxx, axis1=1, axis2=2).real[:, None, None] * np.eye(2)
    coherent = residual = 0.0
    band = (f >= 50) & (f <= 16000)
    for c in range(2):
        s = np.stack([_welch(x[:, i], y[:, c]) for i in range(2)], axis=1)  # E[X_i* Y]
        syy = _welch(y[:, c], y[:, c]).real
        predicted = np.einsum("fi,fij,fj->f", s, np.linalg.inv(sxx), np.conj(s)).real
        coherent += np.sum(predicted[band])
        residual += np.sum(syy[band] - predicted[band])
    d = distortion(y, x, FS)
    assert d.median_csdr == pytest.approx(10 * np.log10(coherent / residual), abs=1e-6)


def test_every_segment_matches_scipy_on_a_frame_aligned_grid(rng: np.random.Generator) -> None:
    # A hop of 42 STFT hops puts every segment start on an STFT frame, so each segment
    # uses exactly the frames scipy.signal.coherence uses on that segment's samples.
    hop = 42 * N_FFT // 2
    x = band_limited(rng, 9.0, channels=1)[:, 0]
    level = np.repeat(rng.uniform(0.1, 0.5, 10), FS)[: x.size]  # noise level changes each second
    y = x + level * band_limited(rng, 9.0, channels=1)[:, 0]
    d = distortion(y, x, FS, segment_seconds=2 * hop / FS, hop_seconds=hop / FS)
    u = []
    for k in range(d.segments):
        xs, ys = x[k * hop : k * hop + 2 * hop], y[k * hop : k * hop + 2 * hop]
        f, coh = signal.coherence(
            xs, ys, FS, window="hann", nperseg=N_FFT, noverlap=N_FFT // 2, detrend=False
        )
        syy = _welch(ys, ys).real
        band = (f >= 50) & (f <= 16000)
        u.append(np.sum(syy[band] * (1 - coh[band])) / np.sum(syy[band]))
    assert d.valid_segments == d.segments == segment_grid(x.size, FS, 2 * hop / FS, hop / FS)
    assert d.mean_unexplained == pytest.approx(100 * np.mean(u), rel=1e-9)


@pytest.mark.parametrize("layout", ["mono master", "mono mix"])
def test_mixed_channel_counts(mix: np.ndarray, layout: str) -> None:
    if layout == "mono master":
        d = distortion(mix.mean(axis=1, keepdims=True), mix, FS)  # a linear mix of L and R
    else:
        mono = mix[:, :1]
        d = distortion(np.hstack([mono, -0.5 * mono]), mono, FS)
    assert d.dm == 0.0
    assert d.median_csdr > 60


def test_dual_mono_mix_gives_finite_values(mix: np.ndarray) -> None:
    dual = np.repeat(mix[:, :1], 2, axis=1)
    d = distortion(0.5 * dual, dual, FS)
    values = [v for v in d.as_dict().values() if v is not None]
    assert np.all(np.isfinite(values))
    assert d.dm == 0.0
    assert d.median_csdr > 60


def test_fades_and_edited_lead_in_are_excluded(mix: np.ndarray) -> None:
    master = mix.copy()
    master[: FS // 2] *= 4.0  # a 0.5 s lead-in 12 dB louder than the mix
    master[-3 * FS :] *= np.linspace(1.0, 0.0, 3 * FS)[:, None]  # 3 s fade-out
    d = distortion(master, mix, FS)
    # segments 0 (lead-in) and 17-18 (fade) are gain outliers; +-1 segment of dilation
    assert d.valid_segments == 14
    assert d.excluded_share == pytest.approx(5 / 19)
    assert d.dm == 0.0
    assert d.median_csdr > 60


def test_caller_exclusion_and_silence_are_left_out(mix: np.ndarray) -> None:
    quiet = mix.copy()
    quiet[10 * FS :] *= 1e-3  # the second half is 60 dB down: below mean - 30 dB
    d = distortion(quiet, quiet, FS)
    assert d.valid_segments == 10  # segments starting at 0..9 s reach into the loud half
    exclude = np.zeros(19, dtype=bool)
    exclude[:5] = True
    assert distortion(mix, mix, FS, exclude=exclude).valid_segments == 14


def test_dm_wave_removes_slow_gain_riding(mix: np.ndarray) -> None:
    t = np.arange(mix.shape[0]) / FS
    ridden = mix * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))[:, None]
    plain = distortion(ridden, mix, FS)
    wave = distortion(ridden, mix, FS, wave=True)
    assert plain.median_csdr < 15
    assert wave.median_csdr > plain.median_csdr + 20


def test_bands_above_nyquist_are_none(rng: np.random.Generator) -> None:
    x = rng.standard_normal((20 * 22050, 2))
    d = distortion(x, x, 22050)
    assert d.hfd_bands["4-8k"] is not None
    assert d.hfd_bands["8-12k"] is None
    assert d.hfd_bands["12-16k"] is None
    assert d.hfd == d.hfd_bands["4-8k"]
    low = rng.standard_normal((10 * 8000, 1))
    assert distortion(low, low, 8000).hfd is None  # Nyquist 4 kHz: no HF band fits


def test_grid_and_frame_length() -> None:
    assert segment_grid(10 * FS, FS, 2.0, 1.0) == 9
    assert segment_grid(FS, FS, 2.0, 1.0) == 0
    assert [stft_length(r) for r in (44100, 48000, 96000, 16000)] == [2048, 2048, 4096, 1024]


def test_as_dict_is_flat(mix: np.ndarray) -> None:
    row = distortion(mix, mix, FS).as_dict()
    assert {
        "dm",
        "dm_6",
        "dm_10",
        "dm_15",
        "dm_20",
        "median_csdr",
        "hfd_4_8k",
        "hfd_16_20k",
    } <= set(row)
    assert row["excluded_share"] == 0.0


def test_errors_are_named(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3 * FS, 2))
    with pytest.raises(InvalidInputError, match="equal length"):
        distortion(x[:-1], x, FS)
    with pytest.raises(TooShortError, match="DM/HFD needs at least 2 s"):
        distortion(x[:FS], x[:FS], FS)
    with pytest.raises(SilentAudioError, match="mix"):
        distortion(x, np.zeros_like(x), FS)
    with pytest.raises(ChannelCountError):
        distortion(np.zeros((3 * FS, 3)), x, FS)
    with pytest.raises(InvalidInputError, match="one flag per segment"):
        distortion(x, x, FS, exclude=np.zeros(5, dtype=bool))
    with pytest.raises(InvalidInputError, match="no valid segment"):
        distortion(x, x, FS, exclude=np.ones(2, dtype=bool))
    with pytest.raises(InvalidInputError, match="segment_seconds"):
        distortion(x, x, FS, segment_seconds=0.05)


def test_result_is_frozen(mix: np.ndarray) -> None:
    d = distortion(mix, mix, FS)
    assert isinstance(d, Distortion)
    with pytest.raises(AttributeError):
        d.dm = 1.0  # type: ignore[misc]
