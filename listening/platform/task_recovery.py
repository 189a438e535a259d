"""Background work that survives a crashed worker.

A worker killed in the middle of a task (``kill -9``, the kernel's out-of-memory killer,
a lost machine) leaves the task RUNNING in the database task backend and its track's
stimuli "processing": nothing would ever run it again, and the study could not open.
So every ``db_worker`` (listening's, which wraps django-tasks-db's) registers itself as a
:class:`~listening.models.TaskWorker` (machine and pid) and beats from a thread while it
runs. When a worker starts, and every ``LISTENING_WORKER_STALE_SECONDS / 2`` after, it
looks at the RUNNING tasks: one whose worker is gone is queued again, or, once it has
been tried ``LISTENING_TASK_ATTEMPTS`` times (the task itself may be what kills its
workers, say by running out of memory), marked failed together with its stimuli, with
the reason. A worker is gone when no beat came for ``LISTENING_WORKER_STALE_SECONDS``,
or, on the same machine, at once when its process no longer runs. A task claimed by a
worker that never registered (the stock command) is taken as lost after
:data:`UNTRACKED_SECONDS`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks.signals import task_finished

from listening.models import Stimulus, TaskWorker, Track

logger = logging.getLogger(__name__)

#: A task claimed by a worker that never registered is taken as lost after this long.
UNTRACKED_SECONDS = 3600
#: What a task's row and its stimuli say when it is given up.
LOST_CLASS = "listening.platform.task_recovery.WorkerLost"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.LISTENING_WORKER_STALE_SECONDS)


def new_worker_id() -> str:
    """A worker id that says where it runs: ``host:pid:random`` (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(8)}"


def process_runs(pid: int) -> bool:
    """Tell whether a process of this machine runs (a zombie, killed but unreaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    try:
        # /proc/<pid>/stat: "pid (name) state ..."; the name may hold spaces and brackets.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def worker_alive(worker_id: str, now: datetime) -> bool | None:
    """Tell whether the worker that claimed a task still runs (None: it never registered)."""
    beat = TaskWorker.objects.filter(worker_id=worker_id).first()
    if beat is None:
        return None
    if now - beat.seen_at > stale_after():
        return False
    # On its own machine, a worker whose process has ended is gone at once.
    return beat.hostname != socket.gethostname() or process_runs(beat.pid)


def recover_lost_tasks() -> dict[str, list[str]]:
    """Queue again, or give up, every RUNNING task whose worker is gone; say which."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    outcome: dict[str, list[str]] = {"requeued": [], "failed": []}
    for task in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING):
        last = task.worker_ids[-1] if task.worker_ids else ""
        alive = worker_alive(last, now)
        if alive is None:
            started = task.started_at or task.enqueued_at
            alive = now - started < timedelta(seconds=UNTRACKED_SECONDS)
        if alive:
            continue
        with transaction.atomic():
            # Again under a lock: another worker may be recovering the same task.
            locked = (
                DBTaskResult.objects.select_for_update()
                .filter(pk=task.pk, status=TaskResultStatus.RUNNING)
                .first()
            )
            if locked is None or locked.worker_ids != task.worker_ids:
                continue
            attempts = len(locked.worker_ids)
            if attempts < settings.LISTENING_TASK_ATTEMPTS:
                locked.status = TaskResultStatus.READY
                locked.save(update_fields=["status"])
                outcome["requeued"].append(str(locked.pk))
                logger.warning(
                    "task %s (%s) lost its worker %s: queued again (attempt %d of %d)",
                    locked.pk, locked.task_path, last, attempts + 1,
                    settings.LISTENING_TASK_ATTEMPTS,
                )  # fmt: skip
                continue
            reason = (
                f"the worker running it stopped (killed, or out of memory) {attempts} times; "
                "look at the files and the workers' memory, then prepare the track again"
            )
            locked.status = TaskResultStatus.FAILED
            locked.finished_at = now
            locked.exception_class_path = LOST_CLASS
            locked.traceback = reason
            locked.return_value = None
            locked.save(
                update_fields=[
                    "status", "finished_at", "exception_class_path", "traceback", "return_value",
                ]
            )  # fmt: skip
            fail_work(locked.task_path, locked.args_kwargs, reason)
            outcome["failed"].append(str(locked.pk))
            logger.error("task %s (%s) given up: %s", locked.pk, locked.task_path, reason)
    # The records of workers that are gone (their tasks were just dealt with).
    gone = [w.pk for w in TaskWorker.objects.all() if not worker_alive(w.worker_id, now)]
    TaskWorker.objects.filter(pk__in=gone).delete()
    return outcome


