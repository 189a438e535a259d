"""django-tasks-db's ``db_worker``, which also recovers the tasks of workers that died.

Registered and beating while it runs (listening.platform.task_recovery), it queues again (or
gives up on) the tasks left RUNNING by a worker that was killed, when it starts and
every so often after. Options are the library's; the default ``--worker-id`` says where
the worker runs (``host:pid:random``).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from listening.platform.task_recovery import new_worker_id, registered_worker


class Command(DatabaseWorkerCommand):
    help = "Run a database background worker that recovers the tasks of workers that died."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(worker_id=new_worker_id())

    def handle(self, *args: Any, **options: Any) -> None:
        with registered_worker(options["worker_id"]):
            super().handle(*args, **options)
