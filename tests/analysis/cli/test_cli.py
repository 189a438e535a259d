"""python -m analysis: measure, loudness, batch; bad input exits non-zero with one line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.cli import main
from analysis.stimuli.synthesis import engineer_style_master, synthetic_mix

RATE = 44100
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    mix = synthetic_mix(16.0, RATE, seed=5)
    sf.write(folder / "mix.wav", mix, RATE, subtype="PCM_24")
    sf.write(folder / "master.flac", engineer_style_master(mix, RATE) * 0.99, RATE)
    sf.write(folder / "silent.wav", np.zeros((RATE * 16, 2)), RATE)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return folder


def test_measure_prints_a_table(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", str(files / "master.flac"), "--mix", str(files / "mix.wav")]) == 0
    out = capsys.readouterr().out
    assert "Integrated loudness" in out
    assert "DM (CSDR < 10 dB)" in out
    assert "metrics version" in out


def test_measure_json_is_one_object(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["measure", str(files / "master.flac"), "--mix", str(files / "mix.wav"), "--json"])
    row = json.loads(capsys.readouterr().out)
    assert row["align_lag"] == 0
    assert row["dm"] == 0.0
    assert row["master"].endswith("master.flac")


def test_bad_input_exits_non_zero_with_one_line(files: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "measure", str(files / "broken.wav"), "--mix",
         str(files / "mix.wav")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: broken.wav")


def test_loudness_lists_each_file(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loudness", str(files / "mix.wav"), str(files / "master.flac"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [Path(r["file"]).name for r in rows] == ["mix.wav", "master.flac"]
    assert rows[1]["integrated"] > rows[0]["integrated"]


def test_batch_reports_a_bad_row_and_measures_the_rest(files: Path) -> None:
    manifest = files / "manifest.csv"
    with manifest.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "master", "mix"])
        w.writerow(["one", "master.flac", "mix.wav"])
        w.writerow(["two", "silent.wav", "mix.wav"])
        w.writerow(["three", "missing.wav", "mix.wav"])
    out = files / "out.csv"
    assert main(["batch", str(manifest), "-o", str(out)]) == 1
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["track"] for r in rows] == ["one", "two", "three"]
    assert rows[0]["error"] == ""
    assert float(rows[0]["integrated"]) < 0
    assert "digital silence" in rows[1]["error"]
    assert "no such file" in rows[2]["error"]


def test_batch_without_required_columns_is_refused(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = files / "bad_manifest.csv"
    manifest.write_text("track,file\none,master.flac\n")
    assert main(["batch", str(manifest), "-o", str(files / "x.csv")]) == 2
    assert "missing column(s) master, mix" in capsys.readouterr().err
