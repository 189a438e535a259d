"""Benchmark the statistics and HTML report on a large simulated MUSHRA study.

Default: 1,000 participants x 20 tracks x 6 conditions x 4 attributes = 480,000
ratings, plus objective metrics, ABX and AB preference answers. Prints the wall
time of each stage and the peak memory (VmHWM from /proc/self/status).

The primary mixed model of every attribute is fitted on every participant.

Usage: python benchmarks/bench_report.py [--participants 1000] [--tracks 20] [--resamples 9999]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=9999)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "report.html")
    args = parser.parse_args()

    from analysis.report import render_report
    from analysis.stats import analyse_study
    from analysis.stats.simulation import simulate_study

    t0 = time.perf_counter()
    study = simulate_study(args.participants, args.tracks, n_fail_reference=20, n_fail_anchor=10)
    t1 = time.perf_counter()
    results = analyse_study(
        study.ratings,
        metrics=study.metrics,
        abx=study.abx,
        preferences=study.preferences,
        n_resamples=args.resamples,
    )
    t2 = time.perf_counter()
    page = render_report(results, design={"paradigm": "MUSHRA (BS.1534-3)"})
    t3 = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    print(f"ratings            {len(study.ratings):>10,d}")
    print(f"simulate           {t1 - t0:10.2f} s")
    fitted = results.primary
    sizes = (
        ""
        if fitted is None
        else (
            f"primary model on {int(fitted['n_participants'].min())} participants, "
            f"{int(fitted['n_obs'].sum()):,d} master ratings"
        )
    )
    print(f"statistics         {t2 - t1:10.2f} s   ({sizes})")
    print(f"render HTML        {t3 - t2:10.2f} s   ({len(page) / 1e6:.1f} MB -> {args.out})")
    print(f"report total       {t3 - t1:10.2f} s   (target < 60 s)")
    print(f"peak memory VmHWM  {peak_mib():10.0f} MiB (target < 2048 MiB)")


if __name__ == "__main__":
    main()
