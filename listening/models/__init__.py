"""The data model: studies, tracks and stimuli (researcher side); sessions and answers."""

from listening.models.responses import (
    AbxAnswer,
    AudioDelivery,
    IdempotencyKey,
    ListenEvent,
    PreferenceAnswer,
    Rating,
)
from listening.models.session import Session
from listening.models.stimulus import Stimulus
from listening.models.study import Study, StudyQuerySet
from listening.models.track import Track
from listening.models.trial import Condition, Trial
from listening.models.worker import TaskWorker

__all__ = [
    "AbxAnswer",
    "AudioDelivery",
    "Condition",
    "IdempotencyKey",
    "ListenEvent",
    "PreferenceAnswer",
    "Rating",
    "Session",
    "Stimulus",
    "Study",
    "StudyQuerySet",
    "TaskWorker",
    "Track",
    "Trial",
]
