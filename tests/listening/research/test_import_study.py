"""manage.py import_study: every bad row reported with its number, nothing imported half-way."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from listening.models import Stimulus, Study
from tests.listening.base import BaseTestCase, file_sha256, versions, wav_bytes

HEADER = ["track", "genre", "file", "role", "system", "provider"]


class ImportStudyTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.folder)
        for genre in ("pop", "jazz"):
            for name, audio in versions(genre).items():
                (self.folder / f"{genre}_{name}.wav").write_bytes(wav_bytes(audio))
        self.rows = [
            ["Pop song", "pop", "pop_mix.wav", "mix", "", ""],
            ["Pop song", "pop", "pop_ai.wav", "master", "ai", "LANDR"],
            ["Pop song", "pop", "pop_human.wav", "master", "human", "Engineer 1"],
            ["Jazz song", "jazz", "jazz_mix.wav", "mix", "none", ""],
            ["Jazz song", "jazz", "jazz_ai.wav", "master", "ai", "eMastered"],
            ["Jazz song", "jazz", "jazz_human.wav", "master", "human", "Engineer 2"],
        ]

    def run_import(self, rows: list[list[str]], **options: object) -> str:
        with open(self.folder / "manifest.csv", "w", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows])
        out = io.StringIO()
        options = {"owner": "researcher", "title": "Imported", "verbosity": 0, **options}
        call_command("import_study", str(self.folder), stdout=out, stderr=io.StringIO(), **options)
        return out.getvalue()

    def assert_nothing_imported(self) -> None:
        assert not Study.objects.filter(title="Imported").exists()
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    def test_it_imports_a_study_and_queues_preparation(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            output = self.run_import(
                self.rows, paradigm="ab", excerpt_start=2.0, excerpt_length=6.0
            )
        study = Study.objects.get(title="Imported")
        assert (study.owner, study.paradigm, study.excerpt_length) == (self.researcher, "ab", 6.0)
        assert [t.title for t in study.tracks.all()] == ["Pop song", "Jazz song"]
        assert study.tracks.get(title="Jazz song").genre == "jazz"
        ai = Stimulus.objects.get(provider="LANDR")
        assert (ai.role, ai.system, ai.original_filename) == ("master", "ai", "pop_ai.wav")
        # Originals are stored unchanged.
        for stimulus in Stimulus.objects.all():
            source = self.folder / stimulus.original_filename
            assert stimulus.original_sha256 == file_sha256(source)
            assert file_sha256(stimulus.original.path) == file_sha256(source)
        assert sorted(args[0] for name, args in self.queued()) == sorted(
            study.tracks.values_list("pk", flat=True)
        )
        assert "Imported study" in output

    def test_it_reports_every_bad_row_and_imports_nothing(self) -> None:
        (self.folder / "notes.wav").write_text("not audio at all")
        (self.folder / "silence.wav").write_bytes(wav_bytes(np.zeros((44100 * 8, 2))))
        (self.folder / "surround.wav").write_bytes(
            wav_bytes(np.tile(versions()["mix"][:, :1], (1, 3)))
        )
        rows = [
            *self.rows[:3],
            ["Pop song", "pop", "missing.wav", "master", "ai", "X"],  # row 5
            ["Pop song", "pop", "notes.wav", "master", "human", "X"],  # row 6
            ["Pop song", "pop", "silence.wav", "master", "ai", "X"],  # row 7
            ["Pop song", "pop", "surround.wav", "master", "ai", "X"],  # row 8
            ["Pop song", "rock", "pop_ai.wav", "master", "ai", "Copy"],  # row 9
            ["Jazz song", "jazz", "jazz_ai.wav", "remix", "ai", ""],  # row 10
            ["Jazz song", "jazz", "jazz_human.wav", "master", "robot", ""],  # row 11
        ]
        with pytest.raises(CommandError) as raised:
            self.run_import(rows)
        message = str(raised.value)
        expected = [
            "row 5: missing.wav: no such file",
            "row 6: notes.wav: not a readable audio file",
            "row 7: silence.wav: the audio is digital silence",
            "row 8: surround.wav has 3 channels; only mono and stereo are supported",
            "row 9: pop_ai.wav: the same audio file as row 3",
            "row 10: role 'remix' must be mix or master",
            "row 10: track 'Jazz song' (rows 10, 11) has no mix",
            "row 11: system 'robot' must be ai or human for a master",
            "row 2: track 'Pop song' (rows 2, 3, 4, 5, 6, 7, 8, 9) has mismatched genres: "
            "pop, rock",
        ]
        for line in expected:
            assert line in message
        assert "nothing was imported" in message
        self.assert_nothing_imported()

    def test_it_copies_the_files_before_it_opens_a_transaction(self) -> None:
        # Copying inside a transaction would hold up every writer (on SQLite, every
        # participant's answer) for as long as the copying takes.
        field = Stimulus._meta.get_field("original")
        storage, depth, seen = field.storage, len(connection.atomic_blocks), []
        original_save = storage.save

        def save(name: str, content: object, **kwargs: object) -> str:
            seen.append(len(connection.atomic_blocks) - depth)
            return original_save(name, content, **kwargs)

        with mock.patch.object(storage, "save", save):
            self.run_import(self.rows)
        assert seen == [0] * len(self.rows)
        assert Stimulus.objects.count() == len(self.rows)
        assert len(self.stored_files("originals")) == len(self.rows)

    def test_a_failure_while_writing_the_rows_removes_the_copied_files(self) -> None:
        from listening.management.commands import import_study

        calls, real = [], import_study.save_original_row

        def failing(stimulus: Stimulus) -> None:
            calls.append(stimulus)
            if len(calls) == 4:
                raise RuntimeError("the database went away")
            real(stimulus)

        with (
            mock.patch.object(import_study, "save_original_row", failing),
            pytest.raises(RuntimeError, match="went away"),
        ):
            self.run_import(self.rows)
        assert len(calls) == 4
        self.assert_nothing_imported()

    @override_settings(AUDIO_UPLOAD_MAX_BYTES=100_000)
    def test_it_rejects_files_above_the_size_limit(self) -> None:
        with pytest.raises(CommandError) as raised:
            self.run_import(self.rows[:1])
        assert "row 2: pop_mix.wav: 3.2 MB is above the upload limit of 0.1 MB" in str(raised.value)
        self.assert_nothing_imported()

    def test_it_rejects_a_second_mix_and_a_missing_column(self) -> None:
        with pytest.raises(CommandError) as raised:
            self.run_import([*self.rows[:3], ["Pop song", "pop", "jazz_mix.wav", "mix", "", ""]])
        assert "row 5: track 'Pop song' has a second mix (first in row 2)" in str(raised.value)
        (self.folder / "manifest.csv").write_text("track,file,role\nA,pop_mix.wav,mix\n")
        with pytest.raises(CommandError) as raised:
            call_command("import_study", str(self.folder), owner="researcher", verbosity=0)
        assert "missing column(s) genre, system, provider" in str(raised.value)
        self.assert_nothing_imported()

    def test_it_needs_a_known_owner(self) -> None:
        with pytest.raises(CommandError) as raised:
            self.run_import(self.rows, owner="nobody")
        assert "no user 'nobody'" in str(raised.value)
