"""The researcher's admin: scoped to their studies, with validated uploads and actions."""

from __future__ import annotations

import numpy as np

from listening.models import Stimulus, Study
from tests.listening.base import BaseTestCase, upload, versions, wav_bytes


class AdminTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.other = Study.objects.create(owner=self.outsider, title="Outsider's study")
        self.track = self.add_track("Song")

    def test_it_lists_only_the_researchers_studies(self) -> None:
        self.login(self.collaborator)
        response = self.client.get("/admin/listening/study/")
        self.assertContains(response, "Masters study")
        self.assertNotContains(response, "Outsider&#x27;s study")

    def test_it_hides_other_peoples_studies(self) -> None:
        self.login(self.researcher)
        response = self.client.get(f"/admin/listening/study/{self.other.pk}/change/", follow=True)
        self.assertNotContains(response, "Outsider&#x27;s study")
        self.assertContains(response, "doesn’t exist")
        response = self.client.get("/admin/listening/track/")
        self.assertContains(response, "Song")
        self.login(self.outsider)
        response = self.client.get("/admin/listening/track/")
        self.assertNotContains(response, "Song")

    def test_it_shows_why_a_study_cannot_open(self) -> None:
        self.login(self.researcher)
        response = self.client.get(f"/admin/listening/study/{self.study.pk}/change/")
        self.assertContains(response, "has no mix (every track needs its unmastered mix)")
        response = self.client.post(
            "/admin/listening/study/",
            {"action": "open_studies", "_selected_action": [self.study.pk]},
            follow=True,
        )
        self.assertContains(response, "cannot open")
        self.study.refresh_from_db()
        assert self.study.status == "draft"

    def test_it_queues_preparation_from_an_action(self) -> None:
        self.add_stimulus(self.track, versions()["mix"])
        self.login(self.researcher)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(
                "/admin/listening/study/",
                {"action": "reprepare_stimuli", "_selected_action": [self.study.pk]},
            )
        assert self.queued() == [("prepare_track_task", [self.track.pk, True])]

    def test_it_validates_an_uploaded_stimulus(self) -> None:
        self.login(self.researcher)
        url = "/admin/listening/stimulus/add/"
        form = {"track": self.track.pk, "role": "mix", "system": "none", "provider": ""}
        response = self.client.post(
            url, {**form, "original": upload("quiet.wav", wav_bytes(np.zeros((44100 * 8, 2))))}
        )
        self.assertContains(response, "quiet.wav: the audio is digital silence")
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []
        data = wav_bytes(versions()["mix"])
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, {**form, "original": upload("mix.wav", data)})
        assert response.status_code == 302
        stimulus = Stimulus.objects.get()
        assert (stimulus.original_filename, stimulus.original_rate) == ("mix.wav", 44100)
        assert self.queued() == [("prepare_track_task", [self.track.pk, False])]

    def test_it_shows_stimulus_measurements_read_only(self) -> None:
        stimulus = self.add_stimulus(self.track, versions()["mix"])
        Stimulus.objects.filter(pk=stimulus.pk).update(
            metrics={"dm": 12.5}, status="failed", error="Something went wrong"
        )
        self.login(self.researcher)
        response = self.client.get(f"/admin/listening/stimulus/{stimulus.pk}/change/")
        self.assertContains(response, "<th>dm</th><td>12.5</td>", html=True)
        self.assertContains(response, "Something went wrong")
        response = self.client.get("/admin/listening/stimulus/")
        self.assertContains(response, "Something went wrong")

    def test_it_deletes_a_closed_study_with_its_sessions_but_never_an_open_one(self) -> None:
        import io
        from pathlib import Path

        from django.core.management import call_command

        from listening.models import Session
        from tests.listening.participant_fixtures import build_study

        study = build_study(self.researcher, tracks=1)
        call_command("simulate_participants", study.pk, n=1, stdout=io.StringIO())
        files = [Path(s.prepared.path) for s in Stimulus.objects.filter(track__study=study)]
        self.login(self.researcher)
        url = f"/admin/listening/study/{study.pk}/delete/"
        assert self.client.get(url).status_code == 403  # open: participants may be mid-session
        study.close()
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, {"post": "yes"})
        assert response.status_code == 302
        assert not Study.objects.filter(pk=study.pk).exists()
        assert not Session.objects.filter(study_id=study.pk).exists()
        assert files
        assert not any(f.exists() for f in files)
