"""Task workers that are alive: each beats here while it runs.

See listening.platform.task_recovery.
"""

from __future__ import annotations

from django.db import models


class TaskWorker(models.Model):
    """One running ``db_worker`` process: where it runs and when it last said it was alive."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ("started_at",)

    def __str__(self) -> str:
        return f"worker {self.worker_id}"
