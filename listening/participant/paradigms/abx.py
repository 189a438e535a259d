"""ABX discrimination between an AI and a human master (X drawn on the server).

Every pair of an AI master and a human master of a track is repeated
``study.abx_repetitions`` times, each repetition its own trial: A and B swap sides
on alternate repetitions (starting from the plan's counterbalanced order) and X is
dealt from a balanced, shuffled deck (as often A as B). X plays the dithered variant
of its version under its own key; which one it is stays on the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext_lazy

from listening.models.errors import AnswerError
from listening.participant.paradigms.base import elapsed_ms
from listening.participant.paradigms.pairwise import Pairwise, pairs

if TYPE_CHECKING:
    from collections.abc import Sequence
    from random import Random

    from listening.models import Session, Stimulus, Study, Track, Trial

INSTRUCTIONS = gettext_lazy(
    "Listen to A, B and X. X is the same as either A or B. Say which; "
    "if you cannot tell, make your best guess."
)
TRAINING_INSTRUCTIONS = gettext_lazy(
    "Training: X is the same as either A or B. Listen to all three, switch as often as "
    "you like and choose. Nothing you do here is recorded."
)


class Abx(Pairwise):
    kind = "abx"
    answer_types: ClassVar[dict[str, str]] = {"abx": "save_abx"}
    trial_instructions = INSTRUCTIONS
    training_instructions = TRAINING_INSTRUCTIONS

    def validate_study(self, study: Study) -> list[str]:
        if study.abx_repetitions < 1:
            return [f"ABX repetitions per pair is {study.abx_repetitions}; it must be at least 1"]
        return []

    # -- trials ----------------------------------------------------------------------------------

    def build_trials(
        self, session: Session, track: Track, order: Sequence[int], rng: Random, position: int
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
        self, session: Session, track: Track, items: Sequence[int], rng: Random
    ) -> Trial:
        a, b = self.training_pair(track, items, rng)
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
