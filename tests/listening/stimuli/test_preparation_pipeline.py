"""The preparation pipeline, measured again from the encoded files with outside references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyloudnorm as pyln
import pytest
import soundfile as sf
from django.conf import settings
from django.test import override_settings
from scipy import signal

from analysis import METRICS_VERSION
from analysis.audio import resample
from analysis.io import read_audio
from analysis.metrics.loudness import integrated_loudness
from analysis.metrics.true_peak import true_peak
from analysis.stimuli.excerpt import ExcerptSpec, apply_fades, conform, cut_excerpt
from analysis.stimuli.levels import TRUE_PEAK_MARGIN_DB
from listening.models import Stimulus, Track
from listening.research.opening import problems_before_opening
from listening.stimuli.measurement import measure_track
from listening.stimuli.preparation import prepare_track
from tests.listening.base import IMMEDIATE, RATE, BaseTestCase, versions

STUDY_RATE = 48000
SPEC = ExcerptSpec(rate=STUDY_RATE, start=4.0, length=5.0, fade_ms=20.0)


def read(stimulus: Stimulus) -> tuple[np.ndarray, Any]:
    path = stimulus.prepared.path
    return sf.read(path, dtype="float64", always_2d=True)[0], sf.info(path)


def oversampled(x: np.ndarray, up: int = 32) -> np.ndarray:
    return np.asarray(signal.resample_poly(x, up, 1, axis=0, window=("kaiser", 10.0)))


def resample_poly_true_peak(x: np.ndarray) -> float:
    # docs/metrics.md: 4x oversampling with a Kaiser-windowed FIR meets EBU Tech 3341.
    up = signal.resample_poly(x, 4, 1, axis=0, window=("kaiser", 10.0))
    return float(20 * np.log10(np.max(np.abs(up))))


class PreparedTrackTestCase(BaseTestCase):
    """One track prepared once: a mix, an AI master delivered 0.5 s late at 48 kHz, a human
    master, and a human master delivered trimmed by 0.3 s, inverted, at 32 kHz."""

    clean_media_per_test = False
    track: Track

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.track = cls.add_full_track("Song", "rock", seed=3)
        trimmed = -resample(versions("rock", 3)["human"][round(0.3 * RATE) :], RATE, 32000)
        cls.add_stimulus(
            cls.track, trimmed, role="master", system="human", provider="Eng 2", rate=32000
        )
        prepare_track(cls.track.pk)
        measure_track(cls.track.pk)
        cls.track.refresh_from_db()

    def by_name(self) -> dict[str, Stimulus]:
        return {
            s.provider if s.role == "master" else f"{s.role}{s.anchor_cutoff_hz or ''}": s
            for s in self.track.stimuli.all()
        }

    def test_it_loudness_matches_every_version_to_the_track_target(self) -> None:
        target = self.track.playback_loudness_lufs
        assert target is not None
        stimuli = list(self.track.stimuli.all())
        assert len(stimuli) == 6  # mix, 3 masters, 2 anchors
        meter = pyln.Meter(STUDY_RATE, filter_class="DeMan")
        for stimulus in stimuli:
            assert stimulus.status == "ready", stimulus.error
            audio, _ = read(stimulus)
            assert integrated_loudness(audio, STUDY_RATE) == pytest.approx(target, abs=0.1)
            assert meter.integrated_loudness(audio) == pytest.approx(target, abs=0.1)
            assert true_peak(audio, STUDY_RATE) <= -1.0
            assert resample_poly_true_peak(audio) <= -1.0 + 0.02
            assert stimulus.playback_loudness_lufs == pytest.approx(target, abs=0.01)
        assert target <= -23.0
        assert self.track.blinding_problems() == []

    def test_it_gives_every_version_identical_format_length_and_size(self) -> None:
        shapes = set()
        for stimulus in self.track.stimuli.all():
            audio, info = read(stimulus)
            shapes.add(
                (
                    info.format,
                    info.subtype,
                    info.samplerate,
                    info.channels,
                    info.frames,
                    stimulus.prepared.size,
                )
            )
            assert audio.shape == (5 * STUDY_RATE, 2)
        assert len(shapes) == 1, shapes
        assert shapes.pop()[:4] == ("FLAC", "PCM_24", STUDY_RATE, 2)

    def test_it_cuts_the_same_passage_from_every_master(self) -> None:
        by_name = self.by_name()
        # The lags the material was built with, in samples of each master's own rate
        # (48, 44.1 and 32 kHz, where each is aligned): +0.5 s, 0, -0.3 s.
        lags = {"LANDR": 24000, "Eng 1": 0, "Eng 2": -9600}
        for name, lag in lags.items():
            assert by_name[name].alignment_lag == lag, name
        assert by_name["Eng 2"].alignment_polarity == -1
        # Each prepared master is the delivered file's own samples at the mix's excerpt.
        for name, lag in lags.items():
            stimulus = by_name[name]
            delivered = read_audio(stimulus.original.path)
            y = conform(delivered.samples, delivered.rate, STUDY_RATE) * stimulus.alignment_polarity
            offset = lag * STUDY_RATE // delivered.rate  # the same instant at the study rate
            want = apply_fades(cut_excerpt(y, SPEC, offset=offset), SPEC)
            want *= 10 ** (stimulus.gain_db / 20)
            audio, _ = read(stimulus)
            error = np.max(np.abs(audio - want)) / np.max(np.abs(want))
            assert error < 1e-05, name  # 24-bit rounding only
        # And every excerpt lines up with the mix's at lag 0 (cross-correlation peak).
        mix, _ = read(by_name["mix"])
        for name in lags:
            audio, _ = read(by_name[name])
            corr = signal.correlate(audio.mean(axis=1), mix.mean(axis=1), mode="full")
            assert int(np.argmax(corr)) - (mix.shape[0] - 1) == 0, name

    def test_it_band_limits_the_anchors(self) -> None:
        by_name = self.by_name()
        mix, _ = read(by_name["mix"])
        _, pmix = signal.welch(mix.mean(axis=1), STUDY_RATE, nperseg=8192)
        for cutoff in (3500.0, 7000.0):
            anchor = by_name[f"anchor{cutoff}"]
            assert anchor.derived_from_id == by_name["mix"].pk  # no reference: the mix
            audio, _ = read(anchor)
            f, pxx = signal.welch(audio.mean(axis=1), STUDY_RATE, nperseg=8192)
            above = pxx[f >= cutoff].sum() / pxx.sum()
            assert 10 * np.log10(above) < -60.0, cutoff
            # The pass band is the mix's own, scaled by the anchor's loudness gain.
            band = (f > 200) & (f < 0.9 * cutoff)
            ratio = 10 * np.log10(pxx[band].sum() / pmix[band].sum())
            assert ratio == pytest.approx(anchor.gain_db - by_name["mix"].gain_db, abs=0.2)

    def test_it_measures_each_master_against_its_mix(self) -> None:
        masters = {s.provider: s for s in self.track.stimuli.filter(role="master")}
        for master in masters.values():
            assert master.metrics_error == ""
            assert master.metrics_version == METRICS_VERSION
            assert master.metrics["metrics_version"] == METRICS_VERSION
        # Full, as-delivered audio at the mix's rate: the AI master is louder, its lead-in found.
        ai, human = masters["LANDR"], masters["Eng 1"]
        assert ai.metrics["integrated"] > human.metrics["integrated"]
        assert ai.metrics["align_lag"] == 22050
        assert ai.metrics["rate"] == RATE
        assert masters["Eng 2"].metrics["align_polarity"] == -1


@override_settings(TASKS=IMMEDIATE)
class PipelineBehaviourTestCase(BaseTestCase):
    """Settings changes, failures and the background task, on a mix with one AI master."""

    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_full_track("Song", "pop", seed=4, human=False)

    def test_it_lowers_the_whole_track_target_rather_than_limit(self) -> None:
        self.study.loudness_target_lufs = -8.0  # louder than the dynamic mix can go
        self.study.save()
        prepare_track(self.track.pk)
        self.track.refresh_from_db()
        target = self.track.playback_loudness_lufs
        assert target < -8.0
        peaks = []
        for stimulus in self.track.stimuli.all():
            audio, _ = read(stimulus)
            assert integrated_loudness(audio, STUDY_RATE) == pytest.approx(target, abs=0.1)
            peaks.append(
                max(true_peak(audio, STUDY_RATE), 20 * np.log10(np.abs(oversampled(audio)).max()))
            )
        # The binding version meets the ceiling less the margin, on the stricter reading.
        assert max(peaks) <= -1.0 - TRUE_PEAK_MARGIN_DB + 0.001
        assert max(peaks) == pytest.approx(-1.0 - TRUE_PEAK_MARGIN_DB, abs=0.01)

    def test_it_is_idempotent_and_redoes_only_what_settings_change(self) -> None:
        prepare_track(self.track.pk)
        before = {s.pk: s.prepared.name for s in self.track.stimuli.all()}
        assert len(before) == 4
        result = prepare_track(self.track.pk)
        assert "skipped" in result
        assert {s.pk: s.prepared.name for s in self.track.stimuli.all()} == before

        self.study.excerpt_start = 5.0
        self.study.save()
        self.track.refresh_from_db()
        assert self.study.progress()["pending"] == 4
        assert self.track.needs_preparation()
        prepare_track(self.track.pk)
        after = {s.pk: s.prepared.name for s in self.track.stimuli.all()}
        assert set(after) == set(before)
        assert set(after.values()).isdisjoint(before.values())
        # Superseded files removed: 4 versions, each its playback file and its pool.
        assert len(self.stored_files("prepared")) == 4 * (1 + settings.LISTENING_PLAYBACK_VARIANTS)
        assert self.study.progress()["ready"] == 4

    def test_it_drops_anchors_when_the_study_turns_them_off(self) -> None:
        prepare_track(self.track.pk)
        self.study.anchors = False
        self.study.save()
        self.track.refresh_from_db()
        assert self.track.needs_preparation()
        prepare_track(self.track.pk)
        assert not self.track.stimuli.filter(role="anchor").exists()
        # 2 versions, each its playback file and its pool of dithered copies.
        assert len(self.stored_files("prepared")) == 2 * (1 + settings.LISTENING_PLAYBACK_VARIANTS)

    def test_it_derives_anchors_from_a_chosen_master_reference(self) -> None:
        master = self.track.stimuli.get(role="master")
        self.study.reference_mode = "master"
        self.study.save()
        self.track.reference_master = master
        self.track.save()
        prepare_track(self.track.pk)
        anchors = self.track.stimuli.filter(role="anchor")
        assert {a.derived_from_id for a in anchors} == {master.pk}
        assert all(a.status == "ready" for a in anchors)

    def test_it_records_a_failed_master_and_prepares_the_rest(self) -> None:
        other = versions("jazz", 8)["human"]
        stranger = self.add_stimulus(
            self.track, other, role="master", system="human", provider="Wrong song"
        )
        prepare_track(self.track.pk)
        stranger.refresh_from_db()
        assert stranger.status == "failed"
        assert "does not match its mix" in stranger.error
        assert "best correlation found" in stranger.error
        assert not stranger.prepared
        others = self.track.stimuli.exclude(pk=stranger.pk)
        assert all(s.status == "ready" for s in others)
        assert "Wrong song" in " ".join(problems_before_opening(self.study))

    def test_it_fails_a_master_whose_excerpt_would_be_too_short(self) -> None:
        short = versions("pop", 4)["human"][: round(7.0 * RATE)]  # the excerpt runs to 9 s
        stimulus = self.add_stimulus(
            self.track, short, role="master", system="human", provider="Cut"
        )
        prepare_track(self.track.pk)
        stimulus.refresh_from_db()
        assert stimulus.status == "failed"
        assert "the excerpt of the master" in stimulus.error
        assert "needs at least 5 s of audio, got 3.000 s" in stimulus.error

    def test_it_fails_every_version_when_the_mix_is_too_short_for_the_excerpt(self) -> None:
        self.study.excerpt_start = 9.0  # 9-14 s; the mix is 12 s long
        self.study.save()
        prepare_track(self.track.pk)
        mix = self.track.stimuli.get(role="mix")
        assert mix.status == "failed"
        assert "the excerpt of the mix" in mix.error
        assert not self.track.stimuli.filter(status="ready").exists()
        assert self.stored_files("prepared") == []

    def test_it_runs_as_a_background_task_per_track(self) -> None:
        from listening.stimuli.tasks import enqueue_preparation

        with self.captureOnCommitCallbacks(execute=True):
            queued = enqueue_preparation(self.study)
        assert queued == 1
        assert self.study.progress()["ready"] == 4
        master = self.track.stimuli.get(role="master")
        assert master.metrics["metrics_version"] == METRICS_VERSION
        # Nothing left to do: a second request queues nothing.
        assert enqueue_preparation(self.study) == 0
