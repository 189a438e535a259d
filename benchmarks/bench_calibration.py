"""Calibrate the primary tests by simulation: false-positive rate under the null, and power.

For each design, seeded null studies are drawn from the primary model with the
realistic variance components of docs/statistics.md (The primary model) (participant SD 8, track 6,
track x system 5, participant x system 3, residual 10) and the primary test is run
on each; the share with p < 0.05 should be near 5 %. The same is done with a true
human - AI difference of 5 points for power, and for comparison with the paired
t-test over participant means that treats the tracks as fixed. AB preferences are
simulated on the log-odds scale with participants (and tracks) that differ but
average no preference, and tested with the logistic mixed model, with glmer's z
test and with a sign test that pools the answers.

Usage: python benchmarks/bench_calibration.py [--studies 2000] [--ab-studies 1000] [--jobs 2]
       [--only ratings|ab]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from analysis.stats import compare_systems, preference_model, system_effect  # noqa: E402
from analysis.stats.crossed_simulation import REALISTIC_SDS, simulate_ratings  # noqa: E402

RATING_DESIGNS = ((20, 8), (60, 8), (20, 20), (40, 4), (10, 30))
AB_DESIGNS = ((20, 8, 0.8, 0.0), (20, 8, 0.8, 0.5), (40, 4, 0.5, 0.5), (12, 20, 1.0, 0.3))


def rating_chunk(args: tuple[int, int, float, int, int]) -> tuple[int, int, int, float]:
    participants, tracks, effect, studies, seed = args
    rng = np.random.default_rng(seed)
    primary = fixed = 0
    started = time.perf_counter()
    for _ in range(studies):
        data = simulate_ratings(participants, tracks, effect=effect, sds=REALISTIC_SDS, seed=rng)
        primary += system_effect(data, "overall quality").p < 0.05
        fixed += compare_systems(data).iloc[0]["p_t"] < 0.05
    return primary, fixed, studies, time.perf_counter() - started


def ab_study(
    rng: np.random.Generator, n_p: int, n_t: int, sd_p: float, sd_t: float
) -> pd.DataFrame:
    p, t = (idx.ravel() for idx in np.indices((n_p, n_t)))
    human_first = rng.random(p.size) < 0.5
    eta = rng.normal(0.0, sd_p, n_p)[p] + rng.normal(0.0, sd_t, n_t)[t]
    chose_human = rng.random(p.size) < 1.0 / (1.0 + np.exp(-eta))
    return pd.DataFrame(
        {
            "participant": p.astype(str),
            "track": t.astype(str),
            "attribute": "q",
            "a_system": np.where(human_first, "human", "ai"),
            "b_system": np.where(human_first, "ai", "human"),
            "choice_system": np.where(chose_human, "human", "ai"),
        }
    )


def ab_chunk(args: tuple[int, int, float, float, int, int]) -> tuple[int, int, int, int, float]:
    n_p, n_t, sd_p, sd_t, studies, seed = args
    rng = np.random.default_rng(seed)
    model = wald = sign = 0
    started = time.perf_counter()
    for _ in range(studies):
        prefs = ab_study(rng, n_p, n_t, sd_p, sd_t)
        row = preference_model(prefs).iloc[0]
        model += row["p"] < 0.05
        wald += 2 * stats.norm.sf(abs(row["t"])) < 0.05
        k = int((prefs["choice_system"] == "human").sum())
        sign += stats.binomtest(k, len(prefs)).pvalue < 0.05
    return model, wald, sign, studies, time.perf_counter() - started


def rate(hits: int, n: int) -> str:
    low, high = stats.binomtest(hits, n).proportion_ci(0.95, method="wilson")
    return f"{hits / n:6.1%} ({low:.1%}-{high:.1%})"


def run(pool: ProcessPoolExecutor, func, jobs: int, base: tuple, studies: int, seed: int):
    share = [studies // jobs + (i < studies % jobs) for i in range(jobs)]
    parts = pool.map(func, [(*base, n, seed + i) for i, n in enumerate(share)])
    return [sum(values) for values in zip(*parts, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--ab-studies", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=("ratings", "ab"), help="run one half")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} ({os.cpu_count()} cores), python {platform.python_version()}"
    )
    with ProcessPoolExecutor(args.jobs) as pool:
        if args.only != "ab":
            ratings(pool, args)
        if args.only != "ratings":
            ab(pool, args)


def ratings(pool: ProcessPoolExecutor, args: argparse.Namespace) -> None:
    """Primary model against the tracks-fixed paired t, null and 5-point effect."""
    print("\nRatings: primary mixed model vs paired t over participant means (tracks fixed)")
    print(
        f"{'participants':>12} {'tracks':>6} {'effect':>6} {'studies':>7}  "
        f"{'primary p<.05':>22} {'tracks-fixed t p<.05':>22} {'s/study':>8}"
    )
    for n_p, n_t in RATING_DESIGNS:
        for effect in (0.0, 5.0):
            primary, fixed, n, seconds = run(
                pool,
                rating_chunk,
                args.jobs,
                (n_p, n_t, effect),
                args.studies,
                seed=1000 * n_p + n_t + int(effect),
            )
            print(
                f"{n_p:>12} {n_t:>6} {effect:>6g} {n:>7}  {rate(primary, n):>22} "
                f"{rate(fixed, n):>22} {seconds / n * args.jobs:>8.3f}"
            )


def ab(pool: ProcessPoolExecutor, args: argparse.Namespace) -> None:
    """AB preference model against glmer's z and a pooled sign test, under the null."""
    print(
        "\nAB preference, no true preference: logistic mixed model (t, between-within df)"
        " vs glmer's z vs a pooled sign test"
    )
    print(
        f"{'participants':>12} {'tracks':>6} {'SD p':>5} {'SD t':>5} {'studies':>7}  "
        f"{'model (t)':>20} {'z':>20} {'sign test':>20} {'s/study':>8}"
    )
    for n_p, n_t, sd_p, sd_t in AB_DESIGNS:
        model, wald, sign, n, seconds = run(
            pool,
            ab_chunk,
            args.jobs,
            (n_p, n_t, sd_p, sd_t),
            args.ab_studies,
            seed=7000 + 100 * n_p + n_t,
        )
        print(
            f"{n_p:>12} {n_t:>6} {sd_p:>5g} {sd_t:>5g} {n:>7}  {rate(model, n):>20} "
            f"{rate(wald, n):>20} {rate(sign, n):>20} {seconds / n * args.jobs:>8.3f}"
        )


if __name__ == "__main__":
    main()
