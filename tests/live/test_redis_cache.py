"""config.redis_cache on a real Redis server: update() is a get and set that loses nothing.

The login throttle replaces a list of failure times on every failed login. Checked here:
update() gives what a get and set gives on Django's local-memory cache; a change made
by another client between its read and its write is not overwritten (update() reads
again and applies its change on top); parallel updates from many threads all count,
and so do parallel failed logins through the throttle.
"""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from django.core.cache.backends.locmem import LocMemCache

from config.redis_cache import RedisCache
from listening.platform import throttling

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_cache(redis_url: str) -> RedisCache:
    return RedisCache(redis_url, {})


def append(item: Any) -> Any:
    return lambda value: [*(value or []), item]


class GetAndSet:
    """Django's local-memory cache, with update() as the get and set it stands for."""

    def __init__(self) -> None:
        self.cache = LocMemCache("reference", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cache, name)

    def update(self, key: str, function: Any, timeout: Any = 300, version: Any = None) -> Any:
        value = function(self.cache.get(key, version=version))
        self.cache.set(key, value, timeout=timeout, version=version)
        return value


def test_update_gives_what_get_and_set_give(redis_cache: RedisCache) -> None:
    answers = []
    for cache in (redis_cache, GetAndSet()):
        first = cache.update("failures", append(1.5), timeout=60)
        second = cache.update("failures", append(2.5), timeout=60)
        cache.set("n", 3)
        answers.append((first, second, cache.get("failures"), cache.update("n", lambda n: n + 1)))
        answers[-1] += (cache.get("n"), cache.update("v", append("x"), version=2))
        answers[-1] += (cache.get("v"), cache.get("v", version=2))
    assert answers[0] == answers[1]
    assert answers[0][:5] == ([1.5], [1.5, 2.5], [1.5, 2.5], 4, 4)


def test_update_sets_the_timeout_and_zero_deletes(redis_cache: RedisCache) -> None:
    redis_cache.update("k", append(1), timeout=90)
    client = redis_cache._cache.get_client(write=True)
    ttl = client.ttl(redis_cache.make_and_validate_key("k"))
    assert 85 <= ttl <= 90
    redis_cache.update("k", append(2), timeout=None)
    assert client.ttl(redis_cache.make_and_validate_key("k")) == -1  # no expiry
    redis_cache.update("k", append(3), timeout=0)
    assert redis_cache.get("k") is None


def test_a_change_between_the_read_and_the_write_is_kept(redis_cache: RedisCache) -> None:
    other = RedisCache(redis_cache._servers[0], {})  # another client, as another server
    calls = []

    def add_mine(value: Any) -> Any:
        calls.append(value)
        if len(calls) == 1:  # another client changes the key while this one computes
            other.set("failures", [*(value or []), "theirs"], timeout=60)
        return [*(value or []), "mine"]

    assert redis_cache.update("failures", add_mine, timeout=60) == ["theirs", "mine"]
    assert calls == [None, ["theirs"]]
    assert redis_cache.get("failures") == ["theirs", "mine"]


def test_parallel_updates_all_count(redis_cache: RedisCache) -> None:
    threads, each = 8, 25

    def work(worker: int) -> None:
        cache = RedisCache(redis_cache._servers[0], {})  # a client (and pool) per thread
        for i in range(each):
            cache.update("items", append((worker, i)), timeout=60)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    stored = redis_cache.get("items")
    assert len(stored) == threads * each
    assert sorted(stored) == sorted((w, i) for w in range(threads) for i in range(each))


def test_parallel_failed_logins_through_redis_are_each_counted(
    redis_cache: RedisCache, settings: Any
) -> None:
    settings.LISTENING_LOGIN_FAILURES = 1000
    settings.LISTENING_LOGIN_FAILURES_PER_ADDRESS = 1000
    throttle = throttling.LoginThrottle()
    failures = 60

    def fail() -> None:
        throttle.failed("someone", "203.0.113.9")

    with mock.patch.object(throttling, "cache", redis_cache):
        pool = [threading.Thread(target=fail) for _ in range(failures)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(60)
        stored = redis_cache.get(throttle.key("someone", "203.0.113.9"))
        by_address = redis_cache.get(throttle.address_key("203.0.113.9"))
    assert len(stored) == failures
    assert len(by_address) == failures
