"""/api/studies/: CRUD, ownership, locked settings and the one error shape."""

from __future__ import annotations

import io
from pathlib import Path

from listening.models import Stimulus, Study, Track
from tests.listening.base import BaseTestCase, versions


class StudyApiTestCase(BaseTestCase):
    url = "/api/studies/"

    def detail(self, study: Study | None = None) -> str:
        return f"{self.url}{(study or self.study).pk}/"

    def test_it_requires_login(self) -> None:
        response = self.client_api.get(self.url)
        assert response.status_code == 403
        assert set(response.data) == {"detail", "code"}

    def test_it_lists_owned_and_shared_studies_only(self) -> None:
        Study.objects.create(owner=self.outsider, title="Someone else's")
        for user in (self.researcher, self.collaborator):
            response = self.login(user).get(self.url)
            assert response.status_code == 200
            assert [s["title"] for s in response.data["results"]] == ["Masters study"]
        response = self.login(self.outsider).get(self.url)
        assert [s["title"] for s in response.data["results"]] == ["Someone else's"]

    def test_it_checks_ownership(self) -> None:
        api = self.login(self.outsider)
        assert api.get(self.detail()).status_code == 404
        assert api.patch(self.detail(), {"title": "x"}).status_code == 404
        assert api.delete(self.detail()).status_code == 404
        assert api.post(self.detail() + "open/").status_code == 404
        assert api.get(self.detail() + "progress/").status_code == 404

    def test_it_creates_a_study_owned_by_the_requester(self) -> None:
        response = self.login(self.collaborator).post(
            self.url, {"title": "New", "paradigm": "abx"}, format="json"
        )
        assert response.status_code == 201, response.data
        study = Study.objects.get(pk=response.data["id"])
        assert study.owner == self.collaborator
        assert response.data["owner"] == "collaborator"
        assert response.data["status"] == "draft"
        assert response.data["attributes"] == [
            "overall quality",
            "clarity",
            "tonal balance",
            "loudness",
        ]
        assert response.data["loudness_target_lufs"] == -23.0
        assert response.data["true_peak_ceiling_dbtp"] == -1.0
        assert response.data["participant_path"].startswith("/s/")
        assert response.data["must_play_all"] is True  # the checks before "next" are settable
        assert response.data["min_listen_seconds"] == 1.0
        assert len(study.public_token) >= 20

    def test_it_keeps_the_public_title_apart_from_the_researchers(self) -> None:
        api = self.login(self.researcher)
        response = api.patch(
            self.detail(),
            {"public_title": "Sound study", "public_description": "Rate short excerpts."},
            format="json",
        )
        assert response.status_code == 200, response.data
        assert response.data["title"] == "Masters study"
        assert response.data["public_title"] == "Sound study"
        assert response.data["public_description"] == "Rate short excerpts."
        self.study.refresh_from_db()
        assert self.study.participant_title == "Sound study"

    def test_it_validates_settings(self) -> None:
        api = self.login(self.researcher)
        cases = {
            "sample_rate": (12345, "not an allowed playback rate"),
            "paradigm": ("thurstone", "not a valid choice"),
            "attributes": (["clarity", "clarity"], "must be unique"),
            "fade_ms": (3000, "less than or equal to 1000"),
            "loudness_target_lufs": (3, "less than or equal to 0"),
            "min_listen_seconds": (-1, "greater than or equal to 0"),
        }
        for field, (value, message) in cases.items():
            response = api.patch(self.detail(), {field: value}, format="json")
            assert response.status_code == 400, field
            assert message in str(response.data["errors"][field]), field
            assert field in response.data["detail"]
        response = api.patch(self.detail(), {"fade_ms": 600, "excerpt_length": 1.0}, format="json")
        assert "do not fit an excerpt" in response.data["errors"]["fade_ms"][0]

    def test_it_lets_collaborators_edit_but_only_the_owner_delete(self) -> None:
        api = self.login(self.collaborator)
        response = api.patch(self.detail(), {"instructions": "Use headphones."}, format="json")
        assert response.status_code == 200
        assert api.delete(self.detail()).status_code == 403
        response = api.patch(self.detail(), {"collaborators": []}, format="json")
        assert response.status_code == 400
        assert self.login(self.researcher).delete(self.detail()).status_code == 204
        assert not Study.objects.filter(pk=self.study.pk).exists()

    def test_it_locks_preparation_settings_once_open(self) -> None:
        Study.objects.filter(pk=self.study.pk).update(status="open")
        api = self.login(self.researcher)
        response = api.patch(self.detail(), {"loudness_target_lufs": -16.0}, format="json")
        assert response.status_code == 400
        assert "cannot change once the study has opened" in response.data["detail"]
        response = api.patch(self.detail(), {"instructions": "Still editable."}, format="json")
        assert response.status_code == 200

    def test_it_queues_preparation_when_a_setting_changes(self) -> None:
        Study.objects.filter(pk=self.study.pk).update(anchors=False)
        track = self.add_track()
        mix = self.add_stimulus(track, versions()["mix"])
        track = Track.objects.get(pk=track.pk)
        # As if prepared with the current settings.
        Stimulus.objects.filter(pk=mix.pk).update(status="ready", fingerprint=track.fingerprint())
        api = self.login(self.researcher)
        with self.captureOnCommitCallbacks(execute=True):
            api.patch(self.detail(), {"instructions": "no audio change"}, format="json")
        assert self.queued() == []
        with self.captureOnCommitCallbacks(execute=True):
            api.patch(self.detail(), {"excerpt_start": 2.0}, format="json")
        assert self.queued() == [("prepare_track_task", [track.pk, False])]
        mix.refresh_from_db()
        assert mix.status == "pending"


class StudyDeletionTestCase(StudyApiTestCase):
    """Deleting a study that participants took: refused while open, complete once closed."""

    def test_a_closed_study_is_deleted_with_its_sessions_and_files(self) -> None:
        from django.core.management import call_command

        from listening.models import Rating, Session
        from tests.listening.participant_fixtures import build_study

        study = build_study(self.researcher, tracks=2)
        call_command("simulate_participants", study.pk, n=2, stdout=io.StringIO())
        assert Session.objects.filter(study=study).count() == 2
        assert Rating.objects.filter(trial__session__study=study).exists()
        files = [Path(s.prepared.path) for s in Stimulus.objects.filter(track__study=study)]
        assert files
        assert all(f.exists() for f in files)
        api = self.login(self.researcher)

        response = api.delete(self.detail(study))
        assert response.status_code == 400
        assert "close the study" in response.data["detail"].lower()
        assert Study.objects.filter(pk=study.pk).exists()

        study.close()
        with self.captureOnCommitCallbacks(execute=True):
            assert api.delete(self.detail(study)).status_code == 204
        assert not Study.objects.filter(pk=study.pk).exists()
        assert not Session.objects.filter(study_id=study.pk).exists()
        assert not any(f.exists() for f in files)
