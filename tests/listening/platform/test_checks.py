"""System checks for the deployment settings the app relies on."""

from __future__ import annotations

import os
import tempfile

from django.test import SimpleTestCase, override_settings

from listening.platform.checks import check_audio_settings, check_media_root, check_task_backend
from tests.listening.base import IMMEDIATE


class ChecksTestCase(SimpleTestCase):
    def test_it_passes_the_default_settings(self) -> None:
        assert check_audio_settings() == []
        assert check_task_backend() == []

    def test_it_needs_a_writable_media_root(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            with override_settings(MEDIA_ROOT=os.path.join(folder, "new", "media")):
                assert check_media_root() == []  # creatable is enough
            blocker = os.path.join(folder, "a-file")
            open(blocker, "w").close()
            with override_settings(MEDIA_ROOT=os.path.join(blocker, "media")):
                errors = check_media_root()
        assert [e.id for e in errors] == ["listening.E001"]

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=0, LISTENING_SAMPLE_RATES=[48000, 7])
    def test_it_flags_bad_audio_settings(self) -> None:
        assert [e.id for e in check_audio_settings()] == ["listening.E002", "listening.E003"]

    @override_settings(DEBUG=False, TASKS=IMMEDIATE)
    def test_it_warns_about_the_immediate_backend_in_production(self) -> None:
        assert [w.id for w in check_task_backend()] == ["listening.W001"]
