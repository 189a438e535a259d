"""Benchmark stimulus preparation (issue 3): one stimulus, and a whole study end to end.

Cases, each in a fresh subprocess (peak memory is VmHWM of that process):
  floor_decode     decode one 4-minute mix and its master (soundfile)
  one_stimulus     prepare one 30 s stimulus from a 4-minute master: decode, conform to
                   48 kHz stereo, align to the mix, cut the excerpt, fade, measure and
                   match loudness, encode FLAC (the mix's excerpt is prepared too, since
                   matching needs it; the time is per master stimulus)
  study_floor      decode every source of a 10-track, 3-version study
  study            import_study --prepare now of that study into a fresh SQLite database
                   (validation, sha256, storing originals, the per-track pipeline with
                   both anchors off), objective metrics excluded

Usage: python benchmarks/bench_preparation.py [--seconds 240] [--tracks 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
GENRES = ("pop", "rock", "jazz", "classical", "electronic")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_study_folder(seconds: float, tracks: int) -> Path:
    """Write a seeded study (mix, AI-style and engineer-style master per track) with a manifest."""
    import numpy as np
    import soundfile as sf

    from analysis.stimuli.synthesis import ai_style_master, engineer_style_master, synthetic_mix

    folder = OUT / f"study_{tracks}x{int(seconds)}s"
    manifest = folder / "manifest.csv"
    if manifest.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(tracks):
        genre = GENRES[i % len(GENRES)]
        mix = synthetic_mix(seconds, 44100, genre=genre, seed=100 + i)
        lead_in = np.zeros((int(0.2 * 44100 * (i % 3)), 2))  # masters start a little later
        for role, system, provider, audio in (
            ("mix", "none", "", mix),
            ("master", "ai", "AI service", np.concatenate([lead_in, ai_style_master(mix, 44100)])),
            ("master", "human", "Engineer", engineer_style_master(mix, 44100)),
        ):
            name = f"t{i:02d}_{role}_{system}.wav"
            sf.write(folder / name, np.clip(audio, -1, 1 - 2**-23), 44100, subtype="PCM_24")
            rows.append([f"Track {i + 1}", genre, name, role, system, provider])
    with manifest.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "genre", "file", "role", "system", "provider"])
        w.writerows(rows)
    return folder


def _one_stimulus(folder: Path) -> float:
    import soundfile as sf

    from analysis.io import read_audio, write_audio
    from analysis.stimuli.excerpt import (
        ExcerptSpec,
        align_to_mix,
        apply_fades,
        conform_span,
        cut_excerpt,
    )
    from analysis.stimuli.levels import apply_gain, match_loudness, measure_level

    spec = ExcerptSpec(rate=48000, start=60.0, length=30.0, fade_ms=20.0)
    t0 = time.perf_counter()
    mix_file = read_audio(folder / "t00_mix_none.wav")
    master_file = read_audio(folder / "t00_master_ai.wav")
    mix_span = conform_span(mix_file.samples, mix_file.rate, spec)
    aligned, offset, _ = align_to_mix(master_file.samples, mix_file.samples, mix_file.rate)
    master_span = conform_span(aligned, mix_file.rate, spec, offset=offset)
    excerpts = [
        apply_fades(cut_excerpt(mix_span[0], spec, offset=mix_span[1], name="mix"), spec),
        apply_fades(cut_excerpt(master_span[0], spec, offset=master_span[1]), spec),
    ]
    levels = [measure_level(x, spec.rate) for x in excerpts]
    match = match_loudness(levels, target_lufs=-23.0, ceiling_dbtp=-1.0)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (x, gain) in enumerate(zip(excerpts, match.gains_db, strict=True)):
            write_audio(Path(tmp) / f"{k}.flac", apply_gain(x, gain), spec.rate)
        sf.info(str(Path(tmp) / "1.flac"))
    return time.perf_counter() - t0


def _decode(paths: list[Path]) -> float:
    import soundfile as sf

    t0 = time.perf_counter()
    for p in paths:
        sf.read(p, dtype="float64", always_2d=True)
    return time.perf_counter() - t0


def _study(folder: Path) -> float:
    with tempfile.TemporaryDirectory() as var:
        os.environ["APP_VAR_DIR"] = var
        os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"  # metrics excluded
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django
        from django.core.management import call_command

        django.setup()
        from django.contrib.auth import get_user_model

        call_command("migrate", verbosity=0)
        from listening.research.researchers import grant_researcher

        grant_researcher(get_user_model().objects.create_user("bench", password="bench-password-1"))
        t0 = time.perf_counter()
        call_command(
            "import_study",
            str(folder),
            owner="bench",
            excerpt_start=60.0,
            excerpt_length=30.0,
            prepare="now",
            verbosity=0,
        )
        elapsed = time.perf_counter() - t0
        from listening.models import Stimulus

        states = list(Stimulus.objects.values_list("status", flat=True))
        if any(s != "ready" for s in states):
            raise SystemExit(f"preparation failed: {states}")
        return elapsed


def child(case: str, folder: Path, repeat: int) -> None:
    if case == "floor_decode":
        paths = [folder / "t00_mix_none.wav", folder / "t00_master_ai.wav"]
        times = [_decode(paths) for _ in range(repeat)]
    elif case == "one_stimulus":
        times = [_one_stimulus(folder) for _ in range(repeat)]
    elif case == "study_floor":
        times = [_decode(sorted(folder.glob("*.wav"))) for _ in range(repeat)]
    elif case == "study":
        times = [_study(folder)]  # django.setup() once per process
    else:
        raise SystemExit(f"unknown case {case}")
    print(json.dumps({"case": case, "best": min(times), "times": times, "peak_mb": _peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--tracks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.repeat)
        return
    folder = make_study_folder(args.seconds, args.tracks)
    results = {}
    for case in ("floor_decode", "one_stimulus", "study_floor", "study"):
        proc = subprocess.run(
            [sys.executable, __file__, "--repeat", str(args.repeat), "--child", case, str(folder)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
    n_sources = 3 * args.tracks
    print(
        f"sources: {args.seconds:.0f} s stereo 44.1 kHz 24-bit WAV; excerpt 30 s at 48 kHz; "
        f"study {args.tracks} tracks x 3 versions; best of {args.repeat} (study: 1 run)"
    )
    print(f"{'case':<16}{'wall s':>9}{'peak RSS MB':>13}")
    for case, r in results.items():
        print(f"{case:<16}{r['best']:>9.3f}{r['peak_mb']:>13.0f}")
    one = results["one_stimulus"]["best"]
    study = results["study"]["best"]
    print(f"one stimulus / its decode floor: {one / results['floor_decode']['best']:.1f}")
    print(
        f"study per source file: {study / n_sources:.2f} s "
        f"(decode floor {results['study_floor']['best'] / n_sources:.2f} s)"
    )
    print(f"study / its decode floor: {study / results['study_floor']['best']:.1f}")


if __name__ == "__main__":
    main()
