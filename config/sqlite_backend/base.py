"""SQLite whose write transactions wait their turn on a file lock instead of polling.

SQLite admits one writer at a time. A writer that finds the database locked retries in
SQLite's busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under
load (several gunicorn workers saving answers at once) a waiting writer often sleeps
long after the lock has been released, and its request (and its worker thread) waits
with it: in the 200-participant load run, rating saves took 0.5 s at the 95th
percentile on SQLite against 70 ms on PostgreSQL on the same machine.

Here every write transaction Django begins (``atomic()``, begun IMMEDIATE or EXCLUSIVE)
takes an exclusive ``flock`` on ``<database file>.lock`` before its BEGIN, blocking in
the calling thread; BEGIN and the lock wait for the transaction's first statement, so
that statement's compilation by the ORM happens before the others are held up. The
kernel hands the lock to the next writer the moment the holder commits or rolls back.
The lock goes with the file descriptor, so a process that dies releases it.
A single writing statement outside ``atomic()`` (``save()``, ``update()``, ``create()``
in autocommit mode) takes the same lock for the statement: left to SQLite's busy
handler, it would sleep while writers that queue on the lock take turns, and lose to
them again and again (in the load run such requests took 1-4 s inside the server while
rating saves, all in transactions, took 40 ms). Read-only work (a DEFERRED transaction,
e.g. an export, or a single SELECT) never takes it, nor does an in-memory database.

Measured alternatives, both slower under load (benchmarks/RESULTS.md): polling the lock
every 0.5-5 ms (idle gaps between writers), and waiting in a helper thread so the wait
could end at the busy timeout (two more GIL hand-offs while the lock is held). The cost
of the choice: the wait for this lock has no timeout, so a process that stops in the
middle of a write transaction (say, a debugger) holds up every writer until it goes on
or dies, where SQLite alone would have failed them after its busy timeout.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.sqlite3 import base

# django-stubs leave out the private hooks overridden here (hence the type: ignore[misc]);
# they are Django's documented-in-code extension points of every backend.

WRITE_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})
#: Statements that never write; any other statement run in autocommit mode takes the lock.
READ_ONLY = ("SELECT", "PRAGMA", "EXPLAIN")


class LockingCursor(base.SQLiteCursorWrapper):
    """Django's SQLite cursor; a writing statement in autocommit mode holds the write lock."""

    database: DatabaseWrapper

    def execute(self, query: str, params: Any = None) -> Any:
        self.database.begin_if_pending()
        if not self.database.needs_statement_lock(query):
            return super().execute(query, params)
        with self.database.statement_lock():
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        self.database.begin_if_pending()
        if not self.database.needs_statement_lock(query):
            return super().executemany(query, param_list)
        with self.database.statement_lock():
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._lock_held = False
        self._begin_pending = False

    def write_lock_path(self) -> str | None:
        """The lock file next to the database (None for an in-memory database)."""
        if self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}.lock"

    @property
    def holds_write_lock(self) -> bool:
        return self._lock_held

    def _acquire_write_lock(self) -> None:
        if not self._lock_held and self._takes_write_lock():
            self._take_lock()

    def _release_write_lock(self) -> None:
        if self._lock_held and self._lock_fd is not None:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def create_cursor(self, name: Any = None) -> LockingCursor:
        cursor = self.connection.cursor(factory=LockingCursor)
        cursor.database = self
        return cursor  # type: ignore[no-any-return]

    def needs_statement_lock(self, query: str) -> bool:
        """Whether ``query`` is a write run on its own (autocommit, no lock held yet)."""
        return (
            self.autocommit
            and not self._lock_held
            and not query.lstrip()[:7].upper().startswith(READ_ONLY)
            and self.write_lock_path() is not None
        )

    @contextmanager
    def statement_lock(self) -> Iterator[None]:
        self._take_lock()
        try:
            yield
        finally:
            self._release_write_lock()

    def _take_lock(self) -> None:
        path = self.write_lock_path()
        assert path is not None
        if self._lock_fd is None:
            self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._lock_held = True

    def _start_transaction_under_autocommit(self) -> None:
        if self._takes_write_lock():
            # BEGIN and the lock wait for the transaction's first statement, so that
            # statement's compilation (the ORM's, most of a short query's cost) and any
            # work before it happen before the lock is taken, not while others wait.
            self._begin_pending = True
            return
        super()._start_transaction_under_autocommit()  # type: ignore[misc]

    def begin_if_pending(self) -> None:
        """Take the lock and BEGIN the write transaction opened without a statement yet."""
        if not self._begin_pending:
            return
        self._begin_pending = False
        self._acquire_write_lock()
        try:
            base.DatabaseWrapper._start_transaction_under_autocommit(self)  # type: ignore[attr-defined]
        except BaseException:
            self._release_write_lock()
            raise

    def _takes_write_lock(self) -> bool:
        return (
            getattr(self, "transaction_mode", None) in WRITE_MODES
            and self.write_lock_path() is not None
        )

    def _commit(self) -> Any:
        self._begin_pending = False  # nothing ran: there is no transaction to commit
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        self._begin_pending = False
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def close(self) -> None:
        self._begin_pending = False
        try:
            super().close()
        finally:
            self._release_write_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
