"""Fuzz every operation of the OpenAPI schema (schemathesis): no request gives a server error.

The schema is read from the app itself through WSGI (no network). The researcher
authenticates with HTTP Basic, so every generated request reaches the view code; a
study with a track exists so that small ids sometimes resolve. Each operation runs a
bounded, derandomised Hypothesis search, so the run is reproducible and short.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from config.wsgi import application
from listening.models import Study, Track
from listening.research.researchers import grant_researcher
from tests.listening.base import DUMMY

# A fast hasher: Basic authentication checks the password on every generated request.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BASIC = "Basic " + base64.b64encode(b"fuzzer:pw").decode()
FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.fixture
def researcher(db: None, settings: Any, tmp_path: Path) -> User:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.TASKS = DUMMY
    settings.MEDIA_ROOT = tmp_path
    user = User.objects.create_user("fuzzer", password="pw", is_staff=True)
    grant_researcher(user)
    study = Study.objects.create(owner=user, title="Fuzzed", sample_rate=48000)
    Track.objects.create(study=study, title="Song", genre="pop")
    return user


def fuzz(operation: Any, mode: GenerationMode, statuses: Counter[int]) -> None:
    @FUZZ
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        response = case.call(headers={"Authorization": BASIC})
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    run()


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """Keep the test's database connection across WSGI requests, as Django's test client does.

    The real handler closes connections at each request's end; on PostgreSQL that would
    close the connection holding the test's transaction.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_it_never_answers_with_a_server_error(
    researcher: User, keep_connection: None, subtests: Any
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    statuses: Counter[int] = Counter()
    for operation in operations:
        for mode in GenerationMode:
            with subtests.test(operation=operation.label, mode=mode.value):
                fuzz(operation, mode, statuses)
    print(sorted(statuses.items()))
    # The requests reached the views: some succeeded, some were refused as invalid.
    assert statuses[200] > 0
    assert statuses[400] > 0
