"""Tasks left RUNNING by a dead worker are queued again, or given up with a reason.

The decisions, with workers made up in the database; the real thing (a worker killed
with SIGKILL in the middle of preparing a track, then another started) is in
tests/live/test_security.py.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
from datetime import timedelta
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.test import TransactionTestCase, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from listening.models import Stimulus, TaskWorker
from listening.platform.task_recovery import process_runs, recover_lost_tasks
from listening.research.opening import problems_before_opening
from tests.listening.base import (
    IMMEDIATE,
    BaseTestCase,
    StudyFixtures,
    TemporaryMediaRootMixin,
    versions,
)

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
HERE = socket.gethostname()


def ended_pid() -> int:
    """The pid of a process that has run and been reaped."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


class TaskRecoveryTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_track("Song")
        self.mix = self.add_stimulus(self.track, versions()["mix"])
        Stimulus.objects.filter(track=self.track).update(status="processing")

    def running(self, *workers: str, started_ago: float = 5.0, path: str = "prepare") -> Any:
        return DBTaskResult.objects.create(
            status="RUNNING",
            args_kwargs={"args": [self.track.pk, False], "kwargs": {}},
            task_path=f"listening.stimuli.tasks.{path}_track_task",
            backend_name="default",
            worker_ids=list(workers),
            started_at=timezone.now() - timedelta(seconds=started_ago),
            run_after=get_date_max(),
        )

    def worker(self, name: str, *, host: str = HERE, pid: int, seen_ago: float = 1.0) -> str:
        TaskWorker.objects.create(
            worker_id=name,
            hostname=host,
            pid=pid,
            seen_at=timezone.now() - timedelta(seconds=seen_ago),
        )
        return name

    def status(self, task: Any) -> str:
        task.refresh_from_db()
        return str(task.status)

    def test_a_task_of_a_worker_whose_process_ended_is_queued_again(self) -> None:
        task = self.running(self.worker("dead", pid=ended_pid()))
        assert recover_lost_tasks()["requeued"] == [str(task.pk)]
        assert self.status(task) == "READY"
        assert DBTaskResult.objects.ready().filter(pk=task.pk).exists()

    def test_a_task_of_a_running_worker_is_left_alone(self) -> None:
        alive = self.running(self.worker("alive", pid=os.getpid()))
        elsewhere = self.running(self.worker("elsewhere", host="other-machine", pid=1))
        assert recover_lost_tasks() == {"requeued": [], "failed": []}
        assert self.status(alive) == self.status(elsewhere) == "RUNNING"

    def test_a_worker_elsewhere_is_gone_when_it_stops_beating(self) -> None:
        stale = 61.0
        task = self.running(self.worker("silent", host="other-machine", pid=1, seen_ago=stale))
        assert recover_lost_tasks()["requeued"] == [str(task.pk)]

    def test_a_worker_that_never_registered_is_given_an_hour(self) -> None:
        recent = self.running("unregistered-1", started_ago=600)
        old = self.running("unregistered-2", started_ago=3700)
        assert recover_lost_tasks()["requeued"] == [str(old.pk)]
        assert self.status(recent) == "RUNNING"

    @override_settings(LISTENING_TASK_ATTEMPTS=3)
    def test_after_the_last_attempt_the_task_and_its_stimuli_fail_with_the_reason(self) -> None:
        pid = ended_pid()
        workers = [self.worker(f"w{i}", pid=pid) for i in range(3)]
        task = self.running(*workers)
        assert recover_lost_tasks()["failed"] == [str(task.pk)]
        assert self.status(task) == "FAILED"
        assert task.exception_class_path == "listening.platform.task_recovery.WorkerLost"
        mix = Stimulus.objects.get(pk=self.mix.pk)
        assert mix.status == "failed"
        assert "the worker running it stopped (killed, or out of memory) 3 times" in mix.error
        assert mix.effective_status(self.track.fingerprint()) == "failed"
        problems = problems_before_opening(self.study)
        assert any("stopped (killed, or out of memory)" in p for p in problems), problems

    def test_a_given_up_measurement_says_so_on_the_masters(self) -> None:
        master = self.add_stimulus(
            self.track, versions()["ai"], role="master", system="ai", provider="X"
        )
        pid = ended_pid()
        task = self.running(*[self.worker(f"m{i}", pid=pid) for i in range(3)], path="measure")
        assert recover_lost_tasks()["failed"] == [str(task.pk)]
        master.refresh_from_db()
        assert master.metrics_error.startswith("measurement failed: the worker running it")

    def test_a_zombie_does_not_count_as_running(self) -> None:
        child = subprocess.Popen(["sleep", "30"])
        try:
            assert process_runs(child.pid)
            os.kill(child.pid, signal.SIGKILL)
            deadline = timezone.now() + timedelta(seconds=10)
            while process_runs(child.pid) and timezone.now() < deadline:
                pass
            assert not process_runs(child.pid)  # killed, not yet reaped
        finally:
            child.wait()
        assert not process_runs(child.pid)


