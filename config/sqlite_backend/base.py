"""SQLite whose writers wait their turn on a file lock instead of polling for SQLite's.

SQLite admits one writer at a time. A writer that finds the database locked retries in
SQLite's busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under
load (several gunicorn workers saving answers at once) a waiting writer often sleeps
long after the lock has been released, and its request, and the worker thread, wait
with it; a writer that keeps arriving while others hold the lock can starve. In the
200-participant load run rating saves took 0.5 s at the 95th percentile on SQLite
against 70 ms on PostgreSQL on the same machine (benchmarks/RESULTS.md).

Here every writer first takes an exclusive ``flock`` on ``<database file>.lock``: a
write transaction (``atomic()``, begun IMMEDIATE or EXCLUSIVE) from BEGIN to COMMIT or
ROLLBACK, and a single writing statement outside a transaction for that statement.
Waiters poll the lock every 0.5 to 5 ms (bounded by the database's ``timeout``, after
which they fail like SQLite would, "database is locked"), so the next writer gets in
within milliseconds of the last one leaving. The lock goes with the file descriptor: a
process that dies releases it. Readers never take it (WAL lets them read during a
write), nor does a DEFERRED transaction (e.g. an export) or an in-memory database.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# django-stubs leave out the private hooks overridden here (hence the type: ignore[misc]);
# they are Django's documented-in-code extension points of every backend.

WRITE_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})
#: Statements that only read or steer transactions; anything else may write.
READS = ("SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK", "EXPLAIN")
POLL_FIRST, POLL_MAX = 0.0005, 0.005


def writes(query: str) -> bool:
    return not query.lstrip()[:9].upper().startswith(READS)


class QueuedCursorWrapper(base.SQLiteCursorWrapper):
    """A cursor whose writing statements outside a transaction hold the writers' lock."""

    wrapper: DatabaseWrapper

    def execute(self, query: str, params: Any = None) -> Any:
        with self.wrapper.single_write(query):
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        with self.wrapper.single_write(query):
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._lock_held = False

    def write_lock_path(self) -> str | None:
        """The lock file next to the database (None for an in-memory database)."""
        if self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}.lock"

    @property
    def holds_write_lock(self) -> bool:
        return self._lock_held

    def _acquire_write_lock(self) -> bool:
        """Take the lock (waiting up to the busy timeout); False when it does not apply."""
        if self._lock_held:
            return False
        path = self.write_lock_path()
        if path is None:
            return False
        if self._lock_fd is None:
            self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline, delay = time.monotonic() + timeout, POLL_FIRST
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError(
                        f"database is locked (waited {timeout:g} s for the writers' lock)"
                    ) from None
                time.sleep(delay)
                delay = min(POLL_MAX, delay * 2)
        self._lock_held = True
        return True

    def _release_write_lock(self) -> None:
        if self._lock_held and self._lock_fd is not None:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def single_write(self, query: str) -> Iterator[None]:
        """Hold the lock around one writing statement run outside a transaction."""
        taken = not self.in_atomic_block and writes(query) and self._acquire_write_lock()
        try:
            yield
        finally:
            if taken:
                self._release_write_lock()

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=QueuedCursorWrapper)
        cursor.wrapper = self
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        if getattr(self, "transaction_mode", None) in WRITE_MODES:
            self._acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_write_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
