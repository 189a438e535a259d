"""Launch: the absolute participant link, the Prolific URL, the QR code, open and close;
and the builder's excerpt check against uploaded audio."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from django.test import Client, override_settings

from listening.models import Study
from listening.participant.pages import EXTERNAL_IDS
from tests.listening.participant_fixtures import Participant, ParticipantTestCase
from tests.listening.research.workspace.builder_data import builder_data


class LaunchTestCase(ParticipantTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client.force_login(self.researcher)
        self.url = f"/workspace/studies/{self.open_study.pk}/launch/"

    def field(self, page: str, element_id: str) -> str:
        match = re.search(rf'id="{element_id}" type="text" readonly value="([^"]*)"', page)
        assert match, element_id
        return html.unescape(match.group(1))

    @override_settings(ALLOWED_HOSTS=["listen.example.org"])
    def test_it_shows_absolute_links_that_the_landing_page_reads(self) -> None:
        page = self.client.get(self.url, HTTP_HOST="listen.example.org").content.decode()
        link = self.field(page, "participant-link")
        assert link == f"http://listen.example.org/s/{self.open_study.public_token}/"
        prolific = self.field(page, "prolific-url")
        assert prolific.startswith(link + "?")
        query = parse_qs(urlsplit(prolific).query)
        # Every parameter the landing page reads, with Prolific's placeholder for it.
        assert set(query) == set(EXTERNAL_IDS)
        for name in EXTERNAL_IDS:
            assert query[name] == [f"{{{{%{name}%}}}}"]
        assert self.field(page, "completion-code") == "C0DE42"
        assert self.field(page, "completion-url") == (
            "https://app.prolific.com/submissions/complete?cc=C0DE42"
        )
        assert '<svg width="' in page
        assert 'aria-label="QR code of the participant link"' in page

    def test_the_prolific_url_starts_a_session_with_the_prolific_ids(self) -> None:
        page = self.client.get(self.url).content.decode()
        prolific = self.field(page, "prolific-url")
        filled = (
            prolific.replace("{{%PROLIFIC_PID%}}", "pid123")
            .replace("{{%STUDY_ID%}}", "study9")
            .replace("{{%SESSION_ID%}}", "sess7")
        )
        participant = Participant(self.open_study, Client())
        participant.start("?" + urlsplit(filled).query)
        session = participant.refresh()
        assert (session.prolific_pid, session.prolific_study_id, session.prolific_session_id) == (
            "pid123",
            "study9",
            "sess7",
        )

    def test_without_a_completion_code_it_says_what_to_set(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(completion_code="")
        page = self.client.get(self.url).content.decode()
        assert "No completion code set" in page
        assert 'id="completion-code"' not in page

    def test_close_and_open_call_the_models_rules(self) -> None:
        response = self.client.post(f"/workspace/studies/{self.open_study.pk}/close/")
        assert response.status_code == 302
        self.open_study.refresh_from_db()
        assert self.open_study.status == Study.Status.CLOSED
        assert self.open_study.closed_at is not None
        response = self.client.post(f"/workspace/studies/{self.open_study.pk}/open/")
        assert response.status_code == 302
        self.open_study.refresh_from_db()
        assert self.open_study.status == Study.Status.OPEN

    def test_opening_lists_what_is_missing_instead(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(status=Study.Status.DRAFT)
        self.open_study.tracks.first().stimuli.filter(role="master").update(  # type: ignore[union-attr]
            status="failed", error="decoder exploded"
        )
        response = self.client.post(f"/workspace/studies/{self.open_study.pk}/open/")
        assert response.status_code == 400
        page = response.content.decode()
        assert "The study cannot open yet" in page
        assert "failed: decoder exploded" in page
        assert Study.objects.get(pk=self.open_study.pk).status == Study.Status.DRAFT
        overview = self.client.get(f"/workspace/studies/{self.open_study.pk}/").content.decode()
        assert "Before the study can open" in overview
        assert "failed: decoder exploded" in overview

    def test_open_and_close_need_post_and_csrf(self) -> None:
        assert self.client.get(f"/workspace/studies/{self.open_study.pk}/close/").status_code == 405
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(self.researcher)
        assert strict.post(f"/workspace/studies/{self.open_study.pk}/close/").status_code == 403
        assert Study.objects.get(pk=self.open_study.pk).status == Study.Status.OPEN

    def test_the_builder_shows_the_shortest_track_and_refuses_an_excerpt_that_does_not_fit(
        self,
    ) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(status=Study.Status.DRAFT)
        url = f"/workspace/studies/{self.open_study.pk}/settings/"
        page = self.client.get(url).content.decode()
        assert "Shortest track:" in page
        data = builder_data(
            attributes=["overall quality", "clarity"],
            reference_mode="mix",
            excerpt_start="5",
            excerpt_length="3",
            completion_code="C0DE42",
        )
        response = self.client.post(url, data)
        assert response.status_code == 400
        text = html.unescape(response.content.decode())
        assert (
            "Excerpt start (s, in the mix's timeline): the excerpt 5-8 s does not fit track" in text
        )
        assert Study.objects.get(pk=self.open_study.pk).excerpt_start == 1.0
