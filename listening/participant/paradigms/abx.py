"""ABX discrimination between an AI and a human master (X drawn on the server).

Every pair of an AI master and a human master of a track is repeated
``study.abx_repetitions`` times, each repetition its own trial: A and B swap sides
on alternate repetitions (starting from the plan's counterbalanced order) and X is
dealt from a balanced, shuffled deck (as often A as B). X plays the dithered variant
of its version under its own key; which one it is stays on the server.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext_lazy

from listening.models.errors import AnswerError
from listening.models.paradigm_kinds import PARADIGM_LABELS
from listening.participant.paradigms.base import (
    Paradigm,
    count_systems,
    elapsed_ms,
    ready_stimuli,
)

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from listening.models import Session, Stimulus, Study, Track, Trial

INSTRUCTIONS = gettext_lazy(
    "Listen to A, B and X. X is the same as either A or B. Say which; "
    "if you cannot tell, make your best guess."
)
TRAINING_INSTRUCTIONS = gettext_lazy(
    "Training: X is the same as either A or B. Listen to all three, switch as often as "
    "you like and choose. Nothing you do here is recorded."
)


class Abx(Paradigm):
    kind = "abx"
    label = PARADIGM_LABELS["abx"]
    answer_types: ClassVar[dict[str, str]] = {"abx": "save_abx"}

    def validate_study(self, study: Study) -> list[str]:
        if study.abx_repetitions < 1:
            return [f"ABX repetitions per pair is {study.abx_repetitions}; it must be at least 1"]
        return []

    def validate_track(self, study: Study, track: Track) -> list[str]:
        return super().validate_track(study, track) + needs_ai_and_human(track)

    # -- trials ----------------------------------------------------------------------------------

    def plan_items(self, study: Study, track: Track) -> list[int]:
        return [s.pk for s in ready_stimuli(track) if s.role == "master"]

    def build_trials(
        self,
        session: Session,
        track: Track,
        order: Sequence[int],
        rng: random.Random,
        position: int,
    ) -> list[Trial]:
        from listening.models import AbxAnswer

        repetitions = session.study.abx_repetitions
        specs = []
        for first, second in pairs(track, order):
            deck = [rep % 2 for rep in range(repetitions)]  # X is A as often as B
            rng.shuffle(deck)
            for rep in range(repetitions):
                a, b = (first, second) if rep % 2 == 0 else (second, first)
                specs.append((a, b, deck[rep], rep))
        rng.shuffle(specs)
        trials = []
        for offset, (a, b, x_side, rep) in enumerate(specs):
            trial, conditions = self._abx_trial(session, track, position + offset, a, b, x_side)
            AbxAnswer.objects.create(
                trial=trial,
                repetition=rep,
                x_condition=conditions[2],
                x_is=conditions[x_side],
            )
            trials.append(trial)
        return trials

    def build_training(
        self, session: Session, track: Track, items: Sequence[int], rng: random.Random
    ) -> Trial:
        a, b = pairs(track, items)[0]
        if rng.random() < 0.5:
            a, b = b, a
        trial, _ = self._abx_trial(session, track, 0, a, b, rng.randrange(2), training=True)
        return trial

    def _abx_trial(
        self,
        session: Session,
        track: Track,
        position: int,
        a: Stimulus,
        b: Stimulus,
        x_side: int,
        *,
        training: bool = False,
    ) -> tuple[Trial, list[Any]]:
        from listening.models import Condition

        items = [(a, "test"), (b, "test"), ((a, b)[x_side], str(Condition.Role.X))]
        return self.create_trial(session, track, position, items, training=training)

    # -- the page --------------------------------------------------------------------------------

    def labels(self, trial: Trial, rated: list[Any]) -> list[str]:
        return ["A", "B", "X"][: len(rated)]

    def attributes(self, study: Study) -> list[dict[str, str]]:
        return []

    def instructions(self, trial: Trial) -> str:
        return str(TRAINING_INSTRUCTIONS if trial.is_training else INSTRUCTIONS)

    def answers(self, trial: Trial) -> dict[str, Any]:
        answer = trial.abx_answers.select_related("answer").first()
        if answer is None or answer.answer is None:
            return {}
        return {"choice": answer.answer.key}

    # -- answers ---------------------------------------------------------------------------------

    def save_abx(self, trial: Trial, body: dict[str, Any]) -> None:
        condition = self.rated_condition(trial, body.get("condition"), roles=["test"])
        record = trial.abx_answers.first()
        if record is None:
            raise AnswerError("this trial has no ABX question")
        record.answer = condition
        record.correct = condition.pk == record.x_is_id
        record.answered_at = timezone.now()
        record.response_ms = elapsed_ms(trial)
        record.save(update_fields=["answer", "correct", "answered_at", "response_ms"])

    def submit_problems(self, trial: Trial) -> list[str]:
        problems = super().submit_problems(trial)
        if not trial.abx_answers.filter(answer__isnull=False).exists():
            problems.append("Say whether X is A or X is B.")
        return problems


def pairs(track: Track, order: Sequence[int]) -> list[tuple[Stimulus, Stimulus]]:
    """Each AI master with each human master of the track, sides in the plan's order."""
    stimuli = {s.pk: s for s in ready_stimuli(track)}
    rank = {pk: i for i, pk in enumerate(order)}
    chosen = [stimuli[pk] for pk in order if pk in stimuli]
    ais = [s for s in chosen if s.system == "ai"]
    humans = [s for s in chosen if s.system == "human"]
    result = []
    for ai, human in product(ais, humans):
        first, second = sorted((ai, human), key=lambda s: rank[s.pk])
        result.append((first, second))
    return result


def needs_ai_and_human(track: Track) -> list[str]:
    """Pairwise paradigms compare an AI master with a human master of the same track."""
    counts = count_systems(track)
    problems = []
    if not counts.get("ai"):
        problems.append("has no AI master (pairs compare an AI master with a human one)")
    if not counts.get("human"):
        problems.append("has no human master (pairs compare an AI master with a human one)")
    return problems
