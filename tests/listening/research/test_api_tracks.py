"""/api/tracks/: tracks belong to the requester's studies, with unique titles, drafts only."""

from __future__ import annotations

from listening.models import Study, Track
from tests.listening.base import BaseTestCase


class TrackApiTestCase(BaseTestCase):
    url = "/api/tracks/"

    def test_it_creates_and_lists_tracks_of_a_study(self) -> None:
        api = self.login(self.collaborator)
        response = api.post(
            self.url, {"study": self.study.pk, "title": "Song", "genre": "jazz"}, format="json"
        )
        assert response.status_code == 201, response.data
        assert response.data["stimuli"] == []
        response = api.get(self.url, {"study": self.study.pk})
        assert [t["title"] for t in response.data["results"]] == ["Song"]

    def test_it_rejects_a_duplicate_title_in_the_same_study(self) -> None:
        self.add_track("Song")
        response = self.login(self.researcher).post(
            self.url, {"study": self.study.pk, "title": "Song"}, format="json"
        )
        assert response.status_code == 400
        assert "already has a track called 'Song'" in response.data["detail"]

    def test_it_checks_ownership(self) -> None:
        track = self.add_track("Song")
        api = self.login(self.outsider)
        assert api.get(f"{self.url}{track.pk}/").status_code == 404
        assert api.get(self.url, {"study": self.study.pk}).status_code == 404
        response = api.post(self.url, {"study": self.study.pk, "title": "Mine"}, format="json")
        assert response.status_code == 400
        assert "does not exist" in response.data["detail"]
        assert Track.objects.count() == 1

    def test_it_keeps_tracks_of_an_open_study(self) -> None:
        track = self.add_track("Song")
        Study.objects.filter(pk=self.study.pk).update(status="open")
        api = self.login(self.researcher)
        response = api.patch(f"{self.url}{track.pk}/", {"title": "Renamed"}, format="json")
        assert response.status_code == 400
        assert "can no longer change" in response.data["detail"]
        assert api.delete(f"{self.url}{track.pk}/").status_code == 400

    def test_it_only_takes_a_master_of_the_track_as_reference(self) -> None:
        track = self.add_track("Song")
        other = self.add_track("Other")
        from tests.listening.base import versions

        master = self.add_stimulus(other, versions()["ai"], role="master", system="ai")
        response = self.login(self.researcher).patch(
            f"{self.url}{track.pk}/", {"reference_master": master.pk}, format="json"
        )
        assert response.status_code == 400
        assert "must be a master of this track" in response.data["detail"]
