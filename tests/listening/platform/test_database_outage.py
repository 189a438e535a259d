"""An unreachable or locked database answers 503 with Retry-After, never a server error."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from listening.platform.database_outage import DatabaseOutageMiddleware


def middleware() -> DatabaseOutageMiddleware:
    return DatabaseOutageMiddleware(lambda request: HttpResponse())


@pytest.mark.parametrize("error", [OperationalError("database is locked"), InterfaceError("gone")])
def test_an_answer_endpoint_gets_json_it_can_retry(error: Exception) -> None:
    request = RequestFactory().post("/p/t/answers", "{}", content_type="application/json")
    response = middleware().process_exception(request, error)
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "3"
    assert json.loads(response.content)["retry"] is True


def test_a_page_gets_a_page_asking_to_wait() -> None:
    request = RequestFactory().get("/p/t/consent", HTTP_ACCEPT="text/html")
    response = middleware().process_exception(request, OperationalError("server closed"))
    assert response is not None
    assert response.status_code == 503
    assert b"try again in a few seconds" in response.content


def test_real_bugs_are_not_hidden() -> None:
    request = RequestFactory().post("/p/t/answers", "{}", content_type="application/json")
    assert middleware().process_exception(request, IntegrityError("duplicate")) is None
    assert middleware().process_exception(request, ValueError("bug")) is None
