"""Django's database cache with an atomic ``incr()`` (and so ``decr()``).

Django's ``DatabaseCache.incr`` reads the value and writes it back in two statements, so
two requests counting at once can both read 3 and both write 4. The limit on new
sessions per address counts with ``incr``: a burst of parallel requests from one
address could pass it many times over. Here the read and the write happen in one
transaction with the row locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
immediate transactions already admit one writer at a time), so every increment counts.
Redis (``CACHE_URL=redis://...``) increments atomically by itself.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        cache_key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table, value_column, key_column = (
            quote(self._table),  # type: ignore[attr-defined]  # set by Django, not in the stubs
            quote("value"),
            quote("cache_key"),
        )
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {value_column}, {quote('expires')} FROM {table} "
                f"WHERE {key_column} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            if row is None or self._expires(connection, row[1]) < now():
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s",
                [encoded, cache_key],
            )
        return value

    @staticmethod
    def _expires(connection: Any, value: Any) -> Any:
        """The stored expiry as a datetime, converted as Django's own cache does it."""
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(
            expression
        ) + expression.get_db_converters(connection):
            value = converter(value, expression, connection)
        return value
