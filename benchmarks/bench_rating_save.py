"""A rating save's time, and how long it holds SQLite's writers' lock, on both paths.

The MUSHRA slider autosave is the request participants send most. On SQLite every write
transaction holds one lock across all processes (config/sqlite_backend), so the lock's
hold per save, not the save's own time, caps how many saves a second the server takes.
This times saves through the Django test client on a SQLite file, alternating rounds of

- ``short``: the rating autosave's short path (listening/participant/autosave.py);
- ``general``: the same requests with the short path switched off (``Session.answer``);
- ``floor``: the statements a short-path save runs, replayed as plain SQL in one
  transaction (no request, no ORM): what the database itself needs.

and prints, per path, the median and p95 time per save and the median lock hold, with
each as a ratio to the floor's hold.

    .venv/bin/python benchmarks/bench_rating_save.py [--saves 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_participant import build_session, build_study, saver, setup_django

HOLDS: list[float] = []


def watch_the_lock() -> None:
    """Record every hold of the writers' lock (benchmark-only wrappers)."""
    from config.sqlite_backend.base import DatabaseWrapper

    take, release = DatabaseWrapper._take_lock, DatabaseWrapper._release_write_lock

    def timed_take(self: Any) -> None:
        take(self)
        self._bench_taken = time.perf_counter()

    def timed_release(self: Any) -> None:
        held = self._lock_held
        release(self)
        if held:
            HOLDS.append(time.perf_counter() - self._bench_taken)

    DatabaseWrapper._take_lock = timed_take  # type: ignore[method-assign]
    DatabaseWrapper._release_write_lock = timed_release  # type: ignore[method-assign]


def floor(save: Callable[[int], None]) -> Callable[[int], None]:
    """The statements of one short-path save, replayed as plain SQL in a transaction."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    save(1)  # the rating exists: the save below updates it, as nearly every save does
    with CaptureQueriesContext(connection) as captured:
        save(1)
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    sqls = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]
    key = re.compile(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'")

    def replay(i: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in sqls:
                cursor.execute(key.sub(f"'{uuid.uuid4()}'", sql, count=1))
                if sql.lstrip().startswith("SELECT"):
                    cursor.fetchall()

    return replay


def run(action: Callable[[int], None], saves: int) -> tuple[list[float], list[float]]:
    for i in range(20):  # warm up
        action(i)
    HOLDS.clear()
    times = []
    for i in range(saves):
        started = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - started)
    return times, list(HOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django(Path(tempfile.mkdtemp(prefix="bench-rating-")))
    from listening.participant import autosave

    token, trial = build_session(build_study(tracks=1, excerpt=30.0))
    watch_the_lock()
    save = saver(token, trial)
    replay = floor(save)
    results: dict[str, tuple[list[float], list[float]]] = {}

    def add(name: str, action: Callable[[int], None]) -> None:
        times, holds = run(action, args.saves)
        assert len(holds) == args.saves, (name, len(holds))
        old = results.get(name, ([], []))
        results[name] = (old[0] + times, old[1] + holds)

    for _ in range(args.rounds):
        add("floor", replay)
        add("short", save)
        with mock.patch.object(autosave, "save", return_value=None):
            add("general", save)

    base = statistics.median(results["floor"][1])
    print(f"{args.rounds} alternating rounds of {args.saves} saves each, SQLite file")
    columns = ("save p50 ms", "save p95 ms", "hold p50 ms", "hold/floor")
    print(f"{'path':<8} " + " ".join(f"{c:>11}" for c in columns))
    for name in ("floor", "short", "general"):
        times, holds = results[name]
        p95 = statistics.quantiles(times, n=20)[-1]
        hold = statistics.median(holds)
        print(
            f"{name:<8} {statistics.median(times) * 1000:>11.2f} {p95 * 1000:>11.2f} "
            f"{hold * 1000:>11.3f} {hold / base:>10.1f}"
        )


if __name__ == "__main__":
    main()
