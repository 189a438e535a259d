"""Import a folder of mixes and masters as a new study, from a CSV manifest.

Every row is checked first (files, roles, systems, audio, duplicates, tracks without a
mix); if any row is bad, every problem is reported with its row number and nothing is
imported. Then the study, its tracks and stimuli are created in one transaction, the
originals are stored unchanged, and preparation is queued (or run now).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from listening.models import Stimulus, Study, Track
from listening.paradigms import PARADIGMS
from listening.preparation import (
    OriginalInfo,
    copy_original,
    inspect_original,
    prepare_track,
    save_original_row,
)
from listening.tasks import enqueue_preparation, measure_track_task

COLUMNS = ("track", "genre", "file", "role", "system", "provider")
ROLES = {"mix", "master"}
SYSTEMS = {"ai", "human"}


@dataclass
class Row:
    number: int  # line in the CSV file (the header is line 1)
    track: str
    genre: str
    file: str
    role: str
    system: str
    provider: str
    path: Path | None = None
    info: OriginalInfo | None = None


class Command(BaseCommand):
    help = (
        "Import a study from FOLDER and its manifest (track, genre, file, role, system, provider)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--manifest", default="manifest.csv", help="CSV file, relative to FOLDER or absolute."
        )
        parser.add_argument("--owner", help="Username of the researcher who owns the study.")
        parser.add_argument("--title", help="Study title (default: the folder's name).")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--public-title", default="", help="The title participants see (name no system)."
        )
        parser.add_argument(
            "--public-description", default="", help="What participants read (name no system)."
        )
        parser.add_argument("--paradigm", default="mushra", choices=sorted(PARADIGMS))
        parser.add_argument("--excerpt-start", type=float, help="Seconds into the mix.")
        parser.add_argument("--excerpt-length", type=float, help="Seconds.")
        parser.add_argument("--target", type=float, help="Loudness target, LUFS.")
        parser.add_argument("--sample-rate", type=int, help="Playback rate, Hz.")
        parser.add_argument("--demo", action="store_true", help="Mark as synthetic demo material.")
        parser.add_argument(
            "--prepare",
            choices=["queue", "now", "no"],
            default="queue",
            help="Queue preparation for the worker (default), or prepare the playback files "
            "now (the slower objective metrics are still queued for the worker), or skip it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        manifest = Path(options["manifest"])
        if not manifest.is_absolute() and not manifest.exists():
            manifest = folder / manifest
        if not manifest.is_file():
            raise CommandError(f"no manifest at {manifest}")
        owner = self._owner(options["owner"])
        study = Study(
            owner=owner,
            title=options["title"] or folder.resolve().name,
            description=options["description"],
            public_title=options["public_title"],
            public_description=options["public_description"],
            paradigm=options["paradigm"],
            is_demo=options["demo"],
        )
        for option, name in (
            ("excerpt_start", "excerpt_start"),
            ("excerpt_length", "excerpt_length"),
            ("target", "loudness_target_lufs"),
            ("sample_rate", "sample_rate"),
        ):
            if options[option] is not None:
                setattr(study, name, options[option])
        try:
            study.full_clean(exclude=["owner"])
        except ValidationError as exc:
            raise CommandError(f"invalid study settings: {'; '.join(exc.messages)}") from exc

        quiet = options["verbosity"] == 0
        rows = self._read_manifest(manifest, folder)
        problems = self._check(rows, study, quiet)
        if problems:
            raise CommandError(
                f"{len(problems)} problem(s) in {manifest}; nothing was imported:\n"
                + "\n".join(f"  {p}" for p in problems)
            )
        self._import(study, rows, quiet)
        self.stdout.write(
            f"Imported study {study.pk} {study.title!r}: {study.tracks.count()} tracks, "
            f"{len(rows)} files."
        )
        if options["prepare"] == "queue":
            queued = enqueue_preparation(study)
            self.stdout.write(f"Queued preparation of {queued} track(s) (run manage.py db_worker).")
        elif options["prepare"] == "now":
            self._prepare_now(study, quiet)

    def _owner(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            try:
                return users.get(username=username)
            except users.model.DoesNotExist:
                raise CommandError(f"no user {username!r}; create it first") from None
        superusers = list(users.filter(is_superuser=True)[:2])
        if len(superusers) != 1:
            raise CommandError("give --owner USERNAME (there is not exactly one superuser)")
        return superusers[0]

    def _read_manifest(self, manifest: Path, folder: Path) -> list[Row]:
        with open(manifest, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise CommandError(
                    f"{manifest}: missing column(s) {', '.join(missing)}; "
                    f"expected {', '.join(COLUMNS)}"
                )
            reader.fieldnames = header
            rows = []
            for record in reader:
                value = {c: (record.get(c) or "").strip() for c in COLUMNS}
                rows.append(
                    Row(
                        number=reader.line_num,
                        track=value["track"],
                        genre=value["genre"],
                        file=value["file"],
                        role=value["role"],
                        system=value["system"],
                        provider=value["provider"],
                    )
                )
        if not rows:
            raise CommandError(f"{manifest} lists no files")
        for row in rows:
            if row.file:
                path = Path(row.file)
                row.path = path if path.is_absolute() else folder / path
        return rows

    def _check(self, rows: list[Row], study: Study, quiet: bool) -> list[str]:
        problems: list[tuple[int, str]] = []
        for row in tqdm(rows, desc="Checking files", unit="file", disable=quiet):
            problems.extend((row.number, p) for p in self._check_row(row, study))
        by_sha: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.info is not None:
                by_sha[row.info.sha256].append(row)
        for same in by_sha.values():
            for row in same[1:]:
                problems.append(
                    (row.number, f"{row.file}: the same audio file as row {same[0].number}")
                )
        by_track: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.track:
                by_track[row.track].append(row)
        for title, track_rows in by_track.items():
            numbers = ", ".join(str(r.number) for r in track_rows)
            mixes = [r for r in track_rows if r.role == "mix"]
            if not mixes:
                problems.append(
                    (track_rows[0].number, f"track {title!r} (rows {numbers}) has no mix")
                )
            for extra in mixes[1:]:
                problems.append(
                    (
                        extra.number,
                        f"track {title!r} has a second mix (first in row {mixes[0].number})",
                    )
                )
            genres = {r.genre for r in track_rows if r.genre}
            if len(genres) > 1:
                problems.append(
                    (
                        track_rows[0].number,
                        f"track {title!r} (rows {numbers}) has mismatched genres: "
                        f"{', '.join(sorted(genres))}",
                    )
                )
        return [f"row {n}: {p}" for n, p in sorted(problems, key=lambda item: item[0])]

    def _check_row(self, row: Row, study: Study) -> list[str]:
        problems = []
        if not row.track:
            problems.append("no track name")
        if row.role not in ROLES:
            problems.append(f"role {row.role!r} must be mix or master")
        elif row.role == "mix" and row.system not in ("", "none"):
            problems.append(f"system {row.system!r}: a mix has no mastering system (leave empty)")
        elif row.role == "master" and row.system not in SYSTEMS:
            problems.append(f"system {row.system!r} must be ai or human for a master")
        if row.path is None:
            problems.append("no file given")
        elif not row.path.is_file():
            problems.append(f"{row.file}: no such file")
        else:
            try:
                row.info = inspect_original(
                    row.path, filename=row.path.name, min_duration=study.excerpt_length
                )
            except ValidationError as exc:
                problems.extend(exc.messages)
        return problems

    def _import(self, study: Study, rows: list[Row], quiet: bool) -> None:
        """Copy every original first, then write all rows in one short transaction.

        The copying (minutes for a large study) runs outside any transaction: inside one
        it would hold up every writer, and on SQLite every participant's answer, until
        it ended. If anything fails, the rows roll back and the copied files are removed.
        """
        copied: list[tuple[Row, Stimulus]] = []
        try:
            for row in tqdm(rows, desc="Copying", unit="file", disable=quiet):
                if row.path is None or row.info is None:  # checked above; never happens
                    raise CommandError(f"row {row.number} was not checked")
                stimulus = Stimulus(
                    role=row.role,
                    system=row.system if row.role == "master" else Stimulus.System.NONE,
                    provider=row.provider,
                )
                copy_original(stimulus, row.path, row.info)
                copied.append((row, stimulus))
            with transaction.atomic():
                study.save()
                tracks: dict[str, Track] = {}
                for row, stimulus in copied:
                    track = tracks.get(row.track)
                    if track is None:
                        track = Track.objects.create(
                            study=study, title=row.track, genre=row.genre, position=len(tracks)
                        )
                        tracks[row.track] = track
                    stimulus.track = track
                    save_original_row(stimulus)
        except BaseException:
            for _, stimulus in copied:  # the rows rolled back; remove their files too
                stimulus.original.delete(save=False)
            raise

    def _prepare_now(self, study: Study, quiet: bool) -> None:
        tracks = list(study.tracks.all())
        failed = 0
        for track in tqdm(tracks, desc="Preparing", unit="track", disable=quiet):
            result = prepare_track(track.pk)
            failed += len(result.get("failed", {}))
            measure_track_task.enqueue(track.pk)
        progress = study.progress()
        self.stdout.write(
            f"Prepared {progress['ready']} of {progress['total']} stimuli"
            + (f"; {failed} failed (see the admin)" if failed else "")
            + ". Objective metrics are queued for the worker (manage.py db_worker)."
        )
