"""The database cache's incr()/decr() and update(): Django's answers, atomically.

Single-process behaviour is checked against Django's local-memory cache (the contract of
``BaseCache.incr``, and get/set for update); the atomicity, parallel requests through
gunicorn, is checked in tests/live/test_services.py, and on PostgreSQL here: another
connection finds the row locked while update() computes the new value.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import OperationalError, connection, connections

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


def test_update_applies_the_function_to_the_current_value(both: list[Any]) -> None:
    database, reference = both
    seen: list[Any] = []

    def append(value: Any) -> list[int]:
        seen.append(value)
        return [*(value or []), len(seen)]

    assert database.update("list", append, timeout=60) == [1]
    assert database.update("list", append, timeout=60) == [1, 2]
    assert seen == [None, [1]]
    reference.set("list", [1, 2], timeout=60)
    assert database.get("list") == reference.get("list")


def test_update_sets_the_timeout_and_treats_an_expired_value_as_missing(both: list[Any]) -> None:
    database = both[0]
    database.set("t", "old", timeout=60)
    database._base_set("touch", database.make_and_validate_key("t"), None, timeout=-10)
    assert database.get("t") is None
    assert database.update("t", lambda value: f"new after {value}", timeout=60) == "new after None"
    assert database.get("t") == "new after None"
    database.update("t", lambda value: value, timeout=-1)  # expires at once
    assert database.get("t") is None
    assert database.update("never", lambda value: 1, timeout=None) == 1
    assert database.get("never") == 1


@pytest.mark.django_db(transaction=True)
def test_update_holds_the_row_lock_while_it_computes(both: list[Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite admits one writer at a time (tests/listening/platform/test_sqlite_backend.py)"
        )
    database = both[0]
    database.set("held", 1, timeout=60)
    row = database.make_and_validate_key("held")
    other = connections.create_connection("default")
    seen: list[str] = []

    def probe(value: Any) -> Any:
        with other.cursor() as cursor:
            try:
                cursor.execute(
                    "SELECT 1 FROM listening_cache WHERE cache_key = %s FOR UPDATE NOWAIT", [row]
                )
                seen.append("free")
            except OperationalError:
                seen.append("locked")
        return value + 1

    try:
        probe(0)  # outside update(): the row is free
        assert database.update("held", probe, timeout=60) == 2
        assert database.incr("held") == 3
    finally:
        other.close()
    assert seen == ["free", "locked"]
