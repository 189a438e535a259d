"""One file per study, enforced by the database, and races answered in the API's error shape.

Two uploads of one file can both pass the duplicate check before either is stored;
the row is then re-checked under a lock on the study when it is saved, and a unique
constraint on (study, sha256) stops whatever slips past. Either way the loser gets the
documented 400 ({"detail", "code", "errors": {"file": [...]}}) and nothing is stored.
Real concurrency (threads against gunicorn, on SQLite and PostgreSQL) is in
tests/live/test_security.py.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from listening.models import Stimulus
from listening.stimuli import originals
from tests.listening.base import BaseTestCase, upload, versions, wav_bytes


class UploadRaceTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.first = self.add_track("First")
        self.second = self.add_track("Second")
        self.api = self.login(self.researcher)
        self.data = wav_bytes(versions()["mix"])

    def post(self, track: int, role: str = "mix", **fields: str) -> object:
        payload = {"track": track, "role": role, "file": upload("mix.wav", self.data), **fields}
        return self.api.post("/api/stimuli/", payload, format="multipart")

    def race(self, track: int, role: str = "mix") -> None:
        """Let the other upload (to ``track``) be stored while this one is being copied."""
        real = originals.copy_original

        def copy_then_lose(stimulus: Stimulus, path: object, info: object) -> None:
            originals.copy_original = real  # type: ignore[assignment]
            self.add_stimulus(self.study.tracks.get(pk=track), versions()["mix"], role=role)
            real(stimulus, path, info)  # type: ignore[arg-type]

        originals.copy_original = copy_then_lose  # type: ignore[assignment]
        self.addCleanup(setattr, originals, "copy_original", real)

    def assert_lost(self, response: object, fragment: str) -> None:
        assert response.status_code == 400, response.data  # type: ignore[attr-defined]
        data = response.data  # type: ignore[attr-defined]
        assert set(data) == {"detail", "code", "errors"}
        assert list(data["errors"]) == ["file"]
        assert fragment in data["errors"]["file"][0], data
        assert "constraint" not in data["detail"].lower()
        assert Stimulus.objects.count() == 1
        assert len(self.stored_files("originals")) == 1  # the loser's copy is removed

    def test_the_same_file_racing_to_two_tracks_is_stored_once(self) -> None:
        self.race(self.first.pk)
        response = self.post(self.second.pk)
        self.assert_lost(response, "is already in this study as First: mix")

    def test_the_same_file_racing_to_one_track_is_stored_once(self) -> None:
        self.race(self.first.pk)
        response = self.post(self.first.pk)
        self.assert_lost(response, "is already in this study as First: mix")

    def test_two_mixes_racing_to_one_track(self) -> None:
        other = wav_bytes(versions(seed=5)["mix"])
        self.race(self.first.pk)
        payload = {"track": self.first.pk, "role": "mix", "file": upload("other.wav", other)}
        response = self.api.post("/api/stimuli/", payload, format="multipart")
        assert response.status_code == 400
        assert "already has a mix" in response.data["errors"]["file"][0]

    def test_the_database_refuses_a_file_twice_in_a_study(self) -> None:
        stored = self.add_stimulus(self.first, versions()["mix"])
        twin = Stimulus(
            track=self.second,
            role="mix",
            system="none",
            original_sha256=stored.original_sha256,
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            twin.save()
        assert twin.study_id == self.study.pk
        assert Stimulus.objects.count() == 1
