"""Generate a seeded demo study of synthetic mixes and masters and open it.

The audio is made with real DSP (analysis.synthesis: pedalboard compressors, limiters
and EQ), written to a folder with a manifest and imported through ``import_study``,
the same path a researcher uses. Everything is labelled as synthetic demo material.
"""

from __future__ import annotations

import csv
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from listening.models import Study
from listening.models.study import DEMO_DESCRIPTION
from listening.researchers import grant_researcher

GENRES = ("pop", "rock", "jazz", "classical", "electronic")
RESEARCHER = "researcher"
TITLE = "Demo: AI versus human mastering (synthetic material)"


class Command(BaseCommand):
    help = "Create and open a demo study of synthetic mixes, AI-style and engineer-style masters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tracks", type=int, default=10, help="At least 5 (one per genre).")
        parser.add_argument("--seconds", type=float, default=40.0, help="Length of each mix.")
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--rate", type=int, default=44100, help="Rate of the generated files.")
        parser.add_argument(
            "--folder", type=Path, help="Where the audio goes (default: VAR_DIR/demo_audio)."
        )
        parser.add_argument("--password", help="Researcher password (default: a new random one).")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--simulate",
            type=int,
            default=24,
            help="Clearly marked simulated participants, so the dashboard and report show data "
            "(0 for none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        n, seconds = options["tracks"], options["seconds"]
        if n < len(GENRES):
            raise CommandError(f"--tracks must be at least {len(GENRES)}, one per genre")
        if seconds < 12:
            raise CommandError("--seconds must be at least 12 (the excerpt is up to 10 s)")
        folder: Path = options["folder"] or Path(settings.VAR_DIR) / "demo_audio"
        quiet = options["verbosity"] == 0

        password = options["password"] or secrets.token_urlsafe(9)
        researcher = self._researcher(password)
        for old in Study.objects.filter(owner=researcher, is_demo=True):
            self._delete_study(old)

        self._generate(folder, n, seconds, options["seed"], options["rate"], quiet)
        start, length = min(10.0, seconds / 4), min(10.0, seconds / 2)
        call_command(
            "import_study",
            str(folder),
            manifest="manifest.csv",
            owner=RESEARCHER,
            title=TITLE,
            description=DEMO_DESCRIPTION,
            demo=True,
            paradigm="mushra",
            excerpt_start=start,
            excerpt_length=length,
            prepare="now",
            verbosity=options["verbosity"],
            stdout=self.stdout,
            stderr=self.stderr,
        )
        study = Study.objects.filter(owner=researcher, is_demo=True).latest("created_at")
        try:
            study.open()
        except ValidationError as exc:
            raise CommandError(
                "the demo study did not open:\n  " + "\n  ".join(exc.messages)
            ) from exc

        if options["simulate"] > 0:
            call_command(
                "simulate_participants",
                str(study.pk),
                n=options["simulate"],
                seed=options["seed"],
                verbosity=options["verbosity"],
                stdout=self.stdout,
                stderr=self.stderr,
            )

        base = options["base_url"].rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(f"Demo study ready in {time.perf_counter() - started:.0f} s.")
        )
        self.stdout.write(
            f"  Researcher login:  {base}/admin/  user {RESEARCHER!r}  password {password!r}"
        )
        self.stdout.write(f"  Study in the admin: {base}/admin/listening/study/{study.pk}/change/")
        self.stdout.write(f"  Results dashboard: {base}/studies/{study.pk}/results/")
        self.stdout.write(f"  API (Swagger):     {base}/api/docs/")
        self.stdout.write(f"  Participant link:  {base}{study.participant_path()}")

    def _researcher(self, password: str) -> Any:
        users = get_user_model().objects
        user, _ = users.get_or_create(username=RESEARCHER, defaults={"email": ""})
        user.is_staff = True  # the admin is the researcher's workspace
        user.set_password(password)
        user.save()
        grant_researcher(user)
        return user

    def _delete_study(self, study: Study) -> None:
        for track in study.tracks.all():
            for stimulus in track.stimuli.all():
                for f in (stimulus.original, stimulus.prepared):
                    if f:
                        f.delete(save=False)
        study.delete()

    def _generate(
        self, folder: Path, n: int, seconds: float, seed: int, rate: int, quiet: bool
    ) -> None:
        import numpy as np

        from analysis.io import write_audio
        from analysis.synthesis import ai_style_master, engineer_style_master, synthetic_mix

        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        rows = []
        for i in tqdm(range(n), desc="Generating audio", unit="track", disable=quiet):
            genre = GENRES[i % len(GENRES)]
            title = f"Demo {i + 1:02d} ({genre})"
            mix = synthetic_mix(seconds, rate, genre=genre, seed=seed + i)
            # Masters arrive as delivered: the AI service adds a little lead-in silence.
            lead_in = np.zeros((round(0.25 * rate), mix.shape[1]))
            versions = {
                "mix": (mix, "", ""),
                "ai": (
                    np.concatenate([lead_in, ai_style_master(mix, rate)]),
                    "ai",
                    "AI service (demo)",
                ),
                "engineer": (engineer_style_master(mix, rate), "human", "Engineer (demo)"),
            }
            for name, (audio, system, provider) in versions.items():
                file = f"track{i + 1:02d}_{name}.wav"
                write_audio(folder / file, np.clip(audio, -1.0, 1.0), rate, subtype="PCM_24")
                role = "mix" if name == "mix" else "master"
                rows.append([title, genre, file, role, system, provider])
        with open(folder / "manifest.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["track", "genre", "file", "role", "system", "provider"])
            writer.writerows(rows)
