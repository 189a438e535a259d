"""CSRF on every state-changing browser request, found by walking every URL the project has.

Each route is filled in with real objects (the study, its track and stimulus, a
participant session, a condition key) and sent POST, PUT, PATCH and DELETE by a browser
that is logged in as the study's owner *and* carries the participant's cookie, but
sends no CSRF token. Every request must be refused (403) or not allowed at all (405),
and nothing in the database may change. A route added later is swept automatically;
one the sweep cannot fill in fails the test until it is taught how.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from listening.models import Condition, Rating, Session, Stimulus, Study, Track
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

GROUP = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
METHODS = ("post", "put", "patch", "delete")


def routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text


class CsrfSweepTestCase(ParticipantTestCase):
    def snapshot(self) -> tuple[Any, ...]:
        return (
            list(Study.objects.values_list("pk", "status", "title")),
            Track.objects.count(),
            Stimulus.objects.count(),
            list(Session.objects.values_list("pk", "state")),
            list(Rating.objects.values_list("pk", "score")),
        )

    def test_every_state_changing_request_needs_the_csrf_token(self) -> None:
        p = Participant(self.open_study)
        p.to_training()
        p.save({"trial": 0, "type": "submit"})
        condition = Condition.objects.filter(trial__session=p.session, trial__is_training=False)[0]
        track = self.open_study.tracks.first()
        assert track is not None
        stimulus = track.stimuli.first()
        assert stimulus is not None
        kinds = {"study": self.open_study.pk, "track": track.pk, "stimulus": stimulus.pk}
        values = {
            "token": p.token,
            "public_token": self.open_study.public_token,
            "key": condition.key,
            "table": "ratings",
            "app_label": "listening",
            "content_type_id": ContentType.objects.get_for_model(Study).pk,
            "id": self.researcher.pk,  # the admin's password form of a user
            "track_pk": track.pk,  # the workspace's audio retry and preview routes
        }

        browser = Client(enforce_csrf_checks=True)
        browser.force_login(self.researcher)
        browser.cookies.update(p.client.cookies)
        before = self.snapshot()
        swept, problems = 0, []
        for route in routes(get_resolver().url_patterns):
            if "format" in route or "(?P<url>" in route:
                continue  # format suffixes and the admin's catch-all repeat other routes

            def fill(match: re.Match[str], route: str = route) -> str:
                name = match.group(1) or match.group(2)
                if name in ("pk", "object_id"):
                    kind = next((k for k in kinds if k in route), "study")
                    return str(kinds[kind])
                if name not in values:
                    problems.append(f"{route}: no value for <{name}>")
                    return "x"
                return str(values[name])

            path = "/" + GROUP.sub(fill, route).replace("^", "").replace("$", "").replace("\\", "")
            for method in METHODS:
                response = getattr(browser, method)(path, data={}, content_type="application/json")
                swept += 1
                if response.status_code not in (403, 405):
                    problems.append(f"{method.upper()} {path} -> {response.status_code}")
        assert swept > 150
        assert not problems, "\n".join(problems)
        assert self.snapshot() == before

        # The same browser with the token gets through: the refusals above were CSRF.
        page = browser.get(p.url("trial"))
        token = page.context["csrf_token"]
        ok = browser.post(
            p.url("answers"),
            data={
                "trial": 1,
                "type": "rating",
                "condition": condition.key,
                "attribute": "overall-quality",
                "score": 5,
            },
            content_type="application/json",
            headers={"X-CSRFToken": str(token)},
        )
        assert ok.status_code == 200, ok.content
