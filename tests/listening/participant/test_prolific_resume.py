"""A Prolific id alone opens nobody's session.

A returning participant resumes from the browser that started the session (its signed
cookie), or with the Prolific SESSION_ID the session started with (Prolific sends the
same one when the same participant reopens the study from Prolific). Anyone else who
sends that Prolific id gets a clear page that names nothing of the session, and no
cookie.
"""

from __future__ import annotations

from django.test import Client

from listening.models import Session
from listening.participant.audio import PARTICIPANT_COOKIE
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

REFUSAL = "already started"


class ProlificResumeTestCase(ParticipantTestCase):
    study_options = {"screening": {"tests": []}}  # noqa: RUF012

    def setUp(self) -> None:
        super().setUp()
        self.first = Participant(self.open_study, Client())
        self.first.start("?PROLIFIC_PID=pid-alice&STUDY_ID=st1&SESSION_ID=sess-alice")
        self.first.consent()
        self.first.questionnaire()
        self.path = self.open_study.participant_path()

    def test_the_same_browser_resumes(self) -> None:
        response = self.first.client.post(self.path + "?PROLIFIC_PID=pid-alice")
        assert response.status_code == 302
        assert response["Location"] == self.first.url("calibration")
        landing = self.first.client.get(self.path + "?PROLIFIC_PID=pid-alice")
        self.assertContains(landing, "Continue where you left off")

    def test_the_matching_prolific_session_id_resumes_in_another_browser(self) -> None:
        other = Participant(self.open_study, Client())
        response = other.start("?PROLIFIC_PID=pid-alice&STUDY_ID=st1&SESSION_ID=sess-alice")
        assert other.token == self.first.token
        assert response["Location"] == self.first.url("calibration")
        assert Session.objects.count() == 1

    def test_an_id_alone_is_refused_in_another_browser(self) -> None:
        for query in (
            "?PROLIFIC_PID=pid-alice",
            "?PROLIFIC_PID=pid-alice&STUDY_ID=st1",
            "?PROLIFIC_PID=pid-alice&SESSION_ID=sess-guess",
        ):
            stranger = Client()
            for method in ("get", "post"):
                response = getattr(stranger, method)(self.path + query)
                assert response.status_code == 409, (query, method)
                self.assertContains(response, REFUSAL, status_code=409)
                text = response.content.decode()
                assert self.first.token not in text
                assert "calibration" not in text
                assert PARTICIPANT_COOKIE not in response.cookies
        assert Session.objects.count() == 1
        assert self.first.refresh().state == "calibration"

    def test_a_session_that_started_without_a_session_id_resumes_only_in_its_browser(self) -> None:
        first = Participant(self.open_study, Client())
        first.start("?PROLIFIC_PID=pid-bob")
        stranger = Client()
        response = stranger.post(self.path + "?PROLIFIC_PID=pid-bob&SESSION_ID=anything")
        assert response.status_code == 409
        again = first.client.post(self.path + "?PROLIFIC_PID=pid-bob")
        assert again["Location"] == first.url("consent")

    def test_a_new_id_starts_a_new_session(self) -> None:
        other = Participant(self.open_study, Client())
        other.start("?PROLIFIC_PID=pid-carol&SESSION_ID=sess-carol")
        assert other.token != self.first.token
        assert Session.objects.count() == 2
