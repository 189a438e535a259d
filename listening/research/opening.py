"""Opening a study to participants: every reason it cannot open yet, then the opening itself.

The paradigm's own checks (``listening.participant.paradigms``) are part of the list, which
is why this lives with the researcher's code and not on the model.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from listening.models import Stimulus, Study
from listening.participant.paradigms import get_paradigm


def problems_before_opening(study: Study) -> list[str]:
    """List every reason the study cannot open yet (empty when it can)."""
    problems = []
    if study.status == Study.Status.OPEN:
        problems.append("the study is already open")
    problems.extend(f"settings: {p}" for p in study.settings_problems())
    for track in study.tracks.prefetch_related("stimuli"):
        fingerprint = track.fingerprint()
        for stimulus in track.stimuli.all():
            state = stimulus.effective_status(fingerprint)
            if state == Stimulus.Status.FAILED:
                problems.append(f"{stimulus.describe()} failed: {stimulus.error}")
            elif state != Stimulus.Status.READY:
                problems.append(f"{stimulus.describe()} is not prepared yet ({state})")
        problems.extend(f"track {track.title!r}: {p}" for p in track.blinding_problems())
    problems.extend(get_paradigm(study.paradigm).validate(study))
    return problems


def open_study(study: Study) -> None:
    """Open the study to participants, or raise ValidationError listing every reason not to."""
    problems = problems_before_opening(study)
    if problems:
        raise ValidationError(problems)
    study.status = Study.Status.OPEN
    study.opened_at = timezone.now()
    study.closed_at = None
    study.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])
