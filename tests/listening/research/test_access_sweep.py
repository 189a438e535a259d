"""Every URL of the project, walked by every kind of visitor.

The URLs come from the resolver itself, so a new view is swept as soon as it is routed.
Each parameter is filled with an object of the victim (the researcher's study, track,
stimulus, participant session and audio keys). The visitors: anonymous, an account with
no researcher rights (not staff), a staff account with no researcher rights, another
researcher, another participant, and the study's collaborator and owner. Nobody but the
owner and the collaborator may get a page that shows any of the victim's data, nobody
without researcher rights gets a researcher page, the owner and the collaborator reach
every page of their study, no request causes a server error, and every answer is
marked ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

from listening.models import Condition, Stimulus
from listening.participant.audio import PARTICIPANT_COOKIE
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

# Open to anyone by design: the home page, a study's public link (it shows the study's
# title), the login pages and the API's schema and docs (they describe, never show, data).
PUBLIC = (
    "",
    "s/<str:public_token>/",
    "admin/login/",
    "admin/logout/",
    "workspace/login/",
    "workspace/logout/",
    "api/schema/",
    "api/docs/",
)
#: Routes that end the persona's session: swept last.
LOGOUTS = ("admin/logout/", "workspace/logout/")
#: The admin's pages for any staff account: the (empty) index and its own password.
STAFF_DOOR = ("admin/", "admin/password_change/", "admin/password_change/done/", "admin/jsi18n/")
#: Pages of one study (or of all of one's studies) that its owner and collaborators use.
STUDY_PAGES = ("studies/", "api/studies/", "api/^", "admin/listening/")
#: What the owner or a collaborator may not do, by design: add sessions by hand (they come
#: from participants), delete the swept study while it is open (participants may be
#: mid-session: it is closed first; test_admin checks a closed one is deleted), or, as a
#: collaborator, delete the owner's study.
REFUSED = {
    "owner": {"admin/listening/session/add/", "admin/listening/study/<path:object_id>/delete/"},
    "collaborator": {
        "admin/listening/session/add/",
        "admin/listening/study/<path:object_id>/delete/",
    },
}
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
        # A version with both files (an anchor has no original), so the admin's audio
        # routes have something to serve to those who may hear it.
        stimulus = (
            Stimulus.objects.filter(track__study=self.open_study)
            .exclude(original="")
            .exclude(prepared="")
            .first()
        )
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
        # The pattern's model, singular ("studies" -> stud, "stimuli" / "stimulus" -> stimul...).
        name = "stimulus" if name.startswith("stimul") else {"stud": "study"}.get(name, name)
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
            "track_pk": str(track.pk),  # the workspace's audio retry and preview routes
        }

    def secrets(self) -> list[bytes]:
        session = self.victim.refresh()
        return [
            b"SECRET-STUDY-TITLE",
            b"SECRET-PROLIFIC-PID",
            session.token.encode(),
            *(t.title.encode() for t in self.open_study.tracks.all()),
        ]

    def logged_in(self, user: User) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client

    def personas(self) -> dict[str, Client]:
        """Everyone who must not see the victim's data."""
        member = User.objects.create_user("member", password="pw")
        staff = User.objects.create_user("staff-only", password="pw", is_staff=True)
        return {
            "anonymous": Client(raise_request_exception=False),
            "member": self.logged_in(member),
            "staff": self.logged_in(staff),
            "outsider": self.logged_in(self.outsider),
            "participant": self.attacker.client,
        }

    def test_nobody_else_sees_the_victims_data_and_nothing_fails(self) -> None:
        secrets = self.secrets()
        problems = []
        swept = 0
        assert PARTICIPANT_COOKIE in self.attacker.client.cookies
        personas = self.personas()
        # Logging out last: it would end the logged-in personas' sessions for the rest.
        for pattern in sorted(url_patterns(), key=lambda p: p in LOGOUTS):
            path = fill(pattern, self.values(pattern))
            for persona, client in personas.items():
                for method in ("get", "post"):
                    response = getattr(client, method)(path)
                    swept += 1
                    body = (
                        b"".join(response.streaming_content)
                        if response.streaming
                        else response.content
                    )
                    where = f"{persona} {method.upper()} {path} -> {response.status_code}"
                    problems += self.common_problems(where, response)
                    leaked = [s for s in secrets if s in body]
                    if pattern == "s/<str:public_token>/":
                        leaked = [s for s in leaked if s != b"SECRET-STUDY-TITLE"]
                    if leaked:
                        problems.append(f"{where}: shows {leaked}")
                    if pattern.startswith(("p/", "a/")) and response.status_code not in (404, 405):
                        problems.append(f"{where}: another session's page or audio")
                    if persona == "staff" and pattern in STAFF_DOOR:
                        # Staff status opens the admin's door (its index, which then shows
                        # nothing, and the account's own password), no researcher page.
                        if b"/admin/listening/" in body:
                            problems.append(f"{where}: lists the researcher's admin")
                    elif (
                        persona != "outsider"
                        and pattern not in PUBLIC
                        and not pattern.startswith(("p/", "a/"))
                        and response.status_code < 300
                    ):
                        problems.append(f"{where}: a researcher page without researcher rights")
        assert swept > 400
        assert not problems, "\n".join(problems)

    def test_the_owner_and_the_collaborator_reach_every_page_of_their_study(self) -> None:
        self.open_study.collaborators.add(self.collaborator)
        problems = []
        reached = 0
        for persona, user in (("owner", self.researcher), ("collaborator", self.collaborator)):
            client = self.logged_in(user)
            for pattern in url_patterns():
                if not pattern.startswith(STUDY_PAGES):
                    continue
                path = fill(pattern, self.values(pattern))
                response = client.get(path)  # reading only: a POST could close the study
                if response.streaming:
                    b"".join(response.streaming_content)
                where = f"{persona} GET {path} -> {response.status_code}"
                problems += self.common_problems(where, response)
                refused = pattern in REFUSED[persona]
                if refused and response.status_code != 403:
                    problems.append(f"{where}: should be refused")
                elif not refused and response.status_code >= 400 and response.status_code != 405:
                    problems.append(f"{where}: their own study's page refused")
                reached += response.status_code < 400
        assert reached > 60
        assert not problems, "\n".join(problems)

    def common_problems(self, where: str, response: Any) -> list[str]:
        """What no answer to anyone may do: fail, or be kept by a cache."""
        problems = []
        if response.status_code >= 500:
            problems.append(f"{where}: server error")
        directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
        if not {"private", "no-store"} <= directives:
            problems.append(f"{where}: Cache-Control {response.get('Cache-Control')!r}")
        return problems
