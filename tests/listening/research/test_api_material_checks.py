"""The API and the admin refuse what preparation would refuse (issue 15, items 3-5)."""

from __future__ import annotations

from django.test import override_settings

from listening.models import Stimulus
from listening.stimuli.preparation import prepare_track
from tests.listening.base import IMMEDIATE, BaseTestCase, upload, versions, wav_bytes


class ExcerptApiTestCase(BaseTestCase):
    def test_an_excerpt_past_the_end_of_the_material_is_refused(self) -> None:
        self.add_full_track("Song")  # 12 s of material (the AI master 0.5 s late)
        response = self.login(self.researcher).patch(
            f"/api/studies/{self.study.pk}/", {"excerpt_start": 25.0}, format="json"
        )
        assert response.status_code == 400
        message = response.data["errors"]["excerpt_start"][0]
        assert "the excerpt 25-30 s does not fit track 'Song'" in message
        assert "choose an excerpt start between 0 and 7 s for 5 s" in message
        self.study.refresh_from_db()
        assert self.study.excerpt_start == 4.0

    def test_an_excerpt_that_fits_is_accepted(self) -> None:
        self.add_full_track("Song")
        response = self.login(self.researcher).patch(
            f"/api/studies/{self.study.pk}/", {"excerpt_start": 6.0}, format="json"
        )
        assert response.status_code == 200, response.data

    def test_the_admin_refuses_the_same_excerpt(self) -> None:
        self.add_full_track("Song")
        self.study.excerpt_start = 25.0
        errors = {}
        try:
            self.study.full_clean()
        except Exception as exc:  # ValidationError
            errors = getattr(exc, "message_dict", {})
        assert "does not fit track 'Song'" in errors["excerpt_start"][0]


class UploadChecksApiTestCase(BaseTestCase):
    url = "/api/stimuli/"

    def post(self, track_pk: int, name: str, data: bytes, **fields: str) -> object:
        payload = {"track": track_pk, "file": upload(name, data), **fields}
        return self.login(self.researcher).post(self.url, payload, format="multipart")

    def test_a_master_of_another_song_is_refused(self) -> None:
        track = self.add_track("Song")
        self.add_stimulus(track, versions("pop")["mix"])
        response = self.post(
            track.pk, "other.wav", wav_bytes(versions("jazz")["ai"]), role="master", system="ai"
        )
        assert response.status_code == 400  # type: ignore[attr-defined]
        message = response.data["errors"]["file"][0]  # type: ignore[attr-defined]
        assert "other.wav does not match the mix" in message
        assert track.stimuli.count() == 1

    def test_a_master_is_stored_with_its_alignment(self) -> None:
        track = self.add_track("Song")
        self.add_stimulus(track, versions("pop")["mix"])
        response = self.post(
            track.pk, "ai.wav", wav_bytes(versions("pop")["ai"]), role="master", system="ai"
        )
        assert response.status_code == 201, response.data  # type: ignore[attr-defined]
        master = track.stimuli.get(role="master")
        assert master.alignment_lag == 0
        assert master.alignment_correlation is not None
        assert master.alignment_correlation > 0.8

    def test_a_mix_is_checked_against_the_masters_already_there(self) -> None:
        track = self.add_track("Song")
        self.add_stimulus(track, versions("pop")["ai"], role="master", system="ai")
        response = self.post(track.pk, "mix.wav", wav_bytes(versions("jazz")["mix"]), role="mix")
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert "does not match the mix mix.wav (this mix)" in str(response.data)  # type: ignore[attr-defined]

    def test_a_mono_upload_is_refused_unless_the_study_accepts_it(self) -> None:
        track = self.add_track("Song")
        mono = wav_bytes(versions("pop")["mix"].mean(axis=1, keepdims=True))
        response = self.post(track.pk, "mono.wav", mono, role="mix")
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert "the file is mono" in response.data["errors"]["file"][0]  # type: ignore[attr-defined]
        self.study.accept_mono = True
        self.study.save()
        response = self.post(track.pk, "mono.wav", mono, role="mix")
        assert response.status_code == 201, response.data  # type: ignore[attr-defined]


@override_settings(TASKS=IMMEDIATE)
class FailedProgressTestCase(BaseTestCase):
    def test_progress_is_never_finished_with_failed_stimuli(self) -> None:
        track = self.add_full_track("Song", human=False)
        # The excerpt moved past the end after upload (the admin would refuse it now).
        type(self.study).objects.filter(pk=self.study.pk).update(excerpt_start=25.0)
        prepare_track(track.pk)
        assert Stimulus.objects.filter(status="failed").count() == 4
        data = self.login(self.researcher).get(f"/api/studies/{self.study.pk}/progress/").data
        assert (data["failed"], data["ready"], data["percent"]) == (4, 0, 100.0)
        assert (data["finished"], data["state"]) == (False, "failed")