class FailedTaskTestCase(BaseTestCase):
    @override_settings(TASKS=IMMEDIATE)
    def test_a_task_that_raises_leaves_no_stimulus_processing(self) -> None:
        from listening.stimuli.tasks import prepare_track_task

        track = self.add_full_track("Song", human=False)
        with mock.patch(
            "listening.stimuli.preparation._sync_anchor_rows", side_effect=RuntimeError("a bug")
        ):
            prepare_track_task.enqueue(track.pk, False)
        states = set(Stimulus.objects.filter(track=track).values_list("status", "error"))
        assert states == {
            (
                "failed",
                "preparation failed: the background task failed (RuntimeError); see the "
                "task's log; prepare the track again to retry",
            )
        }

    def test_a_job_rq_found_abandoned_fails_its_stimuli_with_the_reason(self) -> None:
        # What django-tasks-rq's failure callback sends when RQ's cleanup finds a job
        # whose worker died (rq.exceptions.AbandonedJobError).
        from django_tasks import TaskResultStatus
        from django_tasks.base import TaskError
        from django_tasks.signals import task_finished

        from listening.stimuli.tasks import prepare_track_task

        track = self.add_full_track("Song", human=False)
        Stimulus.objects.filter(track=track).update(status="processing")
        result = mock.Mock(
            status=TaskResultStatus.FAILED,
            task=prepare_track_task,
            args=[track.pk, False],
            errors=[
                TaskError(exception_class_path="rq.exceptions.AbandonedJobError", traceback="")
            ],
        )
        task_finished.send(type(self), task_result=result)
        errors = set(Stimulus.objects.filter(track=track).values_list("status", "error"))
        assert errors == {
            (
                "failed",
                "preparation failed: the worker running it stopped (killed, or out of memory); "
                "prepare the track again to retry",
            )
        }


@override_settings(TASKS=DATABASE)
class WorkerRegistrationTestCase(StudyFixtures, TemporaryMediaRootMixin, TransactionTestCase):
    def test_the_worker_recovers_at_start_and_unregisters_at_the_end(self) -> None:
        self.make_personas()
        track = self.add_track("Song")
        self.add_stimulus(track, versions()["mix"])
        Stimulus.objects.filter(track=track).update(status="processing")
        TaskWorker.objects.create(
            worker_id="killed", hostname=HERE, pid=ended_pid(), seen_at=timezone.now()
        )
        task = DBTaskResult.objects.create(
            status="RUNNING",
            args_kwargs={"args": [track.pk, False], "kwargs": {}},
            task_path="listening.stimuli.tasks.prepare_track_task",
            backend_name="default",
            worker_ids=["killed"],
            started_at=timezone.now(),
            run_after=get_date_max(),
        )
        out = io.StringIO()
        call_command("db_worker", batch=True, interval=0, startup_delay=False, stdout=out)
        task.refresh_from_db()
        assert task.status == "SUCCESSFUL", task.traceback
        assert len(task.worker_ids) == 2
        worker = task.worker_ids[-1]
        assert worker.startswith(f"{HERE[:40]}:{os.getpid()}:")
        # Its own record goes when it stops; the dead worker's when its task was recovered.
        assert not TaskWorker.objects.exists()
