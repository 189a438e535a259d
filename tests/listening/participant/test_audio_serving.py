"""/a/<key>: a condition's audio only for the session that owns it, with Range, naming nothing."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.http import HttpResponse

from listening.models import Condition, Session, Stimulus, Trial
from listening.participant.audio import PARTICIPANT_COOKIE, attach_participant, parse_range
from tests.listening.base import BaseTestCase, versions, wav_bytes


class AudioServingTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        track = self.add_track("Secret Song Title")
        self.data = wav_bytes(versions()["mix"][:48000], 48000, format="FLAC")
        stimulus = Stimulus(
            track=track,
            role="master",
            system="ai",
            provider="LANDR",
            status="ready",
            original_filename="LANDR_master_final.wav",
        )
        stimulus.prepared.save("ignored.flac", ContentFile(self.data), save=False)
        stimulus.save()
        self.session = Session.objects.create(study=self.study)
        trial = Trial.objects.create(session=self.session, position=0, track=track, kind="mushra")
        self.condition = Condition.objects.create(trial=trial, stimulus=stimulus, position=0)
        self.url = f"/a/{self.condition.key}"
        self.become(self.session)

    def become(self, session: Session) -> None:
        response = HttpResponse()
        attach_participant(response, session)
        self.client.cookies[PARTICIPANT_COOKIE] = response.cookies[PARTICIPANT_COOKIE].value

    def body(self, response) -> bytes:  # type: ignore[no-untyped-def]
        return b"".join(response.streaming_content)

    def test_it_serves_the_whole_file_to_its_session(self) -> None:
        response = self.client.get(self.url)
        assert response.status_code == 200
        assert self.body(response) == self.data
        assert response["Content-Type"] == "audio/flac"
        assert response["Content-Length"] == str(len(self.data))
        assert response["Accept-Ranges"] == "bytes"
        assert response["Cache-Control"] == "private, no-store"

    def test_it_names_nothing(self) -> None:
        response = self.client.get(self.url)
        for header in ("Content-Disposition", "ETag", "Last-Modified"):
            assert header not in response
        headers = " ".join(f"{k}: {v}" for k, v in response.items()).lower()
        prepared = self.condition.stimulus.prepared.name.rsplit("/", 1)[-1].lower()
        for secret in (
            "landr",
            "master",
            "secret song",
            "final.wav",
            prepared,
            str(self.condition.stimulus.pk) + "/",
        ):
            assert secret not in headers, secret

    def test_it_serves_byte_ranges(self) -> None:
        response = self.client.get(self.url, HTTP_RANGE="bytes=100-199")
        assert response.status_code == 206
        assert self.body(response) == self.data[100:200]
        assert response["Content-Range"] == f"bytes 100-199/{len(self.data)}"
        assert response["Content-Length"] == "100"
        response = self.client.get(self.url, HTTP_RANGE="bytes=-10")
        assert self.body(response) == self.data[-10:]
        response = self.client.get(self.url, HTTP_RANGE="bytes=1000-")
        assert self.body(response) == self.data[1000:]

    def test_it_refuses_unsatisfiable_ranges(self) -> None:
        size = len(self.data)
        for header in (f"bytes={size}-", "bytes=50-10", "bytes=-0", "items=0-1", "bytes=0-1,5-9"):
            response = self.client.get(self.url, HTTP_RANGE=header)
            assert response.status_code == 416, header
            assert response["Content-Range"] == f"bytes */{size}"

    def test_it_answers_head_without_a_body(self) -> None:
        response = self.client.head(self.url)
        assert response.status_code == 200
        assert response["Content-Length"] == str(len(self.data))
        assert self.body(response) == b""

    def test_it_hides_keys_from_other_sessions(self) -> None:
        self.become(Session.objects.create(study=self.study))
        assert self.client.get(self.url).status_code == 404
        self.client.cookies.clear()
        assert self.client.get(self.url).status_code == 404
        self.client.cookies[PARTICIPANT_COOKIE] = self.session.token  # unsigned: forged
        assert self.client.get(self.url).status_code == 404

    def test_it_accepts_the_session_token_header(self) -> None:
        self.client.cookies.clear()
        response = self.client.get(self.url, HTTP_X_SESSION_TOKEN=self.session.token)
        assert response.status_code == 200
        response = self.client.get(self.url, HTTP_X_SESSION_TOKEN="not-the-token")
        assert response.status_code == 404

    def test_it_404s_unknown_keys_and_unready_audio(self) -> None:
        assert self.client.get("/a/not-a-key").status_code == 404
        Stimulus.objects.update(status="processing")
        assert self.client.get(self.url).status_code == 404

    def test_it_refuses_writes(self) -> None:
        assert self.client.post(self.url).status_code == 405


class ParseRangeTestCase(BaseTestCase):
    def test_it_parses_single_ranges(self) -> None:
        assert parse_range("bytes=0-0", 10) == (0, 0)
        assert parse_range("bytes=5-100", 10) == (5, 9)
        assert parse_range("bytes=-3", 10) == (7, 9)
        assert parse_range("bytes=-30", 10) == (0, 9)
        assert parse_range("bytes=10-", 10) is None
        assert parse_range("bytes=-", 10) is None