def fail_work(task_path: str, args_kwargs: Any, reason: str) -> None:
    """Mark what a given-up task was doing as failed, so the researcher sees why."""
    args = (args_kwargs or {}).get("args") or []
    if not args:
        return
    track = Track.objects.select_related("study").filter(pk=args[0]).first()
    if track is None:
        return
    now = timezone.now()
    if task_path.endswith(".prepare_track_task"):
        Stimulus.objects.filter(track=track, status=Stimulus.Status.PROCESSING).update(
            status=Stimulus.Status.FAILED,
            error=f"preparation failed: {reason}",
            fingerprint=track.fingerprint(),
            prepared_at=now,
            updated_at=now,
        )
    elif task_path.endswith(".measure_track_task"):
        Stimulus.objects.filter(track=track, role=Stimulus.Role.MASTER, metrics={}).update(
            metrics_error=f"measurement failed: {reason}", updated_at=now
        )


@receiver(task_finished)
def fail_unfinished_work(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """When a preparation or measurement task fails, fail what it left half-done.

    An exception in the task (any backend), or, with RQ, a job abandoned by a worker that
    died (RQ fails it once its heartbeat has expired, at a worker's next maintenance, and
    calls the failure callback that sends this signal): without this, the track's
    stimuli would stay "processing" and the study could not open.
    """
    if task_result.status != "FAILED":
        return
    errors = getattr(task_result, "errors", None) or []
    cause = errors[-1].exception_class_path.rsplit(".", 1)[-1] if errors else "an error"
    if cause == "AbandonedJobError":
        reason = "the worker running it stopped (killed, or out of memory)"
    else:
        reason = f"the background task failed ({cause}); see the task's log"
    fail_work(
        task_result.task.module_path,
        {"args": list(task_result.args)},
        f"{reason}; prepare the track again to retry",
    )


class Heartbeat(threading.Thread):
    """Beat for one worker every few seconds, and recover lost tasks now and then."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()
        stale = settings.LISTENING_WORKER_STALE_SECONDS
        self.interval = max(0.5, stale / 6)
        self.recovery_every = max(1.0, stale / 2)

    def run(self) -> None:
        last_recovery = timezone.now()
        try:
            while not self.stopping.wait(self.interval):
                try:
                    beat(self.worker_id)
                    if (timezone.now() - last_recovery).total_seconds() >= self.recovery_every:
                        recover_lost_tasks()
                        last_recovery = timezone.now()
                except Exception:  # a database outage: beat again at the next interval
                    logger.exception("worker %s could not beat", self.worker_id)
                finally:
                    close_old_connections()
        finally:
            connection.close()


def beat(worker_id: str) -> None:
    now = timezone.now()
    updated = TaskWorker.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        TaskWorker.objects.update_or_create(
            worker_id=worker_id,
            defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "seen_at": now},
        )


@contextlib.contextmanager
def registered_worker(worker_id: str) -> Iterator[None]:
    """Register a worker, recover what dead workers left, and beat until the block ends."""
    TaskWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "seen_at": timezone.now()},
    )
    outcome = recover_lost_tasks()
    if outcome["requeued"] or outcome["failed"]:
        logger.warning("recovered tasks of workers that died: %s", outcome)
    heartbeat = Heartbeat(worker_id)
    heartbeat.start()
    try:
        yield
    finally:
        heartbeat.stopping.set()
        heartbeat.join(10)
        TaskWorker.objects.filter(worker_id=worker_id).delete()
