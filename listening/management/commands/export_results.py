"""Export a study's results: tidy tables (CSV or JSON Lines), webMUSHRA CSV, or the bundle.

manage.py export_results 3 --format csv -o results/            # every table, one file each
manage.py export_results 3 --format csv --table ratings -o -    # one table to stdout
manage.py export_results 3 --format webmushra -o mushra.csv
manage.py export_results 3 --format bundle -o study-3.zip
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.models import Study
from listening.research.exports import TABLES, export_chunks, export_filename, write_bundle

FORMATS = ("csv", "json", "webmushra", "bundle")


class Command(BaseCommand):
    help = "Export a study's results as CSV, JSON Lines, webMUSHRA CSV or a zip bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", type=int, help="Study id.")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument(
            "--table",
            choices=[*TABLES, "all"],
            default="all",
            help="csv/json: one table, or all (then -o is a folder).",
        )
        parser.add_argument(
            "-o", "--output", default="-", help="File, folder (all tables) or - for stdout."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(pk=options["study"]).first()
        if study is None:
            raise CommandError(f"study {options['study']} does not exist")
        fmt, table, output = options["format"], options["table"], options["output"]
        if fmt == "bundle":
            if output == "-":
                write_bundle(study, sys.stdout.buffer)
            else:
                with open(output, "wb") as target:
                    write_bundle(study, target)
            return
        if fmt == "webmushra":
            self.write(export_chunks(study, "webmushra"), output)
            return
        kind = "jsonl" if fmt == "json" else "csv"
        if table != "all":
            self.write(export_chunks(study, table, kind), output)
            return
        if output == "-":
            raise CommandError("--table all writes one file per table: give a folder with -o")
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            path = folder / export_filename(study, name, kind)
            self.write(export_chunks(study, name, kind), str(path))
        if options["verbosity"]:
            self.stderr.write(f"Wrote {len(TABLES)} tables to {folder}")

    def write(self, chunks: Any, output: str) -> None:
        if output == "-":
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        with open(output, "w", encoding="utf-8", newline="") as target:
            for chunk in chunks:
                target.write(chunk)
