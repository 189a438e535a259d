"""The OpenAPI schema builds without warnings and the docs are served locally."""

from __future__ import annotations

import io

from django.core.management import call_command

from tests.listening.base import BaseTestCase


class SchemaTestCase(BaseTestCase):
    def test_it_serves_the_schema(self) -> None:
        self.login(self.researcher)
        response = self.client.get("/api/schema/")
        assert response.status_code == 200
        assert b"/api/stimuli/" in response.content
        assert b"multipart/form-data" in response.content

    def test_it_builds_without_warnings(self) -> None:
        out, err = io.StringIO(), io.StringIO()
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
        assert err.getvalue() == ""

    def test_it_serves_swagger_without_a_cdn(self) -> None:
        self.login(self.researcher)
        response = self.client.get("/api/docs/")
        assert response.status_code == 200
        assert b"cdn.jsdelivr" not in response.content
        assert b"drf_spectacular_sidecar" in response.content
