"""Every URL of the project, walked as an outsider, anonymously and as another participant.

The URLs come from the resolver itself, so a new view is swept as soon as it is routed.
Each parameter is filled with an object of the victim (the researcher's study, track,
stimulus, participant session and audio keys). Nobody but the victim's researcher may
get a page that shows any of the victim's data, and no request may cause a server error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

from django.core.cache import cache
from django.test import Client
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

from listening.audio_serving import PARTICIPANT_COOKIE
from listening.models import Condition, Stimulus
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

# Open to anyone by design: the home page, a study's public link (it shows the study's
# title), the login pages and the API's schema and docs (they describe, never show, data).
PUBLIC = ("", "s/<str:public_token>/", "admin/login/", "admin/logout/", "api/schema/", "api/docs/")
GROUP = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def url_patterns(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    """Yield every route of the project as one pattern string (prefixes joined)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def fill(pattern: str, values: dict[str, str]) -> str:
    """Turn a route or regex pattern into a concrete path with the given parameter values."""
    path = GROUP.sub(lambda m: values[m.group(1) or m.group(2)], pattern)
    path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    return "/" + path


class AccessSweepTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "screening": {"tests": []},
        "title": "SECRET-STUDY-TITLE",
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.victim = Participant(self.open_study, Client())
        self.victim.to_training("?PROLIFIC_PID=SECRET-PROLIFIC-PID")
        self.victim.save({"trial": 0, "type": "submit"})
        self.victim.trial_data()
        self.attacker = Participant(self.open_study, Client())
        self.attacker.start()

    def values(self, pattern: str) -> dict[str, str]:
        session = self.victim.refresh()
        track = self.open_study.tracks.first()
        stimulus = Stimulus.objects.filter(track__study=self.open_study).first()
        assert track is not None
        assert stimulus is not None
        objects = {
            "study": self.open_study.pk,
            "track": track.pk,
            "stimulus": stimulus.pk,
            "session": session.pk,
            "user": self.researcher.pk,
        }
        model = re.search(r"(?:admin/\w+/|api/\^)(\w+?)(?:ies)?s?/", pattern)
        name = model.group(1) if model else "study"
        name = {"stud": "study", "stimul": "stimulus"}.get(name, name)
        pk = str(objects.get(name, self.open_study.pk))
        return {
            "pk": pk,
            "object_id": pk,
            "id": pk,
            "content_type_id": "1",
            "table": "ratings",
            "format": "json",
            "token": uuid.uuid4().hex,  # a guessed token: the real one is the credential
            "key": Condition.objects.filter(trial__session=session).first().key,  # type: ignore[union-attr]
            "public_token": self.open_study.public_token,
            "app_label": "listening",
            "url": "listening/nothing/",
        }

    def secrets(self) -> list[bytes]:
        session = self.victim.refresh()
        return [
            b"SECRET-STUDY-TITLE",
            b"SECRET-PROLIFIC-PID",
            session.token.encode(),
            *(t.title.encode() for t in self.open_study.tracks.all()),
        ]

    def personas(self) -> dict[str, Client]:
        outsider = Client(raise_request_exception=False)
        outsider.force_login(self.outsider)
        return {
            "anonymous": Client(raise_request_exception=False),
            "outsider": outsider,
            "participant": self.attacker.client,
        }

    def test_nobody_else_sees_the_victims_data_and_nothing_fails(self) -> None:
        secrets = self.secrets()
        problems = []
        swept = 0
        assert PARTICIPANT_COOKIE in self.attacker.client.cookies
        for pattern in url_patterns():
            path = fill(pattern, self.values(pattern))
            for persona, client in self.personas().items():
                for method in ("get", "post"):
                    response = getattr(client, method)(path)
                    swept += 1
                    body = (
                        b"".join(response.streaming_content)
                        if response.streaming
                        else response.content
                    )
                    where = f"{persona} {method.upper()} {path} -> {response.status_code}"
                    if response.status_code >= 500:
                        problems.append(f"{where}: server error")
                    leaked = [s for s in secrets if s in body]
                    if pattern == "s/<str:public_token>/":
                        leaked = [s for s in leaked if s != b"SECRET-STUDY-TITLE"]
                    if leaked:
                        problems.append(f"{where}: shows {leaked}")
                    if pattern.startswith(("p/", "a/")) and response.status_code not in (404, 405):
                        problems.append(f"{where}: another session's page or audio")
                    if (
                        persona != "outsider"
                        and pattern not in PUBLIC
                        and not pattern.startswith(("p/", "a/"))
                        and response.status_code < 300
                    ):
                        problems.append(f"{where}: a researcher page without login")
        assert swept > 300
        assert not problems, "\n".join(problems)
