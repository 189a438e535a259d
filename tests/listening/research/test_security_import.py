"""import_study with hostile files: stored names are generated, bad files stop the whole import."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.management import CommandError, call_command
from django.test import override_settings

from listening.models import Stimulus, Study
from tests.listening.base import BaseTestCase, versions, wav_bytes

HEADER = ["track", "genre", "file", "role", "system", "provider"]


class ImportAttackTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.root)
        self.folder = self.root / "study"
        self.folder.mkdir()
        v = versions(seconds=6.0)
        (self.root / "outside_mix.wav").write_bytes(wav_bytes(v["mix"]))
        (self.folder / "ai.wav").write_bytes(wav_bytes(v["ai"]))

    def run_import(self, rows: list[list[str]]) -> None:
        with open(self.folder / "manifest.csv", "w", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows])
        call_command(
            "import_study",
            str(self.folder),
            owner="researcher",
            title="Imported",
            prepare="no",
            excerpt_length=5.0,
            verbosity=0,
            stdout=io.StringIO(),
        )

    def assert_nothing_imported(self) -> None:
        assert not Study.objects.filter(title="Imported").exists()
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    def test_a_relative_path_out_of_the_folder_is_stored_under_a_generated_name(self) -> None:
        self.run_import(
            [
                ["Song", "pop", "../outside_mix.wav", "mix", "", ""],
                ["Song", "pop", "ai.wav", "master", "ai", "X"],
            ]
        )
        for stimulus in Stimulus.objects.all():
            stored = Path(stimulus.original.path).resolve()
            assert stored.parent == (self.media_root / "originals").resolve()
            assert len(stored.stem) == 32
            assert stored.stem not in ("outside_mix", "ai")
        names = set(Stimulus.objects.values_list("original_filename", flat=True))
        assert names == {"outside_mix.wav", "ai.wav"}

    def test_disguised_and_bomb_files_stop_the_whole_import(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("zeros", bytes(5_000_000))
        (self.folder / "zip.flac").write_bytes(buffer.getvalue())
        (self.folder / "image.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4000))
        (self.folder / "passwd.wav").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 40)
        rows = [
            ["Song", "pop", "../outside_mix.wav", "mix", "", ""],
            ["Song", "pop", "ai.wav", "master", "ai", "X"],
            ["Song", "pop", "zip.flac", "master", "human", "Y"],
            ["Song", "pop", "image.wav", "master", "human", "Z"],
            ["Song", "pop", "passwd.wav", "master", "human", "W"],
        ]
        with pytest.raises(CommandError) as error:
            self.run_import(rows)
        for row, name in ((4, "zip.flac"), (5, "image.wav"), (6, "passwd.wav")):
            assert f"row {row}: {name}: not a readable audio file" in str(error.value)
        self.assert_nothing_imported()

    @override_settings(AUDIO_MAX_SECONDS=600)
    def test_a_file_decoding_to_too_much_audio_stops_the_import(self) -> None:
        sf.write(self.folder / "long.flac", np.full((11 * 60 * 8000, 1), 0.25), 8000)
        with pytest.raises(CommandError, match=r"long\.flac: 11\.0 minutes of audio"):
            self.run_import(
                [
                    ["Song", "pop", "../outside_mix.wav", "mix", "", ""],
                    ["Song", "pop", "long.flac", "master", "ai", "X"],
                ]
            )
        self.assert_nothing_imported()
