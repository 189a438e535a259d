"""Import a folder of mixes and masters as a new study, from a CSV manifest.

Every row is checked first, for everything preparation will need: the file, its role
and system, the audio (format, silence, one or two channels, mono and lossy sources
only with --accept-mono / --accept-lossy), duplicates, the genre, tracks without a mix,
each master's match to its mix (alignment correlation and lag), and that every version
covers the excerpt once aligned. If any row is bad, every problem is reported with its
row number and nothing is imported. When the default excerpt does not fit the shortest
track it is moved (and shortened if need be) to fit; an excerpt given on the command
line is never changed (only the start or length not given is), and when that cannot
fit the import is refused with the fix named. Then the study,
its tracks and stimuli are created in one transaction, the originals are stored
unchanged, and preparation is queued (or run now).
"""

from __future__ import annotations

import dataclasses
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
from listening.models.genres import canonical_genre
from listening.models.rights import is_researcher
from listening.models.spans import Span, fitted_excerpt, fix_for
from listening.participant.paradigms import PARADIGMS
from listening.research.researchers import GROUP
from listening.stimuli.manifest import ManifestError, ManifestRow, read_manifest
from listening.stimuli.material_checks import MasterMatch, match_master
from listening.stimuli.originals import (
    OriginalInfo,
    check_source_policy,
    copy_original,
    inspect_original,
    save_original_row,
)
from listening.stimuli.preparation import prepare_track
from listening.stimuli.tasks import enqueue_preparation, measure_track_task

ROLES = {"mix", "master"}
SYSTEMS = {"ai", "human"}


