"""import_study checks what preparation needs before it stores anything (issue 15, items 3-6).

Material: 12 s seeded mixes and pedalboard masters (tests.listening.base.versions), a
master of another song, a master cut short, a mono master, an MP3 master and genres
that are too long or differ only in case.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from listening.models import Stimulus, Study
from listening.research.exports import readme_text, stimulus_rows
from tests.listening.base import IMMEDIATE, BaseTestCase, versions, wav_bytes

HEADER = ["track", "genre", "file", "role", "system", "provider"]


class ImportChecksTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.folder)
        pop, jazz = versions("pop"), versions("jazz")
        files = {
            "mix.wav": pop["mix"],
            "ai.wav": pop["ai"],
            "human.wav": pop["human"],
            "other_song.wav": jazz["ai"],
            "short.wav": pop["ai"][: 4 * 44100],
            "mono.wav": pop["human"].mean(axis=1, keepdims=True),
        }
        for name, audio in files.items():
            (self.folder / name).write_bytes(wav_bytes(audio))
        (self.folder / "low_rate.wav").write_bytes(wav_bytes(pop["human"][::8], 5512))
        (self.folder / "lossy.mp3").write_bytes(wav_bytes(pop["human"], format="MP3", subtype=None))
        self.rows = [
            ["Song", "pop", "mix.wav", "mix", "", ""],
            ["Song", "pop", "ai.wav", "master", "ai", "LANDR"],
        ]

    def run_import(self, rows: list[list[str]], **options: object) -> str:
        with open(self.folder / "manifest.csv", "w", newline="") as f:
            csv.writer(f).writerows([HEADER, *rows])
        out = io.StringIO()
        options = {"owner": "researcher", "title": "Imported", "verbosity": 0, **options}
        call_command("import_study", str(self.folder), stdout=out, stderr=io.StringIO(), **options)
        return out.getvalue()

    def refused(self, rows: list[list[str]], **options: object) -> str:
        with pytest.raises(CommandError) as raised:
            self.run_import(rows, prepare="no", **options)
        assert not Study.objects.filter(title="Imported").exists()
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []
        return str(raised.value)

    def test_a_master_of_another_song_is_refused_with_its_row(self) -> None:
        other = ["Song", "pop", "other_song.wav", "master", "human", "E"]
        message = self.refused([*self.rows, other])
        assert "row 4: other_song.wav does not match the mix mix.wav (row 2)" in message
        assert "correlation" in message

    def test_the_default_excerpt_moves_to_fit_short_material(self) -> None:
        # The default excerpt (30-40 s) cannot fit 12 s clips: it is placed inside them.
        with override_settings(TASKS=IMMEDIATE):
            output = self.run_import(
                [*self.rows, ["Song", "pop", "human.wav", "master", "human", "E"]],
                prepare="now",
            )
        study = Study.objects.get(title="Imported")
        assert study.excerpt_length == 10.0
        assert study.excerpt_start >= 0.5
        assert study.excerpt_start + 10.0 <= 11.5
        assert "does not fit track 'Song'" in output
        progress = study.progress()
        assert (progress["ready"], progress["failed"], progress["finished"]) == (5, 0, True)
        # The alignment was measured at import already, as preparation measured it.
        ai = Stimulus.objects.get(provider="LANDR")
        assert ai.alignment_lag == 0
        assert ai.alignment_correlation > 0.8

    def test_an_excerpt_given_on_the_command_line_is_refused_with_the_fix(self) -> None:
        message = self.refused(self.rows, excerpt_start=25.0, excerpt_length=5.0)
        assert "rows 2, 3: the excerpt 25-30 s does not fit track 'Song'" in message
        assert "its versions share only 0.00-12.00 s" in message
        assert "choose an excerpt start between 0 and 7 s for 5 s" in message

    def test_a_master_too_short_for_the_excerpt_is_refused(self) -> None:
        rows = [*self.rows, ["Song", "pop", "short.wav", "master", "human", "E"]]
        message = self.refused(rows, excerpt_start=2.0, excerpt_length=6.0)
        assert "rows 2, 3, 4: the excerpt 2-8 s does not fit track 'Song'" in message
        assert "share only 0.00-4.00 s" in message

    def test_mono_and_lossy_masters_are_refused_by_default(self) -> None:
        message = self.refused(
            [
                *self.rows,
                ["Song", "pop", "mono.wav", "master", "human", "Mono"],
                ["Song", "pop", "lossy.mp3", "master", "human", "Lossy"],
            ]
        )
        assert "row 4: mono.wav: the file is mono; it would play as dual mono" in message
        assert "accept_mono" in message
        assert "row 5: lossy.mp3: the file is lossy-coded" in message
        assert "accept_lossy" in message

    def test_accepted_mono_and_lossy_masters_are_flagged_on_the_stimulus_and_in_exports(
        self,
    ) -> None:
        rows = [
            *self.rows,
            ["Song", "pop", "mono.wav", "master", "human", "Mono"],
            ["Song", "pop", "lossy.mp3", "master", "human", "Lossy"],
        ]
        with override_settings(TASKS=IMMEDIATE):
            self.run_import(rows, prepare="now", accept_mono=True, accept_lossy=True)
        study = Study.objects.get(title="Imported")
        assert (study.accept_mono, study.accept_lossy) == (True, True)
        mono = Stimulus.objects.get(provider="Mono")
        lossy = Stimulus.objects.get(provider="Lossy")
        assert mono.status == lossy.status == "ready"
        assert (mono.mono_source, mono.lossy_source) == (True, False)
        assert (lossy.mono_source, lossy.lossy_source) == (False, True)
        assert mono.source_flags == ["mono source"]
        assert not Stimulus.objects.get(provider="LANDR").source_flags
        columns, rows_out = stimulus_rows(study)
        table = [dict(zip(columns, row, strict=True)) for row in rows_out]
        flags = {r["provider"]: (r["mono_source"], r["lossy_source"]) for r in table}
        assert flags["Mono"] == (True, False)
        assert flags["Lossy"] == (False, True)
        assert flags["LANDR"] == (False, False)
        # The bundle's README says what was checked and what each flag means.
        readme = readme_text(study, {"stimuli": columns})
        assert "## What was checked at import, and the flags" in readme
        assert "- `mono_source`: the version was made from a mono file" in readme
        assert "| `lossy_source` |" in readme

    def test_a_sample_rate_the_pipeline_cannot_convert_is_refused(self) -> None:
        message = self.refused([*self.rows, ["Song", "pop", "low_rate.wav", "master", "ai", "X"]])
        # One range for every check (the header check at admission and the policy at
        # preparation): 8 kHz to AUDIO_MAX_SAMPLE_RATE.
        assert (
            "row 4: low_rate.wav: 5512 Hz is outside the accepted sample rates (8000-192000 Hz) "
            "(AUDIO_MAX_SAMPLE_RATE)" in message
        )

    def test_a_genre_longer_than_the_column_is_refused_with_its_row(self) -> None:
        long_genre = "Progressive neo-classical post-rock with spoken word and field recordings"
        message = self.refused([["Song", long_genre, "mix.wav", "mix", "", ""]])
        assert f"row 2: genre {long_genre[:20]!r}... has {len(long_genre)} characters" in message

    def test_genres_that_differ_only_in_case_and_spaces_are_one_genre(self) -> None:
        (self.folder / "mix2.wav").write_bytes(wav_bytes(versions("jazz")["mix"]))
        self.run_import(
            [
                ["Song", "Hip-Hop", "mix.wav", "mix", "", ""],
                ["Other", "  hip-hop ", "mix2.wav", "mix", "", ""],
            ],
            prepare="no",
        )
        genres = set(Study.objects.get(title="Imported").tracks.values_list("genre", flat=True))
        assert genres == {"Hip-Hop"}
