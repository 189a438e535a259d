"""export_results: every format to files or stdout."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from listening.models import Study
from listening.research.exports import TABLES
from tests.listening.base import BaseTestCase
from tests.listening.results_fixtures import ready_study, simulate

N, TRACKS, RATINGS = 3, 2, 3 * 2 * 5 * 2


class ExportCommandTestCase(BaseTestCase):
    results: Study

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.results = ready_study(cls.researcher, n_tracks=TRACKS)
        simulate(cls.results, N)

    def setUp(self) -> None:
        super().setUp()
        self.folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.folder)

    def run_export(self, *args: str) -> str:
        out = io.StringIO()
        call_command(
            "export_results", str(self.results.pk), *args, stdout=out, stderr=io.StringIO()
        )
        return out.getvalue()

    def test_it_writes_every_table_as_csv(self) -> None:
        self.run_export("--format", "csv", "-o", str(self.folder))
        files = sorted(p.name for p in self.folder.iterdir())
        assert files == sorted(f"study-{self.results.pk}-{t}.csv" for t in TABLES)
        ratings = pd.read_csv(self.folder / f"study-{self.results.pk}-ratings.csv")
        assert len(ratings) == RATINGS

    def test_it_writes_one_table_to_stdout(self) -> None:
        text = self.run_export("--format", "csv", "--table", "sessions")
        assert len(pd.read_csv(io.StringIO(text))) == N

    def test_it_writes_json_lines(self) -> None:
        text = self.run_export("--format", "json", "--table", "ratings")
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == RATINGS
        assert all(row["simulated"] is True for row in rows)

    def test_it_writes_webmushra_csv(self) -> None:
        path = self.folder / "mushra.csv"
        self.run_export("--format", "webmushra", "-o", str(path))
        mushra = pd.read_csv(path)
        assert list(mushra.columns)[:3] == ["session_test_id", "session_uuid", "trial_id"]
        assert len(mushra) == RATINGS

    def test_it_writes_the_bundle(self) -> None:
        path = self.folder / "bundle.zip"
        self.run_export("--format", "bundle", "-o", str(path))
        names = zipfile.ZipFile(path).namelist()
        assert len(names) == len(TABLES) + 3

    def test_it_names_bad_requests(self) -> None:
        with pytest.raises(CommandError, match="give a folder"):
            self.run_export("--format", "csv")
        with pytest.raises(CommandError, match="does not exist"):
            call_command("export_results", "999999")
