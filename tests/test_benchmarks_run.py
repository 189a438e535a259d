"""Every quick benchmark still runs to its table (on tiny inputs; nothing is timed here).

Benchmarks import the code they measure and the test fixtures they build studies with;
a moved module or a changed fixture signature breaks them silently until someone wants a
number. Two had broken that way before this test existed (``build_session`` had gained a
``study`` argument). Each runs in its own process, as a user runs it; the slow ones that
drive Chromium or gunicorn (``bench_participant.py``, ``load_participants.py``) are left to
their own runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    (["bench_analysis.py", "--seconds", "20", "--repeat", "1"], "measure"),
    (["bench_playback_size.py", "--seconds", "5", "--pool", "2"], "saving:"),
    (["bench_true_peak.py", "--seconds", "3", "--seeds", "1"], "worst libebur128 reading"),
    (["bench_calibration.py", "--studies", "4", "--ab-studies", "4", "--jobs", "1"], "%"),
    (["bench_report.py", "--participants", "60", "--tracks", "4", "--resamples", "99"], "total"),
    (["bench_export.py", "--participants", "20", "--trials", "4"], "monitor_fit"),
    (["bench_preparation.py", "--seconds", "100", "--tracks", "1", "--repeat", "1"], "study"),
    (["bench_rating_save.py", "--saves", "10", "--rounds", "1"], "general"),
    (["bench_audio_evidence.py", "--fetches", "10", "--rounds", "1"], "recorded"),
]


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="the benchmarks build their own SQLite databases: run once, in the SQLite pass",
)
@pytest.mark.parametrize(("args", "expected"), CASES, ids=[c[0][0] for c in CASES])
def test_the_benchmark_runs_to_its_table(args: list[str], expected: str, tmp_path: Path) -> None:
    if args[0] == "bench_report.py":
        args = [*args, "--out", str(tmp_path / "report.html")]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]


def test_every_benchmark_is_run_here_or_named_as_left_to_its_own_run() -> None:
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    covered = {args[0] for args, _ in CASES} | {"bench_participant.py", "load_participants.py"}
    assert scripts == covered