@dataclass
class Row(ManifestRow):
    path: Path | None = None
    info: OriginalInfo | None = None
    match: MasterMatch | None = None


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
        parser.add_argument(
            "--bit-depth",
            type=int,
            choices=[24, 16],
            help="Playback files: 24-bit FLAC (default) or 16-bit with TPDF dither.",
        )
        parser.add_argument(
            "--accept-mono",
            action="store_true",
            help="Accept mono files (played as dual mono, flagged 'mono source').",
        )
        parser.add_argument(
            "--accept-lossy",
            action="store_true",
            help="Accept lossy-coded files (MP3, Ogg, Opus; flagged 'lossy source').",
        )
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
            accept_mono=options["accept_mono"],
            accept_lossy=options["accept_lossy"],
        )
        if options["bit_depth"] is not None:
            study.playback_bit_depth = options["bit_depth"]
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
            reasons = [f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms]
            raise CommandError(f"invalid study settings: {'; '.join(reasons)}") from exc

        quiet = options["verbosity"] == 0
        rows = self._read_manifest(manifest, folder)
        problems = self._check(rows, study, quiet)
        if not problems:
            problems = self._fit_excerpt(
                rows,
                study,
                keep_start=options["excerpt_start"] is not None,
                keep_length=options["excerpt_length"] is not None,
            )
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
                owner = users.get(username=username)
            except users.model.DoesNotExist:
                raise CommandError(f"no user {username!r}; create it first") from None
            if not is_researcher(owner):
                raise CommandError(
                    f"{username!r} has no researcher rights; add the account to the "
                    f"{GROUP!r} group first (manage.py researchers add {username})"
                )
            return owner
        superusers = list(users.filter(is_superuser=True, is_active=True)[:2])
        if len(superusers) != 1:
            raise CommandError("give --owner USERNAME (there is not exactly one superuser)")
        return superusers[0]

    def _read_manifest(self, manifest: Path, folder: Path) -> list[Row]:
        with open(manifest, newline="", encoding="utf-8-sig") as f:
            try:
                parsed = read_manifest(f, name=str(manifest))
            except ManifestError as exc:
                raise CommandError(str(exc)) from exc
        rows = [Row(**dataclasses.asdict(row)) for row in parsed]
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
            genres = {r.genre.casefold() for r in track_rows if r.genre}
            if len(genres) > 1:
                problems.append(
                    (
                        track_rows[0].number,
                        f"track {title!r} (rows {numbers}) has mismatched genres: "
                        f"{', '.join(sorted({r.genre for r in track_rows if r.genre}))}",
                    )
                )
        self._canonical_genres(rows, problems)
        if not problems:  # every file is readable: check each master against its mix
            for title, track_rows in by_track.items():
                problems.extend(self._match_masters(title, track_rows, quiet))
        return [f"row {n}: {p}" for n, p in sorted(problems, key=lambda item: item[0])]

    def _canonical_genres(self, rows: list[Row], problems: list[tuple[int, str]]) -> None:
        """One spelling per genre across the manifest (the first row's), length-checked."""
        known: list[str] = []
        for row in rows:
            try:
                row.genre = canonical_genre(row.genre, None, known=known)
            except ValidationError as exc:
                problems.extend((row.number, m) for m in exc.messages)
                continue
            if row.genre and row.genre not in known:
                known.append(row.genre)

    def _match_masters(self, title: str, rows: list[Row], quiet: bool) -> list[tuple[int, str]]:
        """Align every master of a track with its mix, as preparation will."""
        from analysis.errors import AnalysisError
        from analysis.io import read_audio

        mix = next(r for r in rows if r.role == "mix")
        masters = [r for r in rows if r.role == "master"]
        if not masters or mix.path is None:
            return []
        problems: list[tuple[int, str]] = []
        mix_audio = read_audio(mix.path)
        for row in tqdm(masters, desc=f"Aligning {title}", unit="file", disable=quiet):
            try:
                if row.path is None:
                    raise CommandError(f"row {row.number} has no file")
                row.match = match_master(
                    read_audio(row.path),
                    mix_audio,
                    name=row.file,
                    mix_name=f"{mix.file} (row {mix.number})",
                )
            except (ValidationError, AnalysisError) as exc:
                messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                problems.extend((row.number, m) for m in messages)
        return problems

    def _fit_excerpt(
        self, rows: list[Row], study: Study, *, keep_start: bool, keep_length: bool
    ) -> list[str]:
        """Check the excerpt against every track's shared span; adapt what was not given."""
        spans: dict[str, tuple[Span, list[int]]] = {}
        for row in rows:
            if row.info is None:
                continue
            own = row.match.span if row.match is not None else Span(0.0, row.info.duration)
            span, numbers = spans.get(row.track, (Span(0.0, float("inf")), []))
            spans[row.track] = (span & own, [*numbers, row.number])
        start, length = study.excerpt_start, study.excerpt_length
        shortest = min(spans.items(), key=lambda item: item[1][0].length)
        title, (span, numbers) = shortest
        where = f"track {title!r} (rows {', '.join(map(str, numbers))})"
        misfits = [t for t, (s, _) in spans.items() if not s.covers(start, length)]
        if not misfits:
            return []
        if not (keep_start and keep_length):
            common = Span(0.0, float("inf"))
            for s, _ in spans.values():
                common = common & s
            fitted = fitted_excerpt(
                common, start, length, keep_start=keep_start, keep_length=keep_length
            )
            if fitted is not None:
                study.excerpt_start, study.excerpt_length = fitted
                self.stdout.write(
                    f"The excerpt {start:g}-{start + length:g} s does not fit {where}, "
                    f"whose versions share {span.describe()} of the mix; using "
                    f"{fitted[0]:g}-{fitted[0] + fitted[1]:g} s instead (--excerpt-start, "
                    "--excerpt-length to choose)."
                )
                return []
        return [
            f"rows {', '.join(map(str, spans[t][1]))}: the excerpt {start:g}-{start + length:g} "
            f"s does not fit track {t!r}: its versions share only {spans[t][0].describe()} of "
            f"the mix's timeline once aligned; {fix_for(spans[t][0], start, length)} "
            "(--excerpt-start, --excerpt-length)"
            for t in misfits
        ]

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
                # Length is checked against the excerpt once aligned (_fit_excerpt).
                row.info = inspect_original(row.path, filename=row.path.name)
                check_source_policy(
                    study, row.info.channels, row.info.lossy, row.path.name, row.info.rate
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
                    **(row.match.fields() if row.match is not None else {}),
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
