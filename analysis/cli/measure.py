"""The metric commands of ``python -m analysis``: measure, loudness and batch.

Bad input exits non-zero with a one-line reason on stderr. ``batch`` reports a bad
row, keeps measuring the others, writes every row (failed rows carry ``error``) and
exits 1 if any row failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from analysis import METRICS_VERSION
from analysis.errors import AnalysisError
from analysis.io import read_audio
from analysis.metrics.loudness import measure_loudness
from analysis.metrics.measure import Scalar, measure_files

EXIT_BAD_INPUT = 2
EXIT_SOME_ROWS_FAILED = 1

#: Rows of the readable table of ``measure``: (section, key, label, unit).
_TABLE: list[tuple[str, str, str, str]] = [
    ("Loudness", "integrated", "Integrated loudness", "LUFS"),
    ("Loudness", "mix_integrated", "  mix", "LUFS"),
    ("Loudness", "true_peak", "True peak", "dBTP"),
    ("Loudness", "loudness_range", "Loudness range (LRA)", "LU"),
    ("Loudness", "plr", "PLR", "dB"),
    ("Loudness", "psr", "PSR", "dB"),
    ("Dynamics", "dr", "DR (rounded)", ""),
    ("Dynamics", "dr_value", "DR (unrounded)", "dB"),
    ("Dynamics", "mix_dr_value", "  mix", "dB"),
    ("Penalty", "lp_spotify", "Loudness penalty, Spotify", "LU"),
    ("Penalty", "lp_youtube", "Loudness penalty, YouTube", "LU"),
    ("Penalty", "lp_apple_music", "Loudness penalty, Apple Music", "LU"),
    ("Penalty", "lp_tidal", "Loudness penalty, TIDAL", "LU"),
    ("Distortion", "dm", "DM (CSDR < 10 dB)", "%"),
    ("Distortion", "median_csdr", "Median CSDR", "dB"),
    ("Distortion", "hfd", "HFD (4-16 kHz)", "%"),
    ("Intelligibility", "it", "IT (ESTOI, mid)", ""),
    ("Intelligibility", "stoi", "STOI", ""),
    ("Spectrum", "wsc", "WSC", ""),
    ("Spectrum", "mix_wsc", "  mix", ""),
    ("Spectrum", "centroid_hz", "Spectral centroid", "Hz"),
    ("Spectrum", "tilt_db_per_octave", "Spectral tilt", "dB/oct"),
    ("Spectrum", "ber", "Bass excitation ratio", ""),
    ("Spectrum", "ber_db", "  in dB", "dB"),
    ("Alignment", "align_lag", "Lag (master after mix)", "samples"),
    ("Alignment", "align_polarity", "Polarity", ""),
    ("Alignment", "align_correlation", "Correlation", ""),
    ("Alignment", "excluded_share", "Excluded segments", "share"),
]


def _fmt(value: Scalar) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def format_table(row: dict[str, Scalar]) -> str:
    """Render the main metrics of one flat result row as a readable table."""
    lines: list[str] = []
    section = ""
    for sect, key, label, unit in _TABLE:
        if key not in row:
            continue
        if sect != section:
            lines.append(f"{sect}")
            section = sect
        lines.append(f"  {label:<32} {_fmt(row[key]):>10} {unit}")
    lines.append(f"metrics version {row.get('metrics_version', METRICS_VERSION)}")
    return "\n".join(lines)


def _cmd_measure(args: argparse.Namespace) -> int:
    row = measure_files(args.master, args.mix).as_dict()
    row = {"master": str(args.master), "mix": str(args.mix), **row}
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(f"{args.master} against {args.mix}")
        print(format_table(row))
    return 0


def _cmd_loudness(args: argparse.Namespace) -> int:
    rows: list[dict[str, Scalar]] = []
    failed = 0
    for path in args.files:
        try:
            audio = read_audio(path)
            stats = measure_loudness(audio.samples, audio.rate).as_dict()
            rows.append({"file": str(path), **stats})
        except AnalysisError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        header = ("I LUFS", "TP dBTP", "LRA LU", "PLR dB", "PSR dB")
        keys = ("integrated", "true_peak", "loudness_range", "plr", "psr")
        width = max([len(str(r["file"])) for r in rows] + [4])
        print(f"{'file':<{width}}  " + "  ".join(f"{h:>8}" for h in header))
        for r in rows:
            vals = "  ".join(f"{_fmt(r[k]):>8}" for k in keys)
            print(f"{r['file']:<{width}}  {vals}")
    return EXIT_BAD_INPUT if failed and not rows else (EXIT_SOME_ROWS_FAILED if failed else 0)


def _cmd_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    manifest = Path(args.manifest)
    with manifest.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        missing = {"master", "mix"} - set(fields)
        if missing:
            raise AnalysisError(
                f"{manifest.name}: missing column(s) {', '.join(sorted(missing))}; "
                "a manifest needs at least 'master' and 'mix'"
            )
        entries = list(reader)
    base = manifest.parent
    out_rows: list[dict[str, Scalar]] = []
    failed = 0
    for number, entry in enumerate(tqdm(entries, desc="measuring", unit="pair"), start=2):
        row: dict[str, Scalar] = dict(entry)
        try:
            result = measure_files(base / entry["master"], base / entry["mix"])
            row.update(result.as_dict())
            row["error"] = ""
        except (AnalysisError, OSError) as exc:
            failed += 1
            row["error"] = str(exc)
            tqdm.write(f"row {number}: {entry.get('master')}: {exc}", file=sys.stderr)
        out_rows.append(row)
    columns: list[str] = list(fields)
    for r in out_rows:
        columns.extend(k for k in r if k not in columns)
    with open(args.output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(out_rows)
    print(f"{len(out_rows) - failed} of {len(out_rows)} pairs measured; wrote {args.output}")
    return EXIT_SOME_ROWS_FAILED if failed else 0


def add_commands(sub: Any) -> None:
    """Add ``measure``, ``loudness`` and ``batch`` to the subparsers ``sub``."""
    p = sub.add_parser("measure", help="measure one master against its mix")
    p.add_argument("master", type=Path)
    p.add_argument("--mix", type=Path, required=True, help="the unmastered mix")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_measure)

    p = sub.add_parser("loudness", help="loudness, true peak, LRA, PLR, PSR of files")
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_loudness)

    p = sub.add_parser("batch", help="measure every master/mix pair of a CSV manifest")
    p.add_argument("manifest", type=Path, help="CSV with columns master, mix (+ any others)")
    p.add_argument("-o", "--output", type=Path, required=True, help="CSV to write")
    p.set_defaults(func=_cmd_batch)
