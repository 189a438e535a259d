"""Django's database cache with atomic read-modify-write: ``incr()``/``decr()`` and ``update()``.

Django's ``DatabaseCache.incr`` reads the value and writes it back in two statements, so
two requests counting at once can both read 3 and both write 4. The limit on new
sessions per address counts with ``incr``, and the login throttle appends to a list of
failure times: a burst of parallel requests from one address could pass either limit
many times over. Here the read and the write happen in one transaction with the row
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's immediate transactions already
admit one writer at a time), so every increment and every failure counts. Redis
(``CACHE_URL=redis://...``) increments atomically by itself; it has no ``update()``, so
there the login throttle's list stays a plain get and set.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import IntegrityError, connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """Add ``delta`` in place (the expiry stays); ValueError for a missing key, as Django."""
        cache_key = self.make_and_validate_key(key, version=version)
        with self._locked(cache_key) as (cursor, row, table):
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = row[0] + delta
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
                with self._locked(cache_key) as (cursor, row, table):
                    value = function(None if row is None else row[0])
                    if row is None and not row_exists(cursor, table, cache_key):
                        cursor.execute(
                            f"INSERT INTO {table.name} "
                            f"({table.key}, {table.value}, {table.expires}) VALUES (%s, %s, %s)",
                            [cache_key, self._encode(value), expires],
                        )
                    else:
                        cursor.execute(
                            f"UPDATE {table.name} SET {table.value} = %s, {table.expires} = %s "
                            f"WHERE {table.key} = %s",
                            [self._encode(value), expires, cache_key],
                        )
                return value
            except IntegrityError:  # another request inserted the key first: lock it, again
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # -- internals ---------------------------------------------------------------------------

    def _locked(self, cache_key: str) -> _LockedRow:
        return _LockedRow(self, cache_key)

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


def row_exists(cursor: Any, table: _Table, cache_key: str) -> bool:
    """Whether an (expired) row holds the key, so a write must update it, not insert."""
    cursor.execute(f"SELECT 1 FROM {table.name} WHERE {table.key} = %s", [cache_key])
    return cursor.fetchone() is not None


class _LockedRow:
    """A transaction in which the key's row (if any) is locked; yields (cursor, the live
    row as (value, expires) or None when missing or expired, the quoted table)."""

    def __init__(self, cache: DatabaseCache, cache_key: str) -> None:
        self.cache, self.cache_key = cache, cache_key
        self.db = router.db_for_write(cache.cache_model_class)
        self.atomic = transaction.atomic(using=self.db)

    def __enter__(self) -> tuple[Any, tuple[Any, Any] | None, _Table]:
        connection = connections[self.db]
        table = _Table(connection, self.cache._table)  # type: ignore[attr-defined]  # Django's
        self.atomic.__enter__()
        try:
            self.cursor = connection.cursor()
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            self.cursor.execute(
                f"SELECT {table.value}, {table.expires} FROM {table.name} "
                f"WHERE {table.key} = %s{lock}",
                [self.cache_key],
            )
            found = self.cursor.fetchone()
        except BaseException as error:
            self.atomic.__exit__(type(error), error, error.__traceback__)
            raise
        row = None
        if found is not None and _as_datetime(connection, found[1]) >= now():
            stored = connection.ops.process_clob(found[0])
            row = (pickle.loads(base64.b64decode(stored.encode())), found[1])
        return self.cursor, row, table

    def __exit__(self, *exc: Any) -> None:
        try:
            self.cursor.close()
        finally:
            self.atomic.__exit__(*exc)


def _as_datetime(connection: Any, value: Any) -> Any:
    """A stored expiry as a datetime, converted as Django's own cache does it."""
    expression = models.Expression(output_field=models.DateTimeField())
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    ):
        value = converter(value, expression, connection)
    return value
