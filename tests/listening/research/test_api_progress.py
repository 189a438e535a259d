"""Progress, prepare, open and close on /api/studies/<id>/."""

from __future__ import annotations

from django.test import override_settings

from listening.models import Stimulus, Study
from listening.stimuli.preparation import prepare_track
from tests.listening.base import IMMEDIATE, BaseTestCase


class ProgressApiTestCase(BaseTestCase):
    def url(self, action: str) -> str:
        return f"/api/studies/{self.study.pk}/{action}/"

    def test_it_reports_progress_per_study_and_per_stimulus(self) -> None:
        track = self.add_full_track("Song", human=False)
        Stimulus.objects.filter(role="mix").update(status="processing")
        response = self.login(self.collaborator).get(self.url("progress"))
        assert response.status_code == 200
        data = response.data
        assert (data["total"], data["processing"], data["pending"]) == (2, 1, 1)
        assert (data["percent"], data["finished"]) == (0.0, False)
        rows = {row["role"]: row for row in data["stimuli"]}
        assert rows["mix"]["status"] == "processing"
        assert rows["master"]["track_title"] == track.title

    def test_it_queues_preparation_on_request(self) -> None:
        track = self.add_full_track("Song", human=False)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.login(self.researcher).post(self.url("prepare"), {"force": True})
        assert response.status_code == 202
        assert response.data == {"queued_tracks": 1}
        assert self.queued() == [("prepare_track_task", [track.pk, True])]

    def test_it_refuses_to_open_with_the_reasons(self) -> None:
        self.add_track("Empty")
        response = self.login(self.researcher).post(self.url("open"))
        assert response.status_code == 400
        problems = response.data["errors"]["study"]
        assert "track 'Empty': has no mix (every track needs its unmastered mix)" in problems
        assert "track 'Empty': has no master to rate" in problems
        self.study.refresh_from_db()
        assert self.study.status == "draft"

    def test_it_refuses_to_open_before_preparation(self) -> None:
        self.add_full_track("Song")
        response = self.login(self.researcher).post(self.url("open"))
        assert "Song: mix is not prepared yet (pending)" in response.data["errors"]["study"]


@override_settings(TASKS=IMMEDIATE)
class OpenStudyTestCase(BaseTestCase):
    clean_media_per_test = False

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.track = cls.add_full_track("Song", seed=2)
        prepare_track(cls.track.pk)

    def url(self, action: str) -> str:
        return f"/api/studies/{self.study.pk}/{action}/"

    def test_it_opens_a_prepared_study_and_closes_it(self) -> None:
        api = self.login(self.researcher)
        response = api.post(self.url("open"))
        assert response.status_code == 200, response.data
        assert response.data["status"] == "open"
        assert api.get(self.url("progress")).data["ready"] == 5
        assert api.post(self.url("open")).status_code == 400  # already open
        assert api.post(self.url("prepare")).status_code == 400  # files are locked
        response = api.post(self.url("close"))
        assert response.data["status"] == "closed"
        assert Study.objects.open().count() == 0

    def test_it_checks_the_paradigm_before_opening(self) -> None:
        Study.objects.filter(pk=self.study.pk).update(paradigm="abx")
        Stimulus.objects.filter(system="human").update(system="ai")
        response = self.login(self.researcher).post(self.url("open"))
        assert response.status_code == 400
        assert (
            "track 'Song': has no human master (pairs compare an AI master with a human one)"
            in response.data["errors"]["study"]
        )

    def test_it_checks_blinding_before_opening(self) -> None:
        Stimulus.objects.filter(role="master", system="ai").update(playback_loudness_lufs=-20.0)
        response = self.login(self.researcher).post(self.url("open"))
        assert response.status_code == 400
        assert "plays at -20.0 LUFS" in response.data["detail"]
