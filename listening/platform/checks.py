"""System checks of the deployment settings the listening app relies on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.files)
def check_media_root(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Uploads and prepared stimuli are stored under MEDIA_ROOT: it must be writable."""
    root = Path(settings.MEDIA_ROOT)
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        return [
            checks.Error(
                f"MEDIA_ROOT {str(root)!r} is not writable (checked {str(existing)!r})",
                hint="Set DJANGO_MEDIA_ROOT to a writable folder.",
                id="listening.E001",
            )
        ]
    return []


@checks.register()
def check_audio_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    limit = getattr(settings, "AUDIO_UPLOAD_MAX_BYTES", None)
    if not isinstance(limit, int) or limit <= 0:
        errors.append(
            checks.Error(
                f"AUDIO_UPLOAD_MAX_BYTES={limit!r} must be a positive number of bytes",
                id="listening.E002",
            )
        )
    rates = getattr(settings, "LISTENING_SAMPLE_RATES", None)
    if (
        not isinstance(rates, list | tuple)
        or not rates
        or not all(isinstance(r, int) and 8000 <= r <= 192000 for r in rates)
    ):
        errors.append(
            checks.Error(
                f"LISTENING_SAMPLE_RATES={rates!r} must list playback rates in Hz (8000-192000)",
                hint="For example LISTENING_SAMPLE_RATES=44100,48000",
                id="listening.E003",
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def check_task_backend(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Preparation runs as a background task; the immediate backend would run it in requests."""
    backend = (
        settings.TASKS.get("default", {}).get("BACKEND", "") if hasattr(settings, "TASKS") else ""
    )
    if not settings.DEBUG and backend.endswith("ImmediateBackend"):
        return [
            checks.Warning(
                "TASKS uses the immediate backend: stimulus preparation will run inside web "
                "requests and may time out",
                hint="Use django_tasks_db.DatabaseBackend with `manage.py db_worker`.",
                id="listening.W001",
            )
        ]
    return []
