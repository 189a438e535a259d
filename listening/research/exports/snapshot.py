"""One consistent read: everything an export writes comes from one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction


@contextmanager
def snapshot(using: str = "default") -> Iterator[None]:
    """Read everything inside one transaction, so an export is one consistent state.

    PostgreSQL runs it at REPEATABLE READ, READ ONLY. SQLite gives a transaction a
    snapshot at its first read (WAL); it is begun DEFERRED rather than with the
    project's IMMEDIATE mode, so a long export does not hold the write lock and
    participants can keep saving answers meanwhile.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    if connection.vendor == "sqlite" and outermost:
        connection.ensure_connection()
        mode = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = "DEFERRED"  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=using):
                connection.transaction_mode = mode  # type: ignore[attr-defined]
                yield
        finally:
            connection.transaction_mode = mode  # type: ignore[attr-defined]
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
