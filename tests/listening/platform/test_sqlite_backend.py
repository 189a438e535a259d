"""The SQLite backend: write transactions hold an exclusive flock on "<database>.lock".

Checked from outside, the way another process sees it: while a write transaction is
open (from its first statement: BEGIN waits for it), a non-blocking flock on the lock
file fails; before that statement, and after commit, rollback, a failed BEGIN or the
connection's close, it succeeds; an empty transaction, read-only (DEFERRED)
transactions and in-memory databases never take it; a process that dies holding it releases it; a
second writer waits for the first one's commit instead of failing; and a single
writing statement outside a transaction waits for the lock too, while a single read
does not.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from config.sqlite_backend.base import DatabaseWrapper

REPO = Path(__file__).resolve().parents[3]


def wrapper(
    path: Path | str, mode: str | None = "IMMEDIATE", timeout: float = 20
) -> DatabaseWrapper:
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "config.sqlite_backend",
                "NAME": str(path),
                "OPTIONS": {"transaction_mode": mode, "timeout": timeout} if mode else {},
            }
        }
    )
    connection = handler["default"]
    assert isinstance(connection, DatabaseWrapper)
    return connection


def begin(connection: Any) -> None:
    """Open a transaction the way ``transaction.atomic()`` does on SQLite."""
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def end(connection: Any, *, commit: bool = True) -> None:
    if commit:
        connection.commit()
    else:
        connection.rollback()
    connection.set_autocommit(True)


def locked_elsewhere(path: Path) -> bool:
    """Whether another holder has the lock file (tried without waiting, on a new descriptor)."""
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker: Any) -> Iterator[None]:
    """These tests open their own connections to their own files, not the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    setup = wrapper(path)
    with setup.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE answer (id INTEGER PRIMARY KEY, writer TEXT)")
    setup.close()
    return path


def test_a_write_transaction_holds_the_lock_from_its_first_statement_until_commit(
    database: Path,
) -> None:
    connection = wrapper(database)
    connection.ensure_connection()
    assert not locked_elsewhere(database)
    begin(connection)
    assert not connection.holds_write_lock  # BEGIN waits for the first statement
    assert not locked_elsewhere(database)
    connection.cursor().execute("INSERT INTO answer (writer) VALUES ('a')")
    assert connection.holds_write_lock
    assert locked_elsewhere(database)
    connection.cursor().execute("SELECT count(*) FROM answer")
    assert locked_elsewhere(database)
    end(connection)
    assert not connection.holds_write_lock
    assert not locked_elsewhere(database)
    connection.close()


def test_rollback_and_close_release_the_lock(database: Path) -> None:
    connection = wrapper(database)
    begin(connection)
    connection.cursor().execute("INSERT INTO answer (writer) VALUES ('rolled back')")
    assert locked_elsewhere(database)
    end(connection, commit=False)
    assert not locked_elsewhere(database)
    assert connection.cursor().execute("SELECT count(*) FROM answer").fetchone() == (0,)
    begin(connection)
    connection.cursor().execute("SELECT count(*) FROM answer")
    assert locked_elsewhere(database)
    connection.close()  # e.g. a request that died in the middle of a transaction
    assert not locked_elsewhere(database)


def test_a_failed_begin_releases_the_lock(database: Path) -> None:
    connection = wrapper(database)
    connection.ensure_connection()
    connection.connection.execute("BEGIN")  # so Django's BEGIN fails after taking the lock
    begin(connection)
    with pytest.raises(Exception, match="within a transaction"):
        connection.cursor().execute("SELECT 1")  # the first statement sends BEGIN
    assert not connection.holds_write_lock
    assert not locked_elsewhere(database)
    connection.close()


def test_an_empty_transaction_never_takes_it(database: Path) -> None:
    connection = wrapper(database)
    for commit in (True, False):
        begin(connection)
        end(connection, commit=commit)  # no statement: nothing to BEGIN, commit or roll back
        assert not connection.holds_write_lock
        assert not locked_elsewhere(database)
    begin(connection)
    connection.cursor().execute("INSERT INTO answer (writer) VALUES ('after')")
    end(connection)
    assert connection.cursor().execute("SELECT writer FROM answer").fetchall() == [("after",)]
    connection.close()


