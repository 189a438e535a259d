"""Background work: stimulus preparation, one task per track (django-tasks).

The database backend with ``manage.py db_worker`` runs them by default; tests use
the immediate backend, which runs a task inside ``enqueue``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from listening.models import Stimulus, Study, Track


@task()
def prepare_track_task(track_id: int, force: bool = False) -> dict[str, Any]:
    """Prepare one track's playback files, then queue the measurement of its masters."""
    from listening.stimuli.preparation import prepare_track

    result = prepare_track(track_id, force=force)
    measure_track_task.enqueue(track_id, force)
    return result


@task()
def measure_track_task(track_id: int, force: bool = False) -> dict[str, Any]:
    """Measure a track's masters against its mix.

    See :func:`listening.stimuli.measurement.measure_track`.
    """
    from listening.stimuli.measurement import measure_track

    return measure_track(track_id, force=force)


def enqueue_preparation(study: Study, *, force: bool = False) -> int:
    """Mark the study's outdated stimuli pending and queue one task per such track.

    Return how many tracks were queued. Open or closed studies keep their files.
    """
    if not study.is_draft:
        return 0
    tracks = [
        track
        for track in study.tracks.select_related("study").prefetch_related("stimuli")
        if force or track.needs_preparation()
    ]
    if not tracks:
        return 0
    Stimulus.objects.filter(track__in=tracks).exclude(status=Stimulus.Status.PROCESSING).update(
        status=Stimulus.Status.PENDING, updated_at=timezone.now()
    )
    ids = [track.pk for track in tracks]
    # The worker must see the committed rows, so queue after the surrounding transaction.
    transaction.on_commit(lambda: _enqueue(ids, force))
    return len(ids)


def enqueue_track(track: Track, *, force: bool = False) -> int:
    """Queue preparation of one track if it needs it (after an upload or a deletion)."""
    if not track.study.is_draft or not (force or track.needs_preparation()):
        return 0
    Stimulus.objects.filter(track=track).exclude(status=Stimulus.Status.PROCESSING).update(
        status=Stimulus.Status.PENDING, updated_at=timezone.now()
    )
    transaction.on_commit(lambda: _enqueue([track.pk], force))
    return 1


def _enqueue(track_ids: list[int], force: bool) -> None:
    for track_id in track_ids:
        prepare_track_task.enqueue(track_id, force)
