"""How far other true-peak meters read above the pipeline's, on files set to the ceiling.

The pipeline holds every playback file to ``max(TP 4x, TP 32x) + margin <= ceiling``
(analysis.stimuli.excerpt). This measures what the margin has to cover: seeded excerpts of
mixes and masters (six genres, pedalboard chains from gentle to clipped, an MP3 round
trip; 44.1 and 48 kHz), each faded like a stimulus and scaled so that the stricter
reading sits exactly at -1 dBTP, then encoded as the pipeline encodes (24-bit FLAC
rounded, and 16-bit FLAC with TPDF dither), decoded and measured again by

  4x      analysis.metrics.true_peak.true_peak (BS.1770-4 Annex 2, resample_poly's interpolator)
  32x     the same interpolator at 32x (equal to scipy.signal.resample_poly(x, 32, 1))
  ebur128 libebur128 1.2.6 through pyebur128 (its own interpolation filter)

and prints, per meter and bit depth, how far the reading lies above -1 dBTP (positive:
the meter sees a higher peak than the pipeline held to the ceiling).

Usage: python benchmarks/bench_true_peak.py [--seconds 10] [--seeds 2]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CEILING = -1.0


def mp3_round_trip(x: np.ndarray, rate: int) -> np.ndarray:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format="MP3")
    buffer.seek(0)
    y, _ = sf.read(buffer, always_2d=True)
    return np.asarray(y[: x.shape[0]], dtype=np.float64)


def ebur128_peak(x: np.ndarray, rate: int) -> float:
    import pyebur128

    state = pyebur128.R128State(x.shape[1], rate, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(np.ascontiguousarray(x, dtype=np.float64).ravel(), x.shape[0])
    return float(20 * np.log10(max(pyebur128.get_true_peak(state, c) for c in range(x.shape[1]))))


def encoded(x: np.ndarray, rate: int, bits: int, seed: int) -> np.ndarray:
    import soundfile as sf

    from analysis.stimuli.levels import quantize

    rng = np.random.default_rng(seed) if bits == 16 else None
    buffer = io.BytesIO()
    sf.write(buffer, quantize(x, bits, rng=rng), rate, subtype=f"PCM_{bits}", format="FLAC")
    buffer.seek(0)
    y, _ = sf.read(buffer, dtype="float64", always_2d=True)
    return np.asarray(y)


def main() -> None:
    from analysis.metrics.true_peak import true_peak
    from analysis.stimuli.excerpt import ExcerptSpec, apply_fades
    from analysis.stimuli.levels import STRICT_OVERSAMPLING
    from analysis.stimuli.synthesis import (
        GENRES,
        ai_style_master,
        engineer_style_master,
        loud_master,
        multiband_master,
        synthetic_mix,
        with_sub_bass,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()

    chains = {
        "mix": lambda x, r: x,
        "ai": ai_style_master,
        "engineer": engineer_style_master,
        "loud+clip": loud_master,
        "multiband": multiband_master,
        "mp3(loud)": lambda x, r: mp3_round_trip(loud_master(x, r), r),
    }
    started = time.perf_counter()
    rows = []
    for rate in (44100, 48000):
        spec = ExcerptSpec(rate=rate, start=1.0, length=args.seconds, fade_ms=20.0)
        for genre in GENRES:
            for seed in range(args.seeds):
                mix = synthetic_mix(args.seconds + 2.0, rate, genre=genre, seed=seed, fade_out=0)
                if seed % 2:
                    mix = with_sub_bass(mix, rate, seed=seed)
                for chain, make in chains.items():
                    y = make(mix, rate)[spec.start_frame : spec.start_frame + spec.frames]
                    y = apply_fades(y, spec)
                    strict = max(
                        true_peak(y, rate), true_peak(y, rate, oversampling=STRICT_OVERSAMPLING)
                    )
                    y = y * 10 ** ((CEILING - strict) / 20)
                    for bits in (24, 16):
                        z = encoded(y, rate, bits, seed)
                        rows.append(
                            (
                                rate,
                                genre,
                                chain,
                                bits,
                                true_peak(z, rate) - CEILING,
                                true_peak(z, rate, oversampling=STRICT_OVERSAMPLING) - CEILING,
                                ebur128_peak(z, rate) - CEILING,
                            )
                        )
    elapsed = time.perf_counter() - started
    data = np.array([r[4:] for r in rows])
    bits = np.array([r[3] for r in rows])
    print(f"{len(rows)} encoded excerpts ({len(rows) // 2} per bit depth), {elapsed:.0f} s")
    print("| bits | meter | max above -1 dBTP (dB) | 99th pct | median | share above |")
    print("|---|---|---|---|---|---|")
    for depth in (24, 16):
        for j, meter in enumerate(("4x", f"{STRICT_OVERSAMPLING}x", "libebur128")):
            v = data[bits == depth, j]
            print(
                f"| {depth} | {meter} | {v.max():+.4f} | {np.percentile(v, 99):+.4f} "
                f"| {np.median(v):+.4f} | {np.mean(v > 0):.0%} |"
            )
    worst = max(rows, key=lambda r: r[6])
    print(f"worst libebur128 reading: {worst[:4]} {worst[6]:+.4f} dB")


if __name__ == "__main__":
    main()
