"""Every response carries the Content-Security-Policy, and pages respect it (no inline script)."""

from __future__ import annotations

import re

from django.core.cache import cache

from listening.platform.middleware import policy_for
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def inline_scripts(html: str) -> list[str]:
    """Script tags a strict policy would block: no src, and not a JSON data block."""
    return [
        attrs
        for attrs in SCRIPT.findall(html)
        if "src=" not in attrs and 'type="application/json"' not in attrs
    ]


class SecurityHeadersTestCase(ParticipantTestCase):
    study_options = {"screening": {"tests": []}}  # noqa: RUF012

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def assert_strict(self, response: object) -> None:
        assert response["Content-Security-Policy"] == STRICT  # type: ignore[index]
        assert response["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
        assert response["Referrer-Policy"] == "same-origin"  # type: ignore[index]

    def test_participant_pages_get_the_strict_policy_and_have_no_inline_script(self) -> None:
        participant = Participant(self.open_study, self.client)
        landing = self.client.get(self.open_study.participant_path())
        self.assert_strict(landing)
        participant.to_training()
        pages = [landing]
        for step in ("training",):
            response = self.client.get(participant.url(step))
            assert response.status_code == 200
            pages.append(response)
        for response in pages:
            self.assert_strict(response)
            html = response.content.decode()
            assert inline_scripts(html) == [], inline_scripts(html)
            assert " style=" not in html
            assert "<style" not in html

    def test_audio_responses_get_the_policy(self) -> None:
        participant = Participant(self.open_study, self.client)
        participant.to_training()
        data = participant.trial_data("training")
        response = self.client.get(f"/a/{data['conditions'][0]['key']}")
        assert response.status_code == 200
        self.assert_strict(response)

    def test_api_and_error_responses_get_the_policy(self) -> None:
        self.assert_strict(self.login(self.researcher).get("/api/studies/"))
        self.assert_strict(self.client.get("/p/no-such-token/"))
        self.assert_strict(self.client.get("/a/no-such-key"))

    def test_admin_docs_and_results_allow_inline_styles_but_never_inline_scripts(self) -> None:
        for path in ("/admin/login/", "/api/docs/", f"/studies/{self.open_study.pk}/results/"):
            assert "script-src 'self';" in policy_for(path)
            assert "style-src 'self' 'unsafe-inline';" in policy_for(path)
        self.login(self.researcher)
        for path in ("/admin/login/", "/admin/", "/api/docs/"):
            response = self.client.get(path)
            assert response.status_code in (200, 302), path
            assert "'unsafe-inline'" in response["Content-Security-Policy"]
            assert inline_scripts(response.content.decode()) == [], path

    def test_swagger_ui_loads_its_script_from_this_site(self) -> None:
        self.login(self.researcher)
        page = self.client.get("/api/docs/").content.decode()
        script = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page)
        assert script is not None, page
        response = self.client.get(script.group(1).replace("&amp;", "&"))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")


class PrivateCacheTestCase(ParticipantTestCase):
    """Nothing a participant or a researcher is sent may be kept by a cache or on disk."""

    study_options = {"screening": {"tests": []}}  # noqa: RUF012

    def assert_private(self, response: object, what: str) -> None:
        header = response["Cache-Control"]  # type: ignore[index]
        assert {"private", "no-store"} <= {d.strip() for d in header.split(",")}, (what, header)

    def test_participant_pages_answers_and_audio(self) -> None:
        cache.clear()
        participant = Participant(self.open_study, self.client)
        self.assert_private(self.client.get(self.open_study.participant_path()), "landing")
        started = participant.start()
        self.assert_private(started, "start")
        for step in ("consent",):
            self.assert_private(self.client.get(participant.url(step)), step)
        participant.consent()
        participant.questionnaire()
        participant.calibrate()
        data = participant.trial_data("training")
        self.assert_private(self.client.get(participant.url("training")), "training")
        saved = participant.save({"trial": data["trial"]["id"], "type": "submit"})
        self.assert_private(saved, "answers")
        audio = self.client.get(f"/a/{data['conditions'][0]['key']}")
        assert audio["Cache-Control"] == "private, no-store"  # its own, deliberate policy

    def test_researcher_pages_and_exports(self) -> None:
        self.login(self.researcher)
        base = f"/studies/{self.open_study.pk}/results/"
        api = f"/api/studies/{self.open_study.pk}/"
        for path in (
            base, base + "ratings.csv", base + "sessions.jsonl", base + "bundle.zip",
            api, api + "exports/ratings.csv", api + "exports/bundle.zip", "/admin/",
        ):  # fmt: skip
            response = self.client.get(path)
            assert response.status_code == 200, path
            self.assert_private(response, path)
