"""Size of the playback files: 24-bit FLAC against 16-bit FLAC with TPDF dither.

Seeded 30 s excerpts at 48 kHz stereo (six genres; the mix, an AI-style and an
engineer-style master of each), loudness-matched to -23 LUFS as the pipeline does, then
quantised and encoded as the pipeline encodes them (analysis.stimuli.levels.quantize:
24-bit rounding, or 16-bit with TPDF dither; FLAC through libsndfile). Prints the mean
size per excerpt, the saving, and what a 6-condition MUSHRA trial and one stimulus's
files (its playback file and a pool of dithered copies) weigh.

Usage: python benchmarks/bench_playback_size.py [--seconds 30] [--pool 8]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import soundfile as sf

    from analysis.metrics.loudness import integrated_loudness
    from analysis.stimuli.excerpt import conform
    from analysis.stimuli.levels import apply_gain, quantize
    from analysis.stimuli.synthesis import (
        GENRES,
        ai_style_master,
        engineer_style_master,
        synthetic_mix,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pool", type=int, default=8)
    args = parser.parse_args()
    sizes: dict[int, list[int]] = {24: [], 16: []}
    for i, genre in enumerate(GENRES):
        mix = synthetic_mix(args.seconds, 44100, genre=genre, seed=20 + i, fade_out=0.0)
        for version in (mix, ai_style_master(mix, 44100), engineer_style_master(mix, 44100)):
            x = conform(version, 44100, 48000)
            x = apply_gain(x, -23.0 - integrated_loudness(x, 48000))
            for bits in (24, 16):
                rng = np.random.default_rng(i) if bits == 16 else None
                buffer = io.BytesIO()
                sf.write(buffer, quantize(x, bits, rng=rng), 48000, subtype=f"PCM_{bits}",
                         format="FLAC")  # fmt: skip
                sizes[bits].append(len(buffer.getvalue()))
    mean24, mean16 = (float(np.mean(sizes[b])) / 1e6 for b in (24, 16))
    n = len(sizes[24])
    print(f"{n} excerpts of {args.seconds:g} s, 48 kHz stereo, loudness-matched to -23 LUFS")
    print("| playback files | MB per excerpt | 6-condition trial MB | one stimulus on disk MB |")
    print("|---|---|---|---|")
    for label, mean in (("24-bit FLAC (default)", mean24), ("16-bit FLAC, TPDF dither", mean16)):
        print(f"| {label} | {mean:.2f} | {6 * mean:.1f} | {(1 + args.pool) * mean:.1f} |")
    print(f"saving: {100 * (1 - mean16 / mean24):.0f} % ({mean24 - mean16:.2f} MB per excerpt)")


if __name__ == "__main__":
    main()
