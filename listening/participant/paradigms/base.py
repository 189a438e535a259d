"""What every test paradigm provides: study checks, trial building and answer validation.

A paradigm turns one track of a participant's plan into Trial and Condition rows,
describes a trial to the page (opaque keys and neutral labels only), validates each
answer the page saves and checks a trial before it may be submitted. Nothing it
sends names a condition's role, system, provider or file.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone, translation
from django.utils.translation import gettext

from listening.models.errors import AnswerError
from listening.models.paradigm_kinds import PARADIGM_LABELS

#: What condition keys look like (secrets.token_urlsafe): nothing else is looked up.
CONDITION_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from random import Random

    from listening.models import Condition, Session, Stimulus, Study, Track, Trial


def letters(n: int) -> list[str]:
    return list(string.ascii_uppercase[:n])


class Paradigm:
    """Base class of a listening-test paradigm (one module per paradigm)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    #: Answer types this paradigm accepts, each with the name of its handler method.
    answer_types: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A paradigm's label is its kind's, named once in listening.models.paradigm_kinds.
        if "kind" in cls.__dict__:
            cls.label = PARADIGM_LABELS[cls.kind]

    # -- study checks (researcher side) ---------------------------------------------------------

    def validate(self, study: Study) -> list[str]:
        """Return every reason the study's material cannot run this paradigm."""
        problems = self.validate_study(study)
        tracks = list(study.tracks.prefetch_related("stimuli"))
        if not tracks:
            problems.append("the study has no tracks")
        for track in tracks:
            problems.extend(
                f"track {track.title!r}: {p}" for p in self.validate_track(study, track)
            )
        return problems

    def validate_study(self, study: Study) -> list[str]:
        """Check the study-wide settings this paradigm depends on."""
        return []

    def validate_track(self, study: Study, track: Track) -> list[str]:
        """Check that one track has every version this paradigm plays."""
        problems = []
        if track.mix is None:
            problems.append("has no mix (every track needs its unmastered mix)")
        if any(s.status == "ready" and not s.prepared_variant for s in track._stimuli()):
            problems.append(
                "was prepared without blinded variants (an older pipeline); prepare it again"
            )
        return problems

    # -- building a participant's trials ----------------------------------------------------

    def plan_items(self, study: Study, track: Track) -> list[int]:
        """Primary keys of the prepared versions of ``track`` that the plan orders."""
        raise NotImplementedError

    def build_trials(
        self, session: Session, track: Track, order: Sequence[int], rng: Random, position: int
    ) -> list[Trial]:
        """Create the trials of one track from the plan's condition order, from ``position``."""
        raise NotImplementedError

    def build_training(
        self, session: Session, track: Track, items: Sequence[int], rng: Random
    ) -> Trial:
        """Create the training trial (position 0) on ``track``."""
        raise NotImplementedError

    def create_trial(
        self,
        session: Session,
        track: Track,
        position: int,
        items: Sequence[tuple[Stimulus, str]],
        *,
        reference: Stimulus | None = None,
        training: bool = False,
    ) -> tuple[Trial, list[Condition]]:
        """Create one trial with its conditions in presentation order (open reference last)."""
        from listening.models import Condition, Trial

        trial = Trial.objects.create(
            session=session, position=position, track=track, kind=self.kind, is_training=training
        )
        rows = [
            Condition(trial=trial, stimulus=stimulus, position=i, role=role)
            for i, (stimulus, role) in enumerate(items)
        ]
        if reference is not None:
            rows.append(
                Condition(
                    trial=trial,
                    stimulus=reference,
                    position=len(rows),
                    role=Condition.Role.REFERENCE,
                )
            )
        return trial, Condition.objects.bulk_create(rows)

    # -- describing a trial to the page -------------------------------------------------------

    def describe(self, trial: Trial) -> dict[str, Any]:
        """Describe a trial to the page: conditions, reference, attributes, rules, answers."""
        from listening.models import Condition

        conditions = list(trial.conditions.order_by("position"))
        rated = [c for c in conditions if c.is_rated]
        reference = next((c for c in conditions if c.role == Condition.Role.REFERENCE), None)
        labels = self.labels(trial, rated)
        return {
            "conditions": [
                {"key": c.key, "label": label} for c, label in zip(rated, labels, strict=True)
            ],
            "reference": {"key": reference.key} if reference is not None else None,
            "attributes": self.attributes(trial.session.study),
            "rules": self.rules(trial, has_reference=reference is not None),
            "instructions": self.instructions(trial),
            "answers": {} if trial.is_training else self.answers(trial),
        }

    def labels(self, trial: Trial, rated: list[Condition]) -> list[str]:
        # Training names the versions neutrally; graded trials use letters.
        if trial.is_training:
            return [gettext("Version %(number)s") % {"number": i + 1} for i in range(len(rated))]
        return letters(len(rated))

    def attributes(self, study: Study) -> list[dict[str, str]]:
        # Named in the active language: the session's (listening.participant.languages).
        language = translation.get_language()
        return study.attribute_items(language) or [{"id": "overall", "label": gettext("Overall")}]

    def rules(self, trial: Trial, *, has_reference: bool) -> dict[str, Any]:
        study = trial.session.study
        if trial.is_training:
            return {"must_play_all": False, "min_listen_seconds": 0.0, "loop": True}
        return {
            "must_play_all": study.must_play_all,
            "min_listen_seconds": study.min_listen_seconds,
            "loop": True,
        }

    def instructions(self, trial: Trial) -> str:
        return ""

    def answers(self, trial: Trial) -> dict[str, Any]:
        return {}

    # -- answers -----------------------------------------------------------------------------

    def save_answer(self, trial: Trial, body: dict[str, Any]) -> None:
        """Validate one saved answer and store it (upsert); raise AnswerError otherwise."""
        kind = body.get("type")
        handler_name = self.answer_types.get(kind) if isinstance(kind, str) else None
        if handler_name is None:
            raise AnswerError(
                f"type={kind!r} is not an answer of this trial; expected one of "
                f"{sorted([*self.answer_types, 'submit'])}"
            )
        if trial.is_training:
            raise AnswerError(gettext("Answers in the training are not recorded."))
        handler: Callable[[Trial, dict[str, Any]], None] = getattr(self, handler_name)
        handler(trial, body)

    def submit_problems(self, trial: Trial) -> list[str]:
        """Say what is missing before the trial may be submitted (empty when nothing is).

        Whatever the page reports, the server must have sent every file of the trial,
        and with ``must_play_all`` every rated condition must have been played by the
        server's evidence (listening.participant.evidence).
        """
        from listening.participant import evidence

        study = trial.session.study
        conditions = trial.listening_conditions()
        rated = [c for c in conditions if c.is_rated]
        labels = dict(zip([c.pk for c in rated], self.labels(trial, rated), strict=True))
        problems = []
        complete = evidence.delivered(trial)
        reference = gettext("Reference")
        unloaded = [labels.get(c.pk, reference) for c in conditions if c.pk not in complete]
        if unloaded:
            problems.append(
                gettext(
                    "The audio of this page has not been loaded completely (not loaded: "
                    "%(labels)s); reload the page."
                )
                % {"labels": ", ".join(unloaded)}
            )
        if study.must_play_all:
            played = evidence.played(trial, rated, study)
            missing = [labels[c.pk] for c in rated if c.pk not in played]
            if missing:
                problems.append(
                    gettext("Listen to every condition first (not played yet: %(labels)s).")
                    % {"labels": ", ".join(missing)}
                )
        return problems

    # -- shared checks -------------------------------------------------------------------------

    def rated_condition(self, trial: Trial, key: Any, *, roles: Sequence[str] = ()) -> Condition:
        """Return the trial's rated condition with this key, or raise a clear AnswerError."""
        if not isinstance(key, str) or not CONDITION_KEY.fullmatch(key):
            # Not looked up at all (PostgreSQL refuses a NUL in a query: it answered 500).
            shown = key[:80] if isinstance(key, str) else key
            raise AnswerError(f"condition={shown!r} must be a condition key of this trial")
        from listening.models import Condition

        try:
            condition: Condition | None = trial.conditions.get(key=key)
        except Condition.DoesNotExist:
            condition = None
        if condition is None or not condition.is_rated or (roles and condition.role not in roles):
            raise AnswerError("condition is not one of this trial's answer options")
        return condition

    def attribute_name(self, study: Study, attribute_id: Any) -> str:
        if isinstance(attribute_id, str):
            name = study.attribute_name(attribute_id)
            if name is not None:
                return name
        ids = [a["id"] for a in self.attributes(study)]
        raise AnswerError(f"attribute={attribute_id!r} is not rated here; expected one of {ids}")

    def attribute_ids(self, study: Study) -> dict[str, str]:
        """Map each stored attribute name to the id the page uses."""
        if not study.attributes:
            return {"overall": "overall"}
        return {
            name: item["id"]
            for name, item in zip(study.attributes, study.attribute_items(), strict=True)
        }


def elapsed_ms(trial: Trial) -> int | None:
    """Milliseconds since the trial was first shown (for response times)."""
    if trial.started_at is None:
        return None
    return max(0, round((timezone.now() - trial.started_at).total_seconds() * 1000))


def ready_stimuli(track: Track) -> list[Stimulus]:
    return [s for s in track._stimuli() if s.status == "ready" and s.prepared]


def count_systems(track: Track) -> dict[str, int]:
    """Count the masters of a track per system (ai, human)."""
    counts: dict[str, int] = {}
    for stimulus in track.masters:
        counts[stimulus.system] = counts.get(stimulus.system, 0) + 1
    return counts