def test_read_only_and_in_memory_transactions_never_take_it(database: Path) -> None:
    reader = wrapper(database, mode="DEFERRED")
    begin(reader)
    reader.cursor().execute("SELECT count(*) FROM answer")
    assert not reader.holds_write_lock
    assert not locked_elsewhere(database)
    end(reader)
    reader.close()
    memory = wrapper(":memory:")
    begin(memory)
    assert not memory.holds_write_lock
    end(memory)


def test_a_second_writer_waits_for_the_first_and_then_succeeds(database: Path) -> None:
    first, order = wrapper(database), []
    begin(first)
    first.cursor().execute("INSERT INTO answer (writer) VALUES ('first')")
    waiting = threading.Event()

    def second_writer() -> None:
        second = wrapper(database)
        second.ensure_connection()
        waiting.set()
        begin(second)
        # The first statement takes the lock (and BEGINs): it waits for the first's commit.
        second.cursor().execute("INSERT INTO answer (writer) VALUES ('second')")
        order.append("second wrote")
        end(second)
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert waiting.wait(10)
    thread.join(0.3)  # give it every chance to get in early: it must not
    assert thread.is_alive()
    assert order == []
    order.append("first commits")
    end(first)
    thread.join(20)
    assert order == ["first commits", "second wrote"]
    rows = first.cursor().execute("SELECT writer FROM answer ORDER BY id").fetchall()
    assert rows == [("first",), ("second",)]
    first.close()


def test_a_process_that_dies_holding_the_lock_releases_it(database: Path) -> None:
    code = (
        "import os, sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tests.listening.platform.test_sqlite_backend import wrapper, begin\n"
        "c = wrapper(sys.argv[2]); begin(c); c.cursor().execute('SELECT 1')\n"
        "print('holding', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(REPO), str(database)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        assert locked_elsewhere(database)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert not locked_elsewhere(database)
        survivor = wrapper(database)
        begin(survivor)
        survivor.cursor().execute("INSERT INTO answer (writer) VALUES ('after')")
        end(survivor)
        survivor.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


class OutsideHolder:
    """The lock held by someone else (another descriptor, as another process would)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _insert_many(cursor: Any) -> None:
    cursor.executemany("INSERT INTO answer (writer) VALUES (%s)", [["m1"], ["m2"]])


@pytest.mark.parametrize(
    ("write", "rows"),
    [
        (
            lambda cursor: cursor.execute("INSERT INTO answer (writer) VALUES ('single')"),
            ["seed", "single"],
        ),
        (lambda cursor: cursor.execute("  update answer SET writer = %s", ["single"]), ["single"]),
        (lambda cursor: cursor.execute("DELETE FROM answer WHERE writer = 'seed'"), []),
        (_insert_many, ["seed", "m1", "m2"]),
    ],
    ids=["insert", "update", "delete", "executemany"],
)
def test_a_single_write_outside_a_transaction_waits_for_the_lock(
    database: Path, write: Any, rows: list[str]
) -> None:
    seed = wrapper(database)
    seed.cursor().execute("INSERT INTO answer (writer) VALUES ('seed')")
    seed.close()
    holder, done, failed = OutsideHolder(database), threading.Event(), []

    def writer() -> None:
        connection = wrapper(database)
        try:
            assert connection.get_autocommit()
            write(connection.cursor())
            assert not connection.holds_write_lock
        except Exception as error:  # reported below, in the test's thread
            failed.append(error)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # SQLite itself is free: only the lock file holds the writer back.
        assert not done.wait(0.3)
    finally:
        holder.release()
    assert done.wait(20)
    thread.join(20)
    assert failed == []
    assert not locked_elsewhere(database)  # held for the statement only
    check = wrapper(database)
    stored = check.cursor().execute("SELECT writer FROM answer ORDER BY id").fetchall()
    assert [writer for (writer,) in stored] == rows
    check.close()


def test_a_single_read_outside_a_transaction_does_not_wait(database: Path) -> None:
    holder = OutsideHolder(database)
    try:
        reader = wrapper(database)
        for query in ("SELECT count(*) FROM answer", " pragma journal_mode", "EXPLAIN SELECT 1"):
            reader.cursor().execute(query)  # would block forever if it took the lock
        assert not reader.holds_write_lock
        reader.close()
    finally:
        holder.release()
