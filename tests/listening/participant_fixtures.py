"""A small prepared, open study and a participant who walks through it with the test client."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.test import Client
from django.utils import timezone

from listening.models import Session, Study, Track, Trial
from listening.participant.audio import PARTICIPANT_COOKIE
from listening.research.opening import open_study
from listening.stimuli.preparation import prepare_track
from tests.listening.base import RATE, BaseTestCase, versions

#: Names that must never reach a participant's browser.
SECRET_PROVIDER = "LANDR-SECRET"
SECRET_HUMAN = "Mastering Engineer Secret"
SECRET_FILES = ("human_master_secret.wav", "ai_master_secret.wav", "mix_secret.wav")
SECRET_TITLE = "Track Title Secret"
#: The researcher's title of the study: participant pages show the public title instead.
SECRET_STUDY_TITLE = "Researcher Study Title Secret"


def build_study(
    owner: Any,
    *,
    paradigm: str = "mushra",
    reference_mode: str = "mix",
    anchors: bool = True,
    tracks: int = 2,
    seconds: float = 6.0,
    screening: dict[str, Any] | None = None,
    **options: Any,
) -> Study:
    """Create, prepare (through the real pipeline) and open a tiny study."""
    from tests.listening.base import StudyFixtures

    settings = {
        "title": SECRET_STUDY_TITLE,
        "description": f"{SECRET_STUDY_TITLE}: the researcher's own notes",
        "excerpt_start": 1.0,
        "excerpt_length": 3.0,
        "sample_rate": 48000,
        "attributes": ["overall quality", "clarity"],
        "abx_repetitions": 2,
        "completion_code": "C0DE42",
        **options,
    }
    study = Study.objects.create(
        owner=owner,
        paradigm=paradigm,
        reference_mode=reference_mode,
        anchors=anchors,
        screening=screening if screening is not None else {"tests": ["antiphase"]},
        **settings,
    )
    for i in range(tracks):
        track = Track.objects.create(study=study, title=f"{SECRET_TITLE} {i}", genre="rock")
        v = versions("rock", 10 + i, seconds)
        StudyFixtures.add_stimulus(track, v["mix"], name=SECRET_FILES[2])
        StudyFixtures.add_stimulus(
            track,
            v["ai"],
            role="master",
            system="ai",
            provider=SECRET_PROVIDER,
            name=SECRET_FILES[1],
        )
        StudyFixtures.add_stimulus(
            track,
            v["human"],
            role="master",
            system="human",
            provider=SECRET_HUMAN,
            name=SECRET_FILES[0],
        )
        prepare_track(track.pk)
    study.refresh_from_db()
    open_study(study)
    return study


class Participant:
    """Drives one participant's session through the pages with a Django test client."""

    def __init__(self, study: Study, client: Client | None = None) -> None:
        self.study = study
        self.client = client or Client()
        self.session: Session | None = None

    @property
    def token(self) -> str:
        assert self.session is not None
        return self.session.token

    def refresh(self) -> Session:
        assert self.session is not None
        self.session.refresh_from_db()
        return self.session

    def start(self, query: str = "") -> Any:
        response = self.client.post(self.study.participant_path() + query)
        assert response.status_code == 302, response.content[:300]
        token = response["Location"].split("/")[2]
        self.session = Session.objects.get(token=token)
        assert PARTICIPANT_COOKIE in response.cookies
        return response

    def url(self, step: str) -> str:
        return f"/p/{self.token}/{step}"

    def consent(self) -> Any:
        return self.client.post(self.url("consent"), {"decision": "agree"})

    def questionnaire(self) -> Any:
        return self.client.post(
            self.url("questionnaire"),
            {
                "age_range": "25-34",
                "listening_experience": "I play or produce music",
                "headphone_model": "Studio cans",
                "hearing_problems": "No",
            },
        )

    def calibrate(self) -> Any:
        self.client.get(self.url("calibration"))
        return self.client.post(self.url("calibration"), {"confirmed": "on"})

    def screening_attempt(self) -> dict[str, Any]:
        return self.refresh().screening["attempts"][-1]

    def play_screening(self) -> None:
        for test in self.screening_attempt()["tests"]:
            for item in test["items"]:
                response = self.client.get(f"/a/{item['key']}")
                assert response.status_code == 200
                b"".join(response.streaming_content)

    def screen(self, *, correct: bool = True) -> Any:
        self.client.get(self.url("screening"))
        self.play_screening()
        data = {}
        for test in self.screening_attempt()["tests"]:
            for item in test["items"]:
                answer = item["correct"] if correct else (item["correct"] + 1) % 3
                data[f"clip_{item['key']}"] = str(answer)
        return self.client.post(self.url("screening"), data)

    def to_training(self, query: str = "") -> None:
        self.start(query)
        self.consent()
        self.questionnaire()
        self.calibrate()
        if self.study.screening_tests():
            self.screen()
        assert self.refresh().state == Session.State.TRAINING

    def trial_data(self, step: str = "trial") -> dict[str, Any]:
        response = self.client.get(self.url(step))
        assert response.status_code == 200, response.status_code
        return response.context["trial"]

    def post(self, step: str, body: Any, *, key: str | None = None, **headers: Any) -> Any:
        return self.client.post(
            self.url(step),
            data=json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": key or str(uuid.uuid4()), **headers},
        )

    def save(self, body: Any, **kwargs: Any) -> Any:
        return self.post("answers", body, **kwargs)

    def fetch_audio(self, data: dict[str, Any]) -> None:
        """Download every file of the trial, as the page does before it can play."""
        keys = [c["key"] for c in data["conditions"]]
        if data.get("reference"):
            keys.insert(0, data["reference"]["key"])
        for key in keys:
            response = self.client.get(f"/a/{key}")
            assert response.status_code == 200, response.status_code
            b"".join(response.streaming_content)

    def play_all(self, data: dict[str, Any], seconds: float | None = None) -> Any:
        """Listen to every condition as the page does: fetch every file, then play each for
        ``seconds`` (the study's minimum and a little) in turn, and log it.

        The server times listening on its own clock from when it served the trial's page;
        instead of waiting, the test moves that moment back by the time spent listening.
        """
        self.fetch_audio(data)
        keys = [c["key"] for c in data["conditions"]]
        if seconds is None:
            seconds = self.refresh().study.min_listen_seconds + 0.1
        now = timezone.now()
        start = now - timedelta(seconds=seconds * len(keys))
        Trial.objects.filter(
            session=self.session, position=data["trial"]["id"], started_at__gt=start
        ).update(started_at=start - timedelta(seconds=1))

        def at(i: int) -> str:
            return (start + timedelta(seconds=seconds * i)).isoformat()

        events: list[dict[str, Any]] = [
            {"type": "play", "position": 0.0, "condition": keys[0], "at": at(0)}
        ]
        for i, key in enumerate(keys[1:], start=1):
            events.append({"type": "switch", "from": keys[i - 1], "to": key, "at": at(i)})
        events.append({"type": "pause", "condition": keys[-1], "at": at(len(keys))})
        return self.post("events", {"trial": data["trial"]["id"], "events": events})


class ParticipantTestCase(BaseTestCase):
    """A prepared MUSHRA study (mix as reference, anchors) shared by the tests of a class."""

    clean_media_per_test = False
    study_options: ClassVar[dict[str, Any]] = {}
    open_study: Study

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.open_study = build_study(cls.researcher, **cls.study_options)

    def participant(self) -> Participant:
        return Participant(self.open_study, self.client)

    def start_at_first_trial(self) -> None:
        """A new participant past the training: sets ``p``, ``data``, ``trial_id`` and ``keys``."""
        self.p = self.participant()
        self.p.to_training()
        self.p.save({"trial": 0, "type": "submit"})
        self.data = self.p.trial_data()
        self.trial_id = self.data["trial"]["id"]
        self.keys = [c["key"] for c in self.data["conditions"]]


__all__ = ["RATE", "SECRET_STUDY_TITLE", "Participant", "ParticipantTestCase", "build_study"]
