"""What participants answer and do: ratings, ABX and preference answers, listening events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Rating(models.Model):
    """A 0..100 score of one condition on one attribute; upserted on every change."""

    trial = models.ForeignKey("listening.Trial", models.CASCADE, related_name="ratings")
    condition = models.ForeignKey("listening.Condition", models.CASCADE, related_name="ratings")
    attribute = models.CharField(max_length=100)
    score = models.PositiveSmallIntegerField()
    changes = models.PositiveIntegerField(default=1, help_text="How often it was saved.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("trial_id", "condition_id", "attribute")
        constraints = (
            models.UniqueConstraint(
                fields=["trial", "condition", "attribute"], name="rating_unique"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="rating_score_0_100"
            ),
        )

    def __str__(self) -> str:
        return f"{self.attribute} = {self.score}"


class AbxAnswer(models.Model):
    """One ABX repetition: X is drawn on the server and checked on the server."""

    trial = models.ForeignKey("listening.Trial", models.CASCADE, related_name="abx_answers")
    repetition = models.PositiveSmallIntegerField()
    x_condition = models.ForeignKey(
        "listening.Condition",
        models.CASCADE,
        related_name="+",
        help_text="The condition whose key plays X.",
    )
    x_is = models.ForeignKey(
        "listening.Condition",
        models.CASCADE,
        related_name="+",
        help_text="Which of A and B X is (server only).",
    )
    answer = models.ForeignKey(
        "listening.Condition", models.CASCADE, null=True, blank=True, related_name="+"
    )
    correct = models.BooleanField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("trial_id", "repetition")
        constraints = (
            models.UniqueConstraint(fields=["trial", "repetition"], name="abx_repetition_unique"),
        )

    def __str__(self) -> str:
        return f"ABX repetition {self.repetition} of {self.trial}"


class PreferenceAnswer(models.Model):
    """The AB preference of one trial on one attribute: a condition, or no preference."""

    trial = models.ForeignKey("listening.Trial", models.CASCADE, related_name="preference_answers")
    attribute = models.CharField(max_length=100, default="overall")
    choice = models.ForeignKey(
        "listening.Condition", models.CASCADE, null=True, blank=True, related_name="+"
    )
    no_preference = models.BooleanField(default=False)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(auto_now=True)
    changes = models.PositiveIntegerField(default=1, help_text="How often it was saved.")

    class Meta:
        ordering = ("trial_id", "attribute")
        constraints = (
            models.UniqueConstraint(fields=["trial", "attribute"], name="preference_unique"),
            models.CheckConstraint(
                condition=(Q(choice__isnull=False) & Q(no_preference=False))
                | (Q(choice__isnull=True) & Q(no_preference=True)),
                name="preference_choice_or_none",
            ),
        )

    def __str__(self) -> str:
        return f"preference on {self.attribute} in {self.trial}"


class ListenEvent(models.Model):
    """A play/stop/switch/loop event, for data-quality checks ("was every item heard?")."""

    class Kind(models.TextChoices):
        PLAY = "play", "Play"
        PAUSE = "pause", "Pause"
        STOP = "stop", "Stop"
        SWITCH = "switch", "Switch"
        SEEK = "seek", "Seek"
        LOOP = "loop", "Loop region set"
        LOOP_OFF = "loop_off", "Loop off"
        ENDED = "ended", "Ended"

    session = models.ForeignKey("listening.Session", models.CASCADE, related_name="events")
    trial = models.ForeignKey(
        "listening.Trial", models.CASCADE, null=True, blank=True, related_name="events"
    )
    condition = models.ForeignKey(
        "listening.Condition", models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position = models.FloatField(null=True, blank=True, help_text="Playback position, s.")
    loop_start = models.FloatField(null=True, blank=True)
    loop_end = models.FloatField(null=True, blank=True)
    client_seq = models.PositiveIntegerField(
        null=True, blank=True, help_text="Client sequence number; a resent event is stored once."
    )
    client_time_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("session_id", "created_at")
        constraints = (
            models.UniqueConstraint(
                fields=["session", "client_seq"],
                condition=Q(client_seq__isnull=False),
                name="listen_event_seq_unique",
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind} at {self.position} s"


class AudioDelivery(models.Model):
    """Bytes of a condition's file the server sent to the session that owns it.

    One row per audio response, written when the response ends (listening.participant.evidence):
    the evidence, which a page cannot make up, that the audio of a trial reached the
    participant's browser. A page's listening events count only with it.
    """

    session = models.ForeignKey("listening.Session", models.CASCADE, related_name="deliveries")
    condition = models.ForeignKey("listening.Condition", models.CASCADE, related_name="deliveries")
    first_byte = models.PositiveBigIntegerField(help_text="Offset of the first byte sent.")
    bytes_sent = models.PositiveBigIntegerField(help_text="Bytes written to the connection.")
    file_size = models.PositiveBigIntegerField(help_text="Size of the whole file, bytes.")
    sent_at = models.DateTimeField(help_text="When the response ended (server time).")

    class Meta:
        ordering = ("session_id", "id")

    def __str__(self) -> str:
        return f"{self.bytes_sent} bytes from {self.first_byte} of condition {self.condition_id}"


class IdempotencyKey(models.Model):
    """The stored answer to a participant request: a repeated submission changes nothing twice."""

    session = models.ForeignKey(
        "listening.Session", models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=200)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["session", "key"], name="idempotency_key_unique"),
        )

    def __str__(self) -> str:
        return f"{self.endpoint} ({self.key})"
