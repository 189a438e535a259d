"""Participant sessions, their trials and the blinded conditions each trial plays."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from listening.paradigms import PARADIGM_CHOICES


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_condition_key() -> str:
    return secrets.token_urlsafe(24)


class Session(models.Model):
    class State(models.TextChoices):
        CONSENT = "consent", "Consent"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        CALIBRATION = "calibration", "Volume calibration"
        SCREENING = "screening", "Headphone screening"
        TRAINING = "training", "Training"
        TRIALS = "trials", "Trials"
        FINAL_QUESTIONNAIRE = "final", "Final questionnaire"
        COMPLETE = "complete", "Complete"
        SCREENED_OUT = "screened_out", "Screened out"
        WITHDRAWN = "withdrawn", "Withdrawn"

    study = models.ForeignKey("listening.Study", models.CASCADE, related_name="sessions")
    token = models.CharField(max_length=64, unique=True, default=new_session_token, editable=False)
    prolific_pid = models.CharField(max_length=64, blank=True)
    prolific_study_id = models.CharField(max_length=64, blank=True)
    prolific_session_id = models.CharField(max_length=64, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    questionnaire = models.JSONField(default=dict, blank=True)
    screening = models.JSONField(default=dict, blank=True)
    plan = models.JSONField(
        default=dict, blank=True, help_text="Seed, trial order and condition order."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.CONSENT)
    simulated = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("study", "started_at")
        constraints = (
            models.UniqueConstraint(
                fields=["study", "prolific_pid"],
                condition=~Q(prolific_pid=""),
                name="session_one_per_prolific_pid",
            ),
        )

    def __str__(self) -> str:
        return f"session {self.pk} of {self.study}"


class Trial(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Not started"
        ACTIVE = "active", "In progress"
        DONE = "done", "Done"

    session = models.ForeignKey(Session, models.CASCADE, related_name="trials")
    position = models.PositiveSmallIntegerField()
    track = models.ForeignKey("listening.Track", models.PROTECT, related_name="trials")
    kind = models.CharField(max_length=16, choices=PARADIGM_CHOICES)
    is_training = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("session", "position")
        constraints = (
            models.UniqueConstraint(fields=["session", "position"], name="trial_position_unique"),
        )

    def __str__(self) -> str:
        return f"trial {self.position} of session {self.session_id}"


class Condition(models.Model):
    """One playable item of a trial, known to the browser only by its opaque key."""

    class Role(models.TextChoices):
        REFERENCE = "reference", "Open reference"
        HIDDEN_REFERENCE = "hidden_reference", "Hidden reference"
        ANCHOR = "anchor", "Anchor"
        TEST = "test", "Condition under test"
        X = "x", "ABX unknown"

    trial = models.ForeignKey(Trial, models.CASCADE, related_name="conditions")
    stimulus = models.ForeignKey("listening.Stimulus", models.PROTECT, related_name="conditions")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TEST)
    key = models.CharField(max_length=64, unique=True, default=new_condition_key, editable=False)

    class Meta:
        ordering = ("trial", "position")
        constraints = (
            models.UniqueConstraint(fields=["trial", "position"], name="condition_position_unique"),
        )

    def __str__(self) -> str:
        return f"condition {self.position} of {self.trial}"

    @property
    def is_hidden_reference(self) -> bool:
        return self.role == self.Role.HIDDEN_REFERENCE
