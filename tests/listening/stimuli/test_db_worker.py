"""The embedded default: tasks go to the database and `manage.py db_worker` runs them."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.test import TransactionTestCase, override_settings
from django_tasks_db.models import DBTaskResult

from listening.models import Stimulus
from listening.stimuli.tasks import enqueue_preparation
from tests.listening.base import StudyFixtures, TemporaryMediaRootMixin

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DATABASE)
class DatabaseWorkerTestCase(StudyFixtures, TemporaryMediaRootMixin, TransactionTestCase):
    def test_it_prepares_a_study_through_the_worker(self) -> None:
        self.make_personas()
        track = self.add_full_track("Song", human=False)
        assert enqueue_preparation(self.study) == 1
        assert DBTaskResult.objects.count() == 1
        assert Stimulus.objects.filter(track=track, status="pending").count() == 2
        call_command("db_worker", batch=True, interval=0, stdout=io.StringIO())
        statuses = set(DBTaskResult.objects.values_list("task_path", "status"))
        assert statuses == {
            ("listening.stimuli.tasks.prepare_track_task", "SUCCESSFUL"),
            ("listening.stimuli.tasks.measure_track_task", "SUCCESSFUL"),
        }
        assert self.study.progress()["ready"] == 4
        assert Stimulus.objects.get(role="master").metrics
