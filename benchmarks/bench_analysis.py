"""Benchmark the analysis package on a 4-minute stereo 44.1 kHz 24-bit pair.

Each case runs in a fresh subprocess so its peak memory (ru_maxrss) is its own.
Cases:
  (a) floor     decode both files (soundfile)
  (b) by hand   what a researcher would otherwise script: pyloudnorm loudness of both
                files, pystoi STOI and ESTOI, scipy.signal.coherence over the whole pair
  (c) families  each metric family of ours on the decoded pair
  (d) measure   the full analysis.measure_files (decoding included)

Usage: python benchmarks/bench_analysis.py [--seconds 240] [--repeat 3]
Prints a table: best wall time of the repeats, real-time factor, peak RSS, and the
ratios (d)/(a) and (d)/(b).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))

CASES = [
    "floor_decode",
    "by_hand",
    "loudness",
    "dynamic_range",
    "spectral",
    "alignment",
    "distortion",
    "intelligibility",
    "imports_only",
    "measure",
]


def make_files(seconds: float) -> tuple[Path, Path]:
    """Write the seeded mix and its AI-style master once (24-bit WAV)."""
    import soundfile as sf

    from analysis.stimuli.synthesis import ai_style_master, synthetic_mix

    OUT.mkdir(parents=True, exist_ok=True)
    mix_path = OUT / f"mix_{int(seconds)}s.wav"
    master_path = OUT / f"master_{int(seconds)}s.wav"
    if not (mix_path.exists() and master_path.exists()):
        mix = synthetic_mix(seconds, 44100, genre="pop", seed=7)
        master = ai_style_master(mix, 44100)
        # the master starts 0.25 s later, as a delivered master often does
        import numpy as np

        master = np.concatenate([np.zeros((11025, 2)), master])
        sf.write(mix_path, mix, 44100, subtype="PCM_24")
        sf.write(master_path, np.clip(master, -1, 1 - 2**-23), 44100, subtype="PCM_24")
    return master_path, mix_path


def run_case(case: str, master_path: Path, mix_path: Path) -> float:
    """Run one case in this process and return its wall time in seconds."""
    import numpy as np
    import soundfile as sf

    if case == "imports_only":
        import pyloudnorm  # noqa: F401
        import pystoi  # noqa: F401

        import analysis.metrics.measure  # noqa: F401

        return 0.0
    if case == "measure":
        from analysis.metrics.measure import measure_files

        t0 = time.perf_counter()
        measure_files(master_path, mix_path)
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    master, rate = sf.read(master_path, dtype="float64", always_2d=True)
    mix, _ = sf.read(mix_path, dtype="float64", always_2d=True)
    decoded = time.perf_counter()
    if case == "floor_decode":
        return decoded - t0
    if case == "by_hand":
        import pyloudnorm as pyln
        from pystoi import stoi
        from scipy.signal import coherence

        t0 = time.perf_counter()
        meter = pyln.Meter(rate)
        meter.integrated_loudness(master)
        meter.integrated_loudness(mix)
        n = min(len(master), len(mix))
        x, y = mix[:n].mean(axis=1), master[:n].mean(axis=1)
        stoi(x, y, rate, extended=False)
        stoi(x, y, rate, extended=True)
        coherence(x, y, fs=rate, nperseg=2048)
        return time.perf_counter() - t0

    from analysis.metrics.alignment import align, aligned_pair

    if case in ("distortion", "intelligibility"):
        a = align(master, mix, rate)
        m, x = aligned_pair(master, mix, a)
    t0 = time.perf_counter()
    if case == "loudness":
        from analysis.metrics.loudness import measure_loudness

        measure_loudness(master, rate)
    elif case == "dynamic_range":
        from analysis.metrics.dynamic_range import dynamic_range

        dynamic_range(master, rate)
    elif case == "spectral":
        from analysis.metrics.spectral import measure_spectrum

        measure_spectrum(master, rate)
    elif case == "alignment":
        a = align(master, mix, rate)
        aligned_pair(master, mix, a)
    elif case == "distortion":
        from analysis.metrics.distortion import distortion

        distortion(m, x, rate)
    elif case == "intelligibility":
        from analysis.metrics.intelligibility import intelligibility

        intelligibility(m, x, rate)
    else:
        raise SystemExit(f"unknown case {case}")
    elapsed = time.perf_counter() - t0
    np.asarray(0)
    return elapsed


def child(case: str, master: str, mix: str, repeat: int) -> None:
    """Entry point of the per-case subprocess: prints JSON with times and peak RSS."""
    times = [run_case(case, Path(master), Path(mix)) for _ in range(repeat)]
    print(json.dumps({"case": case, "best": min(times), "times": times, "peak_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it resets at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("CASE", "MASTER", "MIX"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, repeat=args.repeat)
        return
    master, mix = make_files(args.seconds)
    results = {}
    for case in CASES:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--repeat",
                str(args.repeat),
                "--child",
                case,
                str(master),
                str(mix),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
    dur = args.seconds
    print(f"4-minute pair: {dur:.0f} s stereo 44.1 kHz 24-bit; best of {args.repeat}")
    print(f"{'case':<18}{'wall s':>9}{'x real time':>13}{'peak RSS MB':>13}")
    for case in CASES:
        r = results[case]
        rtf = dur / r["best"] if r["best"] > 0 else float("inf")
        rtf_s = f"{rtf:.0f}" if r["best"] > 0 else "-"
        print(f"{case:<18}{r['best']:>9.3f}{rtf_s:>13}{r['peak_mb']:>13.0f}")
    d, a, b = (
        results["measure"]["best"],
        results["floor_decode"]["best"],
        results["by_hand"]["best"],
    )
    print(f"ratio (d) measure / (a) decode floor: {d / a:.1f}")
    print(f"ratio (d) measure / (b) by-hand chain: {d / b:.2f}")


if __name__ == "__main__":
    main()
