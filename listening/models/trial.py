"""The trials of a participant's session and the blinded conditions each trial plays.

A condition reaches the participant's browser only as an opaque random key; its role,
version and file stay on the server (docs/blinding.md).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from listening.models.paradigm_kinds import PARADIGM_CHOICES


def new_condition_key() -> str:
    return secrets.token_urlsafe(24)


class Trial(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Not started"
        ACTIVE = "active", "In progress"
        DONE = "done", "Done"

    session = models.ForeignKey("listening.Session", models.CASCADE, related_name="trials")
    position = models.PositiveSmallIntegerField()
    # RESTRICT: a track its trials use cannot go alone, but with its study (whose
    # sessions and trials go in the same deletion) it can.
    track = models.ForeignKey("listening.Track", models.RESTRICT, related_name="trials")
    kind = models.CharField(max_length=16, choices=PARADIGM_CHOICES)
    is_training = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # What the participant wrote to this trial, for the caps (LISTENING_*_PER_TRIAL).
    event_count = models.PositiveIntegerField(default=0, help_text="Listening events stored.")
    answer_count = models.PositiveIntegerField(default=0, help_text="Answers saved.")

    class Meta:
        ordering = ("session_id", "position")
        constraints = (
            models.UniqueConstraint(fields=["session", "position"], name="trial_position_unique"),
        )

    def __str__(self) -> str:
        return f"trial {self.position} of session {self.session_id}"

    def mark_started(self) -> None:
        if self.state == self.State.PENDING:
            self.state, self.started_at = self.State.ACTIVE, timezone.now()
            self.save(update_fields=["state", "started_at"])

    def listening_conditions(self) -> list[Condition]:
        """The trial's conditions in order, with what the listening checks read."""
        fields = ("trial_id", "position", "role", "key", "stimulus__prepared_frames")
        return list(
            self.conditions.select_related("stimulus")
            .only(*fields, "stimulus__prepared_rate")
            .order_by("position")
        )

    def next_trial(self) -> Trial | None:
        """The rated trial after this one (the first one after the training), if any."""
        return (
            Trial.objects.filter(
                session_id=self.session_id, is_training=False, position__gt=self.position
            )
            .order_by("position")
            .first()
        )

    def prefetch_keys(self) -> list[str]:
        """Keys of the next trial's audio, for the page to fetch while this one is rated.

        Sorted by key (random tokens), so the order of the requests says nothing about
        the next trial's presentation order or roles.
        """
        following = self.next_trial()
        if following is None:
            return []
        return sorted(following.conditions.values_list("key", flat=True))


class Condition(models.Model):
    """One playable item of a trial, known to the browser only by its opaque key."""

    class Role(models.TextChoices):
        REFERENCE = "reference", "Open reference"
        HIDDEN_REFERENCE = "hidden_reference", "Hidden reference"
        ANCHOR = "anchor", "Anchor"
        TEST = "test", "Condition under test"
        X = "x", "ABX unknown"

    #: Roles that play a version another condition of the trial also plays: they are served
    #: another dithered copy (listening.stimuli.playback_variants) so no two files of a trial match.
    VARIANT_ROLES = (Role.HIDDEN_REFERENCE, Role.X)

    trial = models.ForeignKey(Trial, models.CASCADE, related_name="conditions")
    stimulus = models.ForeignKey("listening.Stimulus", models.RESTRICT, related_name="conditions")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TEST)
    key = models.CharField(max_length=64, unique=True, default=new_condition_key, editable=False)

    class Meta:
        ordering = ("trial_id", "position")
        constraints = (
            models.UniqueConstraint(fields=["trial", "position"], name="condition_position_unique"),
        )

    def __str__(self) -> str:
        return f"condition {self.position} of {self.trial}"

    @property
    def is_hidden_reference(self) -> bool:
        return self.role == self.Role.HIDDEN_REFERENCE

    @property
    def is_rated(self) -> bool:
        """Everything but the open reference is answered about."""
        return self.role != self.Role.REFERENCE
