"""manage.py make_demo_study: a seeded, labelled, open demo study through the import path."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path

from django.contrib.auth import authenticate
from django.core.management import call_command

from listening.models import Stimulus, Study
from listening.models.rights import is_researcher
from tests.listening.base import BaseTestCase


class MakeDemoStudyTestCase(BaseTestCase):
    def test_it_generates_imports_prepares_and_opens_a_demo_study(self) -> None:
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        out = io.StringIO()
        call_command(
            "make_demo_study",
            tracks=5,
            seconds=12,
            folder=folder / "audio",
            password="s3cret-pw",
            verbosity=0,
            stdout=out,
            stderr=io.StringIO(),
        )
        study = Study.objects.get(is_demo=True)
        assert study.status == "open"
        assert "Synthetic demo material" in study.description
        # What participants read names no system, service, role or version kind.
        public = f"{study.participant_title} {study.public_description}".lower()
        assert study.public_title
        for word in ("ai", "human", "engineer", "master", "mastering", "mastered", "mix", "landr"):
            assert not re.search(rf"\b{word}\b", public), word
        landing = self.client.get(study.participant_path()).content.decode()
        assert study.public_title in landing
        assert study.title not in landing
        # Every shipped language, its public texts translated (and still naming nothing).
        assert study.languages == ["en", "de", "es"]
        study.full_clean()
        for language, title in (("de", "Demo-Hörstudie"), ("es", "Estudio de escucha")):
            page = self.client.get(study.participant_path(), headers={"Accept-Language": language})
            assert f'<html lang="{language}">' in page.content.decode()
            assert title in page.content.decode()
            texts = study.participant_texts(language)
            public = f"{texts['public_title']} {texts['public_description']}".lower()
            for word in ("ai", "ia", "human", "master", "mastering", "mix", "landr"):
                assert not re.search(rf"\b{word}\b", public), (language, word)
        assert sorted(study.tracks.values_list("genre", flat=True)) == [
            "classical",
            "electronic",
            "jazz",
            "pop",
            "rock",
        ]
        stimuli = Stimulus.objects.filter(track__study=study)
        assert stimuli.count() == 25  # mix, AI master, engineer master, 2 anchors
        assert not stimuli.exclude(status="ready").exists()
        assert set(stimuli.filter(role="master").values_list("provider", flat=True)) == {
            "AI service (demo)",
            "Engineer (demo)",
        }
        assert (folder / "audio" / "manifest.csv").is_file()
        researcher = authenticate(username="researcher", password="s3cret-pw")
        assert researcher is not None
        assert researcher.is_staff  # type: ignore[union-attr]
        assert is_researcher(researcher)  # the API and the results pages need the right
        text = out.getvalue()
        assert f"http://127.0.0.1:8000/s/{study.public_token}/" in text
        assert "http://127.0.0.1:8000/admin/" in text
        # Simulated participants (24 by default) make the dashboard and report show data,
        # and are flagged as simulated.
        sessions = study.sessions.all()
        assert sessions.count() == 24
        assert not sessions.filter(simulated=False).exists()
        assert f"/studies/{study.pk}/results/" in text
        # Objective metrics are left to the worker: one task per track.
        assert len([n for n, _ in self.queued() if n == "measure_track_task"]) == 5
