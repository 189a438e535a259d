"""Django's database cache with atomic read-modify-write: ``incr()``/``decr()`` and ``update()``.

Django's ``DatabaseCache.incr`` reads the value and writes it back in two statements, so
two requests counting at once can both read 3 and both write 4. The limit on new
sessions per address counts with ``incr``, and the login throttle appends to a list of
failure times: a burst of parallel requests from one address could pass either limit
many times over. Here the read and the write happen in one transaction with the row
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's immediate transactions already
admit one writer at a time), so every increment and every failure counts. Redis
(``CACHE_URL=redis://...``) increments atomically by itself; config.redis_cache gives it
the same ``update()``.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import IntegrityError, connections, models, router, transaction
from django.utils.timezone import now

#: What a locked read found: whether a row holds the key (live or expired), and the live value.
Found = tuple[bool, Any]
MISSING = object()


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """Add ``delta`` in place (the expiry stays); ValueError for a missing key, as Django."""
        cache_key = self.make_and_validate_key(key, version=version)
        with self._locked(cache_key) as (cursor, table, (_, current)):
            if current is MISSING:
                raise ValueError(f"Key '{key}' not found")
            value = current + delta
            cursor.execute(
                f"UPDATE {table.name} SET {table.value} = %s WHERE {table.key} = %s",
                [self._encode(value), cache_key],
            )
        return value

    def update(
        self,
        key: Any,
        function: Callable[[Any], Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        """Store ``function(current value, or None)`` with a new timeout, atomically; return it."""
        cache_key = self.make_and_validate_key(key, version=version)
        expires = self._expiry(timeout)
        for attempt in range(2):
            try:
                with self._locked(cache_key) as (cursor, table, (exists, current)):
                    value = function(None if current is MISSING else current)
                    if exists:  # live or expired: the row is there to update
                        cursor.execute(
                            f"UPDATE {table.name} SET {table.value} = %s, {table.expires} = %s "
                            f"WHERE {table.key} = %s",
                            [self._encode(value), expires, cache_key],
                        )
                    else:
                        cursor.execute(
                            f"INSERT INTO {table.name} "
                            f"({table.key}, {table.value}, {table.expires}) VALUES (%s, %s, %s)",
                            [cache_key, self._encode(value), expires],
                        )
                return value
            except IntegrityError:  # another request inserted the key first: lock it, again
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self, cache_key: str) -> Iterator[tuple[Any, _Table, Found]]:
        """A transaction in which the key's row (if any) is locked; yields the cursor, the
        quoted table and what was found (MISSING as the value when missing or expired)."""
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = _Table(connection, self._table)  # type: ignore[attr-defined]  # Django's
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {table.value}, {table.expires} FROM {table.name} "
                f"WHERE {table.key} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            current: Any = MISSING
            if row is not None and _as_datetime(connection, row[1]) >= now():
                stored = connection.ops.process_clob(row[0])
                current = pickle.loads(base64.b64decode(stored.encode()))
            yield cursor, table, (row is not None, current)

    def _encode(self, value: Any) -> str:
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")

    def _expiry(self, timeout: Any) -> Any:
        """The stored expiry for a timeout, as Django's own ``set()`` computes it."""
        seconds = self.get_backend_timeout(timeout)
        if seconds is None:
            moment = datetime.max
        else:
            moment = datetime.fromtimestamp(seconds, tz=UTC if settings.USE_TZ else None)
        db = router.db_for_write(self.cache_model_class)
        return connections[db].ops.adapt_datetimefield_value(moment.replace(microsecond=0))


class _Table:
    def __init__(self, connection: Any, name: str) -> None:
        quote = connection.ops.quote_name
        self.name, self.key = quote(name), quote("cache_key")
        self.value, self.expires = quote("value"), quote("expires")


def _as_datetime(connection: Any, value: Any) -> Any:
    """A stored expiry as a datetime, converted as Django's own cache does it."""
    expression = models.Expression(output_field=models.DateTimeField())
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    ):
        value = converter(value, expression, connection)
    return value
