"""/api/stimuli/: multipart upload, decode-validation before storing, and every bad input."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import soundfile as sf
from django.test import override_settings

from listening.models import Stimulus, Study
from tests.listening.base import BaseTestCase, upload, versions, wav_bytes


class StimulusUploadTestCase(BaseTestCase):
    url = "/api/stimuli/"

    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_track("Song")
        self.api = self.login(self.researcher)
        self.mix_bytes = wav_bytes(versions()["mix"])

    def post(self, name: str, data: bytes, **fields: object):  # type: ignore[no-untyped-def]
        payload = {"track": self.track.pk, "role": "mix", "file": upload(name, data), **fields}
        return self.api.post(self.url, payload, format="multipart")

    def assert_rejected(self, response, *fragments: str) -> None:  # type: ignore[no-untyped-def]
        assert response.status_code == 400, response.data
        assert set(response.data) == {"detail", "code", "errors"}
        for fragment in fragments:
            assert fragment in response.data["detail"]
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    def test_it_stores_the_original_unchanged_and_queues_preparation(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            response = self.post("My Mix.wav", self.mix_bytes)
        assert response.status_code == 201, response.data
        data = response.data
        assert data["original_sha256"] == hashlib.sha256(self.mix_bytes).hexdigest()
        assert data["original_filename"] == "My Mix.wav"
        assert (data["original_format"], data["original_rate"], data["original_channels"]) == (
            "WAV",
            44100,
            2,
        )
        assert data["original_duration"] == pytest.approx(12.0)
        assert (data["role"], data["system"], data["status"]) == ("mix", "none", "pending")
        stimulus = Stimulus.objects.get()
        with open(stimulus.original.path, "rb") as stored:
            assert stored.read() == self.mix_bytes
        assert "My Mix" not in stimulus.original.name  # stored under a random name
        assert self.queued() == [("prepare_track_task", [self.track.pk, False])]

    def test_it_accepts_a_master_with_its_system(self) -> None:
        response = self.post(
            "ai.flac",
            wav_bytes(versions()["ai"], format="FLAC"),
            role="master",
            system="ai",
            provider="LANDR",
        )
        assert response.status_code == 201, response.data
        assert response.data["original_format"] == "FLAC"
        assert response.data["provider"] == "LANDR"

    def test_it_rejects_corrupt_audio(self) -> None:
        response = self.post("broken.wav", self.mix_bytes[:44] + b"\x00garbage" * 100)
        self.assert_rejected(response, "broken.wav")

    def test_it_rejects_a_file_that_is_not_audio(self) -> None:
        response = self.post("notes.wav", b"These are my mastering notes, not audio.\n" * 50)
        self.assert_rejected(response, "notes.wav", "not a readable audio file")

    def test_it_rejects_an_unsupported_format(self) -> None:
        buffer = io.BytesIO()
        sf.write(buffer, versions()["mix"], 44100, format="AU", subtype="PCM_16")
        response = self.post("mix.au", buffer.getvalue())
        self.assert_rejected(response, "mix.au", "unsupported audio format 'AU'")

    def test_it_rejects_silence(self) -> None:
        response = self.post("silence.wav", wav_bytes(np.zeros((44100 * 8, 2))))
        self.assert_rejected(response, "silence.wav", "digital silence")

    def test_it_rejects_more_than_two_channels(self) -> None:
        surround = np.tile(versions()["mix"][:, :1], (1, 6))
        response = self.post("surround.wav", wav_bytes(surround))
        self.assert_rejected(response, "surround.wav", "6 channels")

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=100_000)
    def test_it_rejects_a_file_above_the_size_limit(self) -> None:
        response = self.post("big.wav", self.mix_bytes)
        self.assert_rejected(response, "big.wav", "above the upload limit of 0.1 MB")

    def test_it_rejects_a_file_shorter_than_the_excerpt(self) -> None:
        response = self.post("short.wav", wav_bytes(versions()["mix"][: 44100 * 3]))
        self.assert_rejected(response, "short.wav", "shorter than the study's excerpt (5 s)")

    def test_it_rejects_a_duplicate_upload(self) -> None:
        assert self.post("mix.wav", self.mix_bytes).status_code == 201
        other = self.add_track("Other song")
        response = self.api.post(
            self.url,
            {"track": other.pk, "role": "mix", "file": upload("copy.wav", self.mix_bytes)},
            format="multipart",
        )
        assert response.status_code == 400
        assert "already in this study as Song: mix" in response.data["detail"]
        assert Stimulus.objects.count() == 1
        assert len(self.stored_files()) == 1

    def test_it_rejects_a_second_mix_and_a_mismatched_system(self) -> None:
        assert self.post("mix.wav", self.mix_bytes).status_code == 201
        response = self.post("mix2.wav", wav_bytes(versions()["human"]))
        assert response.status_code == 400
        assert "already has a mix" in response.data["detail"]
        response = self.post("m.wav", wav_bytes(versions()["human"]), role="master", system="none")
        assert "a master needs system ai or human" in response.data["detail"]
        assert Stimulus.objects.count() == 1

    def test_it_rejects_a_track_of_someone_elses_study(self) -> None:
        foreign = self.add_track(
            "Theirs", study=Study.objects.create(owner=self.outsider, title="x")
        )
        response = self.api.post(
            self.url,
            {"track": foreign.pk, "role": "mix", "file": upload("mix.wav", self.mix_bytes)},
            format="multipart",
        )
        self.assert_rejected(response, "track:", "does not exist")

    def test_it_refuses_uploads_once_the_study_is_open(self) -> None:
        Study.objects.filter(pk=self.study.pk).update(status="open")
        self.assert_rejected(self.post("mix.wav", self.mix_bytes), "no longer takes uploads")

    def test_it_deletes_a_stimulus_with_its_files(self) -> None:
        stimulus_id = self.post("mix.wav", self.mix_bytes).data["id"]
        with self.captureOnCommitCallbacks(execute=True):
            response = self.api.delete(f"{self.url}{stimulus_id}/")
        assert response.status_code == 204
        assert self.stored_files() == []

    def test_it_lets_the_researcher_relabel_but_hides_stimuli_from_outsiders(self) -> None:
        response = self.post("ai.wav", wav_bytes(versions()["ai"]), role="master", system="ai")
        url = f"{self.url}{response.data['id']}/"
        response = self.api.patch(url, {"provider": "eMastered"}, format="json")
        assert response.data["provider"] == "eMastered"
        response = self.api.patch(url, {"system": "none"}, format="json")
        assert response.status_code == 400
        outsider = self.login(self.outsider)
        assert outsider.get(url).status_code == 404
        assert outsider.get(self.url).data["results"] == []
