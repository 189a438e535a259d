"""Fuzz every route's path parameters: no URL, however malformed, gives a server error.

The routes come from the resolver (tests.listening.research.test_access_sweep.url_patterns), so
a new view is fuzzed as soon as it is routed. Each parameter gets values of its kind
and hostile ones: ids (huge, negative, zero, real ones), UUIDs, tokens, slugs, and any
text, percent-encoded as a browser would send it. Every request goes as an anonymous
visitor and as a researcher (a superuser, who reaches every admin page), GET and POST.
Each route runs a bounded, derandomised Hypothesis search, so the run is reproducible.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client, TestCase, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listening.models import Session, Stimulus, Study, Track
from tests.listening.base import DUMMY
from tests.listening.research.test_access_sweep import GROUP, url_patterns

FUZZ = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
INTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, 1, 2, 7, 2**63])
).map(str)
# Any text, and a NUL now and then (PostgreSQL refuses it in a query: a 500 once).
ANY = st.one_of(st.text(min_size=0, max_size=40), st.sampled_from(["\x00", "1\x00", "a\x00b"]))


def route_parameters(pattern: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in GROUP.finditer(pattern)]


@override_settings(TASKS=DUMMY)
class UrlFuzzTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.root = User.objects.create_superuser("root", password="pw")
        cls.study = Study.objects.create(owner=cls.root, title="Fuzzed", sample_rate=48000)
        cls.track = Track.objects.create(study=cls.study, title="Song")
        cls.stimulus = Stimulus.objects.create(track=cls.track, role="mix", system="none")
        cls.session = Session.objects.create(study=cls.study)

    def strategy(self, name: str) -> st.SearchStrategy[str]:
        real = [self.study.pk, self.track.pk, self.stimulus.pk, self.session.pk, self.root.pk]
        ids = st.one_of(INTS, st.sampled_from([str(pk) for pk in real]), ANY)
        kinds: dict[str, st.SearchStrategy[str]] = {
            # Real content types: the object id is what the admin's shortcut must survive.
            "content_type_id": st.sampled_from([str(ct.pk) for ct in ContentType.objects.all()]),
            "token": st.one_of(st.sampled_from([self.session.token]), ANY),
            "key": ANY,
            "public_token": st.one_of(st.sampled_from([self.study.public_token]), ANY),
            "table": st.one_of(st.sampled_from(["ratings", "sessions", "webmushra"]), ANY),
            "format": st.one_of(st.sampled_from(["json", "api", "csv", "jsonl", "zip"]), ANY),
        }
        uuids = st.uuids().map(str)
        return kinds.get(name, st.one_of(ids, uuids, st.just(uuid.uuid4().hex)))

    def fill(self, pattern: str, values: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            return quote(values[match.group(1) or match.group(2)], safe="")

        path = GROUP.sub(value, pattern)
        path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
        return "/" + path

    def fuzz_route(self, pattern: str, clients: dict[str, Client], problems: list[str]) -> int:
        names = route_parameters(pattern)
        requests = 0

        @settings(FUZZ, max_examples=FUZZ.max_examples * len(names))
        @given(st.fixed_dictionaries({n: self.strategy(n) for n in names}))
        def run(values: dict[str, str]) -> None:
            nonlocal requests
            path = self.fill(pattern, values)
            for persona, client in clients.items():
                for method in ("get", "post"):
                    response = getattr(client, method)(path)
                    requests += 1
                    if response.status_code >= 500:
                        problems.append(
                            f"{persona} {method.upper()} {path}: {response.status_code}"
                        )

        run()
        return requests

    def test_no_malformed_url_gives_a_server_error(self) -> None:
        researcher = Client(raise_request_exception=False)
        researcher.force_login(self.root)
        clients = {"anonymous": Client(raise_request_exception=False), "researcher": researcher}
        problems: list[str] = []
        requests = 0
        routes = [p for p in url_patterns() if route_parameters(p) and "logout" not in p]
        for pattern in routes:
            cache.clear()  # the API's rate limit would answer 429 before the view
            requests += self.fuzz_route(pattern, clients, problems)
        assert len(routes) > 40
        assert requests > 40 * 12 * 4 / 2
        assert not problems, "\n".join(sorted(set(problems))[:50])

    def test_a_nul_in_a_path_or_a_query_is_a_bad_request(self) -> None:
        # No URL of the project has a use for NUL; PostgreSQL cannot even compare one.
        researcher = Client(raise_request_exception=False)
        researcher.force_login(self.root)
        for client in (Client(raise_request_exception=False), researcher):
            for path in (
                "/s/%00/", "/p/%00/", "/a/%00", "/admin/listening/study/?status=%00",
                "/admin/listening/study/?q=a%00", "/api/studies/?page=%00",
                f"/studies/{self.study.pk}/results/?x=%00", "/?%00=1",
            ):  # fmt: skip
                response = client.get(path)
                assert response.status_code == 400, (path, response.status_code)
                assert response["Cache-Control"] == "private, no-store"

    def test_a_content_type_shortcut_to_an_object_with_a_uuid_key(self) -> None:
        # The attack's find: /admin/r/<content type>/<not a UUID>/ for the task results' model.
        researcher = Client(raise_request_exception=False)
        researcher.force_login(self.root)
        for content_type in ContentType.objects.all():
            for object_id in ("2", "abc", "0" * 40):
                response = researcher.get(f"/admin/r/{content_type.pk}/{object_id}/")
                assert response.status_code == 404, (content_type, object_id)
