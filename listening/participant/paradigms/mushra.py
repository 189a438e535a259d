"""MUSHRA (ITU-R BS.1534-3), with or without a reference (BS.2132 style).

One trial per track: every prepared version (mix, masters, anchors) on one page,
one 0..100 slider per version and attribute. With a reference, the reference
version plays twice: openly as "Reference" and hidden among the rated items, from
its dithered variant file so the two downloads differ in bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from listening.models.errors import AnswerError
from listening.participant.paradigms.base import Paradigm, ready_stimuli

if TYPE_CHECKING:
    from collections.abc import Sequence
    from random import Random

    from listening.models import Session, Stimulus, Study, Track, Trial

#: BS.1534-3 advises few items per screen to limit fatigue (hidden reference and anchors count).
MAX_ITEMS_PER_PAGE = 12

INSTRUCTIONS = gettext_lazy(
    "Listen to every version and rate each one on every quality from 0 to 100. "
    "Switch between them as often as you like; playback keeps its position."
)
REFERENCE_INSTRUCTIONS = gettext_lazy(
    "Compare each version with the Reference; one of the versions is identical to the "
    "Reference and deserves 100."
)
TRAINING_INSTRUCTIONS = gettext_lazy(
    "Training: get to know the versions and the scale. Nothing you do here is recorded. "
    "The scale runs from 0 to 100 in five equal bands: Bad (0-20), Poor (20-40), "
    "Fair (40-60), Good (60-80) and Excellent (80-100). Later pages show the versions "
    "under letters, in a new random order on every page: a letter never tells you which "
    "version it was on another page."
)


class Mushra(Paradigm):
    kind = "mushra"
    answer_types: ClassVar[dict[str, str]] = {"rating": "save_rating"}

    def validate_study(self, study: Study) -> list[str]:
        problems = []
        attributes = study.attributes
        if not isinstance(attributes, list) or not attributes:
            problems.append("MUSHRA needs at least one attribute to rate")
        return problems

    def validate_track(self, study: Study, track: Track) -> list[str]:
        problems = super().validate_track(study, track)
        masters = track.masters
        if not masters:
            problems.append("has no master to rate")
        if study.reference_mode != study.ReferenceMode.NONE and track.reference is None:
            if study.reference_mode == study.ReferenceMode.MASTER:
                problems.append(
                    "the study uses a master as reference: choose the reference master of this "
                    "track (it has no single human master to use by default)"
                )
            else:
                problems.append("the study uses the mix as reference, but the track has no mix")
        items = len(masters) + (1 if track.mix is not None else 0)
        if study.anchors:
            items += len(study.anchor_cutoffs)
        if items > MAX_ITEMS_PER_PAGE:
            problems.append(
                f"would show {items} items on one page; BS.1534-3 advises at most "
                f"{MAX_ITEMS_PER_PAGE} (hidden reference and anchors included)"
            )
        if items < 2:
            problems.append("needs at least two items to rate")
        return problems

    # -- trials ----------------------------------------------------------------------------------

    def plan_items(self, study: Study, track: Track) -> list[int]:
        return [s.pk for s in ready_stimuli(track) if s.role != "anchor" or study.anchors]

    def _reference(self, track: Track) -> Stimulus | None:
        if track.study.reference_mode == "none":
            return None
        return track.reference

    def _items(self, track: Track, order: Sequence[int]) -> list[tuple[Stimulus, str]]:
        from listening.models import Condition

        stimuli = {s.pk: s for s in track._stimuli()}
        reference = self._reference(track)
        items = []
        for pk in order:
            stimulus = stimuli[pk]
            if reference is not None and pk == reference.pk:
                role = Condition.Role.HIDDEN_REFERENCE
            elif stimulus.role == "anchor":
                role = Condition.Role.ANCHOR
            else:
                role = Condition.Role.TEST
            items.append((stimulus, str(role)))
        return items

    def build_trials(
        self, session: Session, track: Track, order: Sequence[int], rng: Random, position: int
    ) -> list[Trial]:
        trial, _ = self.create_trial(
            session, track, position, self._items(track, order), reference=self._reference(track)
        )
        return [trial]

    def build_training(
        self, session: Session, track: Track, items: Sequence[int], rng: Random
    ) -> Trial:
        order = list(items)
        rng.shuffle(order)
        trial, _ = self.create_trial(
            session,
            track,
            0,
            self._items(track, order),
            reference=self._reference(track),
            training=True,
        )
        return trial

    # -- the page --------------------------------------------------------------------------------

    def rules(self, trial: Trial, *, has_reference: bool) -> dict[str, Any]:
        rules = super().rules(trial, has_reference=has_reference)
        study = trial.session.study
        rules["must_move_all"] = study.must_move_all and not trial.is_training
        rules["require_100"] = study.require_100 and has_reference and not trial.is_training
        return rules

    def instructions(self, trial: Trial) -> str:
        if trial.is_training:
            return str(TRAINING_INSTRUCTIONS)
        has_reference = trial.session.study.reference_mode != "none"
        if has_reference:
            return f"{INSTRUCTIONS} {REFERENCE_INSTRUCTIONS}"
        return str(INSTRUCTIONS)

    def answers(self, trial: Trial) -> dict[str, Any]:
        ids = self.attribute_ids(trial.session.study)
        ratings: dict[str, dict[str, int]] = {}
        for key, attribute, score in trial.ratings.values_list(
            "condition__key", "attribute", "score"
        ):
            if attribute in ids:
                ratings.setdefault(key, {})[ids[attribute]] = score
        return {"ratings": ratings}

    # -- answers ---------------------------------------------------------------------------------

    def save_rating(self, trial: Trial, body: dict[str, Any]) -> None:
        from listening.models import Rating

        study = trial.session.study
        condition = self.rated_condition(trial, body.get("condition"))
        attribute = self.attribute_name(study, body.get("attribute"))
        score = body.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
            raise AnswerError(
                gettext("score=%(score)r must be a whole number from 0 to 100") % {"score": score}
            )
        updated = Rating.objects.filter(
            trial=trial, condition=condition, attribute=attribute
        ).update(score=score, changes=F("changes") + 1, updated_at=timezone.now())
        if not updated:
            Rating.objects.create(
                trial=trial, condition=condition, attribute=attribute, score=score
            )

    def submit_problems(self, trial: Trial) -> list[str]:
        problems = super().submit_problems(trial)
        study = trial.session.study
        rated = [c for c in trial.conditions.all() if c.is_rated]
        names = list(study.attributes)
        labels = {i["id"]: i["label"] for i in self.attributes(study)}
        ids = self.attribute_ids(study)
        scores: dict[tuple[int, str], int] = {
            (cid, attribute): score
            for cid, attribute, score in trial.ratings.values_list(
                "condition_id", "attribute", "score"
            )
        }
        if study.must_move_all:
            missing = sum((c.pk, name) not in scores for c in rated for name in names)
            if missing:
                problems.append(
                    ngettext(
                        "Rate every version on every quality (%(count)s rating missing).",
                        "Rate every version on every quality (%(count)s ratings missing).",
                        missing,
                    )
                    % {"count": missing}
                )
        has_reference = trial.conditions.filter(role="reference").exists()
        if study.require_100 and has_reference:
            for name in names:
                if not any(scores.get((c.pk, name)) == 100 for c in rated):
                    problems.append(
                        gettext(
                            "For %(attribute)s, rate at least one version 100: one of them "
                            "is identical to the Reference."
                        )
                        % {"attribute": labels[ids[name]]}
                    )
        return problems
