"""Command-line interface: ``python -m analysis measure|loudness|batch|ratings|plan``.

Bad input exits non-zero with a one-line reason on stderr. The commands live in
:mod:`~analysis.cli.measure` (metrics of files: measure, loudness, batch) and
:mod:`~analysis.cli.study` (statistics of a study: ratings, plan); this module builds
the parser and runs it. The CLI is the top layer: it may import every other package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analysis import METRICS_VERSION
from analysis.cli import measure, study
from analysis.cli.measure import EXIT_BAD_INPUT
from analysis.errors import AnalysisError

__all__ = ["EXIT_BAD_INPUT", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``python -m analysis``."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Objective metrics of masters against their mixes, and the statistics of "
        "listening tests (ratings, plan).",
    )
    parser.add_argument("--version", action="version", version=f"metrics {METRICS_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)
    measure.add_commands(sub)
    study.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except (AnalysisError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return status
