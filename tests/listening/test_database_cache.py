"""The database cache's incr()/decr(): the same answers as Django's own caches, atomically.

Single-process behaviour is checked against Django's local-memory cache (the contract of
``BaseCache.incr``); the atomicity, parallel requests through gunicorn, is checked in
tests/live/test_services.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from config.database_cache import DatabaseCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def both() -> list[Any]:
    database = caches["default"]
    assert isinstance(database, DatabaseCache)
    database.clear()
    reference = LocMemCache("reference", {})
    return [database, reference]


@pytest.mark.parametrize(
    ("start", "steps"),
    [(0, [1, 1, 1]), (5, [3, -10, 2]), (2.5, [1]), (10**12, [10**12])],
)
def test_incr_and_decr_give_what_django_s_caches_give(
    both: list[Any], start: Any, steps: list[int]
) -> None:
    answers = []
    for cache in both:
        cache.set("n", start, timeout=60)
        got = [cache.incr("n", step) for step in steps] + [cache.decr("n", 2)]
        answers.append((got, cache.get("n")))
    assert answers[0] == answers[1]


def test_a_missing_or_expired_key_raises_value_error_like_django_s(both: list[Any]) -> None:
    for cache in both:
        with pytest.raises(ValueError, match="not found"):
            cache.incr("absent")
    database = both[0]
    database.set("old", 1, timeout=60)
    database._base_set("touch", database.make_and_validate_key("old"), None, timeout=-10)
    with pytest.raises(ValueError, match="not found"):
        database.incr("old")


def test_versions_and_the_value_seen_by_get(both: list[Any]) -> None:
    database = both[0]
    database.set("v", 1, version=2)
    database.set("v", 100, version=3)
    assert database.incr("v", 5, version=2) == 6
    assert database.get("v", version=2) == 6
    assert database.get("v", version=3) == 100
