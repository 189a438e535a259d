"""Create clearly marked simulated participants, so a demo study has results to show.

Each simulated session goes through the platform's own planning (``flow.build_trials``:
the study's paradigm, balancing and randomisation) and then answers every trial from a
seeded model, the additive model of :mod:`analysis.stats.simulation`:

* MUSHRA: score = condition level + participant effect + track effect + track-specific
  AI/human difference + residual, clipped to 0..100 and rounded (the hidden reference
  near 100, anchors low);
* ABX: X identified correctly with probability ``--hit-rate``;
* AB preference: Bradley-Terry choices with the strengths of ``STRENGTHS``, 10 % "no
  preference" where the study allows it.

Every session has ``simulated=True``; every export row and the report say so. The
ratings are reproducible from ``--seed`` (draws are keyed by participant number, track
and version); trial order comes from the platform's randomisation, as for real people.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from analysis.stats.simulation import CONDITIONS, LEVELS, STRENGTHS
from listening.models import (
    AbxAnswer,
    Condition,
    PreferenceAnswer,
    Rating,
    Session,
    Study,
    Trial,
)
from listening.participant import flow
from listening.participant.forms import questionnaire_fields
from listening.research.exports import condition_kind

#: Mean score per condition kind (systems by name), from analysis.stats.simulation.
LEVEL = {
    (system if kind == "system" else kind): level
    for (kind, _, system), level in zip(CONDITIONS, LEVELS, strict=True)
}
SD = {"participant": 6.0, "track": 4.0, "interaction": 3.0, "residual": 8.0}


def _answer(field: dict[str, Any], rng: np.random.Generator) -> Any:
    kind = field.get("type", "text")
    if kind == "choice" and field.get("choices"):
        choices = list(field["choices"])
        return str(choices[int(rng.integers(len(choices)))])
    if kind == "integer":
        low, high = int(field.get("min") or 18), int(field.get("max") or 70)
        return int(rng.integers(low, high + 1))
    if kind == "boolean":
        return bool(rng.random() < 0.5)
    return "simulated"


def questionnaire(study: Study, when: str, rng: np.random.Generator) -> dict[str, Any]:
    return {
        str(f["name"]): _answer(f, rng) for f in questionnaire_fields(study.questionnaire, when)
    }


class Command(BaseCommand):
    help = "Create N clearly marked simulated participants with seeded answers (demo data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", type=int, help="Study id.")
        parser.add_argument("--n", type=int, default=24, help="Participants to simulate.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--ai-effect", type=float, default=-4.0, help="AI minus human mean score (MUSHRA)."
        )
        parser.add_argument(
            "--hit-rate", type=float, default=0.7, help="ABX: chance of a correct answer."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(pk=options["study"]).first()
        if study is None:
            raise CommandError(f"study {options['study']} does not exist")
        n, seed = options["n"], options["seed"]
        if n < 1:
            raise CommandError(f"--n={n} must be at least 1")
        if not 0.0 <= options["hit_rate"] <= 1.0:
            raise CommandError(f"--hit-rate={options['hit_rate']} must be in [0, 1]")
        self.study, self.seed = study, seed
        self.ai_effect, self.hit_rate = options["ai_effect"], options["hit_rate"]
        # Track effects are fixed per study and seed, whoever hears the track.
        tracks = sorted(study.tracks.values_list("pk", flat=True))
        trng = np.random.default_rng([seed, 0])
        self.track_effect = dict(zip(tracks, trng.normal(0, SD["track"], len(tracks)), strict=True))
        self.interaction = dict(
            zip(tracks, trng.normal(0, SD["interaction"], len(tracks)), strict=True)
        )
        offset = Session.objects.filter(study=study, simulated=True).count()
        for i in range(n):
            self.simulate(offset + i + 1)
        self.stdout.write(
            f"Created {n} simulated session(s) in study {study.pk} ({study.paradigm}); "
            "they are flagged simulated=True in every export and in the report."
        )

    @transaction.atomic
    def simulate(self, number: int) -> Session:
        study = self.study
        rng = np.random.default_rng([self.seed, number])
        now = timezone.now()
        session = Session.objects.create(
            study=study,
            simulated=True,
            questionnaire=questionnaire(study, "start", rng),
            screening={"passed": True, "simulated": True} if study.screening_tests() else {},
        )
        try:
            flow.build_trials(session)
        except ValueError as exc:  # randomisation: no track has anything to play
            raise CommandError(
                f"study {study.pk} has no prepared stimuli to plan trials from ({exc}); "
                "prepare it first"
            ) from exc
        session.save(update_fields=["plan"])  # later plans balance against this one
        trials = list(
            session.rated_trials()
            .select_related("track")
            .prefetch_related("conditions__stimulus")
            .order_by("position")
        )
        if not trials:
            raise CommandError(
                f"study {study.pk} has no prepared stimuli to plan trials from; prepare it first"
            )
        effect = float(rng.normal(0, SD["participant"]))
        # A plausible timeline ending now: 1-3 minutes per trial after a 5-minute start.
        seconds = rng.uniform(20, 60, len(trials)) * (3 if study.paradigm == "mushra" else 1)
        start = now - timedelta(seconds=float(seconds.sum()) + 300)
        clock = start + timedelta(seconds=300)
        for trial, spent in zip(trials, seconds, strict=True):
            trial.state, trial.started_at = Trial.State.DONE, clock
            clock += timedelta(seconds=float(spent))
            trial.completed_at = clock
        Trial.objects.bulk_update(trials, ["state", "started_at", "completed_at"])
        getattr(self, f"answer_{study.paradigm}")(trials, rng, effect)
        Session.objects.filter(pk=session.pk).update(
            started_at=start,
            consent_at=start + timedelta(seconds=30),
            calibrated_at=start + timedelta(seconds=120),
            state=Session.State.COMPLETE,
            final_questionnaire=questionnaire(study, "final", rng),
            completed_at=now,
            ended_at=now,
            last_seen_at=now,
        )
        session.refresh_from_db()
        return session

    def answer_mushra(self, trials: list[Trial], rng: np.random.Generator, effect: float) -> None:
        attributes = list(self.study.attributes) or ["overall"]
        ratings = []
        for trial in sorted(trials, key=lambda t: t.track_id):
            conditions = sorted(
                (c for c in trial.conditions.all() if c.is_rated), key=lambda c: c.stimulus_id
            )
            for condition in conditions:
                stimulus = condition.stimulus
                kind = condition_kind(condition.role, stimulus.role, stimulus.anchor_cutoff_hz)
                for attribute in attributes:
                    ratings.append(
                        Rating(
                            trial=trial,
                            condition=condition,
                            attribute=attribute,
                            score=self.score(kind, stimulus.system, trial.track_id, effect, rng),
                        )
                    )
        Rating.objects.bulk_create(ratings)

    def score(
        self, kind: str, system: str, track: int, effect: float, rng: np.random.Generator
    ) -> int:
        if kind == "hidden_reference":
            return round(100 - abs(rng.normal(0, 3)))
        name = system if kind == "system" else kind
        level = LEVEL.get(name, 30.0)
        if name == "ai":
            level += self.ai_effect - self.interaction[track] / 2
        elif name == "human":
            level += self.interaction[track] / 2
        value = level + effect + self.track_effect[track] + rng.normal(0, SD["residual"])
        return int(np.clip(round(value), 0, 100))

    def answer_abx(self, trials: list[Trial], rng: np.random.Generator, effect: float) -> None:
        answers = list(AbxAnswer.objects.filter(trial__in=trials).select_related("trial"))
        sides: dict[int, list[Condition]] = {}
        for c in Condition.objects.filter(trial__in=trials, role=Condition.Role.TEST):
            sides.setdefault(c.trial_id, []).append(c)
        for record in answers:
            right = rng.random() < self.hit_rate
            wrong = next(c for c in sides[record.trial_id] if c.pk != record.x_is_id)
            record.answer_id = record.x_is_id if right else wrong.pk
            record.correct = bool(right)
            record.response_ms = int(rng.lognormal(np.log(8000), 0.4))
            record.answered_at = record.trial.completed_at
        AbxAnswer.objects.bulk_update(
            answers, ["answer_id", "correct", "response_ms", "answered_at"]
        )

    def answer_ab(self, trials: list[Trial], rng: np.random.Generator, effect: float) -> None:
        attributes = list(self.study.attributes) or ["overall"]
        allow_none = self.study.ab_allow_no_preference
        rows = []
        for trial in trials:
            a, b = sorted(trial.conditions.all(), key=lambda c: c.position)[:2]
            beta_a = STRENGTHS.get(a.stimulus.system, 0.0)
            beta_b = STRENGTHS.get(b.stimulus.system, 0.0)
            for attribute in attributes:
                none = allow_none and rng.random() < 0.1
                a_wins = rng.random() < 1.0 / (1.0 + np.exp(beta_b - beta_a))
                rows.append(
                    PreferenceAnswer(
                        trial=trial,
                        attribute=attribute,
                        choice=None if none else (a if a_wins else b),
                        no_preference=none,
                        response_ms=int(rng.lognormal(np.log(9000), 0.4)),
                    )
                )
        PreferenceAnswer.objects.bulk_create(rows)
