"""Benchmark the results exports on a large study in a temporary SQLite database.

Builds 1,000 participants x 20 trials x 6 rated conditions x 4 attributes = 480,000
ratings with bulk_create (the hidden reference, two AI masters, a human master and two
anchors per trial), then times, each in a fresh subprocess so that the peak memory
(VmHWM from /proc/self/status) is that step's own:

  csv_ratings     the streamed CSV export of the ratings (target < 10 s)
  jsonl_ratings   the same as JSON Lines
  webmushra       the webMUSHRA CSV
  bundle          the full results bundle: every table, the statistics and the HTML
                  report (analysis.stats + analysis.report) and the README (target < 60 s)
  monitor_tables  the live dashboard's floor: the ratings, ABX and preference tables read
                  back as the report reads them (listening.research.exports.analysis_tables)
  monitor_fit     the live dashboard's refit: those tables plus the primary model on every
                  participant (listening.research.workspace.estimate.fit_estimate;
                  cached between refits)

Usage: python benchmarks/bench_export.py [--participants 1000] [--trials 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STEPS = ("csv_ratings", "jsonl_ratings", "webmushra", "bundle", "monitor_tables", "monitor_fit")


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(participants: int, trials: int) -> int:
    """Create the study with bulk_create; return its id."""
    import numpy as np
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from listening.models import Condition, Rating, Session, Stimulus, Study, Track, Trial

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(0)
    owner = User.objects.create_user("bench")
    attributes = ["overall quality", "clarity", "punch", "width"]
    study = Study.objects.create(
        owner=owner, title="Benchmark", reference_mode="mix", attributes=attributes
    )
    versions = []  # per track: (stimulus, condition role, mean score)
    for t in range(trials):
        track = Track.objects.create(study=study, title=f"T{t:02d}", genre="pop", position=t)
        ready = {"track": track, "status": "ready", "prepared": "prepared/x.flac"}
        mix = Stimulus.objects.create(role="mix", **ready)
        metric = {"integrated": -9.0 + rng.normal(), "dr_value": 8.0 + rng.normal()}
        ai = Stimulus.objects.create(
            role="master", system="ai", provider="A", metrics=metric, metrics_version="b", **ready
        )
        ai2 = Stimulus.objects.create(role="master", system="ai", provider="B", **ready)
        metric = {"integrated": -10.0 + rng.normal(), "dr_value": 9.0 + rng.normal()}
        human = Stimulus.objects.create(
            role="master",
            system="human",
            provider="E",
            metrics=metric,
            metrics_version="b",
            **ready,
        )
        a35, a70 = (
            Stimulus.objects.create(role="anchor", anchor_cutoff_hz=c, derived_from=mix, **ready)
            for c in (3500.0, 7000.0)
        )
        versions.append(
            [
                (mix, "hidden_reference", 97),
                (ai, "test", 61),
                (ai2, "test", 63),
                (human, "test", 65),
                (a35, "anchor", 20),
                (a70, "anchor", 45),
            ]
        )
    now = timezone.now()
    means = np.array([m for track in versions for (_, _, m) in track], dtype=float)
    reference = np.array(
        [role == "hidden_reference" for track in versions for (_, role, _) in track]
    )
    track_effect = np.repeat(rng.normal(0.0, 4.0, trials), len(versions[0]))
    for _ in range(participants):
        session = Session.objects.create(
            study=study, state="complete", simulated=True, completed_at=now, ended_at=now
        )
        trial_rows = Trial.objects.bulk_create(
            Trial(session=session, position=i + 1, track_id=versions[i][0][0].track_id,
                  kind="mushra", state="done", started_at=now, completed_at=now)
            for i in range(trials)
        )  # fmt: skip
        conditions = Condition.objects.bulk_create(
            Condition(trial=trial, stimulus=s, position=j, role=role)
            for trial, track in zip(trial_rows, versions, strict=True)
            for j, (s, role, _) in enumerate(track)
        )
        # The additive model of analysis.stats.simulation: participant and track effects.
        level = means + rng.normal(0.0, 6.0) + track_effect
        scores = rng.normal(level[:, None], 8.0, (len(level), len(attributes)))
        scores[reference] = 100.0 - np.abs(rng.normal(0.0, 3.0, (reference.sum(), len(attributes))))
        scores = np.clip(scores, 0, 100)
        Rating.objects.bulk_create(
            (
                Rating(trial_id=c.trial_id, condition=c, attribute=a, score=int(scores[i, k]))
                for i, c in enumerate(conditions)
                for k, a in enumerate(attributes)
            ),
            batch_size=2000,
        )
    return int(study.pk)


def run_step(step: str, study_id: int) -> None:
    from listening.models import Study
    from listening.research import exports

    study = Study.objects.get(pk=study_id)
    started = time.perf_counter()
    size = 0
    if step == "bundle":
        with tempfile.TemporaryFile() as target:
            exports.write_bundle(study, target)
            size = target.tell()
    elif step == "monitor_tables":
        frames = exports.analysis_tables(study).values()
        size = sum(int(frame.memory_usage(deep=True).sum()) for frame in frames)
    elif step == "monitor_fit":
        from listening.research.workspace.estimate import fit_estimate

        estimate = fit_estimate(study)
        assert estimate["panels"], estimate
        assert not estimate["reason"], estimate
    else:
        table, fmt = {
            "csv_ratings": ("ratings", "csv"),
            "jsonl_ratings": ("ratings", "jsonl"),
            "webmushra": ("webmushra", "csv"),
        }[step]
        for chunk in exports.export_chunks(study, table, fmt):
            size += len(chunk)
    print(f"{step}\t{time.perf_counter() - started:.2f}\t{peak_mib():.0f}\t{size / 2**20:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--study", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:  # a measured step in its own process
        setup_django(args.database)
        run_step(args.step, args.study)
        return

    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        database = Path(folder) / "db.sqlite3"
        os.environ["APP_VAR_DIR"] = folder
        setup_django(database)
        started = time.perf_counter()
        study = build(args.participants, args.trials)
        built = time.perf_counter() - started
        from listening.models import Rating

        n = Rating.objects.count()
        print(f"ratings {n:,d} ({args.participants} participants x {args.trials} trials x 6 x 4)")
        print(f"build (bulk_create) {built:.1f} s, peak {peak_mib():.0f} MiB\n")
        print(f"{'step':<15}{'time (s)':>10}{'peak (MiB)':>12}{'output (MiB)':>14}")
        for step in STEPS:
            result = subprocess.run(
                [sys.executable, __file__, "--step", step, "--database", str(database),
                 "--study", str(study)],
                capture_output=True, text=True, check=True, env=os.environ.copy(),
            )  # fmt: skip
            name, seconds, peak, size = result.stdout.strip().splitlines()[-1].split("\t")
            print(f"{name:<15}{float(seconds):>10.2f}{float(peak):>12.0f}{float(size):>14.1f}")


if __name__ == "__main__":
    main()
