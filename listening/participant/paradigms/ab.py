"""AB preference between an AI and a human master, per attribute, optionally "no preference".

One trial per pair of an AI and a human master of a track; which one is "A" follows
the trial's own order in the plan (drawn anew for every trial; with ``balanced``
balancing, Williams blocks give each side each master equally often across the
track's listeners) and is recorded in the conditions' positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import F
from django.utils.translation import gettext, gettext_lazy

from listening.models.errors import AnswerError
from listening.participant.paradigms.base import elapsed_ms
from listening.participant.paradigms.pairwise import Pairwise, pairs

if TYPE_CHECKING:
    from collections.abc import Sequence
    from random import Random

    from listening.models import Session, Track, Trial

INSTRUCTIONS = gettext_lazy("Listen to A and B, then say which you prefer for each quality.")
TRAINING_INSTRUCTIONS = gettext_lazy(
    "Training: listen to both versions and try the questions. Nothing you do here is recorded."
)


class AbPreference(Pairwise):
    kind = "ab"
    answer_types: ClassVar[dict[str, str]] = {"preference": "save_preference"}
    trial_instructions = INSTRUCTIONS
    training_instructions = TRAINING_INSTRUCTIONS

    def build_trials(
        self, session: Session, track: Track, order: Sequence[int], rng: Random, position: int
    ) -> list[Trial]:
        specs = pairs(track, order)
        rng.shuffle(specs)
        return [
            self.create_trial(session, track, position + i, [(a, "test"), (b, "test")])[0]
            for i, (a, b) in enumerate(specs)
        ]

    def build_training(
        self, session: Session, track: Track, items: Sequence[int], rng: Random
    ) -> Trial:
        a, b = self.training_pair(track, items, rng)
        trial, _ = self.create_trial(session, track, 0, [(a, "test"), (b, "test")], training=True)
        return trial

    def rules(self, trial: Trial, *, has_reference: bool) -> dict[str, Any]:
        rules = super().rules(trial, has_reference=has_reference)
        rules["allow_no_preference"] = trial.session.study.ab_allow_no_preference
        return rules

    def answers(self, trial: Trial) -> dict[str, Any]:
        ids = self.attribute_ids(trial.session.study)
        preferences: dict[str, str | None] = {}
        for answer in trial.preference_answers.select_related("choice"):
            if answer.attribute in ids:
                key = answer.choice.key if answer.choice is not None else None
                preferences[ids[answer.attribute]] = key
        return {"preferences": preferences}

    def save_preference(self, trial: Trial, body: dict[str, Any]) -> None:
        from listening.models import PreferenceAnswer

        study = trial.session.study
        attribute = self.attribute_name(study, body.get("attribute"))
        key = body.get("condition")
        if key is None:
            if not study.ab_allow_no_preference:
                raise AnswerError(
                    gettext("Choose A or B: this study has no 'no preference' option.")
                )
            choice = None
        else:
            choice = self.rated_condition(trial, key)
        values = {
            "choice": choice,
            "no_preference": choice is None,
            "response_ms": elapsed_ms(trial),
        }
        updated = PreferenceAnswer.objects.filter(trial=trial, attribute=attribute).update(
            **values, changes=F("changes") + 1
        )
        if not updated:
            PreferenceAnswer.objects.create(trial=trial, attribute=attribute, **values)

    def submit_problems(self, trial: Trial) -> list[str]:
        problems = super().submit_problems(trial)
        study = trial.session.study
        answered = set(trial.preference_answers.values_list("attribute", flat=True))
        names = list(study.attributes) or ["overall"]
        labels = [a["label"] for a in self.attributes(study)]
        missing = [label for name, label in zip(names, labels, strict=True) if name not in answered]
        if missing:
            problems.append(
                gettext("Choose your preference for %(attributes)s.")
                % {"attributes": ", ".join(missing)}
            )
        return problems
