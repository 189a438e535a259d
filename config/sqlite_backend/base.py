"""SQLite whose write transactions wait their turn on a file lock instead of polling.

SQLite admits one writer at a time. A writer that finds the database locked retries in
SQLite's busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under
load (several gunicorn workers saving answers at once) a waiting writer often sleeps
long after the lock has been released, and its request (and its worker thread) waits
with it: in the 200-participant load run, rating saves took 0.5 s at the 95th
percentile on SQLite against 70 ms on PostgreSQL on the same machine.

Here every write transaction Django begins (``atomic()``, begun IMMEDIATE or EXCLUSIVE)
first takes an exclusive ``flock`` on ``<database file>.lock``, blocking in the calling
thread: the kernel hands the lock to the next writer the moment the holder commits or
rolls back. The lock goes with the file descriptor, so a process that dies releases it.
Read-only work (a DEFERRED transaction, e.g. an export) never takes it, nor does an
in-memory database; single statements outside ``atomic()`` meet SQLite's own busy
timeout as before.

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
from typing import Any

from django.db.backends.sqlite3 import base

# django-stubs leave out the private hooks overridden here (hence the type: ignore[misc]);
# they are Django's documented-in-code extension points of every backend.

WRITE_MODES = frozenset({"IMMEDIATE", "EXCLUSIVE"})


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

    def _acquire_write_lock(self) -> None:
        if self._lock_held or getattr(self, "transaction_mode", None) not in WRITE_MODES:
            return
        path = self.write_lock_path()
        if path is None:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._lock_held = True

    def _release_write_lock(self) -> None:
        if self._lock_held and self._lock_fd is not None:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self) -> None:
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
