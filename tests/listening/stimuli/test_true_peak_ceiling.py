"""The true-peak ceiling holds on every encoded file, read by three meters, where it binds.

A bright, clipped master (``analysis.stimuli.synthesis.loud_master``), a gentle one and the mix
are prepared at a -9 LUFS target under a -1 dBTP ceiling, where the ceiling decides the
playback loudness. Every file a participant can receive (each version's playback file
and its whole pool of dithered copies) is decoded and its true peak read by:
``analysis.metrics.true_peak.true_peak`` (BS.1770-4, 4x), ``scipy.signal.resample_poly`` at 32x
(close to the continuous-time peak), and libebur128 1.2.6 through pyebur128 (its own
interpolator). All three must be at or below the ceiling, for 24-bit and for 16-bit
dithered playback files.
"""

from __future__ import annotations

import numpy as np
import pyebur128
import pytest
import soundfile as sf
from scipy import signal

from analysis.metrics.true_peak import true_peak
from analysis.stimuli.synthesis import (
    engineer_style_master,
    loud_master,
    synthetic_mix,
    with_sub_bass,
)
from listening.models import Stimulus, Study
from listening.stimuli.preparation import prepare_track
from tests.listening.base import RATE, BaseTestCase

CEILING = -1.0


def ebur128_true_peak(x: np.ndarray, rate: int) -> float:
    state = pyebur128.R128State(x.shape[1], rate, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(np.ascontiguousarray(x).ravel(), x.shape[0])
    peak = max(pyebur128.get_true_peak(state, c) for c in range(x.shape[1]))
    return float(20 * np.log10(peak))


def resample_poly_peak(x: np.ndarray, up: int = 32) -> float:
    y = signal.resample_poly(x, up, 1, axis=0, window=("kaiser", 10.0))
    return float(20 * np.log10(np.max(np.abs(y))))


def every_file(stimulus: Stimulus) -> list[str]:
    storage = stimulus.prepared.storage
    return [storage.path(name) for name in [stimulus.prepared.name, *stimulus.prepared_pool]]


class TruePeakCeilingTestCase(BaseTestCase):
    clean_media_per_test = False
    bits = 24

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.study.loudness_target_lufs = -9.0
        cls.study.true_peak_ceiling_dbtp = CEILING
        cls.study.playback_bit_depth = cls.bits
        cls.study.anchors = False
        cls.study.save()
        mix = with_sub_bass(synthetic_mix(12.0, RATE, genre="electronic", seed=8), RATE, seed=8)
        cls.track = cls.add_track("Loud", "electronic")
        cls.add_stimulus(cls.track, mix)
        cls.add_stimulus(
            cls.track, loud_master(mix, RATE), role="master", system="ai", provider="Loud"
        )
        cls.add_stimulus(
            cls.track,
            engineer_style_master(mix, RATE),
            role="master",
            system="human",
            provider="Gentle",
        )
        prepare_track(cls.track.pk)
        cls.track.refresh_from_db()

    def test_the_ceiling_binds(self) -> None:
        # The target could not be reached: the loudest-peaking version set the loudness.
        assert self.track.playback_loudness_lufs is not None
        assert self.track.playback_loudness_lufs < -9.0 - 0.5

    def test_every_file_is_at_or_below_the_ceiling_on_three_meters(self) -> None:
        rate = self.study.sample_rate
        highest = {"4x": -np.inf, "32x": -np.inf, "libebur128": -np.inf}
        stimuli = list(self.track.stimuli.all())
        assert len(stimuli) == 3
        for stimulus in stimuli:
            assert stimulus.status == Stimulus.Status.READY, stimulus.error
            files = every_file(stimulus)
            assert len(files) == 1 + len(stimulus.prepared_pool) >= 3
            for path in files:
                audio, file_rate = sf.read(path, dtype="float64", always_2d=True)
                assert file_rate == rate
                assert sf.info(path).subtype == f"PCM_{self.bits}"
                readings = {
                    "4x": true_peak(audio, rate),
                    "32x": resample_poly_peak(audio),
                    "libebur128": ebur128_true_peak(audio, rate),
                }
                for meter, value in readings.items():
                    assert value <= CEILING, (stimulus.describe(), meter, value)
                    highest[meter] = max(highest[meter], value)
            # What the stimulus records is what its playback file reads.
            audio, _ = sf.read(files[0], dtype="float64", always_2d=True)
            assert stimulus.true_peak_dbtp == pytest.approx(true_peak(audio, rate), abs=1e-9)
            assert stimulus.true_peak_oversampled_dbtp == pytest.approx(
                resample_poly_peak(audio), abs=1e-6
            )
        # The ceiling is not met by lowering far more than needed.
        assert highest["32x"] > CEILING - 0.2


class SixteenBitTruePeakCeilingTestCase(TruePeakCeilingTestCase):
    bits = 16


def test_the_playback_bit_depth_is_a_study_setting() -> None:
    assert Study._meta.get_field("playback_bit_depth").default == 24
    assert sorted(Study.PlaybackBitDepth.values) == [16, 24]
