"""Django's Redis cache with the atomic ``update()`` of config.database_cache.

Redis increments atomically by itself (``INCR``), which covers the limit on new
sessions per address. The login throttle instead keeps a list of failure times and
replaces it on every failed login; with a plain get and set, parallel failures from one
address (several app servers, or threads) could each read the same list and overwrite
each other's entries, and so pass the limit. ``update()`` makes that read-modify-write
atomic the way Redis documents for it: WATCH the key, read it, write it in MULTI/EXEC,
and start again when another client changed the key in between (EXEC then fails).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache


class RedisCache(DjangoRedisCache):
    def update(
        self,
        key: Any,
        function: Callable[[Any], Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        """Store ``function(current value, or None)`` with a new timeout, atomically; return it.

        ``function`` may run more than once (once more per concurrent change of the key),
        so it must only compute the new value.
        """
        from redis.exceptions import WatchError

        cache_key = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(cache_key, write=True)
        serializer = self._cache._serializer  # type: ignore[attr-defined]
        seconds = self.get_backend_timeout(timeout)  # None (no expiry) or whole seconds
        with client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(cache_key)  # type: ignore[no-untyped-call]
                    stored = pipe.get(cache_key)
                    value = function(None if stored is None else serializer.loads(stored))
                    pipe.multi()
                    if seconds == 0:
                        pipe.delete(cache_key)
                    else:
                        expiry = None if seconds is None else int(seconds)
                        pipe.set(cache_key, serializer.dumps(value), ex=expiry)
                    pipe.execute()
                    return value
                except WatchError:
                    continue
