"""One BaseTestCase with named personas, a temporary MEDIA_ROOT and generated audio."""

from __future__ import annotations

import io
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django_tasks import default_task_backend
from rest_framework.test import APIClient

from analysis.audio import resample
from analysis.stimuli.synthesis import ai_style_master, engineer_style_master, synthetic_mix
from listening.models import Stimulus, Study, Track
from listening.research.researchers import grant_researcher
from listening.stimuli.originals import file_sha256, inspect_original, store_original

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
RATE = 44100
SECONDS = 12.0


@lru_cache(maxsize=8)
def versions(genre: str = "pop", seed: int = 1, seconds: float = SECONDS) -> dict[str, Any]:
    """A seeded synthetic mix with an AI-style and an engineer-style master (44.1 kHz)."""
    mix = synthetic_mix(seconds, RATE, genre=genre, seed=seed)
    return {"mix": mix, "ai": ai_style_master(mix, RATE), "human": engineer_style_master(mix, RATE)}


def wav_bytes(audio: np.ndarray, rate: int = RATE, **options: Any) -> bytes:
    buffer = io.BytesIO()
    kwargs = {"format": "WAV", "subtype": "PCM_24", **options}
    sf.write(buffer, audio, rate, **kwargs)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def with_lead_in(audio: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    return np.concatenate([np.zeros((round(seconds * rate), audio.shape[1])), audio])


class TemporaryMediaRootMixin:
    """Give each test class its own MEDIA_ROOT, removed afterwards."""

    media_root: Path
    #: Empty MEDIA_ROOT before each test (off for classes that prepare files once per class).
    clean_media_per_test = True

    @classmethod
    def setUpClass(cls) -> None:
        cls.media_root = Path(tempfile.mkdtemp(prefix="listening-media-"))
        cls._media_override = override_settings(MEDIA_ROOT=cls.media_root)
        cls._media_override.enable()
        super().setUpClass()  # type: ignore[misc]

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()  # type: ignore[misc]
        cls._media_override.disable()
        shutil.rmtree(cls.media_root, ignore_errors=True)

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        if not self.clean_media_per_test:
            return
        # Database rows roll back after each test; files would not, so start each test empty.
        for child in self.media_root.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    def stored_files(self, folder: str = "") -> list[Path]:
        root = self.media_root / folder
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class StudyFixtures:
    """Personas (a researcher who owns a study, a collaborator on it, an outsider: all three
    researchers) and audio."""

    researcher: User
    collaborator: User
    outsider: User
    study: Study

    @classmethod
    def make_personas(cls) -> None:
        cls.researcher = User.objects.create_user("researcher", password="pw", is_staff=True)
        cls.collaborator = User.objects.create_user("collaborator", password="pw", is_staff=True)
        cls.outsider = User.objects.create_user("outsider", password="pw", is_staff=True)
        for user in (cls.researcher, cls.collaborator, cls.outsider):
            grant_researcher(user)
        cls.study = Study.objects.create(
            owner=cls.researcher,
            title="Masters study",
            excerpt_start=4.0,
            excerpt_length=5.0,
            sample_rate=48000,
        )
        cls.study.collaborators.add(cls.collaborator)

    @classmethod
    def add_track(
        cls, title: str = "Song", genre: str = "pop", study: Study | None = None
    ) -> Track:
        study = study or cls.study
        return Track.objects.create(study=study, title=title, genre=genre)

    @classmethod
    def add_stimulus(
        cls,
        track: Track,
        audio: np.ndarray,
        *,
        role: str = "mix",
        system: str = "none",
        provider: str = "",
        rate: int = RATE,
        name: str | None = None,
    ) -> Stimulus:
        """Store a generated original the way an upload is stored (decode-validated)."""
        folder = Path(tempfile.mkdtemp())
        try:
            path = folder / (name or f"{track.title}-{role}-{system}.wav")
            path.write_bytes(wav_bytes(audio, rate))
            info = inspect_original(path, filename=path.name)
            stimulus = Stimulus(track=track, role=role, system=system, provider=provider)
            store_original(stimulus, path, info)
        finally:
            shutil.rmtree(folder)
        return stimulus

    @classmethod
    def add_full_track(
        cls, title: str = "Song", genre: str = "pop", seed: int = 1, *, human: bool = True
    ) -> Track:
        """A track with a mix, an AI master (delivered late, at 48 kHz) and a human master."""
        track = cls.add_track(title, genre)
        v = versions(genre, seed)
        cls.add_stimulus(track, v["mix"])
        ai = resample(with_lead_in(v["ai"], RATE, 0.5), RATE, 48000)
        cls.add_stimulus(track, ai, role="master", system="ai", provider="LANDR", rate=48000)
        if human:
            cls.add_stimulus(track, v["human"], role="master", system="human", provider="Eng 1")
        return track


@override_settings(TASKS=DUMMY)
class BaseTestCase(StudyFixtures, TemporaryMediaRootMixin, TestCase):
    """The web tests' base: personas, a temporary MEDIA_ROOT, tasks recorded but not run."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def setUp(self) -> None:
        super().setUp()
        self.client_api = APIClient()
        if hasattr(default_task_backend, "clear"):
            default_task_backend.clear()

    def login(self, user: User) -> APIClient:
        self.client_api.force_authenticate(user)
        self.client.force_login(user)
        return self.client_api

    def queued(self) -> list[tuple[str, list[Any]]]:
        """Tasks the dummy backend received: (task name, args)."""
        return [(r.task.name, list(r.args)) for r in getattr(default_task_backend, "results", [])]


__all__ = [
    "DUMMY",
    "IMMEDIATE",
    "RATE",
    "BaseTestCase",
    "StudyFixtures",
    "TemporaryMediaRootMixin",
    "file_sha256",
    "upload",
    "versions",
    "wav_bytes",
    "with_lead_in",
]
