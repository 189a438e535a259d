"""HFD bands are not applicable where the mix has no energy (issue 15, item 8).

A telephone-band recording (made at 8 kHz and delivered at 44.1 kHz) and speech
band-limited to 7 kHz leave HFD bands empty in the mix, so whatever a master puts there
(limiter harmonics, here from pedalboard and clipping) reads as ~100 % "distortion".
Those bands are left out with the reason; a full-range mix keeps all three. Which bands
are empty is checked against an independent band-power computation (numpy's FFT of the
whole mix, not the Welch PSD the code uses).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from analysis.audio import resample
from analysis.metrics.distortion import MIX_BAND_FLOOR_DB, distortion
from analysis.metrics.measure import measure
from analysis.stimuli.synthesis import loud_master, synthetic_mix

RATE = 44100


def band_shares_db(x: np.ndarray, rate: int) -> dict[str, float]:
    spectrum = np.abs(np.fft.rfft(x, axis=0)) ** 2
    power = spectrum.sum(axis=1)
    freqs = np.fft.rfftfreq(x.shape[0], 1 / rate)
    total = power[(freqs >= 50) & (freqs <= 16000)].sum()
    bands = {"4-8k": (4000, 8000), "8-12k": (8000, 12000), "12-16k": (12000, 16000)}
    return {
        name: 10 * np.log10(max(power[(freqs >= lo) & (freqs < hi)].sum() / total, 1e-30))
        for name, (lo, hi) in bands.items()
    }


def telephone_mix() -> np.ndarray:
    narrow = synthetic_mix(12.0, 8000, genre="pop", seed=2, fade_out=0.0)
    return resample(narrow, 8000, RATE)


def band_limited_speech() -> np.ndarray:
    x = synthetic_mix(12.0, RATE, genre="classical", seed=2, fade_out=0.0)
    voice = synthetic_mix(12.0, RATE, genre="pop", seed=5, fade_out=0.0)
    taps = signal.firwin(1023, 6500, fs=RATE, window=("kaiser", 10.0))
    return np.asarray(signal.filtfilt(taps, [1.0], 0.3 * x + voice, axis=0))


@pytest.mark.parametrize(
    ("make", "empty"),
    [
        (telephone_mix, {"4-8k", "8-12k", "12-16k"}),
        (band_limited_speech, {"8-12k", "12-16k"}),
        (lambda: synthetic_mix(12.0, RATE, genre="rock", seed=2, fade_out=0.0), set()),
    ],
)
def test_bands_the_mix_leaves_empty_are_not_applicable(make, empty) -> None:  # type: ignore[no-untyped-def]
    mix = make()
    shares = band_shares_db(mix, RATE)
    assert {b for b, v in shares.items() if v < -MIX_BAND_FLOOR_DB} == empty  # the reference
    master = loud_master(mix, RATE)
    d = distortion(master, mix, RATE)
    assert set(d.hfd_not_applicable) - {"16-20k"} == empty  # 16-20k is reported apart
    for band in ("4-8k", "8-12k", "12-16k"):
        if band in empty:
            assert d.hfd_bands[band] is None
            assert f"the mix has no energy in {band.replace('k', '')} kHz" in d.hfd_note
        else:
            assert d.hfd_bands[band] is not None
    applicable = [d.hfd_bands[b] for b in ("4-8k", "8-12k", "12-16k") if b not in empty]
    if applicable:
        assert d.hfd == pytest.approx(float(np.mean(applicable)))
    else:
        assert d.hfd is None


def test_the_reason_reaches_the_metrics_row() -> None:
    mix = telephone_mix()
    row = measure(loud_master(mix, RATE), mix, RATE).as_dict()
    assert row["hfd_valid"] is False
    assert row["hfd"] is None
    assert "the mix has no energy in 4-8 kHz" in str(row["hfd_note"])
    full = synthetic_mix(12.0, RATE, genre="rock", seed=2, fade_out=0.0)
    row = measure(loud_master(full, RATE), full, RATE, master_lossy=True).as_dict()
    assert (row["hfd_valid"], row["hfd_note"]) == (False, "the master came from a lossy codec")
