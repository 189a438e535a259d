"""Import a folder of mixes and masters as a new study, from a CSV manifest.

Every row is checked first (:mod:`listening.stimuli.manifest_checks`), for everything
preparation will need: the file, its role and system, the audio (mono and lossy sources
only with --accept-mono / --accept-lossy), duplicates, the genre, tracks without a mix,
each master's match to its mix, and that every version covers the excerpt once aligned.
If any row is bad, every problem is reported with its row number and nothing is imported.
When the default excerpt does not fit the shortest track it is moved (and shortened if
need be) to fit; an excerpt given on the command line is never changed (only the start or
length not given is), and when that cannot fit the import is refused with the fix named.
Then the study, its tracks and stimuli are created in one transaction, the originals are
stored unchanged, and preparation is queued (or run now).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from listening.models import Stimulus, Study, Track
from listening.models.rights import is_researcher
from listening.participant.paradigms import PARADIGMS
from listening.research.researchers import GROUP
from listening.stimuli.manifest import ManifestError
from listening.stimuli.manifest_checks import ImportRow, check_rows, fit_excerpt, read_rows
from listening.stimuli.originals import copy_original, save_original_row
from listening.stimuli.preparation import prepare_track
from listening.stimuli.tasks import enqueue_preparation, measure_track_task


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
        try:
            rows = read_rows(manifest, folder)
            problems = check_rows(rows, study, quiet=quiet)
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        if not problems:
            problems, notice = fit_excerpt(
                rows,
                study,
                keep_start=options["excerpt_start"] is not None,
                keep_length=options["excerpt_length"] is not None,
            )
            if notice:
                self.stdout.write(notice)
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

    def _import(self, study: Study, rows: list[ImportRow], quiet: bool) -> None:
        """Copy every original first, then write all rows in one short transaction.

        The copying (minutes for a large study) runs outside any transaction: inside one
        it would hold up every writer, and on SQLite every participant's answer, until
        it ended. If anything fails, the rows roll back and the copied files are removed.
        """
        copied: list[tuple[ImportRow, Stimulus]] = []
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
